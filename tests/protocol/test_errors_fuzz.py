"""Property tests: any byte string either parses or raises a ProtocolError, nothing else."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from functools import cache

from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.secure_lock.protocol import (
    Command,
    ControllerIdentity,
    ControllerPairing,
    ControllerRegistry,
    LockIdentity,
    LockPairing,
    LockPin,
    MessageKind,
    PairedLock,
    PairingAttempts,
    ProtocolError,
    PublicKeyBundle,
    Role,
    SetupCode,
    SetupCodeError,
    SuiteId,
)
from custom_components.secure_lock.protocol.envelope import frame_size
from custom_components.secure_lock.protocol.messages import KIND_INFO, decode_payload
from custom_components.secure_lock.protocol.pairing_messages import (
    PairingChallenge,
    PairingHello,
    PairingProof,
    PairingResult,
)
from custom_components.secure_lock.protocol.pairing_seal import (
    SEALED_ANSWER_SIZE,
    AnswerKey,
    PairingRequest,
    pad_answer,
    seal_answer,
    unpad_answer,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng

from .conftest import SUITES, T0, Pair, pair_devices
from .samples import sample_payload

FAST = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _survives(func: Callable[[bytes], object], data: bytes) -> None:
    """Call ``func``; a ProtocolError is fine, any other exception fails the test."""
    with contextlib.suppress(ProtocolError):
        func(data)


@st.composite
def _mutated(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        choice = draw(st.sampled_from(["flip", "set", "truncate", "extend", "delete"]))
        if choice == "flip" and data:
            index = draw(st.integers(0, len(data) - 1))
            data[index] ^= draw(st.integers(1, 255))
        elif choice == "set" and data:
            index = draw(st.integers(0, len(data) - 1))
            data[index] = draw(st.sampled_from([0, 1, 2, 0x7F, 0x80, 0xFF]))
        elif choice == "truncate":
            del data[draw(st.integers(0, len(data))) :]
        elif choice == "extend":
            data += draw(st.binary(min_size=1, max_size=8))
        elif choice == "delete" and data:
            index = draw(st.integers(0, len(data) - 1))
            del data[index]
    return bytes(data)


@cache
def _pair(suite: SuiteId) -> Pair:
    return pair_devices(suite, seed=b"fuzz")


@cache
def _frames(suite: SuiteId) -> tuple[bytes, bytes]:
    pair = _pair(suite)
    to_lock = pair.ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    beat = sample_payload(MessageKind.HEARTBEAT, pair.lock.public_bundle(), T0)
    to_ctrl = pair.lock_ep.seal(
        pair.controller.key_id, MessageKind.HEARTBEAT, beat, now_ms=T0
    )
    return to_lock, to_ctrl


_suite_values = [p.values[0] for p in SUITES if not p.marks or not p.marks[0].args[0]]


@FAST
@given(st.sampled_from(_suite_values), st.binary(max_size=3100))
def test_random_frames(suite: SuiteId, data: bytes) -> None:
    """Arbitrary bytes into both endpoints."""
    pair = _pair(suite)
    _survives(lambda d: pair.lock_ep.open(d, T0), data)
    _survives(lambda d: pair.ctrl_ep.open(d, T0), data)


@FAST
@given(st.sampled_from(_suite_values), st.data())
def test_random_frames_with_a_plausible_header(
    suite: SuiteId, data: st.DataObject
) -> None:
    """Right length and routing header, random body: reaches the decryption step."""
    pair = _pair(suite)
    to_lock, _ = _frames(suite)
    body = data.draw(
        st.binary(min_size=frame_size(suite) - 26, max_size=frame_size(suite) - 26)
    )
    _survives(lambda d: pair.lock_ep.open(d, T0), to_lock[:26] + body)


@FAST
@given(st.sampled_from(_suite_values), st.data())
def test_mutated_frames(suite: SuiteId, data: st.DataObject) -> None:
    """Valid frames with a few edits, in both directions."""
    pair = _pair(suite)
    to_lock, to_ctrl = _frames(suite)
    _survives(lambda d: pair.lock_ep.open(d, T0), data.draw(_mutated(to_lock)))
    _survives(lambda d: pair.ctrl_ep.open(d, T0), data.draw(_mutated(to_ctrl)))


@cache
def _pairing_transcript() -> tuple[bytes, bytes, bytes, bytes]:
    rng = DeterministicRng(b"fuzz-pairing")
    lock = LockIdentity.generate(rng, now_ms=T0)
    ctrl = ControllerIdentity.generate(rng, now_ms=T0)
    setup = SetupCode.generate(LockPin(lock.lock_id, lock.fingerprint), rng=rng)
    lock_side = LockPairing(
        lock, setup.secret_for(lock.lock_id), PairingAttempts(), rng=rng
    )
    lock_side.open_window(T0)
    ctrl_side = ControllerPairing(ctrl, setup, "fuzz", rng=rng)
    hello = ctrl_side.start()
    challenge = lock_side.handle_hello(hello, T0)
    proof = ctrl_side.handle_challenge(challenge, T0)
    result, _ = lock_side.handle_proof(proof, Role.ADMIN, T0)
    return hello, challenge, proof, result


_PARSERS = [
    PairingHello.from_bytes,
    PairingChallenge.from_bytes,
    PairingProof.from_bytes,
    PairingResult.from_bytes,
]


@FAST
@given(st.integers(0, 3), st.data())
def test_pairing_message_parsers(index: int, data: st.DataObject) -> None:
    """Random and mutated pairing messages into every parser."""
    original = _pairing_transcript()[index]
    for candidate in (
        data.draw(st.binary(max_size=1600)),
        data.draw(_mutated(original)),
    ):
        for parser in _PARSERS:
            _survives(parser, candidate)


@FAST
@given(st.data())
def test_pairing_state_machines(data: st.DataObject) -> None:
    """Mutated messages fed to live pairing sessions raise only pairing errors."""
    hello, challenge, proof, result = _pairing_transcript()
    rng = DeterministicRng(b"fuzz-live")
    lock = LockIdentity.generate(rng, now_ms=T0, suites=(SuiteId.X25519_CHACHA20,))
    ctrl = ControllerIdentity.generate(
        rng, now_ms=T0, suites=(SuiteId.X25519_CHACHA20,)
    )
    setup = SetupCode.generate(LockPin(lock.lock_id, lock.fingerprint), rng=rng)
    lock_side = LockPairing(
        lock, setup.secret_for(lock.lock_id), PairingAttempts(), rng=rng
    )
    lock_side.open_window(T0)
    ctrl_side = ControllerPairing(ctrl, setup, "fuzz", rng=rng)
    own_hello = ctrl_side.start()
    _survives(lambda d: lock_side.handle_hello(d, T0), data.draw(_mutated(hello)))
    lock_side.open_window(T0)
    own_challenge = lock_side.handle_hello(own_hello, T0)
    _survives(
        lambda d: ctrl_side.handle_challenge(d, T0), data.draw(_mutated(own_challenge))
    )
    _survives(
        lambda d: lock_side.handle_proof(d, Role.ADMIN, T0), data.draw(_mutated(proof))
    )
    _survives(lambda d: ctrl_side.handle_result(d, T0), data.draw(_mutated(result)))
    assert challenge


@FAST
@given(st.integers(0, 1), st.data())
def test_pairing_seal_layer(index: int, data: st.DataObject) -> None:
    """Mutated controller frames split, and mutated sealed answers open, or raise."""
    hello, challenge, _, result = _pairing_transcript()
    key = AnswerKey.generate(DeterministicRng(b"fuzz-answer-key"))
    body = key.request(hello)
    sealed = seal_answer(PairingRequest.from_bytes(body), (challenge, result)[index])
    _survives(
        lambda d: PairingHello.from_bytes(PairingRequest.from_bytes(d).message),
        data.draw(_mutated(body)),
    )
    _survives(lambda d: key.open(body, d), data.draw(_mutated(sealed)))
    _survives(
        lambda d: key.open(body, d),
        data.draw(st.binary(min_size=SEALED_ANSWER_SIZE, max_size=SEALED_ANSWER_SIZE)),
    )
    _survives(unpad_answer, data.draw(_mutated(pad_answer(result))))


_ALPHABET_TEXT = st.text(
    alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZOILU -:abc", max_size=140
)


@FAST
@given(st.one_of(st.text(max_size=140), _ALPHABET_TEXT), st.data())
def test_setup_code_parser(text: str, data: st.DataObject) -> None:
    """Random text and mutated codes and QR texts parse or raise invalid_setup_code."""
    rng = DeterministicRng(b"fuzz-label")
    code = SetupCode.generate(LockPin(rng(16), rng(16)), rng=rng)
    mutated = data.draw(_mutated(code.manual_code().encode())).decode("latin-1")
    mutated_qr = data.draw(_mutated(code.qr_text().encode())).decode("latin-1")
    for candidate in (text, mutated, mutated_qr, "SECURELOCK:" + text):
        with contextlib.suppress(SetupCodeError):
            SetupCode.parse(candidate)


@FAST
@given(st.sampled_from(list(MessageKind)), st.data())
def test_payload_decoders(kind: MessageKind, data: st.DataObject) -> None:
    """Every payload decoder on random and mutated encodings."""
    bundle = _pair(SuiteId.X25519_CHACHA20).controller.public_bundle()
    valid = sample_payload(kind, bundle, T0).to_bytes()
    assert decode_payload(kind, valid) == sample_payload(kind, bundle, T0)
    for candidate in (data.draw(st.binary(max_size=400)), data.draw(_mutated(valid))):
        _survives(lambda d: decode_payload(kind, d), candidate)
    assert kind in KIND_INFO


@FAST
@given(st.integers(0, 4), st.data())
def test_storage_parsers(index: int, data: st.DataObject) -> None:
    """Stored identities, registries and records reject corruption cleanly."""
    pair = _pair(SuiteId.X25519_CHACHA20)
    samples: list[tuple[Callable[[bytes], object], bytes]] = [
        (LockIdentity.from_bytes, pair.lock.to_bytes()),
        (ControllerIdentity.from_bytes, pair.controller.to_bytes()),
        (ControllerRegistry.from_bytes, pair.registry.to_bytes()),
        (PairedLock.from_bytes, pair.paired.to_bytes()),
        (PublicKeyBundle.from_bytes, pair.lock.public_bundle().to_bytes()),
    ]
    parser, valid = samples[index]
    assert parser(valid) is not None
    for candidate in (data.draw(st.binary(max_size=600)), data.draw(_mutated(valid))):
        _survives(parser, candidate)
