"""Fixtures for the simulator infrastructure tests: dev PKI, a real Mosquitto and RabbitMQ."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
import socket

import pytest
import pytest_socket

# device_sim registers the HA-free packages; it must be imported first.
import device_sim  # noqa: F401

# isort: split

from custom_components.secure_lock.protocol.envelope import routing_id
from custom_components.secure_lock.transport import (
    Backoff,
    LockTopics,
    MqttFrameLink,
    MqttLinkConfig,
    MqttRole,
    client_tls_context,
)
from device_sim.broker import MosquittoBroker
from device_sim.lock_device import DeviceConfig
from device_sim.mechanism import MechanismConfig
from device_sim.pki import DevCertificateAuthority, write_issued
from device_sim.rabbitmq import RabbitMqCluster
from device_sim.timing import ManualScheduler

from .helpers import TEST_CONTROLLER_KEY_ID
from .lock_rig import Rig
from .mqtt_customer import Customer
from .rabbitmq_client import RabbitCustomer
from .rabbitmq_site import Site

LOCK_A = bytes.fromhex("a1" * 16)
LOCK_B = bytes.fromhex("b2" * 16)
CONTROLLER_PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _localhost_sockets(socket_enabled: None) -> None:
    """Allow socket creation; pytest-homeassistant still limits connects to 127.0.0.1."""


@dataclass
class LinkFactory:
    """Builds MQTT links against the test broker and closes them afterwards."""

    broker: MosquittoBroker
    ca: DevCertificateAuthority
    directory: Path
    links: list[MqttFrameLink]

    def lock(
        self,
        lock_id: bytes,
        *,
        topics_of: bytes | None = None,
        max_frame_size: int = 4096,
        server_name: str = "localhost",
        ca_file: Path | None = None,
        backoff: Backoff | None = None,
        hears_probes: bool = False,
    ) -> MqttFrameLink:
        """Return a lock-side link with ``lock_id``'s certificate.

        ``topics_of`` points it at another lock's topics (for ACL tests).
        """
        files = write_issued(self.ca.issue_lock(lock_id), self.directory, lock_id.hex())
        config = MqttLinkConfig(
            role=MqttRole.LOCK,
            topics=LockTopics.for_lock(topics_of or lock_id),
            port=self.broker.lock_port,
            tls=client_tls_context(
                ca_file or self.broker.ca_file, files.cert, files.key
            ),
            server_name=server_name,
            address="127.0.0.1",
            connect_timeout=5.0,
            hears_probes=hears_probes,
        )
        return self._track(
            MqttFrameLink(config, max_frame_size=max_frame_size, backoff=backoff)
        )

    def controller(
        self,
        lock_id: bytes,
        username: str = "controller1",
        password: str | None = CONTROLLER_PASSWORD,
        *,
        max_frame_size: int = 4096,
        ca_file: Path | None = None,
        server_name: str = "localhost",
        key_id: bytes = TEST_CONTROLLER_KEY_ID,
        hears_pairing: bool = False,
    ) -> MqttFrameLink:
        """Return a controller-side link for ``lock_id``, receiving ``key_id``'s frames."""
        config = MqttLinkConfig(
            role=MqttRole.CONTROLLER,
            topics=LockTopics.for_lock(lock_id),
            routing_id=routing_id(lock_id, key_id),
            hears_pairing=hears_pairing,
            port=self.broker.controller_port,
            tls=client_tls_context(ca_file or self.broker.ca_file),
            server_name=server_name,
            address="127.0.0.1",
            username=username if password is not None else None,
            password=password,
            connect_timeout=5.0,
        )
        return self._track(MqttFrameLink(config, max_frame_size=max_frame_size))

    def _track(self, link: MqttFrameLink) -> MqttFrameLink:
        self.links.append(link)
        return link


@pytest.fixture
async def links(
    broker: MosquittoBroker, ca: DevCertificateAuthority, tmp_path: Path
) -> AsyncIterator[LinkFactory]:
    """Return a link factory; every link it made is closed after the test."""
    factory = LinkFactory(broker, ca, tmp_path / "clients", [])
    yield factory
    for link in factory.links:
        await link.close()


@pytest.fixture
def grant(broker: MosquittoBroker) -> Callable[..., None]:
    """Return a function granting a controller access to some locks."""

    def _grant(*lock_ids: bytes, username: str = "controller1") -> None:
        broker.add_controller(
            username, CONTROLLER_PASSWORD, [i.hex() for i in lock_ids]
        )

    return _grant


@pytest.fixture(name="customers")
def customers_fixture() -> Iterator[list[Customer]]:
    """Collect the test's connections and close them afterwards."""
    made: list[Customer] = []
    yield made
    for customer in made:
        customer.close()


@pytest.fixture(name="rig")
def rig_fixture(tmp_path: Path) -> Rig:
    """Return a lock with instant motor movements."""
    config = DeviceConfig(
        mechanism=MechanismConfig(motor_seconds=0, open_hold_seconds=3)
    )
    return Rig(tmp_path, ManualScheduler(), config)


@pytest.fixture
def silent_listener() -> Iterator[socket.socket]:
    """Return a port that accepts TCP but never speaks (did anyone dial it?)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    yield listener
    listener.close()


@pytest.fixture(name="relay", scope="module")
def relay_fixture(
    tmp_path_factory: pytest.TempPathFactory, ca: DevCertificateAuthority
) -> Iterator[RabbitMqCluster]:
    """Run one RabbitMQ node for the module (it takes seconds to boot)."""
    # Module set-up runs before the per-test socket_enabled; connects stay
    # limited to 127.0.0.1 by pytest-homeassistant's host allow-list.
    pytest_socket.enable_socket()
    relay = RabbitMqCluster.with_dev_pki(tmp_path_factory.mktemp("rabbitmq"), ca)
    with relay:
        yield relay


@pytest.fixture(name="rabbit_clients")
def rabbit_clients_fixture() -> Iterator[list[RabbitCustomer]]:
    """Collect the test's RabbitMQ connections and close them afterwards."""
    made: list[RabbitCustomer] = []
    yield made
    for client in made:
        client.close()


@pytest.fixture(name="site")
def site_fixture(
    relay: RabbitMqCluster,
    ca: DevCertificateAuthority,
    tmp_path: Path,
    rabbit_clients: list[RabbitCustomer],
) -> Site:
    """Return this test's view of the module's RabbitMQ relay."""
    return Site(relay, ca, tmp_path, rabbit_clients)
