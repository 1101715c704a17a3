"""RabbitMQ as the relay: logins and topic permissions equal to the Mosquitto ACLs.

One RabbitMQ node for the module (it takes seconds to boot); each test uses
its own lock ids and accounts.  The layout enforced (docs/transport.md):
``<lock>/down`` controllers -> lock, ``<lock>/up/<one level>`` lock -> one
controller, ``discover/<dd>`` and ``found/<account>`` for discovery.  Every
refusal below is checked as RabbitMQ reports it (a failing SUBACK or PUBACK
reason) and, where a message could leak, by its not arriving.
"""

from __future__ import annotations

from pathlib import Path
import queue
import secrets
import socket
import ssl
import subprocess

import pytest

from device_sim.broker_limits import MAX_PACKET_SIZE, PUBLISH_HEADROOM
from device_sim.pki import DevCertificateAuthority, write_issued
from device_sim.rabbitmq import MAX_SESSION_EXPIRY_S, SEND_TIMEOUT_MS, RabbitMqCluster
from device_sim.rabbitmq_accounts import AccountNameError, routing_key

from .rabbitmq_client import RabbitCustomer
from .rabbitmq_site import PASSWORD, Site

SILENCE = 0.3
LARGEST_PAYLOAD = MAX_PACKET_SIZE - PUBLISH_HEADROOM
"""A message through a local relay arrives in milliseconds; this long proves one does not."""


def _lock_id() -> bytes:
    return secrets.token_bytes(16)


def _topic(lock_id: bytes, rest: str) -> str:
    return f"securelock/v1/{lock_id.hex()}/{rest}"


def _name() -> str:
    return f"ctl{secrets.token_hex(4)}"


def _assert_nothing(client: RabbitCustomer) -> None:
    with pytest.raises(queue.Empty):
        client.received.get(timeout=SILENCE)


def test_a_dot_in_an_account_name_is_refused(relay: RabbitMqCluster) -> None:
    """RabbitMQ 4.3 makes an MQTT '.' a level: found/a.b would be found/a/b."""
    assert routing_key("securelock/v1/found/a.b") == routing_key(
        "securelock/v1/found/a/b"
    )
    assert routing_key("securelock/v1/ab/up/+") == "securelock.v1.ab.up.*"
    with pytest.raises(AccountNameError):
        relay.add_controller("alice.b", PASSWORD, [])
    assert "alice.b" not in relay.accounts.controllers


def test_lock_reaches_a_granted_controller_only_on_its_own_up_topics(
    site: Site,
) -> None:
    """A lock writes its own up/<recipient>; only controllers granted it hear it."""
    lock_a, lock_b = _lock_id(), _lock_id()
    granted = site.controller(_name(), lock_a)
    other = site.controller(_name(), lock_b)
    lock = site.lock(lock_a)
    recipient = secrets.token_hex(16)
    assert not granted.subscribe_reason(_topic(lock_a, "up/+")).is_failure
    assert other.subscribe_reason(_topic(lock_a, "up/+")).is_failure

    assert lock.publish(_topic(lock_a, f"up/{recipient}"), b"to one controller")
    delivered = granted.next_message()
    assert delivered.topic == _topic(lock_a, f"up/{recipient}")
    assert delivered.payload == b"to one controller"
    assert lock.publish(_topic(lock_a, "up/pairing"), b"pairing answer")
    assert granted.next_message().payload == b"pairing answer"
    _assert_nothing(other)

    # Not another lock's topics, not its own down, not up itself or two levels.
    assert not lock.publish(_topic(lock_b, f"up/{recipient}"), b"forged")
    assert lock.connected
    _assert_nothing(other)


@pytest.mark.parametrize(
    "rest",
    ["down", "up", f"up/{'ab' * 16}/extra"],
)
def test_lock_may_not_write_outside_up_one_level(site: Site, rest: str) -> None:
    """The lock's write rule is exactly up/<one level> of its own id."""
    lock_a = _lock_id()
    lock = site.lock(lock_a)
    assert not lock.publish(_topic(lock_a, rest), b"x")


def test_lock_reads_only_its_down_and_every_probe(site: Site) -> None:
    """A lock subscribes to its own down and discover/+, nothing else."""
    lock_a, lock_b = _lock_id(), _lock_id()
    controller = site.controller(_name(), lock_a, lock_b)
    lock = site.lock(lock_a)
    assert not lock.subscribe_reason(_topic(lock_a, "down")).is_failure
    assert not lock.subscribe_reason("securelock/v1/discover/+").is_failure
    for refused in (
        _topic(lock_b, "down"),
        _topic(lock_a, "up/+"),
        "securelock/v1/+/down",
        "securelock/v1/#",
        "securelock/v1/found/+",
    ):
        assert lock.subscribe_reason(refused).is_failure, refused
    assert controller.publish(_topic(lock_b, "down"), b"for b")
    assert controller.publish(_topic(lock_a, "down"), b"for a")
    assert controller.publish("securelock/v1/discover/07", b"probe")
    got = {lock.next_message().payload, lock.next_message().payload}
    assert got == {b"for a", b"probe"}
    _assert_nothing(lock)


def test_controller_is_confined_to_its_granted_locks(site: Site) -> None:
    """A controller writes down and reads up/+ of granted locks only."""
    lock_a, lock_b = _lock_id(), _lock_id()
    controller = site.controller(_name(), lock_a)
    assert controller.publish(_topic(lock_a, "down"), b"command")
    assert not controller.publish(_topic(lock_b, "down"), b"command")
    assert not controller.publish(_topic(lock_a, "up/pairing"), b"forged answer")
    assert not controller.subscribe_reason(_topic(lock_a, "up/+")).is_failure
    assert not controller.subscribe_reason(_topic(lock_a, "up/pairing")).is_failure
    for refused in (
        _topic(lock_b, "up/+"),
        _topic(lock_a, "up/#"),
        _topic(lock_a, "down"),
        "securelock/v1/+/up/+",
        "securelock/v1/discover/+",
    ):
        assert controller.subscribe_reason(refused).is_failure, refused


def test_discovery_answers_reach_only_their_account(site: Site) -> None:
    """found/<account> is readable by that account only."""
    asker_name, other_name = _name(), _name()
    lock = site.lock(_lock_id())
    asker = site.controller(asker_name)
    other = site.controller(other_name)
    assert asker.publish("securelock/v1/discover/42", b"probe")
    assert not asker.subscribe_reason(f"securelock/v1/found/{asker_name}").is_failure
    assert other.subscribe_reason(f"securelock/v1/found/{asker_name}").is_failure
    assert asker.subscribe_reason(f"securelock/v1/found/{other_name}").is_failure
    assert asker.subscribe_reason("securelock/v1/found/+").is_failure
    assert asker.subscribe_reason(f"securelock/v1/found/{asker_name}/#").is_failure
    assert not other.subscribe_reason(f"securelock/v1/found/{other_name}").is_failure

    assert lock.publish(f"securelock/v1/found/{asker_name}", b"answer")
    assert asker.next_message().payload == b"answer"
    _assert_nothing(other)
    # A lock answers; it cannot probe.
    assert not lock.publish("securelock/v1/discover/42", b"probe")


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("guest", "guest"),
        (None, None),
        ("wrong-password", "not it"),
    ],
)
def test_logins_refused(site: Site, username: str | None, password: str | None) -> None:
    """No default account, no anonymous login, no wrong password."""
    site.relay.add_controller("wrong-password", PASSWORD, [])
    assert not site.connect_as(username, password).connected


def test_nobody_logs_in_as_a_lock_with_a_password(site: Site) -> None:
    """A lock account has no password: only its certificate logs it in."""
    lock_a = _lock_id()
    site.device(lock_a)
    # No password at all, and one some controller really has.
    for password in (None, PASSWORD):
        assert not site.connect_as(lock_a.hex(), password).connected


def test_a_certificate_for_an_unknown_lock_is_refused(
    site: Site, ca: DevCertificateAuthority, tmp_path: Path
) -> None:
    """RabbitMQ needs the account: a valid certificate alone does not log in."""
    files = write_issued(ca.issue_lock(_lock_id()), tmp_path / "unknown", "lock")
    client = RabbitCustomer.lock_on(site.relay, files)
    site.clients.append(client)
    assert client.connect().is_failure


def test_message_expiry_is_carried_to_the_lock(site: Site) -> None:
    """The MQTT 5 Message Expiry Interval of a command reaches the lock."""
    lock_a = _lock_id()
    controller = site.controller(_name(), lock_a)
    lock = site.lock(lock_a)
    lock.subscribe(_topic(lock_a, "down"))
    assert controller.publish_with_expiry(_topic(lock_a, "down"), b"cmd", 30)
    delivered = lock.next_message()
    assert delivered.payload == b"cmd"
    assert delivered.message_expiry is not None and 0 < delivered.message_expiry <= 30


def test_revoking_a_grant_ends_the_subscription(site: Site) -> None:
    """Changing an account closes its connections: RabbitMQ checked the old grants."""
    lock_a = _lock_id()
    username = _name()
    controller = site.controller(username, lock_a)
    assert not controller.subscribe_reason(_topic(lock_a, "up/+")).is_failure
    site.relay.add_controller(username, PASSWORD, [])
    controller.wait_gone()
    again = site.connect_as(username, PASSWORD)
    assert again.subscribe_reason(_topic(lock_a, "up/+")).is_failure
    site.relay.remove_controller(username)
    assert not site.connect_as(username, PASSWORD).connected


def test_client_ids_are_assigned_and_a_chosen_one_takes_over(site: Site) -> None:
    """What RabbitMQ does with client ids (docs/transport.md, RabbitMQ section).

    The links connect with an empty client id, so RabbitMQ assigns each a
    random one (128 bits, told only to that client).  A client that chooses
    an id pushes off whoever holds it, even under another account: client
    ids are per virtual host, not per user.  Only an id someone learned can
    be taken, and no client ever learns another's.
    """
    first = site.controller(_name())
    second = site.controller(_name())
    assigned = {first.assigned_client_id, second.assigned_client_id}
    assert None not in assigned and len(assigned) == 2
    assert all(len(str(client_id)) >= 22 for client_id in assigned)

    holder_name, taker_name = _name(), _name()
    site.relay.add_controllers(
        [(holder_name, PASSWORD, []), (taker_name, PASSWORD, [])]
    )
    holder = RabbitCustomer.controller_on(
        site.relay, holder_name, PASSWORD, client_id="chosen-id"
    )
    taker = RabbitCustomer.controller_on(
        site.relay, taker_name, PASSWORD, client_id="chosen-id"
    )
    site.clients += [holder, taker]
    assert not holder.connect().is_failure
    assert not taker.connect().is_failure
    holder.wait_gone()
    assert taker.connected


def test_tls_1_3_only_no_nagle_and_stalled_readers_closed(
    relay: RabbitMqCluster,
) -> None:
    """A TLS 1.2 client is refused; the listener sets TCP_NODELAY and a send timeout."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(relay.ca_file))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection((relay.host, relay.nodes[0].mqtt_port)) as raw,
        pytest.raises(ssl.SSLError),
    ):
        context.wrap_socket(raw, server_hostname="localhost")
    answer = (
        relay.nodes[0]
        .call("application:get_env(rabbitmq_mqtt, tcp_listen_options).")
        .replace(" ", "")
    )
    assert "{nodelay,true}" in answer
    # Restating nodelay must not drop the plugin's other defaults: a client
    # that stops reading is still closed once a write has blocked 15 s.
    assert f"{{send_timeout,{SEND_TIMEOUT_MS}}}" in answer
    assert "{send_timeout_close,true}" in answer
    assert "{backlog,128}" in answer


def test_the_node_listens_on_loopback_only(relay: RabbitMqCluster) -> None:
    """MQTT and Erlang distribution listen on 127.0.0.1, nothing on other addresses."""
    vm_pid = relay.nodes[0].vm_pid
    assert vm_pid is not None
    listening = subprocess.run(
        ["ss", "-ltnpH"], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    addresses = {
        line.split()[3].rsplit(":", 1)[0]
        for line in listening.splitlines()
        if f"pid={vm_pid}," in line
    }
    assert addresses == {"127.0.0.1"}
    node = relay.nodes[0]
    ports = {
        int(line.split()[3].rsplit(":", 1)[1])
        for line in listening.splitlines()
        if f"pid={vm_pid}," in line
    }
    assert ports == {node.ports.mqtt, node.ports.distribution}


def test_nothing_is_retained_for_a_later_subscriber(site: Site) -> None:
    """A retained publish is delivered once but kept for nobody who subscribes later."""
    lock_a = _lock_id()
    username = _name()
    listening = site.controller(username, lock_a)
    listening.subscribe(_topic(lock_a, "up/+"))
    lock = site.lock(lock_a)
    assert lock.publish(_topic(lock_a, "up/resync"), b"keep me", retain=True)
    assert listening.next_message().payload == b"keep me"
    later = site.connect_as(username, PASSWORD)
    # RabbitMQ hands retained messages only to a subscription to their exact topic.
    later.subscribe(_topic(lock_a, "up/resync"))
    _assert_nothing(later)


def test_a_packet_larger_than_the_largest_frame_costs_the_connection(
    site: Site,
) -> None:
    """Packets above the Mosquitto limit (max_packet_size) are refused alike."""
    lock_a = _lock_id()
    listening = site.controller(_name(), lock_a)
    listening.subscribe(_topic(lock_a, "up/+"))
    lock = site.lock(lock_a)
    assert lock.publish(_topic(lock_a, "up/resync"), bytes(LARGEST_PAYLOAD))
    assert len(listening.next_message().payload) == LARGEST_PAYLOAD
    assert not lock.publish(_topic(lock_a, "up/resync"), bytes(MAX_PACKET_SIZE))
    lock.wait_gone()
    _assert_nothing(listening)


def test_a_session_outlives_its_client_by_an_hour_at_most(site: Site) -> None:
    """A client asking to keep its session for days is told one hour (CONNACK)."""
    lock_a = _lock_id()
    username = _name()
    site.relay.add_controller(username, PASSWORD, [lock_a.hex()])
    client = RabbitCustomer.controller_on(
        site.relay, username, PASSWORD, session_expiry=7 * 24 * 3600
    )
    site.clients.append(client)
    assert not client.connect().is_failure
    assert client.granted_session_expiry == MAX_SESSION_EXPIRY_S == 3600
