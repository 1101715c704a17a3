"""Config flow for Secure Lock.

Home Assistant needs this module to load config entries at all.  The pairing
steps (setup code, button press, signed challenge) arrive with the pairing
flow; until then the manifest does not advertise a config flow, so the UI does
not offer one.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigFlow

from .const import DOMAIN


class SecureLockConfigFlow(ConfigFlow, domain=DOMAIN):
    """Pair Home Assistant with a Secure Lock."""

    VERSION = 1
