"""The lock's prekeys kept fresh: rotated on schedule, announced, offered after a loss.

Rotation goes by the newest prekey's stored age (not uptime), so a lock that
was off past a lifetime rotates as soon as it starts.  A controller that
sealed to a prekey the lock no longer holds gets the current ones in a
signed resync notice: public data, cached, rate-limited and never written.
"""

from __future__ import annotations

from custom_components.secure_lock.protocol.keys import SignedPrekey
from custom_components.secure_lock.protocol.messages import KeyRotation, MessageKind
from custom_components.secure_lock.protocol.resync import RESYNC_MIN_INTERVAL_S
from custom_components.secure_lock.protocol.rng import Rng

from .lock_services import LockServices
from .secure_element import SecureElement
from .timing import LockTimer, LockTimers


class PrekeyUpkeep:
    """Rotates, announces and re-offers the lock's prekeys."""

    def __init__(
        self,
        lock: LockServices,
        element: SecureElement,
        timers: LockTimers,
        rng: Rng,
    ) -> None:
        """Keep `element`'s prekeys; the rotation check runs on `timers`."""
        self._lock = lock
        self._element = element
        self._timers = timers
        self._rng = rng
        self._resync_notice: tuple[tuple[SignedPrekey, ...], bytes] | None = None
        """The prekeys last signed into a notice, and that notice."""
        self._last_resync: float | None = None

    def rotation_tick(self) -> None:
        """Rotate when the newest prekey is a lifetime old, else erase expired ones; check again later."""
        now = self._lock.now_ms()
        if self._element.rotation_due(now):
            self.rotate()
        else:
            self._element.erase_expired_prekeys(now)
        now = self._lock.now_ms()
        delay = (self._element.next_rotation_check_ms(now) - now) / 1000
        self._timers.cancel(LockTimer.ROTATION)
        self._timers.start(LockTimer.ROTATION, delay, self.rotation_tick)

    def rotate(self) -> None:
        """Rotate prekeys, announce the new ones, and erase expired private ones.

        The element seals the new keys to storage before anything is sent, so
        no controller ever learns a prekey the lock could lose in a crash.
        """
        self._element.rotate_prekeys(self._lock.now_ms(), self._rng)
        for prekey in self._element.public_bundle().prekeys:
            self._lock.broadcast(MessageKind.KEY_ROTATION, KeyRotation(prekey))

    def resync_notice(self, now: float) -> bytes | None:
        """Return the signed current prekeys to publish, or None within the rate limit.

        `now` is monotonic seconds.  Whoever sealed to a prekey we lack cannot
        be told privately (we cannot read who it was), so this goes to every
        link.
        """
        if self._last_resync is not None and now - self._last_resync < (
            RESYNC_MIN_INTERVAL_S
        ):
            return None
        self._last_resync = now
        # Signed again whenever the prekeys changed, however they changed
        # (rotation, erasure, a factory reset): never a stale list.
        prekeys = self._element.public_bundle().prekeys
        if self._resync_notice is None or self._resync_notice[0] != prekeys:
            self._resync_notice = (prekeys, self._element.resync_notice(prekeys))
        return self._resync_notice[1]
