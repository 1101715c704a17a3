"""Crash consistency: kill -9 a writer at many moments; every load still succeeds."""

from __future__ import annotations

import os
from pathlib import Path
import signal
import subprocess
import sys
import time

from device_sim.storage import KeyFile, SealedStore

from .storage_crash_worker import payload

KILLS = 30
WORKER = Path(__file__).with_name("storage_crash_worker.py")
READY_TIMEOUT = 20.0


def _kill_delays() -> list[float]:
    # Spread deterministically over 0-47 ms so kills land at varied points
    # of the write/fsync/rename sequence, reproducibly.
    return [((i * 7919) % 48) / 1000 for i in range(KILLS)]


def _run_until_killed(state: Path, key: Path, delay: float) -> int:
    """Start a worker, kill -9 it ``delay`` s after it began writing; return the last confirmed version."""
    worker = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, str(WORKER), str(state), str(key)],
        stdout=subprocess.PIPE,
    )
    assert worker.stdout is not None
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while worker.stdout.readline() != b"ready\n":
            assert time.monotonic() < deadline and worker.poll() is None, (
                "worker failed"
            )
        time.sleep(delay)
        os.kill(worker.pid, signal.SIGKILL)
        output = worker.stdout.read()
    finally:
        worker.kill()
        worker.wait()
        worker.stdout.close()
    assert worker.returncode == -signal.SIGKILL
    confirmed = [int(line) for line in output.split()]
    return confirmed[-1] if confirmed else 0


def test_kill_minus_nine_never_loses_a_confirmed_version(tmp_path: Path) -> None:
    """After each kill the record loads and is the last confirmed version or the one in flight."""
    state, key = tmp_path / "state", tmp_path / "key" / "device.key"
    floor = 0
    for delay in _kill_delays():
        confirmed = max(floor, _run_until_killed(state, key, delay))
        record = SealedStore(state, KeyFile(key)).load_record("state")
        if confirmed == 0 and record is None:
            continue
        assert record is not None
        version = int(record.data.split(b";")[0].split(b"=")[1])
        assert record.data == payload(version)
        # At most one save can be in flight when the process dies.
        assert confirmed <= version <= confirmed + 1
        floor = version
    assert floor > KILLS
