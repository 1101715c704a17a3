"""LAN WebSocket link: round trip, binary only, size limits, per-connection rate limit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
import ssl

import aiohttp
import pytest

from custom_components.secure_lock.transport import (
    FrameTooLarge,
    LanFrameServer,
    NotConnected,
    TlsFailure,
    WebSocketFrameLink,
    client_tls_context,
)
from custom_components.secure_lock.transport.ws import LAN_SEND_RATE
from custom_components.secure_lock.transport.ws_link import WebSocketLink
from custom_components.secure_lock.transport.ws_server import DEFAULT_RATE

from .helpers import ManualClock, wait_until

type Server = Callable[..., Awaitable[LanFrameServer]]


async def echo(link: WebSocketLink) -> None:
    """Send every received frame back."""
    async for frame in link:
        await link.send(frame)


@pytest.fixture
async def serve() -> AsyncIterator[Server]:
    """Return a factory for started servers; all are stopped afterwards."""
    servers: list[LanFrameServer] = []

    async def _serve(
        handler: Callable[[WebSocketLink], Awaitable[None]] = echo, **kwargs: object
    ) -> LanFrameServer:
        server = LanFrameServer(handler, **kwargs)  # type: ignore[arg-type]
        await server.start()
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        await server.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return the HTTP session the links borrow (the test owns it)."""
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture
async def clients(
    session: aiohttp.ClientSession,
) -> AsyncIterator[Callable[..., WebSocketFrameLink]]:
    """Return a factory for client links; all are closed afterwards."""
    made: list[WebSocketFrameLink] = []

    def _client(url: str, **kwargs: int) -> WebSocketFrameLink:
        link = WebSocketFrameLink(url, session=session, **kwargs)
        made.append(link)
        return link

    yield _client
    for link in made:
        await link.close()


async def test_round_trip(
    serve: Server, clients: Callable[..., WebSocketFrameLink]
) -> None:
    """A binary frame goes to the server and comes back."""
    server = await serve()
    link = clients(server.url)
    await link.connect()
    assert link.connected
    await link.send(b"\x00frame\xff")
    assert await link.receive() == b"\x00frame\xff"
    assert link.stats.frames_sent == 1 and link.stats.frames_received == 1


async def test_flood_is_rate_limited_per_connection(
    serve: Server, clients: Callable[..., WebSocketFrameLink]
) -> None:
    """With time frozen only the burst passes; the rest is dropped and counted."""
    clock = ManualClock()
    server = await serve(rate=10.0, burst=5.0, clock=clock)
    flooder = clients(server.url)
    await flooder.connect()
    for i in range(50):
        await flooder.send(i.to_bytes(2, "big"))
    (server_link,) = server.links
    await wait_until(lambda: server_link.stats.dropped_rate_limited == 45)
    assert server_link.stats.frames_received == 5
    assert [await flooder.receive() for _ in range(5)] == [
        i.to_bytes(2, "big") for i in range(5)
    ]

    # Tokens come back with time, and a second connection has its own bucket.
    clock.advance(0.1)
    await flooder.send(b"later")
    assert await flooder.receive() == b"later"
    polite = clients(server.url)
    await polite.connect()
    await polite.send(b"hello")
    assert await polite.receive() == b"hello"


async def test_oversize_dropped_then_connection_fails_beyond_hard_limit(
    serve: Server, clients: Callable[..., WebSocketFrameLink]
) -> None:
    """Oversize frames are dropped and counted; absurd ones end only that connection."""
    server = await serve(max_frame_size=100)
    link = clients(server.url, max_frame_size=10_000)
    await link.connect()
    await link.send(b"x" * 101)
    await link.send(b"ok")
    assert await link.receive() == b"ok"
    (server_link,) = server.links
    assert server_link.stats.dropped_oversize == 1

    await link.send(b"x" * 5000)
    await wait_until(lambda: not server.links)
    # The server still serves new connections.
    again = clients(server.url)
    await again.connect()
    await again.send(b"still up")
    assert await again.receive() == b"still up"


async def test_text_frames_dropped(serve: Server) -> None:
    """Text frames are not protocol frames: dropped and counted."""
    server = await serve()
    async with aiohttp.ClientSession() as session, session.ws_connect(server.url) as ws:
        await ws.send_str("hello")
        await ws.send_bytes(b"bin")
        assert await ws.receive_bytes() == b"bin"
        (server_link,) = server.links
        assert server_link.stats.dropped_unexpected == 1


async def test_failing_handler_does_not_stop_server(
    serve: Server, clients: Callable[..., WebSocketFrameLink]
) -> None:
    """A handler that raises ends its connection only."""
    calls = 0

    async def flaky(link: WebSocketLink) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("handler bug")
        await echo(link)

    server = await serve(flaky)
    first = clients(server.url)
    await first.connect()
    await wait_until(lambda: not first.connected)
    second = clients(server.url)
    await second.connect()
    await second.send(b"ok")
    assert await second.receive() == b"ok"


async def test_send_errors(
    serve: Server, clients: Callable[..., WebSocketFrameLink]
) -> None:
    """Oversize sends and sends before connecting raise typed errors."""
    server = await serve()
    link = clients(server.url, max_frame_size=8)
    with pytest.raises(NotConnected):
        await link.send(b"early")
    await link.connect()
    with pytest.raises(FrameTooLarge):
        await link.send(b"123456789")
    assert link.stats.frames_sent == 0


async def test_connect_refused(clients: Callable[..., WebSocketFrameLink]) -> None:
    """Nobody listening gives NotConnected."""
    server = LanFrameServer(echo)
    await server.start()
    url = server.url
    await server.stop()
    with pytest.raises(NotConnected):
        await clients(url).connect()


async def test_connection_cap(
    serve: Server, clients: Callable[..., WebSocketFrameLink]
) -> None:
    """Connections beyond the cap are refused once every slot authenticated."""
    server = await serve(max_connections=1)
    first = clients(server.url)
    await first.connect()
    await wait_until(lambda: len(server.links) == 1)
    server.authenticated(next(iter(server.links)))
    with pytest.raises(NotConnected):
        await clients(server.url).connect()
    assert server.refused_connections == 1
    await first.send(b"ok")
    assert await first.receive() == b"ok"


async def test_tls_context_must_verify(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """A context that skips chain or host-name checks is refused up front."""
    lax = ssl.create_default_context()
    lax.check_hostname = False
    with pytest.raises(ValueError, match="must verify"):
        WebSocketFrameLink("wss://127.0.0.1:1/", session=session, ssl_context=lax)
    lax.verify_mode = ssl.CERT_NONE
    with pytest.raises(ValueError, match="must verify"):
        WebSocketFrameLink("wss://127.0.0.1:1/", session=session, ssl_context=lax)
    # Exactly one trust anchor: no anchor would mean no verification, two is ambiguous.
    with pytest.raises(ValueError, match="exactly one"):
        client_tls_context()
    with pytest.raises(ValueError, match="exactly one"):
        client_tls_context(tmp_path / "ca.pem", ca_pem="-----BEGIN CERTIFICATE-----")


async def test_tls_to_a_plain_server_is_a_tls_failure(
    serve: Server, session: aiohttp.ClientSession
) -> None:
    """A wss:// link to a server that does not speak TLS fails as TlsFailure."""
    server = await serve()
    ca = ssl.create_default_context()  # verifies; the handshake never gets that far
    link = WebSocketFrameLink(
        server.url.replace("ws://", "wss://"), session=session, ssl_context=ca
    )
    with pytest.raises(TlsFailure):
        await link.connect()
    assert not link.connected
    await link.close()


async def test_lan_link_tells_its_send_rate(session: aiohttp.ClientSession) -> None:
    """A LAN link says how fast to send (under the lock's per-connection limit)."""
    link = WebSocketFrameLink("ws://127.0.0.1:1/", session=session)
    assert link.send_rate == LAN_SEND_RATE
    assert LAN_SEND_RATE < DEFAULT_RATE
    unpaced = WebSocketFrameLink("ws://127.0.0.1:1/", session=session, send_rate=None)
    assert unpaced.send_rate is None


async def test_link_borrows_its_session(
    serve: Server, session: aiohttp.ClientSession
) -> None:
    """Closing a link, or failing to connect, leaves the owner's session open."""
    server = await serve()
    link = WebSocketFrameLink(server.url, session=session)
    await link.connect()
    await link.close()
    refused = WebSocketFrameLink("ws://127.0.0.1:1/", session=session)
    with pytest.raises(NotConnected):
        await refused.connect()
    assert not session.closed
