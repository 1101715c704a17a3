"""A relay with two nodes: Home Assistant and the lock move to the survivor of a kill -9.

Two Mosquitto processes with the same CA and accounts stand for two nodes
of one broker.  The reconnect backoff's sleep is made instant, so nothing
here waits for time: only for the links to find the other node.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
import functools
import os
from pathlib import Path
import signal

from homeassistant.components.lock import LockState
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.secure_lock.controller.links import BrokerSettings, LinkSettings
from custom_components.secure_lock.coordinator import SecureLockCoordinator
from custom_components.secure_lock.transport import (
    Backoff,
    MqttFrameLink,
    mqtt as mqtt_module,
)
from device_sim.broker import MosquittoBroker
from device_sim.lock_runtime import (
    BrokerSettings as LockBrokerSettings,
    LockRuntime,
    RuntimeOptions,
)
from device_sim.pki import DevCertificateAuthority
from tests.sim.helpers import wait_until

from .conftest import (
    BROKER_PASSWORD,
    BROKER_USER,
    FAST,
    SimLock,
    add_lock_entry,
    pair_controller,
)

LOCK = "lock.front_door"


async def _instant(_delay: float) -> None:
    await asyncio.sleep(0)


@dataclass
class TwoNodes:
    """A lock and a Home Assistant entry that both know nodes A and B, A first."""

    a: MosquittoBroker
    b: MosquittoBroker
    lock: SimLock
    entry: MockConfigEntry

    def home_assistant_link(self) -> MqttFrameLink | None:
        """Return Home Assistant's relay link, while it has one."""
        coordinator: SecureLockCoordinator = self.entry.runtime_data.lock
        client = coordinator.connection.client
        link = None if client is None else client.link
        return link if isinstance(link, MqttFrameLink) else None

    def lock_link(self) -> MqttFrameLink:
        """Return the lock's relay link."""
        link = self.lock.runtime.mqtt
        assert link is not None
        return link


def _state(hass: HomeAssistant) -> str:
    state = hass.states.get(LOCK)
    assert state is not None
    return state.state


def _on(link: MqttFrameLink | None, port: int) -> bool:
    return link is not None and link.connected and link.endpoint.port == port


@pytest.fixture
async def two_nodes(
    hass: HomeAssistant,
    tmp_path: Path,
    broker: MosquittoBroker,
    ca: DevCertificateAuthority,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[TwoNodes]:
    """Start node B beside A, a lock on both, and a relay-only entry for it."""
    monkeypatch.setattr(
        mqtt_module, "Backoff", functools.partial(Backoff, sleep=_instant)
    )
    second = MosquittoBroker.with_dev_pki(tmp_path / "broker-b", ca)
    second.start()
    runtime = LockRuntime(
        RuntimeOptions(
            state_dir=tmp_path / "lock",
            device=FAST,
            lan=("127.0.0.1", 0),
            broker=LockBrokerSettings(
                "127.0.0.1",
                broker.lock_port,
                broker.ca_file,
                fallbacks=(("127.0.0.1", second.lock_port),),
            ),
            factory_ca=ca,
            admin_socket=False,
        )
    )
    await runtime.start()
    lock = SimLock(runtime)
    for node in (broker, second):
        node.add_controller(BROKER_USER, BROKER_PASSWORD, [lock.lock_id])
    identity, outcome = await pair_controller(lock)
    settings = LinkSettings(
        lock.device.lock_id,
        broker=BrokerSettings(
            (
                f"mqtts://127.0.0.1:{broker.controller_port}",
                f"mqtts://127.0.0.1:{second.controller_port}",
            ),
            broker.ca_file.read_text(encoding="utf-8"),
            BROKER_USER,
            BROKER_PASSWORD,
        ),
    )
    entry = add_lock_entry(hass, settings, identity, outcome.lock)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    try:
        yield TwoNodes(broker, second, lock, entry)
    finally:
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
        await runtime.stop()
        second.stop()


async def test_commands_go_through_the_surviving_node(
    hass: HomeAssistant, two_nodes: TwoNodes
) -> None:
    """Kill -9 of node A: both ends reconnect to B and a command is confirmed there."""
    nodes = two_nodes
    assert _on(nodes.home_assistant_link(), nodes.a.controller_port)
    assert _on(nodes.lock_link(), nodes.a.lock_port)
    await hass.services.async_call("lock", "unlock", {"entity_id": LOCK}, blocking=True)
    assert _state(hass) == LockState.UNLOCKED

    assert nodes.a.pid is not None
    os.kill(nodes.a.pid, signal.SIGKILL)
    nodes.a.stop()
    await wait_until(lambda: _on(nodes.home_assistant_link(), nodes.b.controller_port))
    await wait_until(lambda: _on(nodes.lock_link(), nodes.b.lock_port))

    await hass.services.async_call("lock", "lock", {"entity_id": LOCK}, blocking=True)
    assert _state(hass) == LockState.LOCKED
    assert nodes.lock.device.mechanism.status.bolt.name == "LOCKED"


async def _locked_then_node_a_killed(
    hass: HomeAssistant, nodes: TwoNodes, *, held_back: MqttFrameLink
) -> asyncio.Event:
    """Lock the door, then kill node A; ``held_back`` reconnects once the gate opens."""
    await hass.services.async_call("lock", "lock", {"entity_id": LOCK}, blocking=True)
    assert _state(hass) == LockState.LOCKED
    gate = asyncio.Event()

    async def gated(_delay: float) -> None:
        await gate.wait()

    held_back._backoff = Backoff(sleep=gated)  # noqa: SLF001
    assert nodes.a.pid is not None
    os.kill(nodes.a.pid, signal.SIGKILL)
    nodes.a.stop()
    return gate


async def test_home_assistant_asks_for_what_it_missed_while_its_node_was_down(
    hass: HomeAssistant, two_nodes: TwoNodes
) -> None:
    """The lock changed while Home Assistant's link was away: the state is fetched on return.

    The lock's event went to node B before Home Assistant was there, so it
    is lost for it (nothing is queued for an absent client).  Without asking
    again Home Assistant would show the old state until the next heartbeat
    (30 s here, never reached in this test).
    """
    nodes = two_nodes
    link = nodes.home_assistant_link()
    assert link is not None
    # Home Assistant comes back only when the test lets it: after the lock.
    gate = await _locked_then_node_a_killed(hass, nodes, held_back=link)
    await wait_until(lambda: _on(nodes.lock_link(), nodes.b.lock_port))
    assert not link.connected
    sent_before = nodes.lock_link().stats.frames_sent
    nodes.lock.device.mechanism.turn_by_hand(lock=False)
    # The lock told node B at once; nobody there was listening for it.
    await wait_until(lambda: nodes.lock_link().stats.frames_sent > sent_before)
    await hass.async_block_till_done()
    assert _state(hass) == LockState.LOCKED

    gate.set()
    await wait_until(lambda: _on(link, nodes.b.controller_port))
    await wait_until(lambda: _state(hass) == LockState.UNLOCKED)


async def test_the_lock_reports_what_it_could_not_send_while_its_node_was_down(
    hass: HomeAssistant, two_nodes: TwoNodes
) -> None:
    """The lock changed while its own link was away: it reports the state on return.

    Home Assistant was back on node B first and asked for the state; the
    lock was not there to hear it, and its event about the change went
    nowhere.  The lock's report on its return is what brings the truth.
    """
    nodes = two_nodes
    lock_link = nodes.lock_link()
    gate = await _locked_then_node_a_killed(hass, nodes, held_back=lock_link)
    await wait_until(lambda: _on(nodes.home_assistant_link(), nodes.b.controller_port))
    assert not lock_link.connected
    nodes.lock.device.mechanism.turn_by_hand(lock=False)
    await hass.async_block_till_done()
    assert _state(hass) == LockState.LOCKED

    gate.set()
    await wait_until(lambda: _on(lock_link, nodes.b.lock_port))
    await wait_until(lambda: _state(hass) == LockState.UNLOCKED)
