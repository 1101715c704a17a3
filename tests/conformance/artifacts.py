"""Audit chain (section 9.2), firmware envelopes (section 18.2), certificate chains (7, check 5)."""

from __future__ import annotations

from dataclasses import dataclass
import datetime as dt
import hashlib

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa

from .payloads import audit_entry
from .wire import (
    FIRMWARE_CONTEXT,
    LABEL_AUDIT,
    LABEL_FIRMWARE_MANIFEST,
    LABEL_FIRMWARE_TRANSFER,
    LABEL_RELEASE_KEY,
    MALFORMED,
    Reader,
    fail,
)

GENESIS = bytes(32)
ED25519, ML_DSA_65 = 1, 2
FIRMWARE_BAD_SIGNATURE = "firmware_bad_signature"


def audit_chain(entries: list[bytes], previous: bytes = GENESIS) -> list[bytes]:
    """Return ``[h_0, h_1, ...]`` with ``h_i = SHA-256(label || h_(i-1) || entry_i)``."""
    hashes = [previous]
    for entry in entries:
        reader = Reader(entry)
        audit_entry(reader)
        reader.end()
        hashes.append(hashlib.sha256(LABEL_AUDIT + hashes[-1] + entry).digest())
    return hashes


@dataclass(frozen=True)
class ReleaseKey:
    """``format=1 | ed25519(32) | has_mldsa(1) | [mldsa65(1952)]``."""

    encoded: bytes
    ed25519: bytes
    mldsa65: bytes | None

    def key_id_for(self, algorithm: int) -> bytes:
        """Per-algorithm id that a signature entry names."""
        raw = self.ed25519 if algorithm == ED25519 else self.mldsa65
        assert raw is not None
        return hashlib.sha256(LABEL_RELEASE_KEY + bytes([algorithm]) + raw).digest()[
            :16
        ]

    @property
    def key_id(self) -> bytes:
        """Id of the whole key."""
        return hashlib.sha256(LABEL_RELEASE_KEY + self.encoded).digest()[:16]


def read_release_key(data: bytes) -> ReleaseKey:
    """Parse a release public key."""
    r = Reader(data)
    if r.u8() != 1:
        raise fail(MALFORMED, "release key format")
    ed = r.take(32)
    pq = r.take(1952) if r.boolean() else None
    r.end()
    return ReleaseKey(data, ed, pq)


@dataclass(frozen=True)
class Envelope:
    """A parsed signed manifest: manifest bytes and ``{algorithm: (key_id, signature)}``."""

    manifest: bytes
    signatures: dict[int, tuple[bytes, bytes]]


def read_envelope(data: bytes) -> Envelope:
    """``"SLFW" | 1 | manifest(bytes16) | n(u8) | [alg(1) key_id(16) sig(bytes16)]*``."""
    r = Reader(data)
    if r.take(4) != b"SLFW" or r.u8() != 1:
        raise fail(MALFORMED, "not a signed manifest")
    manifest = r.bytes16()
    signatures: dict[int, tuple[bytes, bytes]] = {}
    previous = 0
    for _ in range(r.u8()):
        algorithm, key, signature = r.u8(), r.take(16), r.bytes16()
        if algorithm <= previous:
            raise fail(MALFORMED, "signatures unsorted or repeated")
        previous = algorithm
        signatures[algorithm] = (key, signature)
    r.end()
    return Envelope(manifest, signatures)


def read_manifest(data: bytes) -> dict[str, object]:
    """Decode the manifest fields (section 18.2)."""
    r = Reader(data)
    if r.u8() != 1:
        raise fail(MALFORMED, "manifest format")

    def version() -> str:
        return ".".join(str(r.u16()) for _ in range(3))

    model = r.str8()
    fields: dict[str, object] = {
        "model": model,
        "version": version(),
        "security_version": r.u32(),
        "min_version": version(),
        "image_size": r.u32(),
        "image_sha256": r.take(32).hex(),
    }
    notes = r.bytes16()
    if len(notes) > 2048:
        raise fail(MALFORMED, "release notes too long")
    fields["release_notes"] = notes.decode("utf-8")
    r.end()
    return fields


def transfer_id(manifest: bytes) -> bytes:
    """``SHA-256(label || manifest)[0:16]``."""
    return hashlib.sha256(LABEL_FIRMWARE_TRANSFER + manifest).digest()[:16]


def verify_envelope(data: bytes, key: ReleaseKey) -> Envelope:
    """Every algorithm the key holds needs a valid signature by that key."""
    envelope = read_envelope(data)
    message = LABEL_FIRMWARE_MANIFEST + envelope.manifest
    wanted = [ED25519] + ([ML_DSA_65] if key.mldsa65 is not None else [])
    for algorithm in wanted:
        entry = envelope.signatures.get(algorithm)
        if entry is None or entry[0] != key.key_id_for(algorithm):
            raise fail(FIRMWARE_BAD_SIGNATURE, f"no signature by algorithm {algorithm}")
        try:
            if algorithm == ED25519:
                ed25519.Ed25519PublicKey.from_public_bytes(key.ed25519).verify(
                    entry[1], message
                )
            else:
                assert key.mldsa65 is not None
                mldsa.MLDSA65PublicKey.from_public_bytes(key.mldsa65).verify(
                    entry[1], message, FIRMWARE_CONTEXT
                )
        except InvalidSignature:
            raise fail(FIRMWARE_BAD_SIGNATURE, f"algorithm {algorithm}") from None
    return envelope


def verify_certificate_chain(
    chain_der: list[bytes], ca_der: bytes, identity_public: bytes, at_ms: int
) -> None:
    """Leaf first, at most 4, issuers are CAs, all valid at ``at_ms``, leaf = lock key."""
    if not chain_der or len(chain_der) > 4:
        raise fail("certificate_invalid", "chain length")
    certs = [x509.load_der_x509_certificate(der) for der in chain_der]
    ca = x509.load_der_x509_certificate(ca_der)
    leaf_key = certs[0].public_key()
    if (
        not isinstance(leaf_key, ed25519.Ed25519PublicKey)
        or leaf_key.public_bytes_raw() != identity_public
    ):
        raise fail("identity_mismatch", "leaf certifies another key")
    now = dt.datetime.fromtimestamp(at_ms / 1000, tz=dt.UTC)
    issuers = [*certs[1:], ca]
    for cert, issuer in zip(certs, issuers, strict=True):
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise fail("certificate_invalid", "outside validity")
        if issuer is not ca:
            constraints = issuer.extensions.get_extension_for_class(
                x509.BasicConstraints
            )
            if not constraints.value.ca:
                raise fail("certificate_invalid", "issuer is not a CA")
        try:
            cert.verify_directly_issued_by(issuer)
        except ValueError, TypeError, InvalidSignature:
            raise fail("certificate_invalid", "signature") from None
