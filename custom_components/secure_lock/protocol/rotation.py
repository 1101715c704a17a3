"""When a prekey rotation or erasure falls due, judged by key age, never by uptime.

Both sides keep their private prekeys in storage with the time each was made
(``valid_from``), so the age of the newest one survives restarts: a lock or a
Home Assistant that restarts every day still rotates once a day.  Owners call
:func:`next_check_ms` to arm one timer for the earliest moment something is
due (a rotation, or the erasure of a retired prekey), capped at
``MAX_CHECK_INTERVAL_MS`` so that a wall-clock jump (timers run on a
monotonic clock, ages on the wall clock) is noticed within that interval.
"""

from __future__ import annotations

from .identity import ControllerIdentity, LockIdentity

type _Identity = ControllerIdentity | LockIdentity

MAX_CHECK_INTERVAL_MS = 600_000
"""Look again at least every 10 minutes (well inside the 1 h grace period)."""


def rotation_due_ms(identity: _Identity) -> int:
    """Return when the oldest of the newest prekeys (one per suite) turns a lifetime old."""
    newest = min(identity.current_prekey(s).signed.valid_from for s in identity.suites)
    return newest + identity.policy.lifetime_ms


def is_rotation_due(identity: _Identity, now_ms: int) -> bool:
    """Return whether the newest prekey is at least one lifetime old."""
    return now_ms >= rotation_due_ms(identity)


def erasure_due_ms(identity: _Identity) -> int | None:
    """Return when the next retired private prekey expires (None if none is retired)."""
    newest = {id(identity.current_prekey(s)) for s in identity.suites}
    retired = [p.signed.valid_until for p in identity.prekeys if id(p) not in newest]
    return min(retired) if retired else None


def next_check_ms(identity: _Identity, now_ms: int) -> int:
    """Return when to look again: next rotation or erasure, at most 10 minutes away."""
    due = [rotation_due_ms(identity), now_ms + MAX_CHECK_INTERVAL_MS]
    if (erasure := erasure_due_ms(identity)) is not None:
        due.append(erasure)
    return max(min(due), now_ms)


def newest_prekey_age_ms(identity: _Identity, now_ms: int) -> int:
    """Return the age of the oldest of the newest prekeys (one per suite)."""
    return now_ms - min(
        identity.current_prekey(s).signed.valid_from for s in identity.suites
    )


def oldest_prekey_age_ms(identity: _Identity, now_ms: int) -> int:
    """Return the age of the oldest private prekey still held."""
    return now_ms - min(p.signed.valid_from for p in identity.prekeys)


__all__ = [
    "MAX_CHECK_INTERVAL_MS",
    "erasure_due_ms",
    "is_rotation_due",
    "newest_prekey_age_ms",
    "next_check_ms",
    "oldest_prekey_age_ms",
    "rotation_due_ms",
]
