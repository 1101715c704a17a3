"""Transport building blocks: rate limits, topic names and receive queues refuse bad values."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.transport import LinkClosed, LockTopics
from custom_components.secure_lock.transport.link import FrameLink
from custom_components.secure_lock.transport.rate_limit import TokenBucket

from .helpers import ManualClock


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 5.0), (-1.0, 5.0), (1.0, 0.5)])
def test_bucket_without_a_usable_rate_is_refused(rate: float, burst: float) -> None:
    """A zero rate or a burst below one would block every frame forever."""
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate, burst)


def test_bucket_refills_with_time_and_never_from_a_clock_step_back() -> None:
    """Bursts pass, then one token per 1/rate seconds; a backwards clock mints none."""
    clock = ManualClock()
    bucket = TokenBucket(2.0, 2.0, clock=clock)
    assert [bucket.allow() for _ in range(3)] == [True, True, False]
    clock.advance(0.5)
    assert bucket.allow()
    assert not bucket.allow()
    clock.advance(-100.0)
    assert not bucket.allow()


@pytest.mark.parametrize(
    "lock_id", [bytes(15), bytes(17), b""], ids=["short", "long", "empty"]
)
def test_topics_need_a_sixteen_byte_lock_id(lock_id: bytes) -> None:
    """A lock id of the wrong size never becomes a topic (no shared or wildcard topics)."""
    with pytest.raises(ValueError, match="16 bytes"):
        LockTopics.for_lock(lock_id)


@pytest.mark.parametrize("topic_id", ["+" * 32, "#", "A" * 32, "a" * 31 + "/"])
def test_topics_refuse_wildcards_and_separators(topic_id: str) -> None:
    """Topic ids are 32 lowercase hex digits: no '+', '#', '/' or upper case."""
    with pytest.raises(ValueError, match="topic id"):
        LockTopics(topic_id)


class _Inbox(FrameLink):
    """The receive side of a link, fed by the test."""

    @property
    def connected(self) -> bool:
        return not self.closed

    async def send(self, frame: bytes, *, expiry_s: int | None = None) -> None:
        self._check_outgoing(frame)

    async def close(self) -> None:
        self._shut_inbox()


@pytest.mark.parametrize(
    "sizes", [{"max_frame_size": 0}, {"queue_size": 0}, {"max_frame_size": -1}]
)
def test_link_limits_must_be_positive(sizes: dict[str, int]) -> None:
    """A zero frame size or queue would drop everything silently."""
    with pytest.raises(ValueError, match="positive"):
        _Inbox(**sizes)


async def test_full_or_closed_inbox_drops_frames_without_growing() -> None:
    """A flood beyond the queue is dropped and counted; after close nothing is queued."""
    link = _Inbox(queue_size=2, max_frame_size=8)
    assert [link._deliver(b"a"), link._deliver(b"b"), link._deliver(b"c")] == [
        True,
        True,
        False,
    ]
    assert link.stats.dropped_overflow == 1
    await link.close()
    assert link._deliver(b"late") is False
    assert [frame async for frame in link] == [b"a", b"b"]
    with pytest.raises(LinkClosed):
        await link.receive()
