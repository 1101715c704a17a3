"""The lock's audit log as a hash chain that controllers can verify.

Each entry's chain hash covers the previous chain hash and the entry's
canonical bytes, so removing, reordering or editing one entry changes every
hash after it.  The lock sends entries in signed envelopes together with the
chain hash before the first entry and the newest chain hash (the head); a
controller that recomputes the chain from the first to the head has checked
that no entry in between was dropped or altered.
"""

from __future__ import annotations

from collections.abc import Iterable
import hashlib

from .encoding import Writer
from .errors import ErrorCode, ProtocolError
from .messages import AUDIT_HASH_SIZE, AuditEntry

GENESIS_HASH = bytes(AUDIT_HASH_SIZE)
_DOMAIN = b"secure-lock/audit/v1"


def chain_hash(previous: bytes, entry: AuditEntry) -> bytes:
    """Return the chain hash after appending ``entry`` to ``previous``."""
    return hashlib.sha256(_DOMAIN + previous + entry.encode(Writer()).finish()).digest()


def verify_chain(
    previous: bytes, entries: Iterable[AuditEntry], expected_head: bytes
) -> None:
    """Recompute the chain; raise ``ProtocolError(bad_signature)`` on any gap or edit."""
    current = previous
    expected_index: int | None = None
    for entry in entries:
        if expected_index is not None and entry.index != expected_index:
            raise ProtocolError(ErrorCode.BAD_SIGNATURE, "audit log has a gap")
        current = chain_hash(current, entry)
        expected_index = entry.index + 1
    if current != expected_head:
        raise ProtocolError(
            ErrorCode.BAD_SIGNATURE, "audit chain does not reach the head"
        )
