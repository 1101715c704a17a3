"""Constants for the Secure Lock integration."""

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "secure_lock"
EVENT_CONTROLLER_JOINED: Final = f"{DOMAIN}_controller_joined"
"""Fired when a controller's join of a lock became final (logbook, automations)."""
LOGGER = logging.getLogger(__package__)

# Config entry data: how to reach the lock and this controller's keys.
CONF_LOCK_ID: Final = "lock_id"
CONF_IDENTITY: Final = "identity"
"""This controller's private keys (hex); only ever in the config entry."""
CONF_PAIRED_LOCK: Final = "paired_lock"
"""The lock's public keys and suite as pinned at pairing (hex)."""
CONF_LAN_URL: Final = "lan_url"
CONF_BROKER_URL: Final = "broker_url"
CONF_BROKER_CA: Final = "broker_ca"
CONF_MODEL: Final = "model"

# Options.
CONF_PREFER: Final = "prefer"
CONF_ROLE: Final = "role"
CONF_VALID_FOR: Final = "valid_for"
CONF_RELEASE_FOLDER: Final = "release_folder"
"""Folder on the Home Assistant host that holds firmware release directories."""
CONF_RELEASE_KEY: Final = "release_key"
"""The manufacturer's release public key (hex, as `release.pub` holds it)."""

# Config flow fields (not stored).
CONF_SETUP_CODE: Final = "setup_code"
CONF_ADDRESS: Final = "address"

CONTROLLER_NAME: Final = "Home Assistant"
DEFAULT_MODEL: Final = "Secure Lock"

HEARTBEAT_INTERVAL: Final = timedelta(seconds=30)
"""How often a lock sends its signed heartbeat."""
UNAVAILABLE_AFTER: Final = HEARTBEAT_INTERVAL * 2.5
"""Without an authenticated frame for this long, the shown state is stale."""
COMMAND_TIMEOUT: Final = 15.0
PAIRING_TIMEOUT: Final = 30.0
CLOCK_SKEW_REPAIR_MS: Final = 60_000
"""A lock clock further off than this gets a repair issue."""
UNREACHABLE_REPAIR_AFTER: Final = timedelta(minutes=30)
"""A lock no path reaches for this long gets a repair issue (shorter is only unavailable)."""
FIRMWARE_CHECK_INTERVAL: Final = timedelta(hours=6)
"""How often the release folder is looked at again."""
