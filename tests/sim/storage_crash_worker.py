"""Crash-test worker: save ever newer versions until killed.

Loads device_sim/storage.py and device_sim/nv_counter.py on their own (no
Home Assistant, no aiohttp) so that each of the many worker processes starts
quickly.  After each save() returns (file and directory fsync'ed, rollback
counter advanced) it prints the version number.

Arguments: STATE_DIR KEY_FILE COUNTER_FILE [DIE_AT].  With DIE_AT the worker
SIGKILLs itself just before the DIE_AT-th durable step (file write, rename,
directory fsync, in the record or in the counter), which puts a power cut at
every point of a save in turn.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
import signal
import sys
from types import ModuleType
from typing import Any

PAYLOAD_PAD = 3000


def _load(name: str) -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "device_sim" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"crash_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def payload(version: int) -> bytes:
    """Return the bytes saved as ``version`` (large enough to span pages)."""
    return f"version={version};".encode() + bytes([version % 251]) * PAYLOAD_PAD


def _die_before_step(die_at: int, storage: ModuleType, counter: ModuleType) -> None:
    """Wrap every durable step so that the ``die_at``-th one never happens."""
    steps = 0

    def step() -> None:
        nonlocal steps
        steps += 1
        if steps == die_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def wrap(function: Any) -> Any:
        def wrapped(*args: Any) -> Any:
            step()
            return function(*args)

        return wrapped

    storage._write_new_file = wrap(storage._write_new_file)  # noqa: SLF001
    storage._fsync_directory = wrap(storage._fsync_directory)  # noqa: SLF001
    counter._fsync_directory = wrap(counter._fsync_directory)  # noqa: SLF001
    Path.replace = wrap(Path.replace)  # type: ignore[method-assign]


def main() -> None:
    """Continue from the stored version and count up forever."""
    storage = _load("storage")
    counter = _load("nv_counter")
    store = storage.SealedStore(
        Path(sys.argv[1]),
        storage.KeyFile(Path(sys.argv[2])),
        counter=counter.CounterFile(Path(sys.argv[3])),
    )
    current = store.load("state")
    version = 0 if current is None else int(current.split(b";")[0].split(b"=")[1])
    if len(sys.argv) > 4:
        _die_before_step(int(sys.argv[4]), storage, counter)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        version += 1
        store.save("state", payload(version))
        sys.stdout.write(f"{version}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
