"""Setup payload: both forms, lenient parsing, and the check characters."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.protocol import (
    ErrorCode,
    LockIdentity,
    SetupCodeError,
    SetupPayload,
    SuiteId,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng
from custom_components.secure_lock.protocol.setup_payload import (
    ALPHABET,
    CODE_CHARS,
    GROUP_SIZE,
)

from .conftest import T0


@pytest.fixture(scope="module")
def payload() -> SetupPayload:
    """Return a label for a deterministic lock."""
    rng = DeterministicRng(b"label")
    lock = LockIdentity.generate(rng, now_ms=T0, suites=(SuiteId.X25519_CHACHA20,))
    return SetupPayload.generate(lock, rng)


def _rejects(text: str) -> SetupCodeError:
    with pytest.raises(SetupCodeError) as info:
        SetupPayload.parse(text)
    assert info.value.code is ErrorCode.INVALID_SETUP_CODE
    return info.value


def test_sizes_meet_the_requirements(payload: SetupPayload) -> None:
    """Fingerprint and secret carry at least 128 bits each."""
    assert len(payload.fingerprint) * 8 >= 128
    assert len(payload.pairing_secret) * 8 >= 128
    assert len(payload.lock_id) == 16


def test_both_forms_round_trip(payload: SetupPayload) -> None:
    """URI and typed code parse back to the same payload with one function."""
    assert SetupPayload.parse(payload.to_uri()) == payload
    assert SetupPayload.parse(payload.to_code()) == payload
    assert payload.to_uri().startswith("SECURELOCK:")
    groups = payload.to_code().split("-")
    assert all(len(g) == GROUP_SIZE for g in groups)


def test_parsing_is_lenient_about_case_spaces_and_dashes(payload: SetupPayload) -> None:
    """Users type codes in many ways."""
    code = payload.to_code()
    variants = [
        code.lower(),
        code.replace("-", ""),
        code.replace("-", " "),
        "  " + code.replace("-", " - ") + "\n",
        payload.to_uri().lower(),
        code.replace("0", "O").replace("1", "I"),
    ]
    for text in variants:
        assert SetupPayload.parse(text) == payload


def test_every_single_substitution_is_caught(payload: SetupPayload) -> None:
    """Exhaustive: each position replaced by each other character fails to parse."""
    code = payload.to_code().replace("-", "")
    assert len(code) == CODE_CHARS
    for position, original in enumerate(code):
        for replacement in ALPHABET:
            if replacement == original:
                continue
            _rejects(code[:position] + replacement + code[position + 1 :])


def test_every_adjacent_swap_is_caught(payload: SetupPayload) -> None:
    """Exhaustive: swapping any two neighbouring different characters fails."""
    for text in (payload.to_code().replace("-", ""), payload.to_code()):
        chars = [c for c in text if c != "-"]
        for index in range(len(chars) - 1):
            if chars[index] == chars[index + 1]:
                continue
            swapped = chars.copy()
            swapped[index], swapped[index + 1] = swapped[index + 1], swapped[index]
            _rejects("".join(swapped))


def test_malformed_inputs_have_clear_errors(payload: SetupPayload) -> None:
    """Length, alphabet and version problems are named, the secret never shown."""
    code = payload.to_code().replace("-", "")
    assert "expected" in str(_rejects(code[:-1]))
    assert "position 3" in str(_rejects(code[:2] + "U" + code[3:]))
    assert "group 1" in str(
        _rejects(code[:5] + ("0" if code[5] != "0" else "1") + code[6:])
    )
    _rejects("")
    _rejects("SECURELOCK:")
    _rejects("https://example.com/" + code)
    _rejects(code + "0")
    with pytest.raises(SetupCodeError):
        SetupPayload.parse(b"bytes")  # type: ignore[arg-type]


def test_other_versions_are_refused(payload: SetupPayload) -> None:
    """The version byte is checked."""
    with pytest.raises(SetupCodeError):
        SetupPayload(
            payload.lock_id, payload.fingerprint, payload.pairing_secret, version=2
        )


def test_secret_never_printed(payload: SetupPayload) -> None:
    """The repr and str forms hide the pairing secret."""
    for text in (repr(payload), str(payload)):
        assert payload.pairing_secret.hex() not in text
        assert str(payload.pairing_secret) not in text
