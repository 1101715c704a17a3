"""A hostile WebSocket proxy on the LAN path (an attacker on the local network).

The controller dials the proxy as if it were the lock (same path,
``/securelock/v1``); for each connection the proxy opens its own WebSocket to
the real lock and passes binary messages both ways through the same
`FramePath` policy as the MQTT relay: forward, hold, drop, rewrite, duplicate,
reorder, inject.  That is what an attacker who answers for the lock's address
(ARP or DNS spoofing, a rogue access point) can do; plain ``ws://`` is allowed
on the LAN precisely because the protocol does not rely on the path.

Frames injected towards the lock go over the proxy's newest upstream
connection, so they count against that connection's rate limit at the lock,
as they would for a real attacker.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from custom_components.secure_lock.transport.errors import NotConnected

from .hostile_relay import RELAY_MAX_FRAME, Direction, FramePath

PATH = "/securelock/v1"


@dataclass(slots=True)
class _Session:
    downstream: web.WebSocketResponse
    upstream: aiohttp.ClientWebSocketResponse
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class LanProxy(FramePath):
    """Listens on 127.0.0.1 and relays each connection to ``upstream_url``."""

    def __init__(self, upstream_url: str) -> None:
        """Prepare; `start` binds a free port."""
        super().__init__()
        self.upstream_url = upstream_url
        """The real lock's URL (a test updates it when the lock restarts)."""
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._sessions: list[_Session] = []
        self.port = 0

    @property
    def url(self) -> str:
        """Return the URL a controller dials instead of the lock's."""
        return f"ws://127.0.0.1:{self.port}{PATH}"

    async def start(self) -> None:
        """Bind a free local port."""
        app = web.Application()
        app.router.add_get(PATH, self._serve)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._client = aiohttp.ClientSession()

    async def close(self) -> None:
        """Close every relayed connection and stop listening."""
        for session in list(self._sessions):
            await self._end(session)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        assert self._client is not None
        downstream = web.WebSocketResponse(max_msg_size=RELAY_MAX_FRAME)
        await downstream.prepare(request)
        try:
            upstream = await self._client.ws_connect(
                self.upstream_url, max_msg_size=RELAY_MAX_FRAME
            )
        except aiohttp.ClientError, OSError:
            await downstream.close()
            return downstream
        session = _Session(downstream, upstream)
        self._sessions.append(session)
        session.tasks = [
            asyncio.create_task(self._pump(upstream, Direction.UP)),
        ]
        try:
            async for message in downstream:
                if message.type is aiohttp.WSMsgType.BINARY:
                    await self.intercept(Direction.DOWN, message.data)
        finally:
            await self._end(session)
        return downstream

    async def _pump(
        self, source: aiohttp.ClientWebSocketResponse, direction: Direction
    ) -> None:
        async for message in source:
            if message.type is aiohttp.WSMsgType.BINARY:
                await self.intercept(direction, message.data)

    async def _end(self, session: _Session) -> None:
        if session in self._sessions:
            self._sessions.remove(session)
        for task in session.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await session.upstream.close()
        await session.downstream.close()

    async def _deliver(self, direction: Direction, frame: bytes) -> None:
        if not self._sessions:
            raise NotConnected("no connection through the proxy")
        session = self._sessions[-1]
        target = session.upstream if direction is Direction.DOWN else session.downstream
        await target.send_bytes(frame)
