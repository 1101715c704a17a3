"""Setup codes: 11 digits with a Verhoeff check digit, and the QR text."""

from __future__ import annotations

from dataclasses import replace
import itertools

import pytest

from custom_components.secure_lock.protocol.errors import SetupCodeError
from custom_components.secure_lock.protocol.rng import DeterministicRng
from custom_components.secure_lock.protocol.setup_code import (
    DISCRIMINATOR_BITS,
    MANUAL_CODE_DIGITS,
    PASSCODE_BITS,
    Capability,
    LockPin,
    SetupCode,
    check_digit,
    discriminator_of,
)


def _codes(count: int, seed: bytes = b"codes") -> list[SetupCode]:
    rng = DeterministicRng(seed)
    return [
        SetupCode.generate(LockPin(rng(16), rng(16)), rng=rng) for _ in range(count)
    ]


def _digits(code: SetupCode) -> str:
    return code.manual_code().replace("-", "")


def _rejected(text: str) -> bool:
    try:
        SetupCode.parse(text)
    except SetupCodeError:
        return True
    return False


def test_verhoeff_matches_the_published_example() -> None:
    """Verhoeff's own example: 236 gets check digit 3, 12345 gets 1."""
    assert check_digit("236") == "3"
    assert check_digit("12345") == "1"


def test_a_code_is_eleven_digits_grouped_as_people_read_them() -> None:
    """DDDD-DDD-DDDD; the typed form parses back to the same discriminator and passcode."""
    for code in _codes(50):
        text = code.manual_code()
        assert [len(group) for group in text.split("-")] == [4, 3, 4]
        assert len(_digits(code)) == MANUAL_CODE_DIGITS
        parsed = SetupCode.parse(text)
        assert (parsed.discriminator, parsed.passcode) == (
            code.discriminator,
            code.passcode,
        )
        assert parsed.pin is None
        # Spaces, no dashes, surrounding blanks: all the same code.
        assert SetupCode.parse(f"  {_digits(code)} ") == parsed
        assert SetupCode.parse(" ".join(text.split("-"))) == parsed


def test_every_single_digit_error_and_every_neighbour_swap_is_caught() -> None:
    """Exhaustive over 200 codes: 10 wrong digits at 11 places, 10 swaps each."""
    for code in _codes(200, b"typos"):
        digits = _digits(code)
        for position, wrong in itertools.product(range(11), "0123456789"):
            if wrong != digits[position]:
                typo = digits[:position] + wrong + digits[position + 1 :]
                assert _rejected(typo), (digits, typo)
        for position in range(10):
            if digits[position] != digits[position + 1]:
                swapped = (
                    digits[:position]
                    + digits[position + 1]
                    + digits[position]
                    + digits[position + 2 :]
                )
                assert _rejected(swapped), (digits, swapped)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected 11 digits, got 0"),
        ("1234-567-890", "expected 11 digits, got 10"),
        ("1234-567-89012", "expected 11 digits, got 12"),
        ("1234-567-89O1", "only digits"),
        ("١٢٣٤٥٦٧٨٩٠١", "only digits"),
    ],
)
def test_malformed_codes_say_what_is_wrong(text: str, message: str) -> None:
    """Length and alphabet errors are named; the characters typed are never echoed."""
    with pytest.raises(SetupCodeError, match=message) as err:
        SetupCode.parse(text)
    if text:
        assert text not in str(err.value)


def test_codes_starting_with_nine_are_kept_for_a_later_format() -> None:
    """A valid check digit over a value above 2^33 is a newer format, not a passcode."""
    data = "9" + "0" * 9
    with pytest.raises(SetupCodeError, match="newer format"):
        SetupCode.parse(data + check_digit(data))


def test_the_qr_text_carries_the_lock_and_parses_back() -> None:
    """QR alphanumeric mode (upper case), round trip, case-insensitive when pasted."""
    for code in _codes(20, b"qr"):
        text = code.qr_text()
        assert text.startswith("SECURELOCK:")
        assert text == text.upper()
        assert SetupCode.parse(text) == code
        assert SetupCode.parse(text.lower()) == code
        assert SetupCode.parse(text).pin == code.pin


def test_a_damaged_or_foreign_qr_is_refused() -> None:
    """Wrong length, wrong alphabet, unknown version or capability bits."""
    code = _codes(1)[0]
    body = code.qr_text().removeprefix("SECURELOCK:")
    for damaged in (body[:-1], body + "0", body[:-1] + "U"):
        with pytest.raises(SetupCodeError, match="not a Secure Lock QR"):
            SetupCode.parse("SECURELOCK:" + damaged)
    newer = replace(code, pin=replace(code.pin, capabilities=Capability(0)))
    assert SetupCode.parse(newer.qr_text()).pin == newer.pin
    version_two = "2" + body[1:]  # the first character holds the version's top bits
    with pytest.raises(SetupCodeError):
        SetupCode.parse("SECURELOCK:" + version_two)


def test_a_typed_code_has_no_qr_and_matches_any_lock() -> None:
    """Only a QR pins a lock; a typed code is pinned by the PAKE and the lock's signature."""
    code = _codes(1)[0]
    typed = SetupCode.parse(code.manual_code())
    with pytest.raises(SetupCodeError, match="does not name its lock"):
        typed.qr_text()
    assert typed.matches(bytes(16), bytes(16))
    assert code.pin is not None
    assert code.matches(code.pin.lock_id, code.pin.fingerprint)
    assert not code.matches(code.pin.lock_id, bytes(16))
    assert not code.matches(bytes(16), code.pin.fingerprint)


def test_passcodes_are_27_random_bits_never_zero() -> None:
    """The generator masks to 27 bits and draws again on zero."""
    draws = iter([bytes(4), (2**PASSCODE_BITS).to_bytes(4, "big"), b"\xff" * 4])
    code = SetupCode.generate(LockPin(bytes(16), bytes(16)), rng=lambda _n: next(draws))
    assert code.passcode == 2**PASSCODE_BITS - 1
    passcodes = {c.passcode for c in _codes(300, b"spread")}
    assert len(passcodes) == 300
    assert max(passcodes) >= 2 ** (PASSCODE_BITS - 1)
    with pytest.raises(SetupCodeError):
        SetupCode(0, 0)
    with pytest.raises(SetupCodeError):
        SetupCode(0, 2**PASSCODE_BITS)
    with pytest.raises(SetupCodeError):
        SetupCode(2**DISCRIMINATOR_BITS, 1)


def test_the_label_uses_the_lock_ids_discriminator() -> None:
    """The top six bits of the lock id; an invitation may choose another."""
    pin = LockPin(bytes([0b10110100]) + bytes(15), bytes(16))
    assert discriminator_of(pin.lock_id) == 0b101101
    assert SetupCode.generate(pin).discriminator == 0b101101
    assert SetupCode.generate(pin, 7).discriminator == 7


def test_the_passcode_is_never_printed() -> None:
    """Str and repr name the discriminator only."""
    for code in _codes(20, b"print"):
        for text in (str(code), repr(code)):
            assert str(code.passcode) not in text
            assert _digits(code)[4:] not in text
