"""Replay and delay: counters, high-water persistence, expiry, clock skew."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.protocol import (
    Command,
    CommandResult,
    ControllerRegistry,
    ErrorCode,
    LockEndpoint,
    MessageKind,
    PairedLock,
    ProtocolError,
    ResultCode,
)
from custom_components.secure_lock.protocol.envelope import (
    NO_REPLY,
    PROTOCOL_VERSION,
    InnerMessage,
    seal_frame,
)
from custom_components.secure_lock.protocol.messages import Direction
from custom_components.secure_lock.protocol.replay import (
    COUNTER_CLOCK_SHIFT,
    next_counter,
)
from custom_components.secure_lock.protocol.session import (
    DEFAULT_LIFETIME_MS,
    MAX_CLOCK_SKEW_MS,
    MAX_CONFIRMING_ROUND_TRIP_MS,
    MAX_UNCONFIRMED_DROP_MS,
    ClockSkewError,
    ControllerEndpoint,
)

from .conftest import T0, Pair
from .samples import STATUS, sample_payload


def _code(func: object, *args: object) -> ErrorCode:
    with pytest.raises(ProtocolError) as info:
        func(*args)  # type: ignore[operator]
    return info.value.code


def test_same_frame_twice_is_replayed(pair: Pair) -> None:
    """The second delivery of an accepted frame is refused."""
    frame = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    pair.lock_ep.open(frame, T0)
    assert _code(pair.lock_ep.open, frame, T0) is ErrorCode.REPLAYED


def test_older_frame_after_newer_is_replayed(pair: Pair) -> None:
    """Counters must strictly increase: a held-back older frame is refused."""
    old = pair.ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0)
    new = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    pair.lock_ep.open(new, T0)
    assert _code(pair.lock_ep.open, old, T0) is ErrorCode.REPLAYED


def test_replay_after_lock_reboot_is_refused(pair: Pair) -> None:
    """The persisted registry carries the high-water mark across a reboot."""
    frame = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    pair.lock_ep.open(frame, T0)
    stored = pair.registry.to_bytes()
    rebooted = LockEndpoint(
        pair.lock, ControllerRegistry.from_bytes(stored), clock=lambda: T0
    )
    assert _code(rebooted.open, frame, T0) is ErrorCode.REPLAYED
    assert rebooted.open(pair.ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0), T0)


class _FailingStore:
    """A durable store whose write fails (full flash, I/O error)."""

    def high_water(self, peer_id: bytes) -> int:
        return 0

    def advance(self, peer_id: bytes, counter: int) -> None:
        raise ProtocolError(ErrorCode.INVALID_ARGUMENT, "storage failed")


def test_message_is_not_returned_unless_the_mark_is_stored(pair: Pair) -> None:
    """open() persists through the CounterStore before it returns anything."""
    endpoint = LockEndpoint(
        pair.lock, pair.registry, counters=_FailingStore(), clock=lambda: T0
    )
    frame = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    with pytest.raises(ProtocolError):
        endpoint.open(frame, T0)


def test_old_state_report_from_the_lock_is_replayed(pair: Pair) -> None:
    """Lock→controller traffic has its own counters."""
    payload = sample_payload(MessageKind.HEARTBEAT, pair.lock.public_bundle(), T0)
    old = pair.lock_ep.seal(
        pair.controller.key_id, MessageKind.HEARTBEAT, payload, now_ms=T0
    )
    new = pair.lock_ep.seal(
        pair.controller.key_id, MessageKind.HEARTBEAT, payload, now_ms=T0
    )
    pair.ctrl_ep.open(new, T0)
    assert _code(pair.ctrl_ep.open, old, T0) is ErrorCode.REPLAYED
    assert _code(pair.ctrl_ep.open, new, T0) is ErrorCode.REPLAYED


def test_counters_are_seeded_from_the_clock() -> None:
    """A controller restored from a backup still sends higher counters later on."""
    assert next_counter(0, T0) == T0 << COUNTER_CLOCK_SHIFT
    assert (
        next_counter(T0 << COUNTER_CLOCK_SHIFT, T0) == (T0 << COUNTER_CLOCK_SHIFT) + 1
    )
    assert next_counter(5, T0 + 1) > next_counter(T0 << COUNTER_CLOCK_SHIFT, T0)


def test_exhausted_counter_space_is_an_error_not_a_wrap() -> None:
    """At the 64-bit limit sealing fails instead of wrapping to a replayable counter."""
    top = (1 << 64) - 1
    assert next_counter(top - 1, T0) == top
    with pytest.raises(ProtocolError) as err:
        next_counter(top, T0)
    assert err.value.code is ErrorCode.INVALID_ARGUMENT
    with pytest.raises(ProtocolError):
        next_counter(0, 1 << (64 - COUNTER_CLOCK_SHIFT))


def test_restored_controller_is_accepted_once_time_moved_on(pair: Pair) -> None:
    """Backup restore: the old record's counter is behind, the clock seed is not."""
    backup = PairedLock.from_bytes(pair.paired.to_bytes())
    for _ in range(3):
        pair.lock_ep.open(pair.ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0), T0)
    pair.ctrl_ep.lock = backup
    pair.ctrl_ep.counters = backup
    stale = pair.ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0)
    assert _code(pair.lock_ep.open, stale, T0) is ErrorCode.REPLAYED
    fresh = pair.ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0 + 1)
    assert pair.lock_ep.open(fresh, T0 + 1)


def test_expired_and_not_yet_valid(pair: Pair) -> None:
    """not_after is enforced; the future is tolerated only up to the skew."""
    frame = pair.ctrl_ep.seal(
        MessageKind.UNLOCK, Command(), now_ms=T0, lifetime_ms=10_000
    )
    assert _code(pair.lock_ep.open, frame, T0 + 10_001) is ErrorCode.EXPIRED
    early = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    assert (
        _code(pair.lock_ep.open, early, T0 - MAX_CLOCK_SKEW_MS - 1)
        is ErrorCode.NOT_YET_VALID
    )
    assert pair.lock_ep.open(early, T0 - MAX_CLOCK_SKEW_MS)


def test_unlock_lifetime_is_capped_at_seal_time(pair: Pair) -> None:
    """Unlock and open may live at most 30 s."""
    for kind in (MessageKind.UNLOCK, MessageKind.OPEN):
        with pytest.raises(ProtocolError) as info:
            pair.ctrl_ep.seal(kind, Command(), now_ms=T0, lifetime_ms=30_001)
        assert info.value.code is ErrorCode.LIFETIME_TOO_LONG
        assert pair.ctrl_ep.seal(kind, Command(), now_ms=T0, lifetime_ms=30_000)


def test_unlock_lifetime_is_capped_at_the_receiver(pair: Pair) -> None:
    """A sender that bypasses the seal-time check is still refused."""
    inner = InnerMessage(
        PROTOCOL_VERSION,
        pair.paired.suite,
        pair.lock.lock_id,
        pair.controller.key_id,
        pair.lock.key_id,
        Direction.CONTROLLER_TO_LOCK,
        MessageKind.UNLOCK,
        1 << 60,
        T0,
        T0 + 3_600_000,
        bytes(16),
        NO_REPLY,
        b"",
    )
    frame = seal_frame(
        inner,
        pair.controller.signing_key,
        pair.lock.current_prekey(pair.paired.suite).signed,
        pair.lock_ep.routing_id,
        pair.rng,
    )
    assert _code(pair.lock_ep.open, frame, T0) is ErrorCode.LIFETIME_TOO_LONG


def test_controller_follows_the_lock_clock(pair: Pair) -> None:
    """Signed lock times keep the controller's estimate of the lock clock current."""
    skew = 120_000  # the lock runs two minutes ahead
    pair.paired.clock_offset_ms = skew - 1_000  # rough estimate from pairing
    payload = sample_payload(
        MessageKind.HEARTBEAT, pair.lock.public_bundle(), T0 + skew
    )
    beat = pair.lock_ep.seal(
        pair.controller.key_id, MessageKind.HEARTBEAT, payload, now_ms=T0 + skew
    )
    pair.ctrl_ep.open(beat, T0)
    assert pair.ctrl_ep.lock_time(T0) == T0 + skew
    frame = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    assert pair.lock_ep.open(frame, T0 + skew).issued_at_ms == T0 + skew
    # Without the offset, the lock would see a frame from two minutes ago.
    pair.paired.clock_offset_ms = 0
    stale = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    assert _code(pair.lock_ep.open, stale, T0 + skew) is ErrorCode.EXPIRED
    assert STATUS.battery_percent == 87


def test_delayed_lock_frames_barely_move_the_clock_estimate(pair: Pair) -> None:
    """A relay holding lock frames back cannot drag the offset estimate far down."""
    payload = sample_payload(MessageKind.HEARTBEAT, pair.lock.public_bundle(), T0)
    held = pair.lock_ep.seal(
        pair.controller.key_id, MessageKind.HEARTBEAT, payload, now_ms=T0
    )
    pair.ctrl_ep.open(held, T0 + 25_000)  # delivered 25 s late, still valid
    assert pair.paired.clock_offset_ms == -1_000


HOUR_MS = 3_600_000


def _heartbeat(pair: Pair, lock_now: int) -> bytes:
    payload = sample_payload(MessageKind.HEARTBEAT, pair.lock.public_bundle(), lock_now)
    return pair.lock_ep.seal(
        pair.controller.key_id, MessageKind.HEARTBEAT, payload, now_ms=lock_now
    )


def _round_trip(
    ctrl_ep: ControllerEndpoint, pair: Pair, now: int, offset: int, delay: int
) -> None:
    """Send a status request at ``now``; the lock answers at once, arriving ``delay`` later."""
    request = ctrl_ep.seal(MessageKind.STATUS_REQUEST, Command(), now_ms=now)
    message = pair.lock_ep.open(request, now + offset)
    result = CommandResult(ResultCode.OK, STATUS, now + offset, 0)
    reply = pair.lock_ep.respond(message, result, now_ms=now + offset)
    ctrl_ep.open(reply, now + delay)


def test_delayed_frames_move_the_clock_estimate_only_within_a_bound(
    pair: Pair,
) -> None:
    """A relay delaying every lock frame as long as it is still taken cannot drag on.

    The lock's clock equals ours.  Each heartbeat is delivered at the last
    moment our estimate still accepts it, so each would pull the estimate
    down further and let the next one be older still.  The estimate stays
    within MAX_UNCONFIRMED_DROP_MS of the pairing offset, also across a
    restart (the bound is stored with the record), and a frame held back
    longer than its lifetime plus that bound is refused.
    """
    ctrl_ep = pair.ctrl_ep
    lifetime = DEFAULT_LIFETIME_MS
    for beat in range(80):
        if beat == 40:
            # Home Assistant restarts (or reconnects) from its stored record.
            stored = PairedLock.from_bytes(ctrl_ep.lock.to_bytes())
            ctrl_ep = ControllerEndpoint(pair.controller, stored, rng=pair.rng)
        sent = T0 + 60_000 * (beat + 1)
        delivered = sent + lifetime - ctrl_ep.lock.clock_offset_ms
        ctrl_ep.open(_heartbeat(pair, sent), delivered)
        assert ctrl_ep.lock.clock_offset_ms >= -MAX_UNCONFIRMED_DROP_MS
    assert ctrl_ep.lock.clock_offset_ms == -MAX_UNCONFIRMED_DROP_MS
    sent = T0 + 100 * 60_000
    held = _heartbeat(pair, sent)
    with pytest.raises(ClockSkewError):
        ctrl_ep.open(held, sent + lifetime + MAX_UNCONFIRMED_DROP_MS + 1)


def test_a_late_result_does_not_confirm_the_clock(pair: Pair) -> None:
    """An answer held back past MAX_CONFIRMING_ROUND_TRIP_MS is one more delayed frame."""
    delay = MAX_CONFIRMING_ROUND_TRIP_MS + 20_000
    for step in range(10):
        _round_trip(pair.ctrl_ep, pair, T0 + step * 60_000, 0, delay)
    assert pair.paired.clock_offset_ms == -MAX_UNCONFIRMED_DROP_MS
    assert pair.paired.confirmed_offset_ms == 0


def test_real_lock_clock_drift_is_still_followed(pair: Pair) -> None:
    """A lock clock losing 0.4 s an hour: heartbeats follow it, prompt results re-anchor.

    Between round trips the estimate follows the heartbeats down to the
    bound; a result 100 ms after its request moves it to the lock's clock
    again, past the bound, so requests keep landing inside the lock's window.
    """
    drift_per_hour = -400
    transit = 50
    for hour in range(1, 49):
        now = T0 + hour * HOUR_MS
        offset = drift_per_hour * hour
        pair.ctrl_ep.open(_heartbeat(pair, now + offset), now + transit)
        if hour < 12:
            assert abs(pair.paired.clock_offset_ms - offset) <= transit
        if hour % 24 == 0:
            # 9.6 s lost since the last anchor: heartbeats alone stop at the bound.
            anchor = pair.paired.confirmed_offset_ms
            assert pair.paired.clock_offset_ms == anchor - MAX_UNCONFIRMED_DROP_MS
            # The request still lands inside the lock's window ...
            _round_trip(pair.ctrl_ep, pair, now + 1_000, offset, 100)
            # ... and its prompt answer puts the estimate on the lock's clock.
            assert offset - 100 <= pair.paired.clock_offset_ms <= offset
            assert pair.paired.confirmed_offset_ms == pair.paired.clock_offset_ms


def test_authentic_lock_frame_outside_the_window_reports_the_clock(pair: Pair) -> None:
    """A new, signed lock frame far off our clock is refused as clock skew, with the sample."""
    ahead = 600_000
    payload = sample_payload(
        MessageKind.HEARTBEAT, pair.lock.public_bundle(), T0 + ahead
    )
    beat = pair.lock_ep.seal(
        pair.controller.key_id, MessageKind.HEARTBEAT, payload, now_ms=T0 + ahead
    )
    with pytest.raises(ClockSkewError) as info:
        pair.ctrl_ep.open(beat, T0)
    assert info.value.code is ErrorCode.NOT_YET_VALID
    assert info.value.sample_ms == ahead
    # Refused: neither the estimate nor the high-water mark moved.
    assert pair.paired.clock_offset_ms == 0
    assert pair.ctrl_ep.counters.high_water(pair.lock.key_id) == 0


def test_replayed_expired_lock_frame_is_a_replay_not_clock_skew(pair: Pair) -> None:
    """An old frame seen before says nothing about the clock: it is a replay."""
    payload = sample_payload(MessageKind.HEARTBEAT, pair.lock.public_bundle(), T0)
    beat = pair.lock_ep.seal(
        pair.controller.key_id, MessageKind.HEARTBEAT, payload, now_ms=T0
    )
    pair.ctrl_ep.open(beat, T0)
    late = T0 + 3_600_000
    assert _code(pair.ctrl_ep.open, beat, late) is ErrorCode.REPLAYED
    held = pair.lock_ep.seal(
        pair.controller.key_id, MessageKind.HEARTBEAT, payload, now_ms=T0 + 1
    )
    with pytest.raises(ClockSkewError) as info:
        pair.ctrl_ep.open(held, late)
    assert info.value.code is ErrorCode.EXPIRED
