"""What one command costs the controller: ``python bench/controller_cost.py``.

One simulated lock runs in a child process (bench/load.py's lock process),
one controller (``LockClient`` over its own MQTT link) in this one, through
a real Mosquitto; after pairing and a warm-up, ``--commands`` unlock/lock
commands run back to back.  Prints this process's CPU time per command (and
the lock's), the figure bench/load.py reports under load, without other
commands in flight.

CPU time on a shared box rises and falls with the other load (caches,
sibling threads), by ±20 % from run to run.  ``--instructions`` counts
instead: it runs this script twice under valgrind's cachegrind (user-space
instructions of this process only; the lock and Mosquitto are not traced),
with 20 and with 20 + ``--commands`` commands, and divides the difference,
so set-up, pairing and warm-up cancel out.  The count is repeatable to
about 0.1 % and splits into the cryptography's functions (OpenSSL inside
``cryptography``, by name) and the rest (Python, paho, asyncio).  Kernel
time (system calls) is not in it.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
import functools
import os
from pathlib import Path
import re
import subprocess
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402
from paho.mqtt.client import Client  # noqa: E402

from custom_components.secure_lock.controller import LockClient, pair_over_link  # noqa: E402
from custom_components.secure_lock.protocol import ControllerIdentity, SetupCode  # noqa: E402
from custom_components.secure_lock.protocol.envelope import routing_id  # noqa: E402
from custom_components.secure_lock.protocol.kem import KemPrivateKey, KemPublicKey  # noqa: E402
from custom_components.secure_lock.protocol.keys import (  # noqa: E402
    IdentityPrivateKey,
    IdentityPublicKey,
)
from custom_components.secure_lock.transport import MqttFrameLink  # noqa: E402
from device_sim.broker import MosquittoBroker  # noqa: E402
from device_sim.pki import DevCertificateAuthority  # noqa: E402

WARM_UP = 5
BASE_COMMANDS = 20
"""The shorter of the two counted runs (``--instructions``)."""
CRYPTO_FUNCTIONS = re.compile(
    r"fe_|fe51|fe64|x25519|ntt|keccak|sha\d|sha3|ge_|decap|encap|cpa|chacha|"
    r"poly1305|ed25519|cleanse|cmov|scalar|slide|cbd_|table_select|hkdf|hmac|"
    r"evp_|ossl_|crypto_|aes|gcm|ssl|tls",
    re.IGNORECASE,
)
"""OpenSSL's functions (protocol cryptography and the TLS records)."""


class OperationClock:
    """CPU time spent inside chosen methods, while switched on."""

    def __init__(self) -> None:
        """Start with nothing counted and counting off."""
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.counting = False

    def wrap(self, owner: type, method: str, name: str) -> None:
        """Replace ``owner.method`` by a copy that adds its CPU time to ``name``."""
        original: Callable[..., object] = getattr(owner, method)

        @functools.wraps(original)
        def timed(*args: object, **kwargs: object) -> object:
            if not self.counting:
                return original(*args, **kwargs)
            start = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[name] = (
                    self.seconds.get(name, 0.0) + time.thread_time() - start
                )
                self.calls[name] = self.calls.get(name, 0) + 1

        setattr(owner, method, timed)


PUBLIC_KEY_OPERATIONS = (
    (KemPrivateKey, "open", "HPKE open (KEM decapsulation, key schedule)"),
    (IdentityPublicKey, "verify", "Ed25519 verify"),
    (KemPublicKey, "seal", "HPKE seal (KEM encapsulation, key schedule)"),
    (IdentityPrivateKey, "sign", "Ed25519 sign"),
)
FRAME_HANDLING = "LockClient.handle_frame"
"""Opening and acting on one received frame; holds the opens and verifies."""
# paho's own methods: the bench measures the library Home Assistant pins.
PAHO_OPERATIONS = (
    (Client, "loop_read", "paho: reading packets (with the link's message callback)"),
    (Client, "publish", "paho: publish"),
    (Client, "loop_write", "paho: writing packets"),
)


def _clock_operations() -> OperationClock:
    clock = OperationClock()
    for owner, method, name in PUBLIC_KEY_OPERATIONS + PAHO_OPERATIONS:
        clock.wrap(owner, method, name)
    clock.wrap(LockClient, "handle_frame", FRAME_HANDLING)
    return clock


def _print_operations(clock: OperationClock, controller: float, commands: int) -> None:
    """Print each timed operation per command; nested time is counted once."""

    def per_command(seconds: float) -> str:
        return f"{seconds * 1000 / commands:.3f} ms per command"

    def total(operations: tuple[tuple[type, str, str], ...]) -> float:
        return sum(clock.seconds.get(name, 0.0) for _owner, _method, name in operations)

    for _owner, _method, name in PUBLIC_KEY_OPERATIONS + PAHO_OPERATIONS:
        calls = clock.calls.get(name, 0) / commands
        print(
            f"  {name}: {per_command(clock.seconds.get(name, 0.0))} ({calls:g} calls)"
        )
    # The frames' opens and verifies run inside handle_frame: count them once.
    handling = clock.seconds.get(FRAME_HANDLING, 0.0) - total(PUBLIC_KEY_OPERATIONS[:2])
    print(f"  {FRAME_HANDLING} besides its opens and verifies: {per_command(handling)}")
    rest = controller - total(PUBLIC_KEY_OPERATIONS) - total(PAHO_OPERATIONS) - handling
    print(
        f"  everything else (asyncio, the link, the request path): {per_command(rest)}"
    )


async def _run(
    commands: int, clock: OperationClock | None = None
) -> tuple[float, float]:
    """Return (controller, lock) CPU seconds of ``commands`` commands."""
    load.raise_fd_limit()
    with tempfile.TemporaryDirectory(prefix="secure-lock-cost-") as tmp:
        root = Path(tmp)
        ca = DevCertificateAuthority.create()
        ca.save(root / "ca")
        broker = MosquittoBroker.with_dev_pki(root / "broker", ca)
        broker.start()
        try:
            return await _with_broker(root, broker, commands, clock)
        finally:
            broker.stop()


async def _with_broker(
    root: Path, broker: MosquittoBroker, commands: int, clock: OperationClock | None
) -> tuple[float, float]:
    locks = await asyncio.create_subprocess_exec(
        sys.executable,
        load.__file__,
        "--serve-locks",
        "1",
        "--broker-port",
        str(broker.lock_port),
        "--ca-dir",
        str(root / "ca"),
        "--state-dir",
        str(root / "lock"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert locks.stdin is not None
    assert locks.stdout is not None
    # The setup code travels over this private pipe only; nothing logs it.
    words = (await locks.stdout.readline()).decode().split()
    assert words[0] == "LOCK", "the lock process did not start"
    lock_id, setup = bytes.fromhex(words[1]), SetupCode.parse(words[2])
    assert (await locks.stdout.readline()).startswith(b"READY")
    broker.add_controllers([("load0", load.PASSWORD, [lock_id.hex()])])
    identity = ControllerIdentity.generate()
    link = MqttFrameLink(
        broker.controller_link_config(
            lock_id,
            "load0",
            load.PASSWORD,
            routing_id=routing_id(lock_id, identity.key_id),
            hears_pairing=True,
        )
    )
    await link.connect()
    outcome = await pair_over_link(link, identity, setup, "load0", timeout=120)
    client = LockClient(link, identity, outcome.lock)
    await client.start()

    async def command(number: int) -> None:
        await (client.unlock() if number % 2 == 0 else client.lock())

    for number in range(WARM_UP):
        await command(number)
    if clock is not None:
        clock.counting = True
    controller, lock = time.process_time(), load.cpu_seconds(locks.pid)
    for number in range(commands):
        await command(number)
    controller = time.process_time() - controller
    if clock is not None:
        clock.counting = False
    lock = load.cpu_seconds(locks.pid) - lock
    await client.close()
    await link.close()
    locks.stdin.write(b"STOP\n")
    await locks.stdin.drain()
    await locks.wait()
    return controller, lock


def _instructions_by_function(out_file: Path) -> dict[str, int]:
    report = subprocess.run(
        ["cg_annotate", "--threshold=0", str(out_file)],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts: dict[str, int] = {}
    for line in report.splitlines():
        match = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+:\S+)$", line)
        if match:
            name = match.group(2)
            counts[name] = counts.get(name, 0) + int(match.group(1).replace(",", ""))
    return counts


def _count_instructions(commands: int) -> None:
    """Run under cachegrind twice; print instructions per command, split."""
    runs: list[dict[str, int]] = []
    with tempfile.TemporaryDirectory(prefix="secure-lock-cost-") as tmp:
        for count in (BASE_COMMANDS, BASE_COMMANDS + commands):
            out_file = Path(tmp, f"cachegrind.{count}")
            subprocess.run(
                [  # noqa: S607
                    "valgrind",
                    "--tool=cachegrind",
                    "--cache-sim=no",
                    f"--cachegrind-out-file={out_file}",
                    sys.executable,
                    __file__,
                    "--commands",
                    str(count),
                ],
                check=True,
                capture_output=True,
            )
            runs.append(_instructions_by_function(out_file))
    short, long = runs
    per_command = {
        name: (long.get(name, 0) - short.get(name, 0)) / commands
        for name in short.keys() | long.keys()
    }
    total = sum(per_command.values())
    crypto = sum(v for name, v in per_command.items() if CRYPTO_FUNCTIONS.search(name))
    print(
        f"controller: {total / 1e6:.2f} M instructions per command "
        f"(cryptography and TLS {crypto / 1e6:.2f} M, "
        f"the rest {(total - crypto) / 1e6:.2f} M)"
    )


def main(argv: list[str] | None = None) -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions under cachegrind instead (two runs, minutes)",
    )
    parser.add_argument(
        "--by-operation",
        action="store_true",
        help="also time the public-key operations inside the loop, per command",
    )
    args = parser.parse_args(argv)
    if args.instructions:
        _count_instructions(args.commands)
        return 0
    clock = _clock_operations() if args.by_operation else None
    controller, lock = asyncio.run(_run(args.commands, clock))
    print(
        f"controller {controller * 1000 / args.commands:.2f} ms CPU per command, "
        f"lock {lock * 1000 / args.commands:.2f} ms ({args.commands} commands, "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    if clock is not None:
        _print_operations(clock, controller, args.commands)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
