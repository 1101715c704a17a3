"""Load test: N simulated locks on one relay, each driven by its own controller.

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

``--relay rabbitmq`` runs the same load over a RabbitMQ cluster of
``--nodes`` nodes on loopback (bench/load_relays.py): the locks dial node 0,
the controllers the other nodes in turn, and every link lists the other
nodes as fallbacks.  ``--kill-node I --kill-at S`` kills node I with SIGKILL
S seconds into the first load phase (``--restart-after`` starts it again)
and audits every command (bench/command_audit.py): the lock process records
when each lock started its motor for a command, the controllers when they
sent each command and when they gave up on it, so an execution after a
give-up (LATE) is caught; also which node each link ends on and how long
each controller of the killed node took to get its next command confirmed.
``--compare`` runs the same load on Mosquitto and on the cluster and prints
a Markdown table side by side (docs/performance.md).

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
import contextlib
import cProfile
from dataclasses import dataclass, field
import json
import logging
import math
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

from bench.command_audit import Audit, CommandRecord, Outcome, audit_commands  # noqa: E402
from bench.load_relays import MosquittoRelay, RabbitMqRelay, Relay  # noqa: E402
from custom_components.secure_lock.controller import (  # noqa: E402
    CommandRefused,
    CommandTimeout,
    ControllerError,
    LockClient,
    confirm_pairing,
    pair_over_link,
)
from custom_components.secure_lock.protocol import (  # noqa: E402
    ControllerIdentity,
    MessageKind,
    PairedLock,
    Role,
    SetupCode,
)
from custom_components.secure_lock.protocol.errors import ErrorCode  # noqa: E402
from custom_components.secure_lock.protocol.session import DEFAULT_LIFETIME_MS  # noqa: E402
from custom_components.secure_lock.protocol.state import BoltState  # noqa: E402
from custom_components.secure_lock.transport import MqttFrameLink  # noqa: E402
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
LOCK_COMMAND_LIFETIME_S = DEFAULT_LIFETIME_MS / 1000
"""The longest a command stays valid at the lock (lock; unlock is shorter)."""
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


async def serve_locks(
    count: int,
    ports: list[int],
    ca_dir: Path,
    state_root: Path,
    *,
    accounts_first: bool,
) -> None:
    """Boot ``count`` locks, open pairing, print their ids; answer the parent.

    ``ports``: the relay's nodes, the first one dialled first.  With
    ``accounts_first`` (RabbitMQ: a certificate login needs an account) the
    locks first boot offline to make their ids, print them, and wait for
    "ACCOUNTS" before they dial.
    """
    ca = DevCertificateAuthority.load(ca_dir / "ca.crt", ca_dir / "ca.key")
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    baseline = rss_kib()
    if accounts_first:
        offline = [
            LockRuntime(
                RuntimeOptions(
                    state_dir=state_root / f"lock{index}",
                    device=FAST_LOCK,
                    admin_socket=False,
                )
            )
            for index in range(count)
        ]
        for runtime in offline:
            print("ID", (await runtime.start()).lock_id.hex(), flush=True)
            await runtime.stop()
        print("IDS", flush=True)
        if (await reader.readline()).strip() != b"ACCOUNTS":
            return
    settings = BrokerSettings(
        "127.0.0.1",
        ports[0],
        ca_dir / "ca.crt",
        fallbacks=tuple(("127.0.0.1", port) for port in ports[1:]),
    )
    runtimes = [
        LockRuntime(
            RuntimeOptions(
                state_dir=state_root / f"lock{index}",
                device=FAST_LOCK,
                broker=settings,
                factory_ca=ca,
                admin_socket=False,
            )
        )
        for index in range(count)
    ]
    # When each lock started its motor for a controller's command
    # (CLOCK_MONOTONIC, comparable with the parent's clock).
    executed: dict[str, list[float]] = {}

    async def boot(runtime: LockRuntime) -> None:
        device = await runtime.start()
        times = executed.setdefault(device.lock_id.hex(), [])
        device.on_motor_started = lambda _kind: times.append(time.monotonic())
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
    # "STATS": the dropped-frame counts so far; "EXECUTED": the executions
    # since the last ask; "LINKS": the lock links per node port;
    # "STOP" or EOF: shut down.
    while command := (await reader.readline()).strip():
        if command == b"STATS":
            dropped: Counter[str] = Counter()
            for runtime in runtimes:
                assert runtime.device is not None
                for code, number in runtime.device.dropped_frames.items():
                    dropped[code.value] += number
            print("DROPPED", json.dumps(dict(dropped)), flush=True)
        elif command == b"EXECUTED":
            print("EXECUTED", json.dumps(executed), flush=True)
            for times in executed.values():
                times.clear()
        elif command.startswith(b"ON "):
            # The locks whose link is on this node port now.
            port = int(command.split()[1])
            on_node = [
                runtime.device.lock_id.hex()
                for runtime in runtimes
                if runtime.device is not None
                and runtime.mqtt is not None
                and runtime.mqtt.connected
                and runtime.mqtt.endpoint.port == port
            ]
            print("ON", json.dumps(on_node), flush=True)
        elif command == b"LINKS":
            links: Counter[str] = Counter(
                str(runtime.mqtt.endpoint.port)
                if runtime.mqtt is not None and runtime.mqtt.connected
                else "down"
                for runtime in runtimes
            )
            print("LINKS", json.dumps(dict(links)), flush=True)
        else:
            break
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
    records: list[CommandRecord] = field(default_factory=list)
    """Every command: sent, ended, outcome (monotonic clock, for the audit)."""


_EXPECTED = {MessageKind.UNLOCK: BoltState.UNLOCKED, MessageKind.LOCK: BoltState.LOCKED}


async def _one_command(controller: Controller, timeout: float, counts: Counts) -> None:
    """Send the next of unlock/lock and wait for the signed, matching result."""
    client = controller.client
    assert client is not None
    kind = MessageKind.UNLOCK if controller.commands % 2 == 0 else MessageKind.LOCK
    controller.commands += 1
    counts.sent += 1
    start = time.perf_counter()
    sent_at = time.monotonic()

    def record(outcome: Outcome, code: str = "") -> None:
        counts.records.append(
            CommandRecord(
                controller.lock_id.hex(), sent_at, time.monotonic(), outcome, code
            )
        )

    try:
        send = client.unlock if kind is MessageKind.UNLOCK else client.lock
        result = await send(timeout=timeout)
    except CommandRefused as err:
        record(Outcome.REFUSED, err.code.name.lower())
        counts.refused += 1
        return
    except CommandTimeout:
        record(Outcome.TIMED_OUT)
        counts.lost += 1
        return
    except ControllerError:
        record(Outcome.LINK_DOWN)
        counts.lost += 1
        return
    counts.latencies_ms.append((time.perf_counter() - start) * 1000)
    if result.status.bolt_state is _EXPECTED[kind]:
        record(Outcome.CONFIRMED)
        counts.confirmed += 1
    else:
        record(Outcome.WRONG_STATE)
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
            # A node killed during the phase has no figure.
            if name in idle["cpu_exact_s"]
        }
        # What a command costs each of the lock's controllers, on average
        # (all of them run in this one process).
        phase["controller_cpu_ms_per_command_each"] = round(
            phase["cpu_ms_per_command_idle_subtracted"]["controllers"]
            / controllers_per_lock,
            2,
        )


class LockProcess:
    """The child process of locks, asked one line at a time over its stdin/stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        """Talk to ``process`` (started by ``_with_relay``)."""
        self.process = process
        self._turn = asyncio.Lock()

    async def ask(self, command: str) -> str:
        """Send ``command``; return the answer line without its leading word."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        async with self._turn:
            stdin.write(f"{command}\n".encode())
            await stdin.drain()
            return (await stdout.readline()).decode().split(" ", 1)[1]

    async def dropped(self) -> Counter[str]:
        """Return the locks' dropped frames by code, so far."""
        return Counter(json.loads(await self.ask("STATS")))

    async def executed(self) -> dict[str, list[float]]:
        """Return the executions since the last ask, by lock id (monotonic times)."""
        answer: dict[str, list[float]] = json.loads(await self.ask("EXECUTED"))
        return answer

    async def on_node(self, port: int) -> list[str]:
        """Return the ids of the locks whose link is on node ``port``."""
        answer: list[str] = json.loads(await self.ask(f"ON {port}"))
        return answer

    async def links(self) -> Counter[str]:
        """Return how many lock links are connected per node port (or "down")."""
        return Counter(json.loads(await self.ask("LINKS")))

    async def stop(self) -> None:
        """Shut the locks down and wait for the process."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"STOP\n")
        await self.process.stdin.drain()
        await self.process.wait()


def _cpu_now(pids: dict[str, int]) -> dict[str, float]:
    cpu = {"controllers": time.process_time()}
    for name, pid in pids.items():
        # A node killed during the phase has no figure at its end.
        with contextlib.suppress(OSError):
            cpu[name] = cpu_seconds(pid)
    return cpu


def _waited_now(pids: dict[str, int]) -> dict[str, float]:
    waited = {"controllers": runqueue_wait_seconds()}
    for name, pid in pids.items():
        with contextlib.suppress(OSError):
            waited[name] = runqueue_wait_seconds(pid)
    return waited


def _with_broker_total(values: dict[str, float]) -> dict[str, float]:
    """Add "rabbitmq": the sum of the cluster's nodes (absent for Mosquitto)."""
    nodes = [v for name, v in values.items() if name.startswith("rabbit")]
    return values | ({"rabbitmq": sum(nodes)} if nodes else {})


async def run(args: argparse.Namespace) -> dict[str, object]:
    """Set everything up, drive the load, tear down; return the measurements."""
    fd_limit = raise_fd_limit()
    result: dict[str, object] = {
        "relay": args.relay,
        "nodes": args.nodes if args.relay == "rabbitmq" else 1,
        "locks": args.locks,
        "fd_limit": fd_limit,
    }
    with tempfile.TemporaryDirectory(prefix="secure-lock-load-") as tmp:
        root = Path(tmp)
        ca = DevCertificateAuthority.create()
        ca.save(root / "ca")
        relay: Relay = (
            RabbitMqRelay(root / "broker", ca, args.nodes)
            if args.relay == "rabbitmq"
            else MosquittoRelay(root / "broker", ca)
        )
        await asyncio.to_thread(relay.start)
        try:
            result |= await _with_relay(args, root, relay)
        finally:
            await asyncio.to_thread(relay.stop)
    return result


async def _start_locks(
    args: argparse.Namespace, root: Path, relay: Relay
) -> tuple[LockProcess, list[tuple[bytes, SetupCode, bool]], float]:
    """Start the lock process; return it, each lock's id, setup code and link, and RSS per lock."""
    n = args.locks
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-locks",
        str(n),
        "--broker-ports",
        ",".join(str(port) for port in relay.lock_ports()),
        "--ca-dir",
        str(root / "ca"),
        "--state-dir",
        str(args.lock_state_root / f"locks-{os.getpid()}"),
        *(["--accounts-first"] if relay.needs_lock_accounts else []),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    # The setup codes travel over this private pipe only; nothing logs them.
    found: list[tuple[bytes, SetupCode, bool]] = []
    lock_ids: list[bytes] = []
    while True:
        line = (await process.stdout.readline()).decode().split()
        if not line:
            raise RuntimeError("the lock process exited during start-up")
        if line[0] == "ID":
            lock_ids.append(bytes.fromhex(line[1]))
        elif line[0] == "IDS":
            await asyncio.to_thread(relay.add_locks, lock_ids)
            process.stdin.write(b"ACCOUNTS\n")
            await process.stdin.drain()
        elif line[0] == "LOCK":
            found.append(
                (bytes.fromhex(line[1]), SetupCode.parse(line[2]), line[3] == "1")
            )
        elif line[0] == "READY":
            return LockProcess(process), found, (int(line[2]) - int(line[1])) / n


async def _with_relay(  # noqa: PLR0915
    args: argparse.Namespace, root: Path, relay: Relay
) -> dict[str, object]:
    n = args.locks
    setup_start = time.perf_counter()
    locks, found, lock_rss = await _start_locks(args, root, relay)
    locks_booted = time.perf_counter() - setup_start
    # One account per controller, written with one reload (a reload per
    # account would be O(N^2) for a bulk set-up).
    await asyncio.to_thread(
        relay.add_controllers,
        [
            (_account(index, peer), PASSWORD, [lock_id.hex()])
            for index, (lock_id, _setup, _ok) in enumerate(found)
            for peer in range(args.controllers_per_lock)
        ],
    )
    identities = [ControllerIdentity.generate() for _ in found]
    controllers = [
        Controller(
            _account(index, 0),
            lock_id,
            setup,
            identity,
            relay.controller_link(
                lock_id, identity, _account(index, 0), PASSWORD, index
            ),
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
        # Without it the lock drops the provisional record after its
        # fail-safe time, and a set-up slower than that (hundreds of locks
        # on a busy box) leaves the first pairings' commands refused as
        # from an unknown sender.
        await confirm_pairing(controller.link, identity, outcome.lock, timeout=120)
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
                relay.controller_link(
                    owner.lock_id, identity, account, PASSWORD, index
                ),
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
    broker_rss = _with_broker_total(
        {name: rss_kib(pid) / n for name, pid in relay.processes().items()}
    )

    drops = _DropCounter()
    client_log = logging.getLogger("custom_components.secure_lock.controller.client")
    client_log.setLevel(logging.DEBUG)
    client_log.addHandler(drops)
    client_log.propagate = False
    pids = {"locks": locks.process.pid} | relay.processes()

    # One phase after the other, on the same locks and connections; a node
    # is killed (if asked) in the first load phase.
    rates = ([-1.0] if args.idle else []) + (args.rate or [0.0])
    first_load = next(i for i, rate in enumerate(rates) if rate >= 0)
    phases = [
        await _phase(
            args,
            rate,
            controllers,
            pids,
            drops=drops,
            locks=locks,
            relay=relay if index == first_load and args.kill_node is not None else None,
        )
        for index, rate in enumerate(rates)
    ]
    node_of = relay.node_names()
    controller_links = Counter(
        node_of[c.link.endpoint.port] if c.link.connected else "down"
        for c in controllers + listeners
    )
    lock_links = {
        node_of.get(int(port), port) if port != "down" else port: count
        for port, count in (await locks.links()).items()
    }
    for controller in controllers + listeners:
        if controller.client is not None:
            await controller.client.close()
        await controller.link.close()
    await locks.stop()
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
        "broker_kib_per_lock": {k: round(v, 1) for k, v in broker_rss.items()},
        "controller_links_at_end": dict(controller_links),
        "lock_links_at_end": {str(k): v for k, v in lock_links.items()},
        "phases": phases,
        "lost": sum(p["lost"] for p in phases),
        "misrouted": sum(p["misrouted"] for p in phases),
        "unsafe": sum(p["unsafe"] for p in phases),
    }


async def _kill_during(
    args: argparse.Namespace,
    relay: Relay,
    controllers: list[Controller],
    locks: LockProcess,
    end: float,
) -> dict[str, Any]:
    """Kill -9 one node ``--kill-at`` s in; watch the links come back (and restart it)."""
    await asyncio.sleep(args.kill_at)
    killed_port = relay.lock_ports()[0]
    for port, name in relay.node_names().items():
        if name == f"rabbit{args.kill_node}":
            killed_port = port
    affected = [
        c
        for c in controllers
        if c.link.connected and c.link.endpoint.port == killed_port
    ]
    locks_there = await locks.on_node(killed_port)
    killed_at = time.monotonic()
    await asyncio.to_thread(relay.kill_node, args.kill_node)
    dead_s = time.monotonic() - killed_at
    back: dict[str, float] = {}
    locks_back_s: float | None = None
    restarted_s: float | None = None
    while time.monotonic() < end:
        now = time.monotonic()
        for c in affected:
            if (
                c.username not in back
                and c.link.connected
                and c.link.endpoint.port != killed_port
            ):
                back[c.username] = now - killed_at
        if locks_back_s is None:
            links = await locks.links()
            if not links.get("down") and not links.get(str(killed_port)):
                locks_back_s = time.monotonic() - killed_at
        if (
            args.restart_after is not None
            and restarted_s is None
            and now >= killed_at + args.restart_after
        ):
            await asyncio.to_thread(relay.start_node, args.kill_node)
            restarted_s = time.monotonic() - killed_at
        if (
            len(back) == len(affected)
            and locks_back_s is not None
            and (args.restart_after is None or restarted_s is not None)
        ):
            break
        await asyncio.sleep(0.05)
    links_back = list(back.values()) or [math.nan]
    return {
        "node": args.kill_node,
        "killed_at": killed_at,
        "vm_dead_after_s": round(dead_s, 2),
        "controller_links_on_node": len(affected),
        "controller_links_back": len(back),
        "controller_link_back_s_p50": round(statistics.median(links_back), 2),
        "controller_link_back_s_max": round(max(links_back), 2),
        "lock_links_on_node": len(locks_there),
        # Only meaningful when locks were on the killed node.
        "all_lock_links_back_s": None
        if locks_back_s is None or not locks_there
        else round(locks_back_s, 2),
        "restarted_after_s": None if restarted_s is None else round(restarted_s, 1),
        # Locks whose controller or whose own link was on the killed node.
        "affected_locks": [c.lock_id.hex() for c in affected] + locks_there,
    }


def _recovery(
    kill: dict[str, Any],
    records: list[CommandRecord],
    executions: dict[str, list[float]],
) -> dict[str, Any]:
    """Time from the kill to each affected lock's first confirmed command.

    Affected: its controller's link or its own was on the killed node.
    """
    killed_at = kill.pop("killed_at")
    affected = set(kill.pop("affected_locks"))
    first: dict[str, float] = {}
    for record in records:
        if (
            record.lock in affected
            and record.outcome is Outcome.CONFIRMED
            and record.sent_at >= killed_at
        ):
            seconds = record.ended_at - killed_at
            first[record.lock] = min(seconds, first.get(record.lock, seconds))
    times = list(first.values()) or [math.nan]
    mine = [r for r in records if r.lock in affected]
    others = [r for r in records if r.lock not in affected]
    # Until when did commands of affected locks fail (sent after the kill)?
    failures = [
        r.sent_at - killed_at
        for r in mine
        if r.outcome is not Outcome.CONFIRMED and r.sent_at >= killed_at
    ]
    return kill | {
        "verdicts_of_affected_locks": {
            v.value: n for v, n in audit_commands(mine, executions).verdicts.items()
        },
        "verdicts_of_other_locks": {
            v.value: n for v, n in audit_commands(others, executions).verdicts.items()
        },
        "failed_commands_sent_after_kill": len(failures),
        "last_failed_command_sent_after_kill_s": round(max(failures), 2)
        if failures
        else None,
        "affected_locks": len(affected),
        "affected_locks_confirmed_again": len(first),
        "first_confirmed_after_kill_s_p50": round(statistics.median(times), 2),
        "first_confirmed_after_kill_s_max": round(max(times), 2),
    }


def _audit_fields(audit: Audit) -> dict[str, Any]:
    return {
        "verdicts": {verdict.value: n for verdict, n in audit.verdicts.items()},
        "unmatched_executions": audit.unmatched_executions,
        "unsafe": audit.unsafe,
        "late_examples": [
            {
                "lock": late.lock[:12],
                "after_give_up_s": round(late.after_give_up_s, 3),
                "outcome": late.outcome.value,
            }
            for late in audit.late[:5]
        ],
    }


async def _phase(  # noqa: PLR0915
    args: argparse.Namespace,
    rate: float,
    controllers: list[Controller],
    pids: dict[str, int],
    *,
    drops: _DropCounter,
    locks: LockProcess,
    relay: Relay | None,
) -> dict[str, Any]:
    """Drive one load phase (open loop at ``rate``, or closed loop if 0).

    With ``relay``, one of its nodes is killed during the phase.
    """
    counts = Counts()
    lock_before = await locks.dropped()
    await locks.executed()  # forget the earlier phases' executions
    drops_before = Counter(drops.codes)
    skew_before = sum(c.clock_skew for c in controllers)
    cpu_before = _cpu_now(pids)
    wait_before = _waited_now(pids)
    profile = cProfile.Profile() if args.profile and rate >= 0 else None
    if profile is not None:
        profile.enable()
    lag: list[float] = []
    stop_lag = asyncio.Event()
    lag_task = asyncio.create_task(_loop_lag(lag, stop_lag))
    wall = time.perf_counter()
    end = time.monotonic() + args.seconds
    kill_task = (
        None
        if relay is None
        else asyncio.create_task(_kill_during(args, relay, controllers, locks, end))
    )
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
    cpu_after = _cpu_now(pids)
    wait_after = _waited_now(pids)
    cpu = _with_broker_total(
        {name: cpu_after[name] - cpu_before[name] for name in cpu_after}
    )
    waited = {name: wait_after[name] - wait_before[name] for name in wait_after}
    kill: dict[str, Any] | None = None
    if kill_task is not None:
        kill = await kill_task
        # A command given up on may still reach its lock until its lifetime
        # ends (the lock refuses it after): wait that long before asking the
        # locks what they executed.
        await asyncio.sleep(max(0.0, LOCK_COMMAND_LIFETIME_S - args.timeout) + 2)
    executions = await locks.executed()
    audit = audit_commands(counts.records, executions)
    if kill is not None:
        kill = _recovery(kill, counts.records, executions)
    lock_dropped = await locks.dropped() - lock_before
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
    outcomes = Counter(record.outcome.value for record in counts.records)
    return {
        "rate": "idle" if rate < 0 else rate or "closed loop",
        "seconds": round(wall, 1),
        "sent": counts.sent,
        "confirmed": counts.confirmed,
        "refused": counts.refused,
        "lost": counts.lost,
        "outcomes": dict(outcomes),
        "misrouted": misrouted,
        **_audit_fields(audit),
        **({} if kill is None else {"node_kill": kill}),
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


def compare_table(results: list[dict[str, Any]]) -> str:
    """Return a Markdown table of each run's last load phase, one column per relay."""
    phases = [r["phases"][-1] for r in results]
    names = [
        f"{r['relay']} ({r['nodes']} node{'s' if r['nodes'] > 1 else ''})"
        for r in results
    ]

    def cpu_cell(phase: dict[str, Any], name: str) -> str:
        per = (
            phase.get("cpu_ms_per_command_idle_subtracted")
            or phase["cpu_ms_per_command"]
        )
        return "–" if name not in per else f"{per[name]:.2f}"

    def broker_cpu(phase: dict[str, Any]) -> str:
        per = (
            phase.get("cpu_ms_per_command_idle_subtracted")
            or phase["cpu_ms_per_command"]
        )
        if "mosquitto" in per:
            return f"{per['mosquitto']:.2f}"
        nodes = " + ".join(
            f"{per[name]:.2f}" for name in sorted(per) if name[6:].isdigit()
        )
        return f"{per['rabbitmq']:.2f} ({nodes})"

    def broker_memory(result: dict[str, Any]) -> str:
        per = result["broker_kib_per_lock"]
        total = per.get("rabbitmq", per.get("mosquitto", 0.0))
        return f"{total:.1f}"

    rows = [
        ("commands/s confirmed", [f"{p['commands_per_s']}" for p in phases]),
        (
            "sent / confirmed / lost",
            [f"{p['sent']} / {p['confirmed']} / {p['lost']}" for p in phases],
        ),
        ("misrouted", [str(p["misrouted"]) for p in phases]),
        (
            "latency p50 / p99 (ms)",
            [f"{p['latency_ms_p50']} / {p['latency_ms_p99']}" for p in phases],
        ),
        (
            "CPU ms per command: controllers",
            [cpu_cell(p, "controllers") for p in phases],
        ),
        ("CPU ms per command: locks", [cpu_cell(p, "locks") for p in phases]),
        ("CPU ms per command: broker (nodes)", [broker_cpu(p) for p in phases]),
        (
            "KiB per lock: lock process",
            [f"{r['lock_process_kib_per_lock']}" for r in results],
        ),
        (
            "KiB per lock: controller process",
            [f"{r['controller_process_kib_per_lock']}" for r in results],
        ),
        ("KiB per lock: broker (RSS / N)", [broker_memory(r) for r in results]),
    ]
    lines = [
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        *(f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows),
    ]
    return "\n".join(lines)


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
    parser.add_argument(
        "--relay",
        choices=("mosquitto", "rabbitmq"),
        default="mosquitto",
        help="one Mosquitto, or a RabbitMQ cluster on loopback (locks on node 0, "
        "controllers spread over the other nodes, every link failing over to the rest)",
    )
    parser.add_argument(
        "--nodes", type=int, default=3, help="RabbitMQ cluster size (default 3)"
    )
    parser.add_argument(
        "--kill-node",
        type=int,
        help="RabbitMQ: kill -9 this node during the first load phase and audit "
        "every command (confirmed, refused, failed safe, executed late)",
    )
    parser.add_argument(
        "--kill-at", type=float, default=10.0, help="seconds into the load phase"
    )
    parser.add_argument(
        "--restart-after",
        type=float,
        help="start the killed node again this many seconds after the kill",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="run the same load on Mosquitto and on the RabbitMQ cluster; "
        "print both results and a Markdown table side by side",
    )
    parser.add_argument("--serve-locks", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--broker-ports", help=argparse.SUPPRESS)
    parser.add_argument("--accounts-first", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ca-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_locks:
        asyncio.run(
            serve_locks(
                args.serve_locks,
                [int(port) for port in args.broker_ports.split(",")],
                args.ca_dir,
                args.state_dir,
                accounts_first=args.accounts_first,
            )
        )
        return 0
    if args.kill_node is not None and args.relay != "rabbitmq":
        parser.error("--kill-node needs --relay rabbitmq")
    relays = ["mosquitto", "rabbitmq"] if args.compare else [args.relay]
    results = [
        _run_one(argparse.Namespace(**vars(args) | {"relay": r})) for r in relays
    ]
    if args.compare:
        print(json.dumps({"runs": results, "table": compare_table(results)}, indent=2))
        print(compare_table(results))
    else:
        print(json.dumps(results[0], indent=2))
    return 0 if all(_passed(result, args) for result in results) else 1


def _run_one(args: argparse.Namespace) -> dict[str, Any]:
    try:
        result = asyncio.run(run(args))
    finally:
        shutil.rmtree(args.lock_state_root / f"locks-{os.getpid()}", ignore_errors=True)
    result["lock_state_root"] = str(args.lock_state_root)
    return result


def _passed(result: dict[str, Any], args: argparse.Namespace) -> bool:
    """Nothing misrouted or executed late; nothing lost unless a node was killed.

    With a node killed, commands given up on are the expected fail-safe
    (the audit checked that none of them ran after the give-up).
    """
    lost_ok = args.kill_node is not None or result["lost"] == 0
    return bool(lost_ok and result["misrouted"] == 0 and result["unsafe"] == 0)


if __name__ == "__main__":
    raise SystemExit(main())
