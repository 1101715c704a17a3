"""Attacks by a hostile broker on the controller <-> lock path (controller library).

Every test runs the real lock (device_sim) behind real Mosquitto brokers with
the attacker's client in between (see hostile_relay.py), and the controller
library (`LockClient`) on the other side.  Each asserts that the lock did not
act (mechanism, audit log and controller list unchanged, or only a signed
refusal recorded) and that the controller shows the lock's signed truth or
nothing new, never a state the lock did not sign.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from custom_components.secure_lock.controller import (
    CommandRefused,
    CommandTimeout,
    LockClient,
    LockReport,
    PairingFailed,
    ReportKind,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ErrorCode,
    MessageKind,
    PairedLock,
    ResultCode,
    Role,
    SetupCode,
)
from custom_components.secure_lock.protocol.channel import Channel
from custom_components.secure_lock.protocol.messages import ControllerRemove
from custom_components.secure_lock.protocol.pairing_seal import SEALED_ANSWER_SIZE
from custom_components.secure_lock.protocol.setup_code import PASSCODE_BITS
from custom_components.secure_lock.protocol.state import BoltState as WireBoltState
from custom_components.secure_lock.transport.link import FrameLink
from device_sim.mechanism import BoltState
from tests.sim.helpers import wait_until

from .conftest import RelayedLock, Stage
from .helpers import deliver_counted
from .hostile_relay import Direction, FramePath, Mode

SHORT = 0.5
"""Seconds a controller waits for an answer the attacker withholds."""


def _state(client: LockClient) -> WireBoltState | None:
    return client.last_status.bolt_state if client.last_status else None


async def _replay_all_refused(lock: RelayedLock, frames: list[bytes]) -> None:
    """Deliver every frame again; each must be refused, silently, changing nothing."""
    before = lock.observable()
    answers = len(lock.relay.captured(Direction.UP))
    await deliver_counted(lock.relay, Direction.DOWN, frames, lock.dropped)
    assert lock.observable() == before
    assert len(lock.relay.captured(Direction.UP)) == answers


async def test_replayed_commands_do_nothing_after_reboot_or_restore(
    stage: Stage,
) -> None:
    """Every captured command replayed: live, after a lock reboot, after a restored backup."""
    lock = await stage.start_lock()
    client = await stage.pair(lock)
    backup = client.paired_lock.to_bytes()
    paired = len(lock.relay.captured(Direction.DOWN))  # pairing and its confirmation
    await client.unlock()
    await client.open()
    await client.status()
    await client.lock()
    captured = lock.relay.captured(Direction.DOWN)[paired:]
    assert len(captured) == 4

    await _replay_all_refused(lock, captured)
    assert lock.device.dropped_frames[ErrorCode.REPLAYED] == 4

    await lock.reboot()
    await _replay_all_refused(lock, captured)

    # Home Assistant restored from the backup taken right after pairing: its
    # stored counters are older than what the lock has seen.
    await client.close()
    restored = await stage.client(
        await stage.controller_link(lock, client.identity),
        client.identity,
        PairedLock.from_bytes(backup),
    )
    assert (await restored.status()).status.bolt_state is WireBoltState.LOCKED
    everything = lock.relay.captured(Direction.DOWN)
    await _replay_all_refused(lock, everything)
    # Lock frames recorded before the restore, replayed to the restored
    # controller after its first signed answer: all refused.
    old_up = lock.relay.captured(Direction.UP)
    await deliver_counted(
        lock.relay, Direction.UP, old_up, lambda: restored.rejected_frames
    )
    assert _state(restored) is WireBoltState.LOCKED
    assert (await restored.unlock()).status.bolt_state is WireBoltState.UNLOCKED


async def test_unlock_held_past_its_expiry_is_refused(stage: Stage) -> None:
    """A relay that sits on an unlock and delivers it later opens nothing."""
    lock = await stage.start_lock()
    client = await stage.pair(lock)
    await client.status()
    lock.relay.mode[Direction.DOWN] = Mode.HOLD
    with pytest.raises(CommandTimeout):
        await client.unlock(timeout=SHORT)
    before = lock.observable()
    stage.advance(11)  # unlocks live 10 s
    await lock.relay.release(Direction.DOWN)
    await wait_until(lambda: lock.device.dropped_frames.get(ErrorCode.EXPIRED) == 1)
    assert lock.observable() == before
    assert lock.device.mechanism.status.bolt is BoltState.LOCKED
    assert _state(client) is WireBoltState.LOCKED


async def test_reordered_commands_the_older_one_is_refused(stage: Stage) -> None:
    """Unlock then lock, delivered lock first: the late unlock is a replay."""
    lock = await stage.start_lock()
    client = await stage.pair(lock)
    await client.unlock()
    lock.relay.mode[Direction.DOWN] = Mode.HOLD
    unlock = asyncio.create_task(client.unlock(timeout=1.5))
    await lock.relay.wait_held(Direction.DOWN, 1)
    locking = asyncio.create_task(client.lock(timeout=5))
    await lock.relay.wait_held(Direction.DOWN, 2)
    # Give the lock the first command only after the second.
    lock.relay.mode[Direction.DOWN] = Mode.FORWARD
    await lock.relay.release(Direction.DOWN, order=[1, 0])
    assert (await locking).status.bolt_state is WireBoltState.LOCKED
    await wait_until(lambda: lock.device.dropped_frames.get(ErrorCode.REPLAYED) == 1)
    assert lock.device.mechanism.status.bolt is BoltState.LOCKED
    with pytest.raises(CommandTimeout):
        await unlock
    assert _state(client) is WireBoltState.LOCKED


async def test_dropped_command_is_a_timeout_and_changes_nothing(stage: Stage) -> None:
    """The relay swallows an unlock: the caller gets a timeout, not a state."""
    lock = await stage.start_lock()
    client = await stage.pair(lock)
    await client.status()
    before = lock.observable()
    lock.relay.mode[Direction.DOWN] = Mode.DROP
    with pytest.raises(CommandTimeout):
        await client.unlock(timeout=SHORT)
    assert lock.observable() == before
    assert _state(client) is WireBoltState.LOCKED


async def test_dropped_confirmation_shows_only_signed_state(stage: Stage) -> None:
    """The lock acted but the relay drops its answer: the client keeps the old signed state."""
    lock = await stage.start_lock()
    client = await stage.pair(lock)
    await client.status()
    lock.relay.mode[Direction.UP] = Mode.DROP
    with pytest.raises(CommandTimeout):
        await client.unlock(timeout=SHORT)
    assert lock.device.mechanism.status.bolt is BoltState.UNLOCKED
    # Not "unlocked" (never confirmed) and not a guess either way.
    assert _state(client) is WireBoltState.LOCKED
    lock.relay.mode[Direction.UP] = Mode.FORWARD
    assert (await client.status()).status.bolt_state is WireBoltState.UNLOCKED


async def test_frames_moved_reflected_or_downgraded_are_refused(stage: Stage) -> None:
    """Lock A's command to lock B, a lock's frame back to itself, rewritten suite/version."""
    lock_a = await stage.start_lock("lock-a")
    lock_b = await stage.start_lock("lock-b")
    client_a = await stage.pair(lock_a)
    client_b = await stage.pair(lock_b)
    await client_b.status()
    await client_a.unlock()
    to_a = lock_a.relay.captured(Direction.DOWN)[-1]
    from_a = lock_a.relay.captured(Direction.UP)[-1]

    # A's command at B; A's own (lock -> controller) frame reflected to A.
    await _replay_all_refused(lock_b, [to_a])
    assert lock_b.device.dropped_frames == {ErrorCode.WRONG_RECIPIENT: 1}
    await _replay_all_refused(lock_a, [from_a])

    # The outer header after the channel byte: version, suite.  Downgrade the
    # suite, claim another version, or both, on a fresh command to B.
    lock_b.relay.mode[Direction.DOWN] = Mode.HOLD
    with pytest.raises(CommandTimeout):
        await client_b.unlock(timeout=SHORT)
    (fresh,) = lock_b.relay.discard(Direction.DOWN)
    rewritten = []
    for version, suite in ((1, 1), (2, fresh[2]), (0, fresh[2]), (1, 3)):
        frame = bytearray(fresh)
        frame[1], frame[2] = version, suite
        rewritten.append(bytes(frame))
    await _replay_all_refused(lock_b, rewritten)
    assert lock_b.device.mechanism.status.bolt is BoltState.LOCKED

    # A controller's own frame reflected back to it is refused as well.
    rejected = client_b.rejected_frames
    await lock_b.relay.inject(Direction.UP, fresh)
    await wait_until(lambda: client_b.rejected_frames == rejected + 1)
    assert _state(client_a) is WireBoltState.UNLOCKED
    assert _state(client_b) is WireBoltState.LOCKED


async def test_old_locked_reports_replayed_while_unlocked_are_refused(
    stage: Stage,
) -> None:
    """A recorded "locked" event and heartbeat, replayed after an unlock, change nothing."""
    lock = await stage.start_lock()
    client = await stage.pair(lock)
    await client.unlock()
    await client.lock()
    lock.device.send_heartbeat()
    await wait_until(lambda: len(lock.relay.captured(Direction.UP)) >= 6)
    stale = lock.relay.captured(Direction.UP)
    await client.unlock()
    assert _state(client) is WireBoltState.UNLOCKED
    await deliver_counted(
        lock.relay, Direction.UP, stale, lambda: client.rejected_frames
    )
    assert _state(client) is WireBoltState.UNLOCKED
    assert lock.device.mechanism.status.bolt is BoltState.UNLOCKED


async def test_withheld_revocation(stage: Stage) -> None:
    """A revocation the relay holds back takes effect when it arrives, or never.

    While withheld, the revoked controller still works and the admin has no
    confirmation (a timeout, never "revoked"); held past its 30 s lifetime,
    it is refused and the admin must send it again.  Once a revocation
    reached the lock, the revoked key's commands, fresh or replayed, fail.
    """
    lock = await stage.start_lock()
    admin = await stage.pair(lock)
    operator = await stage.pair(lock, "Phone")
    target = operator.identity.key_id

    lock.relay.mode[Direction.DOWN] = Mode.HOLD
    with pytest.raises(CommandTimeout):
        await admin.request(
            MessageKind.CONTROLLER_REMOVE, ControllerRemove(target), timeout=SHORT
        )
    lock.relay.mode[Direction.DOWN] = Mode.FORWARD
    first = len(lock.relay.captured(Direction.DOWN))
    assert (await operator.unlock()).status.bolt_state is WireBoltState.UNLOCKED
    stage.advance(31)
    await lock.relay.release(Direction.DOWN)
    await wait_until(lambda: lock.device.dropped_frames.get(ErrorCode.EXPIRED) == 1)
    assert not lock.device.state.registry.records[target].revoked

    # Sent again and delivered: revoked for good.
    await admin.remove_controller(target)
    before = lock.observable()
    with pytest.raises(CommandRefused) as err:
        await operator.lock(timeout=5)
    assert err.value.code is ResultCode.REVOKED
    assert lock.device.mechanism.status.bolt is BoltState.UNLOCKED
    assert (lock.observable().bolt, lock.observable().door) == (
        before.bolt,
        before.door,
    )
    # The operator's unlock from before the revocation and its refused lock,
    # replayed: nothing (not even a second "revoked" answer).
    captured = lock.relay.captured(Direction.DOWN)
    await _replay_all_refused(lock, [captured[first], captured[-1]])


async def test_unpaired_revoked_guest_and_operator_are_refused(stage: Stage) -> None:
    """Through the relay: unknown key (silence), guest outside its window and operator admin actions (signed refusals)."""
    lock = await stage.start_lock()
    admin = await stage.pair(lock)
    operator = await stage.pair(lock, "Phone")
    now = stage.clock()
    guest = await stage.added(
        admin,
        lock,
        "Cleaner",
        Role.GUEST,
        valid_from_ms=now + 3_600_000,
        valid_until_ms=now + 7_200_000,
    )
    unknown = ControllerIdentity.generate(now_ms=now)
    stranger = await stage.client(
        await stage.controller_link(lock, unknown),
        unknown,
        PairedLock(
            admin.paired_lock.lock_id,
            admin.paired_lock.bundle,
            admin.paired_lock.suite,
            Role.ADMIN,
        ),
    )
    bolt = lock.device.mechanism.status.bolt
    before = lock.observable()

    with pytest.raises(CommandTimeout):
        await stranger.unlock(timeout=SHORT)
    assert lock.device.dropped_frames[ErrorCode.UNKNOWN_SENDER] == 1
    assert lock.observable() == before

    with pytest.raises(CommandRefused) as err:
        await guest.unlock(timeout=5)
    assert err.value.code is ResultCode.NOT_PERMITTED
    for attempt in (
        operator.list_controllers(),
        operator.remove_controller(admin.identity.key_id),
        operator.set_auto_relock(5),
        operator.add_controller(
            ControllerIdentity.generate().public_bundle(
                suites=(admin.paired_lock.suite,)
            ),
            "Intruder",
            Role.ADMIN,
        ),
    ):
        with pytest.raises(CommandRefused) as err:
            await attempt
        assert err.value.code is ResultCode.NOT_PERMITTED
    assert lock.device.mechanism.status.bolt is bolt
    # The refusals are audited; the controller list did not change.
    assert lock.observable().controllers == before.controllers
    entries = lock.device.state.audit.window(before.audit_entries, 16).entries
    assert [e.result for e in entries] == [ResultCode.NOT_PERMITTED] * 5


async def _try_pairing(link: FrameLink, setup: SetupCode) -> ErrorCode:
    with pytest.raises(PairingFailed) as err:
        await pair_over_link(link, ControllerIdentity.generate(), setup, "x", timeout=5)
    return err.value.code


@pytest.mark.parametrize("path", ["relay", "lan"])
async def test_pairing_brute_force_locks_out_across_a_reboot(
    stage: Stage, path: str
) -> None:
    """An attacker on the path gets 5 guesses per window at the 11 digits, reboot or not.

    Each guess uses a fresh controller key and another wrong passcode; the
    sixth and every later one is refused unread, the right code included,
    across a reboot, until the owner presses the button (a new window).
    """
    lock = await stage.start_lock()
    proxy = await stage.lan_proxy(lock)
    real = SetupCode.parse(lock.device.element.label_code.manual_code())

    async def link() -> FrameLink:
        if path == "relay":
            # Fresh keys per guess: no envelope is ever addressed to them.
            return await stage.controller_link(lock, None, pairing=True)
        return await stage.lan_link(proxy.url)

    def guess(number: int) -> SetupCode:
        passcode = (real.passcode + number) % (2**PASSCODE_BITS - 1) + 1
        return replace(real, passcode=passcode)

    lock.device.press_button()
    attacker = await link()
    for number in range(5):
        assert await _try_pairing(attacker, guess(number)) is ErrorCode.BAD_MAC
    for number in range(5, 8):
        assert (
            await _try_pairing(attacker, guess(number)) is ErrorCode.PAIRING_LOCKED_OUT
        )
    # Even the right code is refused now.
    assert await _try_pairing(attacker, real) is ErrorCode.PAIRING_LOCKED_OUT
    assert lock.device.state.pairing_attempts.failures == 5

    await lock.reboot()
    proxy.upstream_url = lock.lan_url
    assert lock.device.state.pairing_attempts.failures == 5
    # A window opened without the button (as a fresh invitation would) stays shut.
    lock.device.pairing.open_window()
    assert await _try_pairing(await link(), real) is ErrorCode.PAIRING_LOCKED_OUT
    assert lock.device.state.registry.records == {}
    # The owner's press is a new window: the count starts again, the code pairs.
    lock.device.press_button()
    assert lock.device.state.pairing_attempts.failures == 0
    outcome = await pair_over_link(
        await link(), ControllerIdentity.generate(), real, "owner", timeout=5
    )
    assert outcome.lock.lock_id == lock.device.lock_id
    seen: FramePath = proxy if path == "lan" else lock.relay
    assert seen.captured(Direction.DOWN, Channel.PAIRING)
    # Challenges, refusals of proofs and of hellos, a result: on the path
    # every answer has one size and none names its reason.
    answers = seen.captured(Direction.UP, Channel.PAIRING)
    assert len(answers) >= 11
    assert {len(answer) for answer in answers} == {SEALED_ANSWER_SIZE + 1}
    for answer in answers:
        for code in ErrorCode:
            assert code.value.encode("ascii") not in answer, code


async def test_lan_proxy_replays_and_held_unlocks_are_refused(stage: Stage) -> None:
    """The same powers on the LAN path: replayed commands and a late unlock do nothing."""
    lock = await stage.start_lock()
    proxy = await stage.lan_proxy(lock)
    link = await stage.lan_link(proxy.url)
    identity = stage.new_identity()
    outcome = await stage.pair_over(link, lock, identity)
    client = await stage.client(link, identity, outcome.lock)
    paired = len(proxy.captured(Direction.DOWN))  # the confirmation of the pairing
    await client.unlock()
    await client.lock()
    captured = proxy.captured(Direction.DOWN)[paired:]
    before = lock.observable()
    await deliver_counted(proxy, Direction.DOWN, captured, lock.dropped)
    assert lock.device.dropped_frames[ErrorCode.REPLAYED] == len(captured) == 2

    proxy.mode[Direction.DOWN] = Mode.HOLD
    with pytest.raises(CommandTimeout):
        await client.unlock(timeout=SHORT)
    stage.advance(11)
    await proxy.release(Direction.DOWN)
    await wait_until(lambda: lock.device.dropped_frames.get(ErrorCode.EXPIRED) == 1)
    assert lock.observable() == before
    assert _state(client) is WireBoltState.LOCKED


async def test_a_report_the_relay_held_back_is_not_shown_as_current(
    stage: Stage,
) -> None:
    """Held 26 s and released within its lifetime: signed, new, and still not shown.

    The relay holds the lock's "unlocked" and "locked" events (a hand at the
    keypad, twice), lets 26 s pass and releases only the first.  Home
    Assistant must not show the door unlocked: the report is too old, so it
    asks the lock afresh and shows what the lock signs now.
    """
    lock = await stage.start_lock()
    client = await stage.pair(lock)
    reports: list[LockReport] = []
    client.add_listener(reports.append)
    assert (await client.status()).status.bolt_state is WireBoltState.LOCKED
    reports.clear()
    seen = len(lock.relay.captured(Direction.UP))
    lock.relay.mode[Direction.UP] = Mode.HOLD
    lock.device.mechanism.keypad(lock=False)
    lock.device.mechanism.keypad(lock=True)
    await wait_until(lambda: len(lock.relay.captured(Direction.UP)) >= seen + 2)
    stage.advance(26)
    lock.relay.mode[Direction.UP] = Mode.FORWARD
    await lock.relay.release(Direction.UP, order=[0])
    await wait_until(lambda: client.stale_reports >= 1)
    await wait_until(lambda: any(r.kind is ReportKind.RESULT for r in reports))
    assert all(r.status.bolt_state is WireBoltState.LOCKED for r in reports), reports
    assert client.last_status.bolt_state is WireBoltState.LOCKED
    assert lock.device.mechanism.status.bolt is BoltState.LOCKED
