"""Decoders for every section 9 payload, returning plain dictionaries.

Field names are those of the section 9 table; enumerations stay numbers,
byte strings become lower-case hex, ``battery_percent`` 255 becomes None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .keys import read_bundle, read_signed_prekey
from .wire import (
    BOLT_STATES,
    DOOR_STATES,
    EVENT_SOURCES,
    EVENT_TYPES,
    FIRMWARE_SLOTS,
    JOIN_METHODS,
    KINDS,
    MALFORMED,
    PIN_CHOICES,
    RESULT_CODES,
    ROLES,
    UPDATE_OUTCOMES,
    UPDATE_STATES,
    Reader,
    fail,
)

type Fields = dict[str, Any]

GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
MAX_AUTO_RELOCK_SECONDS = 3600
BATTERY_UNKNOWN = 255
KEYPAD_SLOTS = 16
MAX_WEEKLY_SLOTS = 4
ALL_DAYS = 0x7F
MINUTES_PER_DAY = 1440
UTC_OFFSET_SHIFT = 720
MAX_UTC_OFFSET_MINUTES = 840
PIN_DIGITS = range(6, 13)
PIN_TYPED = 1


def _status(r: Reader) -> Fields:
    bolt = r.enum(1, BOLT_STATES)
    door = r.enum(1, DOOR_STATES)
    battery = r.u8()
    if battery > 100 and battery != BATTERY_UNKNOWN:
        raise fail(MALFORMED, "battery above 100")
    return {
        "bolt_state": bolt,
        "door_state": door,
        "battery_percent": None if battery == BATTERY_UNKNOWN else battery,
        "firmware_version": r.str8(),
        "has_latch": r.boolean(),
        "auto_relock_seconds": r.u16(),
    }


def _empty(_r: Reader) -> Fields:
    return {}


def _command_result(r: Reader) -> Fields:
    result = r.enum(1, RESULT_CODES)
    reason = r.str8()
    return {
        "result": result,
        "reason": reason,
        "status": _status(r),
        "lock_time_ms": r.u64(),
        "sender_high_water": r.u64(),
    }


def _event(r: Reader) -> Fields:
    return {
        "event": r.enum(1, EVENT_TYPES),
        "source": r.enum(1, EVENT_SOURCES),
        "status": _status(r),
        "lock_time_ms": r.u64(),
        "controller_id": r.take(16).hex(),
        "controller_name": r.str8(),
    }


def _heartbeat(r: Reader) -> Fields:
    return {"status": _status(r), "lock_time_ms": r.u64(), "uptime_s": r.u32()}


def _controller_add(r: Reader) -> Fields:
    return {
        "bundle": read_bundle(r),
        "name": r.str8(),
        "role": r.enum(1, ROLES),
        "valid_from_ms": r.u64(),
        "valid_until_ms": r.u64(),
    }


def _controller_id(r: Reader) -> Fields:
    return {"controller_id": r.take(16).hex()}


def _summary(r: Reader) -> Fields:
    return {
        "controller_id": r.take(16).hex(),
        "name": r.str8(),
        "role": r.enum(1, ROLES),
        "revoked": r.boolean(),
        "valid_from_ms": r.u64(),
        "valid_until_ms": r.u64(),
    }


def _controller_list_chunk(r: Reader) -> Fields:
    index, total = r.u16(), r.u16()
    if index >= total:
        raise fail(MALFORMED, "chunk index not below total")
    return {
        "index": index,
        "total": total,
        "entries": [_summary(r) for _ in range(r.u8())],
    }


def _scalar(r: Reader) -> str:
    raw = r.take(32)
    if int.from_bytes(raw, "little") >= GROUP_ORDER:
        raise fail(MALFORMED, "w0 or w1 is not a canonical scalar")
    return raw.hex()


def _invitation_create(r: Reader) -> Fields:
    invitation_id = r.take(16).hex()
    discriminator = r.u8()
    if discriminator >= 64:
        raise fail(MALFORMED, "discriminator above 63")
    w0, w1 = _scalar(r), _scalar(r)
    return {
        "invitation_id": invitation_id,
        "secret": {"discriminator": discriminator, "prover": {"w0": w0, "w1": w1}},
        "role": r.enum(1, ROLES),
        "valid_from_ms": r.u64(),
        "valid_until_ms": r.u64(),
        "expires_at_ms": r.u64(),
    }


def _invitation_id(r: Reader) -> Fields:
    return {"invitation_id": r.take(16).hex()}


def _controller_joined(r: Reader) -> Fields:
    return {
        "controller": _summary(r),
        "method": r.enum(1, JOIN_METHODS),
        "invited_by": r.take(16).hex(),
        "invited_by_name": r.str8(),
        "lock_time_ms": r.u64(),
    }


def _key_rotation(r: Reader) -> Fields:
    return {"prekey": read_signed_prekey(r)}


def _time_sync(r: Reader) -> Fields:
    return {"controller_time_ms": r.u64(), "set_lock_clock": r.boolean()}


def _settings(r: Reader) -> Fields:
    seconds = r.u16()
    if seconds > MAX_AUTO_RELOCK_SECONDS:
        raise fail(MALFORMED, "auto-relock above 3600 s")
    return {"auto_relock_seconds": seconds}


def _audit_request(r: Reader) -> Fields:
    return {"since_index": r.u32(), "max_entries": r.u16()}


def audit_entry(r: Reader) -> Fields:
    """Read one audit entry (also what the audit chain hashes)."""
    return {
        "index": r.u32(),
        "time_ms": r.u64(),
        "kind": r.enum(2, KINDS),
        "source": r.enum(1, EVENT_SOURCES),
        "result": r.enum(1, RESULT_CODES),
        "controller_id": r.take(16).hex(),
    }


def _audit_chunk(r: Reader) -> Fields:
    final = r.boolean()
    previous, head = r.take(32).hex(), r.take(32).hex()
    return {
        "final": final,
        "previous_hash": previous,
        "head_hash": head,
        "entries": [audit_entry(r) for _ in range(r.u8())],
    }


def _firmware_chunk(r: Reader) -> Fields:
    transfer_id, offset, total = r.take(16).hex(), r.u32(), r.u32()
    data = r.bytes16()
    if offset + len(data) > total:
        raise fail(MALFORMED, "chunk beyond the total size")
    return {
        "transfer_id": transfer_id,
        "offset": offset,
        "total_size": total,
        "data": data.hex(),
    }


def _transfer_id(r: Reader) -> Fields:
    return {"transfer_id": r.take(16).hex()}


def _firmware_status(r: Reader) -> Fields:
    out: Fields = {
        "result": r.enum(1, RESULT_CODES),
        "reason": r.str8(),
        "state": r.enum(1, UPDATE_STATES),
        "transfer_id": r.take(16).hex(),
        "received": r.u32(),
        "total": r.u32(),
    }
    if out["received"] > out["total"]:
        raise fail(MALFORMED, "received beyond total")
    out |= {
        "pending_version": r.str8(),
        "running_version": r.str8(),
        "running_slot": r.enum(1, FIRMWARE_SLOTS),
        "security_version": r.u32(),
        "last_outcome": r.enum(1, UPDATE_OUTCOMES),
        "last_error": r.str8(),
        "lock_time_ms": r.u64(),
    }
    return out


def _keypad_slot(r: Reader) -> int:
    slot = r.u8()
    if slot >= KEYPAD_SLOTS:
        raise fail(MALFORMED, "keypad slot above 15")
    return slot


def _check_pin(pin: str) -> None:
    if not (pin.isascii() and pin.isdigit() and len(pin) in PIN_DIGITS):
        raise fail(MALFORMED, "a PIN is 6-12 ASCII digits")


def _weekly_slot(r: Reader) -> Fields:
    day_mask, start, end = r.u8(), r.u16(), r.u16()
    if not 0 < day_mask <= ALL_DAYS:
        raise fail(MALFORMED, "day mask without a day or with bit 7")
    if not start < end <= MINUTES_PER_DAY:
        raise fail(MALFORMED, "weekly slot not start < end <= 1440")
    return {"day_mask": day_mask, "start_minute": start, "end_minute": end}


def _keypad_schedule(r: Reader) -> Fields:
    count = r.u8()
    if count > MAX_WEEKLY_SLOTS:
        raise fail(MALFORMED, "more than 4 weekly slots")
    weekly = [_weekly_slot(r) for _ in range(count)]
    valid_from, valid_until = r.u64(), r.u64()
    if valid_until and valid_until <= valid_from:
        raise fail(MALFORMED, "window ends before it starts")
    offset = r.u16() - UTC_OFFSET_SHIFT
    if offset > MAX_UTC_OFFSET_MINUTES:
        raise fail(MALFORMED, "UTC offset above +14:00")
    return {
        "weekly": weekly,
        "valid_from_ms": valid_from,
        "valid_until_ms": valid_until,
        "utc_offset_minutes": offset,
    }


def _keypad_code_set(r: Reader) -> Fields:
    slot, name = _keypad_slot(r), r.str8()
    pin_choice, pin = r.enum(1, PIN_CHOICES), r.str8()
    if pin_choice == PIN_TYPED:
        _check_pin(pin)
    elif pin:
        raise fail(MALFORMED, "a PIN travels only when typed")
    return {
        "slot": slot,
        "name": name,
        "pin_choice": pin_choice,
        "pin": pin,
        "schedule": _keypad_schedule(r),
        "enabled": r.boolean(),
    }


def _keypad_code_remove(r: Reader) -> Fields:
    return {"slot": _keypad_slot(r)}


def _keypad_code(r: Reader) -> Fields:
    return {
        "slot": _keypad_slot(r),
        "name": r.str8(),
        "schedule": _keypad_schedule(r),
        "enabled": r.boolean(),
        "last_used_ms": r.u64(),
        "refused_outside_schedule": r.u16(),
    }


def _keypad_code_list_chunk(r: Reader) -> Fields:
    index, total = r.u16(), r.u16()
    if index >= total:
        raise fail(MALFORMED, "chunk index not below total")
    return {
        "index": index,
        "total": total,
        "wrong_attempts": r.u32(),
        "locked_out_until_ms": r.u64(),
        "entries": [_keypad_code(r) for _ in range(r.u8())],
    }


def _keypad_code_set_result(r: Reader) -> Fields:
    slot, lock_time_ms, pin = _keypad_slot(r), r.u64(), r.str8()
    if pin:
        _check_pin(pin)
    return {"slot": slot, "lock_time_ms": lock_time_ms, "generated_pin": pin}


DECODERS: dict[str, Callable[[Reader], Fields]] = {
    "LOCK": _empty,
    "UNLOCK": _empty,
    "OPEN": _empty,
    "STATUS_REQUEST": _empty,
    "COMMAND_RESULT": _command_result,
    "EVENT": _event,
    "HEARTBEAT": _heartbeat,
    "CONTROLLER_ADD": _controller_add,
    "CONTROLLER_REMOVE": _controller_id,
    "CONTROLLER_LIST": _empty,
    "CONTROLLER_LIST_CHUNK": _controller_list_chunk,
    "INVITATION_CREATE": _invitation_create,
    "INVITATION_REVOKE": _invitation_id,
    "CONTROLLER_JOINED": _controller_joined,
    "KEY_ROTATION": _key_rotation,
    "TIME_SYNC": _time_sync,
    "SETTINGS": _settings,
    "AUDIT_LOG_REQUEST": _audit_request,
    "AUDIT_LOG_CHUNK": _audit_chunk,
    "FIRMWARE_CHUNK": _firmware_chunk,
    "FIRMWARE_OFFER": _firmware_chunk,
    "FIRMWARE_STATUS_REQUEST": _empty,
    "FIRMWARE_INSTALL": _transfer_id,
    "FIRMWARE_STATUS": _firmware_status,
    "KEYPAD_CODE_SET": _keypad_code_set,
    "KEYPAD_CODE_REMOVE": _keypad_code_remove,
    "KEYPAD_CODE_LIST": _empty,
    "KEYPAD_CODE_LIST_CHUNK": _keypad_code_list_chunk,
    "KEYPAD_CODE_SET_RESULT": _keypad_code_set_result,
}


def decode_payload(kind: str, payload: bytes) -> Fields:
    """Decode the payload of ``kind``; every defect and trailing byte is ``malformed``."""
    reader = Reader(payload)
    fields = DECODERS[kind](reader)
    reader.end()
    return fields
