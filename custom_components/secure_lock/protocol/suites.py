"""Cipher suites, their fixed sizes, and runtime detection of backend support."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cache

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from .errors import ErrorCode, ProtocolError


class SuiteId(IntEnum):
    """Suite numbers on the wire; fixed at pairing, never negotiated per message."""

    X25519_CHACHA20 = 1
    """HPKE(DHKEM X25519/HKDF-SHA256, HKDF-SHA256, ChaCha20-Poly1305) + Ed25519."""
    MLKEM768_X25519_CHACHA20 = 2
    """HPKE(ML-KEM-768+X25519 hybrid, HKDF-SHA256, ChaCha20-Poly1305) + Ed25519."""


@dataclass(frozen=True, slots=True)
class SuiteParams:
    """Sizes that make every frame of a suite the same length."""

    suite: SuiteId
    kem_public_size: int
    kem_private_size: int
    enc_size: int
    payload_capacity: int


X25519_SIZE = 32
_MLKEM768_PUBLIC_SIZE = 1184
_MLKEM768_SEED_SIZE = 64
_MLKEM768_CIPHERTEXT_SIZE = 1088

SUITE_PARAMS: dict[SuiteId, SuiteParams] = {
    SuiteId.X25519_CHACHA20: SuiteParams(
        SuiteId.X25519_CHACHA20, X25519_SIZE, X25519_SIZE, X25519_SIZE, 384
    ),
    # The capacity must hold a hybrid public bundle (controller add, rotation).
    SuiteId.MLKEM768_X25519_CHACHA20: SuiteParams(
        SuiteId.MLKEM768_X25519_CHACHA20,
        _MLKEM768_PUBLIC_SIZE + X25519_SIZE,
        _MLKEM768_SEED_SIZE + X25519_SIZE,
        _MLKEM768_CIPHERTEXT_SIZE + X25519_SIZE,
        1600,
    ),
}

_HPKE_KEM = {
    SuiteId.X25519_CHACHA20: hpke.KEM.X25519,
    SuiteId.MLKEM768_X25519_CHACHA20: hpke.KEM.MLKEM768_X25519,
}


def suite_from_wire(value: int) -> SuiteId:
    """Map a wire byte to a suite this build knows, or raise ``unsupported_suite``."""
    try:
        return SuiteId(value)
    except ValueError:
        raise ProtocolError(ErrorCode.UNSUPPORTED_SUITE, f"suite {value}") from None


def params(suite: SuiteId) -> SuiteParams:
    """Return the fixed sizes of ``suite``."""
    return SUITE_PARAMS[suite]


@cache
def hpke_suite(suite: SuiteId) -> hpke.Suite:
    """Return the HPKE suite object for ``suite`` (KDF and AEAD are shared)."""
    return hpke.Suite(
        _HPKE_KEM[suite], hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305
    )


def _hybrid_works() -> bool:
    try:
        private = hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(bytes(_MLKEM768_SEED_SIZE)),
            x25519.X25519PrivateKey.from_private_bytes(bytes(range(X25519_SIZE))),
        )
        probe = hpke_suite(SuiteId.MLKEM768_X25519_CHACHA20)
        sealed = probe.encrypt(b"probe", private.public_key(), info=b"probe")
        return probe.decrypt(sealed, private, info=b"probe") == b"probe"
    except UnsupportedAlgorithm, AttributeError, ValueError:
        # OpenSSL builds without ML-KEM raise UnsupportedAlgorithm; older
        # cryptography versions lack the classes entirely.
        return False


@cache
def supported_suites() -> tuple[SuiteId, ...]:
    """Suites this process can use, most preferred first (detected once)."""
    if _hybrid_works():
        return (SuiteId.MLKEM768_X25519_CHACHA20, SuiteId.X25519_CHACHA20)
    return (SuiteId.X25519_CHACHA20,)


def choose_suite(
    controller_offer: tuple[SuiteId, ...], lock_offer: tuple[SuiteId, ...]
) -> SuiteId | None:
    """Pick the strongest suite both sides offer (higher number is stronger)."""
    common = set(controller_offer) & set(lock_offer)
    return max(common) if common else None
