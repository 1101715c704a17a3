"""Auto-relock: an admin setting that the lock confirms and then acts on."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from homeassistant.components.lock import LockState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.secure_lock.const import DOMAIN
from custom_components.secure_lock.entry_data import credential_data
from tests.sim.helpers import wait_until

from .conftest import SimLock, pair_controller

NUMBER = "number.front_door_auto_relock"
LOCK = "lock.front_door"


def _value(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


async def _set(hass: HomeAssistant, value: float) -> None:
    await hass.services.async_call(
        "number", "set_value", {"entity_id": NUMBER, "value": value}, blocking=True
    )


async def test_auto_relock_is_set_on_the_lock_and_used(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """Set 30 s: the lock stores it, says so signed, and relocks by itself."""
    assert _value(hass, NUMBER) == "0"
    await _set(hass, 30)
    assert _value(hass, NUMBER) == "30"
    assert sim_lock.device.state.settings.auto_relock_seconds == 30

    # Relock counts from when the unlock settles, one latch hold time later
    # (a short one here: a long jump of the clock would end the connection).
    mechanism = sim_lock.device.mechanism
    mechanism.config = replace(mechanism.config, open_hold_seconds=1)
    await hass.services.async_call("lock", "unlock", {"entity_id": LOCK}, blocking=True)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=2))
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=32))
    await wait_until(lambda: _value(hass, LOCK) == LockState.LOCKED)
    assert hass.states.get(LOCK).attributes["changed_by"] == "auto_relock"  # type: ignore[union-attr]

    await _set(hass, 0)
    assert sim_lock.device.state.settings.auto_relock_seconds == 0


@pytest.mark.usefixtures("init_integration")
async def test_out_of_range_is_refused(hass: HomeAssistant) -> None:
    """More than an hour is not a valid delay; nothing is sent."""
    with pytest.raises(ServiceValidationError):
        await _set(hass, 7200)


async def test_operators_do_not_get_the_setting(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """Only an admin may change lock settings, so an operator entry has no entity."""
    identity, outcome = await pair_controller(sim_lock, "Second HA")
    # One lock, one entry: the admin's goes before the operator's is set up.
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="operator",
        title="Operator view",
        data={**init_integration.data, **credential_data(identity, outcome.lock)},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    domains = {
        e.domain
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }
    assert "lock" in domains
    assert "number" not in domains
    assert await hass.config_entries.async_unload(entry.entry_id)
