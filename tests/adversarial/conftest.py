"""Fixtures for attacks through a hostile relay and LAN proxy.

The relay is two real Mosquitto brokers (every test) or two virtual hosts
of one 3-node RabbitMQ cluster (the ``[rabbitmq-cluster]`` variant of the
tests cluster_relay.py selects; ``SECURE_LOCK_CLUSTER_RELAY=all`` runs every
scenario that applies).

Shared fixtures come from tests/conftest.py (`ca`) and
tests/integration/conftest.py (the loopback-only socket rule); nothing here
duplicates them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
import shutil
import time

import aiohttp
import pytest
import pytest_socket

from custom_components.secure_lock.controller import (
    LockClient,
    confirm_pairing,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ControllerPairingOutcome,
    PairedLock,
    Role,
    SetupCode,
)
from custom_components.secure_lock.protocol.envelope import routing_id
from custom_components.secure_lock.protocol.suites import SuiteId
from custom_components.secure_lock.transport import (
    LockTopics,
    MqttFrameLink,
    WebSocketFrameLink,
)
from custom_components.secure_lock.transport.link import FrameLink
from device_sim.broker import MOSQUITTO
from device_sim.lock_device import LockDevice
from device_sim.lock_runtime import LockRuntime, RuntimeOptions
from device_sim.mechanism import BoltState, DoorState
from device_sim.pki import DevCertificateAuthority
from device_sim.rabbitmq import RabbitMqCluster
from tests.integration.conftest import (  # noqa: F401 - fixtures shared by import
    BROKER_PASSWORD,
    BROKER_USER,
    FAST,
    _localhost_sockets,
)
from tests.sim.helpers import setup_for_next_controller

from .cluster_relay import (
    CLUSTER_SIZE,
    ClusterDomains,
    OperatorAccounts,
    RelayKind,
    cluster_selection,
)
from .hostile_relay import HostileRelay, OperatorBroker
from .lan_proxy import LanProxy
from .relay_domains import MosquittoDomains, RelayDomains, Side


class ShiftedClock:
    """The controllers' wall clock in ms: real time plus what a test let pass."""

    def __init__(self) -> None:
        """Start at real time."""
        self.offset_ms = 0

    def __call__(self) -> int:
        """Return the shifted time in milliseconds."""
        return int(time.time() * 1000) + self.offset_ms


@dataclass(frozen=True, slots=True)
class Observable:
    """The lock's state as an attack could change it."""

    bolt: BoltState
    door: DoorState
    audit_entries: int
    controllers: frozenset[tuple[bytes, bool]]
    """(controller id, revoked) for every known controller."""


@dataclass
class RelayedLock:
    """A simulated lock behind the hostile relay (and, on request, a LAN proxy)."""

    runtime: LockRuntime
    relay: HostileRelay

    @property
    def device(self) -> LockDevice:
        """Return the running firmware object."""
        assert self.runtime.device is not None
        return self.runtime.device

    @property
    def lock_id(self) -> bytes:
        """Return the lock id."""
        return self.device.lock_id

    @property
    def lan_url(self) -> str:
        """Return the lock's real WebSocket URL."""
        assert self.runtime.lan is not None
        return self.runtime.lan.url

    def observable(self) -> Observable:
        """Return what an attack must not change: mechanism, audit log, controllers."""
        status = self.device.mechanism.status
        registry = self.device.state.registry
        return Observable(
            status.bolt,
            status.door,
            self.device.state.audit.next_index,
            frozenset((r.controller_id, r.revoked) for r in registry.records.values()),
        )

    def dropped(self) -> int:
        """Return how many frames the lock refused without acting."""
        return sum(self.device.dropped_frames.values())

    async def reboot(self) -> None:
        """Power-cycle the lock: same sealed state, fresh process memory."""
        await self.runtime.stop()
        self.runtime = LockRuntime(self.runtime.options)
        await self.runtime.start()


@dataclass
class Stage:
    """Two routing domains with the attacker between them, locks, and controllers."""

    ca: DevCertificateAuthority
    directory: Path
    domains: RelayDomains
    clock: ShiftedClock = field(default_factory=ShiftedClock)
    locks: list[RelayedLock] = field(default_factory=list)
    links: list[FrameLink] = field(default_factory=list)
    clients: list[LockClient] = field(default_factory=list)
    proxies: list[LanProxy] = field(default_factory=list)
    http: aiohttp.ClientSession | None = None

    async def start_lock(self, name: str = "lock") -> RelayedLock:
        """Boot a lock on the locks' side (and the LAN) and put the attacker in its path."""
        state_dir = self.directory / name
        if self.domains.needs_lock_account:
            # A first boot without links makes the lock's id; its account must
            # exist before the lock logs in with its certificate.
            first = LockRuntime(
                RuntimeOptions(state_dir=state_dir, device=FAST, admin_socket=False)
            )
            self.domains.admit_lock((await first.start()).lock_id)
            await first.stop()
        runtime = LockRuntime(
            RuntimeOptions(
                state_dir=state_dir,
                device=FAST,
                lan=("127.0.0.1", 0),
                broker=self.domains.lock_settings(),
                factory_ca=self.ca,
                admin_socket=False,
            )
        )
        device = await runtime.start()
        self.domains.add_controller(
            BROKER_USER, BROKER_PASSWORD, self._grants(device.lock_id)
        )
        account = len(self.locks)
        relay = HostileRelay(
            self.domains.operator(Side.CONTROLLERS, account),
            self.domains.operator(Side.LOCKS, account),
            device.lock_id,
        )
        await relay.start()
        lock = RelayedLock(runtime, relay)
        self.locks.append(lock)
        return lock

    async def lan_proxy(self, lock: RelayedLock) -> LanProxy:
        """Put a hostile proxy in front of the lock's LAN port."""
        proxy = LanProxy(lock.lan_url)
        await proxy.start()
        self.proxies.append(proxy)
        return proxy

    async def lan_link(self, url: str) -> WebSocketFrameLink:
        """Connect a controller to a LAN WebSocket (closed after the test)."""
        if self.http is None:
            self.http = aiohttp.ClientSession()
        link = WebSocketFrameLink(url, session=self.http)
        await link.connect()
        self.links.append(link)
        return link

    def _grants(self, *extra: bytes) -> list[str]:
        return [i.hex() for i in extra] + [lock.lock_id.hex() for lock in self.locks]

    async def controller_link(
        self,
        lock: RelayedLock,
        identity: ControllerIdentity | None,
        *,
        pairing: bool = False,
    ) -> MqttFrameLink:
        """Connect a controller to the controllers' side for ``lock``, as Home Assistant would.

        It receives the envelopes to ``identity`` (none if None: a pairing
        attempt that never gets that far) and, with ``pairing``, the lock's
        pairing answers.  Each link gets its own account: the broker uses the
        user name as the client id, so a second connection with one name
        would end the first.
        """
        own = None if identity is None else routing_id(lock.lock_id, identity.key_id)
        username = f"controller-{len(self.links)}"
        self.domains.add_controller(username, BROKER_PASSWORD, self._grants())
        link = MqttFrameLink(
            self.domains.controller_link_config(
                lock.lock_id,
                username,
                BROKER_PASSWORD,
                routing_id=own,
                hears_pairing=pairing,
            )
        )
        await link.connect()
        self.links.append(link)
        if own is not None:
            lock.relay.add_controller_topic(
                LockTopics.for_lock(lock.lock_id).up_to(own)
            )
        return link

    def new_identity(
        self, suites: tuple[SuiteId, ...] | None = None
    ) -> ControllerIdentity:
        """Return a new controller identity on the stage's clock."""
        return ControllerIdentity.generate(now_ms=self.clock(), suites=suites)

    async def pair(
        self,
        lock: RelayedLock,
        name: str = "Home Assistant",
        suites: tuple[SuiteId, ...] | None = None,
    ) -> LockClient:
        """Press the button and pair a controller through the relay; return its client."""
        identity = self.new_identity(suites)
        link = await self.controller_link(lock, identity, pairing=True)
        outcome = await self.pair_over(link, lock, identity, name)
        return await self.client(link, identity, outcome.lock)

    async def pair_over(
        self,
        link: FrameLink,
        lock: RelayedLock,
        identity: ControllerIdentity,
        name: str = "Home Assistant",
    ) -> ControllerPairingOutcome:
        """Press the button and pair ``identity`` over ``link``."""
        setup = setup_for_next_controller(lock.device)
        lock.device.press_button()
        outcome = await pair_over_link(
            link,
            identity,
            SetupCode.parse(setup.manual_code()),
            name,
            timeout=10,
            clock=self.clock,
        )
        await confirm_pairing(
            link, identity, outcome.lock, timeout=10, clock=self.clock
        )
        return outcome

    async def client(
        self, link: FrameLink, identity: ControllerIdentity, paired: PairedLock
    ) -> LockClient:
        """Start a client on ``link`` (closed after the test)."""
        client = LockClient(link, identity, paired, clock=self.clock)
        await client.start()
        self.clients.append(client)
        return client

    async def added(
        self,
        admin: LockClient,
        lock: RelayedLock,
        name: str,
        role: Role,
        *,
        valid_from_ms: int = 0,
        valid_until_ms: int = 0,
    ) -> LockClient:
        """Have ``admin`` add a controller; return that controller's client."""
        identity = ControllerIdentity.generate(now_ms=self.clock())
        paired = admin.paired_lock
        await admin.add_controller(
            identity.public_bundle(suites=(paired.suite,)),
            name,
            role,
            valid_from_ms=valid_from_ms,
            valid_until_ms=valid_until_ms,
        )
        own = PairedLock(paired.lock_id, paired.bundle, paired.suite, role)
        return await self.client(
            await self.controller_link(lock, identity), identity, own
        )

    def advance(self, seconds: float) -> None:
        """Let wall-clock time pass for every lock and controller alike."""
        self.clock.offset_ms += int(seconds * 1000)
        for lock in self.locks:
            assert lock.runtime.scheduler is not None
            lock.runtime.scheduler.skew_seconds += seconds

    async def close(self) -> None:
        """Stop everything this stage started."""
        for client in self.clients:
            await client.close()
        for link in self.links:
            await link.close()
        if self.http is not None:
            await self.http.close()
        for proxy in self.proxies:
            await proxy.close()
        for lock in self.locks:
            await lock.relay.close()
            await lock.runtime.stop()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give every test on a stage a variant per relay (which run: cluster_relay.py)."""
    if "stage" in metafunc.fixturenames:
        metafunc.parametrize("stage", list(RelayKind), indirect=True, ids=str)


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Deselect the cluster variants that do not apply or are not asked for."""
    keep, drop = cluster_selection(items)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="package")
def hostile_cluster(
    tmp_path_factory: pytest.TempPathFactory, ca: DevCertificateAuthority
) -> Iterator[RabbitMqCluster]:
    """Run one 3-node cluster, lock and controller vhosts apart, for this package."""
    # Set-up outside a test's socket_enabled; connects stay limited to
    # 127.0.0.1 by pytest-homeassistant's host allow-list.
    pytest_socket.enable_socket()
    cluster = RabbitMqCluster.with_dev_pki(
        tmp_path_factory.mktemp("hostile-cluster"),
        ca,
        size=CLUSTER_SIZE,
        accounts=OperatorAccounts(),
    )
    with cluster:
        yield cluster


def _mosquitto_pair(directory: Path, ca: DevCertificateAuthority) -> MosquittoDomains:
    if shutil.which(MOSQUITTO) is None:
        pytest.fail("mosquitto is not installed: run scripts/setup")
    lock_broker = OperatorBroker.with_dev_pki(directory / "broker-l", ca)
    controller_broker = OperatorBroker.with_dev_pki(directory / "broker-c", ca)
    assert isinstance(lock_broker, OperatorBroker)
    assert isinstance(controller_broker, OperatorBroker)
    lock_broker.start()
    try:
        controller_broker.start()
    except BaseException:
        lock_broker.stop()
        raise
    return MosquittoDomains(lock_broker, controller_broker)


@pytest.fixture
async def stage(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    ca: DevCertificateAuthority,
) -> AsyncIterator[Stage]:
    """Run the two routing domains (locks, controllers) with the attacker between."""
    mosquitto: MosquittoDomains | None = None
    domains: RelayDomains
    if request.param is RelayKind.RABBITMQ_CLUSTER:
        domains = ClusterDomains(request.getfixturevalue("hostile_cluster"))
    else:
        domains = mosquitto = _mosquitto_pair(tmp_path, ca)
    result = Stage(ca, tmp_path, domains)
    try:
        yield result
    finally:
        await result.close()
        if mosquitto is not None:
            mosquitto.controller_broker.stop()
            mosquitto.lock_broker.stop()
