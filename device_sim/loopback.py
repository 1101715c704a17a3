"""In-process links between controllers and a simulated lock, without a network.

Used by tests and benchmarks that are about the lock's behaviour rather than
the transport; transport behaviour is tested against real Mosquitto and real
WebSockets.  Every frame the lock sends reaches every attached link, as on the
shared MQTT topic.
"""

from __future__ import annotations

from collections.abc import Callable

from custom_components.secure_lock.transport.errors import NotConnected
from custom_components.secure_lock.transport.link import FrameLink


class LoopbackLink(FrameLink):
    """A controller's end of an in-process link."""

    def __init__(self, deliver_to_lock: Callable[[bytes], None]) -> None:
        """Send frames straight into the lock's receive function."""
        super().__init__()
        self._deliver_to_lock = deliver_to_lock
        self.connected_flag = True
        self.sent: list[bytes] = []
        self.expiries: list[int | None] = []

    @property
    def connected(self) -> bool:
        """Return whether frames can pass."""
        return self.connected_flag and not self.closed

    async def send(self, frame: bytes, *, expiry_s: int | None = None) -> None:
        """Hand a frame to the lock (synchronously, like a fast network)."""
        self._check_outgoing(frame)
        if not self.connected_flag:
            raise NotConnected("loopback link is down")
        self.sent.append(frame)
        self.expiries.append(expiry_s)
        self.stats.frames_sent += 1
        self._deliver_to_lock(frame)

    def deliver(self, frame: bytes) -> None:
        """Queue a frame from the lock."""
        if self.connected_flag and not self.closed:
            self._deliver(frame)

    async def close(self) -> None:
        """Close for good."""
        self._shut_inbox()


class LoopbackHub:
    """Fans the lock's outgoing frames out to every attached controller link."""

    def __init__(self) -> None:
        """Start with no links and no lock."""
        self.links: list[LoopbackLink] = []
        self.receive: Callable[[bytes], None] = lambda _frame: None
        self.sent_by_lock: list[bytes] = []
        self.clock: Callable[[], float] = lambda: 0.0
        """Dates the `passed` log (a test sets its manual clock here)."""
        self.passed: list[tuple[float, bool, bytes]] = []
        """(time, sent by the lock, frame) for every frame, as a relay would log them."""

    def outbox(self, frame: bytes) -> None:
        """Send a frame from the lock to every attached link."""
        self.sent_by_lock.append(frame)
        self.passed.append((self.clock(), True, frame))
        for link in self.links:
            link.deliver(frame)

    def _to_lock(self, frame: bytes) -> None:
        # Looked up per frame: the lock is attached after the hub is made.
        self.passed.append((self.clock(), False, frame))
        self.receive(frame)

    def attach(self) -> LoopbackLink:
        """Return a new controller link to the lock."""
        link = LoopbackLink(self._to_lock)
        self.links.append(link)
        return link
