"""The dev PKI issues the certificates the broker and clients expect."""

from __future__ import annotations

import ipaddress
from pathlib import Path
import stat

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
import pytest

from device_sim.pki import DevCertificateAuthority, PkiError, write_issued

from .conftest import LOCK_A


def _cn(cert: x509.Certificate) -> str:
    value = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert isinstance(value, str)
    return value


def test_root_is_ed25519_ca(ca: DevCertificateAuthority) -> None:
    """The root is a self-signed Ed25519 CA limited to issuing leaves."""
    cert = ca.issued.certificate
    assert isinstance(cert.public_key(), Ed25519PublicKey)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca and constraints.path_length == 0
    cert.verify_directly_issued_by(cert)


def test_broker_certificate(ca: DevCertificateAuthority) -> None:
    """Server auth, SAN DNS:localhost and IP:127.0.0.1, signed by the root."""
    cert = ca.issue_broker().certificate
    cert.verify_directly_issued_by(ca.issued.certificate)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1")
    ]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_lock_certificate(ca: DevCertificateAuthority) -> None:
    """CN is the lock id hex, client auth only, Ed25519, not a CA."""
    issued = ca.issue_lock(LOCK_A)
    cert = issued.certificate
    cert.verify_directly_issued_by(ca.issued.certificate)
    assert _cn(cert) == LOCK_A.hex()
    assert isinstance(cert.public_key(), Ed25519PublicKey)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_bad_requests_refused(ca: DevCertificateAuthority) -> None:
    """Wrong lock id length, bad IPs and empty names are typed errors."""
    with pytest.raises(PkiError):
        ca.issue_lock(b"short")
    with pytest.raises(PkiError):
        ca.issue_broker(ip_addresses=("not-an-ip",))
    with pytest.raises(PkiError):
        ca.issue_broker(dns_names=(), ip_addresses=())
    with pytest.raises(PkiError):
        ca.issue_controller("")
    with pytest.raises(PkiError):
        DevCertificateAuthority(ca.issue_lock(LOCK_A))


def test_save_and_load(ca: DevCertificateAuthority, tmp_path: Path) -> None:
    """Keys are written 0600 and the CA loads back."""
    files = ca.save(tmp_path)
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    loaded = DevCertificateAuthority.load(files.cert, files.key)
    assert loaded.cert_pem == ca.cert_pem
    leaf = write_issued(loaded.issue_controller("controller1"), tmp_path, "ctl")
    x509.load_pem_x509_certificate(leaf.cert.read_bytes()).verify_directly_issued_by(
        ca.issued.certificate
    )
