"""LAN admission: a connection must authenticate in time, and idle ones cannot fill the slots.

Real sockets on loopback.  Clients come from 127.0.0.1, .2 and .3 (all
loopback on Linux) so per-address limits can be told apart.  The deadline is
a fraction of a second here; nothing waits longer than it needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import os
from pathlib import Path

import aiohttp
import pytest

from custom_components.secure_lock.controller import (
    LockClient,
    PairingTimedOut,
    pair_over_link,
)
from custom_components.secure_lock.protocol import ControllerIdentity, SetupCode
from custom_components.secure_lock.protocol.channel import Channel, wrap
from custom_components.secure_lock.transport import LanFrameServer, NotConnected
from custom_components.secure_lock.transport.ws import WebSocketFrameLink
from custom_components.secure_lock.transport.ws_link import WebSocketLink
from device_sim.lock_device import DeviceConfig
from device_sim.lock_runtime import LockRuntime, RuntimeOptions
from device_sim.mechanism import MechanismConfig

from .helpers import wait_until

DEADLINE = 0.3
# Long enough for the whole scene below to happen before it on a loaded machine.
RUNTIME_DEADLINE = 2.0


async def echo(link: WebSocketLink) -> None:
    """Send every received frame back."""
    async for frame in link:
        await link.send(frame)


type Dial = Callable[[str, str], Awaitable[WebSocketFrameLink]]


@pytest.fixture(name="dial")
async def dial_fixture() -> AsyncIterator[Dial]:
    """Return ``dial(url, source_address)``; every link and session is closed afterwards."""
    sessions: list[aiohttp.ClientSession] = []
    links: list[WebSocketFrameLink] = []

    async def _dial(url: str, source: str) -> WebSocketFrameLink:
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(source, 0))
        )
        sessions.append(session)
        link = WebSocketFrameLink(url, session=session)
        links.append(link)
        await link.connect()
        return link

    yield _dial
    for link in links:
        await link.close()
    for session in sessions:
        await session.close()


@pytest.fixture(name="serve")
async def serve_fixture() -> AsyncIterator[Callable[..., Awaitable[LanFrameServer]]]:
    """Return a factory for started echo servers; all are stopped afterwards."""
    servers: list[LanFrameServer] = []

    async def _serve(**kwargs: float) -> LanFrameServer:
        server = LanFrameServer(echo, **kwargs)  # type: ignore[arg-type]
        await server.start()
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        await server.stop()


def _server_link(server: LanFrameServer, known: set[WebSocketLink]) -> WebSocketLink:
    (new,) = server.links - known
    return new


async def test_unauthenticated_connection_is_closed_at_the_deadline(
    serve: Callable[..., Awaitable[LanFrameServer]], dial: Dial
) -> None:
    """Only the connection the lock vouched for outlives the deadline."""
    server = await serve(auth_deadline=DEADLINE)
    trusted = await dial(server.url, "127.0.0.1")
    await wait_until(lambda: len(server.links) == 1)
    server.authenticated(_server_link(server, set()))
    idle = await dial(server.url, "127.0.0.1")
    await wait_until(lambda: not idle.connected)
    assert server.closed_unauthenticated == 1
    # Both deadlines have passed; the authenticated one still works.
    await trusted.send(b"still here")
    assert await trusted.receive() == b"still here"
    assert len(server.links) == 1


async def test_one_address_holds_at_most_four_connections(
    serve: Callable[..., Awaitable[LanFrameServer]], dial: Dial
) -> None:
    """A fifth connection from one address is refused; another address still gets in."""
    server = await serve()
    for _ in range(4):
        await dial(server.url, "127.0.0.2")
    with pytest.raises(NotConnected):
        await dial(server.url, "127.0.0.2")
    assert server.refused_connections == 1
    other = await dial(server.url, "127.0.0.3")
    await other.send(b"hello")
    assert await other.receive() == b"hello"


async def test_full_server_pushes_out_the_oldest_unauthenticated(
    serve: Callable[..., Awaitable[LanFrameServer]], dial: Dial
) -> None:
    """Idle connections give way to a newcomer; authenticated ones never do."""
    server = await serve(max_connections=3)
    first = await dial(server.url, "127.0.0.2")
    await wait_until(lambda: len(server.links) == 1)
    kept = _server_link(server, set())
    server.authenticated(kept)
    second = await dial(server.url, "127.0.0.2")
    third = await dial(server.url, "127.0.0.2")
    await wait_until(lambda: len(server.links) == 3)

    newcomer = await dial(server.url, "127.0.0.3")
    await wait_until(lambda: not second.connected)
    assert third.connected and first.connected
    assert server.closed_unauthenticated == 1
    await newcomer.send(b"in")
    assert await newcomer.receive() == b"in"

    for link in set(server.links):
        server.authenticated(link)
    with pytest.raises(NotConnected):
        await dial(server.url, "127.0.0.3")
    assert server.refused_connections == 1
    assert server.is_authenticated(kept)
    server.authenticated(kept)
    await first.close()
    await wait_until(lambda: kept not in server.links)
    assert not server.is_authenticated(kept)
    server.authenticated(kept)
    assert kept not in server.links


@pytest.mark.parametrize(
    "limits",
    [{"max_connections": 0}, {"max_per_address": 0}, {"auth_deadline": 0.0}],
)
def test_limits_must_be_positive(limits: dict[str, float]) -> None:
    """A zero limit or deadline would refuse or drop every controller."""
    with pytest.raises(ValueError, match="positive"):
        LanFrameServer(echo, **limits)  # type: ignore[arg-type]


@pytest.fixture(name="runtime")
async def runtime_fixture(tmp_path: Path) -> AsyncIterator[LockRuntime]:
    """Run a real lock on the LAN with a short authentication deadline."""
    runtime = LockRuntime(
        RuntimeOptions(
            state_dir=tmp_path / "lock",
            device=DeviceConfig(mechanism=MechanismConfig(motor_seconds=0)),
            lan=("127.0.0.1", 0),
            admin_socket=False,
            lan_auth_deadline=RUNTIME_DEADLINE,
        )
    )
    await runtime.start()
    yield runtime
    await runtime.stop()


async def test_idle_sockets_cannot_take_the_lan_from_a_controller(
    runtime: LockRuntime, dial: Dial
) -> None:
    """Eight idle sockets, junk and a hello outside the pairing window hold no slot.

    The controller paired during the window keeps its connection past the
    deadline; a reconnecting controller gets in although every slot was
    taken, and is answered.
    """
    lan, device = runtime.lan, runtime.device
    assert lan is not None and device is not None
    payload = SetupCode.parse(device.element.label_code.qr_text())

    device.press_button()
    ha_link = await dial(lan.url, "127.0.0.3")
    identity = ControllerIdentity.generate()
    outcome = await pair_over_link(ha_link, identity, payload, "HA", timeout=10)
    device.pairing.close_window()
    ha = LockClient(ha_link, identity, outcome.lock)
    await ha.start()

    idle = [await dial(lan.url, "127.0.0.1") for _ in range(4)]
    with pytest.raises(NotConnected):
        await dial(lan.url, "127.0.0.1")
    idle += [await dial(lan.url, "127.0.0.2") for _ in range(4)]
    # Eight slots: Home Assistant held one, so the oldest idle one gave way.
    assert len(lan.links) == 8
    assert lan.closed_unauthenticated == 1
    await wait_until(lambda: not idle[0].connected)

    reconnect = await dial(lan.url, "127.0.0.3")
    again = LockClient(reconnect, identity, ha.paired_lock)
    await again.start()
    assert (await again.status()).status is not None

    junk = await dial(lan.url, "127.0.0.3")
    await junk.send(wrap(Channel.ENVELOPE, os.urandom(300)))
    stranger = await dial(lan.url, "127.0.0.4")
    with pytest.raises(PairingTimedOut):
        await pair_over_link(
            stranger, ControllerIdentity.generate(), payload, "late", timeout=1
        )

    await wait_until(
        lambda: (
            not junk.connected
            and not stranger.connected
            and not any(link.connected for link in idle)
        )
    )
    assert ha_link.connected and reconnect.connected
    assert (await ha.status()).status is not None
    assert len(lan.links) == 2
    await again.close()
    await ha.close()


async def test_a_plain_http_request_holds_no_slot(
    serve: Callable[..., Awaitable[LanFrameServer]], dial: Dial
) -> None:
    """A GET that is not a WebSocket handshake is refused and leaves nothing behind."""
    server = await serve(auth_deadline=DEADLINE, max_connections=1)
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(server.url.replace("ws://", "http://")) as answer:
                assert answer.status == 400
    # The one slot is still free for a real client.
    link = await dial(server.url, "127.0.0.1")
    await link.send(b"ping")
    assert await link.receive() == b"ping"
    assert server.refused_connections == 0


async def test_a_deadline_that_fires_late_spares_an_authenticated_link(
    serve: Callable[..., Awaitable[LanFrameServer]], dial: Dial
) -> None:
    """Vouched for just before its deadline ran: the connection stays."""
    server = await serve(auth_deadline=60)
    link = await dial(server.url, "127.0.0.1")
    await wait_until(lambda: len(server.links) == 1)
    server_link = _server_link(server, set())
    server.authenticated(server_link)
    server.authenticated(server_link)  # twice is harmless
    connection = server._connections[server_link]  # noqa: SLF001 - the late timer's view
    server._drop_unauthenticated(connection)  # noqa: SLF001
    assert server.closed_unauthenticated == 0
    await link.send(b"still here")
    assert await link.receive() == b"still here"


async def test_a_failing_handler_closes_only_its_connection(dial: Dial) -> None:
    """A handler that raises (or whose inner task was cancelled) ends only its connection."""
    calls = 0

    async def flaky(link: WebSocketLink) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("handler bug")
        if calls == 2:
            # A task inside the handler was cancelled, not the server.
            raise asyncio.CancelledError
        await echo(link)

    server = LanFrameServer(flaky, auth_deadline=60)
    await server.start()
    try:
        assert f":{server.port}/" in server.url
        for _ in range(2):
            broken = await dial(server.url, "127.0.0.1")
            await wait_until(lambda: not broken.connected)  # noqa: B023
        second = await dial(server.url, "127.0.0.1")
        await second.send(b"ok")
        assert await second.receive() == b"ok"
        assert server.is_authenticated(_server_link(server, set())) is False
    finally:
        await server.stop()
