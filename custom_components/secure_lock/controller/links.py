"""How a controller reaches its lock: the LAN WebSocket or the MQTT relay.

Shared by Home Assistant and the command-line controller, so both dial the
same way and refuse the same bad addresses.  Like the rest of `controller`,
it never imports Home Assistant.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum
import ipaddress
import ssl
from urllib.parse import urlsplit

import aiohttp

from ..protocol.envelope import routing_id
from ..protocol.errors import SecureLockError
from ..transport import (
    LockTopics,
    MqttFrameLink,
    MqttLinkConfig,
    MqttRole,
    WebSocketFrameLink,
    client_tls_context,
)
from ..transport.link import FrameLink

LAN_PATH = "/securelock/v1"
DEFAULT_LAN_PORT = 8765
DEFAULT_BROKER_PORT = 8883


class LinkKind(StrEnum):
    """Which path a controller prefers when the lock has both."""

    LAN = "lan"
    BROKER = "broker"


class LinkSettingsError(SecureLockError, ValueError):
    """An address, URL or certificate that cannot be used; `key` names which."""

    def __init__(self, key: str, message: str) -> None:
        """Keep a stable key for translations beside the message."""
        super().__init__(message)
        self.key = key


class BrokerUrlCredentialsError(LinkSettingsError):
    """A broker URL with a user name or password in it (`user:pass@host`).

    Credentials belong in their own fields: a URL is shown in forms,
    diagnostics and logs, where a password must never be.  The message
    never repeats the URL.
    """

    def __init__(self) -> None:
        """Use the translation key the forms show."""
        super().__init__(
            "broker_url_credentials",
            "the broker URL contains credentials; give the user name and "
            "password separately",
        )


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    """An MQTT relay the lock is reachable through (TLS always)."""

    url: str
    ca_pem: str = field(repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        """Return the broker's host name or address."""
        host = urlsplit(self.url).hostname
        assert host is not None  # checked by parse_broker_url
        return host

    @property
    def port(self) -> int:
        """Return the broker's controller port."""
        return urlsplit(self.url).port or DEFAULT_BROKER_PORT


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """Every way this controller may reach one lock."""

    lock_id: bytes
    lan_url: str | None = None
    broker: BrokerSettings | None = None
    prefer: LinkKind = LinkKind.LAN

    def order(self) -> list[LinkKind]:
        """Return the configured paths, preferred first."""
        available = [
            kind
            for kind, present in (
                (LinkKind.LAN, self.lan_url is not None),
                (LinkKind.BROKER, self.broker is not None),
            )
            if present
        ]
        return sorted(available, key=lambda kind: kind is not self.prefer)


def lan_url(address: str) -> str:
    """Turn what a user typed (host, host:port or a URL) into the lock's URL."""
    text = address.strip()
    if not text:
        raise LinkSettingsError("invalid_address", "no address given")
    if "://" not in text:
        text = f"ws://{text}"
    try:
        url = urlsplit(text)
        port = url.port or DEFAULT_LAN_PORT
    except ValueError as err:
        raise LinkSettingsError("invalid_address", str(err)) from None
    if url.scheme not in ("ws", "wss") or not url.hostname:
        raise LinkSettingsError("invalid_address", "expected host[:port] or ws://")
    host = url.hostname
    if ":" in host:
        host = f"[{host}]"
    return f"{url.scheme}://{host}:{port}{url.path or LAN_PATH}"


def parse_broker_url(text: str) -> str:
    """Check a broker URL; only TLS (`mqtts://`) without credentials is accepted.

    The one parser for every place a broker URL is entered (config flow,
    command-line lock and client), so all refuse `user:pass@` alike.
    """
    try:
        url = urlsplit(text.strip())
    except ValueError:
        raise LinkSettingsError("invalid_broker_url", "not a URL") from None
    # Before the port: `mqtts://user:secret` would otherwise be read as a
    # bad port, and the error would quote the secret.
    if "@" in url.netloc:
        raise BrokerUrlCredentialsError
    try:
        _ = url.port
    except ValueError:
        raise LinkSettingsError(
            "invalid_broker_url", "the port is not a number from 0 to 65535"
        ) from None
    if url.scheme != "mqtts" or not url.hostname:
        raise LinkSettingsError("invalid_broker_url", "expected mqtts://HOST[:PORT]")
    return url.geturl()


def check_ca_pem(ca_pem: str) -> None:
    """Raise `LinkSettingsError` unless the text holds a usable CA certificate."""
    try:
        client_tls_context(ca_pem=ca_pem)
    except ssl.SSLError, ValueError:
        raise LinkSettingsError("invalid_ca", "not a PEM CA certificate") from None


def broker_server_name(broker: BrokerSettings) -> str:
    """Return the name the broker's certificate must carry."""
    host = broker.host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    # A certificate names the broker; a bare loopback address is the
    # development broker, whose certificate is issued for localhost.
    return "localhost" if address.is_loopback else host


def broker_tls(broker: BrokerSettings) -> ssl.SSLContext:
    """Return the TLS context that verifies the broker (blocks: loads certificates)."""
    return client_tls_context(ca_pem=broker.ca_pem)


@dataclass(frozen=True, slots=True)
class LinkUse:
    """Who opens a link and for what: what its relay subscriptions must cover."""

    controller_key_id: bytes | None
    """Whose envelopes the link receives; None only to check that a path works."""
    pairing: bool = False
    """Also receive the lock's sealed pairing answers (only while pairing)."""

    def routing_id(self, lock_id: bytes) -> bytes | None:
        """Return this controller's routing id at the lock (protocol.md 8)."""
        if self.controller_key_id is None:
            return None
        return routing_id(lock_id, self.controller_key_id)


PATH_CHECK = LinkUse(controller_key_id=None)
"""Opening a path only to see that the lock (or its relay account) answers."""


def _broker_link(lock_id: bytes, broker: BrokerSettings, use: LinkUse) -> MqttFrameLink:
    return MqttFrameLink(
        MqttLinkConfig(
            role=MqttRole.CONTROLLER,
            topics=LockTopics.for_lock(lock_id),
            routing_id=use.routing_id(lock_id),
            hears_pairing=use.pairing,
            port=broker.port,
            tls=broker_tls(broker),
            server_name=broker_server_name(broker),
            address=broker.host,
            username=broker.username,
            password=broker.password,
        )
    )


async def open_link(
    settings: LinkSettings,
    kind: LinkKind,
    use: LinkUse,
    *,
    session: aiohttp.ClientSession,
) -> FrameLink:
    """Connect over one path; raise `TransportError` when the lock is not reachable.

    The TLS context loads certificates, which blocks, so it is built in an
    executor thread; `session` is borrowed for the LAN path (Home Assistant
    passes its shared one).  Over the relay the link receives only the
    frames ``use`` needs: envelopes to this controller (and pairing answers
    while pairing).
    """
    if kind is LinkKind.LAN:
        assert settings.lan_url is not None
        ws = WebSocketFrameLink(settings.lan_url, session=session)
        await ws.connect()
        return ws
    assert settings.broker is not None
    loop = asyncio.get_running_loop()
    link = await loop.run_in_executor(
        None, _broker_link, settings.lock_id, settings.broker, use
    )
    await link.connect()
    return link
