"""MQTT topic layout (see docs/transport.md).

``securelock/v1/<topic_id>/down`` carries controller -> lock frames and
``securelock/v1/<topic_id>/up`` lock -> controller frames.  The topic id is
the lock id in lowercase hex (not the envelope's routing id, which names a
frame's recipient key): the broker already learns it from the lock's
certificate CN (mTLS), and Mosquitto's ACL pattern ``%u`` needs the topic to
contain exactly that username, so hashing it would hide nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "securelock/v1"
LOCK_ID_LEN = 16
_HEX = frozenset("0123456789abcdef")


def topic_id(lock_id: bytes) -> str:
    """Return the topic id (32 lowercase hex digits) of a 16-byte lock id."""
    if len(lock_id) != LOCK_ID_LEN:
        raise ValueError(f"lock id must be {LOCK_ID_LEN} bytes")
    return lock_id.hex()


@dataclass(frozen=True, slots=True)
class LockTopics:
    """The two topics of one lock."""

    topic_id: str

    def __post_init__(self) -> None:
        """Reject anything that is not a canonical topic id (no wildcards, no '/')."""
        if len(self.topic_id) != 2 * LOCK_ID_LEN or not set(self.topic_id) <= _HEX:
            raise ValueError("topic id must be 32 lowercase hex digits")

    @classmethod
    def for_lock(cls, lock_id: bytes) -> LockTopics:
        """Return the topics of the lock with this id."""
        return cls(topic_id(lock_id))

    @property
    def down(self) -> str:
        """Controller -> lock commands."""
        return f"{PREFIX}/{self.topic_id}/down"

    @property
    def up(self) -> str:
        """Lock -> controllers replies and events."""
        return f"{PREFIX}/{self.topic_id}/up"
