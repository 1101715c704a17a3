"""The lock's controller registry and the controller's record of its lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from .encoding import Reader, Writer
from .errors import ErrorCode, MalformedError, ProtocolError
from .identity import LOCK_ID_SIZE
from .keys import KEY_ID_SIZE, PublicKeyBundle
from .messages import ControllerAdd, ControllerSummary
from .roles import Role
from .state import enum_from_wire
from .suites import SuiteId, suite_from_wire

_REGISTRY_MAGIC = b"SLRG\x01"
_PAIRED_LOCK_MAGIC_V1 = b"SLPL\x01"
"""Records written before the clock anchor was kept (still read)."""
_PAIRED_LOCK_MAGIC = b"SLPL\x02"
_OFFSET_BIAS = 1 << 63


@dataclass(slots=True)
class ControllerRecord:
    """One paired controller as the lock stores it."""

    controller_id: bytes
    name: str
    bundle: PublicKeyBundle
    role: Role
    suite: SuiteId
    valid_from_ms: int = 0
    valid_until_ms: int = 0
    revoked: bool = False
    high_water: int = 0

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        writer.fixed(self.controller_id, KEY_ID_SIZE).str8(self.name)
        self.bundle.encode(writer)
        return (
            writer.u8(self.role)
            .u8(self.suite)
            .u64(self.valid_from_ms)
            .u64(self.valid_until_ms)
            .u8(int(self.revoked))
            .u64(self.high_water)
        )

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one record."""
        controller_id = reader.fixed(KEY_ID_SIZE)
        name = reader.str8()
        bundle = PublicKeyBundle.decode(reader)
        if bundle.key_id != controller_id:
            raise MalformedError("record id does not match its key")
        role = enum_from_wire(Role, reader.u8())
        suite = suite_from_wire(reader.u8())
        return cls(
            controller_id=controller_id,
            name=name,
            bundle=bundle,
            role=role,
            suite=suite,
            valid_from_ms=reader.u64(),
            valid_until_ms=reader.u64(),
            revoked=reader.boolean(),
            high_water=reader.u64(),
        )

    @classmethod
    def from_add(cls, request: ControllerAdd, lock_suites: tuple[SuiteId, ...]) -> Self:
        """Build the record for an admin's ``CONTROLLER_ADD`` (strongest common suite)."""
        offered = {prekey.suite for prekey in request.bundle.prekeys}
        common = [suite for suite in lock_suites if suite in offered]
        if not common:
            raise ProtocolError(ErrorCode.UNSUPPORTED_SUITE, "no common suite")
        return cls(
            controller_id=request.bundle.key_id,
            name=request.name,
            bundle=request.bundle,
            role=request.role,
            suite=max(common),
            valid_from_ms=request.valid_from_ms,
            valid_until_ms=request.valid_until_ms,
        )

    def summary(self) -> ControllerSummary:
        """Return the public listing entry."""
        return ControllerSummary(
            controller_id=self.controller_id,
            name=self.name,
            role=self.role,
            revoked=self.revoked,
            valid_from_ms=self.valid_from_ms,
            valid_until_ms=self.valid_until_ms,
        )


@dataclass(slots=True)
class ControllerRegistry:
    """Plain data the lock persists: controllers by id, with their high-water marks.

    It also implements :class:`~.replay.CounterStore`.  Used that way,
    ``advance`` only updates memory: the caller must persist the registry after
    ``open()`` returns and *before* acting on the message.  Pass a durable
    ``CounterStore`` to the endpoint instead if that ordering is inconvenient.
    """

    records: dict[bytes, ControllerRecord] = field(default_factory=dict)

    def add(self, record: ControllerRecord) -> None:
        """Insert or replace a controller (replacing keeps the higher mark)."""
        if (old := self.records.get(record.controller_id)) is not None:
            record.high_water = max(record.high_water, old.high_water)
        self.records[record.controller_id] = record

    def get(self, controller_id: bytes) -> ControllerRecord | None:
        """Return the record or ``None``."""
        return self.records.get(controller_id)

    def revoke(self, controller_id: bytes) -> None:
        """Mark a controller revoked (kept, so its id and counter stay known)."""
        record = self.records.get(controller_id)
        if record is None:
            raise ProtocolError(ErrorCode.UNKNOWN_SENDER, "no such controller")
        record.revoked = True

    def admins(self) -> list[ControllerRecord]:
        """Return the active admins (the caller may refuse to revoke the last)."""
        return [
            r for r in self.records.values() if r.role is Role.ADMIN and not r.revoked
        ]

    def summaries(self) -> list[ControllerSummary]:
        """Return the listing entries for every controller."""
        return [r.summary() for r in self.records.values()]

    def high_water(self, peer_id: bytes) -> int:
        """CounterStore: the mark for ``peer_id``."""
        record = self.records.get(peer_id)
        return record.high_water if record else 0

    def advance(self, peer_id: bytes, counter: int) -> None:
        """CounterStore: raise the mark in memory (caller persists, see class doc)."""
        if (record := self.records.get(peer_id)) is not None:
            record.high_water = max(record.high_water, counter)

    def to_bytes(self) -> bytes:
        """Serialize for storage."""
        writer = Writer().raw(_REGISTRY_MAGIC).u16(len(self.records))
        for record in self.records.values():
            record.encode(writer)
        return writer.finish()

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Load a registry stored with :meth:`to_bytes`."""
        reader = Reader(data)
        if reader.fixed(len(_REGISTRY_MAGIC)) != _REGISTRY_MAGIC:
            raise MalformedError("not a controller registry")
        records = [ControllerRecord.decode(reader) for _ in range(reader.u16())]
        reader.done()
        return cls({r.controller_id: r for r in records})


@dataclass(slots=True)
class PairedLock:
    """What a controller persists about its lock after pairing."""

    lock_id: bytes
    bundle: PublicKeyBundle
    suite: SuiteId
    role: Role
    last_sent_counter: int = 0
    lock_high_water: int = 0
    clock_offset_ms: int = 0
    clock_anchor_ms: int | None = None
    """The offset last confirmed by a prompt round trip (pairing, a result).

    Bounds how far delayed frames may move ``clock_offset_ms``.  Left out
    (pairing, a record from before the anchor was kept), it is the offset.
    """

    def __post_init__(self) -> None:
        """Anchor at the offset when no anchor is given, so copies compare equal."""
        if self.clock_anchor_ms is None:
            self.clock_anchor_ms = self.clock_offset_ms

    @property
    def confirmed_offset_ms(self) -> int:
        """Return the anchor, or the offset for a record that has none."""
        if self.clock_anchor_ms is None:
            return self.clock_offset_ms
        return self.clock_anchor_ms

    def to_bytes(self) -> bytes:
        """Serialize for storage."""
        writer = Writer().raw(_PAIRED_LOCK_MAGIC).fixed(self.lock_id, LOCK_ID_SIZE)
        self.bundle.encode(writer)
        # The offset may be negative: store it biased into an unsigned field.
        return (
            writer.u8(self.suite)
            .u8(self.role)
            .u64(self.last_sent_counter)
            .u64(self.lock_high_water)
            .u64(self.clock_offset_ms + _OFFSET_BIAS)
            .u64(self.confirmed_offset_ms + _OFFSET_BIAS)
            .finish()
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Load a record stored with :meth:`to_bytes`."""
        reader = Reader(data)
        magic = reader.fixed(len(_PAIRED_LOCK_MAGIC))
        if magic not in (_PAIRED_LOCK_MAGIC, _PAIRED_LOCK_MAGIC_V1):
            raise MalformedError("not a paired-lock record")
        lock_id = reader.fixed(LOCK_ID_SIZE)
        bundle = PublicKeyBundle.decode(reader)
        suite = suite_from_wire(reader.u8())
        role = enum_from_wire(Role, reader.u8())
        value = cls(
            lock_id=lock_id,
            bundle=bundle,
            suite=suite,
            role=role,
            last_sent_counter=reader.u64(),
            lock_high_water=reader.u64(),
            clock_offset_ms=reader.u64() - _OFFSET_BIAS,
        )
        if magic == _PAIRED_LOCK_MAGIC:
            value.clock_anchor_ms = reader.u64() - _OFFSET_BIAS
        reader.done()
        return value

    def high_water(self, peer_id: bytes) -> int:
        """CounterStore: the lock's mark (only the paired lock is a peer)."""
        return self.lock_high_water if peer_id == self.bundle.key_id else 0

    def advance(self, peer_id: bytes, counter: int) -> None:
        """CounterStore: raise the lock's mark in memory (caller persists)."""
        if peer_id == self.bundle.key_id:
            self.lock_high_water = max(self.lock_high_water, counter)
