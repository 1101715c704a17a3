"""Controller firmware steps against a scripted lock: answers it cannot use are typed errors.

The simulated lock (tests/sim/test_firmware_update.py) only gives honest
answers; these tests script the signed answers a buggy or stalled lock could
give, to check that every one ends in a typed error instead of a hang.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from custom_components.secure_lock.controller import (
    CommandTimeout,
    FirmwareRejected,
    FirmwareRelease,
    firmware as firmware_module,
    firmware_status,
    load_release,
)
from custom_components.secure_lock.controller.client import CommandOutcome
from custom_components.secure_lock.controller.firmware import (
    IMAGE_FILE,
    MANIFEST_FILE,
    MAX_STALLED_WINDOWS,
    install_firmware,
    send_firmware,
)
from custom_components.secure_lock.protocol import (
    BoltState,
    DoorState,
    ErrorCode,
    FirmwareError,
    FirmwareVersion,
    LockStatus,
    MessageKind,
    ProtocolError,
    ReleaseSigningKey,
    ResultCode,
    SuiteId,
)
from custom_components.secure_lock.protocol.messages import (
    FirmwareSlot,
    FirmwareStatus,
    Heartbeat,
    UpdateOutcome,
    UpdateState,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng
from device_sim.release_tool import build_release, generate_test_image

from .test_firmware_update import MODEL

T0 = 1_800_000_000_000


def _key() -> ReleaseSigningKey:
    return ReleaseSigningKey.generate(DeterministicRng(b"release"), with_mldsa=False)


@pytest.fixture(scope="module")
def release() -> FirmwareRelease:
    """Return a small signed release (Ed25519 only: fast)."""
    key = _key()
    version = FirmwareVersion.parse("2.0.0")
    image = generate_test_image(version, 3000)
    signed = build_release(
        key,
        image,
        model=MODEL,
        version=version,
        security_version=0,
        min_version=FirmwareVersion.parse("0.0.0"),
        notes="scripted",
    )
    return FirmwareRelease.from_bytes(signed.to_bytes(), image)


def status(release: FirmwareRelease | None = None, **changes: Any) -> FirmwareStatus:
    """Return a signed-status payload as the lock would send it."""
    values: dict[str, Any] = {
        "result": ResultCode.OK,
        "state": UpdateState.IDLE,
        "running_version": "1.0.0",
        "running_slot": FirmwareSlot.A,
        "security_version": 0,
        "lock_time_ms": T0,
    }
    if release is not None:
        values["transfer_id"] = release.transfer_id
        values["total"] = len(release.image)
    values.update(changes)
    return FirmwareStatus(**values)


@dataclass
class ScriptedLock:
    """Stands in for `LockClient`: answers requests from a script, counts posts."""

    answers: list[object]
    requests: list[MessageKind] = field(default_factory=list)
    posted: int = 0
    paired_lock: SimpleNamespace = field(
        default_factory=lambda: SimpleNamespace(suite=SuiteId.X25519_CHACHA20)
    )
    link: SimpleNamespace = field(
        default_factory=lambda: SimpleNamespace(send_rate=None)
    )

    async def request(self, kind: MessageKind, payload: object) -> CommandOutcome:
        """Answer with the next scripted payload (or repeat the last one)."""
        self.requests.append(kind)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return CommandOutcome((SimpleNamespace(payload=answer),))  # type: ignore[arg-type]

    async def post(self, kind: MessageKind, payload: object) -> None:
        """Count a chunk."""
        self.posted += 1

    def add_listener(self, _listener: Callable[[object], None]) -> Callable[[], None]:
        """Never deliver an event (as when it is lost during the reboot)."""
        return lambda: None


async def test_answer_that_is_not_a_status_is_unexpected() -> None:
    """A heartbeat where a firmware status belongs is refused as unexpected."""
    heartbeat = Heartbeat(
        LockStatus(
            bolt_state=BoltState.LOCKED,
            door_state=DoorState.CLOSED,
            battery_percent=80,
            firmware_version="1.0.0",
            has_latch=False,
        ),
        T0,
        60,
    )
    with pytest.raises(ProtocolError) as err:
        await firmware_status(ScriptedLock([heartbeat]))  # type: ignore[arg-type]
    assert err.value.code is ErrorCode.UNEXPECTED_MESSAGE


async def test_unknown_refusal_reason_is_invalid_argument() -> None:
    """A refusal whose reason is no known code keeps the signed status, generic code."""
    refusal = status(result=ResultCode.INVALID_REQUEST, reason="gremlins")
    with pytest.raises(FirmwareRejected) as err:
        await firmware_status(ScriptedLock([refusal]))  # type: ignore[arg-type]
    assert err.value.code is ErrorCode.INVALID_ARGUMENT
    assert err.value.status == refusal


async def test_failed_transfer_reports_the_lock_reason(
    release: FirmwareRelease,
) -> None:
    """When the lock dropped the transfer, its signed reason is what the user sees."""
    failed = status(
        last_outcome=UpdateOutcome.TRANSFER_FAILED,
        last_error=ErrorCode.FIRMWARE_HASH_MISMATCH.value,
    )
    lock = ScriptedLock([failed])
    with pytest.raises(FirmwareRejected) as err:
        await send_firmware(lock, release, failed)  # type: ignore[arg-type]
    assert err.value.code is ErrorCode.FIRMWARE_HASH_MISMATCH
    # A lock that forgot the transfer (e.g. another one replaced it) says so.
    idle = status()
    with pytest.raises(FirmwareRejected) as err:
        await send_firmware(lock, release, idle)  # type: ignore[arg-type]
    assert err.value.code is ErrorCode.FIRMWARE_NO_TRANSFER
    assert lock.posted == 0


async def test_lock_that_stops_taking_chunks_times_out(
    release: FirmwareRelease,
) -> None:
    """A lock stuck at the same offset ends the transfer after a few windows."""
    stuck = status(release, state=UpdateState.RECEIVING, received=0)
    lock = ScriptedLock([stuck])
    with pytest.raises(CommandTimeout):
        await send_firmware(lock, release, stuck, window=1)  # type: ignore[arg-type]
    assert lock.posted == MAX_STALLED_WINDOWS + 1
    assert lock.requests.count(MessageKind.FIRMWARE_STATUS_REQUEST) == (
        MAX_STALLED_WINDOWS + 1
    )


@pytest.mark.parametrize(
    ("send_rate", "override", "pause"),
    [(20.0, None, 1 / 20), (None, None, None), (20.0, 0.0, None), (None, 5.0, 1 / 5)],
)
async def test_chunks_are_paced_at_the_link_send_rate(
    release: FirmwareRelease,
    monkeypatch: pytest.MonkeyPatch,
    send_rate: float | None,
    override: float | None,
    pause: float | None,
) -> None:
    """The sender asks the link how fast it may send; an explicit rate (0: unpaced) wins."""
    pauses: list[float] = []

    async def record(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(firmware_module.asyncio, "sleep", record)
    stuck = status(release, state=UpdateState.RECEIVING, received=0)
    lock = ScriptedLock([stuck], link=SimpleNamespace(send_rate=send_rate))
    with pytest.raises(CommandTimeout):
        await send_firmware(  # type: ignore[arg-type]
            lock, release, stuck, window=1, frames_per_second=override
        )
    assert pauses == ([] if pause is None else [pause] * lock.posted)


async def test_install_without_an_outcome_is_a_timeout(
    release: FirmwareRelease,
) -> None:
    """No outcome event and a lock still installing: a timeout, never a success."""
    installing = status(release, state=UpdateState.INSTALLING)
    lock = ScriptedLock([status(release, state=UpdateState.READY), installing])
    with pytest.raises(CommandTimeout):
        await install_firmware(lock, release, timeout=0)  # type: ignore[arg-type]
    assert lock.requests == [
        MessageKind.FIRMWARE_INSTALL,
        MessageKind.FIRMWARE_STATUS_REQUEST,
    ]


def test_release_folder_missing_a_file_is_refused(
    tmp_path: Path, release: FirmwareRelease
) -> None:
    """A folder without the image is a typed error naming no path contents."""
    (tmp_path / MANIFEST_FILE).write_bytes(release.signed_manifest)
    with pytest.raises(ProtocolError) as err:
        load_release(tmp_path)
    assert err.value.code is ErrorCode.INVALID_ARGUMENT
    (tmp_path / IMAGE_FILE).write_bytes(release.image)
    assert load_release(tmp_path).transfer_id == release.transfer_id


def test_release_signature_check_before_offering(release: FirmwareRelease) -> None:
    """A release checks out under its own key and fails under another one."""
    release.verify(_key().public_key())
    stranger = ReleaseSigningKey.generate(DeterministicRng(b"other"), with_mldsa=False)
    with pytest.raises(FirmwareError) as err:
        release.verify(stranger.public_key())
    assert err.value.code is ErrorCode.FIRMWARE_BAD_SIGNATURE
