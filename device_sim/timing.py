"""Time for the simulator: a real asyncio clock, and a manual one for tests.

Everything in the simulator that waits (motor travel, the unlatch hold,
auto-relock, the pairing window) asks a `Scheduler`, so tests advance time
explicitly instead of sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, auto
import heapq
import itertools
import time
from typing import Protocol


class TimerHandle(Protocol):
    """A scheduled callback that can be cancelled."""

    def cancel(self) -> None:
        """Stop the callback from running."""


class Scheduler(Protocol):
    """Monotonic time and delayed callbacks."""

    def monotonic(self) -> float:
        """Return monotonic seconds."""

    def wall_time(self) -> float:
        """Return Unix time in seconds (the lock's real-time clock)."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Run `callback` after `delay` seconds."""


class LockTimer(Enum):
    """The lock's recurring or pending jobs; each has at most one live timer."""

    HEARTBEAT = auto()
    TAMPER = auto()
    ROTATION = auto()
    FAILSAFE = auto()
    REBOOT = auto()


class LockTimers:
    """The lock's timers by job, so a job is rescheduled or cancelled by name."""

    def __init__(self, scheduler: Scheduler) -> None:
        """Schedule on `scheduler`."""
        self._scheduler = scheduler
        self._timers: dict[LockTimer, TimerHandle] = {}

    def start(self, job: LockTimer, delay: float, callback: Callable[[], None]) -> None:
        """Run `callback` after `delay` seconds (a timer already set for `job` is replaced, not cancelled)."""
        self._timers[job] = self._scheduler.call_later(delay, callback)

    def cancel(self, job: LockTimer) -> None:
        """Cancel `job`'s timer, if it has one."""
        timer = self._timers.pop(job, None)
        if timer is not None:
            timer.cancel()

    def cancel_all(self) -> None:
        """Cancel every timer."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()


class AsyncioScheduler:
    """The running event loop's clock, with an adjustable wall-clock skew."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Bind to a loop (the running one by default)."""
        self._loop = loop or asyncio.get_running_loop()
        self.skew_seconds = 0.0

    def monotonic(self) -> float:
        """Return the loop's monotonic time."""
        return self._loop.time()

    def wall_time(self) -> float:
        """Return Unix time plus the simulated clock skew."""
        return time.time() + self.skew_seconds

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Schedule on the loop."""
        return self._loop.call_later(max(delay, 0.0), callback)


@dataclass(order=True)
class _Timer:
    due: float
    sequence: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class ManualScheduler:
    """A clock that moves only when told to; callbacks run in due order."""

    def __init__(self, start_wall_time: float = 1_800_000_000.0) -> None:
        """Start at a fixed wall-clock time (2027-01-15) so tests are repeatable."""
        self._now = 0.0
        self._wall_offset = start_wall_time
        self._timers: list[_Timer] = []
        self._sequence = itertools.count()

    def monotonic(self) -> float:
        """Return the manual monotonic time."""
        return self._now

    def wall_time(self) -> float:
        """Return the manual wall-clock time."""
        return self._wall_offset + self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Queue a callback for `advance` to run."""
        timer = _Timer(self._now + max(delay, 0.0), next(self._sequence), callback)
        heapq.heappush(self._timers, timer)
        return timer

    def advance(self, seconds: float) -> None:
        """Move time forward, running every callback that falls due on the way."""
        target = self._now + seconds
        while self._timers and self._timers[0].due <= target:
            timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._now = max(self._now, timer.due)
            timer.callback()
        self._now = target

    @property
    def pending(self) -> int:
        """Return how many live callbacks are waiting."""
        return sum(not timer.cancelled for timer in self._timers)
