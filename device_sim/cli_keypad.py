"""`device_sim client keypad-*`: an admin manages the lock's keypad codes, as Home Assistant does.

Schedules are read and printed in the lock's local time, given as an offset
from UTC (`--utc-offset`, default this computer's offset now).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
import time

from custom_components.secure_lock.controller import LockClient
from custom_components.secure_lock.controller.keypad import (
    list_keypad_codes,
    remove_keypad_code,
    set_keypad_code,
    set_keypad_code_enabled,
)
from custom_components.secure_lock.protocol.keypad_codes import (
    ALL_DAYS,
    MAX_KEYPAD_CODES,
    KeypadSchedule,
    WeeklySlot,
    day_mask,
    day_names,
)

_HOUR_MS = 3_600_000

type WithClient = Callable[
    [argparse.Namespace, Callable[[LockClient], Awaitable[int]]], Awaitable[int]
]


def parse_weekly(text: str) -> WeeklySlot:
    """Read ``mon,wed 08:00-12:00`` (or ``daily 08:00-24:00``) as a weekly slot."""
    try:
        days, hours = text.split()
        start, end = hours.split("-")
        mask = ALL_DAYS if days == "daily" else day_mask(days.split(","))
        return WeeklySlot(mask, _minute(start), _minute(end))
    except ValueError:
        # argparse prints this message as the option's error.
        raise argparse.ArgumentTypeError(
            f"a weekly slot reads like 'mon,wed 08:00-12:00', not {text!r}"
        ) from None


def _minute(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def describe_schedule(schedule: KeypadSchedule) -> str:
    """Say when a code opens, in the lock's local time."""
    offset = schedule.utc_offset_minutes
    parts = [
        ",".join(day_names(slot.day_mask))
        + f" {_clock(slot.start_minute)}-{_clock(slot.end_minute)}"
        for slot in schedule.weekly
    ]
    if schedule.valid_from_ms:
        parts.append(f"from {_local(schedule.valid_from_ms, offset)}")
    if schedule.valid_until_ms:
        parts.append(f"until {_local(schedule.valid_until_ms, offset)}")
    sign = "+" if offset >= 0 else "-"
    zone = f"UTC{sign}{abs(offset) // 60:02}:{abs(offset) % 60:02}"
    return f"{'; '.join(parts) or 'always'} ({zone})"


def _clock(minute: int) -> str:
    return f"{minute // 60:02}:{minute % 60:02}"


def _local(time_ms: int, offset_minutes: int) -> str:
    moment = datetime.fromtimestamp(time_ms / 1000 + offset_minutes * 60, UTC)
    return moment.strftime("%Y-%m-%d %H:%M")


def _local_offset_minutes() -> int:
    return time.localtime().tm_gmtoff // 60


def add_parsers(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    with_client: WithClient,
) -> None:
    """Add keypad-set, keypad-enable, keypad-disable, keypad-remove and keypad-codes."""
    slot_help = f"the code's slot, 0-{MAX_KEYPAD_CODES - 1}"
    setter = actions.add_parser(
        "keypad-set",
        help="admin: add or change a keypad code (PIN, name, schedule)",
        description=(
            "Add or change the keypad code in SLOT. Give --pin, or --generate to "
            "have the lock draw one (printed once); with neither the PIN stays. "
            "Without --weekly or a window the code opens at any time."
        ),
    )
    setter.add_argument("slot", type=int, help=slot_help)
    setter.add_argument("--name", required=True, help="who the code is for")
    pin = setter.add_mutually_exclusive_group()
    pin.add_argument("--pin", help="6-12 digits (prefer --generate: no shell history)")
    pin.add_argument(
        "--generate", action="store_true", help="let the lock draw an 8-digit PIN"
    )
    setter.add_argument(
        "--weekly",
        action="append",
        default=[],
        type=parse_weekly,
        metavar="'DAYS HH:MM-HH:MM'",
        help="a weekly slot, e.g. 'tue 08:00-12:00' or 'mon,fri 17:00-19:00' (up to 4)",
    )
    setter.add_argument(
        "--valid-hours", type=float, help="a one-time window: from now, this long"
    )
    setter.add_argument(
        "--utc-offset",
        type=int,
        default=None,
        metavar="MINUTES",
        help="the lock's local time for --weekly (default: this computer's now)",
    )
    setter.add_argument(
        "--disabled", action="store_true", help="store the code switched off"
    )
    setter.set_defaults(action=lambda args: _set(args, with_client))

    for name, enabled in (("keypad-enable", True), ("keypad-disable", False)):
        toggle = actions.add_parser(
            name,
            help=f"admin: switch a keypad code {'on' if enabled else 'off'} (it is kept)",
        )
        toggle.add_argument("slot", type=int, help=slot_help)
        toggle.set_defaults(
            action=lambda args, on=enabled: _toggle(args, with_client, on)
        )

    remove = actions.add_parser(
        "keypad-remove", help="admin: delete a keypad code (it opens nothing once done)"
    )
    remove.add_argument("slot", type=int, help=slot_help)
    remove.set_defaults(action=lambda args: _remove(args, with_client))

    listing = actions.add_parser(
        "keypad-codes", help="admin: list the keypad codes as the lock signed them"
    )
    listing.set_defaults(action=lambda args: _list(args, with_client))


async def _set(args: argparse.Namespace, with_client: WithClient) -> int:
    offset = _local_offset_minutes() if args.utc_offset is None else args.utc_offset

    async def work(client: LockClient) -> int:
        now = client.endpoint.lock_time()
        until = int(now + args.valid_hours * _HOUR_MS) if args.valid_hours else 0
        schedule = KeypadSchedule(
            weekly=tuple(args.weekly),
            valid_from_ms=now if until else 0,
            valid_until_ms=until,
            utc_offset_minutes=offset,
        )
        result = await set_keypad_code(
            client,
            args.slot,
            args.name,
            schedule,
            pin=args.pin,
            generate=args.generate,
            enabled=not args.disabled,
        )
        print(
            f"keypad code {args.slot} ({args.name}) set: {describe_schedule(schedule)}"
        )
        if result.generated_pin:
            # Shown this once: the lock keeps only a hash, nothing here keeps it.
            print(f"PIN (shown once): {result.generated_pin}")
        return 0

    return await with_client(args, work)


async def _toggle(
    args: argparse.Namespace, with_client: WithClient, enabled: bool
) -> int:
    async def work(client: LockClient) -> int:
        await set_keypad_code_enabled(client, args.slot, enabled)
        print(f"keypad code {args.slot} {'enabled' if enabled else 'disabled'}")
        return 0

    return await with_client(args, work)


async def _remove(args: argparse.Namespace, with_client: WithClient) -> int:
    async def work(client: LockClient) -> int:
        await remove_keypad_code(client, args.slot)
        print(f"keypad code {args.slot} removed")
        return 0

    return await with_client(args, work)


async def _list(args: argparse.Namespace, with_client: WithClient) -> int:
    async def work(client: LockClient) -> int:
        listed = await list_keypad_codes(client)
        lockout = (
            f"; locked out until {_local(listed.locked_out_until_ms, 0)} UTC"
            if listed.locked_out_until_ms
            else ""
        )
        print(f"wrong PINs so far: {listed.wrong_attempts}{lockout}")
        for code in listed.codes:
            used = (
                _local(code.last_used_ms, code.schedule.utc_offset_minutes)
                if code.last_used_ms
                else "never"
            )
            print(
                f"{code.slot:2}  {'on ' if code.enabled else 'off'}  {code.name}: "
                f"{describe_schedule(code.schedule)}; last used {used}; "
                f"refused outside its schedule {code.refused_outside_schedule}"
            )
        return 0

    return await with_client(args, work)
