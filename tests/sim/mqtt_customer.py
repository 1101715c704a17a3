"""A raw MQTT 5 client of the test broker: a customer trying what the links never do.

`MqttFrameLink` always starts clean, never retains and never leaves a will;
an attacker holding a legitimate certificate or account is not bound by
that.  This client exposes those options.  paho runs its network loop in
its own thread, and every wait is on an event with a timeout, never a sleep.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import queue
import ssl
import threading
from typing import Any

from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from custom_components.secure_lock.transport import client_tls_context
from device_sim.broker import MosquittoBroker
from device_sim.pki import CertFiles

WAIT = 5.0
"""How long an answer from a local broker may take before the test fails."""
MAX_SESSION_EXPIRY = 2**32 - 1
"""The MQTT 5 session expiry that means "never"."""


@dataclass(frozen=True, slots=True)
class Will:
    """A will message the customer asks the broker to publish for it."""

    topic: str
    payload: bytes
    retain: bool


@dataclass
class Customer:
    """One raw connection to the broker."""

    port: int
    tls: ssl.SSLContext = field(repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    clean_start: bool = True
    session_expiry: int | None = None
    will: Will | None = None
    client_id: str = ""
    """Empty: the broker assigns one (what the links do)."""
    messages: queue.Queue[bytes] = field(default_factory=queue.Queue)
    _connack: threading.Event = field(default_factory=threading.Event)
    _gone: threading.Event = field(default_factory=threading.Event)
    _suback: threading.Event = field(default_factory=threading.Event)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _acks: dict[int, ReasonCode] = field(default_factory=dict)
    _connect_reason: ReasonCode | None = None
    _disconnect_reason: ReasonCode | None = None
    _client: Client | None = None

    @classmethod
    def lock(
        cls, broker: MosquittoBroker, device: CertFiles, **options: Any
    ) -> Customer:
        """Return a customer on the lock listener with this device certificate."""
        tls = client_tls_context(broker.ca_file, device.cert, device.key)
        return cls(broker.lock_port, tls, **options)

    @classmethod
    def controller(
        cls,
        broker: MosquittoBroker,
        username: str,
        password: str,
        *,
        device: CertFiles | None = None,
        **options: Any,
    ) -> Customer:
        """Return a customer on the controller listener with this account.

        ``device`` presents a client certificate as well (the listener does
        not ask for one).
        """
        cert, key = (None, None) if device is None else (device.cert, device.key)
        tls = client_tls_context(broker.ca_file, cert, key)
        return cls(
            broker.controller_port, tls, username=username, password=password, **options
        )

    def connect(self) -> ReasonCode:
        """Connect and return the broker's CONNACK reason (or its refusal)."""
        client = Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            reconnect_on_failure=False,
        )
        client.tls_set_context(self.tls)
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.will is not None:
            client.will_set(
                self.will.topic, self.will.payload, qos=1, retain=self.will.retain
            )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        if self.session_expiry is not None:
            properties.SessionExpiryInterval = self.session_expiry
        self._client = client
        client.connect(
            "127.0.0.1",
            self.port,
            keepalive=60,
            clean_start=self.clean_start,
            properties=properties,
        )
        client.loop_start()
        if not self._connack.wait(WAIT) and not self._gone.wait(WAIT):
            raise TimeoutError("no CONNACK and no disconnect")
        reason = self._connect_reason or self._disconnect_reason
        assert reason is not None
        return reason

    @property
    def connected(self) -> bool:
        """Return whether the broker accepted the connection and still holds it."""
        return (
            self._connect_reason is not None
            and not self._connect_reason.is_failure
            and not self._gone.is_set()
        )

    def subscribe(self, topic: str) -> None:
        """Subscribe at QoS 1 and wait for the SUBACK."""
        assert self._client is not None
        self._suback.clear()
        self._client.subscribe(topic, qos=1)
        if not self._suback.wait(WAIT):
            raise TimeoutError("no SUBACK")

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> bool:
        """Publish at QoS 1; return whether the broker accepted it.

        False means a refusing PUBACK, or the broker dropped the connection.
        """
        assert self._client is not None
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        with self._changed:
            if not self._changed.wait_for(
                lambda: info.mid in self._acks or self._gone.is_set(), WAIT
            ):
                raise TimeoutError("no PUBACK and no disconnect")
            reason = self._acks.get(info.mid)
        return reason is not None and not reason.is_failure

    def wait_gone(self, timeout: float = WAIT) -> ReasonCode | None:
        """Wait until the broker drops this connection; return its reason."""
        if not self._gone.wait(timeout):
            raise TimeoutError("the broker kept the connection")
        return self._disconnect_reason

    def close(self) -> None:
        """Disconnect (if still connected) and stop paho's thread."""
        client, self._client = self._client, None
        if client is None:
            return
        if self.connected:
            client.disconnect()
            self._gone.wait(WAIT)
        client.loop_stop()

    # -- paho callbacks (paho's thread) ---------------------------------------

    def _on_connect(
        self,
        _client: Client,
        _userdata: object,
        _flags: ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._connect_reason = reason
        self._connack.set()

    def _on_disconnect(
        self,
        _client: Client,
        _userdata: object,
        _flags: DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        with self._changed:
            self._disconnect_reason = reason
            self._gone.set()
            self._changed.notify_all()

    def _on_subscribe(
        self,
        _client: Client,
        _userdata: object,
        _mid: int,
        _reasons: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        self._suback.set()

    def _on_publish(
        self,
        _client: Client,
        _userdata: object,
        mid: int,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        with self._changed:
            self._acks[mid] = reason
            self._changed.notify_all()

    def _on_message(
        self, _client: Client, _userdata: object, message: MQTTMessage
    ) -> None:
        self.messages.put(message.payload)


def rss_bytes(pid: int) -> int:
    """Return a process's resident set size (VmRSS) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise LookupError(f"no VmRSS for process {pid}")
