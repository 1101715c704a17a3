"""An admin's request for the audit log: a window of it, in hash-chained chunks.

Each chunk carries the chain hash before its first entry and after its last,
so the controller can check the chunks join up with what it already holds.
"""

from __future__ import annotations

import logging

from custom_components.secure_lock.protocol.audit import chain_hash
from custom_components.secure_lock.protocol.errors import ProtocolError
from custom_components.secure_lock.protocol.messages import (
    AuditLogChunk,
    AuditLogRequest,
)
from custom_components.secure_lock.protocol.session import VerifiedMessage

from .audit_log import AuditLog
from .lock_services import LockServices

_LOGGER = logging.getLogger(__name__)

AUDIT_CHUNK_SIZE = 8
AUDIT_MAX_ENTRIES = 256


def audit_chunks(audit: AuditLog, request: AuditLogRequest) -> list[AuditLogChunk]:
    """Return the entries the request asks for (at most `AUDIT_MAX_ENTRIES`), chunked.

    As many chunks as the request could fill, whatever the log holds: the
    trailing ones are empty, so the number of frames tells the relay only
    what the controller asked for, not how long the log is.
    """
    asked = min(request.max_entries or AUDIT_MAX_ENTRIES, AUDIT_MAX_ENTRIES)
    window = audit.window(request.since_index, asked)
    entries = list(window.entries)
    chunks = []
    previous = window.previous_hash
    starts = range(0, max(asked, 1), AUDIT_CHUNK_SIZE)
    for number, start in enumerate(starts):
        chunk = tuple(entries[start : start + AUDIT_CHUNK_SIZE])
        head = previous
        for entry in chunk:
            head = chain_hash(head, entry)
        chunks.append(AuditLogChunk(chunk, number == len(starts) - 1, previous, head))
        previous = head
    return chunks


def send_audit_log(lock: LockServices, message: VerifiedMessage) -> None:
    """Answer an audit log request with every chunk, or with nothing if one cannot be sealed."""
    request = message.payload
    assert isinstance(request, AuditLogRequest)
    frames = []
    for chunk in audit_chunks(lock.state.audit, request):
        try:
            frames.append(lock.endpoint.respond(message, chunk))
        except ProtocolError as err:
            _LOGGER.warning("Could not seal an audit chunk: %s", err.code.value)
            return
    lock.send(frames)
