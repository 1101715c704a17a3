"""Message kinds and their typed payloads with a canonical binary encoding."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Self

from .encoding import MAX_U16, Reader, Writer
from .errors import ErrorCode, MalformedError, ProtocolError
from .keypad_codes import MAX_KEYPAD_CODES, KeypadSchedule, PinChoice, check_pin
from .keys import KEY_ID_SIZE, PublicKeyBundle, SignedPrekey
from .roles import Role
from .setup_code import CodeSecret
from .spake2plus import SCALAR_SIZE, ProverSecret
from .state import LockStatus, check_text, enum_from_wire

REQUEST_ID_SIZE = 16
NO_CONTROLLER = bytes(KEY_ID_SIZE)


AUDIT_HASH_SIZE = 32
"""SHA-256 chain hashes of the audit log."""


class Direction(IntEnum):
    """Who sent a frame; bound into the signature so reflection fails."""

    CONTROLLER_TO_LOCK = 1
    LOCK_TO_CONTROLLER = 2


class MessageKind(IntEnum):
    """Every message kind; new kinds get new numbers, old ones never change."""

    LOCK = 0x0001
    UNLOCK = 0x0002
    OPEN = 0x0003
    STATUS_REQUEST = 0x0004
    COMMAND_RESULT = 0x0010
    EVENT = 0x0011
    HEARTBEAT = 0x0012
    CONTROLLER_ADD = 0x0020
    CONTROLLER_REMOVE = 0x0021
    CONTROLLER_LIST = 0x0022
    CONTROLLER_LIST_CHUNK = 0x0023
    INVITATION_CREATE = 0x0024
    INVITATION_REVOKE = 0x0025
    CONTROLLER_JOINED = 0x0026
    KEY_ROTATION = 0x0030
    TIME_SYNC = 0x0031
    SETTINGS = 0x0032
    AUDIT_LOG_REQUEST = 0x0040
    AUDIT_LOG_CHUNK = 0x0041
    FIRMWARE_CHUNK = 0x0050
    FIRMWARE_OFFER = 0x0051
    FIRMWARE_STATUS_REQUEST = 0x0052
    FIRMWARE_INSTALL = 0x0053
    FIRMWARE_STATUS = 0x0054
    KEYPAD_CODE_SET = 0x0060
    KEYPAD_CODE_REMOVE = 0x0061
    KEYPAD_CODE_LIST = 0x0062
    KEYPAD_CODE_LIST_CHUNK = 0x0063
    KEYPAD_CODE_SET_RESULT = 0x0064


class ResultCode(IntEnum):
    """Outcome of a request, reported by the lock."""

    OK = 0
    JAMMED = 1
    DOOR_OPEN = 2
    NOT_PERMITTED = 3
    BUSY = 4
    UNSUPPORTED = 5
    INVALID_REQUEST = 6
    LOW_BATTERY = 7
    NOT_FOUND = 8
    INTERNAL_ERROR = 9
    REVOKED = 10
    """The sender was removed from the lock: re-pair, do not retry."""
    FIRMWARE_REJECTED = 11
    """The reason is a stable ``ErrorCode`` value (e.g. ``firmware_rollback``)."""


class EventType(IntEnum):
    """Unsolicited lock events."""

    STATE_CHANGED = 1
    JAMMED = 2
    TAMPER = 3
    LOW_BATTERY = 4
    FIRMWARE_UPDATED = 5
    FIRMWARE_ROLLED_BACK = 6
    DOOR_CHANGED = 7
    """The door sensor changed; the bolt did not move (`status.door_state` says which way)."""
    REPORT = 8
    """Nothing changed: the state, sent where a motor operation's pattern needs a frame.

    A lock or unlock settles when an open's latch would spring back, and a
    lock is followed by reports where an auto-relock would be, so the three
    commands look alike on the wire.  Controllers show it as a state report.
    """


class EventSource(IntEnum):
    """What caused a state change."""

    UNKNOWN = 0
    CONTROLLER = 1
    MANUAL = 2
    KEYPAD = 3
    AUTO_RELOCK = 4


class Payload:
    """Base of all payloads: ``encode``/``decode`` give the one canonical form."""

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        raise NotImplementedError

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one payload."""
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """Return the canonical encoding."""
        return self.encode(Writer()).finish()


class EmptyPayload(Payload):
    """A request whose kind says everything: the body is empty."""

    def encode(self, writer: Writer) -> Writer:
        """Append nothing."""
        return writer

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read nothing."""
        return cls()


@dataclass(frozen=True, slots=True)
class Command(EmptyPayload):
    """Lock, unlock, open or status request: the kind says which; no arguments."""


@dataclass(frozen=True, slots=True)
class CommandResult(Payload):
    """The lock's signed answer to any request (bound to the request hash)."""

    result: ResultCode
    status: LockStatus
    lock_time_ms: int
    sender_high_water: int
    reason: str = ""

    def __post_init__(self) -> None:
        """Bound the reason text."""
        check_text(self.reason, "reason")

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        writer.u8(self.result).str8(self.reason)
        self.status.encode(writer)
        return writer.u64(self.lock_time_ms).u64(self.sender_high_water)

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one result."""
        result = enum_from_wire(ResultCode, reader.u8())
        reason = reader.str8()
        status = LockStatus.decode(reader)
        return cls(
            result=result,
            status=status,
            lock_time_ms=reader.u64(),
            sender_high_water=reader.u64(),
            reason=_checked_text(reason),
        )


def _checked_text(value: str) -> str:
    try:
        check_text(value, "text")
    except ValueError as err:
        raise MalformedError(str(err)) from err
    return value


@dataclass(frozen=True, slots=True)
class Event(Payload):
    """Something happened at the lock (state change, jam, tamper, low battery)."""

    event: EventType
    source: EventSource
    status: LockStatus
    lock_time_ms: int
    controller_id: bytes = NO_CONTROLLER
    controller_name: str = ""

    def __post_init__(self) -> None:
        """Validate sizes."""
        check_text(self.controller_name, "controller_name")
        if len(self.controller_id) != KEY_ID_SIZE:
            raise ValueError("controller_id must be 16 bytes")

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        writer.u8(self.event).u8(self.source)
        self.status.encode(writer)
        return (
            writer.u64(self.lock_time_ms)
            .fixed(self.controller_id, KEY_ID_SIZE)
            .str8(self.controller_name)
        )

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one event."""
        event = enum_from_wire(EventType, reader.u8())
        source = enum_from_wire(EventSource, reader.u8())
        status = LockStatus.decode(reader)
        time_ms = reader.u64()
        controller_id = reader.fixed(KEY_ID_SIZE)
        return cls(
            event=event,
            source=source,
            status=status,
            lock_time_ms=time_ms,
            controller_id=controller_id,
            controller_name=_checked_text(reader.str8()),
        )


@dataclass(frozen=True, slots=True)
class Heartbeat(Payload):
    """Periodic full state plus the lock's clock, so silence is detectable."""

    status: LockStatus
    lock_time_ms: int
    uptime_s: int = 0

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        self.status.encode(writer)
        return writer.u64(self.lock_time_ms).u32(self.uptime_s)

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one heartbeat."""
        return cls(LockStatus.decode(reader), reader.u64(), reader.u32())


@dataclass(frozen=True, slots=True)
class ControllerAdd(Payload):
    """Admin request: register another controller (its bundle, name, role, validity)."""

    bundle: PublicKeyBundle
    name: str
    role: Role
    valid_from_ms: int = 0
    valid_until_ms: int = 0
    """0 means no end; guests should always have one."""

    def __post_init__(self) -> None:
        """Bound the name."""
        check_text(self.name, "name")

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        self.bundle.encode(writer)
        return (
            writer.str8(self.name)
            .u8(self.role)
            .u64(self.valid_from_ms)
            .u64(self.valid_until_ms)
        )

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one request (bundle signatures are verified)."""
        bundle = PublicKeyBundle.decode(reader)
        name = _checked_text(reader.str8())
        role = enum_from_wire(Role, reader.u8())
        return cls(
            bundle=bundle,
            name=name,
            role=role,
            valid_from_ms=reader.u64(),
            valid_until_ms=reader.u64(),
        )


@dataclass(frozen=True, slots=True)
class ControllerRemove(Payload):
    """Admin request: revoke a controller."""

    controller_id: bytes

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return writer.fixed(self.controller_id, KEY_ID_SIZE)

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one request."""
        return cls(reader.fixed(KEY_ID_SIZE))


@dataclass(frozen=True, slots=True)
class ControllerListRequest(EmptyPayload):
    """Admin request: list controllers (answered by list chunks)."""


@dataclass(frozen=True, slots=True)
class ControllerSummary:
    """One controller as listed to an admin."""

    controller_id: bytes
    name: str
    role: Role
    revoked: bool
    valid_from_ms: int
    valid_until_ms: int

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return (
            writer.fixed(self.controller_id, KEY_ID_SIZE)
            .str8(self.name)
            .u8(self.role)
            .u8(int(self.revoked))
            .u64(self.valid_from_ms)
            .u64(self.valid_until_ms)
        )

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one entry."""
        controller_id = reader.fixed(KEY_ID_SIZE)
        name = _checked_text(reader.str8())
        role = enum_from_wire(Role, reader.u8())
        return cls(
            controller_id=controller_id,
            name=name,
            role=role,
            revoked=reader.boolean(),
            valid_from_ms=reader.u64(),
            valid_until_ms=reader.u64(),
        )


@dataclass(frozen=True, slots=True)
class ControllerListChunk(Payload):
    """Part ``index`` of ``total`` of the controller list."""

    index: int
    total: int
    entries: tuple[ControllerSummary, ...] = field(default=())

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        writer.u16(self.index).u16(self.total).u8(len(self.entries))
        for entry in self.entries:
            entry.encode(writer)
        return writer

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one chunk."""
        index, total = reader.u16(), reader.u16()
        if index >= total:
            raise MalformedError("chunk index out of range")
        return cls(
            index,
            total,
            tuple(ControllerSummary.decode(reader) for _ in range(reader.u8())),
        )


INVITATION_ID_SIZE = 16
MAX_INVITATION_TTL_MS = 15 * 60_000
"""An invitation must be used within 15 minutes, as a Matter commissioning window."""


class JoinMethod(IntEnum):
    """How a controller came onto the lock's registry."""

    LABEL = 1
    """The label's setup code and the button, on a lock in factory state."""
    INVITATION = 2
    """A one-time invitation an admin created."""
    ADMIN_ADD = 3
    """An admin registered the controller's public key directly."""


@dataclass(frozen=True, slots=True)
class InvitationCreate(Payload):
    """An admin opens a one-time way in: who pairs with its code gets ``role``.

    The admin's controller made the code; the lock receives only the code's
    discriminator and SPAKE2+ ``w0, w1``, inside this sealed request, and
    keeps them until the invitation is used, revoked or expires at
    ``expires_at_ms``.
    """

    invitation_id: bytes
    secret: CodeSecret = field(repr=False)
    role: Role
    valid_from_ms: int
    valid_until_ms: int
    expires_at_ms: int

    def __post_init__(self) -> None:
        """Validate sizes."""
        if len(self.invitation_id) != INVITATION_ID_SIZE:
            raise ValueError("invitation_id must be 16 bytes")

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return (
            writer.fixed(self.invitation_id, INVITATION_ID_SIZE)
            .u8(self.secret.discriminator)
            .fixed(self.secret.prover.to_bytes(), 2 * SCALAR_SIZE)
            .u8(self.role)
            .u64(self.valid_from_ms)
            .u64(self.valid_until_ms)
            .u64(self.expires_at_ms)
        )

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one invitation."""
        invitation_id = reader.fixed(INVITATION_ID_SIZE)
        discriminator = reader.u8()
        try:
            secret = CodeSecret(
                discriminator,
                ProverSecret.from_bytes(reader.fixed(2 * SCALAR_SIZE)),
            )
        except ProtocolError as err:
            raise MalformedError(str(err)) from None
        role = enum_from_wire(Role, reader.u8())
        return cls(
            invitation_id=invitation_id,
            secret=secret,
            role=role,
            valid_from_ms=reader.u64(),
            valid_until_ms=reader.u64(),
            expires_at_ms=reader.u64(),
        )


@dataclass(frozen=True, slots=True)
class InvitationRevoke(Payload):
    """An admin withdraws an unused invitation."""

    invitation_id: bytes

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return writer.fixed(self.invitation_id, INVITATION_ID_SIZE)

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one revocation."""
        return cls(reader.fixed(INVITATION_ID_SIZE))


@dataclass(frozen=True, slots=True)
class ControllerJoined(Payload):
    """Told to every admin when a controller's join becomes final."""

    controller: ControllerSummary
    method: JoinMethod
    invited_by: bytes = NO_CONTROLLER
    """The admin whose invitation or request let it in (zeros for the label)."""
    invited_by_name: str = ""
    lock_time_ms: int = 0

    def __post_init__(self) -> None:
        """Validate sizes."""
        check_text(self.invited_by_name, "invited_by_name")
        if len(self.invited_by) != KEY_ID_SIZE:
            raise ValueError("invited_by must be 16 bytes")

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        self.controller.encode(writer)
        return (
            writer.u8(self.method)
            .fixed(self.invited_by, KEY_ID_SIZE)
            .str8(self.invited_by_name)
            .u64(self.lock_time_ms)
        )

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one notice."""
        controller = ControllerSummary.decode(reader)
        method = enum_from_wire(JoinMethod, reader.u8())
        invited_by = reader.fixed(KEY_ID_SIZE)
        name = _checked_text(reader.str8())
        return cls(
            controller=controller,
            method=method,
            invited_by=invited_by,
            invited_by_name=name,
            lock_time_ms=reader.u64(),
        )


@dataclass(frozen=True, slots=True)
class KeyRotation(Payload):
    """Announces the sender's new signed prekey (either direction)."""

    prekey: SignedPrekey

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return self.prekey.encode(writer)

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one announcement (the signature is checked by the endpoint)."""
        return cls(SignedPrekey.decode(reader))


@dataclass(frozen=True, slots=True)
class TimeSync(Payload):
    """Controller's clock reading; an admin may ask the lock to adopt it."""

    controller_time_ms: int
    set_lock_clock: bool = False

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return writer.u64(self.controller_time_ms).u8(int(self.set_lock_clock))

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one request."""
        return cls(reader.u64(), reader.boolean())


MAX_AUTO_RELOCK_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Settings(Payload):
    """Lock settings an admin may change; 0 turns auto-relock off."""

    auto_relock_seconds: int

    def __post_init__(self) -> None:
        """Keep the delay within what the lock accepts."""
        if not 0 <= self.auto_relock_seconds <= MAX_AUTO_RELOCK_SECONDS:
            raise ValueError(f"auto_relock_seconds must be 0-{MAX_AUTO_RELOCK_SECONDS}")

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return writer.u16(self.auto_relock_seconds)

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one request."""
        try:
            return cls(reader.u16())
        except ValueError as err:
            raise MalformedError(str(err)) from err


@dataclass(frozen=True, slots=True)
class AuditLogRequest(Payload):
    """Ask for audit entries starting at ``since_index``."""

    since_index: int
    max_entries: int

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return writer.u32(self.since_index).u16(self.max_entries)

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one request."""
        return cls(reader.u32(), reader.u16())


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One executed action in the lock's log."""

    index: int
    time_ms: int
    kind: MessageKind
    source: EventSource
    result: ResultCode
    controller_id: bytes = NO_CONTROLLER

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return (
            writer.u32(self.index)
            .u64(self.time_ms)
            .u16(self.kind)
            .u8(self.source)
            .u8(self.result)
            .fixed(self.controller_id, KEY_ID_SIZE)
        )

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one entry."""
        index, time_ms = reader.u32(), reader.u64()
        kind = enum_from_wire(MessageKind, reader.u16())
        source = enum_from_wire(EventSource, reader.u8())
        result = enum_from_wire(ResultCode, reader.u8())
        return cls(
            index=index,
            time_ms=time_ms,
            kind=kind,
            source=source,
            result=result,
            controller_id=reader.fixed(KEY_ID_SIZE),
        )


@dataclass(frozen=True, slots=True)
class AuditLogChunk(Payload):
    """A run of audit entries; ``final`` marks the last chunk of an answer.

    ``previous_hash`` is the audit chain hash before the first entry and
    ``head_hash`` the chain hash after the last one (see ``audit.py``), so a
    controller can check that no entry in between was dropped or changed.
    """

    entries: tuple[AuditEntry, ...]
    final: bool
    previous_hash: bytes = bytes(AUDIT_HASH_SIZE)
    head_hash: bytes = bytes(AUDIT_HASH_SIZE)

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        writer.u8(int(self.final)).fixed(self.previous_hash, AUDIT_HASH_SIZE)
        writer.fixed(self.head_hash, AUDIT_HASH_SIZE).u8(len(self.entries))
        for entry in self.entries:
            entry.encode(writer)
        return writer

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one chunk."""
        final = reader.boolean()
        previous, head = reader.fixed(AUDIT_HASH_SIZE), reader.fixed(AUDIT_HASH_SIZE)
        entries = tuple(AuditEntry.decode(reader) for _ in range(reader.u8()))
        return cls(entries=entries, final=final, previous_hash=previous, head_hash=head)


@dataclass(frozen=True, slots=True)
class FirmwareChunk(Payload):
    """Opaque bytes at ``offset`` of a ``total_size`` transfer.

    As ``FIRMWARE_CHUNK`` it carries the image; as ``FIRMWARE_OFFER`` it
    carries the signed manifest (larger than one frame once ML-DSA signs it).
    """

    transfer_id: bytes
    offset: int
    total_size: int
    data: bytes

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return (
            writer.fixed(self.transfer_id, REQUEST_ID_SIZE)
            .u32(self.offset)
            .u32(self.total_size)
            .bytes16(self.data)
        )

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one chunk."""
        transfer_id, offset, total = (
            reader.fixed(REQUEST_ID_SIZE),
            reader.u32(),
            reader.u32(),
        )
        data = reader.bytes16()
        if offset + len(data) > total:
            raise MalformedError("chunk beyond the image size")
        return cls(transfer_id=transfer_id, offset=offset, total_size=total, data=data)


class UpdateState(IntEnum):
    """Where the lock is in a firmware update."""

    IDLE = 0
    RECEIVING = 1
    READY = 2
    INSTALLING = 3


class UpdateOutcome(IntEnum):
    """How the last update attempt ended."""

    NONE = 0
    UPDATED = 1
    ROLLED_BACK = 2
    TRANSFER_FAILED = 3


class FirmwareSlot(IntEnum):
    """The lock's A/B image slots."""

    A = 0
    B = 1


@dataclass(frozen=True, slots=True)
class FirmwareStatusRequest(EmptyPayload):
    """Ask where a firmware update stands (also the resume offset)."""


@dataclass(frozen=True, slots=True)
class FirmwareInstall(Payload):
    """Install the fully received, verified image of ``transfer_id`` and reboot into it."""

    transfer_id: bytes

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return writer.fixed(self.transfer_id, REQUEST_ID_SIZE)

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one request."""
        return cls(reader.fixed(REQUEST_ID_SIZE))


@dataclass(frozen=True, slots=True)
class FirmwareStatus(Payload):
    """The lock's signed answer to every firmware request.

    ``result``/``reason`` answer the request (a refusal's reason is a stable
    ``ErrorCode`` value); the rest is the update state: ``received`` is the
    resume offset of transfer ``transfer_id``, ``last_outcome``/``last_error``
    say how the previous attempt ended (a self-check fallback shows here).
    """

    result: ResultCode
    state: UpdateState
    running_version: str
    running_slot: FirmwareSlot
    security_version: int
    lock_time_ms: int
    reason: str = ""
    transfer_id: bytes = bytes(REQUEST_ID_SIZE)
    received: int = 0
    total: int = 0
    pending_version: str = ""
    last_outcome: UpdateOutcome = UpdateOutcome.NONE
    last_error: str = ""

    def __post_init__(self) -> None:
        """Bound texts."""
        for text in (self.reason, self.running_version, self.pending_version):
            check_text(text, "text")
        check_text(self.last_error, "last_error")
        if len(self.transfer_id) != REQUEST_ID_SIZE:
            raise ValueError("transfer_id must be 16 bytes")

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return (
            writer.u8(self.result)
            .str8(self.reason)
            .u8(self.state)
            .fixed(self.transfer_id, REQUEST_ID_SIZE)
            .u32(self.received)
            .u32(self.total)
            .str8(self.pending_version)
            .str8(self.running_version)
            .u8(self.running_slot)
            .u32(self.security_version)
            .u8(self.last_outcome)
            .str8(self.last_error)
            .u64(self.lock_time_ms)
        )

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one status."""
        result = enum_from_wire(ResultCode, reader.u8())
        reason = _checked_text(reader.str8())
        state = enum_from_wire(UpdateState, reader.u8())
        transfer_id = reader.fixed(REQUEST_ID_SIZE)
        received, total = reader.u32(), reader.u32()
        if received > total:
            raise MalformedError("received beyond the total")
        pending = _checked_text(reader.str8())
        running = _checked_text(reader.str8())
        slot = enum_from_wire(FirmwareSlot, reader.u8())
        security = reader.u32()
        outcome = enum_from_wire(UpdateOutcome, reader.u8())
        last_error = _checked_text(reader.str8())
        return cls(
            result=result,
            state=state,
            running_version=running,
            running_slot=slot,
            security_version=security,
            lock_time_ms=reader.u64(),
            reason=reason,
            transfer_id=transfer_id,
            received=received,
            total=total,
            pending_version=pending,
            last_outcome=outcome,
            last_error=last_error,
        )


def _check_slot(slot: int) -> None:
    if not 0 <= slot < MAX_KEYPAD_CODES:
        raise ValueError(f"keypad slot must be 0-{MAX_KEYPAD_CODES - 1}")


@dataclass(frozen=True, slots=True)
class KeypadCodeSet(Payload):
    """Admin request: add or change the keypad code in ``slot``.

    The PIN is typed (``pin``, sealed like every request), generated by the
    lock (answered once in ``KeypadCodeSetResult``) or kept as it is.
    """

    slot: int
    name: str
    pin_choice: PinChoice
    schedule: KeypadSchedule
    enabled: bool = True
    pin: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        """Check that a PIN travels exactly when it was typed."""
        _check_slot(self.slot)
        check_text(self.name, "name")
        if self.pin_choice is PinChoice.TYPED:
            check_pin(self.pin)
        elif self.pin:
            raise ValueError("only a typed PIN travels in the request")

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        writer.u8(self.slot).str8(self.name).u8(self.pin_choice).str8(self.pin)
        self.schedule.encode(writer)
        return writer.u8(int(self.enabled))

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one request."""
        slot, name = reader.u8(), _checked_text(reader.str8())
        choice = enum_from_wire(PinChoice, reader.u8())
        pin = reader.str8()
        schedule = KeypadSchedule.decode(reader)
        return cls(slot, name, choice, schedule, reader.boolean(), pin)


@dataclass(frozen=True, slots=True)
class KeypadCodeRemove(Payload):
    """Admin request: delete the code in ``slot`` (its PIN hash is erased)."""

    slot: int

    def __post_init__(self) -> None:
        """Bound the slot."""
        _check_slot(self.slot)

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return writer.u8(self.slot)

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one request."""
        return cls(reader.u8())


@dataclass(frozen=True, slots=True)
class KeypadCodeListRequest(EmptyPayload):
    """Admin request: list the keypad codes (answered by list chunks)."""


@dataclass(frozen=True, slots=True)
class KeypadCodeSummary:
    """One keypad code as the lock lists it: never its PIN or hash."""

    slot: int
    name: str
    schedule: KeypadSchedule
    enabled: bool
    last_used_ms: int = 0
    """0 until the code first opened the lock."""
    refused_outside_schedule: int = 0

    def __post_init__(self) -> None:
        """Bound the slot and the name."""
        _check_slot(self.slot)
        check_text(self.name, "name")

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        writer.u8(self.slot).str8(self.name)
        self.schedule.encode(writer)
        return (
            writer.u8(int(self.enabled))
            .u64(self.last_used_ms)
            .u16(min(self.refused_outside_schedule, MAX_U16))
        )

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one entry."""
        slot, name = reader.u8(), _checked_text(reader.str8())
        schedule = KeypadSchedule.decode(reader)
        return cls(slot, name, schedule, reader.boolean(), reader.u64(), reader.u16())


@dataclass(frozen=True, slots=True)
class KeypadCodeListChunk(Payload):
    """Part ``index`` of ``total`` of the keypad codes, with the keypad's counters.

    ``wrong_attempts`` counts PINs that matched no code since the lock was
    set up; ``locked_out_until_ms`` is 0 unless the keypad is locked out.
    """

    index: int
    total: int
    wrong_attempts: int
    locked_out_until_ms: int
    entries: tuple[KeypadCodeSummary, ...] = field(default=())

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        writer.u16(self.index).u16(self.total)
        writer.u32(self.wrong_attempts).u64(self.locked_out_until_ms)
        writer.u8(len(self.entries))
        for entry in self.entries:
            entry.encode(writer)
        return writer

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one chunk."""
        index, total = reader.u16(), reader.u16()
        if index >= total:
            raise MalformedError("chunk index out of range")
        wrong, until = reader.u32(), reader.u64()
        entries = tuple(KeypadCodeSummary.decode(reader) for _ in range(reader.u8()))
        return cls(index, total, wrong, until, entries)


@dataclass(frozen=True, slots=True)
class KeypadCodeSetResult(Payload):
    """The lock's signed answer to a set that it carried out.

    ``generated_pin`` is the PIN the lock drew, sent this once and only to
    the admin who asked; empty when the PIN was typed or kept.
    """

    slot: int
    lock_time_ms: int
    generated_pin: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        """Check that a generated PIN follows the PIN rules."""
        _check_slot(self.slot)
        if self.generated_pin:
            check_pin(self.generated_pin)

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return writer.u8(self.slot).u64(self.lock_time_ms).str8(self.generated_pin)

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one answer."""
        return cls(reader.u8(), reader.u64(), reader.str8())


@dataclass(frozen=True, slots=True)
class KindInfo:
    """Static facts about a message kind."""

    payload_type: type[Payload]
    directions: frozenset[Direction]
    is_response: bool
    max_lifetime_ms: int


UNLOCK_MAX_LIFETIME_MS = 30_000
DEFAULT_MAX_LIFETIME_MS = 300_000
_C2L = frozenset({Direction.CONTROLLER_TO_LOCK})
_L2C = frozenset({Direction.LOCK_TO_CONTROLLER})
_BOTH = _C2L | _L2C

KIND_INFO: dict[MessageKind, KindInfo] = {
    MessageKind.LOCK: KindInfo(Command, _C2L, False, DEFAULT_MAX_LIFETIME_MS),
    MessageKind.UNLOCK: KindInfo(Command, _C2L, False, UNLOCK_MAX_LIFETIME_MS),
    MessageKind.OPEN: KindInfo(Command, _C2L, False, UNLOCK_MAX_LIFETIME_MS),
    MessageKind.STATUS_REQUEST: KindInfo(Command, _C2L, False, DEFAULT_MAX_LIFETIME_MS),
    MessageKind.COMMAND_RESULT: KindInfo(
        CommandResult, _L2C, True, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.EVENT: KindInfo(Event, _L2C, False, DEFAULT_MAX_LIFETIME_MS),
    MessageKind.HEARTBEAT: KindInfo(Heartbeat, _L2C, False, DEFAULT_MAX_LIFETIME_MS),
    MessageKind.CONTROLLER_ADD: KindInfo(
        ControllerAdd, _C2L, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.CONTROLLER_REMOVE: KindInfo(
        ControllerRemove, _C2L, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.CONTROLLER_LIST: KindInfo(
        ControllerListRequest, _C2L, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.CONTROLLER_LIST_CHUNK: KindInfo(
        ControllerListChunk, _L2C, True, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.INVITATION_CREATE: KindInfo(
        InvitationCreate, _C2L, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.INVITATION_REVOKE: KindInfo(
        InvitationRevoke, _C2L, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.CONTROLLER_JOINED: KindInfo(
        ControllerJoined, _L2C, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.KEY_ROTATION: KindInfo(
        KeyRotation, _BOTH, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.TIME_SYNC: KindInfo(TimeSync, _C2L, False, DEFAULT_MAX_LIFETIME_MS),
    MessageKind.SETTINGS: KindInfo(Settings, _C2L, False, DEFAULT_MAX_LIFETIME_MS),
    MessageKind.AUDIT_LOG_REQUEST: KindInfo(
        AuditLogRequest, _C2L, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.AUDIT_LOG_CHUNK: KindInfo(
        AuditLogChunk, _L2C, True, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.FIRMWARE_CHUNK: KindInfo(
        FirmwareChunk, _C2L, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.FIRMWARE_OFFER: KindInfo(
        FirmwareChunk, _C2L, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.FIRMWARE_STATUS_REQUEST: KindInfo(
        FirmwareStatusRequest, _C2L, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.FIRMWARE_INSTALL: KindInfo(
        FirmwareInstall, _C2L, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.FIRMWARE_STATUS: KindInfo(
        FirmwareStatus, _L2C, True, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.KEYPAD_CODE_SET: KindInfo(
        KeypadCodeSet, _C2L, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.KEYPAD_CODE_REMOVE: KindInfo(
        KeypadCodeRemove, _C2L, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.KEYPAD_CODE_LIST: KindInfo(
        KeypadCodeListRequest, _C2L, False, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.KEYPAD_CODE_LIST_CHUNK: KindInfo(
        KeypadCodeListChunk, _L2C, True, DEFAULT_MAX_LIFETIME_MS
    ),
    MessageKind.KEYPAD_CODE_SET_RESULT: KindInfo(
        KeypadCodeSetResult, _L2C, True, DEFAULT_MAX_LIFETIME_MS
    ),
}


def kind_from_wire(value: int) -> MessageKind:
    """Map a wire value to a known kind or raise ``malformed``."""
    return enum_from_wire(MessageKind, value)


def encode_payload(kind: MessageKind, payload: Payload) -> bytes:
    """Encode ``payload`` after checking it is the right type for ``kind``."""
    if not isinstance(payload, KIND_INFO[kind].payload_type):
        raise ProtocolError(
            ErrorCode.INVALID_ARGUMENT, f"payload type does not match {kind.name}"
        )
    return payload.to_bytes()


def decode_payload(kind: MessageKind, data: bytes) -> Payload:
    """Decode the payload of ``kind``; any defect is ``malformed``."""
    reader = Reader(data)
    try:
        payload = KIND_INFO[kind].payload_type.decode(reader)
    except ValueError as err:
        raise MalformedError("invalid payload field") from err
    reader.done()
    return payload
