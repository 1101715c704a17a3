"""Firmware updates under kill -9: the lock always comes back on a working slot.

Usage: ``.venvs/latest/bin/python -m device_sim.firmware_crash_test --cycles 50``.

Each cycle starts an update of a real lock process over its LAN WebSocket and
kills the process with SIGKILL at a random moment, either while chunks are
streaming or after the install request (during the simulated reboot, the
trial boot, or just after it).  After every restart it checks that:

* the lock boots, answers signed requests, and is not stuck installing;
* it runs either the version it ran before or the new one, never anything
  else, and its anti-rollback floor matches what it runs;
* a transfer it reports holding is resumable: the next cycle offers the same
  release and continues from the lock's offset.

Finally one uninterrupted update must succeed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
import random
import sys
import tempfile
import time
from typing import Any

import aiohttp

from custom_components.secure_lock.controller import (
    ControllerError,
    FirmwareRelease,
    LockClient,
    UpdatePhase,
    UpdateProgress,
    firmware_status,
    update_firmware,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    FirmwareVersion,
    PairedLock,
    ReleaseSigningKey,
)
from custom_components.secure_lock.protocol.messages import UpdateState
from custom_components.secure_lock.transport import TransportError
from custom_components.secure_lock.transport.ws import WebSocketFrameLink

from . import PROG
from .crash_test import CrashCheckFailed, LockProcess, _pair, lan_link
from .lock_device import DeviceConfig
from .ports import free_port
from .release_tool import build_release, generate_test_image

IMAGE_SIZE = 40 * 1024
WINDOW = 4
REBOOT_SECONDS = 0.3


@dataclass(slots=True)
class FirmwareCrashReport:
    """What a run did and saw."""

    cycles: int = 0
    kills_during_transfer: int = 0
    kills_during_install: int = 0
    installed: int = 0
    resumed: int = 0
    seconds: float = 0.0


def make_release(key: ReleaseSigningKey, version: FirmwareVersion) -> FirmwareRelease:
    """Sign a generated image of ``version`` for the simulator's model."""
    image = generate_test_image(version, IMAGE_SIZE)
    signed = build_release(
        key,
        image,
        model=DeviceConfig().model,
        version=version,
        security_version=version.patch,
    )
    return FirmwareRelease.from_bytes(signed.to_bytes(), image)


async def run(
    cycles: int, workdir: Path, seed: int | None = None
) -> FirmwareCrashReport:
    """Run the loop; raise CrashCheckFailed on the first broken invariant."""
    async with aiohttp.ClientSession() as session:
        return await _run(cycles, workdir, seed, session)


async def _run(
    cycles: int, workdir: Path, seed: int | None, session: aiohttp.ClientSession
) -> FirmwareCrashReport:
    rng = random.Random(seed)  # noqa: S311 - kill timing for a test, not a secret
    report = FirmwareCrashReport()
    started = time.monotonic()
    key = ReleaseSigningKey.generate()
    (workdir / "release.pub").write_text(key.public_key().to_text())
    lock = LockProcess(
        workdir / "lock",
        free_port(),
        (
            "--release-key",
            str(workdir / "release.pub"),
            "--reboot-seconds",
            str(REBOOT_SECONDS),
        ),
    )
    await lock.start()
    identity = ControllerIdentity.generate()
    paired = await _pair(lock, identity, session)
    running = FirmwareVersion(1, 0, 0)
    release = make_release(key, FirmwareVersion(1, 0, 1))
    try:
        for cycle in range(cycles):
            report.cycles = cycle + 1
            # Alternate, so even a short run kills in both phases.
            during_install = cycle % 2 == 1
            paired, resumed = await _interrupted_update(
                lock,
                identity,
                paired,
                release,
                rng,
                during_install=during_install,
                session=session,
            )
            report.resumed += resumed
            if during_install:
                report.kills_during_install += 1
            else:
                report.kills_during_transfer += 1
            await lock.start()
            running, paired = await _check_after_restart(
                lock, identity, paired, running, release, session=session
            )
            if running == release.manifest.version:
                report.installed += 1
                release = make_release(
                    key, FirmwareVersion(1, 0, release.manifest.version.patch + 1)
                )
        paired = await _finish(lock, session, identity, paired, release)
    finally:
        lock.kill()
    report.seconds = time.monotonic() - started
    return report


async def _client(
    lock: LockProcess,
    session: aiohttp.ClientSession,
    identity: ControllerIdentity,
    paired: PairedLock,
) -> tuple[LockClient, WebSocketFrameLink]:
    link = lan_link(lock, session)
    await link.connect()
    client = LockClient(link, identity, paired)
    await client.start()
    return client, link


async def _close(client: LockClient, link: WebSocketFrameLink) -> None:
    await client.close()
    with contextlib.suppress(TransportError, OSError):
        await link.close()


async def _interrupted_update(
    lock: LockProcess,
    identity: ControllerIdentity,
    paired: PairedLock,
    release: FirmwareRelease,
    rng: random.Random,
    *,
    during_install: bool,
    session: aiohttp.ClientSession,
) -> tuple[PairedLock, int]:
    """Start (or resume) the update and kill the lock mid-way."""
    client, link = await _client(lock, session, identity, paired)
    installing = asyncio.Event()
    first_held: list[int] = []

    def progress(update: UpdateProgress) -> None:
        if update.phase is UpdatePhase.TRANSFERRING and not first_held:
            first_held.append(update.held)
        if update.phase is UpdatePhase.INSTALLING:
            installing.set()

    task = asyncio.create_task(
        update_firmware(
            client, release, on_progress=progress, window=WINDOW, install_timeout=10
        )
    )
    if during_install:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(20):
                await installing.wait()
        await asyncio.sleep(rng.uniform(0, REBOOT_SECONDS * 1.5))
    else:
        await asyncio.sleep(rng.uniform(0.005, 0.15))
    lock.kill()
    # The controller goes down with the lock: it would otherwise wait for an
    # outcome event that a killed lock never sends.
    task.cancel()
    await _close(client, link)
    with contextlib.suppress(
        ControllerError, TransportError, OSError, asyncio.CancelledError
    ):
        await task
    return client.paired_lock, int(bool(first_held and first_held[0] > 0))


async def _check_after_restart(
    lock: LockProcess,
    identity: ControllerIdentity,
    paired: PairedLock,
    previous: FirmwareVersion,
    release: FirmwareRelease,
    *,
    session: aiohttp.ClientSession,
) -> tuple[FirmwareVersion, PairedLock]:
    state: dict[str, Any] = await lock.state()
    firmware = state["firmware"]
    if firmware["state"] == "installing" or firmware["rebooting"]:
        raise CrashCheckFailed(f"lock still installing after a restart: {firmware}")
    running = FirmwareVersion.parse(state["firmware_version"])
    if running not in (previous, release.manifest.version):
        raise CrashCheckFailed(f"lock runs {running}, expected {previous} or the new")
    client, link = await _client(lock, session, identity, paired)
    try:
        status = await firmware_status(client)
        result = await client.status(timeout=10)
    finally:
        await _close(client, link)
    if status.running_version != str(running) or (
        result.status.firmware_version != str(running)
    ):
        raise CrashCheckFailed("signed status disagrees with the running version")
    if status.security_version != running.patch:
        raise CrashCheckFailed(
            f"anti-rollback floor {status.security_version} for {running}"
        )
    if status.state is UpdateState.RECEIVING and status.received > status.total:
        raise CrashCheckFailed("lock claims more bytes than the image has")
    return running, client.paired_lock


async def _finish(
    lock: LockProcess,
    session: aiohttp.ClientSession,
    identity: ControllerIdentity,
    paired: PairedLock,
    release: FirmwareRelease,
) -> PairedLock:
    client, link = await _client(lock, session, identity, paired)
    try:
        status = await update_firmware(client, release, window=WINDOW)
    finally:
        await _close(client, link)
    if status.running_version != release.version:
        raise CrashCheckFailed("the final uninterrupted update did not install")
    return client.paired_lock


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog=f"{PROG}.firmware_crash_test", description=__doc__
    )
    parser.add_argument("--cycles", type=int, default=50, help="kill -9 cycles")
    parser.add_argument("--seed", type=int, help="seed the kill timing")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the loop from the command line."""
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        report = asyncio.run(run(args.cycles, Path(workdir), args.seed))
    print(
        f"{report.cycles} cycles: {report.kills_during_transfer} kills while streaming, "
        f"{report.kills_during_install} while installing, {report.installed} installs "
        f"confirmed, {report.resumed} transfers resumed, {report.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
