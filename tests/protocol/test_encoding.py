"""Canonical encoding: writers refuse values without an encoding, readers bad input."""

from __future__ import annotations

import pytest

from custom_components.secure_lock.protocol import (
    BoltState,
    DoorState,
    ErrorCode,
    LockStatus,
    MalformedError,
)
from custom_components.secure_lock.protocol.encoding import Reader, Writer
from custom_components.secure_lock.protocol.state import MAX_TEXT_BYTES

from .samples import STATUS


def test_writer_refuses_values_without_an_encoding() -> None:
    """Out-of-range integers and wrong-size fields are caller bugs, not truncations."""
    writer = Writer().u8(7)
    with pytest.raises(ValueError, match="out of range"):
        writer.u8(256)
    with pytest.raises(ValueError, match="out of range"):
        writer.u16(-1)
    with pytest.raises(ValueError, match="expected 16 bytes"):
        writer.fixed(bytes(15), 16)
    # Nothing half-written: the refused values left the buffer as it was.
    assert writer.finish() == b"\x07"


@pytest.mark.parametrize("data", ["00", 7, None, [0, 1]])
def test_reader_refuses_anything_but_bytes(data: object) -> None:
    """A decoder handed a non-bytes value fails as malformed, not with a TypeError."""
    with pytest.raises(MalformedError) as err:
        Reader(data)  # type: ignore[arg-type]
    assert err.value.code is ErrorCode.MALFORMED


def _status_bytes(battery: int, relock: int = 30, firmware: str = "1.2.3") -> bytes:
    return (
        Writer()
        .u8(BoltState.LOCKED)
        .u8(DoorState.CLOSED)
        .u8(battery)
        .str8(firmware)
        .u8(1)
        .u16(relock)
        .finish()
    )


def test_status_round_trips() -> None:
    """The sample status decodes to itself."""
    reader = Reader(STATUS.encode(Writer()).finish())
    assert LockStatus.decode(reader) == STATUS
    reader.done()


@pytest.mark.parametrize("battery", [101, 254])
def test_status_with_impossible_battery_is_malformed(battery: int) -> None:
    """A lock reporting 101-254 % battery sent a frame no honest lock encodes."""
    with pytest.raises(MalformedError, match="battery_percent"):
        LockStatus.decode(Reader(_status_bytes(battery)))
    # 255 is the wire's "cannot measure"; the model says None, and encodes it back.
    unknown = LockStatus.decode(Reader(_status_bytes(255)))
    assert unknown.battery_percent is None
    assert unknown.encode(Writer()).finish() == _status_bytes(255)


def test_status_values_are_checked_when_built() -> None:
    """Values that have no encoding are refused before anything is sent."""
    with pytest.raises(ValueError, match="battery_percent"):
        LockStatus(
            bolt_state=BoltState.LOCKED,
            door_state=DoorState.CLOSED,
            battery_percent=101,
            firmware_version="1",
            has_latch=True,
        )
    with pytest.raises(ValueError, match="auto_relock_seconds"):
        LockStatus(
            bolt_state=BoltState.LOCKED,
            door_state=DoorState.CLOSED,
            battery_percent=50,
            firmware_version="1",
            has_latch=True,
            auto_relock_seconds=0x10000,
        )
    with pytest.raises(ValueError, match="firmware_version"):
        LockStatus(
            bolt_state=BoltState.LOCKED,
            door_state=DoorState.CLOSED,
            battery_percent=50,
            firmware_version="é" * MAX_TEXT_BYTES,
            has_latch=True,
        )
    # The limit counts UTF-8 bytes, not characters.
    assert LockStatus(
        bolt_state=BoltState.LOCKED,
        door_state=DoorState.CLOSED,
        battery_percent=50,
        firmware_version="é" * (MAX_TEXT_BYTES // 2),
        has_latch=True,
    )
