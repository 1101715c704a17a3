"""Configure → Set a keypad code: a typed PIN goes to the lock and nowhere else.

Actions take no PIN (the recorder keeps their data); the options form does.
"""

from __future__ import annotations

from datetime import timedelta
import json
import logging
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.secure_lock.protocol.keypad_codes import WEEKDAYS, WeeklySlot
from device_sim.keypad import KeypadOutcome

from .conftest import SimLock

PIN = "13579246"


async def _open_form(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert "keypad_code" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "keypad_code"}
    )
    assert result["step_id"] == "keypad_code"
    flow_id: str = result["flow_id"]
    return flow_id


async def _submit(hass: HomeAssistant, flow_id: str, **data: object) -> Any:
    return await hass.config_entries.options.async_configure(flow_id, data)


async def test_a_typed_pin_reaches_the_lock_and_nothing_else(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The code opens the keypad on its days; the PIN is in no log, store or entry."""
    caplog.set_level(logging.DEBUG)
    flow_id = await _open_form(hass, init_integration)
    result = await _submit(
        hass,
        flow_id,
        slot=3,
        name="Cleaner",
        pin=PIN,
        days=list(WEEKDAYS),
        start="00:00:00",
        end="00:00:00",
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "keypad_code_set"
    assert result["description_placeholders"] == {"name": "Cleaner"}
    code = sim_lock.device.state.keypad.codes[3]
    assert code.schedule.weekly == (WeeklySlot(0x7F, 0, 1440),)
    assert sim_lock.device.type_on_keypad(PIN) is KeypadOutcome.UNLOCKED

    await init_integration.runtime_data.lock.async_shutdown()
    alone = re.compile(rf"(?<![0-9]){PIN}(?![0-9])")
    for place, text in (
        ("stored data", json.dumps(hass_storage)),
        (
            "entry",
            json.dumps([dict(init_integration.data), dict(init_integration.options)]),
        ),
        ("logs", caplog.text),
    ):
        assert not alone.search(text), place


async def test_without_a_pin_the_lock_draws_one_shown_once(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """The drawn PIN is on the next page only; a window that ended opens nothing."""
    flow_id = await _open_form(hass, init_integration)
    now = dt_util.now()
    result = await _submit(
        hass,
        flow_id,
        slot=5,
        name="Last week's guest",
        valid_from=(now - timedelta(days=7)).strftime("%Y-%m-%d %H:%M:%S"),
        valid_until=(now - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S"),
    )
    assert result["step_id"] == "keypad_code_set"
    pin = result["description_placeholders"]["pin"]
    assert len(pin) == 8
    assert sim_lock.device.type_on_keypad(pin) is KeypadOutcome.OUTSIDE_SCHEDULE
    result = await _submit(hass, flow_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "keypad_code_shown"
    assert init_integration.options == {}


async def test_mistakes_are_shown_on_the_form(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """A short PIN, an inverted slot or window, a PIN in use: the form says which."""
    flow_id = await _open_form(hass, init_integration)
    result = await _submit(hass, flow_id, slot=0, name="Short", pin="123")
    assert result["errors"] == {"pin": "invalid_pin"}
    # The PIN typed is not offered back in the form.
    suggested = {
        str(key): key.description.get("suggested_value")
        for key in result["data_schema"].schema
        if key.description
    }
    assert "pin" not in suggested
    assert suggested["name"] == "Short"
    result = await _submit(hass, flow_id, slot=0, name="☂" * 22, pin=PIN)
    assert result["errors"] == {"name": "name_too_long"}
    for schedule in (
        {"days": ["mon"], "start": "12:00:00", "end": "08:00:00"},
        {"valid_from": "2030-01-02 00:00:00", "valid_until": "2030-01-01 00:00:00"},
    ):
        result = await _submit(hass, flow_id, slot=0, name="Bad", pin=PIN, **schedule)
        assert result["errors"] == {"base": "invalid_keypad_schedule"}
    result = await _submit(hass, flow_id, slot=0, name="First", pin=PIN)
    assert result["type"] is FlowResultType.ABORT
    flow_id = await _open_form(hass, init_integration)
    result = await _submit(hass, flow_id, slot=1, name="Same PIN", pin=PIN)
    assert result["errors"] == {"base": "keypad_code_failed"}
    assert set(sim_lock.device.state.keypad.codes) == {0}


async def test_an_unloaded_entry_cannot_set_codes(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The lock is not connected: the form says so and nothing is sent."""
    flow_id = await _open_form(hass, init_integration)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    result = await _submit(hass, flow_id, slot=0, name="Nobody", pin=PIN)
    assert result["errors"] == {"base": "cannot_connect"}
