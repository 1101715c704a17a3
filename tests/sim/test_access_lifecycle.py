"""Who can get in over the lock's life: the label, invitations, the fail-safe, reset.

Real simulated lock on an in-process hub, real protocol, manual clock.
"""

from __future__ import annotations

import pytest

from custom_components.secure_lock.controller import (
    CommandRefused,
    LockClient,
    LockReport,
    PairingFailed,
    PairingTimedOut,
    ReportKind,
    confirm_pairing,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ErrorCode,
    ResultCode,
    Role,
    SetupCode,
)
from custom_components.secure_lock.protocol.messages import (
    MAX_INVITATION_TTL_MS,
    JoinMethod,
)
from custom_components.secure_lock.protocol.state import BoltState, LockStatus
from device_sim.joining import FAILSAFE_MS
from tests.conftest import wrong_code

from .lock_rig import Rig

FAST = {"retransmit_interval": 0.02}


async def _pair(
    rig: Rig, setup: SetupCode, name: str = "x", timeout: float = 5.0
) -> tuple[ControllerIdentity, LockClient]:
    link = rig.hub.attach()
    identity = ControllerIdentity.generate(now_ms=rig.now_ms())
    outcome = await pair_over_link(
        link, identity, setup, name, clock=rig.now_ms, timeout=timeout, **FAST
    )
    await confirm_pairing(link, identity, outcome.lock, clock=rig.now_ms)
    client = LockClient(link, identity, outcome.lock, clock=rig.now_ms)
    await client.start()
    return identity, client


def _registry(rig: Rig) -> dict[bytes, Role]:
    return {
        cid: r.role
        for cid, r in rig.device.state.registry.records.items()
        if not r.revoked
    }


async def test_label_grants_nothing_once_the_lock_has_an_owner(rig: Rig) -> None:
    """With an admin, the label and the button pair nobody; the lock says so, signed."""
    admin = await rig.pair()
    rig.device.press_button()
    before = _registry(rig)
    with pytest.raises(PairingFailed) as err:
        await _pair(rig, rig.device.element.label_code)
    assert err.value.code is ErrorCode.INVITATION_REQUIRED
    assert _registry(rig) == before
    await admin.close()


async def test_invitation_grants_its_role_and_window_once(rig: Rig) -> None:
    """An invited guest joins as a guest with the admin's window, once; admins are told."""
    admin = await rig.pair()
    joined: list[LockReport] = []
    admin.add_listener(joined.append)
    start = rig.now_ms()
    invitation = await admin.create_invitation(
        Role.GUEST, valid_from_ms=start, valid_until_ms=start + 3_600_000
    )
    identity, guest = await _pair(rig, invitation.code, "Cleaner")
    record = rig.device.state.registry.get(identity.key_id)
    assert record is not None
    assert (record.role, record.valid_from_ms, record.valid_until_ms) == (
        Role.GUEST,
        start,
        start + 3_600_000,
    )
    assert guest.paired_lock.role is Role.GUEST
    notices = [u.joined for u in joined if u.kind is ReportKind.JOINED]
    assert len(notices) == 1 and notices[0] is not None
    assert notices[0].controller.name == "Cleaner"
    assert notices[0].controller.role is Role.GUEST
    assert notices[0].method is JoinMethod.INVITATION
    assert notices[0].invited_by == admin.identity.key_id
    assert notices[0].invited_by_name == "Home Assistant"

    # Used up: nothing is open any more, so a second person with the same
    # code gets no answer at all, and nothing changes.
    before = _registry(rig)
    with pytest.raises(PairingTimedOut):
        await _pair(rig, invitation.code, "Someone else", timeout=0.3)
    assert _registry(rig) == before
    await admin.close()
    await guest.close()


async def test_invitation_expires_and_can_be_revoked(rig: Rig) -> None:
    """15 minutes at most; expired or revoked invitations open nothing."""
    admin = await rig.pair()
    with pytest.raises(CommandRefused) as err:
        await admin.create_invitation(Role.OPERATOR, ttl_ms=MAX_INVITATION_TTL_MS * 2)
    assert err.value.code is ResultCode.INVALID_REQUEST

    expiring = await admin.create_invitation(Role.OPERATOR)
    rig.scheduler.advance(MAX_INVITATION_TTL_MS / 1000 + 1)
    with pytest.raises(PairingTimedOut):
        await _pair(rig, expiring.code, timeout=0.2)

    revoked = await admin.create_invitation(Role.OPERATOR)
    await admin.revoke_invitation(revoked.invitation_id)
    with pytest.raises(PairingTimedOut):
        await _pair(rig, revoked.code, timeout=0.2)
    with pytest.raises(CommandRefused) as err:
        await admin.revoke_invitation(revoked.invitation_id)
    assert err.value.code is ResultCode.NOT_FOUND
    assert set(_registry(rig).values()) == {Role.ADMIN}
    await admin.close()


async def test_known_keys_never_join_again(rig: Rig) -> None:
    """A controller already on the lock cannot widen its role with an invitation."""
    admin = await rig.pair()
    invitation = await admin.create_invitation(
        Role.GUEST, valid_until_ms=rig.now_ms() + 60_000
    )
    identity, guest = await _pair(rig, invitation.code)
    promotion = await admin.create_invitation(Role.ADMIN)
    with pytest.raises(PairingFailed) as err:
        await pair_over_link(
            rig.hub.attach(), identity, promotion.code, "x", clock=rig.now_ms, **FAST
        )
    assert err.value.code is ErrorCode.ALREADY_PAIRED
    assert _registry(rig)[identity.key_id] is Role.GUEST
    await admin.close()
    await guest.close()


async def test_an_unconfirmed_pairing_is_forgotten(rig: Rig) -> None:
    """A controller that never spoke after pairing leaves no record (no orphan admin)."""
    rig.device.press_button()
    link = rig.hub.attach()
    identity = ControllerIdentity.generate(now_ms=rig.now_ms())
    await pair_over_link(
        link, identity, rig.device.element.label_code, "lost", clock=rig.now_ms
    )
    assert rig.device.state.registry.get(identity.key_id) is not None
    rig.scheduler.advance(FAILSAFE_MS / 1000 + 1)
    assert rig.device.state.registry.records == {}
    assert rig.device.describe()["factory_state"]
    # Still after a reboot, and the label works again.
    rig.boot()
    assert rig.device.state.registry.records == {}
    client = await rig.pair()
    assert client.paired_lock.role is Role.ADMIN
    await client.close()


async def test_former_users_learn_nothing_from_refusals_or_broadcasts(rig: Rig) -> None:
    """Revoked controllers and guests outside their window get no state at all."""
    admin = await rig.pair()
    now = rig.now_ms()
    invitation = await admin.create_invitation(Role.GUEST, valid_until_ms=now + 60_000)
    guest_id, guest = await _pair(rig, invitation.code, "Guest")
    operator = await rig.pair("Tenant")
    await admin.remove_controller(operator.identity.key_id)
    rig.scheduler.advance(61)  # the guest's window is over

    seen: dict[str, list[LockReport]] = {"guest": [], "operator": []}
    guest.add_listener(seen["guest"].append)
    operator.add_listener(seen["operator"].append)
    rig.device.mechanism.turn_by_hand(lock=False)
    rig.device.send_heartbeat()
    await admin.status()

    for client, code in (
        (guest, ResultCode.NOT_PERMITTED),
        (operator, ResultCode.REVOKED),
    ):
        with pytest.raises(CommandRefused) as err:
            await client.status()
        assert err.value.code is code
        assert err.value.result.status == LockStatus()
    for updates in seen.values():
        assert [u for u in updates if u.kind is not ReportKind.RESULT] == []
        assert all(u.status == LockStatus() for u in updates)
    assert rig.device.mechanism.status.bolt.value == "unlocked"
    assert guest_id.key_id in rig.device.state.registry.records
    await admin.close()
    await guest.close()
    await operator.close()


async def test_factory_reset_forgets_everyone_and_tells_them_signed(rig: Rig) -> None:
    """The long press: controllers, invitations and history gone; the label pairs again."""
    admin = await rig.pair()
    await admin.create_invitation(Role.OPERATOR)
    await admin.unlock()
    rig.device.factory_reset()
    assert _registry(rig) == {}
    assert rig.device.state.joins.invitations == {}
    assert rig.device.state.audit.next_index == 0
    assert all(r.name == "" for r in rig.device.state.registry.records.values())

    with pytest.raises(CommandRefused) as err:
        await admin.unlock()
    assert err.value.code is ResultCode.REVOKED
    assert err.value.result.status == LockStatus()

    rig.boot()
    rig.admin = None
    new_owner = await rig.pair("New owner")
    assert new_owner.paired_lock.role is Role.ADMIN
    assert (await new_owner.status()).status.bolt_state is BoltState.UNLOCKED
    await admin.close()
    await new_owner.close()


async def test_guessing_an_invitation_locks_joining_until_the_button(rig: Rig) -> None:
    """Five wrong guesses at an open invitation: the right code is refused too.

    Until someone presses the lock's button: a denial of service, never a way in.
    """
    admin = await rig.pair()
    invitation = await admin.create_invitation(Role.OPERATOR)
    guess = wrong_code(invitation.code)
    for _ in range(5):
        with pytest.raises(PairingFailed) as err:
            await _pair(rig, guess, "Guesser")
        assert err.value.code is ErrorCode.BAD_MAC
    before = _registry(rig)
    with pytest.raises(PairingFailed) as err:
        await _pair(rig, invitation.code, "Invited")
    assert err.value.code is ErrorCode.PAIRING_LOCKED_OUT
    assert _registry(rig) == before

    rig.device.press_button()
    identity, invited = await _pair(rig, invitation.code, "Invited")
    assert _registry(rig)[identity.key_id] is Role.OPERATOR
    await admin.close()
    await invited.close()
