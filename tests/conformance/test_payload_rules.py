"""The verifier's section 9 range rules bite: a vector payload broken in one field is ``malformed``."""

from __future__ import annotations

from collections.abc import Callable
import json

import pytest

from .payloads import decode_payload
from .verifier import VECTORS
from .wire import MALFORMED, VerificationError

type Change = Callable[[bytearray], None]


def _payload(name: str) -> bytes:
    frames = json.loads(VECTORS.read_text())["suites"]["1"]["frames"]
    return bytes.fromhex(frames[name]["payload"])


def _put(offset: int, value: bytes) -> Change:
    def change(raw: bytearray) -> None:
        raw[offset : offset + len(value)] = value

    return change


def _append(raw: bytearray) -> None:
    raw.append(0)


def _window_ends_at_its_start(raw: bytearray) -> None:
    # KEYPAD_CODE_SET "Guest Anna": valid_from_ms at 15, valid_until_ms at 23.
    raw[23:31] = raw[15:23]


def _five_digit_pin(raw: bytearray) -> None:
    # KEYPAD_CODE_SET_RESULT: slot(1) lock_time_ms(8) generated_pin(str8).
    del raw[9:]
    raw += b"\x0512345"


# KEYPAD_CODE_SET "Cleaner": slot 0, name 1-8, pin_choice 9, pin 10-18,
# n 19, slots 20-29 (day_mask, start, end), window 30-45, offset 46, enabled 48.
BROKEN: dict[str, tuple[str, Change]] = {
    "slot 16": ("keypad_code_set_typed", _put(0, b"\x10")),
    "pin_choice 3": ("keypad_code_set_typed", _put(9, b"\x03")),
    "a PIN with pin_choice generate": ("keypad_code_set_typed", _put(9, b"\x02")),
    "a PIN with a letter": ("keypad_code_set_typed", _put(11, b"a")),
    "five weekly slots": ("keypad_code_set_typed", _put(19, b"\x05")),
    "day_mask without a day": ("keypad_code_set_typed", _put(20, b"\x00")),
    "day_mask bit 7": ("keypad_code_set_typed", _put(20, b"\x82")),
    "end_minute at start_minute": ("keypad_code_set_typed", _put(23, b"\x01\xe0")),
    "end_minute 1441": ("keypad_code_set_typed", _put(23, b"\x05\xa1")),
    "offset above +14:00": ("keypad_code_set_typed", _put(46, b"\x06\x19")),
    "enabled 2": ("keypad_code_set_typed", _put(48, b"\x02")),
    "trailing byte": ("keypad_code_set_typed", _append),
    "window ends at its start": ("keypad_code_set_generate", _window_ends_at_its_start),
    "remove slot 16": ("keypad_code_remove", _put(0, b"\x10")),
    "list chunk index 1 of 1": ("keypad_code_list_chunk", _put(0, b"\x00\x01")),
    "generated PIN of 5 digits": ("keypad_code_set_result", _five_digit_pin),
    "event type 9": ("event_report", _put(0, b"\x09")),
}

KIND_OF = {
    "keypad_code_set_typed": "KEYPAD_CODE_SET",
    "keypad_code_set_generate": "KEYPAD_CODE_SET",
    "keypad_code_remove": "KEYPAD_CODE_REMOVE",
    "keypad_code_list_chunk": "KEYPAD_CODE_LIST_CHUNK",
    "keypad_code_set_result": "KEYPAD_CODE_SET_RESULT",
    "event_report": "EVENT",
}


@pytest.mark.parametrize("name", list(KIND_OF))
def test_the_unchanged_payload_decodes(name: str) -> None:
    """The offsets below are those of these payloads."""
    decode_payload(KIND_OF[name], _payload(name))


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_field_is_malformed(case: str) -> None:
    """Each section 9 rule of the keypad payloads, and EventType's registry."""
    name, change = BROKEN[case]
    raw = bytearray(_payload(name))
    change(raw)
    with pytest.raises(VerificationError) as caught:
        decode_payload(KIND_OF[name], bytes(raw))
    assert caught.value.code == MALFORMED
