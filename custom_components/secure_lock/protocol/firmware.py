"""Firmware releases: a signed manifest, its canonical encoding, and the update policy.

A release is an image plus a *signed manifest* that names the model, the
version, the security version (anti-rollback floor), the image's size and
SHA-256, the oldest version it may be installed over, and release notes.  The
manufacturer signs the manifest (never the image directly: the manifest pins
the image by hash) with its release key, which is kept apart from the dev CA.

The release key is a composite: Ed25519 always, plus ML-DSA-65 when the
`cryptography` backend offers it.  A verifier requires a valid signature for
*every* algorithm its trusted key holds, so a lock that was given a hybrid key
can never be talked into an Ed25519-only release (no downgrade), while
signatures of algorithms it does not know are parsed and ignored, so a future
release can add one without breaking old locks.

Layouts are in docs/protocol.md, section 18.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cache, total_ordering
import hashlib
import re
from typing import Self

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa

from .chunking import MAX_TRANSFER_SIZE
from .encoding import MAX_U16, MAX_U32, Reader, Writer
from .errors import ErrorCode, MalformedError, ProtocolError
from .rng import Rng, system_rng
from .state import check_text

MANIFEST_FORMAT = 1
SIGNED_MAGIC = b"SLFW"
SIGNED_FORMAT = 1
RELEASE_KEY_FORMAT = 1
SIGNING_KEY_FORMAT = 1
SHA256_SIZE = 32
KEY_ID_SIZE = 16
TRANSFER_ID_SIZE = 16
MAX_NOTES_BYTES = 2048
MAX_IMAGE_SIZE = MAX_TRANSFER_SIZE
MAX_SIGNED_MANIFEST_SIZE = 8192
"""A signed envelope is at most this long (docs/protocol.md §18.3).

The manifest (notes at most 2 KiB) plus Ed25519 and ML-DSA-65 signatures, with
room; anything larger is not one.
"""
ED25519_PUBLIC_SIZE = 32
MLDSA65_PUBLIC_SIZE = 1952
SEED_SIZE = 32

# Domain separation: a manifest signature can never be mistaken for an
# envelope, pairing or prekey signature made with any other key.
_SIGNATURE_CONTEXT = b"secure-lock/v1/firmware-manifest"
_KEY_ID_CONTEXT = b"secure-lock/v1/release-key\x00"
_TRANSFER_CONTEXT = b"secure-lock/v1/firmware-transfer\x00"
_VERSION_RE = re.compile(
    r"(0|[1-9][0-9]{0,4})\.(0|[1-9][0-9]{0,4})\.(0|[1-9][0-9]{0,4})"
)


class FirmwareError(ProtocolError):
    """A release that must not be installed; ``code`` says why (stable)."""


class SignatureAlgorithm(IntEnum):
    """Signature algorithms of a release key; new ones get new numbers."""

    ED25519 = 1
    ML_DSA_65 = 2


@cache
def mldsa_supported() -> bool:
    """Return whether this process can sign and verify ML-DSA-65 (probed once)."""
    try:
        key = mldsa.MLDSA65PrivateKey.from_seed_bytes(bytes(SEED_SIZE))
        key.public_key().verify(key.sign(b"probe", b"probe"), b"probe", b"probe")
    except UnsupportedAlgorithm, AttributeError, InvalidSignature:
        # OpenSSL builds without ML-DSA raise UnsupportedAlgorithm.
        return False
    return True


@total_ordering
@dataclass(frozen=True, slots=True)
class FirmwareVersion:
    """A semantic version ``major.minor.patch`` (no pre-release tags), compared as a tuple."""

    major: int
    minor: int
    patch: int

    def __post_init__(self) -> None:
        """Every part fits the wire's u16."""
        if not all(0 <= p <= MAX_U16 for p in self.parts):
            raise ValueError("version parts must be 0-65535")

    @property
    def parts(self) -> tuple[int, int, int]:
        """Return the comparison tuple."""
        return (self.major, self.minor, self.patch)

    def __lt__(self, other: object) -> bool:
        """Order by (major, minor, patch)."""
        if not isinstance(other, FirmwareVersion):
            return NotImplemented
        return self.parts < other.parts

    def __str__(self) -> str:
        """Return ``major.minor.patch``."""
        return f"{self.major}.{self.minor}.{self.patch}"

    @classmethod
    def parse(cls, text: str) -> FirmwareVersion:
        """Parse ``major.minor.patch``; anything else raises ``invalid_argument``."""
        match = _VERSION_RE.fullmatch(text.strip())
        if match is None:
            raise ProtocolError(
                ErrorCode.INVALID_ARGUMENT, "version must be MAJOR.MINOR.PATCH"
            )
        try:
            return cls(*(int(part) for part in match.groups()))
        except ValueError as err:
            raise ProtocolError(ErrorCode.INVALID_ARGUMENT, str(err)) from None

    def encode(self, writer: Writer) -> Writer:
        """Append three u16."""
        return writer.u16(self.major).u16(self.minor).u16(self.patch)

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read three u16."""
        return cls(reader.u16(), reader.u16(), reader.u16())


@dataclass(frozen=True, slots=True)
class FirmwareManifest:
    """What a release is; only trusted once a `VerifiedManifest` wraps it."""

    model: str
    version: FirmwareVersion
    security_version: int
    image_size: int
    image_sha256: bytes
    min_version: FirmwareVersion = FirmwareVersion(0, 0, 0)
    """Oldest running version this release may be installed over."""
    release_notes: str = ""

    def __post_init__(self) -> None:
        """Bound every field so it has exactly one encoding."""
        check_text(self.model, "model")
        if not self.model:
            raise ValueError("model must not be empty")
        if not 0 <= self.security_version <= MAX_U32:
            raise ValueError("security_version must fit 32 bits")
        if not 0 < self.image_size <= MAX_IMAGE_SIZE:
            raise ValueError(f"image_size must be 1-{MAX_IMAGE_SIZE}")
        if len(self.image_sha256) != SHA256_SIZE:
            raise ValueError("image_sha256 must be 32 bytes")
        if len(self.release_notes.encode()) > MAX_NOTES_BYTES:
            raise ValueError(f"release notes exceed {MAX_NOTES_BYTES} UTF-8 bytes")

    def to_bytes(self) -> bytes:
        """Return the canonical encoding (what is signed)."""
        writer = Writer().u8(MANIFEST_FORMAT).str8(self.model)
        self.version.encode(writer).u32(self.security_version)
        self.min_version.encode(writer).u32(self.image_size)
        writer.fixed(self.image_sha256, SHA256_SIZE)
        return writer.bytes16(self.release_notes.encode()).finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> FirmwareManifest:
        """Parse a manifest; any defect is ``malformed``."""
        reader = Reader(data)
        if reader.u8() != MANIFEST_FORMAT:
            raise MalformedError("unknown manifest format")
        try:
            model = reader.str8()
            version = FirmwareVersion.decode(reader)
            security = reader.u32()
            min_version = FirmwareVersion.decode(reader)
            size = reader.u32()
            digest = reader.fixed(SHA256_SIZE)
            try:
                notes = reader.bytes16().decode()
            except UnicodeDecodeError:
                raise MalformedError("release notes are not UTF-8") from None
            reader.done()
            return cls(
                model=model,
                version=version,
                security_version=security,
                image_size=size,
                image_sha256=digest,
                min_version=min_version,
                release_notes=notes,
            )
        except ValueError as err:
            raise MalformedError(f"invalid manifest field: {err}") from None

    @property
    def transfer_id(self) -> bytes:
        """Return the id of this release's transfer (the same on every retry: resumable)."""
        return transfer_id_of(self.to_bytes())


def transfer_id_of(manifest_bytes: bytes) -> bytes:
    """Derive the transfer id from the manifest bytes (not the signatures)."""
    return hashlib.sha256(_TRANSFER_CONTEXT + manifest_bytes).digest()[
        :TRANSFER_ID_SIZE
    ]


def _signed_message(manifest_bytes: bytes) -> bytes:
    return _SIGNATURE_CONTEXT + b"\x00" + manifest_bytes


@dataclass(frozen=True, slots=True)
class ReleasePublicKey:
    """The manufacturer's release verification key, baked into the lock at first boot."""

    ed25519: bytes
    mldsa65: bytes | None = None

    def __post_init__(self) -> None:
        """Check sizes and that the keys parse."""
        if len(self.ed25519) != ED25519_PUBLIC_SIZE:
            raise ValueError("Ed25519 public key must be 32 bytes")
        if self.mldsa65 is not None and len(self.mldsa65) != MLDSA65_PUBLIC_SIZE:
            raise ValueError("ML-DSA-65 public key must be 1952 bytes")
        ed25519.Ed25519PublicKey.from_public_bytes(self.ed25519)

    @property
    def algorithms(self) -> frozenset[SignatureAlgorithm]:
        """Return the algorithms a release must be signed with."""
        if self.mldsa65 is None:
            return frozenset({SignatureAlgorithm.ED25519})
        return frozenset({SignatureAlgorithm.ED25519, SignatureAlgorithm.ML_DSA_65})

    @property
    def key_id(self) -> bytes:
        """Return SHA-256 of the whole encoded key, first 16 bytes (names the key pair)."""
        return hashlib.sha256(_KEY_ID_CONTEXT + self.to_bytes()).digest()[:KEY_ID_SIZE]

    def key_id_for(self, algorithm: SignatureAlgorithm) -> bytes:
        """Return the id of one algorithm's public key, as signature entries carry it.

        Per algorithm, so a lock that trusts only the Ed25519 half still
        recognises the Ed25519 signature of a hybrid-signed release.
        """
        raw = self.ed25519 if algorithm is SignatureAlgorithm.ED25519 else self.mldsa65
        if raw is None:
            raise ProtocolError(ErrorCode.INVALID_ARGUMENT, "no key for the algorithm")
        digest = hashlib.sha256(_KEY_ID_CONTEXT + bytes([algorithm]) + raw).digest()
        return digest[:KEY_ID_SIZE]

    def to_bytes(self) -> bytes:
        """Return ``format(1) ed25519(32) has_mldsa(1) [mldsa65(1952)]``."""
        writer = Writer().u8(RELEASE_KEY_FORMAT).fixed(self.ed25519, 32)
        writer.u8(int(self.mldsa65 is not None))
        if self.mldsa65 is not None:
            writer.fixed(self.mldsa65, MLDSA65_PUBLIC_SIZE)
        return writer.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> ReleasePublicKey:
        """Parse a key; any defect is ``malformed``."""
        reader = Reader(data)
        if reader.u8() != RELEASE_KEY_FORMAT:
            raise MalformedError("unknown release key format")
        ed = reader.fixed(ED25519_PUBLIC_SIZE)
        pq = reader.fixed(MLDSA65_PUBLIC_SIZE) if reader.boolean() else None
        reader.done()
        try:
            return cls(ed, pq)
        except ValueError as err:
            raise MalformedError(f"invalid release key: {err}") from None

    def to_text(self) -> str:
        """Return the key as one line of hex (what `release.pub` holds)."""
        return self.to_bytes().hex()

    @classmethod
    def from_text(cls, text: str) -> ReleasePublicKey:
        """Parse `to_text` output."""
        try:
            raw = bytes.fromhex(text.strip())
        except ValueError:
            raise MalformedError("release key is not hex") from None
        return cls.from_bytes(raw)


@dataclass(frozen=True, slots=True)
class ManifestSignature:
    """One algorithm's signature over the manifest, naming the key that made it."""

    algorithm: SignatureAlgorithm
    key_id: bytes
    signature: bytes

    def encode(self, writer: Writer) -> Writer:
        """Append ``algorithm(1) key_id(16) signature(bytes16)``."""
        return (
            writer.u8(self.algorithm)
            .fixed(self.key_id, KEY_ID_SIZE)
            .bytes16(self.signature)
        )


@dataclass(frozen=True, slots=True)
class SignedManifest:
    """A parsed, *not yet verified* release envelope (safe to display, not to trust)."""

    manifest_bytes: bytes
    manifest: FirmwareManifest
    signatures: tuple[ManifestSignature, ...]
    unknown_algorithms: tuple[int, ...] = ()
    """Signatures of algorithms this build does not know (ignored, kept for `to_bytes`)."""
    raw: bytes = b""

    def to_bytes(self) -> bytes:
        """Return the envelope bytes exactly as parsed or built."""
        return self.raw

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedManifest:
        """Parse ``magic "SLFW" | format(1) | manifest(bytes16) | n(1) | signature*``.

        Signatures must be sorted by algorithm number with no repeats, so each
        envelope has one encoding.
        """
        reader = Reader(data)
        if reader.fixed(len(SIGNED_MAGIC)) != SIGNED_MAGIC:
            raise MalformedError("not a Secure Lock firmware manifest")
        if reader.u8() != SIGNED_FORMAT:
            raise MalformedError("unknown signed manifest format")
        manifest_bytes = reader.bytes16()
        manifest = FirmwareManifest.from_bytes(manifest_bytes)
        signatures: list[ManifestSignature] = []
        unknown: list[int] = []
        previous = 0
        for _ in range(reader.u8()):
            number = reader.u8()
            key_id = reader.fixed(KEY_ID_SIZE)
            signature = reader.bytes16()
            if number <= previous:
                raise MalformedError("signatures out of order or repeated")
            previous = number
            try:
                algorithm = SignatureAlgorithm(number)
            except ValueError:
                unknown.append(number)
                continue
            signatures.append(ManifestSignature(algorithm, key_id, signature))
        reader.done()
        return cls(
            manifest_bytes=manifest_bytes,
            manifest=manifest,
            signatures=tuple(signatures),
            unknown_algorithms=tuple(unknown),
            raw=data,
        )


def build_signed(
    manifest_bytes: bytes, signatures: list[ManifestSignature]
) -> SignedManifest:
    """Assemble an envelope from a manifest and its signatures (sorted here)."""
    ordered = sorted(signatures, key=lambda s: s.algorithm)
    writer = Writer().raw(SIGNED_MAGIC).u8(SIGNED_FORMAT).bytes16(manifest_bytes)
    writer.u8(len(ordered))
    for signature in ordered:
        signature.encode(writer)
    return SignedManifest.from_bytes(writer.finish())


class ReleaseSigningKey:
    """The manufacturer's private release key (a file on a build machine; an HSM in production)."""

    def __init__(self, ed25519_seed: bytes, mldsa65_seed: bytes | None) -> None:
        """Wrap seeds (32 bytes each); use `generate` or `from_bytes`."""
        if len(ed25519_seed) != SEED_SIZE or (
            mldsa65_seed is not None and len(mldsa65_seed) != SEED_SIZE
        ):
            raise ProtocolError(ErrorCode.INVALID_ARGUMENT, "seeds must be 32 bytes")
        self._ed = ed25519.Ed25519PrivateKey.from_private_bytes(ed25519_seed)
        self._pq = (
            mldsa.MLDSA65PrivateKey.from_seed_bytes(mldsa65_seed)
            if mldsa65_seed is not None
            else None
        )
        self._seeds = (bytes(ed25519_seed), mldsa65_seed)

    def __repr__(self) -> str:
        """Name the key, never its seeds."""
        return f"ReleaseSigningKey(key_id={self.public_key().key_id.hex()})"

    @classmethod
    def generate(
        cls, rng: Rng = system_rng, *, with_mldsa: bool | None = None
    ) -> ReleaseSigningKey:
        """Make a new key; ML-DSA-65 is included whenever the backend supports it."""
        include = mldsa_supported() if with_mldsa is None else with_mldsa
        return cls(rng(SEED_SIZE), rng(SEED_SIZE) if include else None)

    def to_bytes(self) -> bytes:
        """Return ``format(1) ed25519_seed(32) has_mldsa(1) [mldsa_seed(32)]`` (secret!)."""
        ed_seed, pq_seed = self._seeds
        writer = Writer().u8(SIGNING_KEY_FORMAT).fixed(ed_seed, SEED_SIZE)
        writer.u8(int(pq_seed is not None))
        if pq_seed is not None:
            writer.fixed(pq_seed, SEED_SIZE)
        return writer.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> ReleaseSigningKey:
        """Parse `to_bytes` output."""
        reader = Reader(data)
        if reader.u8() != SIGNING_KEY_FORMAT:
            raise MalformedError("unknown signing key format")
        ed_seed = reader.fixed(SEED_SIZE)
        pq_seed = reader.fixed(SEED_SIZE) if reader.boolean() else None
        reader.done()
        return cls(ed_seed, pq_seed)

    def public_key(self) -> ReleasePublicKey:
        """Return the verification key to bake into locks."""
        return ReleasePublicKey(
            self._ed.public_key().public_bytes_raw(),
            self._pq.public_key().public_bytes_raw() if self._pq is not None else None,
        )

    def sign(self, manifest: FirmwareManifest) -> SignedManifest:
        """Sign ``manifest`` with every algorithm of this key."""
        manifest_bytes = manifest.to_bytes()
        message = _signed_message(manifest_bytes)
        public = self.public_key()
        signatures = [
            ManifestSignature(
                SignatureAlgorithm.ED25519,
                public.key_id_for(SignatureAlgorithm.ED25519),
                self._ed.sign(message),
            )
        ]
        if self._pq is not None:
            signatures.append(
                ManifestSignature(
                    SignatureAlgorithm.ML_DSA_65,
                    public.key_id_for(SignatureAlgorithm.ML_DSA_65),
                    self._pq.sign(message, _SIGNATURE_CONTEXT),
                )
            )
        return build_signed(manifest_bytes, signatures)


@dataclass(frozen=True, slots=True)
class VerifiedManifest:
    """A manifest whose signatures verified under a trusted release key."""

    manifest: FirmwareManifest
    signed: SignedManifest
    key_id: bytes

    @property
    def transfer_id(self) -> bytes:
        """Return the release's transfer id."""
        return transfer_id_of(self.signed.manifest_bytes)


def _verify_one(
    algorithm: SignatureAlgorithm,
    key: ReleasePublicKey,
    signature: bytes,
    message: bytes,
) -> None:
    try:
        if algorithm is SignatureAlgorithm.ED25519:
            ed25519.Ed25519PublicKey.from_public_bytes(key.ed25519).verify(
                signature, message
            )
        else:
            assert key.mldsa65 is not None
            mldsa.MLDSA65PublicKey.from_public_bytes(key.mldsa65).verify(
                signature, message, _SIGNATURE_CONTEXT
            )
    except InvalidSignature:
        raise FirmwareError(
            ErrorCode.FIRMWARE_BAD_SIGNATURE, f"{algorithm.name} signature invalid"
        ) from None
    except (UnsupportedAlgorithm, ValueError) as err:
        # Fail closed: a key we hold but cannot check is never skipped.
        raise FirmwareError(
            ErrorCode.FIRMWARE_BAD_SIGNATURE,
            f"cannot verify {algorithm.name}: {type(err).__name__}",
        ) from None


def verify_manifest(data: bytes, key: ReleasePublicKey) -> VerifiedManifest:
    """Parse and verify a signed manifest under ``key``; raise `FirmwareError` or ``malformed``.

    Every algorithm ``key`` holds must have a valid signature by this key.
    """
    signed = SignedManifest.from_bytes(data)
    by_algorithm = {s.algorithm: s for s in signed.signatures}
    message = _signed_message(signed.manifest_bytes)
    for algorithm in sorted(key.algorithms):
        entry = by_algorithm.get(algorithm)
        if entry is None:
            raise FirmwareError(
                ErrorCode.FIRMWARE_BAD_SIGNATURE, f"no {algorithm.name} signature"
            )
        if entry.key_id != key.key_id_for(algorithm):
            raise FirmwareError(
                ErrorCode.FIRMWARE_BAD_SIGNATURE, "signed by another release key"
            )
        _verify_one(algorithm, key, entry.signature, message)
    return VerifiedManifest(signed.manifest, signed, key.key_id)


def check_update(
    verified: VerifiedManifest,
    *,
    model: str,
    running: FirmwareVersion,
    min_security_version: int,
) -> None:
    """Apply the lock's update policy to a verified manifest; raise `FirmwareError`."""
    manifest = verified.manifest
    if manifest.model != model:
        raise FirmwareError(
            ErrorCode.FIRMWARE_WRONG_MODEL, "release is for another model"
        )
    if manifest.security_version < min_security_version:
        raise FirmwareError(
            ErrorCode.FIRMWARE_ROLLBACK,
            f"security version {manifest.security_version} < {min_security_version}",
        )
    if manifest.version <= running:
        raise FirmwareError(
            ErrorCode.FIRMWARE_NOT_NEWER,
            f"{manifest.version} is not newer than {running}",
        )
    if running < manifest.min_version:
        raise FirmwareError(
            ErrorCode.FIRMWARE_BASE_TOO_OLD,
            f"install {manifest.min_version} or later first",
        )


def check_image(manifest: FirmwareManifest, digest: bytes, size: int) -> None:
    """Require that an image of ``size`` bytes hashing to ``digest`` is the manifest's."""
    if size != manifest.image_size or digest != manifest.image_sha256:
        raise FirmwareError(
            ErrorCode.FIRMWARE_HASH_MISMATCH, "image does not match the manifest"
        )


def image_digest(image: bytes) -> bytes:
    """Return the SHA-256 of an image."""
    return hashlib.sha256(image).digest()


def verify_release(
    signed: bytes,
    image: bytes,
    key: ReleasePublicKey,
    *,
    model: str,
    running: FirmwareVersion,
    min_security_version: int,
) -> VerifiedManifest:
    """Everything a lock checks before installing: signatures, policy, image hash."""
    verified = verify_manifest(signed, key)
    check_update(
        verified,
        model=model,
        running=running,
        min_security_version=min_security_version,
    )
    check_image(verified.manifest, image_digest(image), len(image))
    return verified
