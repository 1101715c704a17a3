"""Small helpers for the adversarial tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from custom_components.secure_lock.controller import LockClient
from custom_components.secure_lock.protocol import PairedLock
from custom_components.secure_lock.protocol.channel import unwrap
from custom_components.secure_lock.protocol.messages import Payload
from custom_components.secure_lock.protocol.rng import Clock
from custom_components.secure_lock.protocol.session import ControllerEndpoint
from tests.sim.helpers import wait_until

from .hostile_relay import Direction, FramePath


def bit_flips(frame: bytes) -> Iterator[bytes]:
    """Yield ``frame`` with each single bit flipped, every position once."""
    for position in range(len(frame) * 8):
        flipped = bytearray(frame)
        flipped[position // 8] ^= 1 << (position % 8)
        yield bytes(flipped)


async def deliver_counted(
    path: FramePath,
    direction: Direction,
    frames: list[bytes],
    refused: Callable[[], int],
    *,
    batch: int = 60,
) -> None:
    """Deliver ``frames``; after each batch wait until ``refused()`` counted all so far.

    Pacing keeps the receiver's bounded queue from overflowing (a frame lost
    there would never be judged), and the count proves each frame reached the
    endpoint and was refused there: one accepted frame and the wait times out.
    """
    start = refused()
    for first in range(0, len(frames), batch):
        chunk = frames[first : first + batch]
        await path.inject_many(direction, chunk, batch=batch)
        expected = start + first + len(chunk)
        await wait_until(lambda expected=expected: refused() >= expected)  # type: ignore[misc]
    assert refused() == start + len(frames)


def peek(client: LockClient, frame: bytes, clock: Clock) -> Payload:
    """Open a lock frame as ``client`` would, on a copy (nothing of it moves)."""
    copy = PairedLock.from_bytes(client.paired_lock.to_bytes())
    _, body = unwrap(frame)
    endpoint = ControllerEndpoint(client.identity, copy, clock=clock)
    # The copy must know the client's pending requests to accept their answers.
    endpoint._pending = client.endpoint._pending.copy()  # noqa: SLF001
    return endpoint.open(body).payload
