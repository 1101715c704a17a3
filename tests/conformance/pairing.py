"""Pairing messages, transcript, sealed answers and failure notices (section 7), and the resync notice (11.2)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .hpke import open_base
from .keys import read_signed_prekey, verify_prekey, verify_signature
from .wire import MALFORMED, ROLES, SUITES, Reader, fail

type Fields = dict[str, Any]

PAIRING_VERSION = 2
HELLO, CHALLENGE, PROOF, RESULT, FAILURE = 1, 2, 3, 4, 0xFE
LABEL_PAIRING = b"secure-lock/v1/pairing/"
LABEL_PAIRING_ANSWER = b"secure-lock/v1/pairing-answer\x00"
LABEL_RESYNC = b"secure-lock/v1/resync\x00"
CHANNEL_PAIRING, CHANNEL_RESYNC = 0x50, 0x52
NAME_FIELD_SIZE = 65
MAX_SUITES = 8
SEALED_NAME_SIZE = NAME_FIELD_SIZE + 16
PAIRING_ANSWER_SIZE = 3584
ANSWER_KEY_SIZE = 32
RESYNC_VERSION = 1
MAX_RESYNC_PREKEYS = 4
BAD_MAC = "bad_mac"


def label(name: str) -> bytes:
    """``"secure-lock/v1/pairing/" + name`` (no trailing NUL)."""
    return LABEL_PAIRING + name.encode()


def transcript(name: str, *parts: bytes) -> bytes:
    """``H(label(name) || parts...)``."""
    return hashlib.sha256(label(name) + b"".join(parts)).digest()


def _header(r: Reader, message_type: int) -> None:
    if r.u8() != message_type:
        raise fail("unexpected_message", "another pairing message type")
    if r.u8() != PAIRING_VERSION:
        raise fail("unsupported_version", "pairing version")


def _suites(r: Reader) -> list[int]:
    """1 to 8 distinct suite ids; ids this side does not know are left out, in order."""
    raw = r.bytes8()
    if not 1 <= len(raw) <= MAX_SUITES or len(set(raw)) != len(raw):
        raise fail(MALFORMED, "suite list")
    return [suite for suite in raw if suite in SUITES]


def read_hello(data: bytes) -> Fields:
    """``1 | 2 | lock_id(16) | discriminator(1) | controller_identity(32) | offered_suites(bytes8) | nonce_c(32)``."""
    r = Reader(data)
    _header(r, HELLO)
    out = {
        "lock_id": r.take(16),
        "discriminator": r.u8(),
        "controller_identity": r.take(32),
        "offered_suites": _suites(r),
        "nonce_c": r.take(32),
    }
    r.end()
    return out


def read_challenge(data: bytes) -> Fields:
    """Read a challenge; ``unsigned`` is everything before the signature."""
    r = Reader(data)
    _header(r, CHALLENGE)
    out: Fields = {
        "lock_id": r.take(16),
        "lock_identity": r.take(32),
        "lock_suites": _suites(r),
        "seen_controller_suites": _suites(r),
        "chosen_suite": r.u8(),
        "prekey": read_signed_prekey(r),
        "certificates": [r.bytes16() for _ in range(r.u8())],
        "nonce_c": r.take(32),
        "nonce_l": r.take(32),
        "share_p": r.take(32),
    }
    out["unsigned"] = data[: len(data) - 64]
    out["signature"] = r.take(64)
    r.end()
    return out


def read_proof(data: bytes) -> Fields:
    """Read a proof; ``unsigned`` is everything before the signature and MAC."""
    r = Reader(data)
    _header(r, PROOF)
    out: Fields = {
        "nonce_l": r.take(32),
        "share_v": r.take(32),
        "confirm_v": r.take(32),
        "prekey": read_signed_prekey(r),
        "sealed_name": r.take(SEALED_NAME_SIZE),
    }
    out["unsigned"] = data[: len(data) - 96]
    out["signature"], out["mac"] = r.take(64), r.take(32)
    r.end()
    return out


def read_result(data: bytes) -> Fields:
    """Read a result; ``unsigned`` is everything before the signature and MAC."""
    r = Reader(data)
    _header(r, RESULT)
    out: Fields = {
        "nonce_c": r.take(32),
        "confirm_p": r.take(32),
        "controller_id": r.take(16),
        "role": r.enum(1, ROLES),
        "lock_time_ms": r.u64(),
    }
    out["unsigned"] = data[: len(data) - 96]
    out["signature"], out["mac"] = r.take(64), r.take(32)
    r.end()
    return out


def choose_suite(offered: list[int], lock_suites: list[int]) -> int | None:
    """Return the highest suite number both offer."""
    common = set(offered) & set(lock_suites) & set(SUITES)
    return max(common) if common else None


def _hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt=salt, info=info).derive(ikm)


def session_keys(
    k_shared: bytes, th1: bytes, lock_id: bytes
) -> tuple[bytes, bytes, bytes]:
    """``k_c``, ``k_l`` and ``k_name`` from ``K_shared``."""
    keys = _hkdf(k_shared, th1, label("keys") + lock_id, 64)
    return keys[:32], keys[32:], _hkdf(k_shared, th1, label("name") + lock_id, 32)


def open_name(k_name: bytes, th1: bytes, sealed: bytes) -> str:
    """Open the sealed name: ``len(1) || name || zeros`` to 65 bytes."""
    try:
        padded = ChaCha20Poly1305(k_name).decrypt(bytes(12), sealed, th1)
    except InvalidTag:
        raise fail(BAD_MAC, "sealed name does not open") from None
    length = padded[0]
    if length >= NAME_FIELD_SIZE or any(padded[1 + length :]):
        raise fail(MALFORMED, "name padding")
    return Reader(padded[: 1 + length]).str8()


def check_mac(key: bytes, message: bytes, mac: bytes) -> None:
    """HMAC-SHA256, compared in constant time; failure is ``bad_mac``."""
    if not hmac.compare_digest(hmac.new(key, message, hashlib.sha256).digest(), mac):
        raise fail(BAD_MAC)


def open_sealed_answer(private: bytes, controller_frame: bytes, sealed: bytes) -> bytes:
    """Open a lock answer (7.7) as the controller whose frame it answers."""
    if controller_frame[0] != CHANNEL_PAIRING or len(controller_frame) <= 33:
        raise fail(MALFORMED, "not a controller pairing frame")
    body = controller_frame[1:]
    if len(sealed) != SUITES[1].enc_size + PAIRING_ANSWER_SIZE + 16:
        raise fail(MALFORMED, "sealed answer size")
    info = LABEL_PAIRING_ANSWER + hashlib.sha256(body).digest()
    padded = open_base(1, private, sealed, info)
    length = int.from_bytes(padded[:2], "big")
    if len(padded) != PAIRING_ANSWER_SIZE or not 0 < length <= PAIRING_ANSWER_SIZE - 2:
        raise fail(MALFORMED, "answer length")
    if any(padded[2 + length :]):
        raise fail(MALFORMED, "answer padding")
    return padded[2 : 2 + length]


def read_failure_notice(data: bytes) -> Fields:
    """``0xFE | nonce_c(32) | lock_identity(32) | len(1) | code_ascii | signature(64)``, verified."""
    r = Reader(data)
    if r.u8() != FAILURE:
        raise fail(MALFORMED, "not a failure notice")
    nonce_c, identity = r.take(32), r.take(32)
    code = r.bytes8()
    signature = r.take(64)
    r.end()
    verify_signature(identity, signature, label("failure") + nonce_c + code)
    return {"nonce_c": nonce_c, "lock_identity": identity, "code": code.decode("ascii")}


def read_resync_notice(data: bytes, lock_identity: bytes) -> Fields:
    """``1 | lock_id(16) | n(1, 1..4) | SignedPrekey*n | signature(64)``, verified."""
    r = Reader(data)
    if r.u8() != RESYNC_VERSION:
        raise fail("unsupported_version", "resync notice version")
    lock_id, count = r.take(16), r.u8()
    if not 1 <= count <= MAX_RESYNC_PREKEYS:
        raise fail(MALFORMED, "prekey count")
    prekeys = [read_signed_prekey(r) for _ in range(count)]
    signature = r.take(64)
    r.end()
    verify_signature(lock_identity, signature, LABEL_RESYNC + data[:-64])
    for prekey in prekeys:
        verify_prekey(lock_identity, prekey)
    return {"lock_id": lock_id, "prekeys": prekeys}
