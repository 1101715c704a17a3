"""Load test: N simulated locks on one Mosquitto, each driven by its own controller.

Run from the repository root::

    .venvs/latest/bin/python bench/load.py --locks 500 --seconds 30

The locks (``LockRuntime``, broker link only, mechanism time 0) run in a child
process, like separate devices; the controllers (``LockClient``, one MQTT
account and connection per lock) run in this process.  Both talk through one
real Mosquitto over mutual TLS / password TLS, TCP_NODELAY everywhere.

After pairing every lock over the broker, each controller alternates lock and
unlock for ``--seconds``, waiting for the lock's signed confirmation before the
next command (closed loop).  Counted:

* sent, confirmed (a signed result with the commanded state), refused,
* lost: no signed answer within ``--timeout`` or a link failure,
* misrouted: any frame an endpoint rejects (a controller receiving another
  lock's frame, a lock receiving a frame not meant for it) plus any confirmed
  result whose state is not what was commanded.  An accepted result is signed
  by the paired lock's key, so it cannot come from another lock.

Also: throughput, p50/p99 latency, memory per lock (RSS growth of the lock
process / N, and of the controller process / N; Mosquitto's RSS / N) and the
CPU seconds each of the three processes used during the load phase (process
CPU time, not wall time).  With ``--idle`` first, each load phase also
reports CPU per command with the idle cost subtracted (the idle phase's CPU
per second, same locks and connections, times the phase's length), for the
controller process and the lock process apart.

``--controllers-per-lock K`` pairs K controllers with each lock (each its own
account and connection); the first sends the commands, the others receive
the lock's events, so comparing K = 10 with K = 1 shows what the other
controllers of a lock cost per command.  ``--profile FILE`` writes a cProfile
of the controller process during the load phases.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
import cProfile
from dataclasses import dataclass, field
import json
import logging
import os
from pathlib import Path
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# First: registers the HA-free packages without the integration's __init__.
import device_sim  # noqa: E402, F401

# isort: split

from custom_components.secure_lock.controller import (  # noqa: E402
    CommandRefused,
    ControllerError,
    LockClient,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (  # noqa: E402
    ControllerIdentity,
    MessageKind,
    PairedLock,
    Role,
    SetupCode,
)
from custom_components.secure_lock.protocol.envelope import routing_id  # noqa: E402
from custom_components.secure_lock.protocol.errors import ErrorCode  # noqa: E402
from custom_components.secure_lock.protocol.state import BoltState  # noqa: E402
from custom_components.secure_lock.transport import (  # noqa: E402
    LockTopics,
    MqttFrameLink,
    MqttLinkConfig,
    MqttRole,
    client_tls_context,
)
from device_sim.broker import MosquittoBroker  # noqa: E402
from device_sim.lock_device import DeviceConfig  # noqa: E402
from device_sim.lock_runtime import BrokerSettings, LockRuntime, RuntimeOptions  # noqa: E402
from device_sim.mechanism import MechanismConfig  # noqa: E402
from device_sim.pki import DevCertificateAuthority  # noqa: E402

PASSWORD = "load-test-password"
BATCH = 32
"""Locks started, controllers connected and pairings run at the same time."""
FAST_LOCK = DeviceConfig(
    mechanism=MechanismConfig(
        motor_seconds=0, open_hold_seconds=0, battery_drain_per_operation=0
    ),
    pairing_window_seconds=3600,
)
CLK_TCK = os.sysconf("SC_CLK_TCK")
MISROUTE_CODES = frozenset(
    code.value
    for code in (
        ErrorCode.WRONG_RECIPIENT,
        ErrorCode.WRONG_DIRECTION,
        ErrorCode.UNKNOWN_SENDER,
        ErrorCode.UNKNOWN_PREKEY,
        ErrorCode.BAD_SIGNATURE,
        ErrorCode.BAD_MAC,
        ErrorCode.DECRYPT_FAILED,
        ErrorCode.UNSOLICITED_RESPONSE,
        ErrorCode.MALFORMED,
    )
)


def raise_fd_limit() -> int:
    """Raise the soft open-files limit to the hard one (children inherit it)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kib(pid: int | None = None) -> int:
    """Return the resident set size of ``pid`` (default: this process) in KiB."""
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1])


def runqueue_wait_seconds(pid: int | None = None) -> float:
    """Return how long ``pid`` was runnable but waiting for a CPU (other load on the box)."""
    fields = Path(f"/proc/{pid or 'self'}/schedstat").read_text().split()
    return int(fields[1]) / 1e9


def cpu_seconds(pid: int) -> float:
    """Return user + system CPU seconds of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


async def _in_batches[T](items: list[T], work: Callable[[T], Awaitable[None]]) -> None:
    for start in range(0, len(items), BATCH):
        await asyncio.gather(*(work(item) for item in items[start : start + BATCH]))


# The lock process -----------------------------------------------------------


async def serve_locks(count: int, port: int, ca_dir: Path, state_root: Path) -> None:
    """Boot ``count`` locks, open pairing, print their ids; stop on "STOP"."""
    ca = DevCertificateAuthority.load(ca_dir / "ca.crt", ca_dir / "ca.key")
    baseline = rss_kib()
    runtimes = [
        LockRuntime(
            RuntimeOptions(
                state_dir=state_root / f"lock{index}",
                device=FAST_LOCK,
                broker=BrokerSettings("127.0.0.1", port, ca_dir / "ca.crt"),
                factory_ca=ca,
                admin_socket=False,
            )
        )
        for index in range(count)
    ]

    async def boot(runtime: LockRuntime) -> None:
        device = await runtime.start()
        device.press_button()

    await _in_batches(runtimes, boot)
    for runtime in runtimes:
        device = runtime.device
        assert device is not None
        connected = runtime.mqtt is not None and runtime.mqtt.connected
        print(
            "LOCK",
            device.lock_id.hex(),
            device.element.label_code.qr_text(),
            int(connected),
            flush=True,
        )
    print("READY", baseline, rss_kib(), flush=True)
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    # "STATS": print the dropped-frame counts so far; "STOP" or EOF: shut down.
    while (command := (await reader.readline()).strip()) == b"STATS":
        dropped: Counter[str] = Counter()
        for runtime in runtimes:
            assert runtime.device is not None
            for code, number in runtime.device.dropped_frames.items():
                dropped[code.value] += number
        print("DROPPED", json.dumps(dict(dropped)), flush=True)
    assert command in {b"STOP", b""}
    await asyncio.gather(*(runtime.stop() for runtime in runtimes))


# The controller process -----------------------------------------------------


@dataclass(slots=True)
class Controller:
    """One controller account, its link and its session with one lock."""

    username: str
    lock_id: bytes
    setup: SetupCode
    identity: ControllerIdentity
    link: MqttFrameLink
    client: LockClient | None = None
    commands: int = 0
    clock_skew: int = 0


@dataclass(slots=True)
class Counts:
    """What happened during the load phase."""

    sent: int = 0
    confirmed: int = 0
    refused: int = 0
    lost: int = 0
    wrong_state: int = 0
    skipped: int = 0
    """Open loop only: ticks when every lock already had a command in flight."""
    latencies_ms: list[float] = field(default_factory=list)


_EXPECTED = {MessageKind.UNLOCK: BoltState.UNLOCKED, MessageKind.LOCK: BoltState.LOCKED}


async def _one_command(controller: Controller, timeout: float, counts: Counts) -> None:
    """Send the next of unlock/lock and wait for the signed, matching result."""
    client = controller.client
    assert client is not None
    kind = MessageKind.UNLOCK if controller.commands % 2 == 0 else MessageKind.LOCK
    controller.commands += 1
    counts.sent += 1
    start = time.perf_counter()
    try:
        send = client.unlock if kind is MessageKind.UNLOCK else client.lock
        result = await send(timeout=timeout)
    except CommandRefused:
        counts.refused += 1
        return
    except ControllerError:
        counts.lost += 1
        return
    counts.latencies_ms.append((time.perf_counter() - start) * 1000)
    if result.status.bolt_state is _EXPECTED[kind]:
        counts.confirmed += 1
    else:
        counts.wrong_state += 1


async def _closed_loop(
    controller: Controller, end: float, timeout: float, counts: Counts
) -> None:
    while time.monotonic() < end:
        await _one_command(controller, timeout, counts)


async def _open_loop(
    controllers: list[Controller],
    end: float,
    rate: float,
    timeout: float,
    counts: Counts,
) -> None:
    """Start ``rate`` commands per second, each on a lock with none in flight."""
    # Which lock gets the next command; not a secret, seeded to be repeatable.
    pick = random.Random(1)  # noqa: S311
    idle = list(range(len(controllers)))
    running: set[asyncio.Task[None]] = set()
    due = time.monotonic()

    async def one(index: int) -> None:
        try:
            await _one_command(controllers[index], timeout, counts)
        finally:
            idle.append(index)

    while (now := time.monotonic()) < end:
        due += 1 / rate
        if due > now:
            await asyncio.sleep(due - now)
        if not idle:
            counts.skipped += 1
            continue
        slot = pick.randrange(len(idle))
        idle[slot], idle[-1] = idle[-1], idle[slot]
        task = asyncio.create_task(one(idle.pop()))
        running.add(task)
        task.add_done_callback(running.discard)
    if running:
        await asyncio.gather(*running)


async def _loop_lag(samples: list[float], stop: asyncio.Event) -> None:
    """Record how late a 50 ms sleep wakes up: time the event loop could not run us."""
    while not stop.is_set():
        start = time.monotonic()
        await asyncio.sleep(0.05)
        samples.append((time.monotonic() - start - 0.05) * 1000)


class _DropCounter(logging.Handler):
    """Counts the controllers' dropped frames by error code (from their debug log)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.codes: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "Dropped a frame: %s" and isinstance(record.args, tuple):
            self.codes[str(record.args[0])] += 1


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _account(lock_index: int, peer: int) -> str:
    """Return the broker account of one controller (user name = client id)."""
    return f"load{lock_index}" if peer == 0 else f"load{lock_index}-{peer}"


def _controller_link(
    broker: MosquittoBroker, lock_id: bytes, identity: ControllerIdentity, account: str
) -> MqttFrameLink:
    return MqttFrameLink(
        MqttLinkConfig(
            role=MqttRole.CONTROLLER,
            topics=LockTopics.for_lock(lock_id),
            # Pairs and then operates over this one link.
            routing_id=routing_id(lock_id, identity.key_id),
            hears_pairing=True,
            port=broker.controller_port,
            tls=client_tls_context(broker.ca_file),
            address="127.0.0.1",
            username=account,
            password=PASSWORD,
            connect_timeout=60,
        )
    )


def _subtract_idle(phases: list[dict[str, Any]], controllers_per_lock: int) -> None:
    """Add each load phase's CPU per command with the idle phase's rate taken off.

    The idle phase (``--idle``: same locks, same connections, no commands)
    measures heartbeats and keep-alives; at its CPU seconds per second,
    scaled to a load phase's length, that share is not the commands'.
    """
    idle = next((p for p in phases if p["rate"] == "idle"), None)
    if idle is None:
        return
    for phase in phases:
        if phase is idle or not phase["confirmed"]:
            continue
        phase["cpu_ms_per_command_idle_subtracted"] = {
            name: round(
                (
                    phase["cpu_exact_s"][name]
                    - idle["cpu_exact_s"][name] * phase["seconds"] / idle["seconds"]
                )
                * 1000
                / phase["confirmed"],
                2,
            )
            for name in phase["cpu_exact_s"]
        }
        # What a command costs each of the lock's controllers, on average
        # (all of them run in this one process).
        phase["controller_cpu_ms_per_command_each"] = round(
            phase["cpu_ms_per_command_idle_subtracted"]["controllers"]
            / controllers_per_lock,
            2,
        )


async def run(args: argparse.Namespace) -> dict[str, object]:  # noqa: PLR0915
    """Set everything up, drive the load, tear down; return the measurements."""
    fd_limit = raise_fd_limit()
    result: dict[str, object] = {"locks": args.locks, "fd_limit": fd_limit}
    with tempfile.TemporaryDirectory(prefix="secure-lock-load-") as tmp:
        root = Path(tmp)
        ca = DevCertificateAuthority.create()
        ca.save(root / "ca")
        broker = MosquittoBroker.with_dev_pki(root / "broker", ca)
        broker.start()
        try:
            result |= await _with_broker(args, root, broker)
        finally:
            broker.stop()
    return result


async def _with_broker(  # noqa: PLR0915
    args: argparse.Namespace, root: Path, broker: MosquittoBroker
) -> dict[str, object]:
    n = args.locks
    setup_start = time.perf_counter()
    locks = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-locks",
        str(n),
        "--broker-port",
        str(broker.lock_port),
        "--ca-dir",
        str(root / "ca"),
        "--state-dir",
        str(args.lock_state_root / f"locks-{os.getpid()}"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert locks.stdout is not None
    assert locks.stdin is not None
    # The setup codes travel over this private pipe only; nothing logs them.
    found: list[tuple[bytes, SetupCode, bool]] = []
    while True:
        line = (await locks.stdout.readline()).decode().split()
        if not line:
            raise RuntimeError("the lock process exited during start-up")
        if line[0] == "LOCK":
            found.append(
                (bytes.fromhex(line[1]), SetupCode.parse(line[2]), line[3] == "1")
            )
        elif line[0] == "READY":
            lock_rss = (int(line[2]) - int(line[1])) / n
            break
    locks_booted = time.perf_counter() - setup_start
    # One account per controller, written with one reload (a reload per
    # account would be O(N^2) for a bulk set-up).
    broker.add_controllers(
        (_account(index, peer), PASSWORD, [lock_id.hex()])
        for index, (lock_id, _setup, _ok) in enumerate(found)
        for peer in range(args.controllers_per_lock)
    )
    identities = [ControllerIdentity.generate() for _ in found]
    controllers = [
        Controller(
            _account(index, 0),
            lock_id,
            setup,
            identity,
            _controller_link(broker, lock_id, identity, _account(index, 0)),
        )
        for index, ((lock_id, setup, _ok), identity) in enumerate(
            zip(found, identities, strict=True)
        )
    ]
    baseline = rss_kib()
    pair_times: list[float] = []

    async def connect_and_pair(controller: Controller) -> None:
        await controller.link.connect()
        identity = controller.identity
        start = time.perf_counter()
        outcome = await pair_over_link(
            controller.link,
            identity,
            controller.setup,
            controller.username,
            timeout=120,
        )
        pair_times.append((time.perf_counter() - start) * 1000)

        def skewed(_sample: int, controller: Controller = controller) -> None:
            controller.clock_skew += 1

        controller.client = LockClient(
            controller.link, identity, outcome.lock, on_clock_skew=skewed
        )
        await controller.client.start()

    await _in_batches(controllers, connect_and_pair)
    # The other controllers of each lock only listen: every event of the
    # lock reaches each of them, the commands come from the first.
    listeners: list[Controller] = []

    async def add_listeners(index: int) -> None:
        owner = controllers[index]
        assert owner.client is not None
        paired = owner.client.paired_lock
        for peer in range(1, args.controllers_per_lock):
            identity = ControllerIdentity.generate()
            await owner.client.add_controller(
                identity.public_bundle(suites=(paired.suite,)),
                f"listener{peer}",
                Role.OPERATOR,
            )
            account = _account(index, peer)
            listener = Controller(
                account,
                owner.lock_id,
                owner.setup,
                identity,
                _controller_link(broker, owner.lock_id, identity, account),
            )
            await listener.link.connect()
            listener.client = LockClient(
                listener.link,
                identity,
                PairedLock(paired.lock_id, paired.bundle, paired.suite, Role.OPERATOR),
            )
            await listener.client.start()
            listeners.append(listener)

    await _in_batches(list(range(len(controllers))), add_listeners)
    setup_s = time.perf_counter() - setup_start
    controller_rss = (rss_kib() - baseline) / n
    assert broker.pid is not None
    broker_rss = rss_kib(broker.pid) / n

    drops = _DropCounter()
    client_log = logging.getLogger("custom_components.secure_lock.controller.client")
    client_log.setLevel(logging.DEBUG)
    client_log.addHandler(drops)
    client_log.propagate = False
    pids = {"locks": locks.pid, "mosquitto": broker.pid}

    async def lock_drops() -> Counter[str]:
        assert locks.stdin is not None
        assert locks.stdout is not None
        locks.stdin.write(b"STATS\n")
        await locks.stdin.drain()
        line = (await locks.stdout.readline()).decode()
        return Counter(json.loads(line.removeprefix("DROPPED ")))

    # One phase after the other, on the same locks and connections.
    phases = [
        await _phase(args, rate, controllers, pids, drops=drops, lock_drops=lock_drops)
        for rate in ([-1.0] if args.idle else []) + (args.rate or [0.0])
    ]
    for controller in controllers + listeners:
        if controller.client is not None:
            await controller.client.close()
        await controller.link.close()
    locks.stdin.write(b"STOP\n")
    await locks.stdin.drain()
    await locks.wait()
    _subtract_idle(phases, args.controllers_per_lock)
    return {
        "controllers_per_lock": args.controllers_per_lock,
        "locks_connected_at_boot": sum(ok for _id, _setup, ok in found),
        "locks_boot_s": round(locks_booted, 1),
        "setup_s": round(setup_s, 1),
        "pairing_ms_p50": round(statistics.median(pair_times), 1),
        "pairing_ms_p99": round(_percentile(pair_times, 0.99), 1),
        "lock_process_kib_per_lock": round(lock_rss, 1),
        "controller_process_kib_per_lock": round(controller_rss, 1),
        "mosquitto_kib_per_lock": round(broker_rss, 1),
        "phases": phases,
        "lost": sum(p["lost"] for p in phases),
        "misrouted": sum(p["misrouted"] for p in phases),
    }


async def _phase(
    args: argparse.Namespace,
    rate: float,
    controllers: list[Controller],
    pids: dict[str, int],
    *,
    drops: _DropCounter,
    lock_drops: Callable[[], Awaitable[Counter[str]]],
) -> dict[str, Any]:
    """Drive one load phase (open loop at ``rate``, or closed loop if 0)."""
    counts = Counts()
    lock_before = await lock_drops()
    drops_before = Counter(drops.codes)
    skew_before = sum(c.clock_skew for c in controllers)
    cpu_before = {"controllers": time.process_time()} | {
        name: cpu_seconds(pid) for name, pid in pids.items()
    }
    wait_before = {"controllers": runqueue_wait_seconds()} | {
        name: runqueue_wait_seconds(pid) for name, pid in pids.items()
    }
    profile = cProfile.Profile() if args.profile and rate >= 0 else None
    if profile is not None:
        profile.enable()
    lag: list[float] = []
    stop_lag = asyncio.Event()
    lag_task = asyncio.create_task(_loop_lag(lag, stop_lag))
    wall = time.perf_counter()
    end = time.monotonic() + args.seconds
    if rate < 0:
        # Idle: heartbeats and keep-alives only.
        await asyncio.sleep(end - time.monotonic())
    elif rate:
        await _open_loop(controllers, end, rate, args.timeout, counts)
    else:
        await asyncio.gather(
            *(_closed_loop(c, end, args.timeout, counts) for c in controllers)
        )
    stop_lag.set()
    await lag_task
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)
    wall = time.perf_counter() - wall
    cpu = {"controllers": time.process_time() - cpu_before["controllers"]} | {
        name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()
    }
    waited = {"controllers": runqueue_wait_seconds() - wait_before["controllers"]} | {
        name: runqueue_wait_seconds(pid) - wait_before[name]
        for name, pid in pids.items()
    }
    lock_dropped = await lock_drops() - lock_before
    controller_dropped = drops.codes - drops_before
    latencies = counts.latencies_ms or [0.0]
    # Rejected for a reason only a wrong destination or a mixed-up frame
    # explains; stale frames (expired, clock skew, replay) are counted apart:
    # they mean "too slow", not "wrong place".
    misrouted = (
        counts.wrong_state
        + sum(n for code, n in controller_dropped.items() if code in MISROUTE_CODES)
        + sum(n for code, n in lock_dropped.items() if code in MISROUTE_CODES)
    )
    per_lock = rate < 0
    confirmed = len(controllers) if per_lock else max(counts.confirmed, 1)
    return {
        "rate": "idle" if rate < 0 else rate or "closed loop",
        "seconds": round(wall, 1),
        "sent": counts.sent,
        "confirmed": counts.confirmed,
        "refused": counts.refused,
        "lost": counts.lost,
        "misrouted": misrouted,
        "skipped_ticks": counts.skipped,
        "controller_dropped": dict(controller_dropped),
        "controller_clock_skew_drops": sum(c.clock_skew for c in controllers)
        - skew_before,
        "lock_dropped": dict(lock_dropped),
        "commands_per_s": round(counts.confirmed / wall, 1),
        "latency_ms_p50": round(statistics.median(latencies), 1),
        "latency_ms_p99": round(_percentile(latencies, 0.99), 1),
        "controller_loop_lag_ms_p99": round(_percentile(lag or [0.0], 0.99), 1),
        "cpu_s": {name: round(value, 1) for name, value in cpu.items()},
        "cpu_exact_s": dict(cpu),
        "runnable_but_waiting_for_cpu_s": {
            name: round(value, 1) for name, value in waited.items()
        },
        ("cpu_ms_per_lock" if per_lock else "cpu_ms_per_command"): {
            name: round(value * 1000 / confirmed, 2) for name, value in cpu.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Run the load test (or, internally, the lock process) and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locks", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument(
        "--rate",
        type=float,
        nargs="*",
        help="commands per second over all locks (open loop), one phase per value; "
        "none or 0: every lock back to back (closed loop)",
    )
    parser.add_argument(
        "--lock-state-root",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where the locks keep their sealed state (/dev/shm: no disk fsync cost)",
    )
    parser.add_argument(
        "--idle",
        action="store_true",
        help="first an idle phase (heartbeats and keep-alives only) of --seconds",
    )
    parser.add_argument(
        "--controllers-per-lock",
        type=int,
        default=1,
        help="controllers paired with each lock (one account each); the first "
        "sends the commands, the others receive the lock's events",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="write a cProfile of the controller process during the load phase here "
        "(costs CPU itself: do not read the phase's CPU figures from such a run)",
    )
    parser.add_argument("--serve-locks", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--broker-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ca-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_locks:
        asyncio.run(
            serve_locks(args.serve_locks, args.broker_port, args.ca_dir, args.state_dir)
        )
        return 0
    try:
        result = asyncio.run(run(args))
    finally:
        shutil.rmtree(args.lock_state_root / f"locks-{os.getpid()}", ignore_errors=True)
    result["lock_state_root"] = str(args.lock_state_root)
    print(json.dumps(result, indent=2))
    return 0 if result["lost"] == 0 and result["misrouted"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
