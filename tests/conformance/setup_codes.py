"""Setup codes (section 6) and the discovery probe and answer (7.6), from the text."""

from __future__ import annotations

from typing import Any

from .keys import key_id
from .mismatch import expect
from .pairing import PAIRING_VERSION
from .wire import MALFORMED, Reader, fail

type Json = dict[str, Any]

PASSCODE_BITS = 27
QR_PREFIX = "SECURELOCK:"
QR_CHARS = 64
QR_VERSION = 1
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PERMUTATION = (1, 5, 7, 6, 2, 8, 3, 0, 9, 4)
PROBE, ANSWER = 5, 6
MAX_DISCRIMINATOR = 63
MAX_REPLY_ACCOUNT = 64


def _d5(j: int, k: int) -> int:
    """Multiply in the dihedral group D5 on 0..9 (rotations 0..4, reflections 5..9)."""
    if j < 5 and k < 5:
        return (j + k) % 5
    if j < 5:
        return 5 + (j + k) % 5
    if k < 5:
        return 5 + (j - k) % 5
    return (j - k) % 5


def _inverse(j: int) -> int:
    return j if j >= 5 else (5 - j) % 5


def _permute(digit: int, times: int) -> int:
    for _ in range(times % 8):
        digit = PERMUTATION[digit]
    return digit


def _product(digits: str, first_position: int) -> int:
    c = 0
    for position, digit in enumerate(reversed(digits), start=first_position):
        c = _d5(c, _permute(int(digit), position))
    return c


def manual_code(discriminator: int, passcode: int) -> str:
    """Ten data digits of ``discriminator * 2^27 + passcode``, a Verhoeff check digit."""
    data = f"{(discriminator << PASSCODE_BITS) + passcode:010d}"
    digits = data + str(_inverse(_product(data, 1)))
    expect(_product(digits, 0) == 0, "Verhoeff: the whole code multiplies to 0")
    return f"{digits[:4]}-{digits[4:7]}-{digits[7:]}"


def qr_text(vector: Json) -> str:
    """``SECURELOCK:`` and 64 Crockford base32 characters of the 40-byte number."""
    raw = (
        bytes([QR_VERSION, vector["capabilities"], vector["discriminator"], 0])
        + vector["passcode"].to_bytes(4, "big")
        + bytes.fromhex(vector["lock_id"])
        + bytes.fromhex(vector["fingerprint"])
    )
    number = int.from_bytes(raw, "big")
    return QR_PREFIX + "".join(
        CROCKFORD[(number >> (5 * (QR_CHARS - 1 - i))) & 31] for i in range(QR_CHARS)
    )


def check_setup_codes(doc: Json) -> list[str]:
    """Each code's digits and QR text are what section 6 makes of its fields."""
    lock = doc["lock"]
    checked = []
    for vector in doc["setup_codes"]:
        where = f"setup code {vector['name']}"
        expect(
            manual_code(vector["discriminator"], vector["passcode"])
            == vector["manual_code"],
            f"{where}: manual code",
        )
        if "qr_text" in vector:
            expect(
                vector["lock_id"] == lock["lock_id"]
                and bytes.fromhex(vector["fingerprint"])
                == key_id(bytes.fromhex(lock["identity_public"])),
                f"{where}: the QR pins the vector lock",
            )
            expect(qr_text(vector) == vector["qr_text"], f"{where}: QR text")
        checked.append(where)
    return checked


def read_probe(data: bytes) -> Json:
    """``5 | 2 | discriminator(1) | nonce(16) | reply_to(bytes8, ASCII)``."""
    r = Reader(data)
    if r.u8() != PROBE or r.u8() != PAIRING_VERSION:
        raise fail(MALFORMED, "not a probe")
    discriminator, nonce, account = r.u8(), r.take(16), r.bytes8()
    r.end()
    if discriminator > MAX_DISCRIMINATOR or not 0 < len(account) <= MAX_REPLY_ACCOUNT:
        raise fail(MALFORMED, "probe fields")
    return {
        "discriminator": discriminator,
        "nonce": nonce.hex(),
        "reply_to": account.decode("ascii"),
    }


def check_discovery(doc: Json) -> list[str]:
    """Check the probe's fields and the answer ``6 | 2 | nonce(16) | lock_id(16)``."""
    vector = doc["discovery"]
    fields = read_probe(bytes.fromhex(vector["probe"]))
    expect(
        fields == {k: vector[k] for k in ("discriminator", "nonce", "reply_to")},
        "discovery probe fields",
    )
    r = Reader(bytes.fromhex(vector["answer"]))
    expect(r.u8() == ANSWER and r.u8() == PAIRING_VERSION, "discovery answer header")
    nonce, lock_id = r.take(16), r.take(16)
    r.end()
    expect(
        nonce.hex() == vector["nonce"] and lock_id.hex() == doc["lock"]["lock_id"],
        "discovery answer echoes the nonce and names the lock",
    )
    return ["discovery"]
