"""Keypad codes on the simulated lock: managed by an admin, checked only by the lock.

Each test names the property of issue 18 it checks: a code outside its
schedule opens nothing, a removed code opens nothing once the removal is
confirmed, the lockout survives a power cut and is a signed TAMPER event, no
PIN is stored or sent back, and only admins manage codes.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from custom_components.secure_lock.controller import (
    CommandRefused,
    CommandTimeout,
    LockClient,
    LockReport,
)
from custom_components.secure_lock.controller.keypad import (
    KeypadCodeNotFound,
    list_keypad_codes,
    remove_keypad_code,
    set_keypad_code,
    set_keypad_code_enabled,
)
from custom_components.secure_lock.protocol import (
    ErrorCode,
    EventSource,
    EventType,
    MessageKind,
    ProtocolError,
    ResultCode,
    Role,
)
from custom_components.secure_lock.protocol.keypad_codes import (
    ALL_DAYS,
    MINUTES_PER_DAY,
    KeypadSchedule,
    PinChoice,
    WeeklySlot,
)
from custom_components.secure_lock.protocol.messages import (
    Event,
    KeypadCodeListRequest,
    KeypadCodeSet,
)
from device_sim.device_state import DeviceState
from device_sim.keypad import LOCKOUT_EVENT_NAME, KeypadOutcome
from device_sim.keypad_book import MAX_LOCKOUT_MS, lockout_ms
from device_sim.mechanism import BoltState, DoorState, MechanismRefused, Source
from device_sim.storage import SUFFIX

from .lock_rig import Rig

PIN = "246810"
HOUR_MS = 3_600_000
ALWAYS = KeypadSchedule()


def _events(updates: list[LockReport]) -> list[Event]:
    return [u.event for u in updates if u.event is not None]


async def _relock(rig: Rig) -> None:
    rig.device.press_keypad_lock_key()
    await asyncio.sleep(0)
    assert rig.device.mechanism.status.bolt is BoltState.LOCKED


async def test_a_code_opens_only_inside_its_schedule_and_names_itself(
    rig: Rig,
) -> None:
    """Before its window, or outside its weekly slot, a code opens nothing (counted)."""
    updates: list[LockReport] = []
    admin = await rig.pair_admin(updates)
    now = rig.now_ms()
    stay = KeypadSchedule(valid_from_ms=now + HOUR_MS, valid_until_ms=now + 3 * HOUR_MS)
    await set_keypad_code(admin, 0, "Guest Anna", stay, pin=PIN)

    assert rig.device.type_on_keypad(PIN) is KeypadOutcome.OUTSIDE_SCHEDULE
    assert rig.device.mechanism.status.bolt is BoltState.LOCKED

    rig.scheduler.advance(HOUR_MS / 1000)
    assert rig.device.type_on_keypad(PIN) is KeypadOutcome.UNLOCKED
    await asyncio.sleep(0)
    assert rig.device.mechanism.status.bolt is BoltState.UNLOCKED
    unlocked = _events(updates)[-1]
    assert (unlocked.source, unlocked.controller_name) == (
        EventSource.KEYPAD,
        "Guest Anna",
    )
    await _relock(rig)
    assert _events(updates)[-1].controller_name == ""  # the lock key is no code

    listed = (await list_keypad_codes(admin)).get(0)
    assert listed is not None
    assert listed.refused_outside_schedule == 1
    assert listed.last_used_ms == rig.now_ms()

    rig.scheduler.advance(2 * HOUR_MS / 1000)  # the stay is over
    assert rig.device.type_on_keypad(PIN) is KeypadOutcome.OUTSIDE_SCHEDULE

    # A weekly slot that is not now (today, but the minutes after now).
    local_minute = rig.now_ms() // 60_000 % MINUTES_PER_DAY
    later_today = (
        WeeklySlot(ALL_DAYS, local_minute + 1, local_minute + 2)
        if local_minute + 2 <= MINUTES_PER_DAY
        else WeeklySlot(ALL_DAYS, 0, local_minute)
    )
    weekly = KeypadSchedule(weekly=(later_today,))
    await set_keypad_code(admin, 0, "Cleaner", weekly)
    assert rig.device.type_on_keypad(PIN) is KeypadOutcome.OUTSIDE_SCHEDULE
    assert rig.device.mechanism.status.bolt is BoltState.LOCKED
    await admin.close()


async def test_a_removed_code_opens_nothing_once_removal_is_confirmed(
    rig: Rig,
) -> None:
    """The removal is durable before the lock confirms it: a reboot does not bring it back."""
    admin = await rig.pair()
    await set_keypad_code(admin, 3, "Former cleaner", ALWAYS, pin=PIN)
    result = await remove_keypad_code(admin, 3)
    assert result.result is ResultCode.OK
    assert rig.device.type_on_keypad(PIN) is KeypadOutcome.WRONG_CODE
    assert rig.reboot().type_on_keypad(PIN) is KeypadOutcome.WRONG_CODE
    assert rig.device.mechanism.status.bolt is BoltState.LOCKED
    assert (await list_keypad_codes(admin)).codes == ()
    with pytest.raises(CommandRefused) as refused:
        await remove_keypad_code(admin, 3)
    assert refused.value.code is ResultCode.NOT_FOUND
    await admin.close()


async def test_lockout_grows_survives_a_power_cut_and_is_a_signed_tamper_event(
    rig: Rig,
) -> None:
    """Five wrong PINs lock the keypad for a minute, then two, across a reboot."""
    updates: list[LockReport] = []
    admin = await rig.pair_admin(updates)
    await set_keypad_code(admin, 0, "Owner", ALWAYS, pin=PIN)

    for _ in range(4):
        assert rig.device.type_on_keypad("000000") is KeypadOutcome.WRONG_CODE
    assert not [e for e in _events(updates) if e.event is EventType.TAMPER]
    assert rig.device.type_on_keypad("000000") is KeypadOutcome.WRONG_CODE
    await asyncio.sleep(0)
    (tamper,) = [e for e in _events(updates) if e.event is EventType.TAMPER]
    assert (tamper.source, tamper.controller_name) == (
        EventSource.KEYPAD,
        LOCKOUT_EVENT_NAME,
    )

    # The power is cut the moment after: the lockout was written first.
    rig.power_off()
    device = rig.boot()
    assert device.type_on_keypad(PIN) is KeypadOutcome.LOCKED_OUT
    assert device.mechanism.status.bolt is BoltState.LOCKED
    listed = await list_keypad_codes(admin)
    assert listed.wrong_attempts == 5
    assert listed.locked_out_until_ms > rig.now_ms()

    rig.scheduler.advance(60)
    assert device.type_on_keypad("111111") is KeypadOutcome.WRONG_CODE
    rig.scheduler.advance(60)  # the second lockout lasts two minutes
    assert device.type_on_keypad(PIN) is KeypadOutcome.LOCKED_OUT
    rig.scheduler.advance(60)
    assert device.type_on_keypad(PIN) is KeypadOutcome.UNLOCKED
    assert device.state.keypad.failures == 0
    assert (await list_keypad_codes(admin)).locked_out_until_ms == 0
    await admin.close()


def test_lockout_doubles_up_to_an_hour() -> None:
    """1, 2, 4, ... minutes from the fifth wrong PIN in a row, never above an hour."""
    assert [lockout_ms(n) // 60_000 for n in range(1, 12)] == [
        0,
        0,
        0,
        0,
        1,
        2,
        4,
        8,
        16,
        32,
        60,
    ]
    assert lockout_ms(10_000) == MAX_LOCKOUT_MS


async def test_a_generated_pin_is_answered_once_and_stored_only_as_a_hash(
    rig: Rig,
) -> None:
    """The lock draws the PIN, answers it to the admin, and keeps only a keyed hash."""
    admin = await rig.pair()
    typed = await set_keypad_code(admin, 1, "Typed", ALWAYS, pin=PIN)
    assert typed.generated_pin == ""
    result = await set_keypad_code(admin, 2, "Guest", ALWAYS, generate=True)
    generated = result.generated_pin
    assert len(generated) == 8
    assert generated.isdigit()
    assert rig.device.type_on_keypad(generated) is KeypadOutcome.UNLOCKED

    listing = repr(await list_keypad_codes(admin))
    for pin in (PIN, generated):
        assert pin not in listing
        for record in rig.flash.glob(f"*{SUFFIX}"):
            blob = record.read_bytes()
            assert pin.encode() not in blob
            assert pin.encode().hex().encode() not in blob
        assert pin not in json.dumps(rig.device.describe())
    assert rig.device.describe()["keypad"] == {
        "codes": {"1": "Typed", "2": "Guest"},
        "wrong_attempts": 0,
        "locked_out": False,
    }
    assert rig.device.state.keypad.codes[1].digest.hex() not in json.dumps(
        rig.device.describe()
    )
    # What the relay carries: every frame either way, sealed.
    captured = rig.hub.sent_by_lock + [f for link in rig.hub.links for f in link.sent]
    assert len(captured) > 6
    for frame in captured:
        for pin in (PIN, generated):
            assert pin.encode() not in frame
    # Even unsealed, the state holds a hash, not the PIN.
    state = rig.device.state.to_bytes()
    assert PIN.encode() not in state
    assert generated.encode() not in state
    assert "digest" in repr(rig.device.state.keypad.to_json())
    assert PIN not in repr(rig.device.state.keypad.codes[1])
    await admin.close()


async def test_change_disable_enable_and_refusals(rig: Rig) -> None:
    """A change keeps the PIN unless told; disabled codes open nothing; clashes refused."""
    admin = await rig.pair()
    await set_keypad_code(admin, 0, "Cleaner", ALWAYS, pin=PIN)
    await set_keypad_code_enabled(admin, 0, enabled=False)
    assert rig.device.type_on_keypad(PIN) is KeypadOutcome.DISABLED
    await set_keypad_code_enabled(admin, 0, enabled=True)
    assert rig.device.type_on_keypad(PIN) is KeypadOutcome.UNLOCKED
    await set_keypad_code(admin, 0, "Cleaner (Tue)", ALWAYS, pin="135790")
    assert rig.device.type_on_keypad(PIN) is KeypadOutcome.WRONG_CODE

    with pytest.raises(CommandRefused) as clash:
        await set_keypad_code(admin, 1, "Other", ALWAYS, pin="135790")
    assert clash.value.code is ResultCode.INVALID_REQUEST
    with pytest.raises(CommandRefused) as no_pin:
        await set_keypad_code(admin, 5, "New without PIN", ALWAYS)
    assert no_pin.value.code is ResultCode.NOT_FOUND
    with pytest.raises(KeypadCodeNotFound):
        await set_keypad_code_enabled(admin, 9, enabled=False)
    with pytest.raises(ValueError):
        await set_keypad_code(admin, 0, "x", ALWAYS, pin=PIN, generate=True)
    await admin.close()


async def test_the_list_is_signed_in_chunks_and_survives_a_reboot(rig: Rig) -> None:
    """Five codes come back in three signed chunks, in slot order, after a reboot too."""
    admin = await rig.pair()
    for slot in (4, 0, 2, 1, 3):
        await set_keypad_code(admin, slot, f"Code {slot}", ALWAYS, pin=f"90000{slot}")
    rig.reboot()
    codes = (await list_keypad_codes(admin)).codes
    assert [code.slot for code in codes] == [0, 1, 2, 3, 4]
    assert rig.device.type_on_keypad("900003") is KeypadOutcome.UNLOCKED
    await admin.close()


async def test_only_admins_manage_codes(rig: Rig) -> None:
    """An operator is refused, signed, and nothing changes on the lock."""
    admin = await rig.pair()
    operator = await rig.pair("Phone", Role.OPERATOR)
    for attempt in (
        set_keypad_code(operator, 0, "Mine", ALWAYS, pin=PIN),
        remove_keypad_code(operator, 0),
        list_keypad_codes(operator),
    ):
        with pytest.raises(CommandRefused) as refused:
            await attempt
        assert refused.value.code is ResultCode.NOT_PERMITTED
    assert rig.device.state.keypad.codes == {}
    for client in (operator, admin):
        await client.close()


async def test_a_right_code_with_a_jammed_bolt_is_refused_by_the_mechanism(
    rig: Rig,
) -> None:
    """The code is right but the bolt cannot move: the caller hears why."""
    admin: LockClient = await rig.pair()
    await set_keypad_code(admin, 0, "Owner", ALWAYS, pin=PIN)
    rig.device.mechanism.set_battery(0)
    with pytest.raises(MechanismRefused):
        rig.device.type_on_keypad(PIN)
    rig.device.set_door(DoorState.OPEN)
    with pytest.raises(MechanismRefused):
        rig.device.press_keypad_lock_key()
    assert rig.device.mechanism.status.last_source is not Source.KEYPAD
    await admin.close()


async def test_factory_reset_forgets_codes_and_lockout(rig: Rig) -> None:
    """After a reset no former code opens and the keypad counters start again."""
    admin = await rig.pair()
    await set_keypad_code(admin, 0, "Owner", ALWAYS, pin=PIN)
    for _ in range(5):
        rig.device.type_on_keypad("000000")
    rig.device.factory_reset()
    assert rig.device.state.keypad.locked_until_ms == 0
    assert rig.device.type_on_keypad(PIN) is KeypadOutcome.WRONG_CODE
    await admin.close()


async def test_in_rollback_lockdown_the_keypad_opens_nothing(
    rig: Rig, tmp_path: Path
) -> None:
    """An old copy of the flash may hold removed codes: in lockdown nothing opens."""
    admin = await rig.pair()
    await set_keypad_code(admin, 0, "Former tenant", ALWAYS, pin=PIN)
    rig.copy_flash(tmp_path / "before")
    await remove_keypad_code(admin, 0)
    rig.power_off()
    rig.write_back(tmp_path / "before")
    device = rig.boot()
    assert device.rollback is not None
    assert device.type_on_keypad(PIN) is KeypadOutcome.LOCKED_OUT
    assert device.mechanism.status.bolt is BoltState.LOCKED
    await admin.close()


def test_a_state_from_before_keypad_codes_loads_with_none() -> None:
    """States saved by earlier versions have no keypad part: no codes, no lockout."""
    saved = json.loads(DeviceState().to_bytes())
    del saved["keypad"]
    state = DeviceState.from_bytes(json.dumps(saved).encode())
    assert state.keypad.codes == {}
    assert state.keypad.failures == 0


async def test_an_answer_that_cannot_be_sealed_is_logged_not_sent(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A list or set answer the endpoint refuses to seal: a warning, nothing sent."""
    admin = await rig.pair()

    def refuse(*_args: object, **_kwargs: object) -> bytes:
        raise ProtocolError(ErrorCode.PAYLOAD_TOO_LARGE, "test")

    monkeypatch.setattr(rig.device.endpoint, "respond", refuse)
    for kind, payload in (
        (MessageKind.KEYPAD_CODE_LIST, KeypadCodeListRequest()),
        (
            MessageKind.KEYPAD_CODE_SET,
            KeypadCodeSet(0, "Guest", PinChoice.GENERATE, ALWAYS),
        ),
    ):
        with pytest.raises(CommandTimeout):
            await admin.request(kind, payload, timeout=0.2)
    assert "Could not seal a keypad list: payload_too_large" in caplog.text
    assert "Could not seal a keypad answer: payload_too_large" in caplog.text
    await admin.close()
