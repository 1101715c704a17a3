"""Key rotation in Home Assistant: by key age, stored before announced, healed after restores."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.components.lock import LockState
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.secure_lock.const import CONF_IDENTITY, DOMAIN
from custom_components.secure_lock.controller import confirm_pairing, pair_over_link
from custom_components.secure_lock.controller.links import LinkSettings
from custom_components.secure_lock.entry_data import session_store
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ErrorCode,
    SetupCode,
)
from custom_components.secure_lock.protocol.identity import DAY_MS, HOUR_MS
from custom_components.secure_lock.protocol.rng import system_clock
from custom_components.secure_lock.protocol.rotation import newest_prekey_age_ms
from tests.sim.helpers import lan_link, wait_until

from .conftest import SimLock, add_lock_entry

LOCK = "lock.front_door"


def _state(hass: HomeAssistant) -> str:
    state = hass.states.get(LOCK)
    assert state is not None
    return state.state


def _stored_identity(entry: MockConfigEntry) -> ControllerIdentity:
    return ControllerIdentity.from_bytes(bytes.fromhex(entry.data[CONF_IDENTITY]))


def _lock_seals_to(lock: SimLock, controller_id: bytes) -> bytes:
    record = lock.device.state.registry.records[controller_id]
    prekey = record.bundle.prekey_for(record.suite)
    assert prekey is not None
    return prekey.prekey_id


async def _backup(
    hass: HomeAssistant, entry: MockConfigEntry
) -> tuple[dict[str, Any], dict[str, str]]:
    """Copy what Home Assistant stores for the entry (config entry data and store)."""
    coordinator = entry.runtime_data.lock
    return dict(entry.data), coordinator._stored_data()  # noqa: SLF001


async def _restore(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    backup: tuple[dict[str, Any], dict[str, str]],
) -> None:
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    data, stored = backup
    hass.config_entries.async_update_entry(entry, data=data)
    await session_store(hass, entry.entry_id).async_save(stored)


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


def _lock_rotates(lock: SimLock, days: int, then_ms: int) -> None:
    """Age the lock by ``days`` daily rotations, then let ``then_ms`` pass and erase.

    Only the lock's clock moves (its skew), and it is put back afterwards;
    Home Assistant is not running meanwhile.
    """
    scheduler = lock.runtime.scheduler
    assert scheduler is not None
    for day in range(1, days + 1):
        scheduler.skew_seconds = day * DAY_MS / 1000
        lock.device.rotate_prekeys()
    scheduler.skew_seconds = (days * DAY_MS + then_ms) / 1000
    lock.device.element.erase_expired_prekeys(lock.device.now_ms())
    scheduler.skew_seconds = 0


@pytest.mark.parametrize(
    ("days", "then_ms"),
    [(1, 30 * 60_000), (3, 2 * HOUR_MS)],
    ids=["before_1_rotation", "before_3_rotations"],
)
async def test_restored_home_assistant_recovers_without_pairing_again(
    hass: HomeAssistant,
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
    days: int,
    then_ms: int,
) -> None:
    """Entry and store restored from before the rotations: the first command is confirmed."""
    entry = init_integration
    controller_id = _stored_identity(entry).key_id
    backup = await _backup(hass, entry)
    old_lock_prekeys = {
        p.prekey_id for p in sim_lock.device.element.public_bundle().prekeys
    }
    for _ in range(days):
        await hass.services.async_call(
            DOMAIN, "rotate_keys", {"config_entry_id": entry.entry_id}, blocking=True
        )
    restored_prekey = _stored_identity(
        MockConfigEntry(domain=DOMAIN, data=backup[0])
    ).current_prekey(sim_lock.device.state.registry.records[controller_id].suite)
    assert _lock_seals_to(sim_lock, controller_id) != restored_prekey.signed.prekey_id
    await _restore(hass, entry, backup)
    _lock_rotates(sim_lock, days, then_ms)
    assert not old_lock_prekeys & {
        p.prekey_id for p in sim_lock.device.element.public_bundle().prekeys
    }

    await _setup(hass, entry)
    await hass.services.async_call("lock", "unlock", {"entity_id": LOCK}, blocking=True)
    assert _state(hass) == LockState.UNLOCKED
    await hass.services.async_call("lock", "lock", {"entity_id": LOCK}, blocking=True)
    assert _state(hass) == LockState.LOCKED
    client = entry.runtime_data.lock.client
    assert client is not None
    if days == 1:
        # The lock could read us but sealed to a key the backup lacks.
        assert client.resyncs >= 1
    else:
        # The lock had erased the key we sealed to: it sent its signed notice.
        assert sim_lock.device.dropped_frames[ErrorCode.UNKNOWN_PREKEY] >= 1
    # Same controller, same record: nothing was paired again.
    records = sim_lock.device.state.registry.records
    assert list(records) == [controller_id]
    assert not records[controller_id].revoked
    assert _stored_identity(entry).key_id == controller_id


async def test_lost_rotation_answer_then_restart(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """The new key is in the config entry before the lock hears of it; a restart loses nothing."""
    entry = init_integration
    coordinator = entry.runtime_data.lock
    client = coordinator.client
    assert client is not None
    controller_id = client.identity.key_id
    client.handle_frame = lambda _frame: None  # type: ignore[method-assign]
    with (
        patch("custom_components.secure_lock.key_rotation.COMMAND_TIMEOUT", 0.3),
        pytest.raises(HomeAssistantError),
    ):
        await hass.services.async_call(
            DOMAIN, "rotate_keys", {"config_entry_id": entry.entry_id}, blocking=True
        )
    stored = _stored_identity(entry)
    record = sim_lock.device.state.registry.records[controller_id]
    assert stored.current_prekey(record.suite).signed.prekey_id == _lock_seals_to(
        sim_lock, controller_id
    )

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await hass.services.async_call("lock", "unlock", {"entity_id": LOCK}, blocking=True)
    assert _state(hass) == LockState.UNLOCKED


async def _entry_aged(
    hass: HomeAssistant, lock: SimLock, age_ms: int
) -> tuple[MockConfigEntry, ControllerIdentity]:
    """Pair a controller whose prekey was made ``age_ms`` ago (as if HA had been off)."""
    identity = ControllerIdentity.generate(now_ms=system_clock() - age_ms)
    lock.device.press_button()
    async with lan_link(lock.lan_url) as link:
        outcome = await pair_over_link(
            link, identity, SetupCode.parse(lock.setup_code), "Home Assistant"
        )
        await confirm_pairing(link, identity, outcome.lock)
    entry = add_lock_entry(
        hass,
        LinkSettings(lock.device.lock_id, lan_url=lock.lan_url),
        identity,
        outcome.lock,
    )
    return entry, identity


async def test_overdue_key_is_rotated_at_start_and_stored_before_announced(
    hass: HomeAssistant, sim_lock: SimLock
) -> None:
    """A key older than its lifetime is replaced when Home Assistant starts, whatever the uptime."""
    entry, identity = await _entry_aged(hass, sim_lock, DAY_MS + 30 * 60_000)
    suite = sim_lock.device.state.registry.records[identity.key_id].suite
    old = identity.current_prekey(suite).signed.prekey_id
    await _setup(hass, entry)
    await wait_until(lambda: _lock_seals_to(sim_lock, identity.key_id) != old)
    stored = _stored_identity(entry)
    assert stored.current_prekey(suite).signed.prekey_id == _lock_seals_to(
        sim_lock, identity.key_id
    )
    assert newest_prekey_age_ms(stored, system_clock()) < 60_000
    await hass.services.async_call("lock", "unlock", {"entity_id": LOCK}, blocking=True)
    assert _state(hass) == LockState.UNLOCKED
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_rotation_is_scheduled_for_when_the_key_falls_due(
    hass: HomeAssistant, sim_lock: SimLock
) -> None:
    """Five minutes before the key turns a day old, the next check is set for that moment."""
    entry, identity = await _entry_aged(hass, sim_lock, DAY_MS - 5 * 60_000)
    suite = sim_lock.device.state.registry.records[identity.key_id].suite
    due = identity.current_prekey(suite).signed.valid_from + DAY_MS
    await _setup(hass, entry)
    coordinator = entry.runtime_data.lock
    await wait_until(lambda: coordinator.rotation.next_check_ms == due)
    # Nothing was rotated early; the start-up announcement kept the same key.
    assert _stored_identity(entry).current_prekey(suite).signed.prekey_id == (
        identity.current_prekey(suite).signed.prekey_id
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_rotation_while_the_lock_is_away(
    hass: HomeAssistant,
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unheard announcements are retried; an overdue key is replaced even while away."""
    coordinator = init_integration.runtime_data.lock
    await wait_until(lambda: not coordinator.rotation._announce_needed)  # noqa: SLF001
    coordinator.rotation._announce_needed = True  # noqa: SLF001 - as after a start
    sim_lock.device.set_online(False)
    with patch("custom_components.secure_lock.key_rotation.COMMAND_TIMEOUT", 0.2):
        await coordinator.rotation.async_check()
    assert "Key rotation for Front door failed" in caplog.text
    assert coordinator.rotation._announce_needed  # noqa: SLF001

    await sim_lock.runtime.stop()
    await wait_until(lambda: coordinator.client is None)
    before = _stored_identity(init_integration)
    later = system_clock() + 2 * DAY_MS
    with patch(
        "custom_components.secure_lock.key_rotation.system_clock", return_value=later
    ):
        await coordinator.rotation.async_check()
    stored = _stored_identity(init_integration)
    assert newest_prekey_age_ms(stored, later) == 0
    old_ids = {p.signed.prekey_id for p in before.prekeys}
    assert all(
        stored.current_prekey(suite).signed.prekey_id not in old_ids
        for suite in stored.suites
    )
    assert coordinator.rotation._announce_needed  # noqa: SLF001
