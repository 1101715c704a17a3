"""Sealed pairing answers: one size for every answer, readable only with the attempt's key."""

from __future__ import annotations

import hashlib

import pytest

from custom_components.secure_lock.protocol import (
    ErrorCode,
    LockPairing,
    PairingAttempts,
    ProtocolError,
    Role,
    SuiteId,
    supported_suites,
)
from custom_components.secure_lock.protocol.channel import PAIRING_FAILURES
from custom_components.secure_lock.protocol.errors import MalformedError
from custom_components.secure_lock.protocol.kem import KemPrivateKey
from custom_components.secure_lock.protocol.pairing_messages import (
    PairingChallenge,
    PairingHello,
)
from custom_components.secure_lock.protocol.pairing_seal import (
    ANSWER_INFO_LABEL,
    ANSWER_KEY_SIZE,
    MAX_ANSWER_MESSAGE,
    PAIRING_ANSWER_SIZE,
    SEALED_ANSWER_SIZE,
    AnswerKey,
    AnswerTooLarge,
    PairingRequest,
    answer_info,
    open_answer,
    pad_answer,
    seal_answer,
    unpad_answer,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng
from custom_components.secure_lock.transport.link import DEFAULT_MAX_FRAME_SIZE
from device_sim.broker_limits import MAX_PACKET_SIZE, PUBLISH_HEADROOM

from .conftest import T0
from .test_pairing import World, _chain


def _key(seed: bytes = b"answer key") -> AnswerKey:
    return AnswerKey.generate(DeterministicRng(seed))


class Exchange:
    """One hello from a controller with its answer key, and the lock's answers."""

    def __init__(self, suite: SuiteId) -> None:
        """Prepare a lock that presents the test chain, and a controller's hello."""
        self.world = World(suite)
        _, self.chain = _chain(self.world.lock)
        self.lock_side = LockPairing(
            self.world.lock,
            self.world.label,
            PairingAttempts(),
            certificate_chain=self.chain,
            rng=self.world.rng,
            clock=lambda: T0,
        )
        self.lock_side.open_window(T0)
        self.ctrl = self.world.controller_side()
        self.key = _key()
        self.hello = self.ctrl.start()
        self.hello_body = self.key.request(self.hello)
        self.request = PairingRequest.from_bytes(self.hello_body)

    def challenge(self) -> bytes:
        """Return the lock's plain challenge to the hello."""
        return self.lock_side.handle_hello(self.request.message, T0)

    def refusal(self, code: ErrorCode) -> bytes:
        """Return the lock's plain signed refusal of the hello."""
        notice = self.lock_side.failure_notice(
            PairingHello.from_bytes(self.hello).nonce, code, T0, limited=False
        )
        assert notice is not None
        return notice


def test_a_refusal_looks_exactly_like_a_challenge(suite: SuiteId) -> None:
    """Challenge, result and every refusal seal to one length; each opens to itself."""
    exchange = Exchange(suite)
    challenge = exchange.challenge()
    proof = exchange.ctrl.handle_challenge(challenge, T0)
    proof_body = exchange.key.request(proof)
    result, _ = exchange.lock_side.handle_proof(proof, Role.ADMIN, T0)
    answers = [(exchange.hello_body, challenge), (proof_body, result)]
    answers += [
        (exchange.hello_body, exchange.refusal(code))
        for code in sorted(PAIRING_FAILURES)
    ]
    sealed = [
        (body, seal_answer(PairingRequest.from_bytes(body), message), message)
        for body, message in answers
    ]
    assert {len(s) for _, s, _ in sealed} == {SEALED_ANSWER_SIZE}
    for body, s, message in sealed:
        assert exchange.key.open(body, s) == message


def test_nothing_of_the_answer_shows_in_the_sealed_bytes(suite: SuiteId) -> None:
    """No reason, lock key, certificate, nonce or lock id can be read off an answer."""
    exchange = Exchange(suite)
    challenge = exchange.challenge()
    parsed = PairingChallenge.from_bytes(challenge)
    secrets = [
        parsed.lock_key.raw,
        parsed.lock_id,
        parsed.controller_nonce,
        parsed.lock_nonce,
        parsed.pake_share,
        parsed.signature,
        *exchange.chain,
        *(cert[i : i + 16] for cert in exchange.chain for i in (0, 64, 128)),
    ]
    sealed = [seal_answer(exchange.request, challenge)]
    for code in PAIRING_FAILURES:
        sealed.append(seal_answer(exchange.request, exchange.refusal(code)))
        secrets.append(code.value.encode("ascii"))
    for blob in sealed:
        for secret in secrets:
            assert secret not in blob


def test_only_the_attempts_key_and_frame_open_an_answer() -> None:
    """A wrong key, a flipped byte anywhere, or another frame's info: nothing opens."""
    key = _key()
    body = key.request(b"\x01hello")
    sealed = seal_answer(PairingRequest.from_bytes(body), b"\x02challenge")
    assert key.open(body, sealed) == b"\x02challenge"
    with pytest.raises(ProtocolError) as err:
        _key(b"another attempt").open(body, sealed)
    assert err.value.code is ErrorCode.DECRYPT_FAILED
    for index in (0, 31, 32, len(sealed) // 2, len(sealed) - 1):
        flipped = bytearray(sealed)
        flipped[index] ^= 0x01
        with pytest.raises(ProtocolError):
            key.open(body, bytes(flipped))
    # The same key, another frame (the proof, or a hello with another nonce).
    with pytest.raises(ProtocolError):
        key.open(key.request(b"\x03proof"), sealed)
    # The same frame with another answer key in front.
    other = _key(b"swapped")
    with pytest.raises(ProtocolError):
        key.open(other.request(b"\x01hello"), sealed)
    with pytest.raises(MalformedError):
        key.open(body, sealed[:-1])
    with pytest.raises(MalformedError):
        key.open(body, b"")


def test_the_info_names_the_label_and_the_whole_frame() -> None:
    """``info`` is the label and SHA-256 of the frame body, answer key included."""
    key = _key()
    body = key.request(b"\x01hello")
    assert body[:ANSWER_KEY_SIZE] == key.public_key.raw
    info = answer_info(body)
    assert info.startswith(ANSWER_INFO_LABEL)
    assert info == ANSWER_INFO_LABEL + hashlib.sha256(body).digest()
    assert info != answer_info(bytes(ANSWER_KEY_SIZE) + b"\x01hello")


def test_padding_and_length_are_checked() -> None:
    """Exact zero padding and a length in range, or ``malformed``."""
    padded = pad_answer(b"message")
    assert len(padded) == PAIRING_ANSWER_SIZE
    assert unpad_answer(padded) == b"message"
    assert unpad_answer(pad_answer(bytes(MAX_ANSWER_MESSAGE))) == bytes(
        MAX_ANSWER_MESSAGE
    )
    nonzero = bytearray(padded)
    nonzero[-1] = 1
    too_long = (MAX_ANSWER_MESSAGE + 1).to_bytes(2, "big") + padded[2:]
    for bad in (
        bytes(nonzero),
        bytes(PAIRING_ANSWER_SIZE),  # length zero
        too_long,
        padded[:-1],
        padded + b"\x00",
    ):
        with pytest.raises(MalformedError):
            unpad_answer(bad)
    # A sealed answer whose plaintext is badly padded opens but is refused.
    key = _key()
    body = key.request(b"\x01hello")
    request = PairingRequest.from_bytes(body)
    sealed = request.answer_key.seal(bytes(nonzero), answer_info(body))
    with pytest.raises(MalformedError):
        key.open(body, sealed)


def test_an_answer_too_large_is_a_clear_error() -> None:
    """A message that cannot fit is refused before anything is sealed."""
    request = PairingRequest.from_bytes(_key().request(b"\x01hello"))
    with pytest.raises(AnswerTooLarge, match="exceeds"):
        seal_answer(request, bytes(MAX_ANSWER_MESSAGE + 1))
    with pytest.raises(ValueError, match="empty"):
        seal_answer(request, b"")


def test_frames_without_a_usable_answer_key_are_malformed() -> None:
    """Too short to carry a key and a message, or a key nobody can seal to."""
    for body in (b"", bytes(ANSWER_KEY_SIZE), b"\x01" * ANSWER_KEY_SIZE):
        with pytest.raises(MalformedError):
            PairingRequest.from_bytes(body)
    low_order = PairingRequest.from_bytes(bytes(ANSWER_KEY_SIZE) + b"\x01hello")
    with pytest.raises(MalformedError):
        seal_answer(low_order, b"\x02challenge")


def test_answer_keys_are_x25519_and_never_shown() -> None:
    """Only suite-1 keys; the repr shows part of the public key, never the private one."""
    private = KemPrivateKey.generate(SuiteId.X25519_CHACHA20, DeterministicRng(b"k"))
    key = AnswerKey(private)
    body = key.request(b"\x01x")
    sealed = seal_answer(PairingRequest.from_bytes(body), b"ok")
    assert open_answer(private, body, sealed) == b"ok"
    assert private.private_bytes().hex()[:16] not in repr(key)
    assert key.public_key.raw[:8].hex() in repr(key)
    if SuiteId.MLKEM768_X25519_CHACHA20 in supported_suites():
        hybrid = KemPrivateKey.generate(
            SuiteId.MLKEM768_X25519_CHACHA20, DeterministicRng(b"h")
        )
        with pytest.raises(ValueError, match="X25519"):
            AnswerKey(hybrid)


def test_a_sealed_answer_fits_every_link_and_the_broker() -> None:
    """The sealed answer and its channel byte fit the frame and packet limits."""
    assert SEALED_ANSWER_SIZE + 1 <= DEFAULT_MAX_FRAME_SIZE
    assert SEALED_ANSWER_SIZE + 1 + PUBLISH_HEADROOM <= MAX_PACKET_SIZE


def test_the_largest_challenge_fits_with_room(suite: SuiteId) -> None:
    """A challenge with four certificates like the test chain's still fits."""
    exchange = Exchange(suite)
    four = exchange.chain * 2
    lock_side = LockPairing(
        exchange.world.lock,
        exchange.world.label,
        PairingAttempts(),
        certificate_chain=four,
        rng=exchange.world.rng,
        clock=lambda: T0,
    )
    lock_side.open_window(T0)
    challenge = lock_side.handle_hello(exchange.request.message, T0)
    assert len(challenge) + 512 <= MAX_ANSWER_MESSAGE
    assert len(seal_answer(exchange.request, challenge)) == SEALED_ANSWER_SIZE
