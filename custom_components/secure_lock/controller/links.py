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
    BrokerEndpoint,
    DiscoveryTopics,
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
BROKER_URL_SEPARATOR = ","
"""Between the URLs of a broker's nodes, wherever they are entered or stored."""


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
    """An MQTT relay the lock is reachable through (TLS always).

    ``urls`` name the broker's nodes in the order they are tried (one for a
    single broker): every node serves the same certificate names, accounts
    and ACLs (see docs/transport.md, "Several broker nodes").
    """

    urls: tuple[str, ...]
    ca_pem: str = field(repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        """Refuse an empty list (a str here would be read letter by letter)."""
        if not self.urls or type(self.urls) is not tuple:
            raise ValueError("urls is a non-empty tuple of broker URLs")

    @property
    def urls_text(self) -> str:
        """Return the URLs as entered and stored: separated by commas."""
        return f"{BROKER_URL_SEPARATOR} ".join(self.urls)

    @property
    def endpoints(self) -> tuple[BrokerEndpoint, ...]:
        """Return each node: the name its certificate carries, address, port."""
        return tuple(_endpoint(url) for url in self.urls)


def _endpoint(url: str) -> BrokerEndpoint:
    parts = urlsplit(url)
    host = parts.hostname
    assert host is not None  # checked by parse_broker_url
    port = parts.port or DEFAULT_BROKER_PORT
    return BrokerEndpoint(_server_name(host), port, host)


def _server_name(host: str) -> str:
    """Return the name the broker's certificate must carry."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    # A certificate names the broker; a bare loopback address is the
    # development broker, whose certificate is issued for localhost.
    return "localhost" if address.is_loopback else host


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


def split_broker_urls(text: str) -> tuple[str, ...]:
    """Return the URLs in ``text`` as written (commas between, blanks around ignored)."""
    pieces = (piece.strip() for piece in text.split(BROKER_URL_SEPARATOR))
    return tuple(piece for piece in pieces if piece)


def parse_broker_urls(text: str) -> tuple[str, ...]:
    """Check a list of broker URLs separated by commas (one URL is the usual case).

    Each URL passes `parse_broker_url`; the first bad one decides the error,
    so a URL with credentials among good ones is refused as such.  A node
    given twice is refused: it would only be waited on twice in a row.
    """
    urls = tuple(parse_broker_url(piece) for piece in split_broker_urls(text))
    if not urls:
        raise LinkSettingsError("invalid_broker_url", "no broker URL given")
    nodes = [
        (endpoint.dial_address, endpoint.port) for endpoint in map(_endpoint, urls)
    ]
    if len(set(nodes)) != len(nodes):
        raise LinkSettingsError(
            "broker_url_repeated", "the same broker node is given twice"
        )
    return urls


def check_ca_pem(ca_pem: str) -> None:
    """Raise `LinkSettingsError` unless the text holds a usable CA certificate."""
    try:
        client_tls_context(ca_pem=ca_pem)
    except ssl.SSLError, ValueError:
        raise LinkSettingsError("invalid_ca", "not a PEM CA certificate") from None


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


def broker_link_config(
    broker: BrokerSettings,
    role: MqttRole,
    topics: LockTopics | DiscoveryTopics,
    tls: ssl.SSLContext,
    *,
    routing_id: bytes | None = None,
    hears_pairing: bool = False,
) -> MqttLinkConfig:
    """Return the link settings for ``broker``'s nodes, first node first."""
    first, *others = broker.endpoints
    return MqttLinkConfig(
        role=role,
        topics=topics,
        routing_id=routing_id,
        hears_pairing=hears_pairing,
        port=first.port,
        tls=tls,
        server_name=first.server_name,
        address=first.address,
        fallbacks=tuple(others),
        username=broker.username,
        password=broker.password,
    )


def broker_link(lock_id: bytes, broker: BrokerSettings, use: LinkUse) -> MqttFrameLink:
    """Return a controller's link to one lock through ``broker``'s nodes (not connected)."""
    return MqttFrameLink(
        broker_link_config(
            broker,
            MqttRole.CONTROLLER,
            LockTopics.for_lock(lock_id),
            broker_tls(broker),
            routing_id=use.routing_id(lock_id),
            hears_pairing=use.pairing,
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
        None, broker_link, settings.lock_id, settings.broker, use
    )
    await link.connect()
    return link
