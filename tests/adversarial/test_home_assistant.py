"""Attacks by a hostile broker, seen from Home Assistant (coordinator and lock entity).

Home Assistant reaches the lock only through broker C; the attacker relays
(or does not relay) every frame to broker L, where the lock is (see
hostile_relay.py).  The entity may show a transition while a command runs,
the lock's last signed state, or unavailable; never a state the lock did
not sign.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from unittest.mock import patch

from homeassistant.components.lock import LockState
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.secure_lock.const import CONF_MODEL, DOMAIN, UNAVAILABLE_AFTER
from custom_components.secure_lock.controller.links import BrokerSettings, LinkSettings
from custom_components.secure_lock.coordinator import SecureLockCoordinator
from custom_components.secure_lock.entry_data import credential_data, link_data
from device_sim.mechanism import BoltState
from tests.conftest import LOCK_ENTITY
from tests.integration.conftest import (  # noqa: F401 - fixture shared by import
    BROKER_PASSWORD,
    BROKER_USER,
    MODEL,
    answers_within,
    auto_enable_custom_integrations,
)
from tests.sim.helpers import wait_until

from .conftest import RelayedLock, Stage
from .helpers import deliver_counted
from .hostile_relay import Direction, Mode

TIMEOUT = "custom_components.secure_lock.lock.COMMAND_TIMEOUT"


def _state(hass: HomeAssistant) -> str:
    state = hass.states.get(LOCK_ENTITY)
    assert state is not None
    return state.state


@pytest.fixture(name="relayed")
async def relayed_fixture(
    hass: HomeAssistant, stage: Stage
) -> AsyncIterator[tuple[RelayedLock, MockConfigEntry]]:
    """Pair Home Assistant through the attacker and set the entry up (broker path only)."""
    lock = await stage.start_lock()
    identity = stage.new_identity()
    link = await stage.controller_link(lock, identity, pairing=True)
    outcome = await stage.pair_over(link, lock, identity)
    domains = stage.domains
    settings = LinkSettings(
        lock.lock_id,
        broker=BrokerSettings(
            domains.controller_urls(),
            domains.ca_file.read_text(encoding="utf-8"),
            domains.controller_login(BROKER_USER),
            BROKER_PASSWORD,
        ),
    )
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=lock.lock_id.hex(),
        title="Front door",
        data={
            **link_data(settings),
            **credential_data(identity, outcome.lock),
            CONF_MODEL: MODEL,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    yield lock, entry
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


def _coordinator(entry: MockConfigEntry) -> SecureLockCoordinator:
    coordinator = entry.runtime_data.lock
    assert isinstance(coordinator, SecureLockCoordinator)
    return coordinator


async def test_dropped_confirmation_never_shows_the_commanded_state(
    hass: HomeAssistant,
    relayed: tuple[RelayedLock, MockConfigEntry],
    recorded: list[str],
) -> None:
    """The lock unlocks, the relay drops every answer: the entity never says unlocked."""
    lock, _ = relayed
    assert _state(hass) == LockState.LOCKED
    lock.relay.mode[Direction.UP] = Mode.DROP
    with (
        patch(TIMEOUT, 0.5),
        pytest.raises(HomeAssistantError, match="did not confirm"),
    ):
        await hass.services.async_call(
            "lock", "unlock", {"entity_id": LOCK_ENTITY}, blocking=True
        )
    assert lock.device.mechanism.status.bolt is BoltState.UNLOCKED
    assert recorded == [LockState.UNLOCKING, LockState.LOCKED]

    # Only a signed report moves it, here the next heartbeat the relay lets through.
    lock.relay.mode[Direction.UP] = Mode.FORWARD
    lock.device.send_heartbeat()
    # The recorder sees the state change a step after the state machine does.
    await wait_until(lambda: recorded[-1:] == [LockState.UNLOCKED])
    assert _state(hass) == LockState.UNLOCKED
    assert recorded == [LockState.UNLOCKING, LockState.LOCKED, LockState.UNLOCKED]


async def test_replayed_locked_reports_while_unlocked_change_nothing(
    hass: HomeAssistant,
    relayed: tuple[RelayedLock, MockConfigEntry],
    recorded: list[str],
) -> None:
    """Every frame recorded while the door was locked, replayed after an unlock: refused."""
    lock, entry = relayed
    lock.device.send_heartbeat()
    await lock.relay.wait_seen(Direction.UP, 2)  # status answer + heartbeat
    stale = lock.relay.captured(Direction.UP)
    await hass.services.async_call(
        "lock", "unlock", {"entity_id": LOCK_ENTITY}, blocking=True
    )
    assert _state(hass) == LockState.UNLOCKED
    client = _coordinator(entry).client
    assert client is not None

    await deliver_counted(
        lock.relay, Direction.UP, stale, lambda: client.rejected_frames
    )
    await hass.async_block_till_done()
    assert _state(hass) == LockState.UNLOCKED
    assert LockState.LOCKED not in recorded


async def test_withheld_heartbeats_make_the_lock_unavailable(
    hass: HomeAssistant,
    relayed: tuple[RelayedLock, MockConfigEntry],
    recorded: list[str],
) -> None:
    """The relay withholds everything from the lock and replays an old heartbeat: unavailable."""
    lock, entry = relayed
    lock.device.send_heartbeat()
    await lock.relay.wait_seen(Direction.UP, 2)
    old_heartbeat = lock.relay.captured(Direction.UP)[-1]
    lock.relay.mode[Direction.UP] = Mode.DROP
    lock.device.mechanism.turn_by_hand(lock=False)  # nobody hears it
    lock.device.send_heartbeat()

    almost = dt_util.utcnow() + UNAVAILABLE_AFTER - timedelta(seconds=2)
    async_fire_time_changed(hass, almost)
    await hass.async_block_till_done()
    assert _state(hass) == LockState.LOCKED  # the last signed state, still fresh

    # Replaying a recorded heartbeat does not keep the stale state alive.
    client = _coordinator(entry).client
    assert client is not None
    await deliver_counted(
        lock.relay, Direction.UP, [old_heartbeat], lambda: client.rejected_frames
    )
    # At expiry the integration asks the lock; the relay drops that answer too.
    asked = len(lock.relay.captured(Direction.DOWN))
    coordinator = _coordinator(entry)
    with answers_within(coordinator, 0.5):
        async_fire_time_changed(hass, dt_util.utcnow() + UNAVAILABLE_AFTER)
        await hass.async_block_till_done()
        assert _state(hass) == STATE_UNAVAILABLE
        # The status request (a background task) goes out, is not answered,
        # and the silent path is given up for a new one.
        await wait_until(lambda: len(lock.relay.captured(Direction.DOWN)) > asked)
        await wait_until(lambda: coordinator.client is not client)
    assert _state(hass) == STATE_UNAVAILABLE

    lock.relay.mode[Direction.UP] = Mode.FORWARD
    lock.device.send_heartbeat()
    # The recorder sees the state change a step after the state machine does.
    await wait_until(lambda: recorded[-1:] == [LockState.UNLOCKED])
    assert _state(hass) == LockState.UNLOCKED
    assert recorded == [STATE_UNAVAILABLE, LockState.UNLOCKED]
