"""Link framing: one byte that says whether a frame is pairing or an envelope.

Pairing messages and envelopes share every transport (the lock's MQTT
topics, its LAN WebSocket).  Their own first bytes can coincide, so each frame
on a link carries a channel byte in front.  A relay learns nothing from it
that frame sizes would not already tell.

The lock answers a pairing step it refuses with a failure notice that it
signs with its identity key over the controller's hello nonce and the
reason, so a controller can tell the lock's refusal from noise injected on
the path (which it ignores) without anything being established yet.  Like
every pairing answer, the notice travels sealed to the controller's answer
key and padded to one size (`pairing_seal`): on the link a refusal looks
like a challenge.  While neither the label's window nor an invitation is
open the lock says nothing at all: a frame costs it no write and no answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from .errors import ErrorCode, MalformedError
from .keys import ED25519_SIZE, SIGNATURE_SIZE
from .pairing_messages import NONCE_SIZE

SIGNED_FAILURE_TAG = 0xFE


class Channel(IntEnum):
    """What a link frame carries."""

    PAIRING = 0x50
    ENVELOPE = 0x45
    RESYNC = 0x52
    """The lock's signed current prekeys, sent when a frame named one it lacks."""


# The refusals a lock reports during pairing; anything else is "malformed".
PAIRING_FAILURES = frozenset(
    {
        ErrorCode.PAIRING_CLOSED,
        ErrorCode.PAIRING_BUSY,
        ErrorCode.PAIRING_LOCKED_OUT,
        ErrorCode.BAD_SIGNATURE,
        ErrorCode.BAD_MAC,
        ErrorCode.UNEXPECTED_MESSAGE,
        ErrorCode.UNSUPPORTED_SUITE,
        ErrorCode.UNSUPPORTED_VERSION,
        ErrorCode.WRONG_RECIPIENT,
        ErrorCode.REPLAYED,
        ErrorCode.DOWNGRADE,
        ErrorCode.MALFORMED,
        ErrorCode.ALREADY_PAIRED,
        ErrorCode.INVITATION_REQUIRED,
    }
)
_MAX_CODE_LENGTH = 32


def wrap(channel: Channel, body: bytes) -> bytes:
    """Prefix ``body`` with its channel byte."""
    return bytes((channel,)) + body


def unwrap(frame: bytes) -> tuple[Channel, bytes]:
    """Split a link frame; raise MalformedError for an unknown channel."""
    if not frame:
        raise MalformedError("empty frame")
    try:
        channel = Channel(frame[0])
    except ValueError:
        raise MalformedError("unknown channel") from None
    return channel, bytes(frame[1:])


@dataclass(frozen=True, slots=True)
class SignedFailure:
    """A lock's signed refusal of one hello (checked by the controller)."""

    controller_nonce: bytes
    lock_key: bytes
    code: ErrorCode
    signature: bytes


def encode_signed_failure(
    controller_nonce: bytes, lock_key: bytes, code: ErrorCode, signature: bytes
) -> bytes:
    """Return a pairing-channel body telling one controller why pairing stopped."""
    if code not in PAIRING_FAILURES:
        raise ValueError("not a pairing failure code")
    raw = code.value.encode("ascii")
    return (
        bytes((SIGNED_FAILURE_TAG,))
        + controller_nonce
        + lock_key
        + bytes((len(raw),))
        + raw
        + signature
    )


def decode_signed_failure(body: bytes) -> SignedFailure | None:
    """Parse a failure notice (not its signature); None if ``body`` is not one."""
    if not body or body[0] != SIGNED_FAILURE_TAG:
        return None
    head = 1 + NONCE_SIZE + ED25519_SIZE
    if len(body) < head + 1:
        raise MalformedError("failure notice truncated")
    length = body[head]
    if length > _MAX_CODE_LENGTH or len(body) != head + 1 + length + SIGNATURE_SIZE:
        raise MalformedError("failure notice has the wrong length")
    try:
        code = ErrorCode(body[head + 1 : head + 1 + length].decode("ascii"))
    except UnicodeDecodeError, ValueError:
        raise MalformedError("unknown failure code") from None
    if code not in PAIRING_FAILURES:
        raise MalformedError("not a pairing failure code")
    return SignedFailure(
        controller_nonce=body[1 : 1 + NONCE_SIZE],
        lock_key=body[1 + NONCE_SIZE : head],
        code=code,
        signature=body[head + 1 + length :],
    )
