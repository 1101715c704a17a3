"""Exponential reconnect backoff with jitter, an injectable sleep and draw."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
import secrets

type Sleep = Callable[[float], Awaitable[None]]
type Draw = Callable[[], float]
"""A uniform random fraction in [0, 1)."""


@dataclass(slots=True)
class Backoff:
    """Delays that double from ``initial`` up to ``maximum``, jittered; reset on success.

    A broker node serves thousands of clients (Home Assistant controllers and
    locks, one client each), and they all lose it in the same instant when it
    dies.  Without jitter they would all dial the next node in lockstep, once
    per step of the same schedule: a thundering herd of TLS handshakes.

    "Equal jitter" (AWS architecture blog, "Exponential Backoff and Jitter"):
    each delay is drawn uniformly from the upper half of its exponential
    step, ``(step / 2, step]``.  It spreads the clients over half the step
    yet keeps a floor, so no client comes back after ~0 s (as "full jitter"
    would allow), and the step stays the longest a delay can be.  A draw of
    0 gives the step itself, so injecting ``draw=lambda: 0.0`` makes the
    delays exact for tests.
    """

    initial: float = 0.5
    maximum: float = 60.0
    factor: float = 2.0
    sleep: Sleep = field(default=asyncio.sleep, repr=False)
    # Only spreads reconnects in time and nothing secret depends on it; the
    # system source costs nothing at one draw per reconnect and leaves no
    # doubt about where this project's randomness comes from.
    draw: Draw = field(default=secrets.SystemRandom().random, repr=False)
    _attempt: int = 0

    def __post_init__(self) -> None:
        """Reject nonsensical parameters early."""
        if self.initial <= 0 or self.maximum < self.initial or self.factor < 1:
            raise ValueError("need 0 < initial <= maximum and factor >= 1")

    def next_delay(self) -> float:
        """Return the delay before the next attempt and advance."""
        step = min(self.maximum, self.initial * self.factor**self._attempt)
        if step < self.maximum:
            self._attempt += 1
        fraction = self.draw()
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"a draw must lie in [0, 1), got {fraction!r}")
        return step - fraction * step / 2

    def reset(self) -> None:
        """Start again from ``initial`` (after a successful connection)."""
        self._attempt = 0

    async def wait(self) -> float:
        """Sleep for the next delay and return it."""
        delay = self.next_delay()
        await self.sleep(delay)
        return delay
