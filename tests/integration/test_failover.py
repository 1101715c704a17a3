"""Failover: a path that stays open but delivers nothing is left for the other one.

The lock is reachable on the LAN and through a real Mosquitto.  Each test
breaks the path in use in a way that does not close Home Assistant's socket
(the lock gone from a broker that stays up, a LAN peer that accepts and
drops, a dead broker the MQTT link keeps retrying), for both orders of
preference, and checks that commands go over the other path within the
silence limit plus two answer timeouts, and that with no path at all the
unreachable repair issue comes after 30 minutes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from homeassistant.components.lock import LockState
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.secure_lock.const import (
    CONF_PREFER,
    DOMAIN,
    UNAVAILABLE_AFTER,
    UNREACHABLE_REPAIR_AFTER,
)
from custom_components.secure_lock.controller.links import (
    BrokerSettings,
    LinkKind,
    LinkSettings,
)
from custom_components.secure_lock.coordinator import SecureLockCoordinator
from device_sim.broker import MosquittoBroker
from device_sim.lock_runtime import (
    BrokerSettings as LockBrokerSettings,
    LockRuntime,
    RuntimeOptions,
)
from device_sim.pki import DevCertificateAuthority
from tests.adversarial.hostile_relay import Direction, Mode
from tests.adversarial.lan_proxy import LanProxy
from tests.sim.helpers import wait_until

from .conftest import (
    BROKER_PASSWORD,
    BROKER_USER,
    FAST,
    SimLock,
    add_lock_entry,
    answers_within,
    pair_controller,
)

LOCK = "lock.front_door"
ANSWER_TIMEOUT = 0.5
"""The answer timeout in these tests (15 s in use): real seconds are waited."""


@dataclass
class TwoPaths:
    """A lock on the LAN (behind a proxy that can go silent) and on a broker."""

    lock: SimLock
    broker: MosquittoBroker
    proxy: LanProxy
    entry: MockConfigEntry

    @property
    def coordinator(self) -> SecureLockCoordinator:
        """Return the entry's lock coordinator."""
        return self.entry.runtime_data.lock  # type: ignore[no-any-return]


@pytest.fixture
async def two_paths(
    hass: HomeAssistant,
    tmp_path: Path,
    broker: MosquittoBroker,
    ca: DevCertificateAuthority,
    request: pytest.FixtureRequest,
) -> AsyncIterator[TwoPaths]:
    """Pair over the LAN, then set up an entry with both paths, ``prefer`` first."""
    runtime = LockRuntime(
        RuntimeOptions(
            state_dir=tmp_path / "lock",
            device=FAST,
            lan=("127.0.0.1", 0),
            broker=LockBrokerSettings("127.0.0.1", broker.lock_port, broker.ca_file),
            factory_ca=ca,
            admin_socket=False,
        )
    )
    await runtime.start()
    lock = SimLock(runtime)
    broker.add_controller(BROKER_USER, BROKER_PASSWORD, [lock.lock_id])
    proxy = LanProxy(lock.lan_url)
    await proxy.start()
    identity, outcome = await pair_controller(lock)
    settings = LinkSettings(
        lock.device.lock_id,
        lan_url=proxy.url,
        broker=BrokerSettings(
            (f"mqtts://127.0.0.1:{broker.controller_port}",),
            broker.ca_file.read_text(encoding="utf-8"),
            BROKER_USER,
            BROKER_PASSWORD,
        ),
        prefer=request.param,
    )
    entry = add_lock_entry(
        hass,
        settings,
        identity,
        outcome.lock,
        options={CONF_PREFER: request.param.value},
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    paths = TwoPaths(lock, broker, proxy, entry)
    await wait_until(lambda: paths.coordinator.rotation.prekey_announced)
    assert paths.coordinator.link_kind is request.param
    yield paths
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    await proxy.close()
    await lock.runtime.stop()


def _state(hass: HomeAssistant) -> str:
    state = hass.states.get(LOCK)
    assert state is not None
    return state.state


async def _silence_lan(paths: TwoPaths) -> None:
    """Keep the LAN connection open but pass nothing, either way."""
    paths.proxy.mode[Direction.UP] = Mode.DROP
    paths.proxy.mode[Direction.DOWN] = Mode.DROP


async def _lock_leaves_broker(paths: TwoPaths) -> None:
    """Take the lock off the broker, which stays up (Home Assistant's link too)."""
    assert paths.lock.runtime.mqtt is not None
    await paths.lock.runtime.mqtt.close()


async def _broker_dies(paths: TwoPaths) -> None:
    """Stop Mosquitto: the MQTT link retries for ever and never reports closed."""
    paths.broker.stop()


async def _fail_over(
    hass: HomeAssistant, paths: TwoPaths, silence: Callable[[TwoPaths], Awaitable[None]]
) -> None:
    """Silence the path in use; return once commands go over the other one.

    The event loop's timers are moved by exactly the silence limit and the
    first backoff step (1 s); besides that only the real answer timeouts
    pass, so the failover needs no more than that.
    """
    coordinator = paths.coordinator
    before = coordinator.link_kind
    # A signed answer now starts the silence limit from here.
    await hass.services.async_call("lock", "lock", {"entity_id": LOCK}, blocking=True)
    await silence(paths)
    with answers_within(coordinator, ANSWER_TIMEOUT):
        # Nothing moves before the silence limit (a margin for the real
        # seconds this test itself takes).
        almost = UNAVAILABLE_AFTER - timedelta(seconds=10)
        async_fire_time_changed(hass, dt_util.utcnow() + almost)
        await hass.async_block_till_done()
        assert coordinator.link_kind is before
        # At the limit: unavailable, a status request over the silent path,
        # and without an answer the path is given up.
        async_fire_time_changed(hass, dt_util.utcnow() + UNAVAILABLE_AFTER)
        await hass.async_block_till_done()
        assert _state(hass) == "unavailable"
        await wait_until(lambda: coordinator.link_kind is None)
        # The first retry (1 s later) tries the other path first.
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1))
        await wait_until(lambda: coordinator.link_kind not in (None, before))


@pytest.mark.parametrize(
    ("two_paths", "silence"),
    [
        (LinkKind.LAN, _silence_lan),
        (LinkKind.BROKER, _lock_leaves_broker),
        (LinkKind.BROKER, _broker_dies),
    ],
    indirect=["two_paths"],
    ids=["lan-accepts-and-drops", "lock-gone-from-broker", "broker-dies"],
)
async def test_a_silent_path_is_left_for_the_other_within_the_watchdog_time(
    hass: HomeAssistant,
    two_paths: TwoPaths,
    silence: Callable[[TwoPaths], Awaitable[None]],
) -> None:
    """Commands work again over the other path well before the next heartbeat is due."""
    await _fail_over(hass, two_paths, silence)
    await wait_until(lambda: _state(hass) == LockState.LOCKED)
    await hass.services.async_call("lock", "unlock", {"entity_id": LOCK}, blocking=True)
    assert _state(hass) == LockState.UNLOCKED
    assert two_paths.lock.device.mechanism.status.bolt.name == "UNLOCKED"


@pytest.mark.parametrize("two_paths", [LinkKind.LAN], indirect=True)
async def test_back_on_the_preferred_path_once_it_answers_again(
    hass: HomeAssistant, two_paths: TwoPaths
) -> None:
    """On the fallback, the preferred path is tried again every ten minutes."""
    coordinator = two_paths.coordinator
    await _fail_over(hass, two_paths, _silence_lan)
    assert coordinator.link_kind is LinkKind.BROKER
    # Still silent at the first retry: stays on the broker.
    retry = timedelta(seconds=coordinator.connection.timings.preferred_retry)
    with answers_within(coordinator, ANSWER_TIMEOUT):
        async_fire_time_changed(hass, dt_util.utcnow() + retry)
        await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.link_kind is LinkKind.BROKER
    two_paths.proxy.mode[Direction.UP] = Mode.FORWARD
    two_paths.proxy.mode[Direction.DOWN] = Mode.FORWARD
    async_fire_time_changed(hass, dt_util.utcnow() + retry)
    await wait_until(lambda: coordinator.link_kind is LinkKind.LAN)
    await hass.services.async_call("lock", "unlock", {"entity_id": LOCK}, blocking=True)
    assert _state(hass) == LockState.UNLOCKED


@pytest.mark.parametrize("two_paths", [LinkKind.LAN, LinkKind.BROKER], indirect=True)
async def test_no_path_that_answers_for_30_minutes_raises_the_repair_issue(
    hass: HomeAssistant, two_paths: TwoPaths, issue_registry: ir.IssueRegistry
) -> None:
    """Both paths open, neither answers: unavailable, then after 30 minutes the issue."""
    coordinator = two_paths.coordinator
    issue_id = f"unreachable_{two_paths.lock.lock_id}"
    two_paths.lock.device.set_online(False)
    limit = UNREACHABLE_REPAIR_AFTER.total_seconds()
    step = timedelta(seconds=61)  # more than the longest backoff step
    with answers_within(coordinator, ANSWER_TIMEOUT):
        async_fire_time_changed(hass, dt_util.utcnow() + UNAVAILABLE_AFTER)
        await wait_until(lambda: coordinator.link_kind is None)
        while (issue := issue_registry.async_get_issue(DOMAIN, issue_id)) is None:
            # Reported as soon as 30 minutes are over, not later.
            assert coordinator.connection.away_s < limit + 2 * step.total_seconds()
            async_fire_time_changed(hass, dt_util.utcnow() + step)
            await hass.async_block_till_done(wait_background_tasks=True)
    assert _state(hass) == "unavailable"
    assert issue.translation_placeholders is not None
    assert int(issue.translation_placeholders["minutes"]) >= 30
    reason = issue.translation_placeholders["reason"]
    # Both paths are named, each with what failed on it.
    assert f"lan: no answer in {ANSWER_TIMEOUT:g} s" in reason
    assert f"broker: no answer in {ANSWER_TIMEOUT:g} s" in reason

    two_paths.lock.device.set_online(True)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
    await wait_until(lambda: coordinator.link_kind is not None)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    await wait_until(lambda: _state(hass) == LockState.LOCKED)
