"""Diagnostics: what helps a bug report, with every secret left out."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import CONF_BROKER_CA, CONF_BROKER_URL, CONF_IDENTITY, CONF_PAIRED_LOCK
from .coordinator import SecureLockConfigEntry

# Keys are replaced by the coordinator's fingerprints.  Every broker setting
# goes: the credentials are secret, and the broker's host and CA name the
# account's provider and whoever runs it (a bug report needs neither; the
# session part says which paths exist and which one is in use).
TO_REDACT = {
    CONF_IDENTITY,
    CONF_PAIRED_LOCK,
    CONF_BROKER_URL,
    CONF_BROKER_CA,
    CONF_USERNAME,
    CONF_PASSWORD,
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SecureLockConfigEntry
) -> dict[str, Any]:
    """Return the entry (redacted) and the session's public state."""
    return {
        "entry": {
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            # Options hold no secret today; redacted alike so none slips in.
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "session": entry.runtime_data.diagnostics(),
    }
