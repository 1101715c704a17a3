"""Config entry setup and unload."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.secure_lock import SecureLockData
from custom_components.secure_lock.const import DOMAIN


async def test_entry_sets_up_and_unloads(hass: HomeAssistant) -> None:
    """An entry loads, carries typed runtime data, and unloads cleanly."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id="00" * 16)
    entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data, SecureLockData)

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
