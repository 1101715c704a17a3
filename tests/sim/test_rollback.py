"""An older, valid copy of the lock's flash is detected: the lock fails secure and says so.

Real `LockDevice`, real protocol over the loopback hub, manual clock.  The
"flash" is the directory of sealed records; the device key and the secure
element's monotonic counter live apart from it, as on the device.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from custom_components.secure_lock.controller import (
    CommandRefused,
    CommandTimeout,
    LockReport,
    PairingTimedOut,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ErrorCode,
    EventType,
    ResultCode,
    Role,
    SetupCode,
)
from custom_components.secure_lock.protocol.state import BoltState as WireBoltState
from device_sim.mechanism import BoltState
from device_sim.storage import SUFFIX

from .helpers import wait_until
from .lock_rig import FAST_PREKEYS, Rig


@pytest.fixture(name="rig")
def rig_fixture(tmp_path: Path) -> Rig:
    """Return a freshly booted lock."""
    return Rig(tmp_path)


async def test_state_restored_from_before_a_revocation_is_refused(
    rig: Rig, tmp_path: Path
) -> None:
    """The un-revoked controller cannot open; the lock acts on nothing; the admin hears TAMPER."""
    admin_updates: list[LockReport] = []
    admin = await rig.pair_admin(admin_updates)
    tenant = await rig.add(admin, "Former tenant", Role.OPERATOR)
    assert (await tenant.unlock()).status.bolt_state is WireBoltState.UNLOCKED
    await tenant.lock()
    rig.copy_flash(tmp_path / "before")
    await admin.remove_controller(tenant.identity.key_id)
    audit_before = rig.device.state.audit.next_index

    rig.power_off()
    rig.write_back(tmp_path / "before")
    device = rig.boot()

    assert device.rollback is not None
    described = device.describe()["rollback"]
    assert isinstance(described, dict)
    assert [r["name"] for r in described["records"]] == ["state"]
    # The old state does name the tenant as active; the lock must not act on it.
    record = device.state.registry.get(tenant.identity.key_id)
    assert record is not None and not record.revoked

    device.start()

    def tampers() -> list[LockReport]:
        return [
            u
            for u in admin_updates
            if u.event is not None and u.event.event is EventType.TAMPER
        ]

    await wait_until(lambda: bool(tampers()))
    (tamper,) = tampers()
    assert tamper.status.bolt_state is WireBoltState.LOCKED

    for client in (tenant, admin):
        with pytest.raises(CommandTimeout):
            await client.unlock(timeout=0.2)
    assert device.mechanism.status.bolt is BoltState.LOCKED
    assert device.frames_refused_in_lockdown == 2
    assert device.describe()["frames_refused_in_lockdown"] == 2

    # Nothing was written: the next boot finds the same rollback, not a "new" state.
    written_back = sorted(p.read_bytes() for p in (tmp_path / "before").iterdir())
    assert sorted(p.read_bytes() for p in rig.flash.glob(f"*{SUFFIX}")) == written_back
    again = rig.reboot()
    assert again.rollback is not None
    assert again.state.audit.next_index < audit_before
    await admin.close()
    await tenant.close()


async def test_identity_restored_from_before_an_erasure_keeps_the_prekey_erased(
    rig: Rig, tmp_path: Path
) -> None:
    """A frame sealed to a since-erased prekey stays unreadable after the old identity comes back."""
    admin = await rig.pair_admin([])
    old_prekeys = admin.paired_lock.bundle.prekeys
    rig.copy_flash(tmp_path / "identity", names=("identity",))

    # A request sealed to the current prekey, captured on the way (not delivered).
    captured: list[bytes] = []
    rig.hub.receive = captured.append
    pending = asyncio.create_task(admin.unlock(timeout=5))
    await wait_until(lambda: bool(captured))
    pending.cancel()
    rig.hub.receive = rig.device.receive

    # The prekey expires and the lock erases it: the frame is now unreadable.
    rig.scheduler.advance(FAST_PREKEYS.lifetime_ms / 1000 + 2)
    rig.device.rotate_prekeys()
    rig.device.receive(captured[0])
    assert rig.device.dropped_frames == {ErrorCode.UNKNOWN_PREKEY: 1}

    rig.power_off()
    rig.write_back(tmp_path / "identity")
    device = rig.boot()
    assert device.rollback is not None
    described = device.describe()["rollback"]
    assert isinstance(described, dict)
    assert [r["name"] for r in described["records"]] == ["identity"]
    for prekey in old_prekeys:
        assert (
            device.endpoint.identity.find_prekey(prekey.suite, prekey.prekey_id) is None
        )

    device.receive(captured[0])
    assert device.frames_refused_in_lockdown == 1
    assert device.mechanism.status.bolt is BoltState.LOCKED
    assert device.state.audit.next_index == rig.device.state.audit.next_index
    with pytest.raises(asyncio.CancelledError):
        await pending
    await admin.close()


async def test_deleting_the_state_does_not_make_a_factory_new_lock(
    rig: Rig, tmp_path: Path
) -> None:
    """Removing the state record (to pair anew with the label) is a rollback, not a first boot."""
    admin = await rig.pair_admin([])
    rig.power_off()
    (rig.flash / f"state{SUFFIX}").unlink()
    device = rig.boot()
    assert device.rollback is not None
    assert not device.first_boot
    device.press_button()
    link = rig.hub.attach()
    with pytest.raises(PairingTimedOut):
        await pair_over_link(
            link,
            ControllerIdentity.generate(now_ms=rig.now_ms()),
            SetupCode.parse(device.element.label_code.manual_code()),
            "Intruder",
            clock=rig.now_ms,
            timeout=0.2,
        )
    assert device.state.registry.records == {}
    assert device.frames_refused_in_lockdown == 1
    await admin.close()


async def test_a_factory_reset_ends_the_lockdown_and_the_old_copy_stays_dead(
    rig: Rig, tmp_path: Path
) -> None:
    """The long press writes fresh, current records: nobody from the old copy gets in."""
    admin = await rig.pair_admin([])
    tenant = await rig.add(admin, "Former tenant", Role.OPERATOR)
    rig.copy_flash(tmp_path / "before")
    await admin.remove_controller(tenant.identity.key_id)
    rig.power_off()
    rig.write_back(tmp_path / "before")
    device = rig.boot()
    device.start()
    assert device.rollback is not None

    device.factory_reset()
    assert device.rollback is None
    assert device.describe()["factory_state"]
    for client in (tenant, admin):
        with pytest.raises(CommandRefused) as err:
            await client.unlock(timeout=2)
        assert err.value.code is ResultCode.REVOKED
    assert device.mechanism.status.bolt is BoltState.LOCKED

    again = rig.reboot()
    assert again.rollback is None
    assert again.describe()["factory_state"]
    # The copy from before the reset is older than the counter again.
    rig.power_off()
    rig.write_back(tmp_path / "before")
    assert rig.boot().rollback is not None
    await admin.close()
    await tenant.close()
