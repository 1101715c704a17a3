"""LAN transport, server end: the simulated lock accepts WebSocket links."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import logging
import ssl
import time

from aiohttp import web

from .link import DEFAULT_MAX_FRAME_SIZE, DEFAULT_QUEUE_SIZE
from .rate_limit import TokenBucket
from .ws_link import WebSocketLink, hard_message_limit

_LOGGER = logging.getLogger(__name__)

PATH = "/securelock/v1"
DEFAULT_RATE = 20.0
DEFAULT_BURST = 40.0
# A lock serves a handful of controllers; more connections than this are
# refused before any per-connection state is allocated.
DEFAULT_MAX_CONNECTIONS = 8

type ConnectionHandler = Callable[[WebSocketLink], Awaitable[None]]


class LanFrameServer:
    """Serve WebSocket frame links on ``PATH``; one handler call per connection.

    Each connection gets its own token bucket, so one flooding peer loses its
    own excess frames and nobody else's.  A handler that raises ends its
    connection only; the server keeps running.
    """

    def __init__(
        self,
        handler: ConnectionHandler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        rate: float = DEFAULT_RATE,
        burst: float = DEFAULT_BURST,
        clock: Callable[[], float] = time.monotonic,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        """Configure the server; :meth:`start` binds it."""
        self._handler = handler
        self._host = host
        self._port = port
        self._ssl = ssl_context
        self._max_frame_size = max_frame_size
        self._queue_size = queue_size
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._max_connections = max_connections
        self.refused_connections = 0
        self._runner: web.AppRunner | None = None
        self.links: set[WebSocketLink] = set()

    @property
    def port(self) -> int:
        """Return the bound port (after :meth:`start`)."""
        return self._port

    @property
    def url(self) -> str:
        """Return the URL clients dial."""
        scheme = "wss" if self._ssl is not None else "ws"
        return f"{scheme}://{self._host}:{self._port}{PATH}"

    async def start(self) -> None:
        """Bind and start serving."""
        app = web.Application()
        app.router.add_get(PATH, self._serve)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, ssl_context=self._ssl)
        await site.start()
        self._runner = runner
        address = runner.addresses[0]
        self._port = int(address[1])

    async def stop(self) -> None:
        """Close every link and stop serving."""
        for link in list(self.links):
            await link.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        if len(self.links) >= self._max_connections:
            self.refused_connections += 1
            return web.Response(status=503, text="too many connections")
        ws = web.WebSocketResponse(
            max_msg_size=hard_message_limit(self._max_frame_size), autoping=True
        )
        await ws.prepare(request)
        link = WebSocketLink(
            max_frame_size=self._max_frame_size,
            queue_size=self._queue_size,
            rate_limit=TokenBucket(self._rate, self._burst, self._clock),
        )
        link._attach(ws)  # noqa: SLF001 - same package, server side of the link
        self.links.add(link)
        handler = asyncio.current_task()
        try:
            await self._handler(link)
        except asyncio.CancelledError:
            if handler is not None and handler.cancelling():
                raise
        except Exception:
            _LOGGER.exception("LAN connection handler failed")
        finally:
            self.links.discard(link)
            await link.close()
        return ws
