"""MQTT topic layout (see docs/transport.md).

``securelock/v1/<topic_id>/down`` carries controller -> lock frames.  Lock ->
controller frames go to ``securelock/v1/<topic_id>/up/<recipient>``: an
envelope to the routing id in its header (32 lowercase hex digits), so each
controller receives only the frames sealed to it; a sealed pairing answer to
``up/pairing`` (heard only by a controller that is pairing); a resync notice,
which answers a sender the lock cannot name, to ``up/resync`` (heard by
every controller).  The lock's link derives the topic from each frame.

The topic id is the lock id in lowercase hex: the broker already learns it
from the lock's certificate CN (mTLS), and Mosquitto's ACL pattern ``%u``
needs the topic to contain exactly that username, so hashing it would hide
nothing.  The recipient level repeats the routing id the frame's header
shows the broker anyway.

Finding a lock by the discriminator of a typed setup code:
``securelock/v1/discover/<dd>`` (two decimal digits) carries a controller's
probe to every lock (locks subscribe to ``securelock/v1/discover/+``), and
``securelock/v1/found/<account>`` the answers of the locks that have an open
code with that discriminator, readable only by that broker account.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol.channel import Channel

PREFIX = "securelock/v1"
LOCK_ID_LEN = 16
_HEX = frozenset("0123456789abcdef")
DISCOVERY_FILTER = f"{PREFIX}/discover/+"
"""What a lock subscribes to for probes (every discriminator: nothing to learn from it)."""
_ACCOUNT_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
)
MAX_ACCOUNT_LEN = 64
ROUTING_ID_LEN = 16
PAIRING_RECIPIENT = "pairing"
RESYNC_RECIPIENT = "resync"
# Link frame: channel(1) | version(1) | suite(1) | routing id(16) | ... (protocol.md 8, 14)
_ROUTING_ID_START = 3
_ROUTING_ID_END = _ROUTING_ID_START + ROUTING_ID_LEN


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
    def up_filter(self) -> str:
        """Every lock -> controller topic of this lock (what ACLs grant)."""
        return f"{PREFIX}/{self.topic_id}/up/+"

    def up_to(self, routing_id: bytes) -> str:
        """Lock -> the controller with this routing id: its envelopes."""
        if len(routing_id) != ROUTING_ID_LEN:
            raise ValueError(f"routing id must be {ROUTING_ID_LEN} bytes")
        return f"{PREFIX}/{self.topic_id}/up/{routing_id.hex()}"

    @property
    def up_pairing(self) -> str:
        """Lock -> a pairing controller: sealed pairing answers."""
        return f"{PREFIX}/{self.topic_id}/up/{PAIRING_RECIPIENT}"

    @property
    def up_resync(self) -> str:
        """Lock -> every controller: resync notices (public, signed prekeys)."""
        return f"{PREFIX}/{self.topic_id}/up/{RESYNC_RECIPIENT}"

    def up_for_frame(self, frame: bytes) -> str:
        """Return the topic a lock's link frame goes to; ValueError if it has none."""
        channel = frame[0] if frame else None
        if channel == Channel.ENVELOPE and len(frame) >= _ROUTING_ID_END:
            return self.up_to(frame[_ROUTING_ID_START:_ROUTING_ID_END])
        if channel == Channel.PAIRING:
            return self.up_pairing
        if channel == Channel.RESYNC:
            return self.up_resync
        raise ValueError("not a lock frame: no recipient topic")


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
