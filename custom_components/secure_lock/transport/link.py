"""The transport interface every link implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from .errors import FrameTooLarge, LinkClosed

# Protocol frames are small and fixed-size; the protocol layer passes its own
# limit.  This default only bounds memory when nobody does.
DEFAULT_MAX_FRAME_SIZE = 4096
DEFAULT_QUEUE_SIZE = 64


@dataclass(slots=True)
class LinkStats:
    """Counters a link keeps; drops never raise, they are counted here."""

    frames_sent: int = 0
    frames_received: int = 0
    dropped_oversize: int = 0
    dropped_overflow: int = 0
    dropped_rate_limited: int = 0
    dropped_unexpected: int = 0
    reconnects: int = 0


class FrameLink(ABC):
    """A bidirectional channel of opaque binary frames.

    Receiving is an async iterator (``async for frame in link``) or
    :meth:`receive`.  Incoming frames larger than :attr:`max_frame_size` are
    dropped and counted, so a hostile peer or relay cannot make the owner
    buffer or parse arbitrary amounts of data.  A full receive queue drops the
    newest frame for the same reason: the protocol retransmits, memory does not
    grow.
    """

    def __init__(
        self,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        """Set the frame limit and the receive queue bound."""
        if max_frame_size < 1 or queue_size < 1:
            raise ValueError("max_frame_size and queue_size must be positive")
        self._max_frame_size = max_frame_size
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue(queue_size)
        self.stats = LinkStats()
        self._closed = False
        self._restored_listeners: list[Callable[[], None]] = []

    def add_restored_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` each time the link connects again by itself.

        Frames sent to us while it was away are lost (nothing is queued for
        an absent client), so an owner that shows the far end's state asks
        for it again.  Only links that reconnect on their own call it; a
        listener lasts as long as the link (its owner closes the link when
        it gives the path up).
        """
        self._restored_listeners.append(listener)

    def _notify_restored(self) -> None:
        for listener in self._restored_listeners:
            listener()

    @property
    def max_frame_size(self) -> int:
        """Return the largest frame this link sends or accepts."""
        return self._max_frame_size

    @property
    def send_rate(self) -> float | None:
        """Return the most frames per second the far end takes here; None for no limit.

        Senders of long streams (firmware chunks) pace themselves by it: a
        peer that drops frames above its rate would otherwise lose some.
        """
        return None

    @property
    def closed(self) -> bool:
        """Return whether :meth:`close` was called."""
        return self._closed

    @property
    @abstractmethod
    def connected(self) -> bool:
        """Return whether frames can be sent right now."""

    @abstractmethod
    async def send(self, frame: bytes, *, expiry_s: int | None = None) -> None:
        """Send one frame; raise a :class:`TransportError` if it cannot be sent.

        ``expiry_s`` asks a relay that can hold messages (MQTT 5) to drop the
        frame once it is this many seconds old; direct links ignore it.
        """

    @abstractmethod
    async def close(self) -> None:
        """Close the link for good; pending and later receives end."""

    async def receive(self) -> bytes:
        """Return the next frame; raise :class:`LinkClosed` once the link is closed."""
        try:
            return await self._inbox.get()
        except asyncio.QueueShutDown:
            raise LinkClosed("link closed") from None

    def __aiter__(self) -> AsyncIterator[bytes]:
        """Iterate over received frames until the link is closed."""
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[bytes]:
        while True:
            try:
                yield await self.receive()
            except LinkClosed:
                return

    def _check_outgoing(self, frame: bytes) -> None:
        if self._closed:
            raise LinkClosed("link closed")
        if len(frame) > self._max_frame_size:
            raise FrameTooLarge(
                f"frame of {len(frame)} bytes exceeds limit {self._max_frame_size}"
            )

    def _deliver(self, frame: bytes) -> bool:
        """Queue an incoming frame unless it is oversize or the queue is full."""
        if len(frame) > self._max_frame_size:
            self.stats.dropped_oversize += 1
            return False
        try:
            self._inbox.put_nowait(frame)
        except asyncio.QueueFull:
            self.stats.dropped_overflow += 1
            return False
        except asyncio.QueueShutDown:
            return False
        self.stats.frames_received += 1
        return True

    def _shut_inbox(self) -> None:
        """Mark closed and wake every waiting receiver after queued frames are read."""
        self._closed = True
        self._inbox.shutdown()
