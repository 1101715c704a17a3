"""The lock entity never lies: transitions until the signed answer, truth afterwards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from unittest.mock import patch

from homeassistant.components.lock import LockEntityFeature, LockState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_SUPPORTED_FEATURES,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.secure_lock.const import UNAVAILABLE_AFTER
from device_sim.mechanism import DoorState
from tests.conftest import LOCK_ENTITY
from tests.sim.helpers import wait_until

from .conftest import SimLock, answers_within


async def _call(hass: HomeAssistant, service: str) -> None:
    await hass.services.async_call(
        "lock", service, {ATTR_ENTITY_ID: LOCK_ENTITY}, blocking=True
    )


def _state(hass: HomeAssistant) -> str:
    state = hass.states.get(LOCK_ENTITY)
    assert state is not None
    return state.state


@pytest.mark.usefixtures("init_integration")
async def test_commands_show_transition_then_signed_result(
    hass: HomeAssistant, sim_lock: SimLock, recorded: list[str]
) -> None:
    """Unlock, open, lock: each call returns after the lock confirmed, never before."""
    assert _state(hass) == LockState.LOCKED
    attributes = hass.states.get(LOCK_ENTITY).attributes  # type: ignore[union-attr]
    assert attributes[ATTR_SUPPORTED_FEATURES] == LockEntityFeature.OPEN

    await _call(hass, "unlock")
    assert _state(hass) == LockState.UNLOCKED
    assert sim_lock.device.mechanism.status.bolt.name == "UNLOCKED"
    await _call(hass, "open")
    assert _state(hass) == LockState.OPEN
    await _call(hass, "lock")
    assert _state(hass) == LockState.LOCKED
    assert sim_lock.device.mechanism.status.bolt.name == "LOCKED"
    assert hass.states.get(LOCK_ENTITY).attributes["changed_by"] == "Home Assistant"  # type: ignore[union-attr]

    # The transition comes first every time; a final state only after the lock said so.
    assert recorded[0] == LockState.UNLOCKING
    for transition, final in (
        (LockState.UNLOCKING, LockState.UNLOCKED),
        (LockState.OPENING, LockState.OPEN),
        (LockState.LOCKING, LockState.LOCKED),
    ):
        assert recorded.index(transition) < recorded.index(final)


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("operate", "expected", "changed_by"),
    [
        (
            lambda lock: lock.device.mechanism.turn_by_hand(lock=False),
            "unlocked",
            "manual",
        ),
        (lambda lock: lock.device.mechanism.keypad(lock=False), "unlocked", "keypad"),
    ],
)
async def test_manual_and_keypad_use_show_up_with_changed_by(
    hass: HomeAssistant,
    sim_lock: SimLock,
    operate: Callable[[SimLock], None],
    expected: str,
    changed_by: str,
) -> None:
    """A thumb turn or keypad code at the door updates Home Assistant at once."""
    operate(sim_lock)
    await wait_until(lambda: _state(hass) == expected)
    assert hass.states.get(LOCK_ENTITY).attributes["changed_by"] == changed_by  # type: ignore[union-attr]


@pytest.mark.usefixtures("init_integration")
async def test_jam_is_reported_by_the_lock(
    hass: HomeAssistant, sim_lock: SimLock
) -> None:
    """A motor jam fails the call and shows jammed, because the lock signed it."""
    await _call(hass, "unlock")
    sim_lock.device.mechanism.jam_next_operation()
    with pytest.raises(HomeAssistantError, match="jammed"):
        await _call(hass, "lock")
    assert _state(hass) == LockState.JAMMED


@pytest.mark.usefixtures("init_integration")
async def test_door_open_refusal_keeps_the_truth(
    hass: HomeAssistant, sim_lock: SimLock
) -> None:
    """The lock refuses to lock an open door: an error, and still unlocked."""
    await _call(hass, "unlock")
    sim_lock.device.set_door(DoorState.OPEN)
    await wait_until(
        lambda: hass.states.get("binary_sensor.front_door_door").state == "on"
    )  # type: ignore[union-attr]
    with pytest.raises(HomeAssistantError, match="door is open"):
        await _call(hass, "lock")
    assert _state(hass) == LockState.UNLOCKED


@pytest.mark.usefixtures("init_integration")
async def test_no_answer_is_a_timeout_not_a_jam(
    hass: HomeAssistant, sim_lock: SimLock, recorded: list[str]
) -> None:
    """The lock stays silent: the call fails, the last confirmed state comes back."""
    sim_lock.device.set_online(False)
    with (
        patch("custom_components.secure_lock.lock.COMMAND_TIMEOUT", 0.2),
        pytest.raises(HomeAssistantError, match="did not confirm"),
    ):
        await _call(hass, "unlock")
    assert recorded == [LockState.UNLOCKING, LockState.LOCKED]
    assert sim_lock.device.mechanism.status.bolt.name == "LOCKED"


async def test_silence_makes_entities_unavailable_then_back(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """No authenticated frame for 2.5 heartbeats: unavailable, never a stale state."""
    sim_lock.device.set_online(False)
    almost = dt_util.utcnow() + UNAVAILABLE_AFTER - timedelta(seconds=2)
    async_fire_time_changed(hass, almost)
    await hass.async_block_till_done()
    assert _state(hass) == LockState.LOCKED

    # At expiry the integration also asks the lock directly (a relay may have
    # withheld only heartbeats); that request fails quickly here.
    with answers_within(init_integration.runtime_data.lock, 0.2):
        async_fire_time_changed(hass, dt_util.utcnow() + UNAVAILABLE_AFTER)
        await hass.async_block_till_done()
    assert _state(hass) == STATE_UNAVAILABLE
    assert hass.states.get("sensor.front_door_battery").state == STATE_UNAVAILABLE  # type: ignore[union-attr]

    sim_lock.device.set_online(True)
    sim_lock.device.mechanism.turn_by_hand(lock=False)
    await wait_until(lambda: _state(hass) == LockState.UNLOCKED)


@pytest.mark.usefixtures("init_integration")
async def test_automation_locks_and_waits_for_the_lock(
    hass: HomeAssistant, sim_lock: SimLock
) -> None:
    """An automation's lock.lock returns only after the signed confirmation."""
    await _call(hass, "unlock")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "triggers": [{"trigger": "event", "event_type": "test_night"}],
                "actions": [
                    {"action": "lock.lock", "target": {"entity_id": LOCK_ENTITY}},
                    {"event": "test_locked_done"},
                ],
            }
        },
    )
    done: list[str] = []
    hass.bus.async_listen("test_locked_done", lambda _e: done.append(_state(hass)))
    hass.bus.async_fire("test_night")
    await wait_until(lambda: bool(done))
    assert done == [LockState.LOCKED]
    assert sim_lock.device.mechanism.status.bolt.name == "LOCKED"


async def test_restart_keeps_keys_and_counters(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """After a reload the stored counters continue; commands still work."""
    await _call(hass, "unlock")
    counter = init_integration.runtime_data.lock.paired_lock.last_sent_counter
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.runtime_data.lock.paired_lock.last_sent_counter >= counter
    await _call(hass, "lock")
    assert _state(hass) == LockState.LOCKED
