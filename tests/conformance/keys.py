"""Key ids, prekey ids, signed prekeys and public key bundles (section 4)."""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from nacl import bindings as sodium
from nacl.exceptions import BadSignatureError

from .wire import (
    LABEL_KEY_ID,
    LABEL_PREKEY_ID,
    LABEL_PREKEY_SIGNATURE,
    LABEL_ROUTE,
    MALFORMED,
    SUITES,
    Reader,
    fail,
)

type Fields = dict[str, Any]

BAD_SIGNATURE = "bad_signature"
UNSUPPORTED_SUITE = "unsupported_suite"


def key_id(identity_public: bytes) -> bytes:
    """``SHA-256(label || identity public key)[0:16]``."""
    return hashlib.sha256(LABEL_KEY_ID + identity_public).digest()[:16]


def prekey_id(suite: int, kem_public: bytes) -> bytes:
    """``SHA-256(label || suite || kem_public)[0:8]``."""
    return hashlib.sha256(LABEL_PREKEY_ID + bytes([suite]) + kem_public).digest()[:8]


def routing_id(lock_id: bytes, recipient_key_id: bytes) -> bytes:
    """``SHA-256(label || lock_id || recipient key id)[0:16]``."""
    return hashlib.sha256(LABEL_ROUTE + lock_id + recipient_key_id).digest()[:16]


def verify_signature(public: bytes, signature: bytes, message: bytes) -> None:
    """Ed25519 verify, section 0's strict rule; failure is ``bad_signature``.

    libsodium applies that rule (RFC 8032's equation, ``S < L``, no
    small-order public key or ``R``) and also refuses a non-canonical key.
    """
    if len(public) != 32 or len(signature) != 64:
        raise fail(BAD_SIGNATURE)
    try:
        sodium.crypto_sign_open(signature + message, public)
    except BadSignatureError:
        raise fail(BAD_SIGNATURE) from None


def _check_kem_public(suite: int, raw: bytes) -> None:
    try:
        if suite == 1:
            x25519.X25519PublicKey.from_public_bytes(raw)
        else:
            mlkem.MLKEM768PublicKey.from_public_bytes(raw[:-32])
            x25519.X25519PublicKey.from_public_bytes(raw[-32:])
    except ValueError:
        raise fail(MALFORMED, "invalid KEM public key") from None


def read_signed_prekey(r: Reader) -> Fields:
    """``owner_id(16) | suite(1) | kem_public | valid_from(8) | valid_until(8) | signature(64)``."""
    owner_id = r.take(16)
    suite = r.u8()
    if suite not in SUITES:
        raise fail(UNSUPPORTED_SUITE, f"prekey suite {suite}")
    public = r.take(SUITES[suite].kem_public_size)
    _check_kem_public(suite, public)
    return {
        "owner_id": owner_id.hex(),
        "suite": suite,
        "prekey_id": prekey_id(suite, public).hex(),
        "public_key": public.hex(),
        "valid_from": r.u64(),
        "valid_until": r.u64(),
        "signature": r.take(64).hex(),
    }


def prekey_signed_bytes(prekey: Fields) -> bytes:
    """Return what the owner signs: label, owner id, suite, prekey id, key, validity."""
    return (
        LABEL_PREKEY_SIGNATURE
        + bytes.fromhex(prekey["owner_id"])
        + bytes([prekey["suite"]])
        + bytes.fromhex(prekey["prekey_id"])
        + bytes.fromhex(prekey["public_key"])
        + int(prekey["valid_from"]).to_bytes(8, "big")
        + int(prekey["valid_until"]).to_bytes(8, "big")
    )


def verify_prekey(owner_public: bytes, prekey: Fields) -> None:
    """Require the owner id to be the owner's key id (``identity_mismatch``), then the signature."""
    if bytes.fromhex(prekey["owner_id"]) != key_id(owner_public):
        raise fail("identity_mismatch", "prekey of another owner")
    verify_signature(
        owner_public, bytes.fromhex(prekey["signature"]), prekey_signed_bytes(prekey)
    )


def read_bundle(r: Reader) -> Fields:
    """``identity_public(32) | count(u8) | SignedPrekey*``; every prekey must verify."""
    identity = r.take(32)
    prekeys = [read_signed_prekey(r) for _ in range(r.u8())]
    for prekey in prekeys:
        verify_prekey(identity, prekey)
    return {"identity": identity.hex(), "prekeys": prekeys}
