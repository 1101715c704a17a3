"""Keypad codes: PIN rules and schedules, shared by the lock and its controllers.

A keypad code is a PIN with a name and a schedule, kept and checked only by
the lock.  Schedules are in the lock's local time, which each schedule states
as a fixed offset from UTC (``utc_offset_minutes``): the lock needs no time
zone database, and a controller that knows its own zone sends the offset in
force.  A code whose schedule spans a daylight-saving change keeps the offset
it was set with until it is set again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from .encoding import Reader, Writer
from .errors import MalformedError
from .rng import Rng

MIN_PIN_DIGITS = 6
"""Six digits are 10^6 codes; with the lock's lockout (five free tries, then
waits doubling from a minute up to an hour) guessing one takes years.  Four
digits (10^4) would fall in days, and a short code is also easier to see
typed.  Matter's Door Lock cluster leaves the length to the lock."""
MAX_PIN_DIGITS = 12
GENERATED_PIN_DIGITS = 8
MAX_KEYPAD_CODES = 16
"""Slots 0-15: every typed PIN is compared with each code's slow hash."""
MAX_WEEKLY_SLOTS = 4
MINUTES_PER_DAY = 1440
ALL_DAYS = 0x7F
"""Day mask bit 0 is Monday, bit 6 Sunday."""
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Day names in day mask order, as the CLI and Home Assistant's actions spell them."""
MIN_UTC_OFFSET_MINUTES = -12 * 60
MAX_UTC_OFFSET_MINUTES = 14 * 60
_MS_PER_MINUTE = 60_000


def check_pin(pin: str) -> None:
    """Raise ValueError unless ``pin`` is 6-12 ASCII digits."""
    if not (pin.isascii() and pin.isdigit()):
        raise ValueError("a PIN is digits only")
    if not MIN_PIN_DIGITS <= len(pin) <= MAX_PIN_DIGITS:
        raise ValueError(f"a PIN has {MIN_PIN_DIGITS}-{MAX_PIN_DIGITS} digits")


def generate_pin(rng: Rng, digits: int = GENERATED_PIN_DIGITS) -> str:
    """Return a uniformly random PIN (bytes above 249 are drawn again)."""
    chosen: list[str] = []
    while len(chosen) < digits:
        for byte in rng(digits):
            if byte < 250 and len(chosen) < digits:
                chosen.append(str(byte % 10))
    return "".join(chosen)


def day_mask(days: Iterable[str]) -> int:
    """Return the day mask of day names (``WEEKDAYS``); raise ValueError for others."""
    mask = 0
    for day in days:
        mask |= 1 << WEEKDAYS.index(day)
    return mask


def day_names(mask: int) -> list[str]:
    """Return the day names of a day mask, Monday first."""
    return [day for bit, day in enumerate(WEEKDAYS) if mask >> bit & 1]


class PinChoice(IntEnum):
    """Where a set request's PIN comes from."""

    KEEP = 0
    """Change name, schedule or enabled; the PIN stays (not allowed for a new code)."""
    TYPED = 1
    """The admin chose the PIN; it travels in the sealed request."""
    GENERATE = 2
    """The lock draws the PIN and returns it once, in its signed answer."""


@dataclass(frozen=True, slots=True)
class WeeklySlot:
    """On the days of ``day_mask``, from ``start_minute`` up to ``end_minute``."""

    day_mask: int
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        """Reject empty or inverted slots."""
        if not 0 < self.day_mask <= ALL_DAYS:
            raise ValueError("day_mask needs at least one of 7 days")
        if not 0 <= self.start_minute < self.end_minute <= MINUTES_PER_DAY:
            raise ValueError("a slot runs from a start minute to a later end minute")

    def covers(self, weekday: int, minute: int) -> bool:
        """Return whether ``minute`` of ``weekday`` (0 = Monday) is in this slot."""
        return bool(self.day_mask >> weekday & 1) and (
            self.start_minute <= minute < self.end_minute
        )

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding."""
        return writer.u8(self.day_mask).u16(self.start_minute).u16(self.end_minute)

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one slot."""
        return cls(reader.u8(), reader.u16(), reader.u16())


@dataclass(frozen=True, slots=True)
class KeypadSchedule:
    """When a code opens: inside the window (0 = no bound) and, if any, a weekly slot."""

    weekly: tuple[WeeklySlot, ...] = ()
    valid_from_ms: int = 0
    valid_until_ms: int = 0
    utc_offset_minutes: int = 0
    """The lock's local time for the weekly slots is UTC plus this."""

    def __post_init__(self) -> None:
        """Bound the slot count, the window and the offset."""
        if len(self.weekly) > MAX_WEEKLY_SLOTS:
            raise ValueError(f"at most {MAX_WEEKLY_SLOTS} weekly slots")
        if self.valid_until_ms and self.valid_until_ms <= self.valid_from_ms:
            raise ValueError("the window must end after it starts")
        if (
            not MIN_UTC_OFFSET_MINUTES
            <= self.utc_offset_minutes
            <= (MAX_UTC_OFFSET_MINUTES)
        ):
            raise ValueError("utc_offset_minutes is out of range")

    def allows(self, now_ms: int) -> bool:
        """Return whether the schedule lets the code open at ``now_ms`` (UTC)."""
        if self.valid_from_ms and now_ms < self.valid_from_ms:
            return False
        if self.valid_until_ms and now_ms >= self.valid_until_ms:
            return False
        if not self.weekly:
            return True
        local_minutes = now_ms // _MS_PER_MINUTE + self.utc_offset_minutes
        # 1 January 1970 was a Thursday (weekday 3 with Monday as 0).
        weekday = (local_minutes // MINUTES_PER_DAY + 3) % 7
        minute = local_minutes % MINUTES_PER_DAY
        return any(slot.covers(weekday, minute) for slot in self.weekly)

    def encode(self, writer: Writer) -> Writer:
        """Append the canonical encoding (the offset is sent shifted by +720)."""
        writer.u8(len(self.weekly))
        for slot in self.weekly:
            slot.encode(writer)
        return (
            writer.u64(self.valid_from_ms)
            .u64(self.valid_until_ms)
            .u16(self.utc_offset_minutes - MIN_UTC_OFFSET_MINUTES)
        )

    @classmethod
    def decode(cls, reader: Reader) -> Self:
        """Read one schedule."""
        count = reader.u8()
        if count > MAX_WEEKLY_SLOTS:
            raise MalformedError("too many weekly slots")
        weekly = tuple(WeeklySlot.decode(reader) for _ in range(count))
        return cls(
            weekly=weekly,
            valid_from_ms=reader.u64(),
            valid_until_ms=reader.u64(),
            utc_offset_minutes=reader.u16() + MIN_UTC_OFFSET_MINUTES,
        )
