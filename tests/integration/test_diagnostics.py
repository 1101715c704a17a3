"""Diagnostics help a bug report and never carry a secret."""

from __future__ import annotations

import json

from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.secure_lock.const import (
    CONF_BROKER_CA,
    CONF_BROKER_URL,
    CONF_IDENTITY,
    CONF_LAN_URL,
    CONF_PREFER,
    CONF_RELEASE_FOLDER,
)
from device_sim.pki import DevCertificateAuthority

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

    coordinator = init_integration.runtime_data.lock
    session = result["session"]
    assert session["lock_id"] == sim_lock.lock_id
    assert session["controller_id"] == coordinator.identity.key_id.hex()
    assert session["role"] == "admin"
    assert session["link"] == "lan"
    assert session["status"]["bolt_state"] == "locked"
    assert result["entry"]["data"][CONF_IDENTITY] == "**REDACTED**"

    identity_hex = init_integration.data[CONF_IDENTITY]
    leaked = [w for w in _windows(identity_hex) if w in text]
    assert not leaked, "private key material in diagnostics"
    label = sim_lock.device.element.label_code
    assert label.manual_code() not in text
    assert label.manual_code().replace("-", "") not in text
    assert label.qr_text() not in text
    prover = label.secret_for(sim_lock.device.lock_id).prover
    assert prover.w0.hex() not in text
    assert prover.w1.hex() not in text
    # The check above has something to catch: hundreds of distinct 16-byte stretches.
    assert len(_windows(identity_hex)) > 200


async def test_diagnostics_redact_every_broker_setting(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    ca: DevCertificateAuthority,
) -> None:
    """Broker URL (host), user name, password and CA: none appears, in data or options."""
    host = "relay-7c1.broker.example"
    broker = {
        CONF_BROKER_URL: f"mqtts://{host}:8883",
        CONF_BROKER_CA: ca.cert_pem.decode(),
        CONF_USERNAME: "household-account-5d2",
        CONF_PASSWORD: "broker-password-e41",
    }
    hass.config_entries.async_update_entry(
        init_integration,
        data={**init_integration.data, **broker},
        options={
            CONF_PREFER: "lan",
            CONF_RELEASE_FOLDER: "/config/releases",
            # Not stored in options today; redacted there too if it ever is.
            CONF_PASSWORD: "options-password-a90",
        },
    )
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    text = json.dumps(result)

    entry = result["entry"]
    for key in broker:
        assert entry["data"][key] == "**REDACTED**", key
    assert entry["data"][CONF_LAN_URL] == init_integration.data[CONF_LAN_URL]
    assert entry["options"] == {
        CONF_PREFER: "lan",
        CONF_RELEASE_FOLDER: "/config/releases",
        CONF_PASSWORD: "**REDACTED**",
    }
    for secret in (
        host,
        "household-account-5d2",
        "broker-password-e41",
        "options-password-a90",
    ):
        assert secret not in text, secret
    certificate_body = "".join(ca.cert_pem.decode().splitlines()[1:-1])
    assert certificate_body[:64] not in text.replace("\\n", "")
