"""Keypad codes from Home Assistant, against the real simulated lock.

A code set here opens the simulated keypad, names itself in the activity
event and `changed_by`, and opens nothing outside its schedule or once
removed.  The generated PIN appears in the action's response only: never in
Home Assistant's stored data, diagnostics or logs.
"""

from __future__ import annotations

from datetime import timedelta
import json
import logging
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.secure_lock.const import DOMAIN
from custom_components.secure_lock.keypad_services import schedule_from
from custom_components.secure_lock.protocol.keypad_codes import WEEKDAYS
from device_sim.keypad import LOCKOUT_EVENT_NAME, KeypadOutcome

from .conftest import SimLock
from .test_entities import ActivityLog

ACTIVITY = "event.front_door_activity"


async def _call(
    hass: HomeAssistant, service: str, entry: MockConfigEntry, **data: object
) -> dict[str, Any] | None:
    response = await hass.services.async_call(
        DOMAIN,
        service,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=service != "remove_keypad_code",
    )
    return dict(response) if response is not None else None


async def test_a_code_set_here_opens_the_keypad_and_names_itself(
    hass: HomeAssistant,
    *,
    hass_client: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Generated, shown once, opens the keypad; never stored, logged or diagnosed."""
    caplog.set_level(logging.DEBUG)
    log = ActivityLog(hass)
    now = dt_util.now()
    response = await _call(
        hass,
        "set_keypad_code",
        init_integration,
        slot=2,
        name="Guest Anna",
        generate_pin=True,
        valid_from=(now - timedelta(hours=1)).isoformat(),
        valid_until=(now + timedelta(days=2)).isoformat(),
    )
    assert response is not None
    pin = response["pin"]
    assert len(pin) == 8
    assert sim_lock.device.type_on_keypad(pin) is KeypadOutcome.UNLOCKED
    await log.expect(("unlocked", "keypad", "Guest Anna"))
    lock_state = hass.states.get("lock.front_door")
    assert lock_state is not None
    assert lock_state.attributes["changed_by"] == "Guest Anna"

    listing = await _call(hass, "list_keypad_codes", init_integration)
    assert listing is not None
    (code,) = listing["codes"]
    assert code["name"] == "Guest Anna"
    assert code["slot"] == 2
    assert code["enabled"] is True
    assert code["last_used"] is not None
    assert code["weekly"] == []
    assert "pin" not in code
    assert listing["wrong_attempts"] == 0
    assert listing["locked_out_until"] is None

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )
    await init_integration.runtime_data.lock.async_shutdown()
    for place, text in (
        ("stored data", json.dumps(hass_storage)),
        ("entry data", json.dumps(dict(init_integration.data))),
        ("diagnostics", json.dumps(diagnostics)),
        ("logs", caplog.text),
        ("listing", json.dumps(listing)),
        (
            "states",
            json.dumps([s.as_dict() for s in hass.states.async_all()], default=str),
        ),
    ):
        # As its own number: timestamps and ids may hold the 8 digits by chance.
        assert not re.search(rf"(?<![0-9]){pin}(?![0-9])", text), place
    log.stop()


async def test_outside_its_schedule_a_code_opens_nothing(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """A stay that ended, or a weekly slot that is not now: refused and counted."""
    now = dt_util.now()
    ended = await _call(
        hass,
        "set_keypad_code",
        init_integration,
        slot=0,
        name="Last week's guest",
        generate_pin=True,
        valid_from=(now - timedelta(days=7)).isoformat(),
        valid_until=(now - timedelta(days=1)).isoformat(),
    )
    assert ended is not None
    not_today = list(WEEKDAYS)
    del not_today[now.weekday()]
    weekly = await _call(
        hass,
        "set_keypad_code",
        init_integration,
        slot=1,
        name="Cleaner",
        generate_pin=True,
        weekly=[{"days": not_today, "start": "00:00", "end": "00:00"}],
    )
    assert weekly is not None
    for pin in (ended["pin"], weekly["pin"]):
        assert sim_lock.device.type_on_keypad(pin) is KeypadOutcome.OUTSIDE_SCHEDULE
    assert sim_lock.device.mechanism.status.bolt.value == "locked"
    listing = await _call(hass, "list_keypad_codes", init_integration)
    assert listing is not None
    assert [c["refused_outside_schedule"] for c in listing["codes"]] == [1, 1]
    assert listing["codes"][1]["weekly"] == [
        {"days": not_today, "start": "00:00", "end": "24:00"}
    ]


async def test_disable_enable_remove(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """Without a name the action only switches a code; a removed code opens nothing."""
    made = await _call(
        hass,
        "set_keypad_code",
        init_integration,
        slot=4,
        name="Dog sitter",
        generate_pin=True,
    )
    assert made is not None
    pin = made["pin"]
    assert await _call(
        hass, "set_keypad_code", init_integration, slot=4, enabled=False
    ) == {"slot": 4}
    assert sim_lock.device.type_on_keypad(pin) is KeypadOutcome.DISABLED
    await _call(hass, "set_keypad_code", init_integration, slot=4, enabled=True)
    # A change without generate_pin keeps the PIN and says nothing about it.
    assert await _call(
        hass, "set_keypad_code", init_integration, slot=4, name="Dog sitter (Sat)"
    ) == {"slot": 4}
    assert sim_lock.device.type_on_keypad(pin) is KeypadOutcome.UNLOCKED
    await _call(hass, "remove_keypad_code", init_integration, slot=4)
    assert sim_lock.device.type_on_keypad(pin) is KeypadOutcome.WRONG_CODE
    with pytest.raises(HomeAssistantError, match="no keypad code in this slot"):
        await _call(hass, "set_keypad_code", init_integration, slot=4, enabled=False)
    with pytest.raises(HomeAssistantError, match="refused: not_found"):
        await _call(hass, "remove_keypad_code", init_integration, slot=4)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"slot": 0, "generate_pin": True}, "Give the code a name"),
        ({"slot": 0, "weekly": []}, "Give the code a name"),
        (
            {
                "slot": 0,
                "name": "Backwards",
                "generate_pin": True,
                "valid_from": "2030-01-02T00:00:00+00:00",
                "valid_until": "2030-01-01T00:00:00+00:00",
            },
            "the window must end after it starts",
        ),
        (
            {"slot": 0, "name": "☂" * 22, "generate_pin": True},
            "the name is longer than 64 bytes",
        ),
        (
            {
                "slot": 0,
                "name": "Night",
                "generate_pin": True,
                "weekly": [{"days": ["mon"], "start": "22:00", "end": "06:00"}],
            },
            "a slot runs from a start minute to a later end minute",
        ),
    ],
)
async def test_bad_input_is_refused_before_sending(
    hass: HomeAssistant,
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
    data: dict[str, object],
    message: str,
) -> None:
    """What the lock could not store is refused in Home Assistant, nothing sent."""
    counter = init_integration.runtime_data.lock.paired_lock.last_sent_counter
    with pytest.raises(ServiceValidationError, match=message):
        await _call(hass, "set_keypad_code", init_integration, **data)
    assert sim_lock.device.state.keypad.codes == {}
    assert init_integration.runtime_data.lock.paired_lock.last_sent_counter == counter


async def test_a_keypad_lockout_is_a_tamper_event_from_the_keypad(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """Five wrong PINs: the activity entity fires tamper with source keypad."""
    log = ActivityLog(hass)
    for _ in range(5):
        sim_lock.device.type_on_keypad("00000000")
    await log.expect(("tamper", "keypad", LOCKOUT_EVENT_NAME))
    listing = await _call(hass, "list_keypad_codes", init_integration)
    assert listing is not None
    assert listing["wrong_attempts"] == 5
    assert listing["locked_out_until"] is not None
    log.stop()


def test_the_schedule_is_in_home_assistants_time_zone(hass: HomeAssistant) -> None:
    """The offset sent is the one Home Assistant's zone has now (UTC: 0)."""
    assert schedule_from({}).utc_offset_minutes == int(
        dt_util.now().utcoffset().total_seconds() // 60  # type: ignore[union-attr]
    )
