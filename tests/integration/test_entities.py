"""Companion entities: door, battery, activity events, diagnostics, device."""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from device_sim.mechanism import DoorState
from tests.sim.helpers import wait_until

from .conftest import SimLock


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

    assert _state(hass, "binary_sensor.front_door_battery") == STATE_OFF
    sim_lock.device.mechanism.set_battery(9)
    sim_lock.device.send_heartbeat()
    await wait_until(lambda: _state(hass, "sensor.front_door_battery") == "9")
    assert _state(hass, "binary_sensor.front_door_battery") == STATE_ON


async def test_activity_events_name_the_source(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """Keypad, thumb turn, Home Assistant and a jam each fire a typed event."""
    entity = "event.front_door_activity"
    assert _state(hass, entity) == STATE_UNKNOWN

    def event() -> tuple[str | None, str | None, str | None]:
        state = hass.states.get(entity)
        assert state is not None
        return (
            state.attributes.get("event_type"),
            state.attributes.get("source"),
            state.attributes.get("changed_by"),
        )

    sim_lock.device.mechanism.keypad(lock=False)
    await wait_until(lambda: event() == ("unlocked", "keypad", "keypad"))
    sim_lock.device.mechanism.turn_by_hand(lock=True)
    await wait_until(lambda: event() == ("locked", "manual", "manual"))
    await hass.services.async_call(
        "lock", "open", {"entity_id": "lock.front_door"}, blocking=True
    )
    await wait_until(lambda: event() == ("opened", "controller", "Home Assistant"))
    sim_lock.device.mechanism.tamper()
    await wait_until(lambda: event()[0] == "tamper")
