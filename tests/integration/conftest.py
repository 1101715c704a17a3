"""Fixtures for tests that run the integration inside Home Assistant.

The lock is the real simulator (device_sim) on 127.0.0.1, in Home Assistant's
event loop; the broker, where a test needs one, is a real Mosquitto.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
import contextlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from unittest.mock import PropertyMock, patch

from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from custom_components.secure_lock.const import CONF_MODEL, CONTROLLER_NAME, DOMAIN
from custom_components.secure_lock.controller import confirm_pairing, pair_over_link
from custom_components.secure_lock.controller.links import BrokerSettings, LinkSettings
from custom_components.secure_lock.coordinator import SecureLockCoordinator
from custom_components.secure_lock.entry_data import credential_data, link_data
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ControllerPairingOutcome,
    PairedLock,
    Role,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng
from device_sim.broker import MosquittoBroker
from device_sim.lock_device import DeviceConfig, LockDevice
from device_sim.lock_runtime import (
    BrokerSettings as LockBrokerSettings,
    LockRuntime,
    RuntimeOptions,
)
from device_sim.mechanism import MechanismConfig
from device_sim.pki import DevCertificateAuthority
from tests.sim.helpers import lan_link, setup_for_next_controller, wait_until

MODEL = "SL-1 (simulated)"
FAST = DeviceConfig(
    model=MODEL,
    mechanism=MechanismConfig(motor_seconds=0, open_hold_seconds=600),
)
BROKER_USER = "home-assistant"
BROKER_PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/secure_lock in every test here."""


@pytest.fixture(autouse=True)
def _localhost_sockets(socket_enabled: None) -> None:
    """Allow sockets; connects are still limited to 127.0.0.1 (tests/conftest.py)."""


class VersionedSnapshotExtension(HomeAssistantSnapshotExtension):
    """Home Assistant's serializer, one snapshot folder per Home Assistant release.

    Registry entries gain fields between releases, so each supported release
    keeps its own reviewed snapshots instead of one set that fits neither.
    """

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """Return snapshots-<major.minor>/ beside the test module."""
        release = ".".join(HA_VERSION.split(".")[:2])
        return str(Path(test_location.filepath).parent / f"snapshots-{release}")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Return the snapshot assertion with Home Assistant's serializer."""
    return snapshot.use_extension(VersionedSnapshotExtension)


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Create entities that are disabled by default as enabled (for snapshots)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
async def hass_user(hass: HomeAssistant) -> MockUser:
    """Return a Home Assistant user who is not an admin but may control entities.

    The default group for new people: unlike `hass_read_only_user`, Home
    Assistant's own entity permissions let this user control every entity.
    """
    group = await hass.auth.async_get_group(GROUP_ID_USER)
    assert group is not None
    return MockUser(name="Non-admin", groups=[group]).add_to_hass(hass)


@dataclass
class SimLock:
    """A running simulated lock and the handles a test needs."""

    runtime: LockRuntime

    @property
    def device(self) -> LockDevice:
        """Return the lock's firmware object."""
        assert self.runtime.device is not None
        return self.runtime.device

    @property
    def lan_url(self) -> str:
        """Return the lock's WebSocket URL."""
        assert self.runtime.lan is not None
        return f"ws://127.0.0.1:{self.runtime.lan.port}/securelock/v1"

    @property
    def address(self) -> str:
        """Return host:port as a user would type it."""
        assert self.runtime.lan is not None
        return f"127.0.0.1:{self.runtime.lan.port}"

    @property
    def setup_code(self) -> str:
        """Return the label's 11 digits, as a person types them."""
        return self.device.element.label_code.manual_code()

    @property
    def qr_text(self) -> str:
        """Return the label's QR text (names the lock: needed through a relay)."""
        return self.device.element.label_code.qr_text()

    @property
    def lock_id(self) -> str:
        """Return the lock id as hex."""
        return self.device.lock_id.hex()


async def _start_lock(options: RuntimeOptions) -> LockRuntime:
    runtime = LockRuntime(options)
    await runtime.start()
    return runtime


@pytest.fixture
async def sim_lock(hass: HomeAssistant, tmp_path: Path) -> AsyncIterator[SimLock]:
    """Run a simulated lock on the LAN (stable ids: deterministic keys)."""
    runtime = await _start_lock(
        RuntimeOptions(
            state_dir=tmp_path / "lock",
            device=FAST,
            lan=("127.0.0.1", 0),
            admin_socket=False,
            rng=DeterministicRng(b"secure lock test lock"),
        )
    )
    lock = SimLock(runtime)
    yield lock
    # A test may have restarted the lock: stop whichever runtime is current.
    await lock.runtime.stop()


@pytest.fixture
async def broker_lock(
    hass: HomeAssistant,
    tmp_path: Path,
    broker: MosquittoBroker,
    ca: DevCertificateAuthority,
) -> AsyncIterator[SimLock]:
    """Run a simulated lock reachable only through the broker."""
    runtime = await _start_lock(
        RuntimeOptions(
            state_dir=tmp_path / "relay-lock",
            device=FAST,
            broker=LockBrokerSettings("127.0.0.1", broker.lock_port, broker.ca_file),
            factory_ca=ca,
            admin_socket=False,
        )
    )
    assert runtime.device is not None
    broker.add_controller(BROKER_USER, BROKER_PASSWORD, [runtime.device.lock_id.hex()])
    yield SimLock(runtime)
    await runtime.stop()


async def pair_controller(
    lock: SimLock, name: str = CONTROLLER_NAME, role: Role = Role.OPERATOR
) -> tuple[ControllerIdentity, ControllerPairingOutcome]:
    """Pair a new controller with the lock over the LAN, as the config flow would.

    The first controller uses the label and the button; later ones an
    invitation for ``role``.
    """
    setup = setup_for_next_controller(lock.device, role)
    lock.device.press_button()
    identity = ControllerIdentity.generate()
    async with lan_link(lock.lan_url) as link:
        outcome = await pair_over_link(link, identity, setup, name, timeout=10)
        await confirm_pairing(link, identity, outcome.lock, timeout=10)
    return identity, outcome


def add_lock_entry(
    hass: HomeAssistant,
    settings: LinkSettings,
    identity: ControllerIdentity,
    paired_lock: PairedLock,
    *,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Add (not set up) the entry the config flow would create for this pairing."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=settings.lock_id.hex(),
        title="Front door",
        data={
            **link_data(settings),
            **credential_data(identity, paired_lock),
            CONF_MODEL: MODEL,
        },
        options=options or {},
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
async def paired_entry(hass: HomeAssistant, sim_lock: SimLock) -> MockConfigEntry:
    """Return a config entry for a controller paired with the LAN lock."""
    identity, outcome = await pair_controller(sim_lock)
    settings = LinkSettings(sim_lock.device.lock_id, lan_url=sim_lock.lan_url)
    return add_lock_entry(hass, settings, identity, outcome.lock)


def broker_settings(broker: MosquittoBroker, lock: SimLock) -> LinkSettings:
    """Return link settings that reach `lock` through `broker` only."""
    return LinkSettings(
        lock.device.lock_id,
        broker=BrokerSettings(
            (f"mqtts://127.0.0.1:{broker.controller_port}",),
            broker.ca_file.read_text(encoding="utf-8"),
            BROKER_USER,
            BROKER_PASSWORD,
        ),
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, paired_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """Set the paired entry up; unload it after the test."""
    assert await hass.config_entries.async_setup(paired_entry.entry_id)
    await hass.async_block_till_done()
    assert paired_entry.state is ConfigEntryState.LOADED
    # Start every test from a quiet link: the prekey announcement made at
    # start has been answered, so no answer to it is still on the way.
    await wait_until(lambda: paired_entry.runtime_data.lock.rotation.prekey_announced)
    yield paired_entry
    if paired_entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(paired_entry.entry_id)
        await hass.async_block_till_done()


@contextlib.contextmanager
def answers_within(
    coordinator: SecureLockCoordinator, seconds: float
) -> Iterator[None]:
    """Give the lock only ``seconds`` to answer the connection's status requests."""
    connection = coordinator.connection
    with patch.object(
        connection, "timings", replace(connection.timings, answer_timeout=seconds)
    ):
        yield


async def open_settings(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    """Open the options flow at its settings form (an admin's entry has a menu first)."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    if result["type"] == "menu":
        assert result["menu_options"] == ["settings", "invite", "keypad_code"]
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "settings"}
        )
    assert result["step_id"] == "settings"
    return result
