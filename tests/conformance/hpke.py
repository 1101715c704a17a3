"""HPKE base mode, single-shot open (RFC 9180), for the two KEMs of section 5.

Written out from RFC 9180 and the X-Wing draft so that the vectors check the
specification's claims, not a library's choice: suite 1 is DHKEM(X25519,
HKDF-SHA256) (KEM id 0x0020), suite 2 is X-Wing (KEM id 0x647A), both with
HKDF-SHA256 (0x0001) and ChaCha20-Poly1305 (0x0003).  Only the primitives
come from ``cryptography``: X25519, ML-KEM-768 decapsulation, SHA3-256,
ChaCha20-Poly1305.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from .wire import (
    AEAD_CHACHA20_POLY1305,
    KDF_HKDF_SHA256,
    KEM_DHKEM_X25519,
    SUITES,
    fail,
)

DECRYPT_FAILED = "decrypt_failed"
# X-Wing's combiner label, the six ASCII characters \.//^\ (draft-connolly-cfrg-xwing-kem).
XWING_LABEL = b"\x5c\x2e\x2f\x2f\x5e\x5c"
MLKEM768_CIPHERTEXT_SIZE = 1088
MLKEM768_PUBLIC_SIZE = 1184
MLKEM_SEED_SIZE = 64
X25519_SIZE = 32


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract(salt, b"HPKE-v1" + suite_id + label + ikm)


def _labeled_expand(
    suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int
) -> bytes:
    labeled = length.to_bytes(2, "big") + b"HPKE-v1" + suite_id + label + info
    return _expand(prk, labeled, length)


def x25519_public(private: bytes) -> bytes:
    """Return the X25519 public key of a 32-byte private key."""
    key = x25519.X25519PrivateKey.from_private_bytes(private)
    return key.public_key().public_bytes_raw()


def _dhkem_decap(enc: bytes, private: bytes) -> bytes:
    """DHKEM(X25519, HKDF-SHA256) Decap (RFC 9180 section 4.1)."""
    kem_suite = b"KEM" + KEM_DHKEM_X25519.to_bytes(2, "big")
    key = x25519.X25519PrivateKey.from_private_bytes(private)
    try:
        dh = key.exchange(x25519.X25519PublicKey.from_public_bytes(enc))
    except ValueError:
        raise fail(DECRYPT_FAILED, "X25519 produced the all-zero value") from None
    kem_context = enc + x25519_public(private)
    eae_prk = _labeled_extract(kem_suite, b"", b"eae_prk", dh)
    return _labeled_expand(kem_suite, eae_prk, b"shared_secret", kem_context, 32)


def xwing_public(private: bytes) -> bytes:
    """Return ``ML-KEM-768 public (1184) || X25519 public (32)`` of a suite-2 private key."""
    seed, dh = private[:MLKEM_SEED_SIZE], private[MLKEM_SEED_SIZE:]
    kem = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed)
    return kem.public_key().public_bytes_raw() + x25519_public(dh)


def _xwing_decap(enc: bytes, private: bytes) -> bytes:
    """X-Wing Decap: SHA3-256(ss_M || ss_X || ct_X || pk_X || label)."""
    seed, dh_private = private[:MLKEM_SEED_SIZE], private[MLKEM_SEED_SIZE:]
    ct_m, ct_x = enc[:MLKEM768_CIPHERTEXT_SIZE], enc[MLKEM768_CIPHERTEXT_SIZE:]
    ss_m = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).decapsulate(ct_m)
    try:
        ss_x = x25519.X25519PrivateKey.from_private_bytes(dh_private).exchange(
            x25519.X25519PublicKey.from_public_bytes(ct_x)
        )
    except ValueError:
        raise fail(DECRYPT_FAILED, "X25519 produced the all-zero value") from None
    pk_x = x25519_public(dh_private)
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + XWING_LABEL).digest()


def open_base(suite: int, private: bytes, sealed: bytes, info: bytes) -> bytes:
    """HPKE single-shot Open, base mode, empty AAD: ``sealed = enc || ct``."""
    params = SUITES[suite]
    enc, ciphertext = sealed[: params.enc_size], sealed[params.enc_size :]
    if params.kem_id == KEM_DHKEM_X25519:
        shared = _dhkem_decap(enc, private)
    else:
        shared = _xwing_decap(enc, private)
    suite_id = (
        b"HPKE"
        + params.kem_id.to_bytes(2, "big")
        + KDF_HKDF_SHA256.to_bytes(2, "big")
        + AEAD_CHACHA20_POLY1305.to_bytes(2, "big")
    )
    psk_id_hash = _labeled_extract(suite_id, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(suite_id, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = _labeled_extract(suite_id, shared, b"secret", b"")
    key = _labeled_expand(suite_id, secret, b"key", context, 32)
    nonce = _labeled_expand(suite_id, secret, b"base_nonce", context, 12)
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, b"")
    except InvalidTag:
        raise fail(DECRYPT_FAILED, "HPKE open failed") from None
