"""MQTT topic layout (see docs/transport.md).

``securelock/v1/<routing_id>/down`` carries controller -> lock frames and
``securelock/v1/<routing_id>/up`` lock -> controller frames.  The routing id is
the lock id in lowercase hex: the broker already learns it from the lock's
certificate CN (mTLS), and Mosquitto's ACL pattern ``%u`` needs the topic to
contain exactly that username, so hashing it would hide nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "securelock/v1"
LOCK_ID_LEN = 16
_HEX = frozenset("0123456789abcdef")


def routing_id(lock_id: bytes) -> str:
    """Return the routing id (32 lowercase hex digits) of a 16-byte lock id."""
    if len(lock_id) != LOCK_ID_LEN:
        raise ValueError(f"lock id must be {LOCK_ID_LEN} bytes")
    return lock_id.hex()


@dataclass(frozen=True, slots=True)
class LockTopics:
    """The two topics of one lock."""

    routing_id: str

    def __post_init__(self) -> None:
        """Reject anything that is not a canonical routing id (no wildcards, no '/')."""
        if len(self.routing_id) != 2 * LOCK_ID_LEN or not set(self.routing_id) <= _HEX:
            raise ValueError("routing id must be 32 lowercase hex digits")

    @classmethod
    def for_lock(cls, lock_id: bytes) -> LockTopics:
        """Return the topics of the lock with this id."""
        return cls(routing_id(lock_id))

    @property
    def down(self) -> str:
        """Controller -> lock commands."""
        return f"{PREFIX}/{self.routing_id}/down"

    @property
    def up(self) -> str:
        """Lock -> controllers replies and events."""
        return f"{PREFIX}/{self.routing_id}/up"
