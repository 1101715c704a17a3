"""The simulated lock of bench/e2e_cases.py, in a process of its own.

A real lock does its share of a command on its own CPU; run in Home
Assistant's process, the simulated lock's share would be counted as Home
Assistant's.  Started by :class:`LockProcess` (the parent side, below):

    python bench/e2e_lock.py STATE_DIR BROKER_PORT CA_DIR

It boots one ``LockRuntime`` (LAN on 127.0.0.1, broker link, mechanism time
0), prints ``READY <lock id hex> <LAN port>`` and then answers lines on its
standard input: ``SETUP <role>`` makes the lock ready to pair one more
controller with that role (its name) and prints ``SETUP <QR text>`` (the label, button
pressed, for the first; an invitation after that), ``STOP`` shuts it down.
The setup codes travel over this private pipe only; nothing logs them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import os
from pathlib import Path
import sys

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# First: registers the HA-free packages without the integration's __init__.
import device_sim  # noqa: E402, F401

# isort: split

from custom_components.secure_lock.protocol.roles import Role  # noqa: E402
from device_sim.lock_device import DeviceConfig  # noqa: E402
from device_sim.lock_runtime import BrokerSettings, LockRuntime, RuntimeOptions  # noqa: E402
from device_sim.mechanism import MechanismConfig  # noqa: E402
from device_sim.pki import DevCertificateAuthority  # noqa: E402
from tests.sim.helpers import setup_for_next_controller  # noqa: E402

MODEL = "SL-1 (simulated)"
"""The model tests/integration's fixtures expect (their ``FAST`` lock)."""
FAST = DeviceConfig(
    model=MODEL,
    mechanism=MechanismConfig(motor_seconds=0, open_hold_seconds=600),
)
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds of ``pid`` so far (clock-tick resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def serve(state_dir: Path, broker_port: int, ca_dir: Path) -> None:
    """Run one lock until "STOP" (or end of input)."""
    runtime = LockRuntime(
        RuntimeOptions(
            state_dir=state_dir,
            device=FAST,
            lan=("127.0.0.1", 0),
            # Back-to-back calls exceed the lock's per-connection LAN rate
            # limit (20 frames/s, a flood guard); lifted for the measurement.
            lan_rate=1000,
            broker=BrokerSettings("127.0.0.1", broker_port, ca_dir / "ca.crt"),
            factory_ca=DevCertificateAuthority.load(
                ca_dir / "ca.crt", ca_dir / "ca.key"
            ),
            admin_socket=False,
        )
    )
    device = await runtime.start()
    assert runtime.lan is not None
    print("READY", device.lock_id.hex(), runtime.lan.port, flush=True)
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    while (words := (await reader.readline()).decode().split()) and words[0] == "SETUP":
        setup = setup_for_next_controller(device, Role[words[1]])
        device.press_button()
        print("SETUP", setup.qr_text(), flush=True)
    await runtime.stop()


@dataclass(slots=True)
class LockProcess:
    """The parent's handle on a lock started by :meth:`start`."""

    process: asyncio.subprocess.Process
    lock_id: bytes
    lan_port: int

    @classmethod
    async def start(
        cls, state_dir: Path, broker_port: int, ca_dir: Path
    ) -> LockProcess:
        """Start the lock process and wait until it serves."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            str(state_dir),
            str(broker_port),
            str(ca_dir),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        words = await cls._read(process)
        if words[:1] != ["READY"]:
            process.kill()
            await process.wait()
            raise RuntimeError("the lock process did not start")
        return cls(process, bytes.fromhex(words[1]), int(words[2]))

    @staticmethod
    async def _read(process: asyncio.subprocess.Process) -> list[str]:
        assert process.stdout is not None
        return (await process.stdout.readline()).decode().split()

    @property
    def lan_url(self) -> str:
        """Return the lock's WebSocket URL."""
        return f"ws://127.0.0.1:{self.lan_port}/securelock/v1"

    def cpu_seconds(self) -> float:
        """Return the lock process's CPU seconds so far."""
        return cpu_seconds(self.process.pid)

    async def setup_code(self, role: Role) -> str:
        """Return the QR text that pairs one more controller (button pressed)."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"SETUP {role.name}\n".encode())
        await self.process.stdin.drain()
        words = await self._read(self.process)
        if words[:1] != ["SETUP"]:
            raise RuntimeError("the lock process did not give a setup code")
        return words[1]

    async def stop(self) -> None:
        """Shut the lock down and wait for its process to end."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"STOP\n")
        await self.process.stdin.drain()
        await self.process.wait()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])))
