"""LAN transport, client end: the controller dials the lock's WebSocket."""

from __future__ import annotations

import asyncio
import ssl
from typing import override

import aiohttp

from .errors import NotConnected, TlsFailure
from .link import DEFAULT_MAX_FRAME_SIZE, DEFAULT_QUEUE_SIZE
from .ws_link import WebSocketLink, hard_message_limit

CONNECT_TIMEOUT = 10.0
LAN_SEND_RATE = 15.0
"""Frames per second sent to a lock: under its LAN server's 20 per connection
(``ws_server.DEFAULT_RATE``), with room for the status requests in between."""


class WebSocketFrameLink(WebSocketLink):
    """A WebSocket client link to a lock on the local network.

    Frames are end-to-end encrypted and authenticated by the protocol, so a
    plain ``ws://`` URL is acceptable on the LAN.  When ``ssl_context`` is
    given (``wss://``) it is used as is; pass a verifying context.

    The HTTP ``session`` belongs to the caller (Home Assistant's shared one,
    or one the command-line tool opens and closes): a link never makes its
    own, so none is left unclosed.
    """

    def __init__(
        self,
        url: str,
        *,
        session: aiohttp.ClientSession,
        ssl_context: ssl.SSLContext | None = None,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        send_rate: float | None = LAN_SEND_RATE,
    ) -> None:
        """Prepare the link; ``session`` is borrowed, never closed here."""
        super().__init__(max_frame_size=max_frame_size, queue_size=queue_size)
        if ssl_context is not None and (
            ssl_context.verify_mode != ssl.CERT_REQUIRED
            or not ssl_context.check_hostname
        ):
            raise ValueError("TLS context must verify the peer")
        self._url = url
        self._send_rate = send_rate
        self._session = session
        self._ssl: ssl.SSLContext | bool = (
            ssl_context if ssl_context is not None else True
        )

    @property
    @override
    def send_rate(self) -> float | None:
        return self._send_rate

    async def connect(self) -> None:
        """Open the WebSocket; raise :class:`NotConnected` or :class:`TlsFailure`."""
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                ws = await self._session.ws_connect(
                    self._url,
                    ssl=self._ssl,
                    max_msg_size=hard_message_limit(self.max_frame_size),
                    timeout=aiohttp.ClientWSTimeout(ws_close=CONNECT_TIMEOUT),
                    autoping=True,
                )
        except aiohttp.ClientSSLError as err:
            raise TlsFailure(f"TLS failed: {err}") from None
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise NotConnected(f"cannot open WebSocket: {err}") from None
        self._attach(ws)
