"""Link framing and signed pairing failure notices (sealed on the link)."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.protocol import ErrorCode, MalformedError
from custom_components.secure_lock.protocol.channel import (
    PAIRING_FAILURES,
    SIGNED_FAILURE_TAG,
    Channel,
    decode_signed_failure,
    encode_signed_failure,
    unwrap,
    wrap,
)
from custom_components.secure_lock.protocol.pairing_seal import (
    AnswerKey,
    PairingRequest,
    seal_answer,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng

NONCE = bytes(range(32))
KEY = bytes(range(32, 64))
SIGNATURE = bytes(64)


def test_every_pairing_failure_round_trips() -> None:
    """Each refusal a lock reports reaches the controller as the same code.

    On the link a notice travels sealed to the controller's answer key
    (`pairing_seal`), like every other answer of the lock.
    """
    key = AnswerKey.generate(DeterministicRng(b"channel answer key"))
    hello_body = key.request(b"\x01hello")
    for code in PAIRING_FAILURES:
        body = encode_signed_failure(NONCE, KEY, code, SIGNATURE)
        sealed = seal_answer(PairingRequest.from_bytes(hello_body), body)
        assert unwrap(wrap(Channel.PAIRING, sealed)) == (Channel.PAIRING, sealed)
        assert key.open(hello_body, sealed) == body
        notice = decode_signed_failure(body)
        assert notice is not None
        assert (notice.controller_nonce, notice.lock_key, notice.code) == (
            NONCE,
            KEY,
            code,
        )
        assert notice.signature == SIGNATURE


def test_other_codes_cannot_be_encoded() -> None:
    """A lock never tells a stranger about errors outside the pairing set."""
    assert ErrorCode.UNAUTHORIZED not in PAIRING_FAILURES
    with pytest.raises(ValueError, match="not a pairing failure"):
        encode_signed_failure(NONCE, KEY, ErrorCode.UNAUTHORIZED, SIGNATURE)


def test_pairing_messages_are_not_failure_notices() -> None:
    """A body that does not start with the failure tag is a pairing message."""
    assert decode_signed_failure(b"") is None
    assert decode_signed_failure(b"\x01hello") is None


def _notice(code: bytes, tail: bytes = SIGNATURE) -> bytes:
    return (
        bytes((SIGNED_FAILURE_TAG,)) + NONCE + KEY + bytes((len(code),)) + code + tail
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (bytes((SIGNED_FAILURE_TAG,)) + b"x" * 10, "truncated"),
        (_notice(b"x" * 33), "wrong length"),
        (_notice(b"bad_mac", SIGNATURE[:-1]), "wrong length"),
        (_notice(b"no_such_code"), "unknown failure code"),
        (_notice(b"\xff\xfe"), "unknown failure code"),
        (_notice(ErrorCode.UNAUTHORIZED.value.encode()), "not a pairing failure"),
    ],
)
def test_malformed_failure_notices_are_refused(body: bytes, reason: str) -> None:
    """Anyone on the relay can send a notice; one that does not parse is malformed."""
    with pytest.raises(MalformedError, match=reason):
        decode_signed_failure(body)
