"""Sealed pairing answers: only the controller that sent a frame can read the lock's reply.

Pairing runs before either side knows the other's key, so its messages used
to travel readable by the relay: a challenge, a result or a signed refusal
("pairing_closed", "invitation_required"...) told anyone on the path when the
button was pressed and why a pairing failed.  This layer sits on the pairing
channel, around the unchanged PAKE messages:

* every controller frame is ``answer_key(32) || pairing message``, where the
  answer key is a fresh X25519 public key of one pairing attempt;
* every lock answer is HPKE (RFC 9180, base mode, the suite-1 HPKE of
  ``kem``) sealed to that key, with ``info`` bound to the exact frame it
  answers, over a plaintext padded to one size, so a refusal and a challenge
  look alike on the wire.

A passive relay learns that an exchange happened and how many frames it
had.  An active one that replaces the answer key reads what its own hello
would have told it; the PAKE, not this layer, decides who pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
from typing import Self

from .errors import MalformedError
from .kem import KemPrivateKey, KemPublicKey
from .rng import Rng
from .suites import X25519_SIZE, SuiteId, params

_SUITE = SuiteId.X25519_CHACHA20
"""Answers are sealed with the classical suite: what they protect is
metadata for the length of one pairing, and a hybrid key (1,216 bytes) in
every controller frame would cost more than it protects."""

ANSWER_KEY_SIZE = X25519_SIZE
ANSWER_INFO_LABEL = b"secure-lock/v1/pairing-answer\x00"
PAIRING_ANSWER_SIZE = 3584
"""Plaintext size of every answer (length field included).

The largest answer is a suite-2 challenge: 1,529 bytes without certificates,
2,006 with the two-certificate chain the tests use, 2,483 with four such
certificates (the most `certs` accepts).  3,584 leaves room for four
certificates of about 500 bytes each, and the sealed answer plus its channel
byte (3,633 bytes) stays under the links' 4,096-byte frame limit and the
broker's packet limit."""
_LENGTH_SIZE = 2
MAX_ANSWER_MESSAGE = PAIRING_ANSWER_SIZE - _LENGTH_SIZE
_TAG_SIZE = 16
SEALED_ANSWER_SIZE = params(_SUITE).enc_size + PAIRING_ANSWER_SIZE + _TAG_SIZE


class AnswerTooLarge(ValueError):
    """A lock's pairing answer does not fit the fixed answer size (a build or chain problem)."""


@dataclass(frozen=True, slots=True)
class PairingRequest:
    """A controller's pairing frame body: where to seal the answer, and the message."""

    answer_key: KemPublicKey
    message: bytes

    def to_bytes(self) -> bytes:
        """Return the frame body (the bytes the answer's ``info`` is bound to)."""
        return self.answer_key.raw + self.message

    @classmethod
    def from_bytes(cls, body: bytes) -> Self:
        """Split a frame body; raise MalformedError if it holds no key and message."""
        if len(body) <= ANSWER_KEY_SIZE:
            raise MalformedError("pairing frame too short for an answer key")
        return cls(KemPublicKey(_SUITE, body[:ANSWER_KEY_SIZE]), body[ANSWER_KEY_SIZE:])


def answer_info(request_body: bytes) -> bytes:
    """Return the HPKE ``info`` of the answer to ``request_body``.

    Binding the whole frame (key included) means an answer opens only as the
    answer to that frame: a late answer to the hello cannot pass for the
    answer to the proof, nor one attempt's answer for another's.
    """
    return ANSWER_INFO_LABEL + hashlib.sha256(request_body).digest()


def pad_answer(message: bytes) -> bytes:
    """Return ``u16 length || message || zeros``, PAIRING_ANSWER_SIZE bytes."""
    if not message:
        raise ValueError("empty pairing answer")
    if len(message) > MAX_ANSWER_MESSAGE:
        raise AnswerTooLarge(
            f"pairing answer of {len(message)} bytes exceeds {MAX_ANSWER_MESSAGE}"
        )
    return (
        len(message).to_bytes(_LENGTH_SIZE, "big")
        + message
        + bytes(MAX_ANSWER_MESSAGE - len(message))
    )


def unpad_answer(plaintext: bytes) -> bytes:
    """Return the message of a padded answer; MalformedError unless the padding is exact."""
    if len(plaintext) != PAIRING_ANSWER_SIZE:
        raise MalformedError("pairing answer has the wrong size")
    length = int.from_bytes(plaintext[:_LENGTH_SIZE], "big")
    if not 0 < length <= MAX_ANSWER_MESSAGE:
        raise MalformedError("pairing answer has a bad length")
    if any(plaintext[_LENGTH_SIZE + length :]):
        raise MalformedError("pairing answer padding is not zero")
    return plaintext[_LENGTH_SIZE : _LENGTH_SIZE + length]


def seal_answer(request: PairingRequest, message: bytes) -> bytes:
    """Seal the lock's answer to ``request``; SEALED_ANSWER_SIZE bytes.

    Raise AnswerTooLarge if the message does not fit, and MalformedError if
    the answer key cannot be encrypted to (a low-order point: no answer).
    """
    plaintext = pad_answer(message)
    try:
        return request.answer_key.seal(plaintext, answer_info(request.to_bytes()))
    except ValueError as err:
        raise MalformedError("answer key is not a usable X25519 key") from err


def open_answer(key: KemPrivateKey, request_body: bytes, sealed: bytes) -> bytes:
    """Open the answer to ``request_body``; raise ProtocolError if it is not one.

    Anything that fails here is noise to the caller, never an end of pairing.
    """
    if len(sealed) != SEALED_ANSWER_SIZE:
        raise MalformedError("sealed pairing answer has the wrong size")
    return unpad_answer(key.open(sealed, answer_info(request_body)))


class AnswerKey:
    """The controller's answer key for one pairing attempt (hello, proof, repeats)."""

    __slots__ = ("_private",)

    def __init__(self, private: KemPrivateKey) -> None:
        """Wrap a suite-1 KEM key."""
        if private.suite is not _SUITE:
            raise ValueError("answer keys are X25519 keys")
        self._private = private

    @classmethod
    def generate(cls, rng: Rng) -> AnswerKey:
        """Create a fresh key; one per attempt, so attempts cannot be linked by it."""
        return cls(KemPrivateKey.generate(_SUITE, rng))

    @property
    def public_key(self) -> KemPublicKey:
        """Return the key the lock seals to."""
        return self._private.public_key

    def request(self, message: bytes) -> bytes:
        """Return the frame body that carries ``message`` and this key."""
        return PairingRequest(self._private.public_key, message).to_bytes()

    def open(self, request_body: bytes, sealed: bytes) -> bytes:
        """Open the lock's answer to ``request_body`` (see `open_answer`)."""
        return open_answer(self._private, request_body, sealed)

    def __repr__(self) -> str:
        """Show the public key only."""
        return f"AnswerKey(public={self._private.public_key.raw[:8].hex()}...)"
