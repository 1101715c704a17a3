"""SPAKE2+ on edwards25519 as section 7.4 states it (RFC 9383), with libsodium's group operations."""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl import bindings as sodium
from nacl.exceptions import RuntimeError as SodiumError

from .wire import MALFORMED, fail

M = bytes.fromhex("d048032c6ea0b6d697ddc2e86bda85a33adac920f1bf18e1b0c6d166a5cecdaf")
N = bytes.fromhex("d3bfb518f44f3430f29d0c92af503865a1ed3281dc69b35dd868ba85f886c4ab")
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
COFACTOR = 8
SCRYPT_SALT = b"secure-lock/v1/pake/w0w1"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SCRYPT_MAXMEM = 64 * 1024 * 1024


def le64(data: bytes) -> bytes:
    """``len(x) || x`` with an 8-byte little-endian length (RFC 9382)."""
    return len(data).to_bytes(8, "little") + data


def reduce(seed: bytes) -> bytes:
    """Return ``seed`` (little-endian) modulo the group order as a 32-byte scalar."""
    return (int.from_bytes(seed, "little") % GROUP_ORDER).to_bytes(32, "little")


def password_scalars(passcode: int, id_prover: bytes) -> tuple[bytes, bytes]:
    """``w0, w1`` from the passcode (scrypt, then each 40-byte half mod p)."""
    pw = passcode.to_bytes(4, "little")
    okm = hashlib.scrypt(
        le64(pw) + le64(id_prover) + le64(b""),
        salt=SCRYPT_SALT,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=80,
        maxmem=SCRYPT_MAXMEM,
    )
    return reduce(okm[:40]), reduce(okm[40:])


def _times_cofactor(scalar: bytes) -> bytes:
    return ((int.from_bytes(scalar, "little") * COFACTOR) % GROUP_ORDER).to_bytes(
        32, "little"
    )


def _mul(scalar: bytes, point: bytes) -> bytes:
    try:
        return bytes(sodium.crypto_scalarmult_ed25519_noclamp(scalar, point))
    except SodiumError:
        raise fail(MALFORMED, "the product is the identity") from None


def base_mul(scalar: bytes) -> bytes:
    """``scalar * P``."""
    return bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(scalar))


def check_share(share: bytes) -> None:
    """Refuse a share that is not a canonical point of the prime-order subgroup."""
    if len(share) != 32 or not sodium.crypto_core_ed25519_is_valid_point(share):
        raise fail(MALFORMED, "share is not a valid point")


def blind(scalar: bytes, w0: bytes, point: bytes) -> bytes:
    """``scalar*P + w0*point`` (shareP with M, shareV with N)."""
    return bytes(sodium.crypto_core_ed25519_add(base_mul(scalar), _mul(w0, point)))


def unblind(share: bytes, w0: bytes, point: bytes) -> bytes:
    """``share - w0*point``."""
    check_share(share)
    return bytes(sodium.crypto_core_ed25519_sub(share, _mul(w0, point)))


def verifier_z_v(
    y: bytes, share_p: bytes, w0: bytes, point_l: bytes
) -> tuple[bytes, bytes]:
    """``Z = h*y*(shareP - w0*M)``, ``V = h*y*L``."""
    hy = _times_cofactor(y)
    return _mul(hy, unblind(share_p, w0, M)), _mul(hy, point_l)


def prover_z_v(x: bytes, share_v: bytes, w0: bytes, w1: bytes) -> tuple[bytes, bytes]:
    """``Z = h*x*(shareV - w0*N)``, ``V = h*w1*(shareV - w0*N)``."""
    unblinded = unblind(share_v, w0, N)
    return _mul(_times_cofactor(x), unblinded), _mul(_times_cofactor(w1), unblinded)


@dataclass(frozen=True)
class Keys:
    """What the key schedule gives both sides."""

    confirm_p: bytes
    confirm_v: bytes
    shared_key: bytes


def _hkdf(ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt=None, info=info).derive(ikm)


def key_schedule(
    context: bytes,
    id_prover: bytes,
    *,
    share_p: bytes,
    share_v: bytes,
    z: bytes,
    v: bytes,
    w0: bytes,
) -> Keys:
    """TT, ``K_main``, the confirmation keys, the confirmations and ``K_shared``."""
    transcript = b"".join(
        le64(part)
        for part in (context, id_prover, b"", M, N, share_p, share_v, z, v, w0)
    )
    k_main = hashlib.sha256(transcript).digest()
    confirmation = _hkdf(k_main, b"ConfirmationKeys", 64)
    return Keys(
        confirm_p=hmac.new(confirmation[:32], share_v, hashlib.sha256).digest(),
        confirm_v=hmac.new(confirmation[32:], share_p, hashlib.sha256).digest(),
        shared_key=_hkdf(k_main, b"SharedKey", 32),
    )
