"""The two routing domains the attacker sits between, on either relay.

A `Stage` asks its `RelayDomains` where a lock dials, how a controller
account is made and dials, and how the attacker logs in on each side; it
does not know whether these are two Mosquitto brokers
(`MosquittoDomains`) or two virtual hosts of one RabbitMQ cluster
(``cluster_relay.ClusterDomains``).  hostile_relay.py says why both are an
honest hostile relay.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
import dataclasses
from enum import Enum
from pathlib import Path

from custom_components.secure_lock.transport import MqttLinkConfig
from device_sim.lock_runtime import BrokerSettings

from .hostile_relay import OperatorBroker, OperatorLogin, mosquitto_operator


class Side(Enum):
    """One side of the attacker's path."""

    LOCKS = "locks"
    CONTROLLERS = "controllers"


class RelayDomains(ABC):
    """Where locks and controllers dial, and the attacker's logins between them."""

    needs_lock_account: bool = False
    """Whether a lock's account must exist before the lock logs in."""

    @property
    @abstractmethod
    def ca_file(self) -> Path:
        """Return the CA certificate the controllers' side is verified with."""

    @abstractmethod
    def lock_settings(self) -> BrokerSettings:
        """Return how a lock reaches its side."""

    def admit_lock(self, lock_id: bytes) -> None:
        """Create the lock's account where the relay needs one (see needs_lock_account)."""
        del lock_id

    @abstractmethod
    def add_controller(
        self, username: str, password: str, topic_ids: Iterable[str]
    ) -> None:
        """Create or replace a controller account on the controllers' side."""

    @abstractmethod
    def controller_link_config(
        self,
        lock_id: bytes,
        username: str,
        password: str,
        *,
        routing_id: bytes | None,
        hears_pairing: bool,
    ) -> MqttLinkConfig:
        """Return how a controller account reaches one lock's topics."""

    @abstractmethod
    def controller_urls(self) -> tuple[str, ...]:
        """Return the broker URLs Home Assistant is configured with."""

    @abstractmethod
    def controller_login(self, username: str) -> str:
        """Return the MQTT user name a controller account connects with."""

    @abstractmethod
    def operator(self, side: Side, account: int) -> OperatorLogin:
        """Return the attacker's ``account``-th login on ``side``."""


class MosquittoDomains(RelayDomains):
    """Broker L for locks and broker C for controllers, two Mosquitto processes."""

    def __init__(
        self, lock_broker: OperatorBroker, controller_broker: OperatorBroker
    ) -> None:
        """Use two running brokers."""
        self.lock_broker = lock_broker
        self.controller_broker = controller_broker

    @property
    def ca_file(self) -> Path:
        """Return broker C's CA certificate."""
        return self.controller_broker.ca_file

    def lock_settings(self) -> BrokerSettings:
        """Return broker L's lock listener."""
        broker = self.lock_broker
        return BrokerSettings("127.0.0.1", broker.lock_port, broker.ca_file)

    def add_controller(
        self, username: str, password: str, topic_ids: Iterable[str]
    ) -> None:
        """Create or replace the account on broker C."""
        self.controller_broker.add_controller(username, password, list(topic_ids))

    def controller_link_config(
        self,
        lock_id: bytes,
        username: str,
        password: str,
        *,
        routing_id: bytes | None,
        hears_pairing: bool,
    ) -> MqttLinkConfig:
        """Return broker C's controller listener for this account."""
        config = self.controller_broker.controller_link_config(
            lock_id,
            username,
            password,
            routing_id=routing_id,
            hears_pairing=hears_pairing,
        )
        return dataclasses.replace(config, connect_timeout=5.0)

    def controller_urls(self) -> tuple[str, ...]:
        """Return broker C's controller listener."""
        return (f"mqtts://127.0.0.1:{self.controller_broker.controller_port}",)

    def controller_login(self, username: str) -> str:
        """Return the account name itself (one broker, one namespace)."""
        return username

    def operator(self, side: Side, account: int) -> OperatorLogin:
        """Return the operator account on broker L or C."""
        broker = self.lock_broker if side is Side.LOCKS else self.controller_broker
        return mosquitto_operator(broker, account)
