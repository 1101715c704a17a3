"""Injectable randomness and clocks, so tests and vectors are reproducible."""

from __future__ import annotations

from collections.abc import Callable
import hashlib
import os
import time

type Rng = Callable[[int], bytes]
"""Returns ``n`` random bytes; production code uses :func:`system_rng`."""

type Clock = Callable[[], int]
"""Returns wall-clock time in milliseconds since the Unix epoch."""


def system_rng(size: int) -> bytes:
    """Return ``size`` bytes from the operating system CSPRNG."""
    return os.urandom(size)


def system_clock() -> int:
    """Return the current wall-clock time in milliseconds."""
    return time.time_ns() // 1_000_000


class DeterministicRng:
    """SHA-256 counter-mode byte stream from a seed: for tests and vectors only.

    Never use it for real keys: anyone who knows the seed knows every output.
    """

    __slots__ = ("_buffer", "_counter", "_seed")

    def __init__(self, seed: bytes) -> None:
        """Start the stream for ``seed``."""
        self._seed = bytes(seed)
        self._counter = 0
        self._buffer = b""

    def __call__(self, size: int) -> bytes:
        """Return the next ``size`` bytes of the stream."""
        while len(self._buffer) < size:
            block = hashlib.sha256(
                b"secure-lock/test-rng" + self._seed + self._counter.to_bytes(8, "big")
            ).digest()
            self._counter += 1
            self._buffer += block
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def __repr__(self) -> str:
        """Hide the seed."""
        return "DeterministicRng(<seed hidden>)"
