"""Link framing: one byte that says whether a frame is pairing or an envelope.

Pairing messages and envelopes share every transport (the lock's MQTT
topics, its LAN WebSocket).  Their own first bytes can coincide, so each frame
on a link carries a channel byte in front.  A relay learns nothing from it
that frame sizes would not already tell: pairing happens once, in the open.

The lock answers a pairing step it refuses with a failure notice.  The notice
is unauthenticated (nothing is established yet), so a controller treats it as
a hint for the user ("press the button", "locked out") and never as proof.
"""

from __future__ import annotations

from enum import IntEnum

from .errors import ErrorCode, MalformedError

FAILURE_TAG = 0xFF


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


def encode_pairing_failure(code: ErrorCode) -> bytes:
    """Return a pairing-channel body telling the controller why pairing stopped."""
    if code not in PAIRING_FAILURES:
        code = ErrorCode.MALFORMED
    return bytes((FAILURE_TAG,)) + code.value.encode("ascii")


def decode_pairing_failure(body: bytes) -> ErrorCode | None:
    """Return the code of a failure notice, or None if ``body`` is not one."""
    if not body or body[0] != FAILURE_TAG:
        return None
    raw = body[1:]
    if len(raw) > _MAX_CODE_LENGTH:
        raise MalformedError("failure notice too long")
    try:
        code = ErrorCode(raw.decode("ascii"))
    except UnicodeDecodeError, ValueError:
        raise MalformedError("unknown failure code") from None
    if code not in PAIRING_FAILURES:
        raise MalformedError("not a pairing failure code")
    return code
