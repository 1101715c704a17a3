"""Diagnostics: what helps a bug report, with every secret left out."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .const import CONF_BROKER_CA, CONF_BROKER_URL, CONF_IDENTITY, CONF_PAIRED_LOCK
from .coordinator import SecureLockCoordinator
from .runtime import SecureLockConfigEntry

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
        "session": _session(entry.runtime_data.lock),
    }


def _session(coordinator: SecureLockCoordinator) -> dict[str, Any]:
    """Return what helps debugging; fingerprints, never keys."""
    lock = coordinator.paired_lock
    client = coordinator.client
    status = coordinator.data.status if coordinator.data else None
    return {
        "lock_id": lock.lock_id.hex(),
        "lock_key_id": lock.bundle.key_id.hex(),
        "controller_id": coordinator.identity.key_id.hex(),
        "suite": lock.suite.name,
        "role": lock.role.name.lower(),
        "link": coordinator.link_kind.value if coordinator.link_kind else None,
        "paths": [kind.value for kind in coordinator.connection.settings.order()],
        "last_sent_counter": lock.last_sent_counter,
        "lock_high_water": lock.lock_high_water,
        "clock_offset_ms": lock.clock_offset_ms,
        "rejected_frames": client.rejected_frames if client else None,
        "available": coordinator.last_update_success,
        "status": None
        if status is None
        else {
            "bolt_state": status.bolt_state.name.lower(),
            "door_state": status.door_state.name.lower(),
            "battery_percent": status.battery_percent,
            "firmware_version": status.firmware_version,
            "has_latch": status.has_latch,
            "auto_relock_seconds": status.auto_relock_seconds,
        },
    }
