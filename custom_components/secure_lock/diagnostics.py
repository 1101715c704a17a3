"""Diagnostics: what helps a bug report, with every secret left out."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import CONF_IDENTITY, CONF_PAIRED_LOCK
from .coordinator import SecureLockConfigEntry

# Keys are replaced by the coordinator's fingerprints; the broker's CA is
# public but long, the credentials are not public.
TO_REDACT = {CONF_IDENTITY, CONF_PAIRED_LOCK, CONF_PASSWORD, CONF_USERNAME}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SecureLockConfigEntry
) -> dict[str, Any]:
    """Return the entry (redacted) and the session's public state."""
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
        },
        "session": entry.runtime_data.diagnostics(),
    }
