"""What a config entry stores, and turning it back into keys and settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import (
    CONF_BROKER_CA,
    CONF_BROKER_URL,
    CONF_IDENTITY,
    CONF_LAN_URL,
    CONF_LOCK_ID,
    CONF_PAIRED_LOCK,
    CONF_PREFER,
    DOMAIN,
)
from .controller.links import BrokerSettings, LinkKind, LinkSettings, split_broker_urls
from .protocol import ControllerIdentity, PairedLock, ProtocolError

STORED_PAIRED_LOCK = "paired_lock"
STORE_VERSION = 1
STORE_SAVE_DELAY = 1.0
"""Seconds to coalesce counter updates (an event and a result often arrive together).

Losing the last second of counters in a crash is harmless: our send counters
are seeded from the wall clock, and a lock frame replayed after a restart is
still bound by its 30 s expiry.
"""


def session_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, str]]:
    """Return the store that keeps this entry's counters and the lock's prekeys."""
    return Store(hass, STORE_VERSION, f"{DOMAIN}.{entry_id}", private=True)


def link_data(settings: LinkSettings) -> dict[str, Any]:
    """Return the entry data that says how to reach the lock."""
    broker = settings.broker
    return {
        CONF_LOCK_ID: settings.lock_id.hex(),
        CONF_LAN_URL: settings.lan_url,
        # One URL is stored as it always was; several as entered, between commas.
        CONF_BROKER_URL: broker.urls_text if broker else None,
        CONF_BROKER_CA: broker.ca_pem if broker else None,
        CONF_USERNAME: broker.username if broker else None,
        CONF_PASSWORD: broker.password if broker else None,
    }


def stored_broker_urls(data: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the broker URLs an entry holds (checked when they were entered)."""
    return split_broker_urls(data.get(CONF_BROKER_URL) or "")


def settings_from_data(
    data: Mapping[str, Any], options: Mapping[str, Any] | None = None
) -> LinkSettings:
    """Rebuild link settings from entry data (and the preferred path option)."""
    broker = (
        BrokerSettings(
            stored_broker_urls(data),
            data[CONF_BROKER_CA],
            data.get(CONF_USERNAME),
            data.get(CONF_PASSWORD),
        )
        if data.get(CONF_BROKER_URL)
        else None
    )
    return LinkSettings(
        bytes.fromhex(data[CONF_LOCK_ID]),
        data.get(CONF_LAN_URL),
        broker,
        LinkKind((options or {}).get(CONF_PREFER, LinkKind.LAN)),
    )


def link_settings(entry: ConfigEntry) -> LinkSettings:
    """Return how to reach the entry's lock."""
    return settings_from_data(entry.data, entry.options)


def credential_data(
    identity: ControllerIdentity, paired_lock: PairedLock
) -> dict[str, str]:
    """Return the entry data that holds this controller's keys and the lock's."""
    return {
        CONF_IDENTITY: identity.to_bytes().hex(),
        CONF_PAIRED_LOCK: paired_lock.to_bytes().hex(),
    }


def load_identity(entry: ConfigEntry) -> ControllerIdentity:
    """Return this controller's keys from the entry."""
    return ControllerIdentity.from_bytes(bytes.fromhex(entry.data[CONF_IDENTITY]))


def paired_lock_from_entry(
    entry: ConfigEntry, stored: Mapping[str, str] | None
) -> PairedLock:
    """Return the newest lock record: the stored one, else the one from pairing.

    The store holds counters and the lock's rotated prekeys; it is trusted
    only for the lock pinned in the entry (same lock id and identity key).
    """
    pinned = PairedLock.from_bytes(bytes.fromhex(entry.data[CONF_PAIRED_LOCK]))
    if not stored or STORED_PAIRED_LOCK not in stored:
        return pinned
    try:
        newer = PairedLock.from_bytes(bytes.fromhex(stored[STORED_PAIRED_LOCK]))
    except ProtocolError, ValueError:
        return pinned
    if newer.lock_id != pinned.lock_id or newer.bundle.key_id != pinned.bundle.key_id:
        return pinned
    return newer
