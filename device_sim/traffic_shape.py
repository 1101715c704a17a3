"""What the lock does so that its frames tell the relay as little as possible.

The relay sees every frame's routing id, its direction and when it passes;
frames have one size.  The rules that keep the rest hidden:

* Lock, unlock and open send the same frames at the same moments: one frame
  to each controller that may read the state when the motor starts, one when
  it stops (the requester's is its signed result, everyone else's the event),
  and one a hold time later (an open's latch springs back; a lock or an
  unlock settles, `EventType.REPORT`).  With auto-relock on, a lock is
  followed by reports where the relock of an unlock or an open would be.
* Frames that leave at one moment leave in routing-id order, so the order
  does not single out the requester either.
* Heartbeats come at a jittered interval, so their phase says nothing about
  when the lock booted or was last operated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
import secrets

from custom_components.secure_lock.protocol.envelope import ROUTING_ID_SIZE

from .timing import Scheduler, TimerHandle

HEARTBEAT_JITTER = 0.25
"""Each heartbeat interval is drawn from the period times [0.75, 1.25]."""
_JITTER_STEPS = 1000
_ROUTING = slice(2, 2 + ROUTING_ID_SIZE)  # after the version and suite bytes


def in_routing_order(frames: Iterable[bytes]) -> list[bytes]:
    """Return envelopes sorted by their routing id (who gets what, not who asked)."""
    return sorted(frames, key=lambda frame: frame[_ROUTING])


def padded_chunks[T](
    items: list[T], per_chunk: int, chunks_per_step: int
) -> list[list[T]]:
    """Cut ``items`` into chunks, padded with empty ones to a multiple of ``chunks_per_step``.

    A list answer then costs the same number of frames for any length up to
    ``per_chunk * chunks_per_step`` items: the relay learns its size class only.
    """
    step = per_chunk * chunks_per_step
    padded = -(-max(len(items), 1) // step) * step
    return [items[i : i + per_chunk] for i in range(0, padded, per_chunk)]


def heartbeat_interval(period_s: float, jitter: float = HEARTBEAT_JITTER) -> float:
    """Return the next heartbeat interval: ``period_s`` give or take ``jitter``."""
    if jitter <= 0:
        return period_s
    step = secrets.randbelow(_JITTER_STEPS + 1) / _JITTER_STEPS
    return period_s * (1.0 - jitter + 2.0 * jitter * step)


class RelockCover:
    """Reports where an auto-relock would move the bolt after an unlock or an open.

    A relock is three frames per controller (the motor starts, stops, and
    settles); after a lock, the same three come as reports at the same
    moments, so a relock does not tell the relay what the command was.
    """

    def __init__(self, scheduler: Scheduler, send_report: Callable[[], None]) -> None:
        """Schedule on ``scheduler``; ``send_report`` broadcasts the current state."""
        self._scheduler = scheduler
        self._send_report = send_report
        self._pending: list[TimerHandle] = []

    def after_lock(self, relock_s: float, motor_s: float, hold_s: float) -> None:
        """Schedule the reports a relock ``relock_s`` from now would have caused."""
        self.cancel()
        for delay in (relock_s, relock_s + motor_s, relock_s + motor_s + hold_s):
            self._pending.append(self._scheduler.call_later(delay, self._report))

    def _report(self) -> None:
        self._pending = self._pending[1:]
        self._send_report()

    def cancel(self) -> None:
        """Drop the reports not yet sent (a new operation, or shutdown)."""
        for timer in self._pending:
            timer.cancel()
        self._pending = []
