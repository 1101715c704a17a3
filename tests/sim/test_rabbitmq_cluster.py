"""The real simulated lock and controller through a 3-node RabbitMQ cluster on loopback.

The lock is connected to node 0 and the controller to node 1, so every frame
crosses the cluster.  Then the controller's node is killed with SIGKILL: the
controller reconnects to a surviving node (node 2) and keeps commanding the
lock; the killed node restarts from its data and rejoins.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_socket

from custom_components.secure_lock.controller import (
    LockClient,
    confirm_pairing,
    pair_over_link,
)
from custom_components.secure_lock.protocol import ControllerIdentity, SetupCode
from custom_components.secure_lock.protocol.envelope import routing_id
from custom_components.secure_lock.protocol.state import BoltState
from custom_components.secure_lock.transport import Backoff, MqttFrameLink
from device_sim.admin import SOCKET_NAME, AdminCommand, AdminRequest, admin_call
from device_sim.lock_device import DeviceConfig
from device_sim.lock_runtime import LockRuntime, RuntimeOptions
from device_sim.mechanism import MechanismConfig
from device_sim.pki import DevCertificateAuthority
from device_sim.rabbitmq import RabbitMqCluster

from .helpers import setup_for_next_controller, wait_until

FAST = DeviceConfig(mechanism=MechanismConfig(motor_seconds=0, open_hold_seconds=0.2))
PASSWORD = "correct horse battery"
LOCK_NODE, CONTROLLER_NODE, SPARE_NODE = 0, 1, 2


@pytest.fixture(name="cluster", scope="module")
def cluster_fixture(
    tmp_path_factory: pytest.TempPathFactory, ca: DevCertificateAuthority
) -> Iterator[RabbitMqCluster]:
    """Run a 3-node cluster for the module."""
    # Module set-up runs before the per-test socket_enabled; connects stay
    # limited to 127.0.0.1 by pytest-homeassistant's host allow-list.
    pytest_socket.enable_socket()
    cluster = RabbitMqCluster.with_dev_pki(
        tmp_path_factory.mktemp("cluster"), ca, size=3
    )
    with cluster:
        yield cluster


@pytest.fixture(name="runtime")
async def runtime_fixture(
    tmp_path: Path, cluster: RabbitMqCluster, ca: DevCertificateAuthority
) -> AsyncIterator[LockRuntime]:
    """Run a lock connected to node 0 (its account is made before it dials)."""
    state_dir = tmp_path / "lock"
    # A first boot without the relay makes the lock's id; the account for it
    # must exist before the lock logs in with its certificate.
    first = LockRuntime(RuntimeOptions(state_dir=state_dir, device=FAST))
    device = await first.start()
    await first.stop()
    cluster.add_locks([device.lock_id])
    runtime = LockRuntime(
        RuntimeOptions(
            state_dir=state_dir,
            device=FAST,
            broker=cluster.broker_settings(LOCK_NODE),
            factory_ca=ca,
        )
    )
    await runtime.start()
    assert runtime.mqtt is not None and runtime.mqtt.connected
    yield runtime
    await runtime.stop()


def _running(pid: int) -> bool:
    """Return whether ``pid`` is a live process (a zombie is dead, only not reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def _controller_link(
    cluster: RabbitMqCluster,
    lock_id: bytes,
    identity: ControllerIdentity,
    node: int,
    *,
    pairing: bool = False,
) -> MqttFrameLink:
    config = cluster.controller_link_config(
        lock_id,
        "phone",
        PASSWORD,
        node=node,
        routing_id=routing_id(lock_id, identity.key_id),
        hears_pairing=pairing,
    )
    link = MqttFrameLink(config, backoff=Backoff(sleep=_instant))
    await link.connect()
    return link


async def _instant(_delay: float) -> None:
    """Return at once: the reconnect backoff's sleep (the test waits on events)."""
    await asyncio.sleep(0)


async def test_pair_and_command_across_nodes_and_survive_a_node_kill(
    cluster: RabbitMqCluster, runtime: LockRuntime
) -> None:
    """Pair and command through two nodes; after kill -9 of one, carry on via a third."""
    device = runtime.device
    assert device is not None
    cluster.add_controller("phone", PASSWORD, [device.lock_id.hex()])
    identity = ControllerIdentity.generate()
    link = await _controller_link(
        cluster, device.lock_id, identity, CONTROLLER_NODE, pairing=True
    )
    await admin_call(
        runtime.options.state_dir / SOCKET_NAME, AdminRequest(AdminCommand.PRESS_BUTTON)
    )
    setup = SetupCode.parse(setup_for_next_controller(device).qr_text())
    outcome = await pair_over_link(link, identity, setup, "Phone", timeout=10)
    await confirm_pairing(link, identity, outcome.lock, timeout=10)
    client = LockClient(link, identity, outcome.lock)
    await client.start()
    assert (await client.unlock()).status.bolt_state is BoltState.UNLOCKED
    assert (await client.lock()).status.bolt_state is BoltState.LOCKED

    vm_pid = cluster.nodes[CONTROLLER_NODE].vm_pid
    assert vm_pid is not None
    cluster.kill_node(CONTROLLER_NODE)
    assert not _running(vm_pid)
    # The link fails over by itself to the next node of its list (node 2);
    # the same client carries on.
    await wait_until(lambda: link.stats.reconnects == 1)
    assert link.endpoint.port == cluster.nodes[SPARE_NODE].mqtt_port
    assert (await client.unlock()).status.bolt_state is BoltState.UNLOCKED
    record = client.paired_lock
    await client.close()
    await link.close()

    # The killed node restarts from its data, rejoins, and serves again.
    await asyncio.to_thread(cluster.start_node, CONTROLLER_NODE)
    link = await _controller_link(cluster, device.lock_id, identity, CONTROLLER_NODE)
    client = LockClient(link, identity, record)
    await client.start()
    assert (await client.lock()).status.bolt_state is BoltState.LOCKED
    await client.close()
    await link.close()
