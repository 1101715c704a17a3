"""Actions for the lock's keypad codes: set (add, change, disable), remove, list.

The lock is the only place a code lives; the list these actions return is
the one the lock signed.  Home Assistant never takes a PIN in: every action
call's data is fired on the event bus and kept by the recorder, so a typed
PIN would end up in the database.  The lock draws the PIN instead
(``generate_pin``); it comes back once, in this action's response, and
Home Assistant keeps no copy.  A typed PIN goes through the options form
(`keypad_flow`), whose input is not recorded.  Schedules are in the lock's local time: Home Assistant's time
zone, sent as the offset from UTC in force when the code is set.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from homeassistant.core import ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import DOMAIN
from .controller.keypad import (
    list_keypad_codes,
    remove_keypad_code,
    set_keypad_code,
    set_keypad_code_enabled,
)
from .coordinator import SecureLockCoordinator
from .protocol.keypad_codes import (
    MAX_KEYPAD_CODES,
    MAX_WEEKLY_SLOTS,
    MINUTES_PER_DAY,
    WEEKDAYS,
    KeypadSchedule,
    WeeklySlot,
    day_mask,
    day_names,
)
from .protocol.messages import KeypadCodeSummary
from .protocol.state import check_text

SERVICE_SET_KEYPAD_CODE = "set_keypad_code"
SERVICE_REMOVE_KEYPAD_CODE = "remove_keypad_code"
SERVICE_LIST_KEYPAD_CODES = "list_keypad_codes"

ATTR_SLOT = "slot"
ATTR_NAME = "name"
ATTR_GENERATE_PIN = "generate_pin"
ATTR_ENABLED = "enabled"
ATTR_WEEKLY = "weekly"
ATTR_DAYS = "days"
ATTR_START = "start"
ATTR_END = "end"
ATTR_VALID_FROM = "valid_from"
ATTR_VALID_UNTIL = "valid_until"
_SCHEDULE_FIELDS = (ATTR_WEEKLY, ATTR_VALID_FROM, ATTR_VALID_UNTIL)

_SLOT = vol.All(vol.Coerce(int), vol.Range(min=0, max=MAX_KEYPAD_CODES - 1))
_WEEKLY_SLOT = vol.Schema(
    {
        vol.Required(ATTR_DAYS): vol.All(
            cv.ensure_list, [vol.In(WEEKDAYS)], vol.Length(min=1)
        ),
        vol.Required(ATTR_START): cv.time,
        vol.Required(ATTR_END): cv.time,
    }
)


def set_schema(entry: dict[Any, Any]) -> vol.Schema:
    """Return the set action's schema (``entry`` names the lock)."""
    return vol.Schema(
        {
            **entry,
            vol.Required(ATTR_SLOT): _SLOT,
            vol.Optional(ATTR_NAME): vol.All(cv.string, vol.Length(min=1, max=64)),
            vol.Optional(ATTR_GENERATE_PIN, default=False): cv.boolean,
            vol.Optional(ATTR_ENABLED, default=True): cv.boolean,
            vol.Optional(ATTR_WEEKLY): vol.All(
                cv.ensure_list, [_WEEKLY_SLOT], vol.Length(max=MAX_WEEKLY_SLOTS)
            ),
            vol.Optional(ATTR_VALID_FROM): cv.datetime,
            vol.Optional(ATTR_VALID_UNTIL): cv.datetime,
        }
    )


def remove_schema(entry: dict[Any, Any]) -> vol.Schema:
    """Return the remove action's schema."""
    return vol.Schema({**entry, vol.Required(ATTR_SLOT): _SLOT})


type KeypadHandler = Callable[
    [SecureLockCoordinator, ServiceCall], Coroutine[Any, Any, ServiceResponse]
]


@dataclass(frozen=True, slots=True)
class KeypadAction:
    """One keypad action: its handler (given the admin's lock), schema and response."""

    handler: KeypadHandler
    schema: Callable[[dict[Any, Any]], vol.Schema]
    response: SupportsResponse


def _invalid(reason: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="invalid_keypad_code",
        translation_placeholders={"reason": reason},
    )


def name_fits(name: str) -> bool:
    """Return whether the lock can store ``name`` (at most 64 UTF-8 bytes)."""
    try:
        check_text(name, ATTR_NAME)
    except ValueError:
        return False
    return True


def _minute(value: time, *, end: bool) -> int:
    minute = value.hour * 60 + value.minute
    # 00:00 as an end is midnight at the end of the day.
    return MINUTES_PER_DAY if end and minute == 0 else minute


def _ms(value: datetime | None) -> int:
    return 0 if value is None else int(dt_util.as_utc(value).timestamp() * 1000)


def schedule_from(data: dict[str, Any]) -> KeypadSchedule:
    """Build the schedule of a set call, in Home Assistant's time zone now."""
    offset = dt_util.now().utcoffset()
    try:
        return KeypadSchedule(
            weekly=tuple(
                WeeklySlot(
                    day_mask(slot[ATTR_DAYS]),
                    _minute(slot[ATTR_START], end=False),
                    _minute(slot[ATTR_END], end=True),
                )
                for slot in data.get(ATTR_WEEKLY, ())
            ),
            valid_from_ms=_ms(data.get(ATTR_VALID_FROM)),
            valid_until_ms=_ms(data.get(ATTR_VALID_UNTIL)),
            utc_offset_minutes=int(offset.total_seconds() // 60) if offset else 0,
        )
    except ValueError as err:
        raise _invalid(str(err)) from None


async def _set_keypad_code(
    coordinator: SecureLockCoordinator, call: ServiceCall
) -> ServiceResponse:
    data = call.data
    slot: int = data[ATTR_SLOT]
    if ATTR_NAME not in data:
        # Only switching a code on or off: its name, schedule and PIN stay.
        if data[ATTR_GENERATE_PIN] or any(key in data for key in _SCHEDULE_FIELDS):
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="keypad_code_needs_name"
            )
        await coordinator.async_call(
            lambda client: set_keypad_code_enabled(client, slot, data[ATTR_ENABLED])
        )
        return {ATTR_SLOT: slot}
    if not name_fits(data[ATTR_NAME]):
        raise _invalid("the name is longer than 64 bytes")
    schedule = schedule_from(data)
    result = await coordinator.async_call(
        lambda client: set_keypad_code(
            client,
            slot,
            data[ATTR_NAME],
            schedule,
            generate=data[ATTR_GENERATE_PIN],
            enabled=data[ATTR_ENABLED],
        )
    )
    response: dict[str, Any] = {ATTR_SLOT: slot}
    if result.generated_pin:
        # The only copy outside the lock: in this response, to the admin who
        # asked; nothing in Home Assistant keeps it.
        response["pin"] = result.generated_pin
    return response


async def _remove_keypad_code(
    coordinator: SecureLockCoordinator, call: ServiceCall
) -> ServiceResponse:
    slot: int = call.data[ATTR_SLOT]
    await coordinator.async_call(lambda client: remove_keypad_code(client, slot))
    return None


def _when(time_ms: int) -> str | None:
    return dt_util.utc_from_timestamp(time_ms / 1000).isoformat() if time_ms else None


def describe_code(code: KeypadCodeSummary) -> dict[str, Any]:
    """Return one code as the list action shows it (never a PIN: the lock has none to send)."""
    schedule = code.schedule
    return {
        ATTR_SLOT: code.slot,
        ATTR_NAME: code.name,
        ATTR_ENABLED: code.enabled,
        ATTR_WEEKLY: [
            {
                ATTR_DAYS: day_names(slot.day_mask),
                ATTR_START: f"{slot.start_minute // 60:02}:{slot.start_minute % 60:02}",
                ATTR_END: f"{slot.end_minute // 60:02}:{slot.end_minute % 60:02}",
            }
            for slot in schedule.weekly
        ],
        ATTR_VALID_FROM: _when(schedule.valid_from_ms),
        ATTR_VALID_UNTIL: _when(schedule.valid_until_ms),
        "utc_offset_minutes": schedule.utc_offset_minutes,
        "last_used": _when(code.last_used_ms),
        "refused_outside_schedule": code.refused_outside_schedule,
    }


async def _list_keypad_codes(
    coordinator: SecureLockCoordinator, _call: ServiceCall
) -> ServiceResponse:
    listed = await coordinator.async_call(list_keypad_codes)
    return {
        "codes": [describe_code(code) for code in listed.codes],
        "wrong_attempts": listed.wrong_attempts,
        "locked_out_until": _when(listed.locked_out_until_ms),
    }


KEYPAD_ACTIONS: dict[str, KeypadAction] = {
    SERVICE_SET_KEYPAD_CODE: KeypadAction(
        _set_keypad_code, set_schema, SupportsResponse.OPTIONAL
    ),
    SERVICE_REMOVE_KEYPAD_CODE: KeypadAction(
        _remove_keypad_code, remove_schema, SupportsResponse.NONE
    ),
    SERVICE_LIST_KEYPAD_CODES: KeypadAction(
        _list_keypad_codes, vol.Schema, SupportsResponse.ONLY
    ),
}
"""Admin-only, as every action: who may open the door is an owner's business."""
