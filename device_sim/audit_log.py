"""The simulated lock's audit log: a bounded window of a hash chain that never restarts.

Refused requests (a removed controller, a guest outside its window, a role
asking for more than it may) are logged too, but they may fill at most
`REFUSAL_SHARE` of the window.  Beyond that they are only counted per result
code, so a flood of refusals can never push real operations out of the log.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from custom_components.secure_lock.protocol.audit import GENESIS_HASH, chain_hash
from custom_components.secure_lock.protocol.messages import (
    AuditEntry,
    EventSource,
    MessageKind,
    ResultCode,
)

DEFAULT_CAPACITY = 512
REFUSAL_SHARE = 8
"""At most capacity // REFUSAL_SHARE refusal entries are kept in the window."""
REFUSALS = frozenset({ResultCode.NOT_PERMITTED, ResultCode.REVOKED})


@dataclass(frozen=True, slots=True)
class AuditWindow:
    """Entries from some index on, with the chain hash before the first one."""

    previous_hash: bytes
    entries: tuple[AuditEntry, ...]
    head_hash: bytes


class AuditLog:
    """Appends entries and keeps the newest `capacity` of them.

    Older entries fall off the front, but the chain hash before the oldest
    kept entry is remembered, so what remains still verifies up to the head.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        """Start an empty chain."""
        self._capacity = capacity
        self._entries: deque[AuditEntry] = deque()
        self._hashes: deque[bytes] = deque()
        self._base_hash = GENESIS_HASH
        self._next_index = 0
        self._refusals_kept = 0
        self.suppressed_refusals: dict[ResultCode, int] = {}
        """Refusals counted but not logged because their share was full."""

    @property
    def head_hash(self) -> bytes:
        """Return the newest chain hash."""
        return self._hashes[-1] if self._hashes else self._base_hash

    @property
    def next_index(self) -> int:
        """Return the index the next entry gets."""
        return self._next_index

    def append(
        self,
        time_ms: int,
        kind: MessageKind,
        source: EventSource,
        result: ResultCode,
        controller_id: bytes,
    ) -> AuditEntry | None:
        """Add an entry at the head of the chain; None if it was a refusal only counted."""
        refusal = result in REFUSALS
        if refusal and self._refusals_kept >= self.refusal_limit:
            self.suppressed_refusals[result] = (
                self.suppressed_refusals.get(result, 0) + 1
            )
            return None
        entry = AuditEntry(
            self._next_index, time_ms, kind, source, result, controller_id
        )
        self._hashes.append(chain_hash(self.head_hash, entry))
        self._entries.append(entry)
        self._refusals_kept += refusal
        self._next_index += 1
        while len(self._entries) > self._capacity:
            dropped = self._entries.popleft()
            self._refusals_kept -= dropped.result in REFUSALS
            self._base_hash = self._hashes.popleft()
        return entry

    @property
    def refusal_limit(self) -> int:
        """Return how many refusal entries the window may hold."""
        return max(1, self._capacity // REFUSAL_SHARE)

    def window(self, since_index: int, max_entries: int) -> AuditWindow:
        """Return up to `max_entries` entries from `since_index` (or the oldest kept)."""
        first = self._entries[0].index if self._entries else self._next_index
        start = max(since_index, first) - first
        chosen = list(self._entries)[start : start + max_entries]
        previous = self._hashes[start - 1] if start > 0 else self._base_hash
        head = self._hashes[start + len(chosen) - 1] if chosen else previous
        return AuditWindow(previous, tuple(chosen), head)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready form for the state record."""
        return {
            "capacity": self._capacity,
            "base_hash": self._base_hash.hex(),
            "next_index": self._next_index,
            "suppressed_refusals": {
                str(int(code)): n for code, n in self.suppressed_refusals.items()
            },
            "entries": [
                [
                    e.index,
                    e.time_ms,
                    int(e.kind),
                    int(e.source),
                    int(e.result),
                    e.controller_id.hex(),
                ]
                for e in self._entries
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuditLog:
        """Rebuild from `to_json` output, recomputing every hash (so edits show)."""
        log = cls(int(data["capacity"]))
        log._base_hash = bytes.fromhex(data["base_hash"])
        for index, time_ms, kind, source, result, controller in data["entries"]:
            entry = AuditEntry(
                int(index),
                int(time_ms),
                MessageKind(kind),
                EventSource(source),
                ResultCode(result),
                bytes.fromhex(controller),
            )
            log._hashes.append(chain_hash(log.head_hash, entry))
            log._entries.append(entry)
            log._refusals_kept += entry.result in REFUSALS
        log._next_index = int(data["next_index"])
        # Absent in states saved before refusals had their own share.
        for code, count in data.get("suppressed_refusals", {}).items():
            log.suppressed_refusals[ResultCode(int(code))] = int(count)
        return log
