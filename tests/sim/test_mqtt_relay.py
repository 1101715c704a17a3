"""An MQTT relay that misbehaves: the link drops, refuses or times out, typed.

The broker is an untrusted relay (docs/transport.md).  Mosquitto behaves, so
these tests speak just enough MQTT 5 over TLS themselves to act as a relay
that routes foreign topics, refuses a subscription, never acknowledges a
frame.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
import socket
import ssl
import threading

import pytest

from custom_components.secure_lock.protocol.envelope import routing_id
from custom_components.secure_lock.transport import (
    Backoff,
    BrokerEndpoint,
    BrokerRefused,
    DeliveryUnknown,
    LinkClosed,
    LockTopics,
    MqttFrameLink,
    MqttLinkConfig,
    MqttRole,
    NotConnected,
    SubscribeRejected,
    client_tls_context,
    mqtt as mqtt_module,
)
from device_sim.pki import DevCertificateAuthority, write_issued

from .conftest import LOCK_A
from .helpers import TEST_CONTROLLER_KEY_ID, wait_until, was_dialled

CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14
NOT_AUTHORIZED = 0x87
SERVER_UNAVAILABLE, SERVER_BUSY, USE_ANOTHER_SERVER = 0x88, 0x89, 0x9C
DELIVERY_TIMEOUT = 5.0
OWN_ROUTE = routing_id(LOCK_A, TEST_CONTROLLER_KEY_ID)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _packet(kind: int, body: bytes, flags: int = 0) -> bytes:
    return bytes([kind << 4 | flags]) + _varint(len(body)) + body


def _string(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def publish_qos0(topic: str, payload: bytes) -> bytes:
    """Return a QoS 0 PUBLISH (no properties)."""
    return _packet(PUBLISH, _string(topic) + b"\x00" + payload)


def _filter_count(subscribe_body: bytes) -> int:
    """Return how many topic filters a SUBSCRIBE (MQTT 5) asks for."""
    offset = 2  # packet id
    length, shift = 0, 0
    while True:
        byte = subscribe_body[offset]
        offset += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    offset += length  # properties
    count = 0
    while offset < len(subscribe_body):
        offset += 2 + int.from_bytes(subscribe_body[offset : offset + 2], "big") + 1
        count += 1
    return count


async def _read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first = (await reader.readexactly(1))[0]
    length, shift = 0, 0
    while True:
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return first >> 4, await reader.readexactly(length)


@dataclass
class Relay:
    """Behaviour knobs of the fake relay, and what it saw."""

    answer_connect: bool = True
    answer_pings: bool = True
    pings: int = 0
    connections: int = 0
    connack_code: int = 0
    suback_code: int = 0
    ack_publishes: bool = True
    drop_after_publish: bool = False
    on_subscribed: list[bytes] = field(default_factory=list)
    published: list[bytes] = field(default_factory=list)
    port: int = 0

    async def handle(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve one client connection until it goes away."""
        try:
            while True:
                kind, body = await _read_packet(reader)
                if kind == CONNECT:
                    self.connections += 1
                if kind == CONNECT and self.answer_connect:
                    connack = bytes([0, self.connack_code, 0])
                    writer.write(_packet(CONNACK, connack))
                elif kind == SUBSCRIBE:
                    packet_id = body[:2]
                    writer.write(
                        _packet(
                            SUBACK,
                            packet_id
                            + b"\x00"
                            + bytes([self.suback_code]) * _filter_count(body),
                        )
                    )
                    for frame in self.on_subscribed:
                        writer.write(frame)
                elif kind == PUBLISH:
                    topic_length = int.from_bytes(body[:2], "big")
                    packet_id = body[2 + topic_length : 4 + topic_length]
                    self.published.append(body)
                    if self.ack_publishes:
                        writer.write(_packet(PUBACK, packet_id))
                    if self.drop_after_publish:
                        break
                elif kind == PINGREQ:
                    self.pings += 1
                    if self.answer_pings:
                        writer.write(_packet(PINGRESP, b""))
                elif kind == DISCONNECT:
                    break
                await writer.drain()
        except asyncio.IncompleteReadError, ConnectionError, ssl.SSLError:
            pass
        finally:
            writer.close()


@dataclass
class RelayRig:
    """A running fake relay and a controller-side link config that trusts it."""

    relay: Relay
    ca_pem: str
    links: list[MqttFrameLink] = field(default_factory=list)

    def link(
        self,
        *,
        ack_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        keepalive: int = 30,
        backoff: Backoff | None = None,
        fallbacks: tuple[BrokerEndpoint, ...] = (),
    ) -> MqttFrameLink:
        """Return a controller link to the relay (closed after the test)."""
        config = MqttLinkConfig(
            role=MqttRole.CONTROLLER,
            topics=LockTopics.for_lock(LOCK_A),
            routing_id=OWN_ROUTE,
            port=self.relay.port,
            tls=client_tls_context(ca_pem=self.ca_pem),
            address="127.0.0.1",
            fallbacks=fallbacks,
            username="controller",
            password="secret",
            ack_timeout=ack_timeout,
            connect_timeout=connect_timeout,
            keepalive=keepalive,
        )
        link = MqttFrameLink(config, backoff=backoff)
        self.links.append(link)
        return link


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[RelayRig]:
    """Start a TLS relay on 127.0.0.1 with a certificate from a throwaway CA."""
    ca = DevCertificateAuthority.create("Relay Root")
    files = write_issued(ca.issue_broker(), tmp_path, "relay")
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(files.cert, files.key)
    relay = Relay()
    tasks: set[asyncio.Task[None]] = set()

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await relay.handle(reader, writer)
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_tls)
    relay.port = server.sockets[0].getsockname()[1]
    state = RelayRig(relay, ca.cert_pem.decode())
    try:
        yield state
    finally:
        for link in state.links:
            await link.close()
        for task in list(tasks):
            task.cancel()
        server.close()
        await server.wait_closed()


async def test_frames_on_foreign_topics_are_dropped_and_counted(rig: RelayRig) -> None:
    """A relay routing any topic but our own to us gets those frames dropped.

    Another lock's, another controller's of this lock, the pairing answers
    (this link is not pairing), and the bare uplink of the old layout.
    """
    topics = LockTopics.for_lock(LOCK_A)
    other = LockTopics.for_lock(bytes(16))
    rig.relay.on_subscribed = [
        publish_qos0(other.up_to(OWN_ROUTE), b"another lock's frame"),
        publish_qos0(topics.up_to(bytes(16)), b"another controller's frame"),
        publish_qos0(topics.up_pairing, b"a pairing answer"),
        publish_qos0(f"securelock/v1/{LOCK_A.hex()}/up", b"no recipient"),
        publish_qos0(topics.up_to(OWN_ROUTE), b"ours"),
    ]
    link = rig.link()
    await link.connect()
    async with asyncio.timeout(DELIVERY_TIMEOUT):
        assert await link.receive() == b"ours"
    assert link.stats.dropped_unexpected == 4
    assert link.stats.frames_received == 1


async def test_refused_subscription_is_subscribe_rejected(rig: RelayRig) -> None:
    """Without its subscription the link would be deaf: connecting fails, typed."""
    rig.relay.suback_code = NOT_AUTHORIZED
    link = rig.link()
    with pytest.raises(SubscribeRejected):
        await link.connect()
    assert not link.connected


def _behind(listener: socket.socket) -> tuple[BrokerEndpoint, ...]:
    return (BrokerEndpoint("localhost", listener.getsockname()[1], "127.0.0.1"),)


async def test_refused_subscription_does_not_try_the_next_node(
    rig: RelayRig, silent_listener: socket.socket
) -> None:
    """Every node of a broker shares its ACLs: a refused topic is raised at once."""
    rig.relay.suback_code = NOT_AUTHORIZED
    link = rig.link(fallbacks=_behind(silent_listener))
    with pytest.raises(SubscribeRejected):
        await link.connect()
    assert not was_dialled(silent_listener)


async def test_refused_account_does_not_try_the_next_node(
    rig: RelayRig, silent_listener: socket.socket
) -> None:
    """CONNACK "not authorized" is the account's fault: BrokerRefused, no other node."""
    rig.relay.connack_code = NOT_AUTHORIZED
    link = rig.link(fallbacks=_behind(silent_listener))
    with pytest.raises(BrokerRefused):
        await link.connect()
    assert not was_dialled(silent_listener)


@pytest.mark.parametrize(
    "reason", [SERVER_UNAVAILABLE, SERVER_BUSY, USE_ANOTHER_SERVER]
)
async def test_a_node_that_is_unavailable_gives_way_to_the_next(
    rig: RelayRig, silent_listener: socket.socket, reason: int
) -> None:
    """CONNACK "server unavailable" and the like speak of the node: the next one is dialled."""
    rig.relay.connack_code = reason
    link = rig.link(connect_timeout=0.3, fallbacks=_behind(silent_listener))
    with pytest.raises(NotConnected) as caught:
        await link.connect()
    assert "node unavailable" in str(caught.value)
    # The silent node never answers CONNECT; it was dialled all the same.
    assert was_dialled(silent_listener)


async def test_unacknowledged_frame_is_of_unknown_delivery(rig: RelayRig) -> None:
    """A relay that takes a frame without PUBACK: it may have gone on, so not "not sent"."""
    rig.relay.ack_publishes = False
    link = rig.link(ack_timeout=0.2)
    await link.connect()
    with pytest.raises(DeliveryUnknown, match="acknowledge") as caught:
        await link.send(b"frame")
    assert not isinstance(caught.value, NotConnected)
    assert len(rig.relay.published) == 1
    assert link.stats.frames_sent == 0


async def test_a_drop_before_the_acknowledgement_is_of_unknown_delivery(
    rig: RelayRig,
) -> None:
    """The node dies with the frame in it: the sender is told it may have arrived."""
    rig.relay.ack_publishes = False
    rig.relay.drop_after_publish = True
    # No reconnect within the test: the second send meets a link that is down.
    link = rig.link(backoff=Backoff(initial=3600, maximum=3600))
    await link.connect()
    with pytest.raises(DeliveryUnknown, match="connection lost") as caught:
        await link.send(b"frame")
    assert not isinstance(caught.value, NotConnected)
    assert len(rig.relay.published) == 1
    # Once the link knows it is down, a frame does not leave: "not sent".
    await wait_until(lambda: not link.connected)
    with pytest.raises(NotConnected):
        await link.send(b"another frame")
    assert len(rig.relay.published) == 1


async def test_relay_that_never_answers_connect_is_not_connected(rig: RelayRig) -> None:
    """No CONNACK within the connect timeout: NotConnected, nothing left half-open."""
    rig.relay.answer_connect = False
    link = rig.link(connect_timeout=0.3)
    with pytest.raises(NotConnected, match="in time"):
        await link.connect()
    assert not link.connected


class _HeldOpen:
    """Replaces the blocking TLS dial: waits for the test, then returns a socket."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.sockets: list[socket.socket] = []

    def __call__(
        self, _config: MqttLinkConfig, _endpoint: BrokerEndpoint
    ) -> socket.socket:
        ours, theirs = socket.socketpair()
        theirs.close()
        self.sockets.append(ours)
        self.started.set()
        self.release.wait(DELIVERY_TIMEOUT)
        return ours


async def test_closing_while_connecting_leaks_no_socket(
    rig: RelayRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """close() during the dial: connect fails with LinkClosed and the socket is closed."""
    held = _HeldOpen()
    monkeypatch.setattr(mqtt_module, "_open_tls_socket", held)
    link = rig.link()
    connecting = asyncio.create_task(link.connect())
    await asyncio.to_thread(held.started.wait, DELIVERY_TIMEOUT)
    await link.close()
    held.release.set()
    with pytest.raises(LinkClosed):
        await connecting
    assert not link.connected
    assert held.sockets[0].fileno() == -1


async def test_cancelled_connect_closes_the_late_socket(
    rig: RelayRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller giving up mid-dial does not orphan the socket the dial then opens."""
    held = _HeldOpen()
    monkeypatch.setattr(mqtt_module, "_open_tls_socket", held)
    link = rig.link()
    connecting = asyncio.create_task(link.connect())
    await asyncio.to_thread(held.started.wait, DELIVERY_TIMEOUT)
    connecting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await connecting
    held.release.set()
    await wait_until(lambda: held.sockets[0].fileno() == -1)
    assert not link.connected


async def test_silent_relay_is_noticed_and_the_link_reconnects(
    rig: RelayRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keepalive pings go out; a relay that stops answering them is dropped and redialled.

    paho's keepalive runs on its own wall clock, so this takes about two
    seconds of real time (keepalive 1 s); the link's timer only polls faster.
    """
    monkeypatch.setattr(mqtt_module, "MISC_INTERVAL", 0.05)

    async def no_sleep(_delay: float) -> None:
        await asyncio.sleep(0)

    link = rig.link(keepalive=1, backoff=Backoff(sleep=no_sleep))
    await link.connect()
    await wait_until(lambda: rig.relay.pings >= 1)
    assert link.connected
    rig.relay.answer_pings = False
    await wait_until(lambda: rig.relay.connections == 2)
    await wait_until(lambda: link.stats.reconnects == 1)
    assert link.connected
