"""Companion entities: door, battery, activity events, diagnostics, device."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

from homeassistant.components.lock import LockState
from homeassistant.const import (
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import Event as HaEvent, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.event import (
    EventStateChangedData,
    async_track_state_change_event,
)
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.secure_lock.const import DEFAULT_MODEL
from custom_components.secure_lock.entity import device_model
from device_sim.mechanism import DoorState
from tests.sim.helpers import wait_until

from .conftest import SimLock

ACTIVITY = "event.front_door_activity"


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize(
    "platform",
    [
        Platform.BINARY_SENSOR,
        Platform.EVENT,
        Platform.LOCK,
        Platform.NUMBER,
        Platform.SENSOR,
    ],
)
async def test_entities_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    paired_entry: MockConfigEntry,
    platform: Platform,
) -> None:
    """Names, classes, categories, defaults and first states of every entity."""
    with patch("custom_components.secure_lock.PLATFORMS", [platform]):
        assert await hass.config_entries.async_setup(paired_entry.entry_id)
        await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, paired_entry.entry_id)
    assert await hass.config_entries.async_unload(paired_entry.entry_id)


async def test_device_snapshot(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    """One device per lock: model, firmware, serial number = lock id."""
    devices = dr.async_entries_for_config_entry(
        device_registry, init_integration.entry_id
    )
    assert devices == snapshot


async def test_door_and_battery_follow_the_lock(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """Door sensor and battery come from the lock's signed reports."""
    assert _state(hass, "binary_sensor.front_door_door") == STATE_OFF
    sim_lock.device.set_door(DoorState.OPEN)
    await wait_until(lambda: _state(hass, "binary_sensor.front_door_door") == STATE_ON)
    sim_lock.device.set_door(DoorState.CLOSED)
    await wait_until(lambda: _state(hass, "binary_sensor.front_door_door") == STATE_OFF)

    assert _state(hass, "binary_sensor.front_door_battery_low") == STATE_OFF
    sim_lock.device.mechanism.set_battery(9)
    sim_lock.device.send_heartbeat()
    await wait_until(lambda: _state(hass, "sensor.front_door_battery") == "9")
    assert _state(hass, "binary_sensor.front_door_battery_low") == STATE_ON


class ActivityLog:
    """Every activity event the entity fires, in order: (type, source, changed_by)."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Listen to the activity entity's state changes."""
        self.fired: list[tuple[str, str, str | None]] = []

        @callback
        def record(event: HaEvent[EventStateChangedData]) -> None:
            state = event.data["new_state"]
            if state is None or state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
                return
            self.fired.append(
                (
                    state.attributes["event_type"],
                    state.attributes["source"],
                    state.attributes["changed_by"],
                )
            )

        self.stop = async_track_state_change_event(hass, [ACTIVITY], record)

    async def expect(self, *fired: tuple[str, str, str | None]) -> None:
        """Wait until exactly these events (and no others) have fired since the last call."""
        await wait_until(lambda: len(self.fired) >= len(fired))
        assert self.fired == list(fired)
        self.fired.clear()


async def _settle(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Wait for a signed status round trip: every earlier frame is in."""
    await entry.runtime_data.lock.async_refresh()
    await hass.async_block_till_done()


async def test_activity_events_say_what_happened(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """Each kind of change fires its own event; the door never fires a bolt event."""
    assert _state(hass, ACTIVITY) == STATE_UNKNOWN
    log = ActivityLog(hass)
    mechanism = sim_lock.device.mechanism

    # Commands from Home Assistant.
    await hass.services.async_call(
        "lock", "unlock", {"entity_id": "lock.front_door"}, blocking=True
    )
    await log.expect(("unlocked", "controller", "Home Assistant"))
    await hass.services.async_call(
        "lock", "lock", {"entity_id": "lock.front_door"}, blocking=True
    )
    await log.expect(("locked", "controller", "Home Assistant"))
    await hass.services.async_call(
        "lock", "open", {"entity_id": "lock.front_door"}, blocking=True
    )
    await log.expect(("opened", "controller", "Home Assistant"))
    mechanism.turn_by_hand(lock=True)
    await log.expect(("locked", "manual", "manual"))

    # The door, whatever the bolt's state: door events only, no bolt event.
    for lock in (True, False):
        mechanism.turn_by_hand(lock=lock)
        await log.expect(("locked" if lock else "unlocked", "manual", "manual"))
        sim_lock.device.set_door(DoorState.OPEN)
        await log.expect(("door_opened", "unknown", None))
        sim_lock.device.set_door(DoorState.CLOSED)
        await log.expect(("door_closed", "unknown", None))
        await _settle(hass, init_integration)
        assert log.fired == []
        # The door does not erase who moved the bolt last.
        lock_state = hass.states.get("lock.front_door")
        assert lock_state is not None
        assert lock_state.attributes["changed_by"] == "manual"
    assert _state(hass, "lock.front_door") == LockState.UNLOCKED

    # Keypad.
    mechanism.keypad(lock=True)
    await log.expect(("locked", "keypad", "keypad"))
    mechanism.keypad(lock=False)
    await log.expect(("unlocked", "keypad", "keypad"))

    # Auto-relock (the lock's own timer; the mechanism runs on HA's loop).
    mechanism.set_auto_relock(5)
    mechanism.turn_by_hand(lock=False)
    await log.expect(("unlocked", "manual", "manual"))
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=6))
    await log.expect(("locked", "auto_relock", "auto_relock"))
    mechanism.set_auto_relock(None)

    # Battery: a new level is no event; crossing into low battery is one.
    mechanism.set_battery(80)
    sim_lock.device.send_heartbeat()
    await wait_until(lambda: _state(hass, "sensor.front_door_battery") == "80")
    await _settle(hass, init_integration)
    assert log.fired == []
    mechanism.set_battery(9)
    await log.expect(("low_battery", "unknown", None))

    # A jam names who tried to move the bolt; it is not a lock or unlock.
    mechanism.set_battery(100)
    mechanism.jam_next_operation()
    mechanism.keypad(lock=False)
    await log.expect(("jammed", "keypad", "keypad"))

    mechanism.tamper()
    await log.expect(("tamper", "unknown", None))
    log.stop()


def test_device_model_does_not_repeat_the_brand() -> None:
    """No "Secure Lock by Secure Lock": an unknown model is left out, the brand dropped."""
    assert device_model(None) is None
    assert device_model(DEFAULT_MODEL) is None
    assert device_model("Secure Lock SL-1 (simulated)") == "SL-1 (simulated)"
    assert device_model("SL-2") == "SL-2"
