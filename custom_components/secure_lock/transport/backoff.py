"""Exponential reconnect backoff with an injectable sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

type Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True)
class Backoff:
    """Delays that double from ``initial`` up to ``maximum``; reset on success.

    No jitter: there is one client per process, so there is no herd to spread,
    and deterministic delays keep the tests exact.
    """

    initial: float = 0.5
    maximum: float = 60.0
    factor: float = 2.0
    sleep: Sleep = field(default=asyncio.sleep, repr=False)
    _attempt: int = 0

    def __post_init__(self) -> None:
        """Reject nonsensical parameters early."""
        if self.initial <= 0 or self.maximum < self.initial or self.factor < 1:
            raise ValueError("need 0 < initial <= maximum and factor >= 1")

    def next_delay(self) -> float:
        """Return the delay before the next attempt and advance."""
        delay = min(self.maximum, self.initial * self.factor**self._attempt)
        if delay < self.maximum:
            self._attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from ``initial`` (after a successful connection)."""
        self._attempt = 0

    async def wait(self) -> float:
        """Sleep for the next delay and return it."""
        delay = self.next_delay()
        await self.sleep(delay)
        return delay
