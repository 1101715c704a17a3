"""Optional manufacturer certificate chain check (X.509, Ed25519) for a lock key."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ed25519

from .errors import ErrorCode, ProtocolError
from .keys import IdentityPublicKey

MAX_CHAIN_LENGTH = 4
MAX_CERT_SIZE = 2048


def _invalid(reason: str) -> ProtocolError:
    return ProtocolError(ErrorCode.CERTIFICATE_INVALID, reason)


def verify_device_chain(
    chain_der: tuple[bytes, ...],
    manufacturer_ca: x509.Certificate,
    identity: IdentityPublicKey,
    now_ms: int,
) -> None:
    """Check leaf-first ``chain_der`` up to ``manufacturer_ca`` and bind the leaf to ``identity``.

    The leaf must certify exactly the lock's Ed25519 identity key, every
    issuer except the trusted CA must be a CA certificate, and every
    certificate must be valid at ``now_ms``.
    """
    if not chain_der or len(chain_der) > MAX_CHAIN_LENGTH:
        raise _invalid("missing or overlong certificate chain")
    certs: list[x509.Certificate] = []
    for der in chain_der:
        if len(der) > MAX_CERT_SIZE:
            raise _invalid("certificate too large")
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except ValueError:
            raise _invalid("unparsable certificate") from None
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    try:
        leaf_key = certs[0].public_key()
    except ValueError, UnsupportedAlgorithm:
        # A key type the backend does not know raises UnsupportedAlgorithm.
        raise _invalid("unsupported leaf key") from None
    if (
        not isinstance(leaf_key, ed25519.Ed25519PublicKey)
        or leaf_key.public_bytes_raw() != identity.raw
    ):
        raise ProtocolError(
            ErrorCode.IDENTITY_MISMATCH, "certificate is for another key"
        )
    issuers = [*certs[1:], manufacturer_ca]
    for index, (cert, issuer) in enumerate(zip(certs, issuers, strict=True)):
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise _invalid("certificate outside its validity period")
        if issuer is not manufacturer_ca or index + 1 < len(issuers):
            try:
                constraints = issuer.extensions.get_extension_for_class(
                    x509.BasicConstraints
                )
            except x509.ExtensionNotFound:
                raise _invalid("issuer is not a CA") from None
            except ValueError, x509.DuplicateExtension:
                raise _invalid("bad issuer extensions") from None
            if not constraints.value.ca:
                raise _invalid("issuer is not a CA")
        try:
            cert.verify_directly_issued_by(issuer)
        except ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm:
            raise _invalid("certificate not issued by the next one") from None
