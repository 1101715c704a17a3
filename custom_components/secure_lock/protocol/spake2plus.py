"""SPAKE2+ (RFC 9383) over edwards25519, with SHA-256, HKDF-SHA256 and HMAC-SHA256.

Every group operation is libsodium's (through PyNaCl): constant-time
scalar multiplication, point addition and subtraction, scalar arithmetic
and point validation.  Nothing here branches on the password or on a
secret scalar; the only branches are on public inputs (a share that is
not a valid point is refused).

Roles, as in RFC 9383 section 3: the *prover* holds ``w0`` and ``w1``
(here the lock, which stores them, never the code itself); the *verifier*
holds ``w0`` and ``L = w1*P`` (here the controller, which computes them
from the code it was given).  The prover sends ``shareP``, the verifier
answers ``shareV`` and ``confirmV``, and the prover checks ``confirmV``
before it reveals ``confirmP``, so the lock discloses nothing that would
let an attacker test a guess before the lock has counted it.

libsodium refuses a scalar multiplication whose point is not in the
prime-order subgroup or whose result is the identity, so a share with a
small-order component is refused before the cofactor h = 8 of RFC 9382
section 4 would have cleared it; for the points that remain, multiplying
the scalar by h modulo p gives exactly the RFC's ``h*x*(...)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import hmac as std_hmac

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from nacl import bindings as sodium
from nacl.exceptions import RuntimeError as SodiumError

from .errors import ErrorCode, PairingError
from .rng import Rng, system_rng

POINT_SIZE = 32
SCALAR_SIZE = 32
CONFIRMATION_SIZE = 32
SHARED_KEY_SIZE = 32

M = bytes.fromhex("d048032c6ea0b6d697ddc2e86bda85a33adac920f1bf18e1b0c6d166a5cecdaf")
"""RFC 9382 section 6, seed "edwards25519 point generation seed (M)"."""
N = bytes.fromhex("d3bfb518f44f3430f29d0c92af503865a1ed3281dc69b35dd868ba85f886c4ab")
"""RFC 9382 section 6, seed "edwards25519 point generation seed (N)"."""

W_SEED_SIZE = 40
"""Bytes of PBKDF output per scalar: ceil(log2 p / 8) + 8, as RFC 9383 section 3.2 asks."""
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_SCRYPT_SALT = b"secure-lock/v1/pake/w0w1"


def _le64(data: bytes) -> bytes:
    return len(data).to_bytes(8, "little") + data


def _reduce(seed: bytes) -> bytes:
    """Little-endian integer modulo the group order (libsodium, constant time)."""
    return bytes(sodium.crypto_core_ed25519_scalar_reduce(seed.ljust(64, b"\0")))


@dataclass(frozen=True, slots=True)
class ProverSecret:
    """``w0`` and ``w1``: what the lock keeps instead of the code (RFC 9383 section 3.2)."""

    w0: bytes = field(repr=False)
    w1: bytes = field(repr=False)

    def __post_init__(self) -> None:
        """Both are canonical 32-byte scalars."""
        for scalar in (self.w0, self.w1):
            if len(scalar) != SCALAR_SIZE or _reduce(scalar) != scalar:
                raise PairingError(ErrorCode.MALFORMED, "not a canonical scalar")

    def verifier(self) -> VerifierSecret:
        """Return ``(w0, L)``, the verifier's registration record."""
        return VerifierSecret(
            self.w0, bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(self.w1))
        )

    def to_bytes(self) -> bytes:
        """Return ``w0 || w1`` (sealed storage and the invitation request)."""
        return self.w0 + self.w1

    @classmethod
    def from_bytes(cls, data: bytes) -> ProverSecret:
        """Parse ``w0 || w1``."""
        if len(data) != 2 * SCALAR_SIZE:
            raise PairingError(ErrorCode.MALFORMED, "bad w0 || w1 length")
        return cls(bytes(data[:SCALAR_SIZE]), bytes(data[SCALAR_SIZE:]))


@dataclass(frozen=True, slots=True)
class VerifierSecret:
    """``w0`` and ``L = w1*P`` (RFC 9383 section 3.2)."""

    w0: bytes = field(repr=False)
    L: bytes = field(repr=False)


def derive_prover_secret(passcode: int, prover_id: bytes) -> ProverSecret:
    """``w0s || w1s = PBKDF(len(pw) || pw || len(idProver) || idProver || len(idVerifier) || idVerifier)``.

    PBKDF is scrypt (RFC 7914; N = 2^15, r = 8, p = 1), pw is the passcode
    as four little-endian bytes, idVerifier is empty (the controller is not
    known when a code is made), and each half is reduced modulo the group
    order as a little-endian integer.
    """
    if not 0 <= passcode < 2**32:
        raise PairingError(ErrorCode.INVALID_ARGUMENT, "passcode out of range")
    password_input = (
        _le64(passcode.to_bytes(4, "little")) + _le64(prover_id) + _le64(b"")
    )
    okm = Scrypt(
        salt=_SCRYPT_SALT,
        length=2 * W_SEED_SIZE,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
    ).derive(password_input)
    return ProverSecret(_reduce(okm[:W_SEED_SIZE]), _reduce(okm[W_SEED_SIZE:]))


_COFACTOR = (8).to_bytes(SCALAR_SIZE, "little")


def _times_cofactor(scalar: bytes) -> bytes:
    """``h * scalar mod p``: on the prime-order subgroup, (h*s)*T = h*(s*T)."""
    return bytes(sodium.crypto_core_ed25519_scalar_mul(scalar, _COFACTOR))


def _random_scalar(rng: Rng) -> bytes:
    # 64 uniform bytes reduced mod p: bias below 2^-250.
    return _reduce(rng(64))


def _check_share(share: bytes) -> None:
    if len(share) != POINT_SIZE or not sodium.crypto_core_ed25519_is_valid_point(share):
        raise PairingError(ErrorCode.MALFORMED, "PAKE share is not a valid point")


def _mul(scalar: bytes, point: bytes) -> bytes:
    try:
        return bytes(sodium.crypto_scalarmult_ed25519_noclamp(scalar, point))
    except SodiumError:
        raise PairingError(ErrorCode.MALFORMED, "PAKE share is degenerate") from None


def _blind(scalar: bytes, w0: bytes, point: bytes) -> bytes:
    """``scalar*P + w0*point``."""
    return bytes(
        sodium.crypto_core_ed25519_add(
            sodium.crypto_scalarmult_ed25519_base_noclamp(scalar),
            _mul(w0, point),
        )
    )


def _unblind(share: bytes, w0: bytes, point: bytes) -> bytes:
    """``share - w0*point``, refused if it is not a usable group element."""
    try:
        return bytes(sodium.crypto_core_ed25519_sub(share, _mul(w0, point)))
    except SodiumError:
        raise PairingError(ErrorCode.MALFORMED, "PAKE share is degenerate") from None


@dataclass(frozen=True, slots=True)
class Confirmed:
    """What both sides derive: the two confirmations and ``K_shared``."""

    confirm_p: bytes = field(repr=False)
    confirm_v: bytes = field(repr=False)
    shared_key: bytes = field(repr=False)


def _mac(key: bytes, data: bytes) -> bytes:
    tag = hmac.HMAC(key, hashes.SHA256())
    tag.update(data)
    return tag.finalize()


def key_schedule(
    context: bytes,
    prover_id: bytes,
    *,
    share_p: bytes,
    share_v: bytes,
    z: bytes,
    v: bytes,
    w0: bytes,
) -> Confirmed:
    """RFC 9383 section 3.4: TT, ``K_main``, the confirmation keys and ``K_shared``."""
    transcript = b"".join(
        _le64(part)
        for part in (context, prover_id, b"", M, N, share_p, share_v, z, v, w0)
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(transcript)
    k_main = digest.finalize()
    confirmation_keys = HKDF(
        hashes.SHA256(), 2 * CONFIRMATION_SIZE, salt=None, info=b"ConfirmationKeys"
    ).derive(k_main)
    shared = HKDF(
        hashes.SHA256(), SHARED_KEY_SIZE, salt=None, info=b"SharedKey"
    ).derive(k_main)
    return Confirmed(
        confirm_p=_mac(confirmation_keys[:CONFIRMATION_SIZE], share_v),
        confirm_v=_mac(confirmation_keys[CONFIRMATION_SIZE:], share_p),
        shared_key=shared,
    )


class Prover:
    """The lock's side: ``shareP`` first, then check ``confirmV``, then reveal ``confirmP``."""

    def __init__(self, secret: ProverSecret, rng: Rng = system_rng) -> None:
        """Pick the ephemeral scalar ``x`` and compute ``shareP = x*P + w0*M``."""
        self._secret = secret
        self._x = _random_scalar(rng)
        self.share = _blind(self._x, secret.w0, M)

    def __repr__(self) -> str:
        """Never show the secrets."""
        return "Prover()"

    def finish(
        self, context: bytes, prover_id: bytes, share_v: bytes, confirm_v: bytes
    ) -> Confirmed:
        """Check the verifier's ``confirmV``; raise ``BAD_MAC`` if the code differs."""
        _check_share(share_v)
        unblinded = _unblind(share_v, self._secret.w0, N)
        z = _mul(_times_cofactor(self._x), unblinded)
        v = _mul(_times_cofactor(self._secret.w1), unblinded)
        keys = key_schedule(
            context,
            prover_id,
            share_p=self.share,
            share_v=share_v,
            z=z,
            v=v,
            w0=self._secret.w0,
        )
        if not std_hmac.compare_digest(keys.confirm_v, confirm_v):
            raise PairingError(ErrorCode.BAD_MAC, "PAKE confirmation failed")
        return keys


class Verifier:
    """The controller's side: answer ``shareP`` with ``shareV`` and ``confirmV``."""

    def __init__(self, secret: VerifierSecret, rng: Rng = system_rng) -> None:
        """Pick the ephemeral scalar ``y`` and compute ``shareV = y*P + w0*N``."""
        self._secret = secret
        self._y = _random_scalar(rng)
        self.share = _blind(self._y, secret.w0, N)

    def __repr__(self) -> str:
        """Never show the secrets."""
        return "Verifier()"

    def respond(self, context: bytes, prover_id: bytes, share_p: bytes) -> Confirmed:
        """Derive the keys for ``shareP``; send ``confirm_v``, expect ``confirm_p``."""
        _check_share(share_p)
        hy = _times_cofactor(self._y)
        z = _mul(hy, _unblind(share_p, self._secret.w0, M))
        v = _mul(hy, self._secret.L)
        return key_schedule(
            context,
            prover_id,
            share_p=share_p,
            share_v=self.share,
            z=z,
            v=v,
            w0=self._secret.w0,
        )


def check_prover_confirmation(keys: Confirmed, confirm_p: bytes) -> None:
    """Check ``confirmP``, the verifier's last step: the prover knew ``w0`` and ``w1``."""
    if not std_hmac.compare_digest(keys.confirm_p, confirm_p):
        raise PairingError(ErrorCode.BAD_MAC, "PAKE confirmation failed")
