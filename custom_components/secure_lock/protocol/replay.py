"""Monotonic per-peer counters: clock-seeded on send, durable high-water on receive."""

from __future__ import annotations

from typing import Protocol

from .encoding import MAX_U64
from .errors import ErrorCode, ProtocolError

COUNTER_CLOCK_SHIFT = 16
"""Counters start at ``now_ms << 16``: 65 536 frames per millisecond of headroom.

A controller restored from an old backup therefore still sends counters above
anything the lock has seen, as long as its clock moved forward.
"""


def next_counter(last_sent: int, now_ms: int) -> int:
    """Return the next counter: above ``last_sent`` and at least the clock seed."""
    counter = max(last_sent + 1, now_ms << COUNTER_CLOCK_SHIFT)
    if counter > MAX_U64:
        raise ProtocolError(ErrorCode.INVALID_ARGUMENT, "counter space exhausted")
    return counter


class CounterStore(Protocol):
    """Receiver-side high-water marks, one per peer id.

    ``advance`` is called by ``open()`` after every other check passed and
    before ``open()`` returns.  It must make the new mark durable before it
    returns (or raise, which makes ``open()`` fail), so a crash between
    acceptance and action can never allow the same frame twice.
    """

    def high_water(self, peer_id: bytes) -> int:
        """Return the highest counter accepted from ``peer_id`` (0 if none)."""
        ...

    def advance(self, peer_id: bytes, counter: int) -> None:
        """Durably record ``counter`` as the new high-water mark for ``peer_id``."""
        ...


def check_fresh(store: CounterStore, peer_id: bytes, counter: int) -> None:
    """Raise ``replayed`` unless ``counter`` is above the peer's high-water mark."""
    if counter <= store.high_water(peer_id):
        raise ProtocolError(ErrorCode.REPLAYED, "counter not above the high-water mark")
