"""Every single-bit flip of a real command and a real result, through the hostile relay.

The controller pairs with suite 1 (698-byte link frames: 5 584 flips per
frame), as the in-process test does, so one exhaustive pass stays near 10 s
through the brokers.  Suite 2's 3 002-byte frames (24 016 flips) are not
covered exhaustively anywhere: about 9 s in-process and 40-90 s through the
brokers on this machine.
"""

from __future__ import annotations

import asyncio

from custom_components.secure_lock.protocol import Command, CommandResult, MessageKind
from custom_components.secure_lock.protocol.state import BoltState
from custom_components.secure_lock.protocol.suites import SuiteId
from tests.sim.helpers import wait_until

from .conftest import Stage
from .helpers import bit_flips, deliver_counted, peek
from .hostile_relay import Direction, Mode

LONG = 120.0
"""Seconds a caller waits while the barrage runs (a loaded machine is slow)."""


async def test_every_bit_flip_of_a_command_is_refused_by_the_lock(stage: Stage) -> None:
    """All 8 x len flips reach the lock, each is refused, the lock does nothing."""
    lock = await stage.start_lock()
    client = await stage.pair(lock, suites=(SuiteId.X25519_CHACHA20,))
    relay = lock.relay
    await client.unlock()
    relay.mode[Direction.DOWN] = Mode.HOLD
    # A lock command valid for its longest allowed lifetime (300 s), so that
    # the untouched frame is still fresh after the barrage on a loaded machine.
    locking = asyncio.create_task(
        client.request(MessageKind.LOCK, Command(), timeout=LONG, lifetime_ms=300_000)
    )
    await relay.wait_held(Direction.DOWN, 1)
    (frame,) = relay.held(Direction.DOWN)
    before = lock.observable()

    flips = list(bit_flips(frame))
    await deliver_counted(relay, Direction.DOWN, flips, lock.dropped)

    assert len(flips) == 8 * len(frame)
    assert lock.observable() == before
    assert lock.runtime.mqtt is not None
    assert lock.runtime.mqtt.stats.dropped_overflow == 0
    # Every flip was counted as dropped, which the lock does only when it sends
    # nothing back (not even a signed refusal); the caller still waits.
    assert not locking.done()

    # The untouched frame is still good: the flips burnt nothing.
    await relay.release(Direction.DOWN)
    assert (await locking).result.status.bolt_state is BoltState.LOCKED


async def test_every_bit_flip_of_a_result_is_refused_by_the_controller(
    stage: Stage,
) -> None:
    """All flips of the lock's signed result reach the controller; none is believed."""
    lock = await stage.start_lock()
    client = await stage.pair(lock, suites=(SuiteId.X25519_CHACHA20,))
    relay = lock.relay
    await client.unlock()
    shown = client.last_status
    relay.mode[Direction.UP] = Mode.HOLD
    locking = asyncio.create_task(client.lock(timeout=LONG))

    def results() -> list[bytes]:
        return [
            frame
            for frame in relay.held(Direction.UP)
            if isinstance(peek(client, frame, stage.clock), CommandResult)
        ]

    await wait_until(lambda: len(results()) == 1)
    (result,) = results()

    flips = list(bit_flips(result))
    # The controller's (injected) clock stands still during the barrage, so
    # the genuine result, valid for 30 s, is judged as if it came at once.
    started = stage.clock()
    await deliver_counted(relay, Direction.UP, flips, lambda: client.rejected_frames)
    stage.clock.offset_ms -= stage.clock() - started

    assert not locking.done()
    assert client.last_status == shown  # still the last signed state: unlocked
    await relay.release(Direction.UP)
    assert (await locking).status.bolt_state is BoltState.LOCKED
