"""Keypad codes on the wire: PIN rules, schedules in the lock's local time, refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custom_components.secure_lock.protocol import MessageKind, Role
from custom_components.secure_lock.protocol.encoding import Reader, Writer
from custom_components.secure_lock.protocol.errors import MalformedError
from custom_components.secure_lock.protocol.keypad_codes import (
    MAX_WEEKLY_SLOTS,
    KeypadSchedule,
    PinChoice,
    WeeklySlot,
    check_pin,
    generate_pin,
)
from custom_components.secure_lock.protocol.messages import (
    KeypadCodeListChunk,
    KeypadCodeSet,
    KeypadCodeSetResult,
    KeypadCodeSummary,
    decode_payload,
)
from custom_components.secure_lock.protocol.permissions import may_send
from custom_components.secure_lock.protocol.rng import DeterministicRng

from .conftest import T0

MONDAY = 0b0000001
WEDNESDAY = 0b0000100


def _ms(year: int, month: int, day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


def test_pins_are_six_to_twelve_digits() -> None:
    """Shorter codes fall to guessing; letters have no key on the keypad."""
    check_pin("123456")
    check_pin("1" * 12)
    for bad in ("12345", "1" * 13, "12345a", "١٢٣٤٥٦", ""):
        with pytest.raises(ValueError):
            check_pin(bad)


def test_generated_pins_are_digits_of_the_asked_length_and_differ() -> None:
    """Rejection sampling keeps the digits uniform (bytes 250-255 are drawn again)."""
    rng = DeterministicRng(b"keypad")
    pins = {generate_pin(rng) for _ in range(50)}
    assert len(pins) == 50
    for pin in pins:
        check_pin(pin)
        assert len(pin) == 8
    assert generate_pin(lambda size: bytes([255] * (size - 1) + [7]), 1) == "7"


def test_weekly_slot_is_read_in_the_lock_local_time() -> None:
    """Wednesday 08:00-12:00 at UTC+1 is 07:00-11:00 UTC (2026-11-25 is a Wednesday)."""
    schedule = KeypadSchedule(
        weekly=(WeeklySlot(WEDNESDAY, 8 * 60, 12 * 60),), utc_offset_minutes=60
    )
    assert not schedule.allows(_ms(2026, 11, 25, 6, 59))
    assert schedule.allows(_ms(2026, 11, 25, 7, 0))
    assert schedule.allows(_ms(2026, 11, 25, 10, 59))
    assert not schedule.allows(_ms(2026, 11, 25, 11, 0))
    assert not schedule.allows(_ms(2026, 11, 24, 8, 0))  # Tuesday
    # Monday 00:00-01:00 at UTC-5 is Monday 05:00-06:00 UTC.
    monday = KeypadSchedule(
        weekly=(WeeklySlot(MONDAY, 0, 60),), utc_offset_minutes=-300
    )
    assert monday.allows(_ms(2026, 11, 23, 5, 30))
    assert not monday.allows(_ms(2026, 11, 23, 0, 30))


def test_window_bounds_and_no_schedule_means_always() -> None:
    """A one-time window opens from its start up to (not including) its end."""
    assert KeypadSchedule().allows(T0)
    stay = KeypadSchedule(valid_from_ms=T0, valid_until_ms=T0 + 1000)
    assert not stay.allows(T0 - 1)
    assert stay.allows(T0)
    assert not stay.allows(T0 + 1000)


@pytest.mark.parametrize(
    "build",
    [
        lambda: WeeklySlot(0, 0, 60),
        lambda: WeeklySlot(0x80, 0, 60),
        lambda: WeeklySlot(1, 60, 60),
        lambda: WeeklySlot(1, 0, 1441),
        lambda: KeypadSchedule(weekly=(WeeklySlot(1, 0, 1),) * (MAX_WEEKLY_SLOTS + 1)),
        lambda: KeypadSchedule(valid_from_ms=10, valid_until_ms=10),
        lambda: KeypadSchedule(utc_offset_minutes=15 * 60),
        lambda: KeypadCodeSet(16, "x", PinChoice.GENERATE, KeypadSchedule()),
        lambda: KeypadCodeSet(0, "x", PinChoice.TYPED, KeypadSchedule(), pin="12"),
        lambda: KeypadCodeSet(0, "x", PinChoice.KEEP, KeypadSchedule(), pin="123456"),
        lambda: KeypadCodeSetResult(0, T0, "12"),
    ],
)
def test_invalid_values_are_refused(build: object) -> None:
    """Every value that has no meaning on the lock is refused before it is sent."""
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_hostile_encodings_are_malformed() -> None:
    """Too many slots, a chunk index past the total, a bad slot: malformed."""
    too_many = Writer().u8(MAX_WEEKLY_SLOTS + 1).finish()
    with pytest.raises(MalformedError):
        KeypadSchedule.decode(Reader(too_many))
    chunk = KeypadCodeListChunk(0, 1, 0, 0).to_bytes()
    with pytest.raises(MalformedError):
        decode_payload(
            MessageKind.KEYPAD_CODE_LIST_CHUNK, b"\x00\x01\x00\x01" + chunk[4:]
        )
    with pytest.raises(MalformedError):
        decode_payload(MessageKind.KEYPAD_CODE_REMOVE, b"\x10")


def test_the_pin_is_never_in_a_repr() -> None:
    """Logs and exceptions that show a request show no PIN."""
    request = KeypadCodeSet(0, "Guest", PinChoice.TYPED, KeypadSchedule(), pin="918273")
    assert "918273" not in repr(request)
    assert "55667788" not in repr(KeypadCodeSetResult(0, T0, "55667788"))


def test_only_admins_manage_keypad_codes() -> None:
    """Who may open the door by keypad is an admin's decision."""
    for kind in (
        MessageKind.KEYPAD_CODE_SET,
        MessageKind.KEYPAD_CODE_REMOVE,
        MessageKind.KEYPAD_CODE_LIST,
    ):
        assert may_send(Role.ADMIN, kind, T0)
        assert not may_send(Role.OPERATOR, kind, T0)
        assert not may_send(Role.GUEST, kind, T0, valid_until_ms=T0 + 1)


def test_byte_layouts_are_the_documented_ones() -> None:
    """docs/protocol.md section 9's rows, byte for byte (a cleaner on Tuesdays, UTC+1)."""
    tuesday_mornings = KeypadSchedule(
        weekly=(WeeklySlot(0b0000010, 8 * 60, 12 * 60),), utc_offset_minutes=60
    )
    schedule = (
        b"\x01"  # one weekly slot
        b"\x02\x01\xe0\x02\xd0"  # Tuesday, 480-720
        + bytes(16)  # no window
        + (60 + 720).to_bytes(2, "big")  # the offset, sent + 720
    )
    request = KeypadCodeSet(
        1, "Cleaner", PinChoice.TYPED, tuesday_mornings, True, "123456"
    )
    assert request.to_bytes() == (b"\x01\x07Cleaner\x01\x06123456" + schedule + b"\x01")
    assert KeypadCodeSetResult(1, 0x0102030405060708, "87654321").to_bytes() == (
        b"\x01\x01\x02\x03\x04\x05\x06\x07\x08\x0887654321"
    )
    chunk = KeypadCodeListChunk(
        0,
        1,
        5,
        0,
        (KeypadCodeSummary(1, "Cleaner", tuesday_mornings, True, 0x10, 3),),
    )
    assert chunk.to_bytes() == (
        b"\x00\x00\x00\x01"  # index, total
        b"\x00\x00\x00\x05"  # wrong attempts
        + bytes(8)  # not locked out
        + b"\x01"  # one entry
        + b"\x01\x07Cleaner"
        + schedule
        + b"\x01"
        + (0x10).to_bytes(8, "big")
        + b"\x00\x03"
    )
    for kind, payload in (
        (MessageKind.KEYPAD_CODE_SET, request),
        (MessageKind.KEYPAD_CODE_LIST_CHUNK, chunk),
    ):
        assert decode_payload(kind, payload.to_bytes()) == payload
