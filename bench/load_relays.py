"""The relay under bench/load.py: one Mosquitto, or a RabbitMQ cluster on loopback.

Both give the load the same few things: where the locks dial (first node
and fallbacks), a controller's link, accounts, and the broker processes to
measure.  On the cluster the locks dial node 0 and the controllers are
spread over the other nodes, so every frame crosses the cluster; every
link lists the other nodes as fallbacks.
"""

from __future__ import annotations

from collections.abc import Iterable
import dataclasses
from pathlib import Path
import time

from custom_components.secure_lock.protocol import ControllerIdentity
from custom_components.secure_lock.protocol.envelope import routing_id
from custom_components.secure_lock.transport import MqttFrameLink
from device_sim.broker import MosquittoBroker
from device_sim.pki import DevCertificateAuthority
from device_sim.rabbitmq import RabbitMqCluster

CONNECT_TIMEOUT = 60.0
"""Generous: hundreds of links connect at once on a loaded 2-core box."""


class MosquittoRelay:
    """One Mosquitto process (the default relay)."""

    name = "mosquitto"
    needs_lock_accounts = False

    def __init__(self, directory: Path, ca: DevCertificateAuthority) -> None:
        """Prepare the broker in ``directory``."""
        self.broker = MosquittoBroker.with_dev_pki(directory, ca)

    def start(self) -> None:
        """Start the broker."""
        self.broker.start()

    def stop(self) -> None:
        """Stop the broker."""
        self.broker.stop()

    def lock_ports(self) -> list[int]:
        """Return where the locks dial, first choice first."""
        return [self.broker.lock_port]

    def add_locks(self, lock_ids: Iterable[bytes]) -> None:
        """Nothing to do: Mosquitto's ACL pattern derives a lock's topics from its CN."""

    def add_controllers(
        self, accounts: Iterable[tuple[str, str, Iterable[str]]]
    ) -> None:
        """Create the controller accounts (one reload)."""
        self.broker.add_controllers(accounts)

    def controller_link(
        self,
        lock_id: bytes,
        identity: ControllerIdentity,
        account: str,
        password: str,
        index: int,
    ) -> MqttFrameLink:
        """Return the link of controller ``index`` (pairs and then operates over it)."""
        del index  # one broker: every controller dials it
        config = self.broker.controller_link_config(
            lock_id,
            account,
            password,
            routing_id=routing_id(lock_id, identity.key_id),
            hears_pairing=True,
        )
        return MqttFrameLink(
            dataclasses.replace(config, connect_timeout=CONNECT_TIMEOUT)
        )

    def processes(self) -> dict[str, int]:
        """Return the broker's live processes by name."""
        return {} if self.broker.pid is None else {"mosquitto": self.broker.pid}

    def node_names(self) -> dict[int, str]:
        """Return which node listens on each port."""
        return {self.broker.controller_port: "mosquitto"}

    def kill_node(self, index: int) -> None:
        """Not available: one process has no node to lose and survive."""
        raise ValueError("--kill-node needs --relay rabbitmq")

    def start_node(self, index: int) -> None:
        """Not available (see kill_node)."""
        raise ValueError("--kill-node needs --relay rabbitmq")


class RabbitMqRelay:
    """A RabbitMQ cluster of ``size`` nodes: locks on node 0, controllers on the rest."""

    name = "rabbitmq"
    needs_lock_accounts = True

    def __init__(self, directory: Path, ca: DevCertificateAuthority, size: int) -> None:
        """Prepare the cluster in ``directory``."""
        self.cluster = RabbitMqCluster.with_dev_pki(directory, ca, size=size)
        self.last_kill_seconds: float | None = None

    def start(self) -> None:
        """Start every node."""
        self.cluster.start()

    def stop(self) -> None:
        """Stop every node."""
        self.cluster.stop()

    def lock_ports(self) -> list[int]:
        """Return node 0's port, then the other nodes' (the lock's failover list)."""
        settings = self.cluster.broker_settings(0)
        return [settings.port, *(port for _host, port in settings.fallbacks)]

    def add_locks(self, lock_ids: Iterable[bytes]) -> None:
        """Create the lock accounts: RabbitMQ needs one for a certificate login."""
        self.cluster.add_locks(lock_ids)

    def add_controllers(
        self, accounts: Iterable[tuple[str, str, Iterable[str]]]
    ) -> None:
        """Create the controller accounts (one change)."""
        self.cluster.add_controllers(accounts)

    def controller_node(self, index: int) -> int:
        """Return the node controller ``index`` dials first: 1..K-1 in turn."""
        size = len(self.cluster.nodes)
        return 0 if size == 1 else 1 + index % (size - 1)

    def controller_link(
        self,
        lock_id: bytes,
        identity: ControllerIdentity,
        account: str,
        password: str,
        index: int,
    ) -> MqttFrameLink:
        """Return the link of controller ``index``, the other nodes as fallbacks."""
        return MqttFrameLink(
            self.cluster.controller_link_config(
                lock_id,
                account,
                password,
                node=self.controller_node(index),
                routing_id=routing_id(lock_id, identity.key_id),
                hears_pairing=True,
                connect_timeout=CONNECT_TIMEOUT,
            )
        )

    def processes(self) -> dict[str, int]:
        """Return each running node's Erlang VM by name (rabbit0, rabbit1, ...)."""
        return {
            f"rabbit{node.index}": pid
            for node in self.cluster.nodes
            if (pid := node.vm_pid) is not None
        }

    def node_names(self) -> dict[int, str]:
        """Return which node listens on each port."""
        return {node.mqtt_port: f"rabbit{node.index}" for node in self.cluster.nodes}

    def kill_node(self, index: int) -> None:
        """Kill -9 node ``index`` (returns once its VM is dead)."""
        began = time.monotonic()
        self.cluster.kill_node(index)
        self.last_kill_seconds = time.monotonic() - began

    def start_node(self, index: int) -> None:
        """Start node ``index`` again; it rejoins from its data."""
        self.cluster.start_node(index)


type Relay = MosquittoRelay | RabbitMqRelay
