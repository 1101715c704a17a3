"""A hostile MQTT relay: the attacker *is* the broker the lock and controller use.

How it is built, and why this is honest
---------------------------------------
Mosquitto routes a publish straight from the publisher to every subscriber;
a client, however privileged, cannot take a message out of that path.  An
attacker who controls the broker can (it decides what to route, when, and
where).  To give the tests that power with an unmodified Mosquitto, the path
is split in two real brokers with the attacker's client between them:

    controller --TLS+password--> [broker C] <--attacker--> [broker L] <--mTLS-- lock

* **Broker L** is the broker the lock dials: the lock authenticates with its
  device certificate and the usual ACL pattern confines it to its own topics.
* **Broker C** is the broker the controller dials, with its usual
  username/password account granted that lock's topics.
* **The attacker** holds an *operator* account on both brokers with
  ``topic readwrite securelock/v1/#`` (what a broker operator has anyway).  It
  receives the controller's commands on C's ``<lock>/down`` and the lock's
  frames on L's ``<lock>/up/+`` (every recipient) and decides, frame by
  frame, whether to forward, hold (delay, reorder), drop, rewrite, duplicate
  or inject.  Towards the controllers it publishes a frame on the topic of
  the recipient its header names when that is a controller's (as the lock
  would), and anything else (junk, a flipped routing id, a controller's own
  command reflected) on every controller's own topic: a broker delivers where
  it likes, and this is the old shared-topic reach.

Both endpoints run the project's real code on their real topics, with real
TLS and ACLs; from either end this is indistinguishable from one compromised
broker.  What the attacker cannot get is anything the protocol keeps from a
broker: the lock's client certificate key (so it cannot pose as the lock on
broker L) or any protocol key.

The attacker's client is the project's own paho-based ``MqttFrameLink``:
role ``LOCK`` on broker C (it reads ``down`` and writes ``up/<recipient>``)
and, on broker L, a link that subscribes to every recipient of ``up/+``.  It does not copy the MQTT 5 expiry
the controller asks for: a hostile broker ignores it, so the protocol's own
freshness checks are what the tests exercise.

The same split on a RabbitMQ cluster
------------------------------------
A 3-node RabbitMQ cluster routes between its nodes by itself, so two nodes
are not two brokers: a frame published on node 0 reaches a subscriber on
node 1 without the attacker.  Instead the attacker splits the cluster into
two *routing domains*, two virtual hosts of the same cluster
(``cluster_relay.py``):

    controller --password, vhost C, node 1--> [cluster] <--attacker, node 2-->
        [cluster] <--mTLS, vhost /, node 0-- lock

* The lock logs in with its certificate on node 0 and lands in the default
  virtual host ``/`` with its usual account and permissions.
* The controller logs in on node 1 as ``controllers:<account>`` (RabbitMQ's
  MQTT plugin takes the virtual host from the user name), granted that
  lock's topics there.
* The attacker's two links log in on node 2, one in each virtual host,
  with operator accounts that may read and write every ``securelock/v1``
  topic in both (what a broker operator has).

Each virtual host has its own ``amq.topic`` exchange, so nothing crosses
from one to the other except what the attacker republishes, and every frame
crosses nodes twice (0 to 2 to 1 and back), through the cluster's own
routing.  `RelayDomains` (``relay_domains.py``) hides which of the two
relays a test runs on.

`FramePath` holds the policy and is shared with the LAN proxy (`lan_proxy.py`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Callable, Iterable
import contextlib
from dataclasses import dataclass, field
from enum import Enum, StrEnum
import logging
from pathlib import Path
import time
from typing import Any, override

from paho.mqtt.client import MQTTMessage

from custom_components.secure_lock.protocol.channel import Channel
from custom_components.secure_lock.transport import (
    LockTopics,
    MqttFrameLink,
    MqttLinkConfig,
    MqttRole,
    client_tls_context,
)
from custom_components.secure_lock.transport.errors import TransportError
from custom_components.secure_lock.transport.link import FrameLink
from device_sim.broker import MosquittoBroker
from device_sim.passwords import password_line
from tests.sim.helpers import wait_until

_LOGGER = logging.getLogger(__name__)

OPERATOR_USER = "broker-operator"
OPERATOR_PASSWORD = "the attacker runs this broker"
# Large enough for any frame, so that an oversize or garbage frame still reaches
# the far end and the endpoint (not the relay) has to refuse it.
RELAY_MAX_FRAME = 65_536
RELAY_QUEUE = 4096


class Direction(StrEnum):
    """Which way a frame travels."""

    DOWN = "down"
    """Controller -> lock (commands)."""
    UP = "up"
    """Lock -> controller (results, events, heartbeats)."""


class Mode(Enum):
    """What the attacker does with the next frames in one direction."""

    FORWARD = "forward"
    HOLD = "hold"
    """Keep them (to delay, reorder, rewrite or drop later)."""
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class Seen:
    """One frame the attacker saw, as the broker sees it."""

    direction: Direction
    frame: bytes
    at: float
    """time.monotonic() when it passed."""

    @property
    def channel(self) -> int:
        """Return the link channel byte (pairing 0x50, envelope 0x45)."""
        return self.frame[0] if self.frame else -1


class FramePath(ABC):
    """Everything an attacker on the path can do, for one lock's two directions."""

    def __init__(self) -> None:
        """Forward everything until told otherwise."""
        self.seen: list[Seen] = []
        self.mode: dict[Direction, Mode] = dict.fromkeys(Direction, Mode.FORWARD)
        self.rewrite: dict[Direction, Callable[[bytes], bytes] | None] = dict.fromkeys(
            Direction
        )
        self._held: dict[Direction, list[bytes]] = {d: [] for d in Direction}
        self.delivered: dict[Direction, int] = dict.fromkeys(Direction, 0)
        self.failed: dict[Direction, int] = dict.fromkeys(Direction, 0)
        """Frames the far end could not be given (counted, not retried)."""

    # What was seen ---------------------------------------------------------

    def captured(
        self, direction: Direction, channel: Channel | None = Channel.ENVELOPE
    ) -> list[bytes]:
        """Return every frame seen in ``direction`` (envelopes by default)."""
        return [
            s.frame
            for s in self.seen
            if s.direction is direction and (channel is None or s.channel == channel)
        ]

    def held(self, direction: Direction) -> list[bytes]:
        """Return the frames held back in ``direction`` (oldest first)."""
        return list(self._held[direction])

    async def wait_seen(
        self,
        direction: Direction,
        count: int,
        channel: Channel | None = Channel.ENVELOPE,
    ) -> None:
        """Wait until at least ``count`` frames were seen in ``direction``."""
        await wait_until(lambda: len(self.captured(direction, channel)) >= count)

    async def wait_held(self, direction: Direction, count: int) -> None:
        """Wait until at least ``count`` frames are held in ``direction``."""
        await wait_until(lambda: len(self._held[direction]) >= count)

    # Powers ------------------------------------------------------------------

    async def intercept(self, direction: Direction, frame: bytes) -> None:
        """Apply the policy to one frame taken off the path."""
        self.seen.append(Seen(direction, frame, time.monotonic()))
        match self.mode[direction]:
            case Mode.DROP:
                return
            case Mode.HOLD:
                self._held[direction].append(frame)
                return
            case Mode.FORWARD:
                rewrite = self.rewrite[direction]
                await self.inject(direction, rewrite(frame) if rewrite else frame)

    async def inject(self, direction: Direction, frame: bytes) -> None:
        """Deliver ``frame`` to the far end now (forged, replayed or duplicated)."""
        await self._deliver(direction, frame)
        self.delivered[direction] += 1

    async def inject_many(
        self, direction: Direction, frames: Iterable[bytes], *, batch: int = 32
    ) -> int:
        """Deliver many frames, ``batch`` at a time in flight; return how many."""
        count = 0
        pending: list[bytes] = []
        for frame in frames:
            pending.append(frame)
            if len(pending) == batch:
                await asyncio.gather(*(self.inject(direction, f) for f in pending))
                count += len(pending)
                pending.clear()
        if pending:
            await asyncio.gather(*(self.inject(direction, f) for f in pending))
            count += len(pending)
        return count

    async def release(
        self, direction: Direction, order: Iterable[int] | None = None
    ) -> None:
        """Deliver the held frames (in ``order``, by index, if given) and forget them."""
        held, self._held[direction] = self._held[direction], []
        for index in range(len(held)) if order is None else order:
            await self.inject(direction, held[index])

    def discard(self, direction: Direction) -> list[bytes]:
        """Forget the held frames without delivering them; return them."""
        held, self._held[direction] = self._held[direction], []
        return held

    @abstractmethod
    async def _deliver(self, direction: Direction, frame: bytes) -> None:
        """Send one frame on to the far end."""


OPERATOR_ACCOUNTS = 4
"""Operator accounts per broker: one per relayed lock (user name = client id)."""


def operator_name(index: int) -> str:
    """Return the user name of the operator's ``index``-th account."""
    return f"{OPERATOR_USER}-{index}"


class OperatorBroker(MosquittoBroker):
    """A dev Mosquitto where the (hostile) operator also has full-rights accounts."""

    def _write_auth_files(self) -> None:
        super()._write_auth_files()
        # Appended after the generated blocks; the operator may do anything
        # with every lock's topics, as whoever runs the broker can.
        names = [operator_name(i) for i in range(OPERATOR_ACCOUNTS)]
        with (self.directory / "passwd").open("a", encoding="ascii") as passwd:
            for name in names:
                passwd.write(password_line(name, OPERATOR_PASSWORD) + "\n")
        with (self.directory / "acl_controllers").open("a", encoding="ascii") as acl:
            for name in names:
                acl.write(f"user {name}\ntopic readwrite securelock/v1/#\n")


@dataclass(frozen=True, slots=True)
class _EveryRecipient(MqttLinkConfig):
    """What the operator subscribes to on broker L: the lock's frames to anyone."""

    @property
    @override
    def subscriptions(self) -> tuple[str, ...]:
        assert isinstance(self.topics, LockTopics)
        return (self.topics.up_filter,)


class OperatorLink(MqttFrameLink):
    """The operator's client: any topic of its lock in, any topic out."""

    @override
    def _on_message(self, client: Any, userdata: Any, message: MQTTMessage) -> None:
        topics = self.config.topics
        assert isinstance(topics, LockTopics)
        if message.topic.startswith(topics.up_filter.removesuffix("+")):
            self._deliver(bytes(message.payload))
        else:
            super()._on_message(client, userdata, message)

    async def publish_to(self, topic: str, frame: bytes) -> None:
        """Publish ``frame`` on ``topic`` (the broker routes what it likes)."""
        await self._publish(topic, frame, None)


@dataclass(frozen=True, slots=True)
class OperatorLogin:
    """Where and as whom the attacker's client logs in on one side of the path."""

    port: int
    ca_file: Path
    username: str
    password: str = field(default=OPERATOR_PASSWORD, repr=False)


def mosquitto_operator(broker: MosquittoBroker, account: int) -> OperatorLogin:
    """Return the operator's ``account``-th login on an `OperatorBroker`."""
    return OperatorLogin(broker.controller_port, broker.ca_file, operator_name(account))


def operator_link(login: OperatorLogin, lock_id: bytes, role: MqttRole) -> OperatorLink:
    """Return the attacker's link for ``login``: the lock's role or every recipient's."""
    config = MqttLinkConfig if role is MqttRole.LOCK else _EveryRecipient
    return OperatorLink(
        config(
            role=role,
            topics=LockTopics.for_lock(lock_id),
            port=login.port,
            tls=client_tls_context(login.ca_file),
            address="127.0.0.1",
            username=login.username,
            password=login.password,
            connect_timeout=5.0,
        ),
        max_frame_size=RELAY_MAX_FRAME,
        queue_size=RELAY_QUEUE,
    )


class HostileRelay(FramePath):
    """The attacker between broker C (controllers) and broker L (the lock).

    On a cluster: between the controllers' and the lock's virtual host.
    """

    def __init__(
        self,
        controller_side: OperatorLogin,
        lock_side: OperatorLogin,
        lock_id: bytes,
    ) -> None:
        """Prepare both links (the operator's logins); `start` connects them."""
        super().__init__()
        self.lock_id = lock_id
        # Poses as the lock towards controllers, as a controller towards the lock.
        self.to_controllers = operator_link(controller_side, lock_id, MqttRole.LOCK)
        self.to_lock = operator_link(lock_side, lock_id, MqttRole.CONTROLLER)
        self._tasks: list[asyncio.Task[None]] = []
        self._controller_topics: set[str] = set()

    def add_controller_topic(self, topic: str) -> None:
        """Learn a controller's own topic (the broker knows its subscriptions)."""
        self._controller_topics.add(topic)

    async def start(self) -> None:
        """Connect both sides and start pumping."""
        await self.to_controllers.connect()
        await self.to_lock.connect()
        self._tasks = [
            asyncio.create_task(self._pump(self.to_controllers, Direction.DOWN)),
            asyncio.create_task(self._pump(self.to_lock, Direction.UP)),
        ]

    async def _pump(self, source: FrameLink, direction: Direction) -> None:
        async for frame in source:
            try:
                await self.intercept(direction, frame)
            except TransportError as err:
                # One frame the far broker did not take (e.g. a PUBACK timer
                # that a test's time jump fired early) must not stop the relay.
                self.failed[direction] += 1
                _LOGGER.debug("Relay lost a frame: %s", err)

    async def _deliver(self, direction: Direction, frame: bytes) -> None:
        if direction is Direction.DOWN:
            await self.to_lock.send(frame)
            return
        topics = LockTopics.for_lock(self.lock_id)
        try:
            addressed = topics.up_for_frame(frame)
        except ValueError:
            addressed = None
        if addressed in (*self._controller_topics, topics.up_pairing, topics.up_resync):
            assert addressed is not None
            await self.to_controllers.publish_to(addressed, frame)
            return
        await asyncio.gather(
            *(
                self.to_controllers.publish_to(topic, frame)
                for topic in sorted(self._controller_topics)
            )
        )

    async def close(self) -> None:
        """Stop pumping and disconnect."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.to_controllers.close()
        await self.to_lock.close()
