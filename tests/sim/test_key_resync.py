"""Key rotation by age across restarts, and resynchronisation after restores and losses.

The real lock firmware (``LockDevice``) on a manual clock, and the real
``LockClient`` over the simulator's loopback link.  A controller's stored
data (identity and lock record) is kept as the bytes Home Assistant would
store, so a test can back it up and restore it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
import os
from pathlib import Path

import pytest

from custom_components.secure_lock.controller import (
    CommandTimeout,
    LockClient,
    confirm_pairing,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (
    Command,
    ControllerIdentity,
    ErrorCode,
    LockIdentity,
    MessageKind,
    PairedLock,
    ProtocolError,
    ResultCode,
    SetupCode,
    SuiteId,
)
from custom_components.secure_lock.protocol.channel import Channel, unwrap, wrap
from custom_components.secure_lock.protocol.envelope import frame_size
from custom_components.secure_lock.protocol.identity import DAY_MS, HOUR_MS
from custom_components.secure_lock.protocol.resync import (
    RESYNC_MIN_INTERVAL_S,
    ResyncNotice,
)
from custom_components.secure_lock.protocol.rotation import (
    newest_prekey_age_ms,
    next_check_ms,
    oldest_prekey_age_ms,
)
from device_sim.lock_device import DeviceConfig
from device_sim.loopback import LoopbackLink
from device_sim.mechanism import MechanismConfig
from device_sim.storage import SealedStore
from device_sim.timing import ManualScheduler

from .lock_rig import Rig

LIFETIME_MS = DAY_MS
GRACE_MS = HOUR_MS
QUICK = 0.3
"""Seconds to wait for an answer that must not come (the loopback is instant)."""


async def _drain() -> None:
    """Let the clients' receive loops take what the lock already sent."""
    for _ in range(20):
        await asyncio.sleep(0)


@dataclass
class Controller:
    """A controller with the stored data Home Assistant keeps (entry and store)."""

    rig: Rig
    identity_bytes: bytes
    lock_bytes: bytes
    client: LockClient | None = None
    lock_writes: int = 0
    links: list[LoopbackLink] = field(default_factory=list)

    @property
    def identity(self) -> ControllerIdentity:
        """Return the running client's identity."""
        assert self.client is not None
        return self.client.identity

    def store(self, identity: ControllerIdentity) -> None:
        """Write the identity (what the config entry holds)."""
        self.identity_bytes = identity.to_bytes()

    def _persist(self, lock: PairedLock) -> None:
        self.lock_writes += 1
        self.lock_bytes = lock.to_bytes()

    async def start(self, *, announce: bool = True) -> LockClient:
        """Start from storage; like Home Assistant, check key ages and announce once."""
        link = self.rig.hub.attach()
        self.links.append(link)
        self.client = LockClient(
            link,
            ControllerIdentity.from_bytes(self.identity_bytes),
            PairedLock.from_bytes(self.lock_bytes),
            on_persist=self._persist,
            clock=self.rig.now_ms,
        )
        await self.client.start()
        if announce:
            await self.client.maintain_prekeys(announce=True, store=self.store)
        return self.client

    async def stop(self) -> None:
        """Shut down (what was stored stays)."""
        assert self.client is not None
        await self.client.close()
        await self.client.link.close()
        self.client = None

    def backup(self) -> tuple[bytes, bytes]:
        """Copy the stored data."""
        return self.identity_bytes, self.lock_bytes

    def restore(self, backup: tuple[bytes, bytes]) -> None:
        """Put an old copy of the stored data back."""
        self.identity_bytes, self.lock_bytes = backup


@pytest.fixture(name="rig")
def rig_fixture(tmp_path: Path) -> Rig:
    """Return a lock with instant motors and heartbeats out of the way."""
    config = DeviceConfig(
        mechanism=MechanismConfig(motor_seconds=0, open_hold_seconds=3),
        heartbeat_seconds=30 * 86_400,
    )
    rig = Rig(tmp_path, ManualScheduler(), config)
    rig.device.start()
    return rig


@pytest.fixture(name="controller")
async def controller_fixture(rig: Rig) -> AsyncIterator[Controller]:
    """Return a controller paired with the lock; stop it afterwards."""
    controller = await _paired(rig)
    yield controller
    if controller.client is not None:
        await controller.stop()


async def _paired(rig: Rig) -> Controller:
    rig.device.press_button()
    link = rig.hub.attach()
    identity = ControllerIdentity.generate(now_ms=rig.now_ms())
    outcome = await pair_over_link(
        link,
        identity,
        SetupCode.parse(rig.device.element.label_code.manual_code()),
        "Home Assistant",
        clock=rig.now_ms,
    )
    await confirm_pairing(link, identity, outcome.lock, clock=rig.now_ms)
    await link.close()
    controller = Controller(rig, identity.to_bytes(), outcome.lock.to_bytes())
    await controller.start(announce=False)
    return controller


def _restart_lock(rig: Rig) -> None:
    rig.device.shutdown()
    rig.boot()
    rig.device.start()


async def _live_for(rig: Rig, controller: Controller, seconds: float) -> None:
    """Let time pass; the controller checks its keys when they fall due, as HA does."""
    end = rig.now_ms() + int(seconds * 1000)
    while (now := rig.now_ms()) < end:
        target = min(next_check_ms(controller.identity, now), end)
        rig.scheduler.advance(max(target - now, 1) / 1000)
        await _drain()
        assert controller.client is not None
        await controller.client.maintain_prekeys(announce=False, store=controller.store)


def _record(rig: Rig, controller: Controller) -> None:
    """Assert the controller's record on the lock is the one from pairing."""
    assert controller.client is not None
    records = rig.device.state.registry.records
    assert list(records) == [controller.identity.key_id]
    assert not records[controller.identity.key_id].revoked


async def test_lock_and_controller_restarting_every_12_hours_still_rotate_daily(
    rig: Rig,
    controller: Controller,
) -> None:
    """Five days of restarts every 12 h: key ages stay within lifetime + grace on both sides."""
    start = rig.now_ms()
    worst = {"lock newest": 0, "lock oldest": 0, "ha newest": 0, "ha oldest": 0}
    lock_keys: set[bytes] = set()
    ha_keys: set[bytes] = set()
    for _ in range(10):
        # HA restarts 5 h after the lock, so neither restart hides the other.
        await _live_for(rig, controller, 5 * 3600)
        await controller.stop()
        await controller.start()
        await _live_for(rig, controller, 7 * 3600)
        _restart_lock(rig)
        await _drain()
        assert controller.client is not None
        assert (await controller.client.status()).result is ResultCode.OK
        now = rig.now_ms()
        lock_newest, lock_oldest = rig.device.element.prekey_ages_ms(now)
        samples = {
            "lock newest": lock_newest,
            "lock oldest": lock_oldest,
            "ha newest": newest_prekey_age_ms(controller.identity, now),
            "ha oldest": oldest_prekey_age_ms(controller.identity, now),
        }
        worst = {k: max(worst[k], samples[k]) for k in worst}
        lock_keys.update(
            p.prekey_id for p in rig.device.element.public_bundle().prekeys
        )
        ha_keys.update(p.prekey_id for p in controller.identity.public_bundle().prekeys)
    assert rig.now_ms() - start == 5 * DAY_MS
    # Rotation falls due exactly a lifetime after the newest key was made...
    assert worst["lock newest"] <= LIFETIME_MS
    assert worst["ha newest"] <= LIFETIME_MS
    # ...and a retired private key is erased when its grace period ends.
    assert worst["lock oldest"] <= LIFETIME_MS + GRACE_MS
    assert worst["ha oldest"] <= LIFETIME_MS + GRACE_MS
    # Uptime never reached a day, yet both sides made a new key every day
    # (two suites each: the first key pair and one per day).
    assert len(lock_keys) == len(ha_keys) == 2 * 6


async def test_ages_are_sampled_continuously_within_the_policy(
    rig: Rig, controller: Controller
) -> None:
    """Sampled every 10 minutes over 3 days of 12-hour restarts, nothing is ever older."""
    for step in range(3 * 24 * 6):
        await _live_for(rig, controller, 600)
        if step % 72 == 71:
            _restart_lock(rig)
            await controller.stop()
            await controller.start()
        now = rig.now_ms()
        lock_newest, lock_oldest = rig.device.element.prekey_ages_ms(now)
        assert lock_newest <= LIFETIME_MS
        assert lock_oldest <= LIFETIME_MS + GRACE_MS
        assert newest_prekey_age_ms(controller.identity, now) <= LIFETIME_MS
        assert oldest_prekey_age_ms(controller.identity, now) <= LIFETIME_MS + GRACE_MS


@pytest.mark.parametrize(
    ("days", "extra_ms"),
    [
        # One rotation each side; the lock still holds (in grace) the prekey
        # the backup seals to, but seals to a controller prekey the backup lacks.
        (1, 30 * 60_000),
        # Three rotations: each side lost the prekey the other seals to.
        (3, 2 * HOUR_MS),
    ],
    ids=["before_1_rotation", "before_3_rotations"],
)
async def test_restored_controller_recovers_within_one_command(
    rig: Rig, controller: Controller, days: int, extra_ms: int
) -> None:
    """Stored data from before the rotations: the first command after start works."""
    backup = controller.backup()
    await _live_for(rig, controller, (days * DAY_MS + extra_ms) / 1000)
    await controller.stop()

    controller.restore(backup)
    client = await controller.start()
    result = await client.lock()
    assert result.result is ResultCode.OK
    assert (await client.unlock()).result is ResultCode.OK
    _record(rig, controller)


async def test_answers_lost_to_a_restored_prekey_arrive_in_the_same_command(
    rig: Rig,
    controller: Controller,
) -> None:
    """The lock seals to a prekey the restored controller lacks: the command still completes.

    This was "the bolt moves but Home Assistant times out": the controller
    cannot open the answer, re-announces its prekey, and the lock re-seals
    the answer to it.
    """
    backup = controller.backup()
    assert controller.client is not None
    rig.scheduler.advance(60)
    await controller.client.rotate_keys(store=controller.store)
    await controller.stop()
    # Counters follow the wall clock, so a restore later on sends fresh ones.
    rig.scheduler.advance(60)
    controller.restore(backup)
    client = await controller.start(announce=False)

    result = await client.lock()
    assert result.result is ResultCode.OK
    assert client.resyncs == 1
    _record(rig, controller)


async def test_command_sealed_to_an_erased_lock_prekey_is_lost_once_then_recovered(
    rig: Rig,
    controller: Controller,
) -> None:
    """Without the start-up announcement: one command fails (not acted on), the next works."""
    backup = controller.backup()
    await _live_for(rig, controller, (3 * DAY_MS + 2 * HOUR_MS) / 1000)
    await controller.stop()
    controller.restore(backup)
    client = await controller.start(announce=False)
    bolt = rig.device.mechanism.status.bolt

    with pytest.raises(CommandTimeout):
        await client.unlock(timeout=QUICK)
    assert rig.device.mechanism.status.bolt is bolt
    assert (await client.unlock()).result is ResultCode.OK
    _record(rig, controller)


async def test_lost_rotation_answer_then_restart(
    rig: Rig, controller: Controller
) -> None:
    """The key is stored before it is announced, so a lost answer loses nothing."""
    client = controller.client
    assert client is not None
    link = controller.links[-1]
    link.deliver = lambda _frame: None  # type: ignore[method-assign]
    with pytest.raises(CommandTimeout):
        await client.rotate_keys(store=controller.store, timeout=QUICK)
    record = rig.device.state.registry.records[client.identity.key_id]
    lock_seals_to = record.bundle.prekey_for(record.suite)
    assert lock_seals_to is not None
    stored = ControllerIdentity.from_bytes(controller.identity_bytes)
    assert stored.current_prekey(record.suite).signed == lock_seals_to

    await controller.stop()
    client = await controller.start(announce=False)
    assert (await client.lock()).result is ResultCode.OK
    assert client.resyncs == 0


async def test_erased_keys_stay_erased_after_a_resync(
    rig: Rig, controller: Controller
) -> None:
    """Frames recorded before erasure stay unreadable, even after a restore and resync."""
    assert controller.client is not None
    recorded_request = controller.client.endpoint.seal(MessageKind.LOCK, Command())
    rig.device.mechanism.turn_by_hand(lock=False)  # an event sealed to the old prekey
    recorded_event = unwrap(rig.hub.sent_by_lock[-1])[1]
    backup = controller.backup()
    await _live_for(rig, controller, (3 * DAY_MS + 2 * HOUR_MS) / 1000)
    await controller.stop()

    controller.restore(backup)
    client = await controller.start()
    assert (await client.lock()).result is ResultCode.OK
    with pytest.raises(ProtocolError) as err:
        rig.device.endpoint.open(recorded_request)
    assert err.value.code is ErrorCode.UNKNOWN_PREKEY
    # The restored copy held the old private prekey; the age check erased it.
    with pytest.raises(ProtocolError) as err:
        client.endpoint.open(recorded_event)
    assert err.value.code is ErrorCode.UNKNOWN_PREKEY
    assert all(
        p.signed.valid_from > rig.now_ms() - LIFETIME_MS - GRACE_MS
        for p in client.identity.prekeys
    )


def _junk_for(route: bytes, suite: SuiteId = SuiteId.X25519_CHACHA20) -> bytes:
    """Return a frame of the right size, with routing id ``route``, naming no known prekey."""
    body = bytes((1, suite)) + route + os.urandom(8)
    return body + os.urandom(frame_size(suite) - len(body))


async def test_junk_frames_cost_the_lock_no_write_and_one_notice_per_interval(
    rig: Rig, controller: Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames naming unknown prekeys: at most one cached notice per 5 s, nothing written."""
    lock_writes = controller.lock_writes
    writes: list[str] = []
    real_save = SealedStore.save

    def counting_save(store: SealedStore, name: str, data: bytes) -> None:
        writes.append(name)
        real_save(store, name, data)

    monkeypatch.setattr(SealedStore, "save", counting_save)
    sent = len(rig.hub.sent_by_lock)
    for _ in range(50):
        rig.device.receive(
            wrap(Channel.ENVELOPE, _junk_for(rig.device.endpoint.routing_id))
        )
        rig.device.receive(wrap(Channel.RESYNC, os.urandom(200)))
    notices = [f for f in rig.hub.sent_by_lock[sent:] if f[0] == Channel.RESYNC]
    assert len(notices) == 1
    assert len(rig.hub.sent_by_lock) - sent == 1
    rig.scheduler.advance(5)
    rig.device.receive(
        wrap(Channel.ENVELOPE, _junk_for(rig.device.endpoint.routing_id))
    )
    assert [f[0] for f in rig.hub.sent_by_lock[sent:]] == [Channel.RESYNC] * 2
    assert rig.hub.sent_by_lock[-1] == notices[0]  # cached, not signed again
    assert writes == []
    await _drain()
    # The genuine notice tells the controller nothing new: nothing is stored.
    assert controller.lock_writes == lock_writes


async def test_junk_and_forged_notices_change_nothing_for_the_controller(
    rig: Rig,
    controller: Controller,
) -> None:
    """Garbage, a notice signed by another key, and an old genuine one: no change, no write."""
    client = controller.client
    assert client is not None
    old_notice = rig.device.element.resync_notice(
        rig.device.element.public_bundle().prekeys
    )
    await _live_for(rig, controller, DAY_MS / 1000)
    await _drain()
    before = (controller.lock_bytes, controller.lock_writes, client.resyncs)
    forger = LockIdentity.generate()
    forged = ResyncNotice.create(
        rig.device.lock_id, forger.signing_key, forger.public_bundle().prekeys
    ).to_bytes()
    rejected = client.rejected_frames
    for body in (os.urandom(300), forged, old_notice, b""):
        client.handle_frame(wrap(Channel.RESYNC, body))
    assert client.rejected_frames == rejected + 3  # the old notice is merely not newer
    assert (controller.lock_bytes, controller.lock_writes, client.resyncs) == before


async def test_controller_reannounces_at_most_every_10_seconds_on_junk(
    rig: Rig,
    controller: Controller,
) -> None:
    """Anyone can send frames naming a prekey we lack: they trigger one announcement per 10 s."""
    client = controller.client
    assert client is not None
    for _ in range(20):
        client.handle_frame(
            wrap(Channel.ENVELOPE, _junk_for(client.endpoint.routing_id))
        )
    await _drain()
    assert client.resyncs == 1
    rig.scheduler.advance(10)
    client.handle_frame(wrap(Channel.ENVELOPE, _junk_for(client.endpoint.routing_id)))
    await _drain()
    assert client.resyncs == 2
    assert (await client.status()).result is ResultCode.OK
    # A re-announcement that cannot be sent is dropped quietly.
    controller.links[-1].connected_flag = False
    rig.scheduler.advance(10)
    client.handle_frame(wrap(Channel.ENVELOPE, _junk_for(client.endpoint.routing_id)))
    await _drain()
    assert client.resyncs == 3


def _notice_now(rig: Rig) -> ResyncNotice:
    """Make the lock publish its resync notice (a frame naming an unknown prekey)."""
    sent = len(rig.hub.sent_by_lock)
    rig.device.receive(
        wrap(Channel.ENVELOPE, _junk_for(rig.device.endpoint.routing_id))
    )
    notices = [f for f in rig.hub.sent_by_lock[sent:] if f[0] == Channel.RESYNC]
    assert len(notices) == 1
    return ResyncNotice.parse(notices[0][1:])


async def test_the_notice_always_names_the_prekeys_the_lock_holds_now(
    rig: Rig, controller: Controller
) -> None:
    """After a factory reset or an erase, no cached notice names the old prekeys."""
    assert _notice_now(rig).prekeys == rig.device.element.public_bundle().prekeys
    before = rig.device.element.public_bundle().prekeys
    rig.device.factory_reset()
    rig.scheduler.advance(RESYNC_MIN_INTERVAL_S)
    after = _notice_now(rig)
    assert after.prekeys == rig.device.element.public_bundle().prekeys
    assert after.prekeys != before
