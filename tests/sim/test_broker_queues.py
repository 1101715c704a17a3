"""One customer cannot grow the shared broker's memory without bound.

The attack from issue 20: a customer holding a legitimate lock certificate
and a controller account for that lock leaves a persistent session with the
longest session expiry behind, then floods the lock's topic with the largest
frames the broker takes.  The broker queues at most the configured number
of messages and bytes for that session, and its resident memory stays
within that bound, where the old configuration (1,000 messages, no byte
limit) grew by megabytes.
"""

from __future__ import annotations

from pathlib import Path
import queue

import pytest

from custom_components.secure_lock.protocol.envelope import routing_id
from custom_components.secure_lock.transport import LockTopics
from device_sim.broker import MosquittoBroker
from device_sim.broker_limits import PUBLISH_HEADROOM, BrokerLimits
from device_sim.pki import CertFiles, DevCertificateAuthority, write_issued

from .conftest import CONTROLLER_PASSWORD
from .helpers import TEST_CONTROLLER_KEY_ID
from .mqtt_customer import MAX_SESSION_EXPIRY, Customer, rss_bytes

LOCK = bytes.fromhex("d4" * 16)
TOPICS = LockTopics.for_lock(LOCK)
UP = TOPICS.up_to(routing_id(LOCK, TEST_CONTROLLER_KEY_ID))
"""Where the lock's frames to one controller go."""
LIMITS = BrokerLimits()
FLOOD_FRAMES = 1000
"""Sixteen times the queue: about 4 MB, which the old configuration kept."""
LARGEST_PAYLOAD = LIMITS.max_packet_size - PUBLISH_HEADROOM
ALLOCATOR_SLACK = 1024 * 1024
"""What Mosquitto's heap may grow besides the queued messages (TLS buffers,
allocator rounding); a quarter of what the unbounded queue took."""
SILENCE = 0.3
FRAME = bytes(LARGEST_PAYLOAD)


@pytest.fixture(name="device")
def device_fixture(
    broker: MosquittoBroker, ca: DevCertificateAuthority, tmp_path: Path
) -> CertFiles:
    """Return the customer's lock certificate; its controller account is granted the lock."""
    broker.add_controller("customer", CONTROLLER_PASSWORD, [TOPICS.topic_id])
    return write_issued(ca.issue_lock(LOCK), tmp_path / "customer", "lock")


def _persistent_session(broker: MosquittoBroker) -> Customer:
    return Customer.controller(
        broker,
        "customer",
        CONTROLLER_PASSWORD,
        clean_start=False,
        session_expiry=MAX_SESSION_EXPIRY,
    )


def test_a_flooded_persistent_session_holds_a_bounded_queue(
    broker: MosquittoBroker, device: CertFiles, customers: list[Customer]
) -> None:
    """Flooding an absent session queues at most the limit; broker memory stays bounded."""
    assert broker.pid is not None
    # The bound is far below what the flood would take if it were kept.
    assert LIMITS.held_per_client + ALLOCATOR_SLACK < FLOOD_FRAMES * len(FRAME) // 2
    absent = _persistent_session(broker)
    customers.append(absent)
    assert not absent.connect().is_failure
    absent.subscribe(UP)
    absent.close()

    flooder = Customer.lock(broker, device)
    customers.append(flooder)
    assert not flooder.connect().is_failure
    before = rss_bytes(broker.pid)
    for _ in range(FLOOD_FRAMES):
        # The broker acknowledges each one; the queue, not the publisher, is bounded.
        assert flooder.publish(UP, FRAME)
    growth = rss_bytes(broker.pid) - before
    assert growth < LIMITS.held_per_client + ALLOCATOR_SLACK, growth

    returning = _persistent_session(broker)
    customers.append(returning)
    assert not returning.connect().is_failure
    for _ in range(LIMITS.queued_frames):
        assert returning.messages.get(timeout=5.0) == FRAME
    with pytest.raises(queue.Empty):
        returning.messages.get(timeout=SILENCE)


def test_sessions_expire_within_the_cap(broker: MosquittoBroker) -> None:
    """Whatever expiry a client asks for, its session ends an hour after it left.

    Mosquitto 2.0.11 has no smaller unit than hours and no clock to move, so
    the configuration line is what is checked; the bounded queue above is
    what a session can hold meanwhile.
    """
    lines = broker.config_path.read_text().splitlines()
    assert f"persistent_client_expiration {LIMITS.session_expiry_hours}h" in lines
    assert LIMITS.session_expiry_hours == 1
    assert "persistence false" in lines


def test_a_packet_larger_than_a_frame_costs_the_connection(
    broker: MosquittoBroker, device: CertFiles, customers: list[Customer]
) -> None:
    """The broker takes the largest frame and disconnects a client sending more."""
    lock = Customer.lock(broker, device)
    customers.append(lock)
    assert not lock.connect().is_failure
    assert lock.publish(UP, bytes(LARGEST_PAYLOAD))
    assert not lock.publish(UP, bytes(LIMITS.max_packet_size))
    lock.wait_gone()
