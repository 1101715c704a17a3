"""The broker's ACLs confine each lock and controller to their own topics.

Mosquitto 2.0.11 acknowledges a SUBSCRIBE to a topic the ACL does not grant
and enforces the read ACL when it routes each message, so these tests prove
the property that matters: the message never arrives.  Denied QoS 1 publishes
are answered with PUBACK "not authorized" (:class:`PublishRejected`).  A refused SUBACK
(:class:`SubscribeRejected`, what newer brokers send) is accepted as well.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib

import pytest

from custom_components.secure_lock.protocol.envelope import routing_id
from custom_components.secure_lock.transport import (
    LockTopics,
    MqttFrameLink,
    PublishRejected,
    SubscribeRejected,
)

from .conftest import LOCK_A, LOCK_B, LinkFactory
from .helpers import TEST_CONTROLLER_KEY_ID, frame_to

OTHER_CONTROLLER_KEY_ID = bytes(range(0x60, 0x70))

# A message that is going to arrive through a local broker does so in
# milliseconds; this bounds how long the tests wait to prove one does not.
SILENCE = 0.3
DELIVERY_TIMEOUT = 5.0


async def _receive(link: MqttFrameLink) -> bytes:
    async with asyncio.timeout(DELIVERY_TIMEOUT):
        return await link.receive()


async def _assert_silent(link: MqttFrameLink) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(SILENCE):
            await link.receive()
    assert link.stats.frames_received == 0


async def _connect_if_allowed(link: MqttFrameLink) -> bool:
    """Connect; return False if the broker already refused the subscription."""
    with contextlib.suppress(SubscribeRejected):
        await link.connect()
        return True
    return False


async def _publish_raw(link: MqttFrameLink, topic: str, payload: bytes) -> bool:
    """Publish on any topic over ``link``'s connection; return whether it was accepted."""
    client, loop = link._client, link._loop
    assert client is not None and loop is not None
    future = loop.create_future()
    info = client.publish(topic, payload, qos=1)
    link._publishes[info.mid] = future
    async with asyncio.timeout(DELIVERY_TIMEOUT):
        reason = await future
    return not reason.is_failure


async def test_lock_and_controller_round_trip(
    links: LinkFactory, grant: Callable[..., None]
) -> None:
    """A lock receives commands on its topic and its replies reach the controller."""
    grant(LOCK_A)
    lock = links.lock(LOCK_A)
    controller = links.controller(LOCK_A)
    await lock.connect()
    await controller.connect()
    assert lock.connected and controller.connected

    await controller.send(b"command", expiry_s=30)
    assert await _receive(lock) == b"command"
    await lock.send(frame_to(LOCK_A, b"reply"))
    assert await _receive(controller) == frame_to(LOCK_A, b"reply")
    assert controller.stats.frames_sent == 1 and lock.stats.frames_received == 1


async def test_each_controller_receives_only_its_own_frames(
    links: LinkFactory, grant: Callable[..., None]
) -> None:
    """Two controllers of one lock: each gets only the frames to its routing id."""
    grant(LOCK_A)
    grant(LOCK_A, username="controller2")
    lock = links.lock(LOCK_A)
    mine = links.controller(LOCK_A)
    other = links.controller(LOCK_A, "controller2", key_id=OTHER_CONTROLLER_KEY_ID)
    for link in (lock, mine, other):
        await link.connect()

    await lock.send(frame_to(LOCK_A, b"to the other", OTHER_CONTROLLER_KEY_ID))
    await lock.send(frame_to(LOCK_A, b"to me"))
    assert await _receive(mine) == frame_to(LOCK_A, b"to me")
    assert await _receive(other) == frame_to(
        LOCK_A, b"to the other", OTHER_CONTROLLER_KEY_ID
    )
    await _assert_silent_after(mine, 1)
    await _assert_silent_after(other, 1)
    assert mine.stats.dropped_unexpected == other.stats.dropped_unexpected == 0


async def test_a_lock_writes_only_one_level_under_its_uplink(
    links: LinkFactory, grant: Callable[..., None]
) -> None:
    """The lock's grant is up/+: deeper topics are refused."""
    grant(LOCK_A)
    lock = links.lock(LOCK_A)
    await lock.connect()
    own = LockTopics.for_lock(LOCK_A).up_to(routing_id(LOCK_A, TEST_CONTROLLER_KEY_ID))
    assert await _publish_raw(lock, own, b"frame")
    assert not await _publish_raw(lock, f"{own}/deeper", b"frame")
    assert not await _publish_raw(lock, f"securelock/v1/{LOCK_A.hex()}/up", b"frame")


async def _assert_silent_after(link: MqttFrameLink, received: int) -> None:
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(SILENCE):
            await link.receive()
    assert link.stats.frames_received == received


async def test_second_lock_cannot_read_first_locks_commands(
    links: LinkFactory, grant: Callable[..., None]
) -> None:
    """Lock B's certificate subscribed to lock A's command topic hears nothing."""
    grant(LOCK_A)
    intruder = links.lock(LOCK_B, topics_of=LOCK_A)
    intruder_subscribed = await _connect_if_allowed(intruder)
    lock_a = links.lock(LOCK_A)
    controller = links.controller(LOCK_A)
    await lock_a.connect()
    await controller.connect()

    await controller.send(b"for-a-only")
    assert await _receive(lock_a) == b"for-a-only"
    if intruder_subscribed:
        await _assert_silent(intruder)


async def test_second_lock_cannot_publish_as_first_lock(
    links: LinkFactory, grant: Callable[..., None]
) -> None:
    """Lock B publishing on lock A's uplink never reaches A's controller."""
    grant(LOCK_A)
    controller = links.controller(LOCK_A)
    await controller.connect()
    lock_b = links.lock(LOCK_B)
    await lock_b.connect()
    victim_topic = LockTopics.for_lock(LOCK_A).up_to(
        routing_id(LOCK_A, TEST_CONTROLLER_KEY_ID)
    )
    assert not await _publish_raw(lock_b, victim_topic, b"forged")
    await _assert_silent(controller)
    # Nor can it inject commands into A's downlink.
    lock_a = links.lock(LOCK_A)
    await lock_a.connect()
    assert not await _publish_raw(
        lock_b, f"securelock/v1/{LOCK_A.hex()}/down", b"forged"
    )
    await _assert_silent(lock_a)


async def test_controller_without_grant_cannot_read_or_command(
    links: LinkFactory, grant: Callable[..., None]
) -> None:
    """A controller granted lock B only gets nothing from lock A and cannot command it."""
    grant(LOCK_B)
    lock_a = links.lock(LOCK_A)
    await lock_a.connect()
    outsider = links.controller(LOCK_A)
    subscribed = await _connect_if_allowed(outsider)
    await lock_a.send(frame_to(LOCK_A, b"status"))
    if subscribed:
        await _assert_silent(outsider)
        # Mosquitto answers the denied QoS 1 publish with PUBACK "not authorized".
        with pytest.raises(PublishRejected):
            await outsider.send(b"open")
        await _assert_silent(lock_a)


async def test_grant_takes_effect_after_reload(
    links: LinkFactory, grant: Callable[..., None]
) -> None:
    """Adding a grant rewrites the ACL and SIGHUPs the running broker."""
    grant(LOCK_B)
    grant(LOCK_A, LOCK_B)
    controller = links.controller(LOCK_A)
    await controller.connect()
    lock_a = links.lock(LOCK_A)
    await lock_a.connect()
    await lock_a.send(frame_to(LOCK_A, b"hello"))
    assert await _receive(controller) == frame_to(LOCK_A, b"hello")


async def test_lock_cannot_kick_another_lock(
    links: LinkFactory, grant: Callable[..., None]
) -> None:
    """Client ids are forced to the certificate CN, so lock B cannot take over A's session."""
    grant(LOCK_A)
    lock_a = links.lock(LOCK_A)
    await lock_a.connect()
    lock_b = links.lock(LOCK_B)
    await lock_b.connect()
    controller = links.controller(LOCK_A)
    await controller.connect()
    await controller.send(b"still-here")
    assert await _receive(lock_a) == b"still-here"
    assert lock_a.stats.reconnects == 0
