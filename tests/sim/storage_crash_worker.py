"""Crash-test worker: save ever newer versions until killed.

Loads device_sim/storage.py on its own (no Home Assistant, no aiohttp) so
that each of the many worker processes starts quickly.  After each save()
returns (file and directory fsync'ed) it prints the version number.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys
from types import ModuleType

PAYLOAD_PAD = 3000


def _load_storage() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "device_sim" / "storage.py"
    spec = importlib.util.spec_from_file_location("crash_storage", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def payload(version: int) -> bytes:
    """Return the bytes saved as ``version`` (large enough to span pages)."""
    return f"version={version};".encode() + bytes([version % 251]) * PAYLOAD_PAD


def main() -> None:
    """Continue from the stored version and count up forever."""
    storage = _load_storage()
    store = storage.SealedStore(Path(sys.argv[1]), storage.KeyFile(Path(sys.argv[2])))
    current = store.load("state")
    version = 0 if current is None else int(current.split(b";")[0].split(b"=")[1])
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        version += 1
        store.save("state", payload(version))
        sys.stdout.write(f"{version}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
