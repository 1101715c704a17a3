"""Token bucket with an injectable clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import time


@dataclass(slots=True)
class TokenBucket:
    """Allow ``rate`` events per second with bursts up to ``burst``."""

    rate: float
    burst: float
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _tokens: float = field(init=False)
    _last: float = field(init=False)

    def __post_init__(self) -> None:
        """Start full."""
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("need rate > 0 and burst >= 1")
        self._tokens = self.burst
        self._last = self.clock()

    def allow(self, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens if available; return whether the event may proceed."""
        now = self.clock()
        # A clock that steps backwards must not mint tokens.
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False
