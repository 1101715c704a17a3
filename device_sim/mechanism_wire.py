"""The mechanism's words in the protocol's: bolt, door, sources, refusals, events."""

from __future__ import annotations

from custom_components.secure_lock.protocol.messages import (
    EventSource,
    EventType,
    MessageKind,
    ResultCode,
)
from custom_components.secure_lock.protocol.state import (
    BoltState as WireBoltState,
    DoorState as WireDoorState,
    LockStatus,
)

from .mechanism import (
    BoltState,
    DoorState,
    MechanismConfig,
    MechanismEvent,
    MechanismEventKind,
    MechanismStatus,
    Refusal,
    Source,
)

_BOLT_TO_WIRE = {
    BoltState.LOCKED: WireBoltState.LOCKED,
    BoltState.UNLOCKED: WireBoltState.UNLOCKED,
    BoltState.LOCKING: WireBoltState.LOCKING,
    BoltState.UNLOCKING: WireBoltState.UNLOCKING,
    BoltState.OPENING: WireBoltState.OPENING,
    BoltState.OPEN: WireBoltState.OPEN,
    BoltState.JAMMED: WireBoltState.JAMMED,
}
_SOURCE_TO_WIRE = {
    Source.CONTROLLER: EventSource.CONTROLLER,
    Source.MANUAL: EventSource.MANUAL,
    Source.KEYPAD: EventSource.KEYPAD,
    Source.AUTO_RELOCK: EventSource.AUTO_RELOCK,
}
_REFUSAL_TO_RESULT = {
    Refusal.JAMMED: ResultCode.JAMMED,
    Refusal.DOOR_OPEN: ResultCode.DOOR_OPEN,
    Refusal.BATTERY_EMPTY: ResultCode.LOW_BATTERY,
    Refusal.BUSY: ResultCode.BUSY,
    Refusal.NO_LATCH: ResultCode.UNSUPPORTED,
}
_EVENT_TO_WIRE = {
    MechanismEventKind.STATE: EventType.STATE_CHANGED,
    MechanismEventKind.DOOR: EventType.DOOR_CHANGED,
    MechanismEventKind.JAM: EventType.JAMMED,
    MechanismEventKind.LOW_BATTERY: EventType.LOW_BATTERY,
    MechanismEventKind.TAMPER: EventType.TAMPER,
    MechanismEventKind.SETTLED: EventType.REPORT,
}
_NOT_BY_CONTROLLER = (Source.MANUAL, Source.KEYPAD, Source.AUTO_RELOCK)


def wire_status(
    status: MechanismStatus, config: MechanismConfig, firmware_version: str
) -> LockStatus:
    """Return the mechanism's state as the protocol reports it."""
    return LockStatus(
        bolt_state=_BOLT_TO_WIRE[status.bolt],
        door_state=WireDoorState.OPEN
        if status.door is DoorState.OPEN
        else WireDoorState.CLOSED,
        battery_percent=round(status.battery_percent),
        firmware_version=firmware_version,
        has_latch=config.has_latch,
        auto_relock_seconds=int(config.auto_relock_seconds or 0),
    )


def wire_source(source: Source | None) -> EventSource:
    """Return who moved the mechanism, in the protocol's words."""
    return _SOURCE_TO_WIRE[source] if source else EventSource.UNKNOWN


def wire_event_type(kind: MechanismEventKind) -> EventType:
    """Return the event type controllers are told."""
    return _EVENT_TO_WIRE[kind]


def refusal_result(refusal: Refusal) -> ResultCode:
    """Return the result a refused motor command is answered with."""
    return _REFUSAL_TO_RESULT[refusal]


def operation_not_by_controller(event: MechanismEvent) -> MessageKind | None:
    """Return LOCK or UNLOCK when a hand, the keypad or auto-relock finished moving the bolt.

    Those operations have no request to audit, so the lock logs them itself.
    """
    if (
        event.kind is MechanismEventKind.STATE
        and event.source in _NOT_BY_CONTROLLER
        and event.status.bolt in (BoltState.LOCKED, BoltState.UNLOCKED)
    ):
        return (
            MessageKind.LOCK
            if event.status.bolt is BoltState.LOCKED
            else MessageKind.UNLOCK
        )
    return None
