"""Envelopes: round trips, fixed size, tampering, addressing, reflection, downgrade."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.protocol import (
    Command,
    CommandResult,
    ControllerIdentity,
    ControllerRegistry,
    ErrorCode,
    LockEndpoint,
    LockIdentity,
    MessageKind,
    ProtocolError,
    ResultCode,
    RevokedError,
    Role,
    SuiteId,
    UnauthorizedError,
    supported_suites,
)
from custom_components.secure_lock.protocol.envelope import (
    NO_REPLY,
    PROTOCOL_VERSION,
    InnerMessage,
    frame_size,
    routing_id,
    seal_frame,
)
from custom_components.secure_lock.protocol.messages import KIND_INFO, Direction
from custom_components.secure_lock.protocol.rng import DeterministicRng

from .conftest import T0, Pair, pair_devices
from .samples import STATUS, sample_payload

C2L = [k for k, i in KIND_INFO.items() if Direction.CONTROLLER_TO_LOCK in i.directions]
L2C_UNSOLICITED = [
    k
    for k, i in KIND_INFO.items()
    if Direction.LOCK_TO_CONTROLLER in i.directions and not i.is_response
]
RESPONSES = [k for k, i in KIND_INFO.items() if i.is_response]


def _expect(code: ErrorCode, func: object, *args: object) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        func(*args)  # type: ignore[operator]
    assert info.value.code is code, str(info.value)
    return info.value


def test_every_kind_round_trips_and_frames_have_one_length(
    pair: Pair, suite: SuiteId
) -> None:
    """Every message kind opens to the same payload; every frame has the suite's length."""
    lengths = set()
    bundle = pair.controller.public_bundle()
    for kind in C2L:
        payload = sample_payload(kind, bundle, T0)
        frame = pair.ctrl_ep.seal(kind, payload, now_ms=T0)
        lengths.add(len(frame))
        message = pair.lock_ep.open(frame, T0 + 1)
        assert (message.kind, message.payload, message.suite) == (kind, payload, suite)
        assert message.sender_id == pair.controller.key_id
        assert message.sender_role is Role.ADMIN
        if kind in RESPONSES or kind is MessageKind.CONTROLLER_ADD:
            continue
        for response in RESPONSES:
            reply_payload = sample_payload(response, bundle, T0)
            reply = pair.lock_ep.seal(
                pair.controller.key_id,
                response,
                reply_payload,
                now_ms=T0 + 2,
                reply_to=message,
            )
            lengths.add(len(reply))
            opened = pair.ctrl_ep.open(reply, T0 + 3)
            assert (opened.kind, opened.payload) == (response, reply_payload)
            assert opened.reply_to == message.frame_hash
    for kind in L2C_UNSOLICITED:
        payload = sample_payload(kind, pair.lock.public_bundle(), T0)
        frame = pair.lock_ep.seal(pair.controller.key_id, kind, payload, now_ms=T0 + 4)
        lengths.add(len(frame))
        opened = pair.ctrl_ep.open(frame, T0 + 5)
        assert (opened.kind, opened.payload) == (kind, payload)
    assert lengths == {frame_size(suite)}


def test_frame_sizes_are_fixed_constants() -> None:
    """The documented sizes (docs/protocol.md) are what the code produces."""
    assert frame_size(SuiteId.X25519_CHACHA20) == 697
    assert frame_size(SuiteId.MLKEM768_X25519_CHACHA20) == 3001


def test_same_command_twice_gives_different_frames(pair: Pair) -> None:
    """Fresh content key and ephemeral KEM per frame: no two frames are equal."""
    first = pair.ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0)
    second = pair.ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0)
    assert first[:26] == second[:26]  # same routing header
    assert first[26:] != second[26:]


def test_every_single_bit_flip_is_rejected(suite: SuiteId) -> None:
    """Exhaustive over one frame of each suite: each of its bit flips fails to open."""
    pair = pair_devices(suite)
    frame = bytearray(pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0))
    # No flipped frame is accepted, so the counter never advances and the
    # untouched frame still opens at the end (the check itself is sound).
    for index in range(len(frame) * 8):
        frame[index // 8] ^= 1 << (index % 8)
        with pytest.raises(ProtocolError):
            pair.lock_ep.open(bytes(frame), T0)
        frame[index // 8] ^= 1 << (index % 8)
    assert pair.lock_ep.open(bytes(frame), T0).kind is MessageKind.UNLOCK


def _second_lock(
    first: Pair, suite: SuiteId
) -> tuple[LockIdentity, LockEndpoint, DeterministicRng]:
    """Return another lock that ``first``'s controller is paired with too."""
    rng = DeterministicRng(b"house-b")
    other_lock = LockIdentity.generate(rng, now_ms=T0, suites=(suite,))
    registry = ControllerRegistry()
    for record in first.registry.records.values():
        registry.add(record)
    return (
        other_lock,
        LockEndpoint(other_lock, registry, rng=rng, clock=lambda: T0),
        rng,
    )


def test_frame_for_another_lock_is_rejected(suite: SuiteId) -> None:
    """Cross-lock replay: one controller paired with two locks."""
    first = pair_devices(suite, seed=b"house-a")
    other_lock, other, rng = _second_lock(first, suite)
    frame = first.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    _expect(ErrorCode.WRONG_RECIPIENT, other.open, frame, T0)
    # Even re-routed to lock B, the prekey is not B's.
    rerouted = frame[:2] + other.routing_id + frame[18:]
    _expect(ErrorCode.UNKNOWN_PREKEY, other.open, rerouted, T0)
    # Sealed properly to B's key but naming lock A inside: the signed lock id decides.
    inner = InnerMessage(
        PROTOCOL_VERSION,
        suite,
        first.lock.lock_id,
        first.controller.key_id,
        other_lock.key_id,
        Direction.CONTROLLER_TO_LOCK,
        MessageKind.UNLOCK,
        1 << 60,
        T0,
        T0 + 1000,
        bytes(16),
        NO_REPLY,
        b"",
    )
    crafted = seal_frame(
        inner,
        first.controller.signing_key,
        other_lock.current_prekey(suite).signed,
        other.routing_id,
        rng,
    )
    _expect(ErrorCode.WRONG_RECIPIENT, other.open, crafted, T0)


def test_a_controller_has_unrelated_routing_ids_at_two_locks(suite: SuiteId) -> None:
    """One controller key paired with two locks: the relay cannot link its frames."""
    first = pair_devices(suite, seed=b"house-a")
    other_lock, other, _ = _second_lock(first, suite)
    heartbeat = sample_payload(
        MessageKind.HEARTBEAT, first.controller.public_bundle(), T0
    )
    key_id = first.controller.key_id
    at_a = first.lock_ep.broadcast(MessageKind.HEARTBEAT, heartbeat)[key_id]
    at_b = other.broadcast(MessageKind.HEARTBEAT, heartbeat)[key_id]
    route_a, route_b = at_a[2:18], at_b[2:18]
    assert route_a == first.ctrl_ep.routing_id
    assert route_a != route_b
    assert route_b == routing_id(other_lock.lock_id, key_id)
    # Frames to the lock name the lock at that lock: every controller's look alike.
    assert first.lock_ep.routing_id == routing_id(first.lock.lock_id, first.lock.key_id)
    with pytest.raises(ValueError):
        routing_id(b"short", key_id)


def test_reflection_is_rejected(pair: Pair, suite: SuiteId) -> None:
    """A lock's own frame sent back to it, or a controller frame marked lock→controller."""
    event = pair.lock_ep.seal(
        pair.controller.key_id,
        MessageKind.HEARTBEAT,
        sample_payload(MessageKind.HEARTBEAT, pair.lock.public_bundle(), T0),
        now_ms=T0,
    )
    _expect(ErrorCode.WRONG_RECIPIENT, pair.lock_ep.open, event, T0)
    inner = InnerMessage(
        PROTOCOL_VERSION,
        suite,
        pair.lock.lock_id,
        pair.controller.key_id,
        pair.lock.key_id,
        Direction.LOCK_TO_CONTROLLER,
        MessageKind.HEARTBEAT,
        1 << 60,
        T0,
        T0 + 1000,
        bytes(16),
        NO_REPLY,
        b"",
    )
    crafted = seal_frame(
        inner,
        pair.controller.signing_key,
        pair.lock.current_prekey(suite).signed,
        pair.lock_ep.routing_id,
        pair.rng,
    )
    _expect(ErrorCode.WRONG_DIRECTION, pair.lock_ep.open, crafted, T0)


def test_controller_frame_to_controller_is_rejected(pair: Pair) -> None:
    """A controller's request fed back to the controller is not addressed to it."""
    frame = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    _expect(ErrorCode.WRONG_RECIPIENT, pair.ctrl_ep.open, frame, T0)


@pytest.mark.skipif(len(supported_suites()) < 2, reason="needs both suites")
def test_downgrade_to_suite_one_is_rejected() -> None:
    """A controller paired on suite 2 cannot be made to use suite 1."""
    pair = pair_devices(SuiteId.MLKEM768_X25519_CHACHA20)
    frame = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    # Rewriting the suite byte: frame length no longer matches, and even the
    # suite-1 frame size would not authenticate.
    tampered = frame[:1] + bytes([SuiteId.X25519_CHACHA20]) + frame[2:]
    with pytest.raises(ProtocolError):
        pair.lock_ep.open(tampered, T0)
    # A validly signed suite-1 frame from the same controller is still refused.
    rng = DeterministicRng(b"both")
    both = LockIdentity.generate(rng, now_ms=T0, suites=tuple(SuiteId))
    pair = pair_devices(SuiteId.MLKEM768_X25519_CHACHA20, lock=both, seed=b"both")
    pair.paired.suite = SuiteId.X25519_CHACHA20
    pair.paired.bundle = both.public_bundle()
    frame = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    assert len(frame) == frame_size(SuiteId.X25519_CHACHA20)
    _expect(ErrorCode.DOWNGRADE, pair.lock_ep.open, frame, T0)


def test_unknown_and_revoked_senders_are_rejected(pair: Pair, suite: SuiteId) -> None:
    """Only registered, unrevoked controllers are heard."""
    frame = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    stranger_lock = LockEndpoint(pair.lock, ControllerRegistry(), clock=lambda: T0)
    _expect(ErrorCode.UNKNOWN_SENDER, stranger_lock.open, frame, T0)
    pair.registry.revoke(pair.controller.key_id)
    error = _expect(ErrorCode.REVOKED, pair.lock_ep.open, frame, T0)
    # Verified before refused: the lock can answer the revoked controller
    # itself, signed, and nobody else can provoke that answer.
    assert isinstance(error, RevokedError)
    assert error.message.sender_id == pair.controller.key_id
    assert pair.lock_ep.counters.high_water(pair.controller.key_id) > 0
    reply = pair.lock_ep.respond(
        error.message,
        CommandResult(ResultCode.REVOKED, STATUS, T0, 0, "controller revoked"),
        now_ms=T0,
    )
    answer = pair.ctrl_ep.open(reply, T0)
    assert isinstance(answer.payload, CommandResult)
    assert answer.payload.result is ResultCode.REVOKED
    # Its frames replayed are still replays, not new revocation answers.
    _expect(ErrorCode.REPLAYED, pair.lock_ep.open, frame, T0)


def test_revoked_controller_gets_no_more_events(pair: Pair) -> None:
    """Revocation also ends what the former controller learns: no broadcasts."""
    payload = sample_payload(MessageKind.HEARTBEAT, pair.lock.public_bundle(), T0)
    before = pair.lock_ep.broadcast(MessageKind.HEARTBEAT, payload, now_ms=T0)
    assert set(before) == {pair.controller.key_id}
    pair.registry.revoke(pair.controller.key_id)
    after = pair.lock_ep.broadcast(MessageKind.HEARTBEAT, payload, now_ms=T0 + 1)
    assert after == {}


def test_signature_by_another_key_is_rejected(pair: Pair, suite: SuiteId) -> None:
    """A frame claiming a registered sender id but signed by someone else."""
    mallory = ControllerIdentity.generate(
        DeterministicRng(b"mallory"), now_ms=T0, suites=(suite,)
    )
    inner = InnerMessage(
        PROTOCOL_VERSION,
        suite,
        pair.lock.lock_id,
        pair.controller.key_id,
        pair.lock.key_id,
        Direction.CONTROLLER_TO_LOCK,
        MessageKind.UNLOCK,
        1 << 60,
        T0,
        T0 + 1000,
        bytes(16),
        NO_REPLY,
        b"",
    )
    crafted = seal_frame(
        inner,
        mallory.signing_key,
        pair.lock.current_prekey(suite).signed,
        pair.lock_ep.routing_id,
        pair.rng,
    )
    _expect(ErrorCode.BAD_SIGNATURE, pair.lock_ep.open, crafted, T0)


def test_responses_are_bound_to_their_request(pair: Pair) -> None:
    """A result only opens against the request whose hash it signs."""
    first = pair.lock_ep.open(
        pair.ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0), T0
    )
    second = pair.lock_ep.open(
        pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0), T0
    )
    result = CommandResult(ResultCode.OK, STATUS, T0, second.counter)
    reply = pair.lock_ep.respond(first, result, now_ms=T0)
    assert pair.ctrl_ep.open(reply, T0).reply_to == first.frame_hash
    # A fresh controller endpoint (no pending request) refuses it.
    from custom_components.secure_lock.protocol import ControllerEndpoint  # noqa: PLC0415

    forgetful = ControllerEndpoint(pair.controller, pair.paired, clock=lambda: T0)
    again = pair.lock_ep.respond(second, result, now_ms=T0)
    _expect(ErrorCode.UNSOLICITED_RESPONSE, forgetful.open, again, T0)


def test_result_high_water_lets_a_restored_controller_jump_ahead(pair: Pair) -> None:
    """Controller counters catch up with the lock's signed high-water mark."""
    for _ in range(3):
        message = pair.lock_ep.open(
            pair.ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0), T0
        )
    high = pair.registry.high_water(pair.controller.key_id)
    assert high == message.counter
    pair.paired.last_sent_counter = 0  # as if restored from an old backup
    # The caller's value is ignored: the lock signs its real mark.
    reply = pair.lock_ep.respond(
        message, CommandResult(ResultCode.OK, STATUS, T0, 0), now_ms=T0
    )
    result = pair.ctrl_ep.open(reply, T0).payload
    assert isinstance(result, CommandResult)
    assert result.sender_high_water == high
    frame = pair.ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0)
    assert pair.lock_ep.open(frame, T0).counter == high + 1


def test_payload_larger_than_capacity_is_refused(pair: Pair) -> None:
    """Oversized payloads never leak through a different frame size."""
    from custom_components.secure_lock.protocol.messages import FirmwareChunk  # noqa: PLC0415

    with pytest.raises(ProtocolError) as info:
        pair.ctrl_ep.seal(
            MessageKind.FIRMWARE_CHUNK,
            FirmwareChunk(bytes(16), 0, 5000, bytes(2000)),
            now_ms=T0,
        )
    assert info.value.code is ErrorCode.PAYLOAD_TOO_LARGE


def test_roles_limit_what_a_controller_may_send(suite: SuiteId) -> None:
    """A guest may unlock within its window but not manage controllers."""
    pair = pair_devices(suite, role=Role.GUEST)
    record = pair.registry.get(pair.controller.key_id)
    assert record is not None
    record.valid_until_ms = T0 + 60_000
    add = pair.ctrl_ep.seal(
        MessageKind.CONTROLLER_LIST,
        sample_payload(
            MessageKind.CONTROLLER_LIST, pair.controller.public_bundle(), T0
        ),
        now_ms=T0,
    )
    with pytest.raises(UnauthorizedError) as info:
        pair.lock_ep.open(add, T0)
    assert info.value.code is ErrorCode.UNAUTHORIZED
    assert info.value.message.kind is MessageKind.CONTROLLER_LIST
    # The refused frame advanced the high-water mark: it cannot be replayed.
    with pytest.raises(ProtocolError) as replay:
        pair.lock_ep.open(add, T0)
    assert replay.value.code is ErrorCode.REPLAYED
    assert pair.lock_ep.open(
        pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0), T0
    )
    late = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0 + 60_000)
    with pytest.raises(UnauthorizedError):
        pair.lock_ep.open(late, T0 + 60_000)
