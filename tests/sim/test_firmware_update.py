"""Firmware updates of the simulated lock over an in-process link (lock and controller API)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from custom_components.secure_lock.controller import (
    CommandRefused,
    FirmwareRejected,
    FirmwareRelease,
    LockClient,
    LockReport,
    UpdatePhase,
    UpdateProgress,
    confirm_pairing,
    firmware_status,
    pair_over_link,
    update_firmware,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    ErrorCode,
    EventType,
    FirmwareError,
    ReleasePublicKey,
    ReleaseSigningKey,
    ResultCode,
    SetupCode,
    SuiteId,
)
from custom_components.secure_lock.protocol.chunking import firmware_chunk_capacity
from custom_components.secure_lock.protocol.messages import (
    FirmwareSlot,
    UpdateOutcome,
    UpdateState,
)
from device_sim.lock_device import DeviceConfig, LockDevice
from device_sim.loopback import LoopbackHub
from device_sim.mechanism import MechanismConfig
from device_sim.nv_counter import CounterFile
from device_sim.release_tool import build_test_release
from device_sim.storage import KeyFile, SealedStore
from device_sim.timing import ManualScheduler, TimerHandle

from .helpers import setup_for_next_controller

MODEL = DeviceConfig().model
IMAGE_SIZE = 12_000
"""8 chunks in suite 2 (34 in suite 1): several windows of 2, and fast."""
WINDOW = 2


class SoonScheduler(ManualScheduler):
    """Manual time, except that zero-delay callbacks run on the next loop turn.

    The simulated reboot (reboot_seconds=0) then happens on its own, after the
    install answer has gone out, as with the real asyncio scheduler.
    """

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Run zero-delay callbacks soon; queue the rest for `advance`."""
        if delay <= 0:
            return asyncio.get_running_loop().call_soon(callback)
        return super().call_later(delay, callback)


@pytest.fixture(scope="module")
def release_key() -> ReleaseSigningKey:
    """Return the manufacturer release key (Ed25519 + ML-DSA-65)."""
    return ReleaseSigningKey.generate()


def make_release(
    key: ReleaseSigningKey,
    version: str,
    *,
    security_version: int = 0,
    model: str = MODEL,
    min_version: str = "0.0.0",
    size: int = IMAGE_SIZE,
) -> FirmwareRelease:
    """Build a signed release of a generated image."""
    signed, image = build_test_release(
        key,
        version,
        model=model,
        size=size,
        security_version=security_version,
        min_version=min_version,
    )
    return FirmwareRelease.from_bytes(signed.to_bytes(), image)


@dataclass
class Rig:
    """A simulated lock with a release key on a loopback hub."""

    path: Path
    config: DeviceConfig
    scheduler: ManualScheduler = field(default_factory=SoonScheduler)
    hub: LoopbackHub = field(default_factory=LoopbackHub)
    device: LockDevice = field(init=False)
    clients: list[LockClient] = field(default_factory=list)

    def __post_init__(self) -> None:
        """First boot."""
        self.boot()

    def boot(self, config: DeviceConfig | None = None) -> LockDevice:
        """Power on from storage (what a restart or power cut leaves)."""
        store = SealedStore(
            self.path / "state",
            KeyFile(self.path / "device.key"),
            counter=CounterFile(self.path / "monotonic.counters"),
        )
        self.device = LockDevice(
            store, self.scheduler, self.hub.outbox, config or self.config
        )
        self.hub.receive = self.device.receive
        return self.device

    def now_ms(self) -> int:
        """Return the shared manual clock in milliseconds."""
        return int(self.scheduler.wall_time() * 1000)

    async def pair(self, name: str = "Home Assistant") -> LockClient:
        """Pair a new controller (the first becomes admin)."""
        setup = setup_for_next_controller(self.device)
        self.device.press_button()
        link = self.hub.attach()
        identity = ControllerIdentity.generate(now_ms=self.now_ms())
        outcome = await pair_over_link(link, identity, setup, name, clock=self.now_ms)
        await confirm_pairing(link, identity, outcome.lock, clock=self.now_ms)
        return await self.client(identity, outcome.lock)

    async def client(self, identity: ControllerIdentity, lock: Any) -> LockClient:
        """Start a client on a fresh link (a reconnect)."""
        client = LockClient(self.hub.attach(), identity, lock, clock=self.now_ms)
        await client.start()
        self.clients.append(client)
        return client

    def firmware_snapshot(self) -> dict[str, Any]:
        """Return the stored firmware state and slot files (to show nothing changed)."""
        slots = self.path / "state" / "firmware"
        return {
            "record": self.device.state.firmware.to_json(),
            "files": {p.name: p.read_bytes() for p in sorted(slots.iterdir())},
        }


@pytest.fixture(name="rig")
async def rig_fixture(tmp_path: Path, release_key: ReleaseSigningKey) -> Any:
    """Return a lock on factory firmware 1.0.0 that trusts ``release_key``."""
    config = DeviceConfig(
        mechanism=MechanismConfig(motor_seconds=0),
        release_key=release_key.public_key(),
        reboot_seconds=0,
    )
    rig = Rig(tmp_path, config)
    yield rig
    for client in rig.clients:
        await client.close()


async def test_good_update_installs_and_the_lock_reports_the_new_version(
    rig: Rig, release_key: ReleaseSigningKey
) -> None:
    """Offer, chunks, install, reboot: the signed status and every event carry 1.1.0."""
    admin = await rig.pair()
    updates: list[LockReport] = []
    admin._on_update = updates.append
    progress: list[UpdateProgress] = []
    release = make_release(release_key, "1.1.0", security_version=3)
    assert (await admin.status()).status.firmware_version == "1.0.0"

    status = await update_firmware(admin, release, on_progress=progress.append)

    assert status.running_version == "1.1.0"
    assert status.running_slot is FirmwareSlot.B
    assert status.security_version == 3
    assert status.state is UpdateState.IDLE
    assert status.last_outcome is UpdateOutcome.UPDATED
    assert (await admin.status()).status.firmware_version == "1.1.0"
    events = [u.event.event for u in updates if u.event is not None]
    assert EventType.FIRMWARE_UPDATED in events
    phases = [p.phase for p in progress]
    assert phases[0] is UpdatePhase.OFFERING
    assert phases[-2:] == [UpdatePhase.INSTALLING, UpdatePhase.DONE]
    held = [p.held for p in progress if p.phase is UpdatePhase.TRANSFERRING]
    assert held == sorted(held)
    assert held[-1] == IMAGE_SIZE
    # The new slot survives a power cycle; the old one is still the fallback.
    device = rig.boot()
    assert device.firmware.running_version == "1.1.0"
    assert device.state.firmware.security_floor == 3
    assert device.state.firmware.slots[FirmwareSlot.A].version == "1.0.0"


async def test_interrupted_transfer_resumes_where_the_lock_stopped(
    rig: Rig, release_key: ReleaseSigningKey
) -> None:
    """A controller that dies mid-transfer resumes from the lock's signed offset, on a new link."""
    admin = await rig.pair()
    release = make_release(release_key, "1.1.0")

    class Interrupted(Exception):
        pass

    def die_at_a_third(progress: UpdateProgress) -> None:
        if progress.held >= IMAGE_SIZE // 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        await update_firmware(admin, release, on_progress=die_at_a_third, window=WINDOW)
    held = rig.device.state.firmware.transfer
    assert held is not None
    assert 0 < held.received < IMAGE_SIZE
    await admin.close()

    # Power cut too: the lock's state and the partial slot survive a reboot.
    rig.boot()
    again = await rig.client(admin.identity, admin.paired_lock)
    status = await firmware_status(again)
    assert status.state is UpdateState.RECEIVING
    assert status.received == held.received
    assert status.transfer_id == release.transfer_id
    progress: list[UpdateProgress] = []
    link = again.link
    sent_before = link.stats.frames_sent
    final = await update_firmware(
        again, release, on_progress=progress.append, window=WINDOW
    )
    assert final.running_version == "1.1.0"
    first = next(p for p in progress if p.phase is UpdatePhase.TRANSFERRING)
    assert first.held == held.received
    capacity = firmware_chunk_capacity(again.paired_lock.suite)
    remaining = -(-(IMAGE_SIZE - held.received) // capacity)
    offer_parts = -(-len(release.signed_manifest) // capacity)
    polls = -(-remaining // WINDOW)
    # Only the missing chunks travel again (+ offer, polls, install, final status).
    assert link.stats.frames_sent - sent_before == offer_parts + remaining + polls + 2


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("wrong key", ErrorCode.FIRMWARE_BAD_SIGNATURE),
        ("wrong model", ErrorCode.FIRMWARE_WRONG_MODEL),
        ("older version", ErrorCode.FIRMWARE_NOT_NEWER),
        ("same version", ErrorCode.FIRMWARE_NOT_NEWER),
        ("lower security version", ErrorCode.FIRMWARE_ROLLBACK),
        ("base too old", ErrorCode.FIRMWARE_BASE_TOO_OLD),
        ("ed25519 only", ErrorCode.FIRMWARE_BAD_SIGNATURE),
    ],
)
async def test_bad_releases_are_refused_with_a_signed_reason_and_change_nothing(
    rig: Rig, release_key: ReleaseSigningKey, case: str, code: ErrorCode
) -> None:
    """Each defect gets its own stable code in a signed refusal; firmware state is untouched."""
    admin = await rig.pair()
    await update_firmware(admin, make_release(release_key, "1.1.0", security_version=5))
    releases = {
        "wrong key": lambda: make_release(
            ReleaseSigningKey.generate(), "1.2.0", security_version=5
        ),
        "wrong model": lambda: make_release(
            release_key, "1.2.0", security_version=5, model="SL-2"
        ),
        "older version": lambda: make_release(release_key, "1.0.5", security_version=5),
        "same version": lambda: make_release(release_key, "1.1.0", security_version=5),
        "lower security version": lambda: make_release(
            release_key, "1.2.0", security_version=4
        ),
        "base too old": lambda: make_release(
            release_key, "2.0.0", security_version=5, min_version="1.5.0"
        ),
        # The lock holds a hybrid key: an Ed25519-only signature is a downgrade.
        "ed25519 only": lambda: _ed25519_only(release_key, "1.2.0"),
    }
    bad = releases[case]()
    before = rig.firmware_snapshot()

    with pytest.raises(FirmwareRejected) as err:
        await update_firmware(admin, bad)

    assert err.value.code is code
    assert err.value.status is not None
    assert err.value.status.result is ResultCode.FIRMWARE_REJECTED
    assert err.value.status.running_version == "1.1.0"
    assert rig.firmware_snapshot() == before
    assert rig.device.firmware.running_version == "1.1.0"


def _ed25519_only(key: ReleaseSigningKey, version: str) -> FirmwareRelease:
    seeds = key.to_bytes()
    ed_only = ReleaseSigningKey(seeds[1:33], None)
    return make_release(ed_only, version, security_version=5)


async def test_tampered_image_is_rejected_by_the_lock(
    rig: Rig, release_key: ReleaseSigningKey
) -> None:
    """An image that does not hash to the signed manifest is dropped after the last chunk."""
    admin = await rig.pair()
    good = make_release(release_key, "1.1.0")
    tampered = bytearray(good.image)
    tampered[IMAGE_SIZE // 2] ^= 0x01
    # Bypass the controller's own pre-check to reach the lock's.
    bad = FirmwareRelease(good.signed_manifest, bytes(tampered), good.manifest)
    with pytest.raises(FirmwareError) as local:
        FirmwareRelease.from_bytes(good.signed_manifest, bytes(tampered))
    assert local.value.code is ErrorCode.FIRMWARE_HASH_MISMATCH

    with pytest.raises(FirmwareRejected) as err:
        await update_firmware(admin, bad)

    assert err.value.code is ErrorCode.FIRMWARE_HASH_MISMATCH
    status = await firmware_status(admin)
    assert status.state is UpdateState.IDLE
    assert status.running_version == "1.0.0"
    assert status.last_outcome is UpdateOutcome.TRANSFER_FAILED
    assert not (rig.path / "state" / "firmware" / "slot-b.img").exists()
    # The good image still installs afterwards.
    assert (await update_firmware(admin, good)).running_version == "1.1.0"


async def test_only_admins_may_update(rig: Rig, release_key: ReleaseSigningKey) -> None:
    """An operator gets a signed not_permitted for offers and installs; it may read status."""
    await rig.pair()
    operator = await rig.pair("Phone")
    release = make_release(release_key, "1.1.0")
    with pytest.raises(CommandRefused) as err:
        await update_firmware(operator, release)
    assert err.value.code is ResultCode.NOT_PERMITTED
    assert rig.device.state.firmware.transfer is None
    assert (await firmware_status(operator)).running_version == "1.0.0"


async def test_self_check_failure_falls_back_to_the_old_slot(
    rig: Rig, release_key: ReleaseSigningKey
) -> None:
    """A failed self-check reboots into the old image, says so in events and status, keeps the floor."""
    admin = await rig.pair()
    updates: list[LockReport] = []
    admin._on_update = updates.append
    release = make_release(release_key, "1.1.0", security_version=2)
    rig.device.fail_next_self_check()

    with pytest.raises(FirmwareRejected) as err:
        await update_firmware(admin, release)

    assert err.value.code is ErrorCode.FIRMWARE_SELF_CHECK_FAILED
    status = await firmware_status(admin)
    assert status.running_version == "1.0.0"
    assert status.running_slot is FirmwareSlot.A
    assert status.last_outcome is UpdateOutcome.ROLLED_BACK
    assert status.last_error == "firmware_self_check_failed"
    assert status.security_version == 0  # raised only by a confirmed image
    rolled = [
        u.event
        for u in updates
        if u.event is not None and u.event.event is EventType.FIRMWARE_ROLLED_BACK
    ]
    assert rolled
    assert rolled[0].status.firmware_version == "1.0.0"
    assert (await update_firmware(admin, release)).running_version == "1.1.0"


async def test_power_cut_during_install_ends_on_a_working_slot(
    rig: Rig, release_key: ReleaseSigningKey
) -> None:
    """A cut before the trial boot boots the new image; one during it falls back to the old."""
    admin = await rig.pair()
    slow = DeviceConfig(
        mechanism=MechanismConfig(motor_seconds=0),
        release_key=release_key.public_key(),
        reboot_seconds=30,
    )
    rig.boot(slow)
    release = make_release(release_key, "1.1.0")
    await update_firmware(admin, release, install=False)
    rig.device.firmware.install(release.transfer_id)  # trial recorded, then the cut
    device = rig.boot(slow)
    assert device.firmware.running_version == "1.1.0"
    assert device.state.firmware.trial is None

    second = make_release(release_key, "1.2.0")
    await update_firmware(admin, second, install=False)
    device.firmware.install(second.transfer_id)
    trial = device.state.firmware.trial
    assert trial is not None
    trial.boots = 1  # the new image's boot started, and the power went
    device.firmware.record.trial = trial
    device.persist()
    device = rig.boot(slow)
    assert device.firmware.running_version == "1.1.0"
    assert device.state.firmware.last_outcome is UpdateOutcome.ROLLED_BACK
    assert device.state.firmware.last_error == "firmware_interrupted"


async def test_refuses_to_install_while_unlocked_when_configured(
    rig: Rig, release_key: ReleaseSigningKey
) -> None:
    """With the flag set, install waits for a locked bolt; the received image is kept."""
    rig.boot(
        DeviceConfig(
            mechanism=MechanismConfig(motor_seconds=0),
            release_key=release_key.public_key(),
            reboot_seconds=0,
            refuse_update_when_unlocked=True,
        )
    )
    admin = await rig.pair()
    await admin.unlock()
    release = make_release(release_key, "1.1.0")
    with pytest.raises(FirmwareRejected) as err:
        await update_firmware(admin, release)
    assert err.value.code is ErrorCode.FIRMWARE_NOT_LOCKED
    assert (await firmware_status(admin)).state is UpdateState.READY
    await admin.lock()
    assert (await update_firmware(admin, release)).running_version == "1.1.0"


async def test_release_key_is_baked_in_once(
    tmp_path: Path, release_key: ReleaseSigningKey
) -> None:
    """No key: updates unsupported. The first key given is kept; a later one is ignored."""
    rig = Rig(
        tmp_path,
        DeviceConfig(mechanism=MechanismConfig(motor_seconds=0), reboot_seconds=0),
    )
    admin = await rig.pair()
    rig.clients.append(admin)
    release = make_release(release_key, "1.1.0")
    with pytest.raises(FirmwareRejected) as err:
        await update_firmware(admin, release)
    assert err.value.code is ErrorCode.FIRMWARE_NO_RELEASE_KEY
    assert err.value.status is not None
    assert err.value.status.result is ResultCode.UNSUPPORTED

    rig.boot(
        DeviceConfig(
            mechanism=MechanismConfig(motor_seconds=0),
            release_key=release_key.public_key(),
            reboot_seconds=0,
        )
    )
    other = ReleaseSigningKey.generate()
    rig.boot(
        DeviceConfig(
            mechanism=MechanismConfig(motor_seconds=0),
            release_key=other.public_key(),
            reboot_seconds=0,
        )
    )
    stored = rig.device.state.firmware.release_key
    assert stored is not None
    assert ReleasePublicKey.from_bytes(stored) == release_key.public_key()
    with pytest.raises(FirmwareRejected) as err:
        await update_firmware(admin, make_release(other, "1.1.0"))
    assert err.value.code is ErrorCode.FIRMWARE_BAD_SIGNATURE
    assert (await update_firmware(admin, release)).running_version == "1.1.0"
    for client in rig.clients:
        await client.close()


async def test_update_over_suite_1_frames(
    rig: Rig, release_key: ReleaseSigningKey
) -> None:
    """With the smallest frames the hybrid manifest takes ten offer parts; the update still works."""
    rig.device.press_button()
    identity = ControllerIdentity.generate(
        now_ms=rig.now_ms(), suites=(SuiteId.X25519_CHACHA20,)
    )
    outcome = await pair_over_link(
        rig.hub.attach(),
        identity,
        SetupCode.parse(rig.device.element.label_code.manual_code()),
        "Suite 1",
        clock=rig.now_ms,
    )
    admin = await rig.client(identity, outcome.lock)
    assert admin.paired_lock.suite is SuiteId.X25519_CHACHA20
    release = make_release(release_key, "1.1.0")
    assert len(release.signed_manifest) > 9 * firmware_chunk_capacity(
        SuiteId.X25519_CHACHA20
    )
    assert (await update_firmware(admin, release)).running_version == "1.1.0"
