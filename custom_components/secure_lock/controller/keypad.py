"""An admin's keypad codes on a lock: set, change, disable, remove, list.

The lock is the only place codes live: every answer here is one the lock
signed, so what a controller shows is what the lock holds.  A PIN typed by
the admin travels once, sealed in the request; a PIN the lock generated comes
back once, in the lock's signed answer, and is handed to the caller only.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol.keypad_codes import KeypadSchedule, PinChoice
from ..protocol.messages import (
    CommandResult,
    KeypadCodeListChunk,
    KeypadCodeListRequest,
    KeypadCodeRemove,
    KeypadCodeSet,
    KeypadCodeSetResult,
    KeypadCodeSummary,
    MessageKind,
    ResultCode,
)
from .client import CommandOutcome, LockClient
from .errors import CommandRefused, ControllerError


class KeypadCodeNotFound(ControllerError):
    """The lock's signed list has no code in that slot."""


@dataclass(frozen=True, slots=True)
class KeypadCodes:
    """The lock's signed list of keypad codes and its keypad counters."""

    codes: tuple[KeypadCodeSummary, ...]
    wrong_attempts: int
    locked_out_until_ms: int

    def get(self, slot: int) -> KeypadCodeSummary | None:
        """Return the code in ``slot``, or None."""
        return next((code for code in self.codes if code.slot == slot), None)


def _refused_unless(outcome: CommandOutcome, payload_type: type) -> None:
    last = outcome.messages[-1].payload
    if isinstance(last, CommandResult):
        if last.result is not ResultCode.OK or payload_type is not CommandResult:
            raise CommandRefused(last)


async def set_keypad_code(
    client: LockClient,
    slot: int,
    name: str,
    schedule: KeypadSchedule,
    *,
    pin: str | None = None,
    generate: bool = False,
    enabled: bool = True,
) -> KeypadCodeSetResult:
    """Add or change the code in ``slot`` (admins only).

    ``pin`` sets a PIN, ``generate`` has the lock draw one (returned once in
    the result's ``generated_pin``); with neither the PIN stays as it is.
    """
    if pin is not None and generate:
        raise ValueError("either a PIN or a generated one, not both")
    choice = (
        PinChoice.GENERATE
        if generate
        else PinChoice.KEEP
        if pin is None
        else PinChoice.TYPED
    )
    request = KeypadCodeSet(slot, name, choice, schedule, enabled, pin or "")
    outcome = await client.request(MessageKind.KEYPAD_CODE_SET, request)
    _refused_unless(outcome, KeypadCodeSetResult)
    result = outcome.messages[-1].payload
    assert isinstance(result, KeypadCodeSetResult)
    return result


async def set_keypad_code_enabled(
    client: LockClient, slot: int, enabled: bool
) -> KeypadCodeSetResult:
    """Disable or enable a code, keeping its name, schedule and PIN."""
    code = (await list_keypad_codes(client)).get(slot)
    if code is None:
        raise KeypadCodeNotFound(f"the lock has no keypad code in slot {slot}")
    return await set_keypad_code(
        client, slot, code.name, code.schedule, enabled=enabled
    )


async def remove_keypad_code(client: LockClient, slot: int) -> CommandResult:
    """Delete the code in ``slot``; once this returns it opens nothing."""
    outcome = await client.request(
        MessageKind.KEYPAD_CODE_REMOVE, KeypadCodeRemove(slot)
    )
    _refused_unless(outcome, CommandResult)
    return outcome.result


async def list_keypad_codes(client: LockClient) -> KeypadCodes:
    """Return the codes as the lock signed them (names, schedules, never a PIN)."""
    outcome = await client.request(
        MessageKind.KEYPAD_CODE_LIST, KeypadCodeListRequest()
    )
    _refused_unless(outcome, KeypadCodeListChunk)
    chunks = sorted(
        (
            m.payload
            for m in outcome.messages
            if isinstance(m.payload, KeypadCodeListChunk)
        ),
        key=lambda chunk: chunk.index,
    )
    return KeypadCodes(
        tuple(entry for chunk in chunks for entry in chunk.entries),
        chunks[-1].wrong_attempts,
        chunks[-1].locked_out_until_ms,
    )
