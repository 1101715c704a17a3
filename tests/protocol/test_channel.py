"""Link framing and pairing failure notices: unknown or foreign content is malformed."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.protocol import ErrorCode, MalformedError
from custom_components.secure_lock.protocol.channel import (
    FAILURE_TAG,
    PAIRING_FAILURES,
    Channel,
    decode_pairing_failure,
    encode_pairing_failure,
    unwrap,
    wrap,
)


def test_every_pairing_failure_round_trips() -> None:
    """Each refusal a lock reports reaches the controller as the same code."""
    for code in PAIRING_FAILURES:
        body = encode_pairing_failure(code)
        assert unwrap(wrap(Channel.PAIRING, body)) == (Channel.PAIRING, body)
        assert decode_pairing_failure(body) is code


def test_other_codes_are_reported_as_malformed() -> None:
    """A lock never tells a stranger more than 'malformed' about other errors."""
    assert ErrorCode.UNAUTHORIZED not in PAIRING_FAILURES
    body = encode_pairing_failure(ErrorCode.UNAUTHORIZED)
    assert decode_pairing_failure(body) is ErrorCode.MALFORMED


def test_pairing_messages_are_not_failure_notices() -> None:
    """A body that does not start with the failure tag is a pairing message."""
    assert decode_pairing_failure(b"") is None
    assert decode_pairing_failure(b"\x01hello") is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (bytes((FAILURE_TAG,)) + b"x" * 33, "too long"),
        (bytes((FAILURE_TAG,)) + b"no_such_code", "unknown failure code"),
        (bytes((FAILURE_TAG,)) + b"\xff\xfe", "unknown failure code"),
        (
            bytes((FAILURE_TAG,)) + ErrorCode.UNAUTHORIZED.value.encode(),
            "not a pairing failure",
        ),
    ],
)
def test_forged_failure_notices_are_malformed(body: bytes, reason: str) -> None:
    """Anyone on the relay can send a notice; one a lock would never send is refused."""
    with pytest.raises(MalformedError, match=reason):
        decode_pairing_failure(body)
