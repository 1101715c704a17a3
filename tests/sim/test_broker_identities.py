"""Lock ids and controller names never collide on the broker.

Mosquitto keeps one client id namespace across both listeners and a second
connection with a client id disconnects the first.  Both listeners take the
client id from the user name, a lock's user name is its certificate's CN
(the lock id), and no controller name may have that form.  Each attack
below is tried by a customer holding a legitimate certificate or account;
the victim lock must stay connected (it answers a publish afterwards).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
import queue
import time

import pytest

from custom_components.secure_lock.protocol.envelope import routing_id
from custom_components.secure_lock.transport import LockTopics
from device_sim.account_names import check_controller_name, is_lock_name
from device_sim.broker import MosquittoBroker
from device_sim.broker_limits import BrokerLimits
from device_sim.passwords import InvalidUsername
from device_sim.pki import CertFiles, DevCertificateAuthority, PkiError, write_issued

from .conftest import CONTROLLER_PASSWORD
from .helpers import TEST_CONTROLLER_KEY_ID
from .mqtt_customer import WAIT, Customer

VICTIM = bytes.fromhex("e5" * 16)
ATTACKER_LOCK = bytes.fromhex("f6" * 16)
VICTIM_TOPICS = LockTopics.for_lock(VICTIM)
ATTACKER_TOPICS = LockTopics.for_lock(ATTACKER_LOCK)
VICTIM_UP = VICTIM_TOPICS.up_to(routing_id(VICTIM, TEST_CONTROLLER_KEY_ID))
"""Where the lock's frames to one controller go."""
SILENCE = 0.3
NOT_AUTHORIZED = 0x87


@pytest.fixture(name="victim")
def victim_fixture(
    broker: MosquittoBroker,
    ca: DevCertificateAuthority,
    tmp_path: Path,
    customers: list[Customer],
) -> Customer:
    """Return the victim lock, connected with its own certificate."""
    files = write_issued(ca.issue_lock(VICTIM), tmp_path / "victim", "lock")
    lock = Customer.lock(broker, files)
    customers.append(lock)
    assert not lock.connect().is_failure
    lock.subscribe(VICTIM_TOPICS.down)
    return lock


@pytest.fixture(name="attacker_device")
def attacker_device_fixture(
    broker: MosquittoBroker, ca: DevCertificateAuthority, tmp_path: Path
) -> CertFiles:
    """Return the attacker's own lock certificate and grant its controller account."""
    broker.add_controller("mallory", CONTROLLER_PASSWORD, [ATTACKER_TOPICS.topic_id])
    return write_issued(ca.issue_lock(ATTACKER_LOCK), tmp_path / "attacker", "lock")


def _still_connected(lock: Customer) -> None:
    # A PUBACK after the attack proves the broker kept the victim's
    # connection: an eviction happens before the attacker's CONNACK.
    assert lock.connected
    assert lock.publish(VICTIM_UP, b"still here")


def test_lock_ids_and_controller_names_are_disjoint() -> None:
    """Every lock id has the lock form; no controller name may have it."""
    assert is_lock_name(VICTIM.hex())
    assert not is_lock_name(VICTIM.hex().upper())
    assert not is_lock_name("homeassistant-0")
    assert check_controller_name("homeassistant-0") == "homeassistant-0"
    with pytest.raises(InvalidUsername, match="lock id"):
        check_controller_name(VICTIM.hex())


def test_no_controller_account_can_be_named_like_a_lock(
    broker: MosquittoBroker, victim: Customer, customers: list[Customer]
) -> None:
    """The account cannot be created, and logging in under that name is refused."""
    with pytest.raises(InvalidUsername):
        broker.add_controller(VICTIM.hex(), CONTROLLER_PASSWORD, [])
    assert VICTIM.hex() not in (broker.directory / "passwd").read_text()
    impostor = Customer.controller(broker, VICTIM.hex(), CONTROLLER_PASSWORD)
    customers.append(impostor)
    assert impostor.connect().is_failure
    _still_connected(victim)


def test_a_lock_certificate_does_not_log_in_on_the_controller_listener(
    broker: MosquittoBroker,
    victim: Customer,
    attacker_device: CertFiles,
    customers: list[Customer],
) -> None:
    """The controller listener ignores certificates: a lock id there has no account."""
    for username in (VICTIM.hex(), ATTACKER_LOCK.hex()):
        attempt = Customer.controller(
            broker, username, CONTROLLER_PASSWORD, device=attacker_device
        )
        customers.append(attempt)
        assert attempt.connect().is_failure
    _still_connected(victim)


def test_no_controller_certificate_carries_a_lock_id(
    ca: DevCertificateAuthority,
) -> None:
    """A certificate for a lock id is only ever a lock's own."""
    with pytest.raises(PkiError, match="lock id"):
        ca.issue_controller(VICTIM.hex())


def test_a_controller_certificate_on_the_lock_listener_reaches_no_lock(
    broker: MosquittoBroker,
    ca: DevCertificateAuthority,
    victim: Customer,
    tmp_path: Path,
    customers: list[Customer],
) -> None:
    """Its CN is no lock id: the ACL pattern grants it no lock's topics and no lock is pushed off."""
    broker.add_controller("owner", CONTROLLER_PASSWORD, [VICTIM_TOPICS.topic_id])
    files = write_issued(ca.issue_controller("mallory"), tmp_path / "mallory", "ctl")
    intruder = Customer.lock(broker, files)
    customers.append(intruder)
    # Mosquitto admits it (the CA signed it), as user "mallory": no lock's name.
    assert not intruder.connect().is_failure
    intruder.subscribe(VICTIM_TOPICS.down)
    assert not intruder.publish(VICTIM_UP, b"forged")
    sender = Customer.controller(broker, "owner", CONTROLLER_PASSWORD)
    customers.append(sender)
    assert not sender.connect().is_failure
    assert sender.publish(VICTIM_TOPICS.down, b"command")
    assert victim.messages.get(timeout=5.0) == b"command"
    with pytest.raises(queue.Empty):
        intruder.messages.get(timeout=SILENCE)
    _still_connected(victim)


def test_one_account_holds_one_connection(
    broker: MosquittoBroker, attacker_device: CertFiles, customers: list[Customer]
) -> None:
    """A second process on an account pushes the first off: accounts are never shared."""
    first = Customer.controller(broker, "mallory", CONTROLLER_PASSWORD)
    second = Customer.controller(broker, "mallory", CONTROLLER_PASSWORD)
    customers.extend([first, second])
    assert not first.connect().is_failure
    assert not second.connect().is_failure
    first.wait_gone()
    assert second.publish(ATTACKER_TOPICS.down, b"command")


def _capped_broker(directory: Path, ca: DevCertificateAuthority) -> MosquittoBroker:
    broker = MosquittoBroker.with_dev_pki(
        directory, ca, limits=BrokerLimits(connections_per_listener=2)
    )
    broker.add_controllers(
        (f"controller-{n}", CONTROLLER_PASSWORD, []) for n in range(3)
    )
    return broker


def _fill_controller_listener(
    broker: MosquittoBroker, customers: list[Customer]
) -> Customer:
    """Connect two accounts; return a third, not yet connected."""
    for n in range(2):
        admitted = Customer.controller(broker, f"controller-{n}", CONTROLLER_PASSWORD)
        customers.append(admitted)
        assert not admitted.connect().is_failure
    third = Customer.controller(broker, "controller-2", CONTROLLER_PASSWORD)
    customers.append(third)
    return third


def test_each_listener_serves_a_bounded_number_of_connections(
    tmp_path: Path, ca: DevCertificateAuthority, customers: list[Customer]
) -> None:
    """Connections past a listener's cap are turned away; the other listener is unaffected."""
    with _capped_broker(tmp_path / "capped", ca) as broker:
        refused = _fill_controller_listener(broker, customers)
        # Mosquitto closes the socket at once, mostly before the TLS
        # handshake completes (OSError).  Under heavy load it has been seen
        # to answer the third CONNECT and then end a connection: what the
        # listener holds settles at two, never more.
        with contextlib.suppress(OSError):
            refused.connect()
        deadline = time.monotonic() + WAIT
        while sum(c.connected for c in customers) > 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sum(c.connected for c in customers) <= 2
        device = write_issued(ca.issue_lock(VICTIM), tmp_path / "victim", "lock")
        lock = Customer.lock(broker, device)
        customers.append(lock)
        assert not lock.connect().is_failure
        for customer in customers:
            customer.close()


def test_mosquitto_2_0_11_forgets_the_connection_cap_on_reload(
    tmp_path: Path, ca: DevCertificateAuthority, customers: list[Customer]
) -> None:
    """A reload (every account change sends one) leaves the listeners uncapped.

    docs/transport.md states this limit of Mosquitto 2.0.11; the test fails,
    and the sentence must go, once a Mosquitto keeps the cap.
    """
    with _capped_broker(tmp_path / "capped", ca) as broker:
        broker.reload()
        third = _fill_controller_listener(broker, customers)
        assert not third.connect().is_failure
        for customer in customers:
            customer.close()
