"""What one customer may cost the RabbitMQ relay: connections per account, messages per session.

The Mosquitto limits (device_sim/broker_limits.py) in RabbitMQ's terms
(device_sim/rabbitmq_limits.py): every lock and controller account may hold
two connections, and each MQTT session's queue at most ``queued_frames``
messages (the oldest go first), however many the customer's other account
sends to it.  One RabbitMQ node for the module; each test makes its own
accounts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
import json
import re
import secrets
import threading
import time

from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode
import pytest

from device_sim.broker_limits import PUBLISH_HEADROOM, BrokerLimits
from device_sim.rabbitmq import RabbitMqCluster
from device_sim.rabbitmq_accounts import VHOST, Grant, RelayAccounts, TopicPermission
from device_sim.rabbitmq_limits import CONNECTIONS_PER_ACCOUNT, AccountLimits

from .mqtt_customer import WAIT
from .rabbitmq_client import RabbitCustomer
from .rabbitmq_site import PASSWORD, Site

LIMITS = BrokerLimits()
PREFETCH = 10
"""RabbitMQ's MQTT default: QoS 1 messages sent to a client and not yet acknowledged."""
FLOOD_FRAMES = 4 * LIMITS.queued_frames
FRAME = bytes(LIMITS.max_packet_size - PUBLISH_HEADROOM)
"""The largest frame a link sends."""
POLL = 0.02
QUOTA_EXCEEDED = ReasonCode(PacketTypes.CONNACK, "Quota exceeded")
"""The CONNACK reason of a connection over the account's limit."""


def _lock_id() -> bytes:
    return secrets.token_bytes(16)


def _up(lock_id: bytes) -> str:
    return f"securelock/v1/{lock_id.hex()}/up/{secrets.token_hex(16)}"


def _name() -> str:
    return f"ctl{secrets.token_hex(4)}"


def _poll(condition: Callable[[], bool]) -> None:
    """Wait for broker state that offers no event to wait on; fail after WAIT."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the broker did not get there")
        time.sleep(POLL)


def _erlang_binary(text: str) -> str:
    return "<<" + ",".join(str(b) for b in text.encode()) + ">>"


def _counted_connections(relay: RabbitMqCluster, username: str) -> int:
    """Return how many connections of ``username`` the broker counts for its limit."""
    answer = relay.nodes[0].call(
        "rabbit_connection_tracking:count_tracked_items_in("
        f"{{user, {_erlang_binary(username)}}})."
    )
    return int(answer.removeprefix("{ok,").strip(" }\n"))


def _session_queue(relay: RabbitMqCluster, client_id: str) -> dict[str, int]:
    """Return what the broker holds in a QoS 1 session queue (messages and bytes)."""
    name = _erlang_binary(f"mqtt-subscription-{client_id}qos1")
    answer = relay.nodes[0].call(
        f"{{ok, Q}} = rabbit_amqqueue:lookup(rabbit_misc:r({_erlang_binary(VHOST)},"
        f" queue, {name})),"
        " rabbit_amqqueue:info(Q, [messages_ready, message_bytes_ready,"
        " messages_unacknowledged])."
    )
    return {
        key: int(value)
        for key, value in re.findall(r"\{(\w+),(\d+)\}", answer.replace(" ", ""))
    }


@dataclass
class StalledCustomer(RabbitCustomer):
    """A subscriber whose network thread stops at its first message until released."""

    release: threading.Event = field(default_factory=threading.Event)
    stalled: threading.Event = field(default_factory=threading.Event)

    def _on_message(
        self, client: Client, userdata: object, message: MQTTMessage
    ) -> None:
        self.stalled.set()
        # Neither acknowledges nor reads the socket: paho's one thread waits here.
        self.release.wait(WAIT * 4)
        super()._on_message(client, userdata, message)


@pytest.fixture(name="stalled")
def stalled_fixture() -> Iterator[list[StalledCustomer]]:
    """Release every stalled subscriber before its connection is closed."""
    made: list[StalledCustomer] = []
    yield made
    for client in made:
        client.release.set()
        client.close()


def test_the_definitions_carry_the_limits() -> None:
    """Locks and controllers get the user limit, other users none; every vhost the policy."""

    class WithOperator(RelayAccounts):
        def grants(self) -> list[Grant]:
            anything = TopicPermission("^.*$", "^.*$")
            return [*super().grants(), Grant("operator", "hash", VHOST, anything)]

    accounts = WithOperator(controller_vhost="controllers")
    lock = "a1" * 16
    accounts.add_lock(lock)
    accounts.add_controllers([("ha", "pw", [lock])])
    document = json.loads(accounts.definitions())
    assert {u["name"]: u.get("limits") for u in document["users"]} == {
        lock: {"max-connections": CONNECTIONS_PER_ACCOUNT},
        "ha": {"max-connections": CONNECTIONS_PER_ACCOUNT},
        "operator": None,
    }
    policies = {p["vhost"]: p for p in document["policies"]}
    assert set(policies) == {VHOST, "controllers"}
    for policy in policies.values():
        assert policy["apply-to"] == "queues"
        assert re.match(policy["pattern"], "mqtt-subscription-abcqos1")
        assert policy["definition"] == {
            "max-length": LIMITS.queued_frames,
            "max-length-bytes": LIMITS.queued_bytes,
            "overflow": "drop-head",
        }
    with pytest.raises(ValueError, match="at least one"):
        AccountLimits(connections=0)


@pytest.mark.parametrize("kind", ["lock", "controller"])
def test_an_account_holds_two_connections_and_no_third(site: Site, kind: str) -> None:
    """A third connection of one account is refused; the others and other accounts go on."""
    assert CONNECTIONS_PER_ACCOUNT == 2
    if kind == "lock":
        lock_id = _lock_id()
        username = lock_id.hex()
        device = site.device(lock_id)

        def customer() -> RabbitCustomer:
            return RabbitCustomer.lock_on(site.relay, device)

    else:
        username = _name()
        site.relay.add_controller(username, PASSWORD, [])

        def customer() -> RabbitCustomer:
            return RabbitCustomer.controller_on(site.relay, username, PASSWORD)

    def connect() -> tuple[RabbitCustomer, ReasonCode]:
        client = customer()
        site.clients.append(client)
        return client, client.connect()

    def counted() -> bool:
        # RabbitMQ counts a new connection a moment after accepting it, so
        # connections made at once can briefly pass the limit.
        return _counted_connections(site.relay, username) == CONNECTIONS_PER_ACCOUNT

    (first, _), (second, _) = connect(), connect()
    assert first.connected and second.connected
    _poll(counted)
    third, refusal = connect()
    assert not third.connected
    assert refusal == QUOTA_EXCEEDED
    assert first.connected and second.connected
    # Another customer is not held to this one's count.
    assert site.lock(_lock_id()).connected
    assert site.controller(_name()).connected
    # The count is of live connections: one leaving makes room for one.
    second.close()
    _poll(lambda: connect()[0].connected)
    _poll(counted)
    assert connect()[1] == QUOTA_EXCEEDED
    assert first.connected


def test_an_absent_session_keeps_only_the_newest_frames(site: Site) -> None:
    """A persistent session flooded while away holds queued_frames, the newest ones."""
    lock_id = _lock_id()
    username = _name()
    site.relay.add_controller(username, PASSWORD, [lock_id.hex()])
    client_id = secrets.token_hex(16)

    def session() -> RabbitCustomer:
        client = RabbitCustomer.controller_on(
            site.relay,
            username,
            PASSWORD,
            client_id=client_id,
            clean_start=False,
            session_expiry=3600,
        )
        site.clients.append(client)
        assert not client.connect().is_failure
        return client

    away = session()
    up = _up(lock_id)
    away.subscribe(up)
    away.close()

    lock = site.lock(lock_id)
    for number in range(FLOOD_FRAMES):
        # Every publish is accepted: a full queue costs its owner, not the sender.
        assert lock.publish(up, number.to_bytes(4) + FRAME[4:])
    held = _session_queue(site.relay, client_id)
    assert held["messages_ready"] == LIMITS.queued_frames
    assert held["message_bytes_ready"] <= LIMITS.queued_bytes

    back = session()
    numbers = [
        int.from_bytes(back.next_message().payload[:4])
        for _ in range(LIMITS.queued_frames)
    ]
    assert numbers == list(range(FLOOD_FRAMES - LIMITS.queued_frames, FLOOD_FRAMES))


def test_a_subscriber_that_stops_reading_holds_a_bounded_queue(
    site: Site, stalled: list[StalledCustomer]
) -> None:
    """A connected QoS 1 subscriber that reads nothing: the queue stops at the bound."""
    lock_id = _lock_id()
    username = _name()
    site.relay.add_controller(username, PASSWORD, [lock_id.hex()])
    reader = StalledCustomer.controller_on(site.relay, username, PASSWORD)
    assert isinstance(reader, StalledCustomer)
    stalled.append(reader)
    assert not reader.connect().is_failure
    assert reader.assigned_client_id is not None
    up = _up(lock_id)
    reader.subscribe(up)

    lock = site.lock(lock_id)
    for _ in range(FLOOD_FRAMES):
        assert lock.publish(up, FRAME)
    assert reader.stalled.wait(WAIT)
    held = _session_queue(site.relay, reader.assigned_client_id)
    assert held["messages_ready"] == LIMITS.queued_frames
    assert held["message_bytes_ready"] <= LIMITS.queued_bytes
    assert held["messages_unacknowledged"] <= PREFETCH
    assert reader.connected
