"""MQTT topic layout (see docs/transport.md).

``securelock/v1/<topic_id>/down`` carries controller -> lock frames and
``securelock/v1/<topic_id>/up`` lock -> controller frames.  The topic id is
the lock id in lowercase hex (not the envelope's routing id, which names a
frame's recipient key): the broker already learns it from the lock's
certificate CN (mTLS), and Mosquitto's ACL pattern ``%u`` needs the topic to
contain exactly that username, so hashing it would hide nothing.

Finding a lock by the discriminator of a typed setup code:
``securelock/v1/discover/<dd>`` (two decimal digits) carries a controller's
probe to every lock (locks subscribe to ``securelock/v1/discover/+``), and
``securelock/v1/found/<account>`` the answers of the locks that have an open
code with that discriminator, readable only by that broker account.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "securelock/v1"
LOCK_ID_LEN = 16
_HEX = frozenset("0123456789abcdef")
DISCOVERY_FILTER = f"{PREFIX}/discover/+"
"""What a lock subscribes to for probes (every discriminator: nothing to learn from it)."""
_ACCOUNT_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
)
MAX_ACCOUNT_LEN = 64


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


def discovery_topic(discriminator: int) -> str:
    """Return the topic probes for ``discriminator`` go to."""
    if not 0 <= discriminator < 64:
        raise ValueError("discriminator out of range")
    return f"{PREFIX}/discover/{discriminator:02d}"


def discriminator_of_topic(topic: str) -> int | None:
    """Return the discriminator a probe topic names, or None for any other topic."""
    prefix = f"{PREFIX}/discover/"
    digits = topic.removeprefix(prefix)
    if topic == digits or len(digits) != 2 or not digits.isdigit():
        return None
    value = int(digits)
    return value if value < 64 else None


def found_topic(account: str) -> str:
    """Return the topic the answers to ``account``'s probes go to."""
    if not is_account_name(account):
        raise ValueError("not a broker account name that can be part of a topic")
    return f"{PREFIX}/found/{account}"


def is_account_name(account: str) -> bool:
    """Return whether ``account`` can name a topic level (no wildcards, no '/')."""
    return 0 < len(account) <= MAX_ACCOUNT_LEN and set(account) <= _ACCOUNT_CHARS


@dataclass(frozen=True, slots=True)
class DiscoveryTopics:
    """A controller's probe topic for one discriminator, and its own answer topic."""

    discriminator: int
    account: str

    def __post_init__(self) -> None:
        """Reject what cannot form the topics."""
        discovery_topic(self.discriminator)
        found_topic(self.account)

    @property
    def probe(self) -> str:
        """Controller -> every lock."""
        return discovery_topic(self.discriminator)

    @property
    def answers(self) -> str:
        """Locks -> this account."""
        return found_topic(self.account)
