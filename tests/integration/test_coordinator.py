"""The connection manager: reconnects, re-syncs, and raises repair issues."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.components.lock import LockState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.secure_lock.const import DOMAIN, UNAVAILABLE_AFTER
from custom_components.secure_lock.controller.links import LinkSettings
from custom_components.secure_lock.entry_data import credential_data, link_data
from device_sim.lock_runtime import LockRuntime
from tests.sim.helpers import full_step, wait_until

from .conftest import SimLock, pair_controller

LOCK = "lock.front_door"


def _state(hass: HomeAssistant) -> str:
    state = hass.states.get(LOCK)
    assert state is not None
    return state.state


async def test_reconnects_and_resyncs_after_the_lock_restarts(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """The LAN link drops; retries back off; once the lock is back its state is read."""
    coordinator = init_integration.runtime_data.lock
    options = sim_lock.runtime.options
    assert sim_lock.runtime.lan is not None
    port = sim_lock.runtime.lan.port
    await sim_lock.runtime.stop()
    await wait_until(lambda: coordinator.client is None)

    # The first retry finds nothing listening and schedules the next one.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1))
    await hass.async_block_till_done()
    assert coordinator.client is None

    # While away, someone unlocks by hand: the missed event must not matter.
    restarted = LockRuntime(
        type(options)(**{**vars_of(options), "lan": ("127.0.0.1", port)})
    )
    sim_lock.runtime = restarted
    await restarted.start()
    sim_lock.device.mechanism.turn_by_hand(lock=False)

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=3))
    await hass.async_block_till_done()
    await wait_until(lambda: coordinator.client is not None)
    await wait_until(lambda: _state(hass) == LockState.UNLOCKED)
    await hass.services.async_call("lock", "lock", {"entity_id": LOCK}, blocking=True)
    assert _state(hass) == LockState.LOCKED


async def test_a_lasting_outage_raises_a_repair_issue_until_the_lock_is_back(
    hass: HomeAssistant,
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unavailable at once; after 30 minutes of failed tries also a repair issue."""
    coordinator = init_integration.runtime_data.lock
    # Whole backoff steps, no jitter: the count of tries below is exact.
    monkeypatch.setattr(coordinator.connection._backoff, "draw", full_step)
    options = sim_lock.runtime.options
    assert sim_lock.runtime.lan is not None
    port = sim_lock.runtime.lan.port
    issue_id = f"unreachable_{sim_lock.lock_id}"
    await sim_lock.runtime.stop()
    await wait_until(lambda: coordinator.client is None)

    async def next_retry() -> None:
        # Each retry waits at most a minute (backoff doubles from 1 s).
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
        # The try runs as a background task: let it fail and reschedule.
        await hass.async_block_till_done(wait_background_tasks=True)

    # 1+2+4+8+16+32 s, then a minute per try: 34 tries are 29 min 3 s.
    for _ in range(34):
        await next_retry()
    assert coordinator.client is None
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    await next_retry()
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["name"] == init_integration.title
    assert int(issue.translation_placeholders["minutes"]) >= 30
    # The reason names the path and what failed, so the user knows where to look.
    assert issue.translation_placeholders["reason"].startswith("lan: ")

    restarted = LockRuntime(
        type(options)(**{**vars_of(options), "lan": ("127.0.0.1", port)})
    )
    sim_lock.runtime = restarted
    await restarted.start()
    # A connected link's watcher is a lasting background task: do not wait on it.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    await wait_until(lambda: coordinator.client is not None)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_commands_while_disconnected_fail_clearly(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """No link: the call fails at once with a message, the state stays as signed."""
    coordinator = init_integration.runtime_data.lock
    await sim_lock.runtime.stop()
    await wait_until(lambda: coordinator.client is None)
    with pytest.raises(HomeAssistantError, match="not connected"):
        await hass.services.async_call(
            "lock", "unlock", {"entity_id": LOCK}, blocking=True
        )
    assert _state(hass) == LockState.LOCKED


async def test_clock_skew_raises_a_repair_issue(
    hass: HomeAssistant,
    sim_lock: SimLock,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A lock whose clock is minutes off is reported, so the user can fix it."""
    scheduler = sim_lock.runtime.scheduler
    assert scheduler is not None
    scheduler.skew_seconds = -180
    identity, outcome = await pair_controller(sim_lock)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=sim_lock.lock_id,
        title="Front door",
        data={
            **link_data(
                LinkSettings(sim_lock.device.lock_id, lan_url=sim_lock.lan_url)
            ),
            **credential_data(identity, outcome.lock),
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(DOMAIN, f"clock_skew_{sim_lock.lock_id}")
    assert issue is not None
    assert issue.translation_placeholders == {"name": "Front door", "seconds": "-180"}
    # The lock still works: requests are stamped on the lock's clock.
    await hass.services.async_call("lock", "unlock", {"entity_id": LOCK}, blocking=True)
    assert _state(hass) == LockState.UNLOCKED
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("skew_seconds", "translation_key"),
    [(600, "clock_skew"), (-600, "clock_behind")],
)
async def test_lock_clock_jumping_after_pairing_is_reported(
    hass: HomeAssistant,
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    *,
    skew_seconds: int,
    translation_key: str,
) -> None:
    """Authentic lock frames outside the window are refused, and the user is told why."""
    coordinator = init_integration.runtime_data.lock
    client = coordinator.client
    assert client is not None
    scheduler = sim_lock.runtime.scheduler
    assert scheduler is not None
    issue_id = f"clock_skew_{sim_lock.lock_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    scheduler.skew_seconds = skew_seconds
    rejected = client.rejected_frames
    sim_lock.device.mechanism.turn_by_hand(lock=False)
    await wait_until(lambda: client.rejected_frames > rejected)
    await hass.async_block_till_done()

    # The frame was not taken: the entity still shows the last signed state.
    assert _state(hass) == LockState.LOCKED
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == translation_key
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["name"] == init_integration.title
    # Whole seconds; the offset learnt at pairing is a few milliseconds.
    assert issue.translation_placeholders["seconds"] == "600"


def vars_of(options: object) -> dict[str, object]:
    """Return a frozen dataclass's fields as a dict."""
    return {name: getattr(options, name) for name in options.__dataclass_fields__}  # type: ignore[attr-defined]


async def test_link_lost_during_a_command_fails_it_at_once(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """The lock vanishes mid-command: the call fails now, not after the timeout."""
    sim_lock.device.set_online(False)
    call = hass.async_create_task(
        hass.services.async_call("lock", "unlock", {"entity_id": LOCK}, blocking=True)
    )
    await wait_until(lambda: _state(hass) == LockState.UNLOCKING)
    await sim_lock.runtime.stop()
    with pytest.raises(HomeAssistantError, match="not connected"):
        await call
    assert _state(hass) == LockState.LOCKED


async def test_removed_while_listening_asks_to_pair_again_at_the_next_silence(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """No command needed: the status request made after the silence hears the revocation."""
    coordinator = init_integration.runtime_data.lock
    controller_id = coordinator.identity.key_id
    sim_lock.device.state.registry.revoke(controller_id)
    async_fire_time_changed(hass, dt_util.utcnow() + UNAVAILABLE_AFTER)
    await hass.async_block_till_done()
    await wait_until(
        lambda: (
            [
                flow["context"]["source"]
                for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
            ]
            == ["reauth"]
        )
    )
    # Nothing more is tried with a key the lock has removed.
    assert coordinator.connection.stopped
    assert not coordinator.connection.reconnecting
