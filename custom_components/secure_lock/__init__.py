"""The Secure Lock integration: a lock reached only through end-to-end encrypted, signed commands."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


@dataclass(slots=True)
class SecureLockData:
    """Runtime objects of one paired lock (the connection manager joins here)."""


type SecureLockConfigEntry = ConfigEntry[SecureLockData]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration (actions will be registered here)."""
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SecureLockConfigEntry) -> bool:
    """Set up one paired lock from a config entry."""
    entry.runtime_data = SecureLockData()
    # 2026.10 treats a non-bool return as a failed setup; 2026.11 accepts True too.
    return True


async def async_unload_entry(hass: HomeAssistant, entry: SecureLockConfigEntry) -> bool:
    """Unload a config entry."""
    return True
