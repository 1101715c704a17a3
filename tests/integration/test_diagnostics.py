"""Diagnostics help a bug report and never carry a secret."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.secure_lock.const import CONF_IDENTITY

from .conftest import SimLock


def _windows(secret_hex: str, size: int = 32) -> set[str]:
    """Every 16-byte stretch of a secret, as hex: none may show up anywhere."""
    return {secret_hex[i : i + size] for i in range(0, len(secret_hex) - size + 1, 2)}


async def test_diagnostics_redact_every_secret(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
) -> None:
    """Fingerprints and counters, yes; private keys, setup code or secret, never."""
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    text = json.dumps(result)

    coordinator = init_integration.runtime_data
    session = result["session"]
    assert session["lock_id"] == sim_lock.lock_id
    assert session["controller_id"] == coordinator.identity.key_id.hex()
    assert session["role"] == "admin"
    assert session["link"] == "lan"
    assert session["status"]["lock_state"] == "locked"
    assert result["entry"]["data"][CONF_IDENTITY] == "**REDACTED**"

    identity_hex = init_integration.data[CONF_IDENTITY]
    leaked = [w for w in _windows(identity_hex) if w in text]
    assert not leaked, "private key material in diagnostics"
    label = sim_lock.device.element.setup_payload
    assert label.to_code() not in text
    assert label.pairing_secret.hex() not in text
    # The check above has something to catch: hundreds of distinct 16-byte stretches.
    assert len(_windows(identity_hex)) > 200
