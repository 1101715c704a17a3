"""Endpoints: crafted but authentic frames with wrong fields, and misuse by callers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.secure_lock.protocol import (
    Command,
    CommandResult,
    ErrorCode,
    Heartbeat,
    LockIdentity,
    MessageKind,
    ProtocolError,
    ResultCode,
)
from custom_components.secure_lock.protocol.envelope import (
    NO_REPLY,
    PROTOCOL_VERSION,
    InnerMessage,
    seal_frame,
)
from custom_components.secure_lock.protocol.keys import IdentityPrivateKey
from custom_components.secure_lock.protocol.messages import (
    KIND_INFO,
    Direction,
    encode_payload,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng
from custom_components.secure_lock.protocol.session import ClockSkewError

from .conftest import T0, Pair
from .samples import STATUS

COUNTER = 1 << 62  # above any clock-seeded counter at T0


def _expect(code: ErrorCode, func: object, *args: object) -> ProtocolError:
    with pytest.raises(ProtocolError) as err:
        func(*args)  # type: ignore[operator]
    assert err.value.code is code, err.value
    return err.value


def _to_lock(pair: Pair, **changes: object) -> bytes:
    """Return an authentic controller frame (signed by the paired controller) with ``changes``."""
    inner = InnerMessage(
        PROTOCOL_VERSION,
        pair.paired.suite,
        pair.lock.lock_id,
        pair.controller.key_id,
        pair.lock.key_id,
        Direction.CONTROLLER_TO_LOCK,
        MessageKind.UNLOCK,
        COUNTER,
        T0,
        T0 + 1000,
        bytes(16),
        NO_REPLY,
        encode_payload(MessageKind.UNLOCK, Command()),
    )
    return seal_frame(
        replace(inner, **changes),  # type: ignore[arg-type]
        pair.controller.signing_key,
        pair.lock.current_prekey(pair.paired.suite).signed,
        pair.lock_ep.routing_id,
        pair.rng,
    )


def _to_controller(
    pair: Pair, signer: IdentityPrivateKey | None = None, **changes: object
) -> bytes:
    """Return a lock heartbeat signed by ``signer`` (default: the paired lock) with ``changes``."""
    inner = InnerMessage(
        PROTOCOL_VERSION,
        pair.paired.suite,
        pair.lock.lock_id,
        pair.lock.key_id,
        pair.controller.key_id,
        Direction.LOCK_TO_CONTROLLER,
        MessageKind.HEARTBEAT,
        COUNTER,
        T0,
        T0 + 1000,
        bytes(16),
        NO_REPLY,
        encode_payload(MessageKind.HEARTBEAT, Heartbeat(STATUS, T0, 3600)),
    )
    return seal_frame(
        replace(inner, **changes),  # type: ignore[arg-type]
        signer or pair.lock.signing_key,
        pair.controller.current_prekey(pair.paired.suite).signed,
        pair.ctrl_ep.routing_id,
        pair.rng,
    )


def test_crafted_frames_are_accepted_unchanged(pair: Pair) -> None:
    """The crafting helpers make valid frames, so each refusal below is the field's."""
    assert pair.lock_ep.open(_to_lock(pair), T0).kind is MessageKind.UNLOCK
    assert pair.ctrl_ep.open(_to_controller(pair), T0).kind is MessageKind.HEARTBEAT


def test_request_with_a_reply_hash_is_malformed(pair: Pair) -> None:
    """Requests never answer anything; one that claims to is refused, mark unmoved."""
    frame = _to_lock(pair, reply_to=bytes(range(32)))
    _expect(ErrorCode.MALFORMED, pair.lock_ep.open, frame, T0)
    assert pair.registry.high_water(pair.controller.key_id) < COUNTER


def test_lock_frames_from_strangers_are_refused(pair: Pair) -> None:
    """Another lock's key, even signing correctly for itself, is not our lock."""
    stranger = LockIdentity.generate(
        DeterministicRng(b"stranger"), now_ms=T0, suites=(pair.paired.suite,)
    )
    frame = _to_controller(pair, stranger.signing_key, sender_id=stranger.key_id)
    _expect(ErrorCode.UNKNOWN_SENDER, pair.ctrl_ep.open, frame, T0)
    assert pair.paired.lock_high_water < COUNTER


def test_lock_event_with_a_reply_hash_is_malformed(pair: Pair) -> None:
    """Only responses carry a reply hash; a heartbeat with one is refused."""
    frame = _to_controller(pair, reply_to=bytes(range(32)))
    _expect(ErrorCode.MALFORMED, pair.ctrl_ep.open, frame, T0)
    assert pair.paired.lock_high_water < COUNTER


def test_overlong_lock_frame_is_not_mistaken_for_clock_skew(pair: Pair) -> None:
    """A lifetime beyond the kind's limit is refused as such, not as a clock problem."""
    limit = KIND_INFO[MessageKind.HEARTBEAT].max_lifetime_ms
    frame = _to_controller(pair, not_after_ms=T0 + limit + 1)
    err = _expect(ErrorCode.LIFETIME_TOO_LONG, pair.ctrl_ep.open, frame, T0)
    assert not isinstance(err, ClockSkewError)
    offset = pair.paired.clock_offset_ms
    assert pair.paired.lock_high_water < COUNTER
    assert pair.paired.clock_offset_ms == offset


def test_sealing_refuses_what_no_receiver_would_accept(pair: Pair) -> None:
    """Caller mistakes fail before anything is sent (and use up no counter)."""
    _expect(
        ErrorCode.INVALID_ARGUMENT,
        lambda: pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), lifetime_ms=0),
    )
    _expect(
        ErrorCode.WRONG_DIRECTION,
        lambda: pair.ctrl_ep.seal(MessageKind.HEARTBEAT, Heartbeat(STATUS, T0, 60)),
    )
    _expect(
        ErrorCode.UNKNOWN_SENDER,
        lambda: pair.lock_ep.seal(
            bytes(16), MessageKind.HEARTBEAT, Heartbeat(STATUS, T0, 60)
        ),
    )
    result = CommandResult(ResultCode.OK, STATUS, T0, 0)
    _expect(
        ErrorCode.INVALID_ARGUMENT,
        lambda: pair.lock_ep.seal(
            pair.controller.key_id, MessageKind.COMMAND_RESULT, result
        ),
    )
    request = pair.lock_ep.open(
        pair.ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0), T0
    )
    _expect(
        ErrorCode.INVALID_ARGUMENT,
        lambda: pair.lock_ep.seal(
            pair.controller.key_id,
            MessageKind.COMMAND_RESULT,
            result,
            reply_to=replace(request, sender_id=bytes(16)),
        ),
    )
    _expect(ErrorCode.INVALID_ARGUMENT, pair.lock_ep.respond, request, Command())


def test_only_recent_requests_can_be_answered(pair: Pair) -> None:
    """The controller remembers a bounded number of requests; older answers are refused."""
    first = pair.lock_ep.open(
        pair.ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0), T0
    )
    late = None
    for _ in range(64):
        late = pair.lock_ep.open(
            pair.ctrl_ep.seal(MessageKind.STATUS_REQUEST, Command(), now_ms=T0), T0
        )
    assert late is not None
    result = CommandResult(ResultCode.OK, STATUS, T0, 0)
    stale = pair.lock_ep.respond(first, result, now_ms=T0)
    _expect(ErrorCode.UNSOLICITED_RESPONSE, pair.ctrl_ep.open, stale, T0)
    assert pair.ctrl_ep.open(pair.lock_ep.respond(late, result, now_ms=T0), T0)
