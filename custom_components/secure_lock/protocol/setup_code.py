"""Setup codes: 11 digits a person types, or a QR that adds the lock's identity.

Manual code (11 decimal digits, shown as ``DDDD-DDD-DDDD``): ten data digits
``v = discriminator * 2^27 + passcode`` (so ``v < 2^33`` and the first digit
is 0 to 8; codes starting with 9 are kept for a later format) and a Verhoeff
check digit, which catches every single-digit error and every swap of two
neighbouring digits.

QR text: ``SECURELOCK:`` and 64 characters of Crockford base32 (QR
alphanumeric mode) of version, capabilities, discriminator, passcode, lock
id and the lock key's fingerprint.  Scanning it pins the lock before any
frame is sent; typing the manual code pins it through the PAKE and the
lock's signature (see pairing.py).

The passcode is 27 random bits and never 0: a guess is right with
probability 1 / (2^27 - 1), and only online, one guess per pairing attempt
the lock counts (docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntFlag
from typing import Self

from .encoding import Reader, Writer
from .errors import SetupCodeError
from .identity import LOCK_ID_SIZE
from .keys import KEY_ID_SIZE
from .rng import Rng, system_rng
from .spake2plus import ProverSecret, derive_prover_secret

PASSCODE_BITS = 27
DISCRIMINATOR_BITS = 6
MANUAL_CODE_DIGITS = 11
QR_PREFIX = "SECURELOCK:"
QR_VERSION = 1
_DATA_DIGITS = MANUAL_CODE_DIGITS - 1
_GROUPS = (4, 3, 4)
_QR_BYTES = 4 + 4 + LOCK_ID_SIZE + KEY_ID_SIZE
_QR_CHARS = _QR_BYTES * 8 // 5

# Crockford base32 for the QR (no I, L, O, U): upper case, so QR alphanumeric mode.
_BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BASE32_VALUE = {ch: i for i, ch in enumerate(_BASE32)}

# Verhoeff's scheme over the dihedral group D5: multiplication table, the
# position permutation, and the inverses.
_D5 = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_PERMUTATION = (1, 5, 7, 6, 2, 8, 3, 0, 9, 4)
_INVERSE = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def _permute(digit: int, times: int) -> int:
    for _ in range(times % 8):
        digit = _PERMUTATION[digit]
    return digit


def _verhoeff(digits: str, *, with_check: bool) -> int:
    """Return the running product; 0 for a valid code when ``with_check``."""
    check = 0
    offset = 0 if with_check else 1
    for position, ch in enumerate(reversed(digits)):
        check = _D5[check][_permute(int(ch), position + offset)]
    return check


def check_digit(data_digits: str) -> str:
    """Return the Verhoeff check digit for ``data_digits``."""
    return str(_INVERSE[_verhoeff(data_digits, with_check=False)])


def discriminator_of(lock_id: bytes) -> int:
    """Return the lock's discriminator: the top six bits of its id (public, like the id)."""
    if len(lock_id) != LOCK_ID_SIZE:
        raise SetupCodeError("lock id must be 16 bytes")
    return lock_id[0] >> (8 - DISCRIMINATOR_BITS)


class Capability(IntFlag):
    """How the lock can be reached for pairing (in the QR)."""

    LAN = 1
    RELAY = 2


@dataclass(frozen=True, slots=True)
class LockPin:
    """What a QR adds to the code: the lock it was printed for."""

    lock_id: bytes
    fingerprint: bytes
    capabilities: Capability = Capability.LAN | Capability.RELAY

    def __post_init__(self) -> None:
        """Reject wrong sizes early."""
        if len(self.lock_id) != LOCK_ID_SIZE or len(self.fingerprint) != KEY_ID_SIZE:
            raise SetupCodeError("lock id or fingerprint has the wrong size")


@dataclass(frozen=True, slots=True)
class CodeSecret:
    """What the lock keeps for one code: its discriminator and ``w0, w1``, never the code."""

    discriminator: int
    prover: ProverSecret = field(repr=False)

    def __post_init__(self) -> None:
        """Reject a discriminator no code can carry."""
        if not 0 <= self.discriminator < 2**DISCRIMINATOR_BITS:
            raise SetupCodeError("discriminator out of range")


@dataclass(frozen=True, slots=True)
class SetupCode:
    """A setup code: the discriminator, the passcode, and the lock when a QR said so."""

    discriminator: int
    passcode: int = field(repr=False)
    pin: LockPin | None = None

    def __post_init__(self) -> None:
        """Reject values that no code can carry."""
        if not 0 <= self.discriminator < 2**DISCRIMINATOR_BITS:
            raise SetupCodeError("discriminator out of range")
        if not 0 < self.passcode < 2**PASSCODE_BITS:
            raise SetupCodeError("passcode out of range")

    @classmethod
    def generate(
        cls, pin: LockPin, discriminator: int | None = None, rng: Rng = system_rng
    ) -> Self:
        """Return a fresh code (27 random bits, never 0) for the lock ``pin`` names.

        The label's code uses the lock's own discriminator; an invitation
        passes another one, so the lock knows which code a hello means.
        """
        if discriminator is None:
            discriminator = discriminator_of(pin.lock_id)
        while True:
            passcode = int.from_bytes(rng(4), "big") & (2**PASSCODE_BITS - 1)
            if passcode:
                return cls(discriminator, passcode, pin)

    def secret_for(self, lock_id: bytes) -> CodeSecret:
        """Return what a lock keeps for this code: SPAKE2+'s ``w0, w1`` (0.15 s of scrypt)."""
        return CodeSecret(
            self.discriminator, derive_prover_secret(self.passcode, lock_id)
        )

    def matches(self, lock_id: bytes, fingerprint: bytes) -> bool:
        """Return whether a lock with this id and key could be the one the code is for."""
        return self.pin is None or (
            self.pin.lock_id == lock_id and self.pin.fingerprint == fingerprint
        )

    def manual_code(self) -> str:
        """Return the 11 digits, grouped ``DDDD-DDD-DDDD`` as people read them."""
        data = (
            f"{(self.discriminator << PASSCODE_BITS) | self.passcode:0{_DATA_DIGITS}d}"
        )
        digits = data + check_digit(data)
        groups, start = [], 0
        for size in _GROUPS:
            groups.append(digits[start : start + size])
            start += size
        return "-".join(groups)

    def qr_text(self) -> str:
        """Return the QR text; only a code that knows its lock has one."""
        if self.pin is None:
            raise SetupCodeError("a typed code does not name its lock")
        raw = (
            Writer()
            .u8(QR_VERSION)
            .u8(self.pin.capabilities)
            .u8(self.discriminator)
            .u8(0)
            .u32(self.passcode)
            .fixed(self.pin.lock_id, LOCK_ID_SIZE)
            .fixed(self.pin.fingerprint, KEY_ID_SIZE)
            .finish()
        )
        number = int.from_bytes(raw, "big")
        return QR_PREFIX + "".join(
            _BASE32[(number >> (5 * (_QR_CHARS - 1 - i))) & 31]
            for i in range(_QR_CHARS)
        )

    def __str__(self) -> str:
        """Never print the passcode."""
        return f"SetupCode(discriminator={self.discriminator})"

    @classmethod
    def parse(cls, text: object) -> Self:
        """Parse a typed code (spaces and dashes ignored) or a scanned QR text."""
        if not isinstance(text, str):
            raise SetupCodeError("expected text")
        body = text.strip()
        if body.upper().startswith(QR_PREFIX):
            return cls._parse_qr(body[len(QR_PREFIX) :].upper())
        digits = "".join(ch for ch in body if ch not in " -\t\r\n")
        if not digits.isascii() or (digits and not digits.isdigit()):
            # The characters are not echoed: they are the secret.
            raise SetupCodeError("a setup code has only digits")
        if len(digits) != MANUAL_CODE_DIGITS:
            raise SetupCodeError(
                f"expected {MANUAL_CODE_DIGITS} digits, got {len(digits)}"
            )
        if _verhoeff(digits, with_check=True) != 0:
            raise SetupCodeError("the check digit does not match: a digit is wrong")
        value = int(digits[:_DATA_DIGITS])
        if value >> (PASSCODE_BITS + DISCRIMINATOR_BITS):
            raise SetupCodeError("this code is for a newer format")
        return cls(value >> PASSCODE_BITS, value & (2**PASSCODE_BITS - 1))

    @classmethod
    def _parse_qr(cls, body: str) -> Self:
        if len(body) != _QR_CHARS or any(ch not in _BASE32_VALUE for ch in body):
            raise SetupCodeError("not a Secure Lock QR code")
        number = 0
        for ch in body:
            number = (number << 5) | _BASE32_VALUE[ch]
        reader = Reader(number.to_bytes(_QR_BYTES, "big"))
        if reader.u8() != QR_VERSION:
            raise SetupCodeError("this QR code is for a newer format")
        capabilities = reader.u8()
        discriminator = reader.u8()
        if reader.u8() != 0 or capabilities & ~(Capability.LAN | Capability.RELAY):
            raise SetupCodeError("this QR code is for a newer format")
        passcode = reader.u32()
        pin = LockPin(
            reader.fixed(LOCK_ID_SIZE),
            reader.fixed(KEY_ID_SIZE),
            Capability(capabilities),
        )
        return cls(discriminator, passcode, pin)
