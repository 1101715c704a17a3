"""MQTT 5 over TLS: the relay link between a lock and its controllers.

Client library: paho-mqtt 2.1.0 driven from the asyncio event loop with
``add_reader``/``add_writer``, the way Home Assistant's own MQTT integration
does.  It is the version Home Assistant's ``mqtt`` integration pins, so the
integration adds no second MQTT stack to an installation, and it avoids
aiomqtt, which would wrap the same paho in a background thread-free loop of its
own and add a dependency without adding capability.

The TCP connection and the TLS handshake are made by this module (in an
executor thread, because the handshake blocks) and handed to paho, so that
the host name checked against the broker certificate can differ from the
address dialled, TCP_NODELAY is set before the first byte, and paho never runs
outside the event loop thread.

A link may know several nodes of one broker (a cluster): it connects to the
first that answers and, when its node goes away, moves on to the next (see
``MqttFrameLink._reconnect`` and docs/transport.md, "Several broker nodes").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
from enum import StrEnum
import functools
import logging
import socket
import ssl
from typing import TYPE_CHECKING, Any, override

from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .backoff import Backoff
from .errors import (
    BrokerRefused,
    DeliveryUnknown,
    LinkClosed,
    NotConnected,
    PublishRejected,
    SubscribeRejected,
    TlsFailure,
    TransportError,
)
from .link import DEFAULT_MAX_FRAME_SIZE, DEFAULT_QUEUE_SIZE, FrameLink
from .topics import (
    DISCOVERY_FILTER,
    DiscoveryTopics,
    LockTopics,
    discriminator_of_topic,
)

if TYPE_CHECKING:
    # paho defines its socket protocol for type checkers only.
    from paho.mqtt.client import SocketLike

_LOGGER = logging.getLogger(__name__)

PUBLISH_QOS = 1
"""The broker acknowledges each frame we publish (``send`` waits for it)."""
SUBSCRIBE_QOS = 0
"""Frames reach us at QoS 0: no PUBACK written back per received frame.

With clean sessions a QoS 1 delivery gains nothing: a message in flight
when the connection drops is discarded either way, and while connected TCP
delivers.  Not acknowledging saves a TLS write per received frame: three
of a controller's four writes per command (one frame out, three in).
"""
MAX_EXPIRY_S = 2**32 - 1
MISC_INTERVAL = 1.0
READ_BATCH = 64
CLOSE_GRACE = 1.0


# CONNACK reasons that speak of the node, not of the account: another node
# of the same broker may well take the connection (MQTT 5, 3.2.2.2).
NODE_UNAVAILABLE_REASONS = frozenset(
    {
        0x88,  # Server unavailable
        0x89,  # Server busy
        0x9C,  # Use another server
        0x9D,  # Server moved
    }
)


@dataclass(frozen=True, slots=True)
class BrokerEndpoint:
    """One node of the broker: the name its certificate carries and where to dial it."""

    server_name: str
    port: int
    address: str | None = None
    """Address to dial when it differs from ``server_name``."""

    @property
    def dial_address(self) -> str:
        """Return the host name or address the TCP connection goes to."""
        return self.address or self.server_name

    @override
    def __str__(self) -> str:
        host = self.dial_address
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"


class MqttRole(StrEnum):
    """Which end of the relay this link is."""

    LOCK = "lock"
    CONTROLLER = "controller"
    FINDER = "finder"
    """A controller asking which locks have an open code with one discriminator."""


@dataclass(frozen=True, slots=True)
class MqttLinkConfig:
    """Where and how to connect; ``tls`` must verify (see :func:`client_tls_context`).

    ``port``, ``server_name`` and ``address`` name the first broker node;
    ``fallbacks`` are further nodes of the same broker (same accounts, same
    certificate authority), tried in order after it.  One node is the common
    case and needs no more than those three fields.
    """

    role: MqttRole
    topics: LockTopics | DiscoveryTopics
    port: int
    tls: ssl.SSLContext = field(repr=False)
    server_name: str = "localhost"
    # Address to dial when it differs from the name in the broker certificate.
    address: str | None = None
    fallbacks: tuple[BrokerEndpoint, ...] = ()
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    keepalive: int = 30
    connect_timeout: float = 10.0
    # How long send() waits for the broker's PUBACK before giving up.
    ack_timeout: float = 10.0
    hears_probes: bool = False
    """A lock's link that also takes discovery probes (see ``MqttFrameLink.on_probe``)."""
    routing_id: bytes | None = None
    """A controller's routing id at this lock: its link receives only envelopes to it.

    A controller's link without one only checks the path (connect, and the
    broker's grant of the lock's topics) and receives resync notices only.
    """
    hears_pairing: bool = False
    """A controller's link that also takes sealed pairing answers (while pairing)."""

    def __post_init__(self) -> None:
        """Refuse a TLS context that would not authenticate the broker."""
        if self.tls.verify_mode != ssl.CERT_REQUIRED or not self.tls.check_hostname:
            raise ValueError("TLS context must verify the broker's chain and host name")
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username")
        if isinstance(self.topics, DiscoveryTopics) is not (
            self.role is MqttRole.FINDER
        ):
            raise ValueError("discovery topics go with the finder role, and only")
        if self.hears_probes and self.role is not MqttRole.LOCK:
            raise ValueError("only a lock hears discovery probes")
        if self.routing_id is not None and self.role is not MqttRole.CONTROLLER:
            raise ValueError("only a controller's link has a routing id")
        if self.hears_pairing and self.role is not MqttRole.CONTROLLER:
            raise ValueError("only a controller hears pairing answers")
        nodes = [(node.dial_address, node.port) for node in self.endpoints]
        if len(set(nodes)) != len(nodes):
            raise ValueError("each broker endpoint may be given once")

    @property
    def endpoints(self) -> tuple[BrokerEndpoint, ...]:
        """Return every broker node, in the order they are tried."""
        first = BrokerEndpoint(self.server_name, self.port, self.address)
        return (first, *self.fallbacks)

    @property
    def frame_topics(self) -> frozenset[str]:
        """Return the topics this end receives frames on (each an exact name)."""
        topics = self.topics
        if isinstance(topics, DiscoveryTopics):
            return frozenset((topics.answers,))
        if self.role is MqttRole.LOCK:
            return frozenset((topics.down,))
        heard = [topics.up_resync]
        if self.routing_id is not None:
            heard.append(topics.up_to(self.routing_id))
        if self.hears_pairing:
            heard.append(topics.up_pairing)
        return frozenset(heard)

    def publish_topic(self, frame: bytes) -> str:
        """Return the topic this end sends ``frame`` on (a lock's: by its recipient)."""
        topics = self.topics
        if isinstance(topics, DiscoveryTopics):
            return topics.probe
        if self.role is MqttRole.LOCK:
            return topics.up_for_frame(frame)
        return topics.down

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """Return every topic filter this end subscribes to."""
        frames = tuple(sorted(self.frame_topics))
        return (*frames, DISCOVERY_FILTER) if self.hears_probes else frames


class _PahoClient(Client):
    """paho Client that uses a socket this module already connected.

    ``_create_socket`` is private API of the pinned paho-mqtt 2.1.0; overriding
    it is the smallest way to keep the handshake under our control.
    """

    prepared: SocketLike | None = None

    @override
    def _create_socket(self) -> SocketLike:
        sock, self.prepared = self.prepared, None
        if sock is None:
            raise ConnectionError("no prepared socket")
        return sock


def _open_tls_socket(config: MqttLinkConfig, endpoint: BrokerEndpoint) -> ssl.SSLSocket:
    """Dial ``endpoint``, set TCP_NODELAY and complete the TLS handshake (blocking)."""
    try:
        raw = socket.create_connection(
            (endpoint.dial_address, endpoint.port), timeout=config.connect_timeout
        )
    except OSError as err:
        raise NotConnected(f"cannot reach broker: {err}") from None
    # wrap_socket moves the file descriptor into the TLS socket, so on failure
    # it is the one to close; closing ``raw`` alone would leak the connection.
    opened: socket.socket = raw
    try:
        # Nagle would hold each small frame until the previous one is
        # acknowledged: ~88 ms per round trip instead of ~1 ms.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = config.tls.wrap_socket(
            raw, server_hostname=endpoint.server_name, do_handshake_on_connect=False
        )
        opened = tls
        tls.settimeout(config.connect_timeout)
        tls.do_handshake()
    except ssl.SSLCertVerificationError as err:
        opened.close()
        raise TlsFailure(f"broker certificate rejected: {err.verify_message}") from None
    except ssl.SSLError as err:
        opened.close()
        raise TlsFailure(f"TLS handshake failed: {err.reason}") from None
    except OSError as err:
        opened.close()
        raise NotConnected(f"connection lost during TLS handshake: {err}") from None
    return tls


def _no_endpoint_connected(
    failures: list[tuple[BrokerEndpoint, TransportError]],
) -> TransportError:
    """Return one error that names every endpoint tried and why it failed.

    Only TLS failures everywhere stay a :class:`TlsFailure`: then the trust
    settings are wrong, which the user must fix; anything else is reach.
    """
    message = "; ".join(f"{endpoint}: {err}" for endpoint, err in failures)
    if all(isinstance(err, TlsFailure) for _endpoint, err in failures):
        return TlsFailure(message)
    return NotConnected(message)


@functools.lru_cache(maxsize=8)
def _expiry_properties(expiry_s: int) -> Properties:
    """Return the PUBLISH properties for one expiry (one value in practice: 30 s).

    Built once per value: paho only packs them per publish and never changes
    them, and building paho's property object showed in the controller's
    profile (docs/performance.md).
    """
    if not 1 <= expiry_s <= MAX_EXPIRY_S:
        raise ValueError("expiry_s must be between 1 and 2**32-1 seconds")
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.MessageExpiryInterval = expiry_s
    return properties


def _ack_overdue(future: asyncio.Future[ReasonCode]) -> None:
    if not future.done():
        future.set_exception(
            DeliveryUnknown("broker did not acknowledge the frame in time")
        )


def _close_opened_socket(opening: asyncio.Future[ssl.SSLSocket]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()


class MqttFrameLink(FrameLink):
    """A :class:`FrameLink` over one MQTT 5 connection with automatic reconnect."""

    def __init__(
        self,
        config: MqttLinkConfig,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        backoff: Backoff | None = None,
    ) -> None:
        """Prepare a link; nothing happens until :meth:`connect`."""
        super().__init__(max_frame_size=max_frame_size, queue_size=queue_size)
        self._config = config
        self._frame_topics = config.frame_topics
        self._backoff = backoff or Backoff()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: _PahoClient | None = None
        self._sock: SocketLike | None = None
        self._connected = False
        self._connack: asyncio.Future[ReasonCode] | None = None
        self._suback: asyncio.Future[list[ReasonCode]] | None = None
        self._publishes: dict[int, asyncio.Future[ReasonCode]] = {}
        self._misc_timer: asyncio.TimerHandle | None = None
        self._flush_scheduled = False
        self._writer_added = False
        self._reconnect_task: asyncio.Task[None] | None = None
        self._gone: asyncio.Event = asyncio.Event()
        self._connect_lock = asyncio.Lock()
        self._current = 0
        """Index in ``config.endpoints`` of the node connected last."""
        self.on_probe: Callable[[int, bytes], None] | None = None
        """Called with (discriminator, payload) for each probe a lock's link hears."""

    @property
    def config(self) -> MqttLinkConfig:
        """Return the connection settings."""
        return self._config

    @property
    @override
    def connected(self) -> bool:
        return self._connected

    @property
    def endpoint(self) -> BrokerEndpoint:
        """Return the broker node connected last (or to be tried first)."""
        return self._config.endpoints[self._current]

    # -- connection ------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and subscribe once; raise a :class:`TransportError` on failure.

        The broker's nodes are tried in order from the current one; a node
        that cannot be reached, fails TLS or does not answer gives way to the
        next, and when all fail the error names each.  A refusal of the
        account (:class:`BrokerRefused`) or of a subscription
        (:class:`SubscribeRejected`) is raised at once: every node of one
        broker shares its accounts and ACLs, so the next would refuse alike.

        After the first success, lost connections are re-established in the
        background with the link's backoff until :meth:`close`.
        """
        if self._closed:
            raise LinkClosed("link closed")
        await self._attempt(self._current)

    async def _attempt(self, first: int) -> None:
        async with self._connect_lock:
            if not self._connected:
                await self._try_each_endpoint(first)

    async def _try_each_endpoint(self, first: int) -> None:
        """Try every endpoint once, starting at index ``first``."""
        endpoints = self._config.endpoints
        failures: list[tuple[BrokerEndpoint, TransportError]] = []
        for step in range(len(endpoints)):
            if self._closed:
                raise LinkClosed("link closed")
            index = (first + step) % len(endpoints)
            try:
                await self._attempt_locked(endpoints[index])
            except (NotConnected, TlsFailure) as err:
                failures.append((endpoints[index], err))
                continue
            self._current = index
            return
        raise _no_endpoint_connected(failures)

    async def _attempt_locked(self, endpoint: BrokerEndpoint) -> None:
        loop = self._loop = asyncio.get_running_loop()
        config = self._config
        opening = loop.run_in_executor(None, _open_tls_socket, config, endpoint)
        try:
            # Shielded so that a cancelled caller cannot orphan a connected
            # socket: the callback closes it once the thread is done.
            sock = await asyncio.shield(opening)
        except asyncio.CancelledError:
            opening.add_done_callback(_close_opened_socket)
            raise
        if self._closed:
            sock.close()
            raise LinkClosed("link closed")
        client = self._new_client()
        client.prepared = sock
        self._client = client
        self._connack = loop.create_future()
        self._gone = asyncio.Event()
        try:
            async with asyncio.timeout(config.connect_timeout):
                await self._handshake(client, endpoint)
        except BaseException as err:
            self._abort_client(client)
            if isinstance(err, TimeoutError):
                raise NotConnected("broker did not answer in time") from None
            raise
        self._connected = True
        self._backoff.reset()
        self._start_misc_timer()

    async def _handshake(self, client: _PahoClient, endpoint: BrokerEndpoint) -> None:
        """CONNECT, then SUBSCRIBE to our topics; raise on any refusal."""
        assert self._loop is not None and self._connack is not None
        config = self._config
        client.connect(
            endpoint.server_name, endpoint.port, config.keepalive, clean_start=True
        )
        reason = await self._connack
        if reason.value in NODE_UNAVAILABLE_REASONS:
            raise NotConnected(f"broker node unavailable: {reason}")
        if reason.is_failure:
            raise BrokerRefused(f"broker refused connection: {reason}")
        self._suback = self._loop.create_future()
        topics = config.subscriptions
        result, _mid = client.subscribe([(topic, SUBSCRIBE_QOS) for topic in topics])
        if result != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise NotConnected(f"subscribe failed: {result.name}")
        codes = await self._suback
        if len(codes) != len(topics) or any(code.is_failure for code in codes):
            raise SubscribeRejected(
                f"broker refused subscription to {', '.join(topics)}"
            )

    def _new_client(self) -> _PahoClient:
        client = _PahoClient(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id="",
            protocol=MQTTProtocolVersion.MQTTv5,
            reconnect_on_failure=False,
        )
        if self._config.username is not None:
            client.username_pw_set(self._config.username, self._config.password)
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_socket_register_write
        client.on_socket_unregister_write = self._on_socket_unregister_write
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _abort_client(self, client: _PahoClient) -> None:
        """Tear a half-open connection down without waiting for the broker."""
        sock = self._sock
        self._detach_socket()
        if sock is not None:
            sock.close()
        if client.prepared is not None:
            client.prepared.close()
            client.prepared = None
        if self._client is client:
            self._client = None
        self._connected = False

    # -- sending -----------------------------------------------------------------

    @override
    async def send(self, frame: bytes, *, expiry_s: int | None = None) -> None:
        """Publish one frame (QoS 1) and wait for the broker's acknowledgement.

        ``expiry_s`` sets the MQTT 5 message expiry interval, so a command the
        broker could not deliver in time is discarded instead of arriving
        late; the protocol's own freshness checks remain the real defence.
        A lock's frame goes to its recipient's topic (ValueError for a frame
        that names none: a bug, not a transport failure).  ``NotConnected``:
        the frame did not leave; ``DeliveryUnknown``: it left, and the
        acknowledgement did not come (the connection dropped, or the broker
        stayed silent for ``ack_timeout``).
        """
        self._check_outgoing(frame)
        await self._publish(self._config.publish_topic(frame), frame, expiry_s)
        self.stats.frames_sent += 1

    async def answer_probe(self, topic: str, payload: bytes) -> None:
        """Publish a discovery answer to the prober's own answer topic."""
        if not self._config.hears_probes:
            raise ValueError("this link does not hear probes")
        await self._publish(topic, payload, None)

    async def _publish(self, topic: str, frame: bytes, expiry_s: int | None) -> None:
        properties = None if expiry_s is None else _expiry_properties(expiry_s)
        client = self._client
        if not self._connected or client is None or self._loop is None:
            raise NotConnected("not connected to the broker")
        loop = self._loop
        future: asyncio.Future[ReasonCode] = loop.create_future()
        info = client.publish(topic, frame, qos=PUBLISH_QOS, properties=properties)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise NotConnected(f"publish failed: {info.rc.name}")
        self._publishes[info.mid] = future
        # A plain timer on the future: asyncio.timeout() costs a context
        # manager, a rescheduled timer and task bookkeeping on every frame.
        timer = loop.call_later(self._config.ack_timeout, _ack_overdue, future)
        try:
            reason = await future
        finally:
            timer.cancel()
            self._publishes.pop(info.mid, None)
        if reason.is_failure:
            raise PublishRejected(f"broker refused publish: {reason}")

    # -- paho callbacks (all run in the event loop thread) -------------------

    def _on_socket_open(self, client: Client, userdata: Any, sock: SocketLike) -> None:
        assert self._loop is not None
        self._sock = sock
        self._loop.add_reader(sock, self._on_readable)

    def _on_socket_close(self, client: Client, userdata: Any, sock: SocketLike) -> None:
        if sock is self._sock:
            self._detach_socket()

    def _on_socket_register_write(
        self, client: Client, userdata: Any, sock: SocketLike
    ) -> None:
        # paho queued a packet.  It is written on the loop's next pass, with
        # whatever else was queued meanwhile; the selector is asked only when
        # the socket does not take it all at once.  Registering the socket
        # for every packet cost two epoll_ctl calls per frame sent.
        assert self._loop is not None
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush_writes)

    def _flush_writes(self) -> None:
        self._flush_scheduled = False
        client, sock = self._client, self._sock
        if client is None or sock is None or self._writer_added:
            return
        client.loop_write()
        # paho reports "still wants to write" only once per registration.
        if client.want_write() and self._sock is sock and self._loop is not None:
            self._loop.add_writer(sock, self._on_writable)
            self._writer_added = True

    def _on_socket_unregister_write(
        self, client: Client, userdata: Any, sock: SocketLike
    ) -> None:
        if self._writer_added and self._loop is not None:
            self._writer_added = False
            self._loop.remove_writer(sock)

    def _detach_socket(self) -> None:
        sock, self._sock = self._sock, None
        self._writer_added = False
        if sock is not None and self._loop is not None and sock.fileno() >= 0:
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)

    def _on_readable(self) -> None:
        client = self._client
        if client is None:
            return
        client.loop_read(READ_BATCH)
        # TLS may hold decrypted bytes the selector cannot see.
        sock = self._sock
        while isinstance(sock, ssl.SSLSocket) and sock.fileno() >= 0 and sock.pending():
            if client.loop_read(READ_BATCH) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
            sock = self._sock

    def _on_writable(self) -> None:
        if self._client is not None:
            self._client.loop_write()

    def _start_misc_timer(self) -> None:
        assert self._loop is not None
        self._misc_timer = self._loop.call_later(MISC_INTERVAL, self._on_misc_timer)

    def _on_misc_timer(self) -> None:
        self._misc_timer = None
        if self._client is not None and self._sock is not None:
            # Sends keepalive pings and notices a silent broker.
            self._client.loop_misc()
            # A silent broker is dropped inside loop_misc; the reconnect then
            # starts its own timer, and a second chain here would outlive close().
            if self._client is not None and self._sock is not None:
                self._start_misc_timer()

    def _on_connect(
        self,
        client: Client,
        userdata: Any,
        flags: ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(reason_code)

    def _on_subscribe(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if self._suback is not None and not self._suback.done():
            self._suback.set_result(list(reason_codes))

    def _on_publish(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        future = self._publishes.get(mid)
        if future is not None and not future.done():
            future.set_result(reason_code)

    def _on_message(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        # The broker should only route our own topics; a relay is untrusted.
        if message.topic in self._frame_topics:
            self._deliver(bytes(message.payload))
            return
        discriminator = (
            discriminator_of_topic(message.topic) if self._config.hears_probes else None
        )
        if discriminator is None or self.on_probe is None:
            self.stats.dropped_unexpected += 1
            return
        self.on_probe(discriminator, bytes(message.payload))

    def _on_disconnect(
        self,
        client: Client,
        userdata: Any,
        flags: DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        was_connected = self._connected
        self._connected = False
        self._detach_socket()
        if self._misc_timer is not None:
            self._misc_timer.cancel()
            self._misc_timer = None
        lost = f"connection lost: {reason_code}"
        for waiting in (self._connack, self._suback):
            if waiting is not None and not waiting.done():
                waiting.set_exception(NotConnected(lost))
        # A published frame may have reached the broker before the drop.
        for publish in self._publishes.values():
            if not publish.done():
                publish.set_exception(DeliveryUnknown(lost))
        if client is self._client:
            self._client = None
        self._gone.set()
        if was_connected and not self._closed:
            _LOGGER.info(
                "MQTT connection to %s lost (%s); reconnecting",
                self.endpoint,
                reason_code,
            )
            assert self._loop is not None
            self._reconnect_task = self._loop.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        """Dial again after a lost connection until one succeeds or the link closes.

        The node that went away is likely down, so the next one is tried
        first and the lost one last.  The backoff delay comes once per round
        over all nodes, not per node: with one node of a cluster dead the
        link is back on a survivor after the first delay (at most 0.5 s by
        default, jittered so a node's clients do not all come back at once),
        yet a broker that is wholly down, or one that accepts and at once
        drops us, is not dialled in a tight loop.  A refusal of the account
        ends that round early (the other nodes would refuse alike) and is
        retried like an outage, since the operator may fix the account.
        """
        first = (self._current + 1) % len(self._config.endpoints)
        while True:
            await self._backoff.wait()
            if self._closed:
                return
            try:
                await self._attempt(first)
            except LinkClosed:
                return
            except TransportError as err:
                _LOGGER.debug("MQTT reconnect failed: %s", err)
                continue
            self.stats.reconnects += 1
            _LOGGER.info("MQTT reconnected to %s", self.endpoint)
            self._notify_restored()
            return

    # -- closing -----------------------------------------------------------------

    @override
    async def close(self) -> None:
        if self._closed:
            return
        self._shut_inbox()
        task, self._reconnect_task = self._reconnect_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client = self._client
        if client is not None and self._sock is not None:
            client.disconnect()
            try:
                async with asyncio.timeout(CLOSE_GRACE):
                    await self._gone.wait()
            except TimeoutError:
                pass
        if client is not None:
            self._abort_client(client)
        if self._misc_timer is not None:
            self._misc_timer.cancel()
            self._misc_timer = None
        self._connected = False
