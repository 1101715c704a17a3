"""A simulated lock running for real: LAN WebSocket, real Mosquitto, admin channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from custom_components.secure_lock.controller import (
    CommandRefused,
    LockClient,
    LockReport,
    ReportKind,
    confirm_pairing,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    EventSource,
    ResultCode,
    SetupCode,
)
from custom_components.secure_lock.protocol.state import BoltState
from custom_components.secure_lock.transport.link import FrameLink
from device_sim.admin import SOCKET_NAME, AdminCommand, AdminRequest, admin_call
from device_sim.broker import MosquittoBroker
from device_sim.lock_device import DeviceConfig
from device_sim.lock_runtime import BrokerSettings, LockRuntime, RuntimeOptions
from device_sim.mechanism import MechanismConfig
from device_sim.pki import DevCertificateAuthority

from .conftest import LinkFactory
from .helpers import lan_link, setup_for_next_controller

FAST = DeviceConfig(mechanism=MechanismConfig(motor_seconds=0, open_hold_seconds=0.2))


@pytest.fixture(name="runtime")
async def runtime_fixture(
    tmp_path: Path, broker: MosquittoBroker, ca: DevCertificateAuthority
) -> AsyncIterator[LockRuntime]:
    """Run a lock with a LAN port and a broker link."""
    runtime = LockRuntime(
        RuntimeOptions(
            state_dir=tmp_path / "lock",
            device=FAST,
            lan=("127.0.0.1", 0),
            broker=BrokerSettings("127.0.0.1", broker.lock_port, broker.ca_file),
            factory_ca=ca,
        )
    )
    await runtime.start()
    assert runtime.mqtt is not None
    assert runtime.mqtt.connected
    yield runtime
    await runtime.stop()


async def _pair(
    runtime: LockRuntime,
    link: FrameLink,
    name: str,
    identity: ControllerIdentity | None = None,
) -> LockClient:
    """Pair as ``identity`` (a new one if None: a relay link must know it first)."""
    device = runtime.device
    assert device is not None
    await admin_call(
        runtime.options.state_dir / SOCKET_NAME, AdminRequest(AdminCommand.PRESS_BUTTON)
    )
    setup = setup_for_next_controller(device)
    identity = identity or ControllerIdentity.generate()
    outcome = await pair_over_link(
        link, identity, SetupCode.parse(setup.qr_text()), name, timeout=10
    )
    await confirm_pairing(link, identity, outcome.lock, timeout=10)
    client = LockClient(link, identity, outcome.lock)
    await client.start()
    return client


async def _wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_pair_and_operate_over_lan_and_broker(
    runtime: LockRuntime, links: LinkFactory, grant: Callable[..., None]
) -> None:
    """Pair one controller over LAN and one through the broker; both command the lock."""
    assert runtime.lan is not None
    assert runtime.device is not None
    async with lan_link(runtime.lan.url) as lan_side:
        lan = await _pair(runtime, lan_side, "Home Assistant")

        grant(runtime.device.lock_id)
        phone = ControllerIdentity.generate()
        relay_link = links.controller(
            runtime.device.lock_id, key_id=phone.key_id, hears_pairing=True
        )
        await relay_link.connect()
        relay = await _pair(runtime, relay_link, "Phone", phone)

        relay_updates: list[LockReport] = []
        relay._on_update = relay_updates.append
        assert (await lan.unlock()).status.bolt_state is BoltState.UNLOCKED
        # The LAN controller's command is pushed, signed, to the broker controller.
        await _wait_for(
            lambda: any(
                u.event is not None
                and u.event.source is EventSource.CONTROLLER
                and u.status.bolt_state is BoltState.UNLOCKED
                for u in relay_updates
            )
        )
        assert (await relay.lock()).status.bolt_state is BoltState.LOCKED
        assert (await relay.open()).status.bolt_state is BoltState.OPEN
        await _wait_for(
            lambda: (
                relay.last_status is not None
                and relay.last_status.bolt_state is BoltState.UNLOCKED
            )
        )

        # Manual use reaches both, as manual.
        await admin_call(
            runtime.options.state_dir / SOCKET_NAME,
            AdminRequest(AdminCommand.TURN, "lock"),
        )
        await _wait_for(
            lambda: any(
                u.event is not None and u.event.source is EventSource.MANUAL
                for u in relay_updates
            )
        )
        for client in (lan, relay):
            await client.close()


async def test_door_open_refusal_over_the_wire(runtime: LockRuntime) -> None:
    """The admin channel opens the door; a lock command then fails with door_open."""
    assert runtime.lan is not None
    async with lan_link(runtime.lan.url) as link:
        client = await _pair(runtime, link, "HA")
        await client.unlock()
        answer = await admin_call(
            runtime.options.state_dir / SOCKET_NAME,
            AdminRequest(AdminCommand.DOOR, "open"),
        )
        assert answer["state"]["door"] == "open"
        with pytest.raises(CommandRefused) as err:
            await client.lock()
        assert err.value.code is ResultCode.DOOR_OPEN
        await client.close()


async def test_heartbeats_arrive_through_the_broker(
    tmp_path: Path,
    broker: MosquittoBroker,
    ca: DevCertificateAuthority,
    links: LinkFactory,
    grant: Callable[..., None],
) -> None:
    """A short heartbeat interval shows the full state arriving on its own."""
    runtime = LockRuntime(
        RuntimeOptions(
            state_dir=tmp_path / "lock",
            device=DeviceConfig(
                mechanism=MechanismConfig(motor_seconds=0), heartbeat_seconds=0.2
            ),
            broker=BrokerSettings("127.0.0.1", broker.lock_port, broker.ca_file),
            factory_ca=ca,
        )
    )
    device = await runtime.start()
    try:
        grant(device.lock_id)
        identity = ControllerIdentity.generate()
        link = links.controller(
            device.lock_id, key_id=identity.key_id, hears_pairing=True
        )
        await link.connect()
        client = await _pair(runtime, link, "HA", identity)
        beats: list[LockReport] = []
        client._on_update = beats.append
        await _wait_for(lambda: sum(u.kind is ReportKind.HEARTBEAT for u in beats) >= 2)
        await client.close()
    finally:
        await runtime.stop()


async def test_restart_keeps_pairing_and_rejects_replays(
    tmp_path: Path, broker: MosquittoBroker, ca: DevCertificateAuthority
) -> None:
    """After a restart the controller still works and an old frame is ignored."""
    options = RuntimeOptions(
        state_dir=tmp_path / "lock", device=FAST, lan=("127.0.0.1", 0)
    )
    runtime = LockRuntime(options)
    await runtime.start()
    assert runtime.lan is not None
    async with lan_link(runtime.lan.url) as link:
        client = await _pair(runtime, link, "HA")
        sent: list[bytes] = []
        original_send = link.send

        async def recording_send(frame: bytes, *, expiry_s: int | None = None) -> None:
            sent.append(frame)
            await original_send(frame, expiry_s=expiry_s)

        link.send = recording_send  # type: ignore[method-assign]
        await client.unlock()
        await client.close()
    await runtime.stop()

    runtime = LockRuntime(options)
    device = await runtime.start()
    try:
        assert runtime.lan is not None
        async with lan_link(runtime.lan.url) as link:
            await link.send(sent[-1])  # the captured unlock, replayed
            await asyncio.sleep(0.2)
            assert (
                device.mechanism.status.bolt.value == "unlocked"
            )  # state from before, untouched
            assert device.state.audit.next_index == 2  # pairing + the one real unlock
            fresh = LockClient(link, client.identity, client.paired_lock)
            await fresh.start()
            assert (await fresh.lock()).status.bolt_state is BoltState.LOCKED
            await fresh.close()
    finally:
        await runtime.stop()
