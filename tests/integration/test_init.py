"""Config entry setup, unload, restart and removal against the real simulated lock."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
import time

from homeassistant.components.lock import LockState
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_SUPPORTED_FEATURES
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.secure_lock.const import DOMAIN
from custom_components.secure_lock.controller.links import LinkSettings
from custom_components.secure_lock.coordinator import SecureLockCoordinator
from custom_components.secure_lock.entry_data import (
    credential_data,
    link_data,
    load_identity,
)
from custom_components.secure_lock.protocol import ControllerIdentity, Role
from custom_components.secure_lock.runtime import SecureLockData
from device_sim.lock_device import DeviceConfig
from device_sim.lock_runtime import LockRuntime, RuntimeOptions
from device_sim.mechanism import MechanismConfig

from .conftest import SimLock, pair_controller

LOCK_ENTITY = "lock.front_door"


async def test_entry_sets_up_and_unloads(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An entry connects, shows the lock's signed state, and unloads cleanly."""
    assert isinstance(init_integration.runtime_data, SecureLockData)
    assert isinstance(init_integration.runtime_data.lock, SecureLockCoordinator)
    # No release folder configured: no release checker either.
    assert init_integration.runtime_data.firmware is None
    state = hass.states.get(LOCK_ENTITY)
    assert state is not None
    assert state.state == LockState.LOCKED

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.NOT_LOADED


async def test_unreachable_lock_retries_setup(
    hass: HomeAssistant, paired_entry: MockConfigEntry, sim_lock: SimLock
) -> None:
    """A lock that cannot be reached at start-up means setup retry, not failure."""
    await sim_lock.runtime.stop()
    assert not await hass.config_entries.async_setup(paired_entry.entry_id)
    await hass.async_block_till_done()
    assert paired_entry.state is ConfigEntryState.SETUP_RETRY
    await hass.config_entries.async_unload(paired_entry.entry_id)


async def test_revoked_key_at_start_up_asks_to_pair_again(
    hass: HomeAssistant, paired_entry: MockConfigEntry, sim_lock: SimLock
) -> None:
    """Removed on the lock while Home Assistant was off: setup fails into re-pairing."""
    controller_id = load_identity(paired_entry).key_id
    sim_lock.device.state.registry.revoke(controller_id)
    assert not await hass.config_entries.async_setup(paired_entry.entry_id)
    await hass.async_block_till_done()
    assert paired_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_guest_outside_its_window_is_refused_not_shown(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """A guest entry whose validity ended shows nothing stale: setup is retried."""
    admin = init_integration.runtime_data.lock
    guest = ControllerIdentity.generate()
    now_ms = time.time_ns() // 1_000_000
    await admin.async_call(
        lambda client: client.add_controller(
            guest.public_bundle(),
            "Yesterday's guest",
            Role.GUEST,
            valid_from_ms=now_ms - 7_200_000,
            valid_until_ms=now_ms - 3_600_000,
        )
    )
    guest_lock = replace(admin.paired_lock, role=Role.GUEST, last_sent_counter=0)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="guest",
        title="Guest view",
        data={**init_integration.data, **credential_data(guest, guest_lock)},
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_lock_without_latch_offers_no_open(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Open (unlatch) is offered only where the lock reports a latch."""
    runtime = LockRuntime(
        RuntimeOptions(
            state_dir=tmp_path / "deadbolt",
            device=DeviceConfig(
                mechanism=MechanismConfig(motor_seconds=0, has_latch=False)
            ),
            lan=("127.0.0.1", 0),
            admin_socket=False,
        )
    )
    await runtime.start()
    try:
        lock = SimLock(runtime)
        identity, outcome = await pair_controller(lock)
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id=lock.lock_id,
            title="Deadbolt",
            data={
                **link_data(LinkSettings(lock.device.lock_id, lan_url=lock.lan_url)),
                **credential_data(identity, outcome.lock),
            },
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        state = hass.states.get("lock.deadbolt")
        assert state is not None
        assert state.attributes[ATTR_SUPPORTED_FEATURES] == 0
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await runtime.stop()
