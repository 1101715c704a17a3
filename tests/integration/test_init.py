"""Config entry setup, unload, restart and removal against the real simulated lock."""

from __future__ import annotations

from homeassistant.components.lock import LockState
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.secure_lock.coordinator import SecureLockCoordinator

from .conftest import SimLock

LOCK_ENTITY = "lock.front_door"


async def test_entry_sets_up_and_unloads(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """An entry connects, shows the lock's signed state, and unloads cleanly."""
    assert isinstance(init_integration.runtime_data, SecureLockCoordinator)
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
