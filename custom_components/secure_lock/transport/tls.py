"""Client TLS contexts: always verify the chain and the host name."""

from __future__ import annotations

from pathlib import Path
import ssl


def client_tls_context(
    ca_file: Path | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
    *,
    ca_pem: str | None = None,
) -> ssl.SSLContext:
    """Return a TLS 1.3 client context trusting only ``ca_file`` or ``ca_pem``.

    Exactly one trust anchor source is given: a file, or PEM text (what Home
    Assistant keeps in a config entry).  ``ssl.SSLError`` means it is not a
    usable certificate.

    There is deliberately no way to turn verification off: the broker is an
    untrusted relay, but connecting to an impostor would still leak metadata
    and let it drop or delay frames silently.  The system trust store is not
    loaded, so a publicly trusted certificate for the same name does not pass.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    if (ca_file is None) == (ca_pem is None):
        raise ValueError("give exactly one of ca_file and ca_pem")
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    else:
        context.load_verify_locations(cadata=ca_pem)
    if cert_file is not None:
        context.load_cert_chain(
            str(cert_file), None if key_file is None else str(key_file)
        )
    return context
