"""What a user types for the lock's address and broker: accepted forms, typed refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.secure_lock.controller.links import (
    DEFAULT_LAN_PORT,
    LAN_PATH,
    PATH_CHECK,
    BrokerSettings,
    BrokerUrlCredentialsError,
    LinkSettingsError,
    LinkUse,
    broker_link,
    lan_url,
    parse_broker_url,
    parse_broker_urls,
)
from custom_components.secure_lock.protocol.envelope import routing_id
from custom_components.secure_lock.transport import BrokerEndpoint, LockTopics
from device_sim.__main__ import main
from device_sim.pki import DevCertificateAuthority
from device_sim.ports import free_port
from tests.conftest import foreign_code

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
    "url",
    [
        "mqtts://broker:99999",
        "mqtts://broker:x",
        "mqtt://broker",
        "mqtts://",
        "mqtts://[broker",
    ],
)
def test_unusable_broker_urls_are_refused(url: str) -> None:
    """Only mqtts:// with a host and a valid port is accepted."""
    with pytest.raises(LinkSettingsError) as err:
        parse_broker_url(url)
    assert err.value.key == "invalid_broker_url"
    assert parse_broker_url(" mqtts://broker:8883 ") == "mqtts://broker:8883"


SECRET = "pa55-w0rd-xyz"


@pytest.mark.parametrize(
    "url",
    [
        f"mqtts://user:{SECRET}@broker:8883",
        "mqtts://user@broker:8883",
        f"mqtts://:{SECRET}@broker",
        f"MQTTS://user:{SECRET}@broker",
        f"mqtts://user:{SECRET}@",
    ],
)
def test_broker_url_with_credentials_is_refused(url: str) -> None:
    """user:password@ is refused with its own typed error that never repeats it."""
    with pytest.raises(BrokerUrlCredentialsError) as err:
        parse_broker_url(url)
    assert err.value.key == "broker_url_credentials"
    assert SECRET not in str(err.value)
    assert "user" not in str(err.value).replace("user name", "")


def test_bad_port_error_does_not_quote_the_input() -> None:
    """`mqtts://user:secret` (no @) reads as a bad port: the secret is not quoted."""
    with pytest.raises(LinkSettingsError) as err:
        parse_broker_url(f"mqtts://user:{SECRET}")
    assert err.value.key == "invalid_broker_url"
    assert SECRET not in str(err.value)


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
    link = broker_link(
        LOCK_ID, BrokerSettings((url,), ca_pem, "user", "secret"), PATH_CHECK
    )
    assert link.config.server_name == server_name
    assert link.config.address == url.removeprefix("mqtts://").rsplit(":", 1)[0]
    assert link.config.port == 8883


def test_several_broker_urls_between_commas() -> None:
    """Commas separate a broker's nodes; blanks and a trailing comma do not matter."""
    assert parse_broker_urls(" mqtts://a.example:8883 ,mqtts://b.example:8884, ") == (
        "mqtts://a.example:8883",
        "mqtts://b.example:8884",
    )
    assert parse_broker_urls("mqtts://a.example:8883") == ("mqtts://a.example:8883",)


@pytest.mark.parametrize("text", ["", " , ", "mqtts://a.example, mqtt://b.example"])
def test_broker_url_lists_without_a_usable_url_are_refused(text: str) -> None:
    """No URL, or one bad URL among good ones: the form's invalid_broker_url."""
    with pytest.raises(LinkSettingsError) as err:
        parse_broker_urls(text)
    assert err.value.key == "invalid_broker_url"


def test_credentials_in_any_listed_url_are_refused_unquoted() -> None:
    """A user:password@ in the second URL is refused as in the first, never quoted."""
    with pytest.raises(BrokerUrlCredentialsError) as err:
        parse_broker_urls(f"mqtts://a.example:8883, mqtts://ha:{SECRET}@b.example")
    assert SECRET not in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "mqtts://a.example, mqtts://a.example",
        "mqtts://a.example, mqtts://a.example:8883",
    ],
)
def test_a_node_listed_twice_is_refused(text: str) -> None:
    """The same host and port twice (the default port counts) has its own key."""
    with pytest.raises(LinkSettingsError) as err:
        parse_broker_urls(text)
    assert err.value.key == "broker_url_repeated"


def test_a_link_to_several_nodes_tries_them_in_the_order_given() -> None:
    """Each URL becomes one endpoint with its own certificate name; the first is tried first."""
    ca_pem = DevCertificateAuthority.create("Test Root").cert_pem.decode()
    broker = BrokerSettings(
        ("mqtts://a.example:8883", "mqtts://127.0.0.1:8884"), ca_pem, "user", "secret"
    )
    assert broker.urls_text == "mqtts://a.example:8883, mqtts://127.0.0.1:8884"
    link = broker_link(LOCK_ID, broker, PATH_CHECK)
    assert link.config.endpoints == (
        BrokerEndpoint("a.example", 8883, "a.example"),
        BrokerEndpoint("localhost", 8884, "127.0.0.1"),
    )
    assert link.endpoint == link.config.endpoints[0]


def test_broker_settings_take_a_tuple_of_urls() -> None:
    """A bare string would be read letter by letter: refused, as is no URL at all."""
    with pytest.raises(ValueError, match="tuple"):
        BrokerSettings("mqtts://a.example", "")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tuple"):
        BrokerSettings((), "")


@pytest.mark.parametrize(
    "brokers",
    [
        ["mqtts://127.0.0.1:8883", f"mqtts://lock:{SECRET}@127.0.0.1:8884"],
        [f"mqtts://127.0.0.1:8883,mqtts://lock:{SECRET}@127.0.0.1:8884"],
    ],
)
def test_lock_command_refuses_credentials_in_any_broker_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], brokers: list[str]
) -> None:
    """`--broker` repeated or with commas: a second URL with credentials stops it alike."""
    options = [arg for url in brokers for arg in ("--broker", url)]
    code = main(
        [
            "lock",
            "--state-dir",
            str(tmp_path / "lock"),
            *options,
            "--broker-ca",
            str(tmp_path / "ca.crt"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("error: ")
    assert len(captured.err.splitlines()) == 1
    assert "credentials" in captured.err
    assert SECRET not in captured.out + captured.err
    assert not (tmp_path / "lock").exists()


def test_client_refuses_a_broker_node_given_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same node twice is one `error:` line, and nothing is saved or dialled."""
    profile = tmp_path / "profile.json"
    port = free_port()
    code = main(
        [
            "client",
            "--profile",
            str(profile),
            "pair",
            foreign_code().manual_code(),
            "--broker",
            f"mqtts://127.0.0.1:{port}",
            "--broker",
            f"mqtts://127.0.0.1:{port}",
            "--broker-ca",
            str(tmp_path / "ca.crt"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.splitlines() == [
        "error: --broker: the same broker node is given twice"
    ]
    assert not profile.exists()


def test_a_relay_link_hears_only_its_own_recipient_topics() -> None:
    """Envelopes to this controller, resync notices, and pairing answers only while pairing."""
    ca_pem = DevCertificateAuthority.create("Test Root").cert_pem.decode()
    broker = BrokerSettings(("mqtts://broker.example:8883",), ca_pem, "user", "secret")
    key_id = bytes(range(16))
    topics = LockTopics.for_lock(LOCK_ID)
    own = topics.up_to(routing_id(LOCK_ID, key_id))
    operating = broker_link(LOCK_ID, broker, LinkUse(key_id))
    pairing = broker_link(LOCK_ID, broker, LinkUse(key_id, pairing=True))
    checking = broker_link(LOCK_ID, broker, PATH_CHECK)
    assert operating.config.frame_topics == {own, topics.up_resync}
    assert pairing.config.frame_topics == {own, topics.up_resync, topics.up_pairing}
    assert checking.config.frame_topics == {topics.up_resync}


def test_lock_command_refuses_a_broker_url_with_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`device_sim lock --broker mqtts://user:pass@…` stops before starting anything."""
    code = main(
        [
            "lock",
            "--state-dir",
            str(tmp_path / "lock"),
            "--broker",
            f"mqtts://lock:{SECRET}@127.0.0.1:8883",
            "--broker-ca",
            str(tmp_path / "ca.crt"),
        ]
    )
    captured = capsys.readouterr()
    # One `error:` line on stderr, exit 1, as every expected CLI failure.
    assert code == 1
    assert captured.err.startswith("error: ")
    assert len(captured.err.splitlines()) == 1
    assert "credentials" in captured.err
    assert SECRET not in captured.out + captured.err
    assert not (tmp_path / "lock").exists()


def test_client_refuses_a_broker_url_with_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`device_sim client pair --broker mqtts://user:pass@…` saves and dials nothing."""
    setup = foreign_code()
    profile = tmp_path / "profile.json"
    code = main(
        [
            "client",
            "--profile",
            str(profile),
            "pair",
            setup.manual_code(),
            "--broker",
            f"mqtts://ha:{SECRET}@127.0.0.1:{free_port()}",
            "--broker-ca",
            str(tmp_path / "ca.crt"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("error: ")
    assert len(captured.err.splitlines()) == 1
    assert "credentials" in captured.err
    assert SECRET not in captured.out + captured.err
    assert not profile.exists()
