"""Crash consistency: kill -9 a writer at many moments; every load still succeeds.

The store is bound to a rollback counter (as the lock's is), so these tests
also show that no power cut can make the lock see its own latest record as a
rollback, nor make an older record acceptable.
"""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import time

import pytest

from device_sim.nv_counter import CounterFile
from device_sim.storage import TEMP_SUFFIX, KeyFile, RecordRolledBack, SealedStore

from .storage_crash_worker import payload

KILLS = 30
WORKER = Path(__file__).with_name("storage_crash_worker.py")
READY_TIMEOUT = 20.0
# Durable steps per write: record file, rename, directory fsync, then the
# counter's rename and directory fsync.  The first save of a boot writes
# twice; three saves cover a first and two ordinary ones.
STEPS_PER_WRITE = 5
STEP_POINTS = STEPS_PER_WRITE * 4


class Paths:
    """Where one crash test keeps flash, device key and secure-element counter."""

    def __init__(self, root: Path) -> None:
        """Keep the counter and key apart from the flash, as on the device."""
        self.state = root / "flash"
        self.key = root / "se" / "device.key"
        self.counter = root / "se" / "monotonic.counters"

    def store(self) -> SealedStore:
        """Return a freshly opened store (a boot)."""
        return SealedStore(
            self.state, KeyFile(self.key), counter=CounterFile(self.counter)
        )


def _kill_delays() -> list[float]:
    # Spread deterministically over 0-47 ms so kills land at varied points
    # of the write/fsync/rename sequence, reproducibly.
    return [((i * 7919) % 48) / 1000 for i in range(KILLS)]


def _run_until_killed(
    paths: Paths, *, delay: float = 0.0, die_at: int | None = None
) -> int:
    """Start a worker, have it killed; return the last version it confirmed."""
    extra = [] if die_at is None else [str(die_at)]
    worker = subprocess.Popen(  # noqa: S603 - our own script
        [
            sys.executable,
            str(WORKER),
            str(paths.state),
            str(paths.key),
            str(paths.counter),
            *extra,
        ],
        stdout=subprocess.PIPE,
    )
    assert worker.stdout is not None
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while worker.stdout.readline() != b"ready\n":
            assert time.monotonic() < deadline and worker.poll() is None, (
                "worker failed"
            )
        if die_at is None:
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


def _version(data: bytes) -> int:
    return int(data.split(b";")[0].split(b"=")[1])


def test_kill_minus_nine_never_loses_a_confirmed_version(tmp_path: Path) -> None:
    """After each kill the record loads and is the last confirmed version or the one in flight."""
    paths = Paths(tmp_path)
    floor = 0
    for delay in _kill_delays():
        confirmed = max(floor, _run_until_killed(paths, delay=delay))
        record = paths.store().load_record("state")
        if confirmed == 0 and record is None:
            continue
        assert record is not None
        version = _version(record.data)
        assert record.data == payload(version)
        # At most one save can be in flight when the process dies.
        assert confirmed <= version <= confirmed + 1
        floor = version
    assert floor > KILLS


@pytest.mark.parametrize("die_at", range(1, STEP_POINTS + 1))
def test_power_cut_at_every_step_boots_latest_and_refuses_older(
    tmp_path: Path, die_at: int
) -> None:
    """A cut before any durable step of a save: the next boot loads the latest, never a rollback.

    Then, once that boot has saved, the copy taken before the cut and any
    write the cut interrupted (the leftover temporary file) are both refused.
    """
    paths = Paths(tmp_path)
    store = paths.store()
    for version in (1, 2):
        store.save("state", payload(version))
    older = tmp_path / "older.sealed"
    shutil.copy2(store.path_of("state"), older)

    confirmed = max(2, _run_until_killed(paths, die_at=die_at))
    interrupted = tmp_path / "interrupted.sealed"
    leftovers = sorted(paths.state.glob(f".*{TEMP_SUFFIX}"))
    if leftovers:
        shutil.copy2(leftovers[0], interrupted)

    boot = paths.store()
    record = boot.load_record("state")
    assert record is not None
    version = _version(record.data)
    assert confirmed <= version <= confirmed + 1
    boot.save("state", payload(version + 1))

    stale = [older, interrupted] if interrupted.exists() else [older]
    for copy in stale:
        shutil.copy2(copy, boot.path_of("state"))
        with pytest.raises(RecordRolledBack):
            paths.store().load_record("state")
