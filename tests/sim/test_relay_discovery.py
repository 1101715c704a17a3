"""Typed digits through the relay: the discriminator finds the lock, the PAKE picks the right one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from pathlib import Path

import pytest

from custom_components.secure_lock.controller import (
    NoLockFound,
    NoRelayAccount,
    PairingFailed,
    PairingTimedOut,
    confirm_pairing,
    pair_over_link,
)
from custom_components.secure_lock.controller.discovery import (
    find_locks,
    pair_with_a_candidate,
)
from custom_components.secure_lock.controller.links import BrokerSettings
from custom_components.secure_lock.protocol import ControllerIdentity, SetupCode
from custom_components.secure_lock.protocol.envelope import routing_id
from custom_components.secure_lock.protocol.errors import ErrorCode, ProtocolError
from custom_components.secure_lock.protocol.pairing_messages import (
    DiscoveryAnswer,
    DiscoveryProbe,
)
from custom_components.secure_lock.protocol.roles import Role
from custom_components.secure_lock.protocol.setup_code import discriminator_of
from custom_components.secure_lock.transport import (
    MqttFrameLink,
    MqttLinkConfig,
    MqttRole,
)
from custom_components.secure_lock.transport.tls import client_tls_context
from custom_components.secure_lock.transport.topics import (
    DiscoveryTopics,
    LockTopics,
    discovery_topic,
    discriminator_of_topic,
    found_topic,
    topic_id,
)
from device_sim.broker import MosquittoBroker
from device_sim.joining import Invitation
from device_sim.lock_device import DeviceConfig
from device_sim.lock_runtime import (
    BrokerSettings as LockBroker,
    LockRuntime,
    RuntimeOptions,
)
from device_sim.pki import DevCertificateAuthority

from .conftest import CONTROLLER_PASSWORD, LinkFactory
from .helpers import wait_until

ACCOUNT = "homeassistant-1"


@pytest.fixture(name="start_lock")
async def start_lock_fixture(
    tmp_path: Path, broker: MosquittoBroker, ca: DevCertificateAuthority
) -> AsyncIterator[Callable[..., contextlib.AbstractAsyncContextManager[LockRuntime]]]:
    """Return a starter of locks on the broker only (no LAN); all stop afterwards."""
    runtimes: list[LockRuntime] = []

    @contextlib.asynccontextmanager
    async def start(name: str) -> AsyncIterator[LockRuntime]:
        runtime = LockRuntime(
            RuntimeOptions(
                state_dir=tmp_path / name,
                device=DeviceConfig(),
                broker=LockBroker("127.0.0.1", broker.lock_port, broker.ca_file),
                factory_ca=ca,
            )
        )
        await runtime.start()
        runtimes.append(runtime)
        assert runtime.mqtt is not None and runtime.mqtt.connected
        yield runtime

    yield start
    for runtime in runtimes:
        await runtime.stop()


def _settings(broker: MosquittoBroker, username: str = ACCOUNT) -> BrokerSettings:
    return BrokerSettings(
        (f"mqtts://127.0.0.1:{broker.controller_port}",),
        broker.ca_file.read_text(encoding="utf-8"),
        username,
        CONTROLLER_PASSWORD,
    )


async def test_only_a_lock_with_an_open_code_answers(
    broker: MosquittoBroker,
    start_lock: Callable[..., contextlib.AbstractAsyncContextManager[LockRuntime]],
) -> None:
    """The label's discriminator is answered while the button's window is open."""
    broker.add_controller(ACCOUNT, CONTROLLER_PASSWORD, [])
    async with start_lock("lock") as runtime:
        device = runtime.device
        assert device is not None
        label = discriminator_of(device.lock_id)
        assert await find_locks(_settings(broker), label, wait=0.5) == []
        device.press_button()
        assert await find_locks(_settings(broker), label, wait=0.5) == [device.lock_id]
        other = (label + 1) % 64
        assert await find_locks(_settings(broker), other, wait=0.5) == []


async def test_typed_digits_pair_through_the_relay_past_a_lock_with_the_same_discriminator(
    broker: MosquittoBroker,
    start_lock: Callable[..., contextlib.AbstractAsyncContextManager[LockRuntime]],
) -> None:
    """Two locks in pairing mode answer; the wrong one fails the PAKE, the right one pairs.

    The second lock holds an invitation with the first lock's label
    discriminator, so both answer the same probe.
    """
    async with start_lock("target") as target, start_lock("other") as other:
        assert target.device is not None and other.device is not None
        target.device.press_button()
        # The other lock holds an open invitation with the target's label discriminator.
        _invite(other, discriminator_of(target.device.lock_id))
        broker.add_controller(
            ACCOUNT,
            CONTROLLER_PASSWORD,
            [target.device.lock_id.hex(), other.device.lock_id.hex()],
        )
        typed = SetupCode.parse(target.device.element.label_code.manual_code())
        found = await find_locks(_settings(broker), typed.discriminator, wait=1.0)
        assert set(found) == {target.device.lock_id, other.device.lock_id}

        identity = ControllerIdentity.generate()
        paired_with = None
        refusals: list[tuple[bytes, ErrorCode]] = []
        # The wrong candidate first, whatever order the answers came in.
        for lock_id in sorted(found, key=lambda i: i != other.device.lock_id):
            link = _controller_link(broker, lock_id, identity)
            await link.connect()
            try:
                outcome = await pair_over_link(
                    link, identity, typed, "Phone", timeout=10
                )
                await confirm_pairing(link, identity, outcome.lock, timeout=10)
            except PairingFailed as err:
                refusals.append((lock_id, err.code))
                continue
            finally:
                await link.close()
            paired_with = outcome.lock.lock_id
            break
        assert paired_with == target.device.lock_id
        assert refusals == [(other.device.lock_id, ErrorCode.BAD_MAC)]
        assert identity.key_id in target.device.state.registry.records
        assert identity.key_id not in other.device.state.registry.records
        # The wrong candidate counted one guess, as any wrong code does.
        assert other.device.state.pairing_attempts.failures == 1
        assert target.device.state.pairing_attempts.failures == 0


def _invite(runtime: LockRuntime, discriminator: int) -> None:
    """Give ``runtime``'s lock an open invitation whose code has ``discriminator``."""
    device = runtime.device
    assert device is not None
    pin = device.element.label_code.pin
    assert pin is not None
    code = SetupCode.generate(pin, discriminator)
    now = device.now_ms()
    device.state.joins.invitations[b"\x01" * 16] = Invitation(
        b"\x01" * 16,
        code.secret_for(device.lock_id),
        Role.GUEST,
        0,
        now + 3_600_000,
        now + 600_000,
        bytes(16),
        "test",
    )


def _controller_link(
    broker: MosquittoBroker, lock_id: bytes, identity: ControllerIdentity
) -> MqttFrameLink:
    """Return a pairing link: the lock's pairing answers and envelopes to ``identity``."""
    return MqttFrameLink(
        broker.controller_link_config(
            lock_id,
            ACCOUNT,
            CONTROLLER_PASSWORD,
            routing_id=routing_id(lock_id, identity.key_id),
            hears_pairing=True,
        )
    )


async def test_answers_reach_only_the_prober(
    broker: MosquittoBroker,
    start_lock: Callable[..., contextlib.AbstractAsyncContextManager[LockRuntime]],
) -> None:
    """Another account listening on this account's answer topic hears nothing."""
    broker.add_controller(ACCOUNT, CONTROLLER_PASSWORD, [])
    broker.add_controller("snoop", CONTROLLER_PASSWORD, [])
    async with start_lock("lock") as runtime:
        assert runtime.device is not None
        runtime.device.press_button()
        label = discriminator_of(runtime.device.lock_id)
        snoop = MqttFrameLink(
            MqttLinkConfig(
                role=MqttRole.FINDER,
                topics=DiscoveryTopics(label, ACCOUNT),  # homeassistant-1's answers
                port=broker.controller_port,
                tls=client_tls_context(broker.ca_file),
                address="127.0.0.1",
                username="snoop",
                password=CONTROLLER_PASSWORD,
                connect_timeout=5.0,
            )
        )
        await snoop.connect()
        try:
            found = await find_locks(_settings(broker), label, wait=0.5)
            assert found == [runtime.device.lock_id]
            # The answer was published while the snoop was subscribed.
            assert snoop.stats.frames_received == 0
            # Its own probes, with our account as reply_to, reach nobody it can read.
            await snoop.send(DiscoveryProbe(label, bytes(16), ACCOUNT).to_bytes())
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await snoop.receive()
        finally:
            await snoop.close()


async def test_a_probe_without_a_usable_account_is_refused_before_sending() -> None:
    """No account, or one that cannot name a topic: a typed error, nothing sent."""
    for username in (None, "a/b", "+", ""):
        settings = BrokerSettings(("mqtts://127.0.0.1:1",), "", username, None)
        with pytest.raises(NoRelayAccount):
            await find_locks(settings, 1)


def test_probe_and_answer_round_trip_and_refuse_junk() -> None:
    """Canonical encodings; a discriminator out of range or a non-ASCII account is malformed."""
    probe = DiscoveryProbe(63, bytes(16), ACCOUNT)
    assert DiscoveryProbe.from_bytes(probe.to_bytes()) == probe
    answer = DiscoveryAnswer(bytes(16), bytes(range(16)))
    assert DiscoveryAnswer.from_bytes(answer.to_bytes()) == answer
    for junk in (
        DiscoveryProbe(64, bytes(16), ACCOUNT).to_bytes(),
        probe.to_bytes()[:-1],
        probe.to_bytes() + b"x",
        probe.to_bytes()[:19] + b"\x02\xff\xfe",
    ):
        with pytest.raises(ProtocolError):
            DiscoveryProbe.from_bytes(junk)


async def test_junk_repeats_and_answers_to_others_add_no_candidate(
    broker: MosquittoBroker, links: LinkFactory
) -> None:
    """A lock (or anyone with a lock certificate) answering badly adds at most itself, once."""
    broker.add_controller(ACCOUNT, CONTROLLER_PASSWORD, [])
    lock_id = bytes(range(16))
    noisy = links.lock(lock_id, hears_probes=True)
    sent: list[asyncio.Task[None]] = []

    def answer(_discriminator: int, payload: bytes) -> None:
        probe = DiscoveryProbe.from_bytes(payload)
        topic = f"securelock/v1/found/{probe.reply_to}"
        answers = (
            b"junk",
            DiscoveryAnswer(bytes(16), bytes(16)).to_bytes(),  # another probe's nonce
            DiscoveryAnswer(probe.nonce, lock_id).to_bytes(),
            DiscoveryAnswer(probe.nonce, lock_id).to_bytes(),  # the same again
        )
        sent.extend(
            asyncio.create_task(noisy.answer_probe(topic, data)) for data in answers
        )

    noisy.on_probe = answer
    await noisy.connect()
    assert await find_locks(_settings(broker), 7, wait=0.5) == [lock_id]
    await asyncio.gather(*sent)


async def test_each_candidate_is_tried_until_one_pairs() -> None:
    """No candidate: NoLockFound; all fail: the first one's failure; else the first success."""
    with pytest.raises(NoLockFound):
        await pair_with_a_candidate([], _never_called)
    tried: list[bytes] = []

    async def attempt(lock_id: bytes) -> bytes:
        tried.append(lock_id)
        if lock_id == b"a":
            raise PairingFailed(ErrorCode.BAD_MAC)
        if lock_id == b"b":
            raise PairingTimedOut("silent")
        return lock_id

    assert await pair_with_a_candidate([b"a", b"b", b"c"], attempt) == b"c"
    assert tried == [b"a", b"b", b"c"]
    with pytest.raises(PairingFailed) as err:
        await pair_with_a_candidate([b"a", b"b"], attempt)
    assert err.value.code is ErrorCode.BAD_MAC


async def _never_called(_lock_id: bytes) -> None:
    raise AssertionError("no candidate, no attempt")


def test_discovery_topics_take_only_what_can_form_them() -> None:
    """Discriminators 0-63, two digits; account names without wildcards or '/'."""
    assert discovery_topic(5) == "securelock/v1/discover/05"
    assert discriminator_of_topic("securelock/v1/discover/63") == 63
    for topic in (
        "securelock/v1/discover/64",
        "securelock/v1/discover/5",
        "securelock/v1/discover/ab",
        "securelock/v1/other/05",
    ):
        assert discriminator_of_topic(topic) is None
    for bad in (-1, 64):
        with pytest.raises(ValueError, match="discriminator"):
            discovery_topic(bad)
    for account in ("", "a/b", "+", "#", "x" * 65):
        with pytest.raises(ValueError, match="account"):
            found_topic(account)
    with pytest.raises(ValueError, match="lock id"):
        topic_id(bytes(15))


def test_link_settings_keep_discovery_to_its_roles(broker: MosquittoBroker) -> None:
    """Discovery topics only for a finder; probes only heard by a lock."""
    tls = client_tls_context(broker.ca_file)
    with pytest.raises(ValueError, match="discovery topics"):
        MqttLinkConfig(
            role=MqttRole.CONTROLLER,
            topics=DiscoveryTopics(1, ACCOUNT),
            port=1,
            tls=tls,
        )
    with pytest.raises(ValueError, match="discovery topics"):
        MqttLinkConfig(
            role=MqttRole.FINDER, topics=LockTopics.for_lock(bytes(16)), port=1, tls=tls
        )
    with pytest.raises(ValueError, match="only a lock"):
        MqttLinkConfig(
            role=MqttRole.CONTROLLER,
            topics=LockTopics.for_lock(bytes(16)),
            port=1,
            tls=tls,
            hears_probes=True,
        )


async def test_a_link_that_does_not_take_probes_drops_them(
    broker: MosquittoBroker, links: LinkFactory
) -> None:
    """No probe handler: a probe is counted as unexpected; no answer without hearing probes."""
    broker.add_controller(ACCOUNT, CONTROLLER_PASSWORD, [])
    deaf = links.lock(bytes(range(16)), hears_probes=True)
    await deaf.connect()
    assert await find_locks(_settings(broker), 9, wait=0.3) == []
    await wait_until(lambda: deaf.stats.dropped_unexpected == 1)
    plain = links.lock(bytes(range(1, 17)))
    with pytest.raises(ValueError, match="does not hear probes"):
        await plain.answer_probe("securelock/v1/found/x", b"answer")


async def test_a_flood_of_probes_gets_a_few_answers(
    broker: MosquittoBroker,
    start_lock: Callable[..., contextlib.AbstractAsyncContextManager[LockRuntime]],
) -> None:
    """Probes are unauthenticated: 40 at once get the burst of 4, not 40 answers."""
    broker.add_controller(ACCOUNT, CONTROLLER_PASSWORD, [])
    async with start_lock("lock") as runtime:
        assert runtime.device is not None
        runtime.device.press_button()
        label = discriminator_of(runtime.device.lock_id)
        finder = MqttFrameLink(
            MqttLinkConfig(
                role=MqttRole.FINDER,
                topics=DiscoveryTopics(label, ACCOUNT),
                port=broker.controller_port,
                tls=client_tls_context(broker.ca_file),
                address="127.0.0.1",
                username=ACCOUNT,
                password=CONTROLLER_PASSWORD,
                connect_timeout=5.0,
            )
        )
        await finder.connect()
        try:
            for number in range(40):
                probe = DiscoveryProbe(label, bytes([number]) * 16, ACCOUNT)
                await finder.send(probe.to_bytes())
            answers = 0
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.5):
                    while True:
                        await finder.receive()
                        answers += 1
        finally:
            await finder.close()
        # The burst, plus what the rate (2 a second) refilled while probes arrived.
        assert 1 <= answers <= 4 + 2, answers
