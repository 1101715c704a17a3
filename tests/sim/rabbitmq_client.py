"""A raw MQTT 5 client of a RabbitMQ relay that also reports SUBACK reasons and properties.

RabbitMQ answers a subscription its read permission refuses with a failing
SUBACK reason (Mosquitto 2.0.11 acknowledges it and filters each message),
so the permission tests check that reason; they also check that nothing
arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import queue
import threading
from typing import Any

from paho.mqtt.client import Client, ConnectFlags, MQTTMessage
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from custom_components.secure_lock.transport import client_tls_context
from device_sim.pki import CertFiles
from device_sim.rabbitmq import RabbitMqCluster

from .mqtt_customer import WAIT, Customer


@dataclass(frozen=True, slots=True)
class Received:
    """A delivered message with what the relay said about it."""

    topic: str
    payload: bytes
    message_expiry: int | None


@dataclass
class RabbitCustomer(Customer):
    """A customer that records SUBACK reasons and full deliveries."""

    received: queue.Queue[Received] = field(default_factory=queue.Queue)
    _suback_reasons: list[ReasonCode] = field(default_factory=list)
    _suback_done: threading.Event = field(default_factory=threading.Event)
    assigned_client_id: str | None = None
    granted_session_expiry: int | None = None
    """The Session Expiry Interval the CONNACK granted, when it named one."""

    @classmethod
    def lock_on(
        cls, relay: RabbitMqCluster, device: CertFiles, node: int = 0, **options: Any
    ) -> RabbitCustomer:
        """Return a lock's connection (certificate only) to ``node``."""
        tls = client_tls_context(relay.ca_file, device.cert, device.key)
        return cls(relay.nodes[node].mqtt_port, tls, **options)

    @classmethod
    def controller_on(
        cls,
        relay: RabbitMqCluster,
        username: str | None,
        password: str | None,
        node: int = 0,
        **options: Any,
    ) -> RabbitCustomer:
        """Return a password connection (no certificate) to ``node``."""
        return cls(
            relay.nodes[node].mqtt_port,
            client_tls_context(relay.ca_file),
            username=username,
            password=password,
            **options,
        )

    def subscribe_reason(self, topic: str) -> ReasonCode:
        """Subscribe at QoS 1; return the SUBACK's reason for this filter."""
        assert self._client is not None
        self._suback_done.clear()
        self._client.subscribe(topic, qos=1)
        if not self._suback_done.wait(WAIT) and not self._gone.wait(0):
            raise TimeoutError("no SUBACK")
        if self._gone.is_set() and not self._suback_reasons:
            assert self._disconnect_reason is not None
            return self._disconnect_reason
        return self._suback_reasons[0]

    def publish_with_expiry(self, topic: str, payload: bytes, expiry: int) -> bool:
        """Publish at QoS 1 with a Message Expiry Interval; return whether accepted."""
        assert self._client is not None
        properties = Properties(3)  # type: ignore[no-untyped-call]  # PUBLISH
        properties.MessageExpiryInterval = expiry
        info = self._client.publish(topic, payload, qos=1, properties=properties)
        with self._changed:
            if not self._changed.wait_for(
                lambda: info.mid in self._acks or self._gone.is_set(), WAIT
            ):
                raise TimeoutError("no PUBACK and no disconnect")
            reason = self._acks.get(info.mid)
        return reason is not None and not reason.is_failure

    def next_message(self, timeout: float = WAIT) -> Received:
        """Return the next delivery (TimeoutError after ``timeout``)."""
        try:
            return self.received.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("nothing arrived") from None

    def _on_connect(
        self,
        client: Client,
        userdata: object,
        flags: ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.assigned_client_id = getattr(properties, "AssignedClientIdentifier", None)
        self.granted_session_expiry = getattr(properties, "SessionExpiryInterval", None)
        super()._on_connect(client, userdata, flags, reason, properties)

    def _on_subscribe(
        self,
        _client: Client,
        _userdata: object,
        _mid: int,
        reasons: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        self._suback_reasons = list(reasons)
        self._suback_done.set()
        self._suback.set()

    def _on_message(
        self, _client: Client, _userdata: object, message: MQTTMessage
    ) -> None:
        expiry = getattr(message.properties, "MessageExpiryInterval", None)
        self.received.put(Received(message.topic, message.payload, expiry))
        self.messages.put(message.payload)
