"""What the relay could tell from frames, counts, timing and routing ids: not the command, not who sent it.

A lock with three controllers and auto-relock on.  Each of two controllers
sends lock, unlock and open; the relay's log of each command (which
routing id got a frame, and when, to the millisecond of the lock's clock)
is its feature vector.  The best classifier from those features to the
command, or to the controller that acted, can only be as good as always
guessing the most common answer.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from pathlib import Path

import pytest

from custom_components.secure_lock.controller import LockClient
from custom_components.secure_lock.controller.keypad import (
    list_keypad_codes,
    set_keypad_code,
)
from custom_components.secure_lock.protocol import Role
from custom_components.secure_lock.protocol.keypad_codes import KeypadSchedule
from custom_components.secure_lock.protocol.state import BoltState
from device_sim.traffic_shape import (
    HEARTBEAT_JITTER,
    heartbeat_interval,
    in_routing_order,
)

from .traffic_capture import (
    HOLD_S,
    MOTOR_S,
    RELOCK_S,
    STEP_S,
    ShapedLock,
    best_accuracy,
    chance,
    shaped_lock,
)


@pytest.fixture(name="shaped")
async def shaped_fixture(tmp_path: Path) -> AsyncIterator[ShapedLock]:
    """Return a lock with a motor, a latch, auto-relock and three controllers."""
    shaped = await shaped_lock(tmp_path)
    yield shaped
    await shaped.close()


async def test_lock_unlock_and_open_look_alike_whoever_sends_them(
    shaped: ShapedLock,
) -> None:
    """Same frames to every controller at the same moments, for every command and sender."""
    rig, clients = shaped.rig, shaped.clients
    commands: dict[str, Callable[[LockClient], Awaitable[object]]] = {
        "lock": LockClient.lock,
        "unlock": LockClient.unlock,
        "open": LockClient.open,
    }
    by_command: list[tuple[Hashable, str]] = []
    by_sender: list[tuple[Hashable, str]] = []
    for sender in ("admin", "phone"):
        for command, call in commands.items():
            # Start from the other end, quietly (the hand's frames come first).
            rig.device.mechanism.turn_by_hand(lock=command != "lock")
            view = await shaped.observe(call(clients[sender]))
            by_command.append((view, command))
            by_sender.append((view, sender))
            # Locked again in the end: by the command, or by the auto-relock.
            assert rig.device.wire_status().bolt_state is BoltState.LOCKED
    assert best_accuracy(by_command) == chance(by_command) == 1 / 3
    assert best_accuracy(by_sender) == chance(by_sender) == 1 / 2
    # What the one pattern is: the command down, then at each of six
    # moments (motor starts, stops, settles; the relock's three, or reports
    # in its place) one frame to each controller, in routing-id order.
    view = await shaped.observe(clients["tablet"].lock())
    assert view[0] == (0.0, False, "lock")
    per_controller = defaultdict(list)
    for at, up, name in view[1:]:
        assert up
        per_controller[name].append(at)
    assert set(per_controller) == {"admin", "phone", "tablet"}
    for times in per_controller.values():
        assert times == [
            0.0,
            MOTOR_S,
            MOTOR_S + HOLD_S,
            MOTOR_S + HOLD_S + RELOCK_S,
            2 * MOTOR_S + HOLD_S + RELOCK_S,
            2 * MOTOR_S + 2 * HOLD_S + RELOCK_S,
        ]


async def test_the_requester_still_sees_its_own_command_end(
    shaped: ShapedLock,
) -> None:
    """The requester's frame is its result; it shows the same state as the others' event."""
    rig, clients = shaped.rig, shaped.clients
    seen: dict[str, list[object]] = {name: [] for name in clients}
    for name, client in clients.items():
        client.add_listener(lambda update, name=name: seen[name].append(update))  # type: ignore[misc]
    rig.device.mechanism.turn_by_hand(lock=True)
    await shaped.run(clients["phone"].unlock(), seconds=MOTOR_S + STEP_S)
    ends = {
        name: [u for u in updates if getattr(u, "event", None) is not None][-1]
        for name, updates in seen.items()
    }
    for name, update in ends.items():
        event = update.event  # type: ignore[attr-defined]
        assert event.status.bolt_state is BoltState.UNLOCKED, name
        assert event.controller_name == "Phone", name
        assert event.controller_id == clients["phone"].identity.key_id, name


async def test_answers_of_many_frames_are_padded_to_fixed_counts(
    shaped: ShapedLock,
) -> None:
    """The audit log, the controller list and the keypad codes: the frame count says nothing of their size."""
    rig, clients = shaped.rig, shaped.clients
    admin = clients["admin"]

    async def frames_for(call: Awaitable[object]) -> int:
        start = len(rig.hub.sent_by_lock)
        await shaped.run(call, seconds=STEP_S)
        return len(rig.hub.sent_by_lock) - start

    short_log = await frames_for(admin.audit_log(max_entries=64))
    entries = await admin.audit_log(max_entries=64)
    for _ in range(10):
        rig.device.mechanism.turn_by_hand(lock=False)
        rig.device.mechanism.turn_by_hand(lock=True)
        await asyncio.sleep(0)  # the links' inboxes are bounded: let them drain
    longer = await admin.audit_log(max_entries=64)
    assert len(longer) == len(entries) + 20
    assert await frames_for(admin.audit_log(max_entries=64)) == short_log == 64 // 8
    assert await frames_for(admin.audit_log(max_entries=256)) == 256 // 8

    listed = await frames_for(admin.list_controllers())
    clients["watch"] = await rig.pair("Watch", Role.OPERATOR)
    assert len(await admin.list_controllers()) == 4
    assert await frames_for(admin.list_controllers()) == listed == 4

    no_codes = await frames_for(list_keypad_codes(admin))
    await set_keypad_code(admin, 0, "Cleaner", KeypadSchedule(), generate=True)
    await set_keypad_code(admin, 1, "Guest", KeypadSchedule(), generate=True)
    assert len((await list_keypad_codes(admin)).codes) == 2
    assert await frames_for(list_keypad_codes(admin)) == no_codes == 8


def test_heartbeat_intervals_are_jittered_within_bounds() -> None:
    """The phase of heartbeats drifts at random within ±25 % of the period."""
    intervals = [heartbeat_interval(30.0) for _ in range(200)]
    low, high = 30.0 * (1 - HEARTBEAT_JITTER), 30.0 * (1 + HEARTBEAT_JITTER)
    assert all(low <= i <= high for i in intervals)
    assert len(set(intervals)) > 50
    assert max(intervals) - min(intervals) > 30.0 * HEARTBEAT_JITTER
    assert heartbeat_interval(30.0, jitter=0) == 30.0


def test_frames_of_one_moment_leave_in_routing_id_order() -> None:
    """The order of a batch depends on the recipients only, not on who asked."""
    frames = [bytes((1, 2)) + bytes((n,)) * 16 + b"tail" for n in (9, 3, 7)]
    ordered = in_routing_order(frames)
    assert [f[2] for f in ordered] == [3, 7, 9]
    assert in_routing_order(reversed(frames)) == ordered
