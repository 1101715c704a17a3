"""A FrameLink over one established aiohttp WebSocket (either end)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import override

import aiohttp
from aiohttp import web

from .errors import NotConnected
from .link import DEFAULT_MAX_FRAME_SIZE, DEFAULT_QUEUE_SIZE, FrameLink
from .rate_limit import TokenBucket

_LOGGER = logging.getLogger(__name__)

# aiohttp itself fails the connection above this size (close code 1009); below
# it, oversize frames are only dropped and counted by the link.
HARD_LIMIT_FACTOR = 4

type AnyWebSocket = aiohttp.ClientWebSocketResponse | web.WebSocketResponse


def hard_message_limit(max_frame_size: int) -> int:
    """Return the size at which aiohttp should give up on the connection."""
    return max_frame_size * HARD_LIMIT_FACTOR


class WebSocketLink(FrameLink):
    """Binary frames over a WebSocket that is already open.

    A WebSocket link carries exactly one connection: when it ends, the link is
    closed and iteration stops.  Text frames are not part of the protocol and
    are dropped and counted.  An optional token bucket drops frames that
    arrive faster than the peer is allowed to send them.
    """

    def __init__(
        self,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        rate_limit: TokenBucket | None = None,
    ) -> None:
        """Create an unattached link; :meth:`_attach` starts it."""
        super().__init__(max_frame_size=max_frame_size, queue_size=queue_size)
        self._ws: AnyWebSocket | None = None
        self._rate_limit = rate_limit
        self._pump_task: asyncio.Task[None] | None = None

    @property
    @override
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed and not self._closed

    def _attach(self, ws: AnyWebSocket) -> None:
        self._ws = ws
        self._pump_task = asyncio.get_running_loop().create_task(self._pump(ws))

    async def _pump(self, ws: AnyWebSocket) -> None:
        try:
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.BINARY:
                    if message.type is aiohttp.WSMsgType.ERROR:
                        _LOGGER.debug("WebSocket error: %s", ws.exception())
                        break
                    self.stats.dropped_unexpected += 1
                    continue
                if self._rate_limit is not None and not self._rate_limit.allow():
                    self.stats.dropped_rate_limited += 1
                    continue
                self._deliver(bytes(message.data))
        finally:
            self._shut_inbox()

    @override
    async def send(self, frame: bytes, *, expiry_s: int | None = None) -> None:
        # A direct connection holds nothing back: there is nothing to expire.
        self._check_outgoing(frame)
        ws = self._ws
        if ws is None or ws.closed:
            raise NotConnected("WebSocket not connected")
        try:
            await ws.send_bytes(frame)
        except (ConnectionError, aiohttp.ClientError) as err:
            raise NotConnected(f"WebSocket send failed: {err}") from None
        self.stats.frames_sent += 1

    @override
    async def close(self) -> None:
        self._shut_inbox()
        ws, task = self._ws, self._pump_task
        if ws is not None and not ws.closed:
            await ws.close()
        if task is not None and not task.done():
            task.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
