"""No customer of the relay can leave a retained message or a retained will.

The protocol sends neither, and docs/transport.md says the broker holds no
retained state; a customer with a legitimate lock certificate tries both.
"""

from __future__ import annotations

from pathlib import Path
import queue

import pytest

from custom_components.secure_lock.protocol.envelope import routing_id
from custom_components.secure_lock.transport import LockTopics
from device_sim.broker import MosquittoBroker
from device_sim.pki import CertFiles, DevCertificateAuthority, write_issued

from .conftest import CONTROLLER_PASSWORD
from .helpers import TEST_CONTROLLER_KEY_ID
from .mqtt_customer import Customer, Will

LOCK = bytes.fromhex("c3" * 16)
TOPICS = LockTopics.for_lock(LOCK)
UP = TOPICS.up_to(routing_id(LOCK, TEST_CONTROLLER_KEY_ID))
"""Where the lock's frames to one controller go."""
# A message the broker forwards arrives in milliseconds; this bounds how
# long a test waits to show that none comes.
SILENCE = 0.3
RETAIN_NOT_SUPPORTED = 0x9A


@pytest.fixture(name="device")
def device_fixture(
    broker: MosquittoBroker, ca: DevCertificateAuthority, tmp_path: Path
) -> CertFiles:
    """Return the customer's own, legitimate lock certificate; grant it a controller."""
    broker.add_controller("owner", CONTROLLER_PASSWORD, [TOPICS.topic_id])
    return write_issued(ca.issue_lock(LOCK), tmp_path / "customer", "lock")


def _nothing_retained(broker: MosquittoBroker, customers: list[Customer]) -> None:
    """Show that a new subscriber to the lock's topic gets no message from the broker."""
    listener = Customer.controller(broker, "owner", CONTROLLER_PASSWORD)
    customers.append(listener)
    assert not listener.connect().is_failure
    listener.subscribe(UP)
    with pytest.raises(queue.Empty):
        listener.messages.get(timeout=SILENCE)


def test_a_retained_publish_costs_the_connection_and_is_not_kept(
    broker: MosquittoBroker, device: CertFiles, customers: list[Customer]
) -> None:
    """The broker disconnects a client that publishes with the retain flag."""
    attacker = Customer.lock(broker, device)
    customers.append(attacker)
    assert not attacker.connect().is_failure
    assert not attacker.publish(UP, b"kept for every later subscriber", retain=True)
    attacker.wait_gone()
    _nothing_retained(broker, customers)
    assert "retain_available false" in broker.config_path.read_text().splitlines()


def test_a_retained_will_is_refused_at_connect(
    broker: MosquittoBroker, device: CertFiles, customers: list[Customer]
) -> None:
    """A CONNECT whose will is retained gets "retain not supported"; no will is kept."""
    attacker = Customer.lock(
        broker, device, will=Will(UP, b"published after I leave", retain=True)
    )
    customers.append(attacker)
    reason = attacker.connect()
    assert reason.is_failure
    assert reason.value == RETAIN_NOT_SUPPORTED
    assert not attacker.connected
    _nothing_retained(broker, customers)


def test_an_ordinary_will_and_publish_still_pass(
    broker: MosquittoBroker, device: CertFiles, customers: list[Customer]
) -> None:
    """The refusal is about retain only: the lock's own topic still works."""
    listener = Customer.controller(broker, "owner", CONTROLLER_PASSWORD)
    customers.append(listener)
    assert not listener.connect().is_failure
    listener.subscribe(UP)
    lock = Customer.lock(broker, device, will=Will(UP, b"gone", retain=False))
    customers.append(lock)
    assert not lock.connect().is_failure
    assert lock.publish(UP, b"frame")
    assert listener.messages.get(timeout=5.0) == b"frame"
