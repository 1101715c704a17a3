"""MQTT link behaviour: frame limits, expiry, typed errors, reconnect with backoff."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import socket
from typing import Any

from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
import pytest

from custom_components.secure_lock.transport import (
    Backoff,
    FrameTooLarge,
    LinkClosed,
    LockTopics,
    MqttLinkConfig,
    MqttRole,
    NotConnected,
    client_tls_context,
    mqtt as mqtt_module,
)
from custom_components.secure_lock.transport.link import DEFAULT_MAX_FRAME_SIZE
from device_sim.broker import MosquittoBroker
from device_sim.pki import DevCertificateAuthority

from .conftest import LOCK_A, LinkFactory
from .helpers import full_step, wait_until

DELIVERY_TIMEOUT = 5.0


async def test_oversize_frame_dropped_and_counted(
    links: LinkFactory, grant: Callable[..., None]
) -> None:
    """A frame above the receiver's limit is dropped and counted; the link keeps working."""
    grant(LOCK_A)
    lock = links.lock(LOCK_A, max_frame_size=64)
    controller = links.controller(LOCK_A, max_frame_size=100_000)
    await lock.connect()
    await controller.connect()
    await controller.send(b"x" * 65)
    # The largest frame the broker forwards (a larger packet costs the
    # sender its connection: tests/sim/test_broker_queues.py).
    await controller.send(b"x" * DEFAULT_MAX_FRAME_SIZE)
    await controller.send(b"fits")
    async with asyncio.timeout(DELIVERY_TIMEOUT):
        assert await lock.receive() == b"fits"
    assert lock.stats.dropped_oversize == 2
    assert lock.stats.frames_received == 1
    assert lock.connected


async def test_send_limits_and_states(
    links: LinkFactory, grant: Callable[..., None]
) -> None:
    """Oversize, not connected, bad expiry and closed links raise typed errors."""
    grant(LOCK_A)
    controller = links.controller(LOCK_A, max_frame_size=16)
    with pytest.raises(NotConnected):
        await controller.send(b"early")
    await controller.connect()
    with pytest.raises(FrameTooLarge):
        await controller.send(b"y" * 17)
    with pytest.raises(ValueError, match="expiry"):
        await controller.send(b"ok", expiry_s=0)
    await controller.send(b"ok", expiry_s=5)
    assert controller.stats.frames_sent == 1
    await controller.close()
    assert not controller.connected
    with pytest.raises(LinkClosed):
        await controller.send(b"late")
    with pytest.raises(LinkClosed):
        await controller.receive()
    assert [frame async for frame in controller] == []


async def test_tcp_nodelay_is_set(links: LinkFactory) -> None:
    """The client socket has Nagle disabled."""
    lock = links.lock(LOCK_A)
    await lock.connect()
    sock = lock._sock
    assert isinstance(sock, socket.socket)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


async def test_reconnects_with_backoff_after_broker_restart(
    links: LinkFactory, grant: Callable[..., None], broker: MosquittoBroker
) -> None:
    """A lost connection is re-established after the injected backoff delay."""
    grant(LOCK_A)
    delays: list[float] = []
    proceed = asyncio.Event()

    async def fake_sleep(delay: float) -> None:
        delays.append(delay)
        await proceed.wait()

    lock = links.lock(
        LOCK_A,
        backoff=Backoff(initial=0.5, maximum=4.0, sleep=fake_sleep, draw=full_step),
    )
    await lock.connect()
    broker.stop()
    await wait_until(lambda: not lock.connected and bool(delays))
    # While the broker is down, attempts fail and the delay doubles.
    proceed.set()
    await wait_until(lambda: len(delays) >= 3)
    proceed.clear()
    assert delays[:3] == [0.5, 1.0, 2.0]
    broker.start()
    proceed.set()
    await wait_until(lambda: lock.connected)
    assert lock.stats.reconnects == 1

    controller = links.controller(LOCK_A)
    await controller.connect()
    await controller.send(b"after restart")
    async with asyncio.timeout(DELIVERY_TIMEOUT):
        assert await lock.receive() == b"after restart"


async def test_concurrent_connects_make_one_connection(
    links: LinkFactory, grant: Callable[..., None]
) -> None:
    """Two callers connecting at once share one connection."""
    lock = links.lock(LOCK_A)
    await asyncio.gather(lock.connect(), lock.connect())
    assert lock.connected
    assert lock.stats.reconnects == 0


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        ({"routing_id": bytes(16)}, "routing id"),
        ({"hears_pairing": True}, "pairing answers"),
    ],
)
def test_only_a_controller_link_names_its_uplink_topics(
    options: dict[str, Any], refusal: str
) -> None:
    """A lock's link publishes to every uplink topic; subscribing to one is a controller's."""
    with pytest.raises(ValueError, match=refusal):
        MqttLinkConfig(
            role=MqttRole.LOCK,
            topics=LockTopics.for_lock(LOCK_A),
            port=8883,
            tls=client_tls_context(
                ca_pem=DevCertificateAuthority.create().cert_pem.decode()
            ),
            **options,
        )


def test_paho_gets_no_socket_this_module_did_not_connect() -> None:
    """Paho never dials by itself: without a prepared socket it gets an error."""
    client = mqtt_module._PahoClient(
        callback_api_version=CallbackAPIVersion.VERSION2,
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    with pytest.raises(ConnectionError, match="no prepared socket"):
        client._create_socket()
