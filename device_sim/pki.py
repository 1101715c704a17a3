"""Development PKI: a manufacturer root CA and the certificates it issues.

Everything here is for development and tests: keys are written unencrypted
with 0600 permissions.  A production manufacturer CA lives in an HSM.

All certificates use Ed25519.  Mosquitto 2.0.11 linked against Debian's
OpenSSL 3.0 accepts an Ed25519 server certificate and Ed25519 client
certificates over TLS 1.3 (tests/sim/test_broker_tls.py proves it on every
run), so no ECDSA fallback is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
import datetime as dt
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from custom_components.secure_lock.transport.topics import LOCK_ID_LEN

from .account_names import check_controller_name
from .passwords import InvalidUsername

# Long enough for a development session, short enough that a leaked dev
# certificate does not live forever.
DEFAULT_VALIDITY = dt.timedelta(days=365)
# Certificates are back-dated so that small clock skew between the machine that
# issues them and the broker does not make them "not yet valid".
BACKDATE = dt.timedelta(minutes=5)


class PkiError(Exception):
    """A PKI request was invalid; nothing was written."""


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate and its private key, in memory."""

    certificate: x509.Certificate
    key: Ed25519PrivateKey

    @property
    def cert_pem(self) -> bytes:
        """Return the certificate in PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        """Return the private key as unencrypted PKCS#8 PEM."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


@dataclass(frozen=True, slots=True)
class CertFiles:
    """Where an issued certificate and its key were written."""

    cert: Path
    key: Path


def lock_id_hex(lock_id: bytes) -> str:
    """Return the canonical text form of a lock id (32 lowercase hex digits)."""
    if len(lock_id) != LOCK_ID_LEN:
        raise PkiError(f"lock id must be {LOCK_ID_LEN} bytes, got {len(lock_id)}")
    return lock_id.hex()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Secure Lock Dev"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: Ed25519PrivateKey,
    validity: dt.timedelta,
    now: dt.datetime | None,
) -> x509.CertificateBuilder:
    start = (now or _now()) - BACKDATE
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + validity)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    )


def _leaf_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


class DevCertificateAuthority:
    """A manufacturer root CA that issues broker, lock and controller certificates."""

    def __init__(self, issued: Issued) -> None:
        """Wrap an existing CA certificate and key."""
        constraints = issued.certificate.extensions.get_extension_for_class(
            x509.BasicConstraints
        ).value
        if not constraints.ca:
            raise PkiError("certificate is not a CA")
        self._ca = issued

    @classmethod
    def create(
        cls,
        common_name: str = "Secure Lock Dev Manufacturer Root",
        *,
        validity: dt.timedelta = dt.timedelta(days=3650),
        now: dt.datetime | None = None,
    ) -> DevCertificateAuthority:
        """Create a fresh self-signed Ed25519 root CA."""
        key = Ed25519PrivateKey.generate()
        name = _name(common_name)
        cert = (
            _builder(name, name, key, validity, now)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, None)
        )
        return cls(Issued(cert, key))

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> DevCertificateAuthority:
        """Load a CA written by :meth:`save`."""
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise PkiError("CA key is not Ed25519")
        return cls(Issued(cert, key))

    @classmethod
    def load_or_create(cls, directory: Path) -> tuple[DevCertificateAuthority, bool]:
        """Load the CA saved in ``directory``, or create and save one; say which."""
        if (directory / "ca.crt").exists():
            return cls.load(directory / "ca.crt", directory / "ca.key"), False
        authority = cls.create()
        authority.save(directory)
        return authority, True

    @property
    def issued(self) -> Issued:
        """Return the CA certificate and key."""
        return self._ca

    @property
    def cert_pem(self) -> bytes:
        """Return the CA certificate in PEM (the trust anchor clients load)."""
        return self._ca.cert_pem

    def save(self, directory: Path, stem: str = "ca") -> CertFiles:
        """Write the CA certificate and key into ``directory``."""
        return write_issued(self._ca, directory, stem)

    def _issue(
        self,
        common_name: str,
        eku: x509.ObjectIdentifier,
        san: x509.SubjectAlternativeName | None,
        validity: dt.timedelta,
        now: dt.datetime | None,
    ) -> Issued:
        key = Ed25519PrivateKey.generate()
        ca_cert = self._ca.certificate
        builder = (
            _builder(_name(common_name), ca_cert.subject, key, validity, now)
            .add_extension(
                x509.BasicConstraints(ca=False, path_length=None), critical=True
            )
            .add_extension(_leaf_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self._ca.key.public_key()
                ),
                critical=False,
            )
        )
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        return Issued(builder.sign(self._ca.key, None), key)

    def issue_broker(
        self,
        dns_names: tuple[str, ...] = ("localhost",),
        ip_addresses: tuple[str, ...] = ("127.0.0.1",),
        *,
        validity: dt.timedelta = DEFAULT_VALIDITY,
        now: dt.datetime | None = None,
    ) -> Issued:
        """Issue a TLS server certificate for the broker."""
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
        try:
            names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        except ValueError as err:
            raise PkiError(f"invalid IP address: {err}") from None
        if not names:
            raise PkiError("a broker certificate needs at least one name")
        return self._issue(
            dns_names[0] if dns_names else ip_addresses[0],
            ExtendedKeyUsageOID.SERVER_AUTH,
            x509.SubjectAlternativeName(names),
            validity,
            now,
        )

    def issue_lock(
        self,
        lock_id: bytes,
        *,
        validity: dt.timedelta = DEFAULT_VALIDITY,
        now: dt.datetime | None = None,
    ) -> Issued:
        """Issue a lock's device certificate: CN = lock id hex, client-auth EKU.

        The broker uses the CN as the MQTT username, and its ACL pattern turns
        that into the lock's own topics.
        """
        return self._issue(
            lock_id_hex(lock_id), ExtendedKeyUsageOID.CLIENT_AUTH, None, validity, now
        )

    def issue_controller(
        self,
        name: str,
        *,
        validity: dt.timedelta = DEFAULT_VALIDITY,
        now: dt.datetime | None = None,
    ) -> Issued:
        """Issue a client certificate for a controller (CN = ``name``).

        The broker's controller listener authenticates controllers with a
        password; this certificate is for deployments that prefer mTLS there.
        ``name`` is a controller account name: never a lock id, because a
        certificate with a lock id's CN would pass on the lock listener as
        that lock (see :mod:`device_sim.account_names`).
        """
        try:
            check_controller_name(name)
        except InvalidUsername as err:
            raise PkiError(f"controller name refused: {err}") from None
        return self._issue(name, ExtendedKeyUsageOID.CLIENT_AUTH, None, validity, now)


def write_issued(issued: Issued, directory: Path, stem: str) -> CertFiles:
    """Write ``<stem>.crt`` and ``<stem>.key`` (0600) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path = directory / f"{stem}.crt"
    key_path = directory / f"{stem}.key"
    cert_path.write_bytes(issued.cert_pem)
    # Create with 0600 from the start rather than chmod after writing.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as key_file:
        key_file.write(issued.key_pem)
    key_path.chmod(0o600)
    return CertFiles(cert_path, key_path)
