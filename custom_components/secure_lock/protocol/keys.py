"""Identity keys, key ids, signed prekeys and public key bundles."""

from __future__ import annotations

from dataclasses import dataclass
import hashlib

from cryptography.hazmat.primitives.asymmetric import ed25519
from nacl import bindings as sodium
from nacl.exceptions import BadSignatureError

from .encoding import Reader, Writer
from .errors import ErrorCode, MalformedError, ProtocolError
from .kem import KemPrivateKey, KemPublicKey
from .rng import Rng
from .suites import SuiteId, params, suite_from_wire

KEY_ID_SIZE = 16
PREKEY_ID_SIZE = 8
SIGNATURE_SIZE = 64
ED25519_SIZE = 32

_KEY_ID_LABEL = b"secure-lock/v1/key-id\x00"
_PREKEY_ID_LABEL = b"secure-lock/v1/prekey-id\x00"
_PREKEY_SIG_LABEL = b"secure-lock/v1/prekey\x00"


def key_id(public_bytes: bytes) -> bytes:
    """Return the 128-bit id of a public key (also the setup-code fingerprint)."""
    return hashlib.sha256(_KEY_ID_LABEL + public_bytes).digest()[:KEY_ID_SIZE]


def prekey_id(suite: SuiteId, public_bytes: bytes) -> bytes:
    """Return the 64-bit id that names a prekey in the outer header."""
    return hashlib.sha256(_PREKEY_ID_LABEL + bytes([suite]) + public_bytes).digest()[
        :PREKEY_ID_SIZE
    ]


class IdentityPublicKey:
    """An Ed25519 identity public key."""

    __slots__ = ("key_id", "raw")

    def __init__(self, raw: bytes) -> None:
        """Take 32 raw bytes or raise ``malformed``; points are checked when verifying."""
        if len(raw) != ED25519_SIZE:
            raise MalformedError("identity key has the wrong length")
        self.raw = bytes(raw)
        self.key_id = key_id(self.raw)

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raise ``bad_signature`` unless ``signature`` is valid for ``message``.

        libsodium's check, not OpenSSL's: it takes half the CPU time (three
        checks per command on a controller), and it also refuses small-order
        and non-canonical points, which no honest signer produces
        (protocol.md, section 0).
        """
        if len(signature) != SIGNATURE_SIZE:
            raise ProtocolError(ErrorCode.BAD_SIGNATURE)
        try:
            sodium.crypto_sign_open(bytes(signature) + bytes(message), self.raw)
        except BadSignatureError:
            raise ProtocolError(ErrorCode.BAD_SIGNATURE) from None

    def __eq__(self, other: object) -> bool:
        """Compare by bytes."""
        return isinstance(other, IdentityPublicKey) and self.raw == other.raw

    def __hash__(self) -> int:
        """Hash by bytes."""
        return hash(self.raw)

    def __repr__(self) -> str:
        """Show the key id."""
        return f"IdentityPublicKey(key_id={self.key_id.hex()})"


class IdentityPrivateKey:
    """An Ed25519 identity private key; never shown in repr, str or errors."""

    __slots__ = ("_key", "_seed", "public_key")

    def __init__(self, seed: bytes) -> None:
        """Load the 32-byte private seed."""
        if len(seed) != ED25519_SIZE:
            raise MalformedError("identity private key has the wrong length")
        self._seed = bytes(seed)
        self._key = ed25519.Ed25519PrivateKey.from_private_bytes(self._seed)
        self.public_key = IdentityPublicKey(self._key.public_key().public_bytes_raw())

    @classmethod
    def generate(cls, rng: Rng) -> IdentityPrivateKey:
        """Create a key from ``rng`` output."""
        return cls(rng(ED25519_SIZE))

    def sign(self, message: bytes) -> bytes:
        """Return the (deterministic) Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def private_bytes(self) -> bytes:
        """Return the seed to store (caller must protect it)."""
        return self._seed

    def __repr__(self) -> str:
        """Show only the public key id."""
        return f"IdentityPrivateKey(key_id={self.public_key.key_id.hex()})"


@dataclass(frozen=True, slots=True)
class SignedPrekey:
    """A KEM public key signed by its owner's identity key, with its validity."""

    owner_id: bytes
    suite: SuiteId
    prekey_id: bytes
    public_key: KemPublicKey
    valid_from: int
    valid_until: int
    signature: bytes

    @staticmethod
    def signed_bytes(
        owner_id: bytes, public_key: KemPublicKey, valid_from: int, valid_until: int
    ) -> bytes:
        """Return what the owner signs (domain-separated, binds owner and suite)."""
        return (
            Writer()
            .raw(_PREKEY_SIG_LABEL)
            .fixed(owner_id, KEY_ID_SIZE)
            .u8(public_key.suite)
            .fixed(prekey_id(public_key.suite, public_key.raw), PREKEY_ID_SIZE)
            .raw(public_key.raw)
            .u64(valid_from)
            .u64(valid_until)
            .finish()
        )

    @classmethod
    def create(
        cls,
        owner: IdentityPrivateKey,
        public_key: KemPublicKey,
        valid_from: int,
        valid_until: int,
    ) -> SignedPrekey:
        """Sign ``public_key`` with ``owner``."""
        owner_id = owner.public_key.key_id
        signature = owner.sign(
            cls.signed_bytes(owner_id, public_key, valid_from, valid_until)
        )
        return cls(
            owner_id=owner_id,
            suite=public_key.suite,
            prekey_id=prekey_id(public_key.suite, public_key.raw),
            public_key=public_key,
            valid_from=valid_from,
            valid_until=valid_until,
            signature=signature,
        )

    def verify(self, owner: IdentityPublicKey) -> None:
        """Raise unless this prekey is validly signed by ``owner``."""
        if self.owner_id != owner.key_id:
            raise ProtocolError(ErrorCode.IDENTITY_MISMATCH, "prekey owner differs")
        owner.verify(
            self.signature,
            self.signed_bytes(
                self.owner_id, self.public_key, self.valid_from, self.valid_until
            ),
        )

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return (
            writer.fixed(self.owner_id, KEY_ID_SIZE)
            .u8(self.suite)
            .raw(self.public_key.raw)
            .u64(self.valid_from)
            .u64(self.valid_until)
            .fixed(self.signature, SIGNATURE_SIZE)
        )

    @classmethod
    def decode(cls, reader: Reader) -> SignedPrekey:
        """Read one signed prekey (signature is NOT checked here)."""
        owner_id = reader.fixed(KEY_ID_SIZE)
        suite = suite_from_wire(reader.u8())
        public_key = KemPublicKey(suite, reader.fixed(params(suite).kem_public_size))
        valid_from = reader.u64()
        valid_until = reader.u64()
        signature = reader.fixed(SIGNATURE_SIZE)
        return cls(
            owner_id=owner_id,
            suite=suite,
            prekey_id=prekey_id(suite, public_key.raw),
            public_key=public_key,
            valid_from=valid_from,
            valid_until=valid_until,
            signature=signature,
        )


class Prekey:
    """A private prekey with its signed public half; repr hides the private key."""

    __slots__ = ("private_key", "signed")

    def __init__(self, signed: SignedPrekey, private_key: KemPrivateKey) -> None:
        """Pair a signed public prekey with its private key."""
        if signed.public_key != private_key.public_key:
            raise ProtocolError(
                ErrorCode.INVALID_ARGUMENT, "prekey halves do not match"
            )
        self.signed = signed
        self.private_key = private_key

    def __repr__(self) -> str:
        """Show the id and validity only."""
        return (
            f"Prekey(suite={self.signed.suite.name}, id={self.signed.prekey_id.hex()}, "
            f"valid_until={self.signed.valid_until})"
        )


@dataclass(frozen=True, slots=True)
class PublicKeyBundle:
    """Everything a peer needs to talk to an identity: its key and signed prekeys."""

    identity: IdentityPublicKey
    prekeys: tuple[SignedPrekey, ...]

    @property
    def key_id(self) -> bytes:
        """The id of the identity key."""
        return self.identity.key_id

    def verify(self) -> None:
        """Raise unless every prekey is signed by the identity key."""
        for prekey in self.prekeys:
            prekey.verify(self.identity)

    def prekey_for(self, suite: SuiteId) -> SignedPrekey | None:
        """Return the newest prekey of ``suite``, if any."""
        candidates = [p for p in self.prekeys if p.suite is suite]
        # On a tie the later-added one wins (``with_prekey`` appends the newest).
        return (
            max(reversed(candidates), key=lambda p: p.valid_from)
            if candidates
            else None
        )

    def with_prekey(self, prekey: SignedPrekey, keep: int = 2) -> PublicKeyBundle:
        """Return a bundle that adds ``prekey`` and keeps ``keep`` per suite."""
        same = sorted(
            [
                p
                for p in self.prekeys
                if p.suite is prekey.suite and p.prekey_id != prekey.prekey_id
            ]
            + [prekey],
            key=lambda p: p.valid_from,
        )[-keep:]
        others = [p for p in self.prekeys if p.suite is not prekey.suite]
        return PublicKeyBundle(self.identity, tuple(others + same))

    def with_current_prekey(self, prekey: SignedPrekey) -> PublicKeyBundle:
        """Return a bundle whose newest prekey of its suite is ``prekey``.

        For a signed, fresh announcement by the owner: prekeys of the suite
        newer than (or as new as) ``prekey`` are dropped, because the owner
        says this is the one it holds now (e.g. after restoring a backup).
        """
        older = tuple(
            p
            for p in self.prekeys
            if p.suite is not prekey.suite
            or p.prekey_id == prekey.prekey_id
            or p.valid_from < prekey.valid_from
        )
        return PublicKeyBundle(self.identity, older).with_prekey(prekey)

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        writer.fixed(self.identity.raw, ED25519_SIZE).u8(len(self.prekeys))
        for prekey in self.prekeys:
            prekey.encode(writer)
        return writer

    def to_bytes(self) -> bytes:
        """Return the canonical encoding."""
        return self.encode(Writer()).finish()

    @classmethod
    def decode(cls, reader: Reader) -> PublicKeyBundle:
        """Read a bundle and verify its prekey signatures."""
        identity = IdentityPublicKey(reader.fixed(ED25519_SIZE))
        prekeys = tuple(SignedPrekey.decode(reader) for _ in range(reader.u8()))
        bundle = cls(identity, prekeys)
        bundle.verify()
        return bundle

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicKeyBundle:
        """Parse and verify the canonical encoding."""
        reader = Reader(data)
        value = cls.decode(reader)
        reader.done()
        return value
