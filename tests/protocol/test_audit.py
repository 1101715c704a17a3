"""The audit hash chain: any dropped, reordered or edited entry is detected."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.secure_lock.protocol import (
    AuditEntry,
    ErrorCode,
    EventSource,
    MessageKind,
    ProtocolError,
    ResultCode,
)
from custom_components.secure_lock.protocol.audit import (
    GENESIS_HASH,
    chain_hash,
    verify_chain,
)


def _entries(count: int) -> list[AuditEntry]:
    return [
        AuditEntry(
            i,
            1_800_000_000_000 + i,
            MessageKind.UNLOCK if i % 2 else MessageKind.LOCK,
            EventSource.CONTROLLER,
            ResultCode.OK,
            bytes([i]) * 16,
        )
        for i in range(count)
    ]


def _head(entries: list[AuditEntry], start: bytes = GENESIS_HASH) -> bytes:
    head = start
    for entry in entries:
        head = chain_hash(head, entry)
    return head


def test_intact_chain_verifies() -> None:
    """The chain recomputed from the entries reaches the head."""
    entries = _entries(5)
    verify_chain(GENESIS_HASH, entries, _head(entries))


def test_window_in_the_middle_verifies() -> None:
    """A window verifies from the hash before its first entry."""
    entries = _entries(6)
    verify_chain(_head(entries[:2]), entries[2:5], _head(entries[:5]))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda e: e[:2] + e[3:],  # an entry dropped
        lambda e: [e[1], e[0], *e[2:]],  # two swapped
        lambda e: [*e[:2], replace(e[2], result=ResultCode.JAMMED), *e[3:]],  # edited
        lambda e: [
            *e[:2],
            replace(e[2], controller_id=bytes(16)),
            *e[3:],
        ],  # re-attributed
        lambda e: e[:-1],  # the newest hidden
    ],
    ids=["dropped", "swapped", "edited", "reattributed", "truncated"],
)
def test_tampering_is_detected(tamper: object) -> None:
    """Any change to the entries breaks the chain."""
    entries = _entries(5)
    head = _head(entries)
    with pytest.raises(ProtocolError) as err:
        verify_chain(GENESIS_HASH, tamper(entries), head)  # type: ignore[operator]
    assert err.value.code is ErrorCode.BAD_SIGNATURE
