"""LAN transport, server end: the simulated lock accepts WebSocket links."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
# One host (a guest's laptop) cannot hold more than half of the slots.
DEFAULT_MAX_PER_ADDRESS = 4
# A controller sends its first frame (a status request, or a pairing hello)
# right after connecting; ten seconds leaves room for a slow Wi-Fi link and
# its own retry, and bounds how long an idle connection holds a slot.
DEFAULT_AUTH_DEADLINE = 10.0

type ConnectionHandler = Callable[[WebSocketLink], Awaitable[None]]


@dataclass(slots=True, eq=False)
class _Connection:
    """Bookkeeping for one accepted connection."""

    link: WebSocketLink
    address: str
    authenticated: bool = False
    deadline: asyncio.TimerHandle | None = None


class LanFrameServer:
    """Serve WebSocket frame links on ``PATH``; one handler call per connection.

    Each connection gets its own token bucket, so one flooding peer loses its
    own excess frames and nobody else's.  A handler that raises ends its
    connection only; the server keeps running.

    A connection holds its slot only if it authenticates: whoever serves the
    frames (the lock) calls :meth:`authenticated` once a frame on it proved
    itself.  Until then it is closed at ``auth_deadline`` seconds, and when
    every slot is taken a new connection pushes out the oldest one that has
    not authenticated.  One remote address holds at most ``max_per_address``
    connections, so idle sockets cannot crowd out Home Assistant.
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
        max_per_address: int = DEFAULT_MAX_PER_ADDRESS,
        auth_deadline: float = DEFAULT_AUTH_DEADLINE,
    ) -> None:
        """Configure the server; :meth:`start` binds it."""
        if max_connections < 1 or max_per_address < 1 or auth_deadline <= 0:
            raise ValueError("connection limits and the deadline must be positive")
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
        self._max_per_address = max_per_address
        self._auth_deadline = auth_deadline
        self.refused_connections = 0
        self.closed_unauthenticated = 0
        self._runner: web.AppRunner | None = None
        self.links: set[WebSocketLink] = set()
        # Insertion order is age order: the first unauthenticated one is the oldest.
        self._connections: dict[WebSocketLink, _Connection] = {}
        self._closing: set[asyncio.Task[None]] = set()

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
        for task in list(self._closing):
            await task
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def authenticated(self, link: WebSocketLink) -> None:
        """Mark ``link`` as authenticated: it keeps its slot from now on."""
        connection = self._connections.get(link)
        if connection is None or connection.authenticated:
            return
        connection.authenticated = True
        if connection.deadline is not None:
            connection.deadline.cancel()
            connection.deadline = None

    def is_authenticated(self, link: WebSocketLink) -> bool:
        """Return whether ``link`` authenticated (False once it is gone)."""
        connection = self._connections.get(link)
        return connection is not None and connection.authenticated

    def _admit(self, address: str) -> bool:
        """Make room for a connection from ``address``, or say it must be refused."""
        if (
            sum(c.address == address for c in self._connections.values())
            >= self._max_per_address
        ):
            return False
        if len(self._connections) < self._max_connections:
            return True
        oldest = next(
            (c for c in self._connections.values() if not c.authenticated), None
        )
        if oldest is None:
            return False
        self._drop_unauthenticated(oldest)
        return True

    def _drop_unauthenticated(self, connection: _Connection) -> None:
        # Gone already, or vouched for since (a deadline that fired late).
        if (
            self._connections.get(connection.link) is not connection
            or connection.authenticated
        ):
            return
        self._forget(connection)
        self.closed_unauthenticated += 1
        _LOGGER.debug("Closed a LAN connection that did not authenticate")
        task = asyncio.get_running_loop().create_task(connection.link.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _forget(self, connection: _Connection) -> None:
        if connection.deadline is not None:
            connection.deadline.cancel()
            connection.deadline = None
        self._connections.pop(connection.link, None)
        self.links.discard(connection.link)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        address = request.remote or ""
        if not self._admit(address):
            self.refused_connections += 1
            return web.Response(status=503, text="too many connections")
        link = WebSocketLink(
            max_frame_size=self._max_frame_size,
            queue_size=self._queue_size,
            rate_limit=TokenBucket(self._rate, self._burst, self._clock),
        )
        # The slot is taken before the handshake awaits, so concurrent
        # handshakes cannot all pass the limits at once.
        connection = _Connection(link, address)
        connection.deadline = asyncio.get_running_loop().call_later(
            self._auth_deadline, self._drop_unauthenticated, connection
        )
        self._connections[link] = connection
        ws = web.WebSocketResponse(
            max_msg_size=hard_message_limit(self._max_frame_size), autoping=True
        )
        try:
            await ws.prepare(request)
        except BaseException:
            self._forget(connection)
            raise
        if self._connections.get(link) is not connection:
            # Pushed out or timed out during the handshake.
            await ws.close()
            return ws
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
            if self._connections.get(link) is connection:
                self._forget(connection)
            await link.close()
        return ws
