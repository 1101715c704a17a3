"""One representative payload per message kind (shared by several tests)."""

from __future__ import annotations

from custom_components.secure_lock.protocol import (
    AuditEntry,
    BoltState,
    Command,
    CommandResult,
    ControllerJoined,
    ControllerSummary,
    DoorState,
    Event,
    EventSource,
    EventType,
    FirmwareStatus,
    Heartbeat,
    LockStatus,
    MessageKind,
    PublicKeyBundle,
    ResultCode,
    Role,
)
from custom_components.secure_lock.protocol.keypad_codes import (
    KeypadSchedule,
    PinChoice,
    WeeklySlot,
)
from custom_components.secure_lock.protocol.messages import (
    AuditLogChunk,
    AuditLogRequest,
    ControllerAdd,
    ControllerListChunk,
    ControllerListRequest,
    ControllerRemove,
    FirmwareChunk,
    FirmwareInstall,
    FirmwareSlot,
    FirmwareStatusRequest,
    InvitationCreate,
    InvitationRevoke,
    JoinMethod,
    KeypadCodeListChunk,
    KeypadCodeListRequest,
    KeypadCodeRemove,
    KeypadCodeSet,
    KeypadCodeSetResult,
    KeypadCodeSummary,
    KeyRotation,
    Payload,
    Settings,
    TimeSync,
    UpdateOutcome,
    UpdateState,
)
from custom_components.secure_lock.protocol.setup_code import CodeSecret
from custom_components.secure_lock.protocol.spake2plus import ProverSecret

CLEANER_SCHEDULE = KeypadSchedule(
    weekly=(WeeklySlot(0b0000100, 8 * 60, 12 * 60),) * 4,
    valid_from_ms=1_700_000_000_000,
    valid_until_ms=1_800_000_000_000,
    utc_offset_minutes=60,
)
"""The largest schedule a code can have (four weekly slots and a window)."""

STATUS = LockStatus(
    bolt_state=BoltState.LOCKED,
    door_state=DoorState.CLOSED,
    battery_percent=87,
    firmware_version="1.2.3",
    has_latch=True,
    auto_relock_seconds=30,
)


def sample_payload(kind: MessageKind, bundle: PublicKeyBundle, time_ms: int) -> Payload:
    """Return a realistic payload for ``kind``; ``bundle`` feeds key-carrying kinds."""
    prekey = bundle.prekeys[0]
    samples: dict[MessageKind, Payload] = {
        MessageKind.LOCK: Command(),
        MessageKind.UNLOCK: Command(),
        MessageKind.OPEN: Command(),
        MessageKind.STATUS_REQUEST: Command(),
        MessageKind.COMMAND_RESULT: CommandResult(
            ResultCode.OK, STATUS, time_ms, 42, "done"
        ),
        MessageKind.EVENT: Event(
            EventType.STATE_CHANGED,
            EventSource.CONTROLLER,
            STATUS,
            time_ms,
            bytes(range(16)),
            "HA",
        ),
        MessageKind.HEARTBEAT: Heartbeat(STATUS, time_ms, 3600),
        MessageKind.CONTROLLER_ADD: ControllerAdd(
            bundle, "Guest phone ☂" * 4, Role.GUEST, time_ms, time_ms + 3_600_000
        ),
        MessageKind.CONTROLLER_REMOVE: ControllerRemove(bytes(range(16))),
        MessageKind.CONTROLLER_LIST: ControllerListRequest(),
        MessageKind.CONTROLLER_LIST_CHUNK: ControllerListChunk(
            0,
            1,
            (ControllerSummary(bytes(16), "Home Assistant", Role.ADMIN, False, 0, 0),),
        ),
        MessageKind.KEY_ROTATION: KeyRotation(prekey),
        MessageKind.TIME_SYNC: TimeSync(time_ms, set_lock_clock=True),
        MessageKind.SETTINGS: Settings(90),
        MessageKind.AUDIT_LOG_REQUEST: AuditLogRequest(0, 10),
        MessageKind.AUDIT_LOG_CHUNK: AuditLogChunk(
            (
                AuditEntry(
                    7,
                    time_ms,
                    MessageKind.UNLOCK,
                    EventSource.CONTROLLER,
                    ResultCode.OK,
                    bytes(16),
                ),
            ),
            final=True,
        ),
        MessageKind.FIRMWARE_CHUNK: FirmwareChunk(bytes(16), 0, 1000, b"\xa5" * 200),
        MessageKind.FIRMWARE_OFFER: FirmwareChunk(bytes(16), 300, 500, b"\x5a" * 200),
        MessageKind.FIRMWARE_STATUS_REQUEST: FirmwareStatusRequest(),
        MessageKind.FIRMWARE_INSTALL: FirmwareInstall(bytes(range(16))),
        MessageKind.INVITATION_CREATE: InvitationCreate(
            bytes(range(16)),
            CodeSecret(
                5,
                ProverSecret(
                    bytes(range(16, 32)) + bytes(16), bytes(range(32, 48)) + bytes(16)
                ),
            ),
            Role.GUEST,
            time_ms,
            time_ms + 86_400_000,
            time_ms + 600_000,
        ),
        MessageKind.INVITATION_REVOKE: InvitationRevoke(bytes(range(16))),
        MessageKind.CONTROLLER_JOINED: ControllerJoined(
            ControllerSummary(
                bytes(range(16)), "Cleaner", Role.GUEST, False, time_ms, time_ms + 1
            ),
            JoinMethod.INVITATION,
            bytes(range(16, 32)),
            "Home Assistant",
            time_ms,
        ),
        MessageKind.FIRMWARE_STATUS: FirmwareStatus(
            ResultCode.FIRMWARE_REJECTED,
            UpdateState.RECEIVING,
            "1.2.3",
            FirmwareSlot.B,
            7,
            time_ms,
            "firmware_rollback",
            bytes(range(16)),
            716,
            40_000,
            "1.3.0",
            UpdateOutcome.ROLLED_BACK,
            "firmware_self_check_failed",
        ),
        MessageKind.KEYPAD_CODE_SET: KeypadCodeSet(
            15, "Cleaner ☂" * 5, PinChoice.TYPED, CLEANER_SCHEDULE, True, "123456789012"
        ),
        MessageKind.KEYPAD_CODE_REMOVE: KeypadCodeRemove(3),
        MessageKind.KEYPAD_CODE_LIST: KeypadCodeListRequest(),
        MessageKind.KEYPAD_CODE_LIST_CHUNK: KeypadCodeListChunk(
            0,
            8,
            12,
            time_ms + 60_000,
            (
                KeypadCodeSummary(
                    15, "Cleaner ☂" * 5, CLEANER_SCHEDULE, True, time_ms, 65_535
                ),
            )
            * 2,
        ),
        MessageKind.KEYPAD_CODE_SET_RESULT: KeypadCodeSetResult(2, time_ms, "12345678"),
    }
    return samples[kind]
