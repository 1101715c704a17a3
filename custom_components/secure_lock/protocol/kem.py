"""KEM key pairs per suite and HPKE single-shot seal/open."""

from __future__ import annotations

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from .errors import ErrorCode, MalformedError, ProtocolError
from .rng import Rng
from .suites import X25519_SIZE, SuiteId, hpke_suite, params

type _HpkePrivate = x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey
type _HpkePublic = x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey


class KemPublicKey:
    """A recipient's KEM public key for one suite (raw bytes + parsed object)."""

    __slots__ = ("_key", "raw", "suite")

    def __init__(self, suite: SuiteId, raw: bytes) -> None:
        """Parse ``raw`` for ``suite`` or raise ``malformed``."""
        if len(raw) != params(suite).kem_public_size:
            raise MalformedError("KEM public key has the wrong length")
        self.suite = suite
        self.raw = bytes(raw)
        try:
            if suite is SuiteId.X25519_CHACHA20:
                self._key: _HpkePublic = x25519.X25519PublicKey.from_public_bytes(raw)
            else:
                self._key = hpke.MLKEM768X25519PublicKey(
                    mlkem.MLKEM768PublicKey.from_public_bytes(raw[:-X25519_SIZE]),
                    x25519.X25519PublicKey.from_public_bytes(raw[-X25519_SIZE:]),
                )
        except (ValueError, UnsupportedAlgorithm) as err:
            raise MalformedError("invalid KEM public key") from err

    def seal(self, plaintext: bytes, info: bytes) -> bytes:
        """HPKE base-mode single-shot encryption; returns ``enc || ciphertext``."""
        try:
            return hpke_suite(self.suite).encrypt(plaintext, self._key, info=info)
        except UnsupportedAlgorithm as err:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_SUITE, "backend lacks this suite"
            ) from err

    def __eq__(self, other: object) -> bool:
        """Compare by suite and bytes."""
        return isinstance(other, KemPublicKey) and (self.suite, self.raw) == (
            other.suite,
            other.raw,
        )

    def __hash__(self) -> int:
        """Hash by suite and bytes."""
        return hash((self.suite, self.raw))

    def __repr__(self) -> str:
        """Show the suite and a short prefix of the public key."""
        return f"KemPublicKey(suite={self.suite.name}, raw={self.raw[:8].hex()}...)"


class KemPrivateKey:
    """A KEM private key for one suite; its bytes never appear in repr or errors."""

    __slots__ = ("_key", "_raw", "public_key", "suite")

    def __init__(self, suite: SuiteId, raw: bytes) -> None:
        """Load a stored private key (X25519 scalar, or ML-KEM seed + X25519)."""
        if len(raw) != params(suite).kem_private_size:
            raise MalformedError("KEM private key has the wrong length")
        self.suite = suite
        self._raw = bytes(raw)
        try:
            if suite is SuiteId.X25519_CHACHA20:
                dh = x25519.X25519PrivateKey.from_private_bytes(raw)
                self._key: _HpkePrivate = dh
                public = dh.public_key().public_bytes_raw()
            else:
                kem = mlkem.MLKEM768PrivateKey.from_seed_bytes(raw[:-X25519_SIZE])
                dh = x25519.X25519PrivateKey.from_private_bytes(raw[-X25519_SIZE:])
                self._key = hpke.MLKEM768X25519PrivateKey(kem, dh)
                public = (
                    kem.public_key().public_bytes_raw()
                    + dh.public_key().public_bytes_raw()
                )
        except (ValueError, UnsupportedAlgorithm) as err:
            raise MalformedError("invalid KEM private key") from err
        self.public_key = KemPublicKey(suite, public)

    @classmethod
    def generate(cls, suite: SuiteId, rng: Rng) -> KemPrivateKey:
        """Create a key pair from ``rng`` output."""
        return cls(suite, rng(params(suite).kem_private_size))

    def private_bytes(self) -> bytes:
        """Return the bytes to store (caller must protect them)."""
        return self._raw

    def open(self, sealed: bytes, info: bytes) -> bytes:
        """HPKE single-shot decryption; any failure is ``decrypt_failed``."""
        try:
            return hpke_suite(self.suite).decrypt(sealed, self._key, info=info)
        except (InvalidTag, ValueError) as err:
            raise ProtocolError(ErrorCode.DECRYPT_FAILED) from err

    def __repr__(self) -> str:
        """Show only the suite and the public key."""
        return f"KemPrivateKey(suite={self.suite.name}, public={self.public_key!r})"
