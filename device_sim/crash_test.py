"""Crash consistency: kill -9 a running simulated lock at random moments, many times.

Usage: ``.venvs/latest/bin/python -m device_sim.crash_test --cycles 500`` (CI runs 50).

Each cycle starts the lock process, lets a controller fire commands at it,
kills the process with SIGKILL after a random delay (often in the middle of
handling a command), and restarts it.  After every restart it checks that:

* the sealed state loads, is bound to the secure element's counter and is
  never mistaken for a rollback (the counter file sits beside the device key);
* the controller is still paired and not revoked;
* the lock's stored high-water mark for the controller is at least the counter
  of every command the lock had confirmed (counters never go backward);
* replaying every frame the controller ever sent changes nothing: no new
  audit entry, no movement (no command is acted on twice, before or after a
  crash).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass, field
import os
from pathlib import Path
import random
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import aiohttp

from custom_components.secure_lock.controller import (
    CommandTimeout,
    ControllerError,
    LockClient,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    PairedLock,
    SetupCode,
)
from custom_components.secure_lock.transport import TransportError
from custom_components.secure_lock.transport.ws import WebSocketFrameLink

from . import PROG
from .admin import SOCKET_NAME, AdminCommand, AdminError, AdminRequest, admin_call
from .ports import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 20.0
REPLAY_BATCH = 32


class CrashCheckFailed(AssertionError):
    """An invariant did not hold after a crash."""


@dataclass(slots=True)
class CrashReport:
    """What a run did and saw."""

    cycles: int = 0
    commands_sent: int = 0
    commands_confirmed: int = 0
    kills_during_commands: int = 0
    replays_sent: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


class LockProcess:
    """A simulated lock in its own process (LAN only), to kill with SIGKILL."""

    def __init__(
        self, state_dir: Path, port: int, extra_args: tuple[str, ...] = ()
    ) -> None:
        """Prepare; `start` runs it (``extra_args`` go to `device_sim lock`)."""
        self.state_dir = state_dir
        self.port = port
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        """Start the process and wait until its admin channel answers."""
        # Kept outside the test's folders; read only if the start fails.
        stderr, stderr_path = tempfile.mkstemp(prefix="secure-lock-", suffix=".stderr")
        try:
            self.process = self._spawn(stderr)
        finally:
            os.close(stderr)
        try:
            await self._wait_until_up(Path(stderr_path))
        finally:
            Path(stderr_path).unlink(missing_ok=True)

    async def _wait_until_up(self, stderr_path: Path) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = stderr_path.read_text(errors="replace")[-1500:].strip()
                raise CrashCheckFailed(
                    f"the lock exited with {self.process.returncode} on start: "
                    f"{output or 'no output'}"
                )
            try:
                await admin_call(
                    self.state_dir / SOCKET_NAME, AdminRequest(AdminCommand.STATE)
                )
            except AdminError, OSError:
                await asyncio.sleep(0.05)
                continue
            return
        raise CrashCheckFailed("the lock did not come up")

    def _spawn(self, stderr: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: ASYNC220 - a child we kill -9 on purpose
            [
                sys.executable,
                "-m",
                "device_sim",
                "lock",
                "--state-dir",
                str(self.state_dir),
                "--listen",
                f"127.0.0.1:{self.port}",
                "--motor-seconds",
                "0",
                "--heartbeat",
                "3600",
                "--quiet",
                # Replays come in bursts here; flood limits are tested elsewhere.
                "--lan-rate",
                "100000",
                *self.extra_args,
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )

    def kill(self) -> None:
        """SIGKILL the process: no clean-up, no flush, like a power cut."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    async def state(self) -> dict[str, Any]:
        """Return the lock's state from its admin channel."""
        answer = await admin_call(
            self.state_dir / SOCKET_NAME, AdminRequest(AdminCommand.STATE)
        )
        state: dict[str, Any] = answer["state"]
        return state


async def run(cycles: int, workdir: Path, seed: int | None = None) -> CrashReport:
    """Run the crash loop; raise CrashCheckFailed on the first broken invariant."""
    async with aiohttp.ClientSession() as session:
        return await _run(cycles, workdir, seed, session)


async def _run(
    cycles: int, workdir: Path, seed: int | None, session: aiohttp.ClientSession
) -> CrashReport:
    rng = random.Random(seed)  # noqa: S311 - timing jitter for a test, not a secret
    report = CrashReport()
    started = time.monotonic()
    lock = LockProcess(workdir / "lock", free_port())
    await lock.start()
    identity = ControllerIdentity.generate()
    paired = await _pair(lock, identity, session)
    sent_frames: list[tuple[bytes, int]] = []
    confirmed_counter = 0
    try:
        for cycle in range(cycles):
            report.cycles = cycle + 1
            state = await lock.state()
            _check_controller(state, identity, confirmed_counter)
            paired, confirmed = await _replay_then_fire(
                lock,
                session,
                identity=identity,
                paired=paired,
                sent_frames=sent_frames,
                rng=rng,
                report=report,
            )
            confirmed_counter = max(confirmed_counter, confirmed)
            lock.kill()
            await lock.start()
    finally:
        lock.kill()
    report.seconds = time.monotonic() - started
    return report


async def _pair(
    lock: LockProcess, identity: ControllerIdentity, session: aiohttp.ClientSession
) -> PairedLock:
    answer = await admin_call(
        lock.state_dir / SOCKET_NAME, AdminRequest(AdminCommand.SETUP_CODE)
    )
    await admin_call(
        lock.state_dir / SOCKET_NAME, AdminRequest(AdminCommand.PRESS_BUTTON)
    )
    link = lan_link(lock, session)
    await link.connect()
    try:
        outcome = await pair_over_link(
            link, identity, SetupCode.parse(answer["code"]), "crash test"
        )
    finally:
        await link.close()
    return outcome.lock


def lan_link(lock: LockProcess, session: aiohttp.ClientSession) -> WebSocketFrameLink:
    """Return a (not yet connected) LAN link to the lock process."""
    return WebSocketFrameLink(
        f"ws://127.0.0.1:{lock.port}/securelock/v1", session=session
    )


def _check_controller(
    state: dict[str, Any], identity: ControllerIdentity, confirmed: int
) -> None:
    if state.get("rollback") is not None:
        raise CrashCheckFailed(
            f"a power cut was taken for a rollback: {state['rollback']}"
        )
    ours = [c for c in state["controllers"] if c["id"] == identity.key_id.hex()]
    if len(ours) != 1 or ours[0]["revoked"]:
        raise CrashCheckFailed(
            f"controller lost or revoked after restart: {state['controllers']}"
        )
    if ours[0]["high_water"] < confirmed:
        raise CrashCheckFailed(
            f"counter went backward: stored {ours[0]['high_water']} < confirmed {confirmed}"
        )


async def _replay_then_fire(
    lock: LockProcess,
    session: aiohttp.ClientSession,
    *,
    identity: ControllerIdentity,
    paired: PairedLock,
    sent_frames: list[tuple[bytes, int]],
    rng: random.Random,
    report: CrashReport,
) -> tuple[PairedLock, int]:
    link = lan_link(lock, session)
    await link.connect()
    client = LockClient(link, identity, paired)
    await client.start()
    stored = _our_high_water(await lock.state(), identity)
    # Frames the lock had processed before the crash must never act again;
    # frames it never read (killed first) may act once, inside their expiry.
    seen = [frame for frame, counter in sent_frames if counter <= stored]
    unseen = [frame for frame, counter in sent_frames if counter > stored]
    await _replay(lock, link, client, seen, allowed=0)
    await _replay(lock, link, client, unseen, allowed=len(unseen))
    await _replay(lock, link, client, seen + unseen, allowed=0)
    report.replays_sent += 2 * len(sent_frames)

    original_send = link.send

    async def recording_send(frame: bytes, *, expiry_s: int | None = None) -> None:
        # Sealing happened just before: the counter in the record is this frame's.
        sent_frames.append((frame, client.paired_lock.last_sent_counter))
        await original_send(frame, expiry_s=expiry_s)

    link.send = recording_send  # type: ignore[method-assign]
    kinds = [client.unlock, client.lock]
    tasks = [
        asyncio.create_task(rng.choice(kinds)(timeout=5))
        for _ in range(rng.randint(1, 4))
    ]
    report.commands_sent += len(tasks)
    # Mostly kill while the commands are being handled; otherwise once they
    # are answered (waiting for the answers, not a fixed time, so a loaded
    # machine still confirms some), right after or a moment later.  Until one
    # command has been confirmed, always the latter: the invariants about
    # confirmed commands need at least one.
    if rng.random() < 0.7 and report.commands_confirmed > 0:
        await asyncio.sleep(rng.uniform(0, 0.01))
    else:
        await asyncio.wait(tasks, timeout=10)
        await asyncio.sleep(rng.uniform(0, 0.02))
    if any(not task.done() for task in tasks):
        report.kills_during_commands += 1
    lock.kill()
    # Closing the client fails what is still waiting, instead of timing out.
    await client.close()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    report.commands_confirmed += sum(not isinstance(r, BaseException) for r in results)
    confirmed = client.confirmed_high_water
    paired = client.paired_lock
    with contextlib.suppress(TransportError, ControllerError, OSError):
        await link.close()
    return paired, confirmed


async def _replay(
    lock: LockProcess,
    link: WebSocketFrameLink,
    client: LockClient,
    frames: list[bytes],
    *,
    allowed: int,
) -> None:
    """Send `frames` again; at most `allowed` of them may be acted on."""
    if not frames:
        return
    before = await lock.state()
    # In batches below the lock's per-connection queue, each closed by a status
    # request: its answer means every frame before it on this connection was
    # handled (one connection, in order), and none was dropped for overflow.
    for start in range(0, len(frames), REPLAY_BATCH):
        for frame in frames[start : start + REPLAY_BATCH]:
            await link.send(frame)
        await _settled(client)
    after = await lock.state()
    acted = after["audit_entries"] - before["audit_entries"]
    if acted > allowed:
        raise CrashCheckFailed(
            f"{acted} replayed frames were acted on (allowed {allowed})"
        )


async def _settled(client: LockClient, attempts: int = 3) -> None:
    """Wait for a signed status answer: everything sent before it was handled.

    On a loaded machine (CI shares two cores) one answer can take longer than
    the timeout; asking again is safe because a status request changes nothing.
    """
    for attempt in range(attempts):
        try:
            await client.status(timeout=10)
        except CommandTimeout:
            if attempt == attempts - 1:
                raise
        else:
            return


def _our_high_water(state: dict[str, Any], identity: ControllerIdentity) -> int:
    ours = [c for c in state["controllers"] if c["id"] == identity.key_id.hex()]
    return int(ours[0]["high_water"]) if ours else 0


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(prog=f"{PROG}.crash_test", description=__doc__)
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--seed", type=int)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the crash loop from the command line."""
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        report = asyncio.run(run(args.cycles, Path(workdir), args.seed))
    print(
        f"{report.cycles} cycles, {report.commands_sent} commands sent, "
        f"{report.commands_confirmed} confirmed, {report.kills_during_commands} kills with "
        f"commands in flight, {report.replays_sent} replays rejected, {report.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
