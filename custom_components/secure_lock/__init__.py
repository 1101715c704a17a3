"""The Secure Lock integration: a lock reached only through end-to-end encrypted, signed commands."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .coordinator import SecureLockCoordinator
from .firmware_coordinator import FirmwareReleaseCoordinator, FirmwareSource
from .removal import async_unpair_on_removal
from .runtime import SecureLockConfigEntry, SecureLockData
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.LOCK,
    Platform.NUMBER,
    Platform.SENSOR,
    Platform.UPDATE,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's actions."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SecureLockConfigEntry) -> bool:
    """Connect to one paired lock and set up its entities."""
    coordinator = await SecureLockCoordinator.async_create(hass, entry)
    await coordinator.async_config_entry_first_refresh()
    firmware = None
    if (source := FirmwareSource.from_options(entry.options)) is not None:
        firmware = FirmwareReleaseCoordinator(hass, entry, coordinator, source)
        await firmware.async_start()
    entry.runtime_data = SecureLockData(coordinator, firmware)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # 2026.10 treats a non-bool return as a failed setup; 2026.11 accepts True too.
    return True


async def async_unload_entry(hass: HomeAssistant, entry: SecureLockConfigEntry) -> bool:
    """Unload a config entry (the coordinator closes the link on unload)."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: SecureLockConfigEntry) -> None:
    """Ask the lock to forget this controller, then drop its keys and counters."""
    await async_unpair_on_removal(hass, entry)
