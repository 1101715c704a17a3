"""What a user types for the lock's address and broker: accepted forms, typed refusals."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.controller.links import (
    DEFAULT_LAN_PORT,
    LAN_PATH,
    BrokerSettings,
    LinkSettingsError,
    _broker_link,
    lan_url,
    parse_broker_url,
)
from device_sim.pki import DevCertificateAuthority

LOCK_ID = bytes(range(16))


def test_lan_addresses_become_full_urls() -> None:
    """Host names, ports and IPv6 literals are normalised to one URL form."""
    assert lan_url(" lock.local ") == f"ws://lock.local:{DEFAULT_LAN_PORT}{LAN_PATH}"
    assert lan_url("10.0.0.5:9000") == f"ws://10.0.0.5:9000{LAN_PATH}"
    assert lan_url("[fe80::1]:9000") == f"ws://[fe80::1]:9000{LAN_PATH}"
    assert lan_url("wss://lock.local/custom") == (
        f"wss://lock.local:{DEFAULT_LAN_PORT}/custom"
    )


@pytest.mark.parametrize(
    "address",
    ["", "   ", "lock.local:99999", "lock.local:port", "http://lock.local", "ws://"],
)
def test_unusable_lan_addresses_are_refused(address: str) -> None:
    """Each mistake is a LinkSettingsError with the key the form shows."""
    with pytest.raises(LinkSettingsError) as err:
        lan_url(address)
    assert err.value.key == "invalid_address"


@pytest.mark.parametrize(
    "url", ["mqtts://broker:99999", "mqtts://broker:x", "mqtt://broker", "mqtts://"]
)
def test_unusable_broker_urls_are_refused(url: str) -> None:
    """Only mqtts:// with a host and a valid port is accepted."""
    with pytest.raises(LinkSettingsError) as err:
        parse_broker_url(url)
    assert err.value.key == "invalid_broker_url"
    assert parse_broker_url(" mqtts://broker:8883 ") == "mqtts://broker:8883"


@pytest.mark.parametrize(
    ("url", "server_name"),
    [
        ("mqtts://broker.example:8883", "broker.example"),
        ("mqtts://127.0.0.1:8883", "localhost"),
        ("mqtts://192.0.2.7:8883", "192.0.2.7"),
    ],
)
def test_broker_certificate_name(url: str, server_name: str) -> None:
    """The name checked in the broker certificate: the host, or localhost for loopback."""
    ca_pem = DevCertificateAuthority.create("Test Root").cert_pem.decode()
    link = _broker_link(LOCK_ID, BrokerSettings(url, ca_pem, "user", "secret"))
    assert link.config.server_name == server_name
    assert link.config.address == url.removeprefix("mqtts://").rsplit(":", 1)[0]
    assert link.config.port == 8883
