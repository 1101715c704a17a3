"""Small shared test helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

CONDITION_TIMEOUT = 5.0


async def wait_until(condition: Callable[[], bool]) -> None:
    """Yield to the event loop until ``condition()`` holds; fail after a bounded wait.

    For state that real sockets and processes change, which offer no event
    to await; never used as a clock.
    """
    async with asyncio.timeout(CONDITION_TIMEOUT):
        while not condition():  # noqa: ASYNC110 - no event exists for these states
            await asyncio.sleep(0.005)


class ManualClock:
    """A monotonic clock that only moves when the test says so."""

    def __init__(self) -> None:
        """Start at an arbitrary fixed time."""
        self.now = 1000.0

    def __call__(self) -> float:
        """Return the current time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds
