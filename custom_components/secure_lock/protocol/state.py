"""The lock state model carried in results, events and heartbeats."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from .encoding import MAX_U16, Reader, Writer
from .errors import MalformedError

BATTERY_UNKNOWN_ON_WIRE = 255
"""The byte a lock sends when it cannot measure its battery (``None`` in `LockStatus`)."""
MAX_TEXT_BYTES = 64


def enum_from_wire[E: IntEnum](enum: type[E], value: int) -> E:
    """Map a wire byte to an enum member or raise ``malformed``."""
    try:
        return enum(value)
    except ValueError:
        raise MalformedError(f"unknown {enum.__name__} value") from None


def check_text(value: str, what: str) -> None:
    """Reject text that would not fit the one-byte length prefix budget."""
    if len(value.encode()) > MAX_TEXT_BYTES:
        raise ValueError(f"{what} is longer than {MAX_TEXT_BYTES} UTF-8 bytes")


class BoltState(IntEnum):
    """Bolt state."""

    UNKNOWN = 0
    LOCKED = 1
    UNLOCKED = 2
    LOCKING = 3
    UNLOCKING = 4
    OPEN = 5
    OPENING = 6
    JAMMED = 7


class DoorState(IntEnum):
    """Door sensor state."""

    UNKNOWN = 0
    OPEN = 1
    CLOSED = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class LockStatus:
    """Full observable state of the lock."""

    bolt_state: BoltState = BoltState.UNKNOWN
    door_state: DoorState = DoorState.UNKNOWN
    battery_percent: int | None = None
    """0-100, or ``None`` when the lock cannot measure it."""
    firmware_version: str = ""
    has_latch: bool = False
    auto_relock_seconds: int = 0

    def __post_init__(self) -> None:
        """Validate ranges so every value has an encoding."""
        if self.battery_percent is not None and not 0 <= self.battery_percent <= 100:
            raise ValueError("battery_percent must be 0-100 or None (unknown)")
        if not 0 <= self.auto_relock_seconds <= MAX_U16:
            raise ValueError("auto_relock_seconds out of range")
        check_text(self.firmware_version, "firmware_version")

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return (
            writer.u8(self.bolt_state)
            .u8(self.door_state)
            .u8(
                BATTERY_UNKNOWN_ON_WIRE
                if self.battery_percent is None
                else self.battery_percent
            )
            .str8(self.firmware_version)
            .u8(int(self.has_latch))
            .u16(self.auto_relock_seconds)
        )

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one status."""
        bolt_state = enum_from_wire(BoltState, reader.u8())
        door_state = enum_from_wire(DoorState, reader.u8())
        battery_byte = reader.u8()
        battery = None if battery_byte == BATTERY_UNKNOWN_ON_WIRE else battery_byte
        firmware = reader.str8()
        has_latch = reader.boolean()
        relock = reader.u16()
        try:
            return cls(
                bolt_state=bolt_state,
                door_state=door_state,
                battery_percent=battery,
                firmware_version=firmware,
                has_latch=has_latch,
                auto_relock_seconds=relock,
            )
        except ValueError as err:
            raise MalformedError(str(err)) from err
