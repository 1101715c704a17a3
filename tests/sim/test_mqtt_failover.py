"""Several broker nodes: a link moves to the next node when its own goes away.

Two real Mosquitto processes stand for two nodes of one broker: the same
certificate authority, the same accounts and grants.  The backoff's sleep is
injected, so the tests wait for events, never for time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
import os
from pathlib import Path
import signal
import socket
import ssl

import pytest

from custom_components.secure_lock.protocol.envelope import routing_id
from custom_components.secure_lock.transport import (
    Backoff,
    BrokerEndpoint,
    BrokerRefused,
    LockTopics,
    MqttFrameLink,
    MqttLinkConfig,
    MqttRole,
    NotConnected,
    client_tls_context,
    mqtt as mqtt_module,
)
from device_sim.broker import MosquittoBroker
from device_sim.pki import DevCertificateAuthority, write_issued
from device_sim.ports import free_port

from .conftest import CONTROLLER_PASSWORD, LOCK_A
from .helpers import (
    TEST_CONTROLLER_KEY_ID,
    frame_to,
    full_step,
    wait_until,
    was_dialled,
)

DELIVERY_TIMEOUT = 5.0
CONTROLLER = "controller1"


@dataclass
class GatedSleep:
    """A backoff sleep that records each delay and returns only when let through."""

    delays: list[float] = field(default_factory=list)
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, delay: float) -> None:
        """Record ``delay``; wait for the gate instead of the time."""
        self.delays.append(delay)
        await self.gate.wait()


@dataclass
class Nodes:
    """Two broker nodes and links to them, closed after the test."""

    a: MosquittoBroker
    b: MosquittoBroker
    ca: DevCertificateAuthority
    directory: Path
    links: list[MqttFrameLink] = field(default_factory=list)

    def lock(
        self,
        ports: list[int],
        *,
        backoff: Backoff | None = None,
    ) -> MqttFrameLink:
        """Return LOCK_A's link to the lock listeners on ``ports``, in order."""
        files = write_issued(self.ca.issue_lock(LOCK_A), self.directory, "lock")
        tls = client_tls_context(self.a.ca_file, files.cert, files.key)
        return self._link(MqttRole.LOCK, ports, tls, backoff=backoff)

    def controller(
        self,
        ports: list[int],
        *,
        password: str = CONTROLLER_PASSWORD,
        backoff: Backoff | None = None,
    ) -> MqttFrameLink:
        """Return a controller's link to the controller listeners on ``ports``."""
        tls = client_tls_context(self.a.ca_file)
        return self._link(
            MqttRole.CONTROLLER,
            ports,
            tls,
            password=password,
            backoff=backoff,
        )

    def _link(
        self,
        role: MqttRole,
        ports: list[int],
        tls: ssl.SSLContext,
        *,
        password: str | None = None,
        backoff: Backoff | None = None,
    ) -> MqttFrameLink:
        first, *others = ports
        config = MqttLinkConfig(
            role=role,
            topics=LockTopics.for_lock(LOCK_A),
            routing_id=(
                routing_id(LOCK_A, TEST_CONTROLLER_KEY_ID)
                if role is MqttRole.CONTROLLER
                else None
            ),
            port=first,
            tls=tls,
            address="127.0.0.1",
            fallbacks=tuple(
                BrokerEndpoint("localhost", port, "127.0.0.1") for port in others
            ),
            username=None if password is None else CONTROLLER,
            password=password,
            connect_timeout=5.0,
        )
        link = MqttFrameLink(config, backoff=backoff)
        self.links.append(link)
        return link


def _kill(broker: MosquittoBroker) -> None:
    """Kill the node with SIGKILL, then reap it (``stop`` finds it dead)."""
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGKILL)
    broker.stop()


@pytest.fixture
async def nodes(
    broker: MosquittoBroker, ca: DevCertificateAuthority, tmp_path: Path
) -> AsyncIterator[Nodes]:
    """Return node A (the usual test broker) and node B, both granting LOCK_A."""
    second = MosquittoBroker.with_dev_pki(tmp_path / "broker-b", ca)
    for node in (broker, second):
        node.add_controller(CONTROLLER, CONTROLLER_PASSWORD, [LOCK_A.hex()])
    second.start()
    state = Nodes(broker, second, ca, tmp_path / "clients")
    try:
        yield state
    finally:
        for link in state.links:
            await link.close()
        second.stop()


def _dialled(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the port of every endpoint the links dial, in order."""
    ports: list[int] = []
    original = mqtt_module._open_tls_socket

    def recording(config: MqttLinkConfig, endpoint: BrokerEndpoint) -> ssl.SSLSocket:
        ports.append(endpoint.port)
        return original(config, endpoint)

    monkeypatch.setattr(mqtt_module, "_open_tls_socket", recording)
    return ports


async def _flows(lock: MqttFrameLink, controller: MqttFrameLink, label: bytes) -> None:
    """Frames pass both ways between ``lock`` and ``controller``."""
    up = frame_to(LOCK_A, b"up " + label)
    await controller.send(b"down " + label)
    await lock.send(up)
    async with asyncio.timeout(DELIVERY_TIMEOUT):
        assert await lock.receive() == b"down " + label
        assert await controller.receive() == up


async def test_a_killed_node_moves_both_ends_to_the_next(nodes: Nodes) -> None:
    """Connected to A, A is killed: lock and controller reconnect to B after one delay."""
    lock_sleep, controller_sleep = GatedSleep(), GatedSleep()
    lock_sleep.gate.set()
    controller_sleep.gate.set()
    lock = nodes.lock(
        [nodes.a.lock_port, nodes.b.lock_port],
        backoff=Backoff(sleep=lock_sleep, draw=full_step),
    )
    controller = nodes.controller(
        [nodes.a.controller_port, nodes.b.controller_port],
        backoff=Backoff(sleep=controller_sleep, draw=full_step),
    )
    restored: list[str] = []
    lock.add_restored_listener(lambda: restored.append("lock"))
    controller.add_restored_listener(lambda: restored.append("controller"))
    await lock.connect()
    await controller.connect()
    assert lock.endpoint.port == nodes.a.lock_port
    assert controller.endpoint.port == nodes.a.controller_port
    await _flows(lock, controller, b"on A")
    assert restored == []  # the first connection restores nothing

    _kill(nodes.a)
    await wait_until(lambda: lock.stats.reconnects == 1)
    await wait_until(lambda: controller.stats.reconnects == 1)
    assert lock.endpoint.port == nodes.b.lock_port
    assert controller.endpoint.port == nodes.b.controller_port
    # One round over the nodes, one delay: B answered first time.
    assert lock_sleep.delays == [0.5]
    assert controller_sleep.delays == [0.5]
    # Each owner heard once that its link is back (and may ask what it missed).
    assert sorted(restored) == ["controller", "lock"]
    await _flows(lock, controller, b"on B")


async def test_a_killed_node_with_a_peer_only_on_the_next(nodes: Nodes) -> None:
    """A lock that falls over to B reaches a controller that only ever knew B."""
    sleep = GatedSleep()
    sleep.gate.set()
    lock = nodes.lock(
        [nodes.a.lock_port, nodes.b.lock_port], backoff=Backoff(sleep=sleep)
    )
    controller = nodes.controller([nodes.b.controller_port])
    await lock.connect()
    await controller.connect()
    _kill(nodes.a)
    await wait_until(lambda: lock.stats.reconnects == 1)
    await _flows(lock, controller, b"after failover")


async def test_the_backoff_grows_per_round_not_per_node(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every node down each round dials each node once, next node first, then waits."""
    sleep = GatedSleep()
    lock = nodes.lock(
        [nodes.a.lock_port, nodes.b.lock_port],
        backoff=Backoff(initial=0.5, maximum=4.0, sleep=sleep, draw=full_step),
    )
    await lock.connect()
    dialled = _dialled(monkeypatch)
    nodes.b.stop()
    _kill(nodes.a)
    await wait_until(lambda: not lock.connected and len(sleep.delays) == 1)
    sleep.gate.set()
    await wait_until(lambda: len(sleep.delays) >= 4)
    sleep.gate.clear()
    await wait_until(lambda: len(dialled) >= 6)
    assert sleep.delays[:4] == [0.5, 1.0, 2.0, 4.0]
    a, b = nodes.a.lock_port, nodes.b.lock_port
    # B (the node after the one lost) first in every round, A last.
    assert dialled[:6] == [b, a, b, a, b, a]

    nodes.b.start()
    sleep.gate.set()
    await wait_until(lambda: lock.connected)
    assert lock.endpoint.port == b
    assert lock.stats.reconnects == 1


async def test_a_refusing_node_ends_the_round_and_retries_go_on(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a loss, B refusing the password ends each round there; fixed, the link is back.

    The refusal is retried with the backoff like an outage (the operator may
    fix the account); the rest of a round is skipped, since every node shares
    the accounts.
    """
    sleep = GatedSleep()
    controller = nodes.controller(
        [nodes.a.controller_port, nodes.b.controller_port],
        backoff=Backoff(initial=0.5, maximum=4.0, sleep=sleep, draw=full_step),
    )
    await controller.connect()
    dialled = _dialled(monkeypatch)
    nodes.b.add_controller(CONTROLLER, "changed on B", [LOCK_A.hex()])
    _kill(nodes.a)
    await wait_until(lambda: not controller.connected and len(sleep.delays) == 1)
    sleep.gate.set()
    await wait_until(lambda: len(sleep.delays) >= 3)
    sleep.gate.clear()
    await wait_until(lambda: len(dialled) >= 2)
    assert sleep.delays[:3] == [0.5, 1.0, 2.0]
    # Each round stopped at B's refusal: the dead A was not dialled.
    assert set(dialled) == {nodes.b.controller_port}
    assert not controller.connected

    nodes.b.add_controller(CONTROLLER, CONTROLLER_PASSWORD, [LOCK_A.hex()])
    sleep.gate.set()
    await wait_until(lambda: controller.connected)
    assert controller.endpoint.port == nodes.b.controller_port


async def test_a_dead_first_node_at_connect_time(nodes: Nodes) -> None:
    """Nothing listens on the first endpoint: connect() goes on to B at once."""
    dead = free_port()
    lock = nodes.lock([dead, nodes.b.lock_port])
    controller = nodes.controller([dead, nodes.b.controller_port])
    await lock.connect()
    await controller.connect()
    assert lock.endpoint.port == nodes.b.lock_port
    await _flows(lock, controller, b"B only")


async def test_every_node_down_names_each(nodes: Nodes) -> None:
    """All endpoints fail: one NotConnected naming every endpoint, and no secret."""
    first, second = free_port(), free_port()
    controller = nodes.controller([first, second], password="hunter2 hunter2")
    with pytest.raises(NotConnected) as caught:
        await controller.connect()
    message = str(caught.value)
    assert f"127.0.0.1:{first}: cannot reach broker" in message
    assert f"127.0.0.1:{second}: cannot reach broker" in message
    assert "hunter2" not in message
    assert not controller.connected


async def test_refused_credentials_do_not_try_the_next_node(
    nodes: Nodes, silent_listener: socket.socket
) -> None:
    """A wrong password is the account's fault: BrokerRefused, the next node is not dialled."""
    port = silent_listener.getsockname()[1]
    controller = nodes.controller(
        [nodes.a.controller_port, port], password="not the password"
    )
    with pytest.raises(BrokerRefused):
        await controller.connect()
    assert not was_dialled(silent_listener)


@pytest.mark.parametrize("address", [None, "broker.example"])
def test_each_endpoint_once(address: str | None) -> None:
    """The same node twice would only double the wait before the next one."""
    with pytest.raises(ValueError, match="once"):
        MqttLinkConfig(
            role=MqttRole.CONTROLLER,
            topics=LockTopics.for_lock(LOCK_A),
            port=8883,
            tls=client_tls_context(
                ca_pem=DevCertificateAuthority.create().cert_pem.decode()
            ),
            server_name="broker.example",
            fallbacks=(BrokerEndpoint("broker.example", 8883, address),),
        )


def test_endpoint_names_itself() -> None:
    """An endpoint reads as the address dialled and its port (IPv6 in brackets)."""
    assert str(BrokerEndpoint("broker.example", 8883)) == "broker.example:8883"
    assert str(BrokerEndpoint("localhost", 8883, "::1")) == "[::1]:8883"
