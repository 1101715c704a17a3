"""Fuzz every parser that reads bytes from the outside: ``python bench/fuzz.py``.

Targets: the protocol envelope as the lock and as the controller open it (for
every supported suite), the link's channel byte and pairing failure notice,
the four pairing message parsers and a live lock pairing session, the setup
code parser (``SetupCode.parse``) and the simulator's admin channel
(``device_sim.admin.parse_request``).

An input passes when the target returns or raises the error type it
documents (``ProtocolError`` and its subclasses; ``AdminError`` for the admin
channel).  Any other exception is a crash; an input that runs longer than the
per-input limit of CPU time (ITIMER_PROF) is a hang.  Both are printed with the input.

Inputs come from a seeded structured mutator (bit flips, interesting values,
truncations, insertions, splices of valid messages, random bytes) and, for
the admin channel, generated JSON with hostile values.  Inputs that produce a
new error message join the corpus, a cheap stand-in for coverage feedback.
The PRNG is ``random.Random(seed)``: fuzz inputs are not secrets, and the
seed makes every run reproducible.

tests/protocol/test_fuzz_budget.py runs the same campaign with a small budget.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass, field
import importlib
import json
import math
from pathlib import Path
import platform
import random
import signal
import sys
import time
import traceback
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# First: registers the protocol package without the integration's __init__.
import device_sim  # noqa: E402, F401

# isort: split

from custom_components.secure_lock.protocol import (  # noqa: E402
    Command,
    ControllerIdentity,
    ControllerPairing,
    ControllerRegistry,
    LockEndpoint,
    LockIdentity,
    LockPairing,
    LockPin,
    MessageKind,
    PairingAttempts,
    ProtocolError,
    Role,
    SetupCode,
    SuiteId,
    supported_suites,
)
from custom_components.secure_lock.protocol.channel import (  # noqa: E402
    Channel,
    decode_signed_failure,
    encode_signed_failure,
    unwrap,
    wrap,
)
from custom_components.secure_lock.protocol.errors import ErrorCode  # noqa: E402
from custom_components.secure_lock.protocol.messages import CommandResult, ResultCode  # noqa: E402
from custom_components.secure_lock.protocol.pairing_messages import (  # noqa: E402
    PairingChallenge,
    PairingHello,
    PairingProof,
    PairingResult,
)
from custom_components.secure_lock.protocol.pairing_seal import (  # noqa: E402
    AnswerKey,
    PairingRequest,
    seal_answer,
)
from custom_components.secure_lock.protocol.rng import DeterministicRng  # noqa: E402
from custom_components.secure_lock.protocol.session import ControllerEndpoint  # noqa: E402
from custom_components.secure_lock.protocol.state import LockStatus  # noqa: E402
from device_sim.admin import AdminCommand, AdminError, parse_request  # noqa: E402

T0 = 1_800_000_000_000
"""Frozen wall-clock time (ms) for every endpoint, so runs are reproducible."""
DEFAULT_TOTAL = 1_000_000
DEFAULT_TIME_LIMIT = 1.0
CORPUS_LIMIT = 256
"""Most inputs a target keeps for producing new error messages."""


class Hang(Exception):  # noqa: N818 - it is a finding, not an error of ours
    """Raised by the alarm when one input runs past the per-input limit."""


@dataclass(frozen=True, slots=True)
class Target:
    """One parser under fuzz: what to call, what it may raise, valid samples."""

    name: str
    call: Callable[[bytes], object]
    allowed: tuple[type[BaseException], ...]
    seeds: tuple[bytes, ...]
    weight: int = 10
    """Share of the budget; expensive live sessions get less."""
    kind: str = "bytes"
    """``bytes`` (byte mutator) or ``json`` (also generated JSON)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """A crash or a hang, with enough to reproduce it."""

    target: str
    problem: str
    data: bytes

    def describe(self) -> str:
        """Return one line for the terminal (input shown as hex, cut at 96 bytes)."""
        shown = self.data[:96].hex()
        more = "..." if len(self.data) > 96 else ""
        return f"{self.target}: {self.problem}: {len(self.data)} bytes {shown}{more}"


@dataclass(slots=True)
class TargetStats:
    """Counts for one target."""

    inputs: int = 0
    accepted: int = 0
    rejected: int = 0
    slowest_s: float = 0.0
    corpus: int = 0


@dataclass(slots=True)
class FuzzReport:
    """The result of one campaign."""

    seed: int
    time_limit_s: float
    stats: dict[str, TargetStats] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0

    @property
    def inputs(self) -> int:
        """Return the number of inputs run."""
        return sum(s.inputs for s in self.stats.values())

    @property
    def crashes(self) -> list[Finding]:
        """Return inputs that raised an undocumented exception."""
        return [f for f in self.findings if f.problem != "hang"]

    @property
    def hangs(self) -> list[Finding]:
        """Return inputs that ran past the per-input limit."""
        return [f for f in self.findings if f.problem == "hang"]


# Targets -----------------------------------------------------------------


def _paired(suite: SuiteId) -> tuple[LockEndpoint, ControllerEndpoint, bytes, bytes]:
    """Pair a lock and a controller; return both endpoints and one valid frame each way."""
    rng = DeterministicRng(b"fuzz-" + bytes([suite]))
    lock = LockIdentity.generate(rng, now_ms=T0, suites=(suite,))
    ctrl = ControllerIdentity.generate(rng, now_ms=T0, suites=(suite,))
    setup = SetupCode.generate(LockPin(lock.lock_id, lock.fingerprint), rng=rng)
    lock_side = LockPairing(
        lock,
        setup.secret_for(lock.lock_id),
        PairingAttempts(),
        rng=rng,
        clock=lambda: T0,
    )
    lock_side.open_window(T0)
    ctrl_side = ControllerPairing(
        ctrl, setup, "fuzz", suites=(suite,), rng=rng, clock=lambda: T0
    )
    proof = ctrl_side.handle_challenge(
        lock_side.handle_hello(ctrl_side.start(), T0), T0
    )
    result, lock_outcome = lock_side.handle_proof(proof, Role.ADMIN, T0)
    outcome = ctrl_side.handle_result(result, T0)
    registry = ControllerRegistry()
    registry.add(lock_outcome.record)
    lock_ep = LockEndpoint(lock, registry, rng=rng, clock=lambda: T0)
    ctrl_ep = ControllerEndpoint(ctrl, outcome.lock, rng=rng, clock=lambda: T0)
    to_lock = ctrl_ep.seal(MessageKind.UNLOCK, Command(), now_ms=T0)
    reply = lock_ep.respond(
        lock_ep.open(ctrl_ep.seal(MessageKind.LOCK, Command(), now_ms=T0), T0),
        CommandResult(ResultCode.OK, LockStatus(), T0, 1),
    )
    return lock_ep, ctrl_ep, to_lock, reply


def _pairing_transcript() -> tuple[
    LockIdentity, ControllerIdentity, SetupCode, tuple[bytes, bytes, bytes, bytes]
]:
    rng = DeterministicRng(b"fuzz-pairing")
    lock = LockIdentity.generate(rng, now_ms=T0)
    ctrl = ControllerIdentity.generate(rng, now_ms=T0)
    setup = SetupCode.generate(LockPin(lock.lock_id, lock.fingerprint), rng=rng)
    lock_side = LockPairing(
        lock,
        setup.secret_for(lock.lock_id),
        PairingAttempts(),
        rng=rng,
        clock=lambda: T0,
    )
    lock_side.open_window(T0)
    ctrl_side = ControllerPairing(ctrl, setup, "fuzz", rng=rng, clock=lambda: T0)
    hello = ctrl_side.start()
    challenge = lock_side.handle_hello(hello, T0)
    proof = ctrl_side.handle_challenge(challenge, T0)
    result, _ = lock_side.handle_proof(proof, Role.ADMIN, T0)
    return lock, ctrl, setup, (hello, challenge, proof, result)


def _admin_seeds() -> tuple[bytes, ...]:
    samples: list[tuple[AdminCommand, str | float | None]] = [
        (AdminCommand.DOOR, "open"),
        (AdminCommand.TURN, "lock"),
        (AdminCommand.KEYPAD, "unlock"),
        (AdminCommand.SELF_CHECK, "fail"),
        (AdminCommand.BATTERY, 42.5),
        (AdminCommand.CLOCK_SKEW, -3600.0),
    ]
    samples += [
        (command, None)
        for command in AdminCommand
        if command not in {c for c, _ in samples}
    ]
    return tuple(
        json.dumps({"command": c.value, "argument": a}).encode() for c, a in samples
    )


def _opener(endpoint: LockEndpoint | ControllerEndpoint) -> Callable[[bytes], object]:
    return lambda data: endpoint.open(data, T0)


def build_targets() -> list[Target]:
    """Return every target with valid seed inputs (deterministic)."""
    targets: list[Target] = []
    for suite in supported_suites():
        lock_ep, ctrl_ep, to_lock, to_ctrl = _paired(suite)
        seeds = (to_lock, to_ctrl)
        targets.append(
            Target(
                f"lock envelope open (suite {int(suite)})",
                _opener(lock_ep),
                (ProtocolError,),
                seeds,
            )
        )
        targets.append(
            Target(
                f"controller envelope open (suite {int(suite)})",
                _opener(ctrl_ep),
                (ProtocolError,),
                seeds[::-1],
            )
        )
    lock, _ctrl, setup, transcript = _pairing_transcript()
    hello = transcript[0]

    def link_frame(data: bytes) -> None:
        channel, body = unwrap(data)
        if channel is Channel.PAIRING:
            decode_signed_failure(body)

    targets.append(
        Target(
            "link channel byte + pairing failure notice",
            link_frame,
            (ProtocolError,),
            (
                wrap(
                    Channel.PAIRING,
                    encode_signed_failure(
                        bytes(32), bytes(32), ErrorCode.PAIRING_BUSY, bytes(64)
                    ),
                ),
                wrap(Channel.PAIRING, hello),
                wrap(Channel.ENVELOPE, transcript[2]),
            ),
        )
    )
    # The sealing layer: the lock splits the answer key off every pairing
    # frame; the controller opens the lock's sealed answers.
    answer_key = AnswerKey.generate(DeterministicRng(b"fuzz answer key"))
    hello_body = answer_key.request(hello)
    notice = encode_signed_failure(
        bytes(32), bytes(32), ErrorCode.PAIRING_BUSY, bytes(64)
    )
    targets.append(
        Target(
            "pairing request (answer key + hello)",
            lambda d: PairingHello.from_bytes(PairingRequest.from_bytes(d).message),
            (ProtocolError,),
            (hello_body,),
        )
    )

    def sealed_answer(data: bytes) -> None:
        decode_signed_failure(answer_key.open(hello_body, data))

    targets.append(
        Target(
            "sealed pairing answer",
            sealed_answer,
            (ProtocolError,),
            (
                seal_answer(PairingRequest.from_bytes(hello_body), notice),
                seal_answer(PairingRequest.from_bytes(hello_body), transcript[1]),
            ),
        )
    )
    parsers = (
        ("hello", PairingHello.from_bytes),
        ("challenge", PairingChallenge.from_bytes),
        ("proof", PairingProof.from_bytes),
        ("result", PairingResult.from_bytes),
    )
    targets.extend(
        Target(
            f"pairing {name} parser",
            parse,
            (ProtocolError,),
            # Every message of the transcript: splices mix their fields.
            transcript[index:] + transcript[:index],
            weight=5,
        )
        for index, (name, parse) in enumerate(parsers)
    )

    label = setup.secret_for(lock.lock_id)

    def lock_pairing_session(data: bytes) -> None:
        # A fresh session per input: every input meets an open pairing window.
        session = LockPairing(lock, label, PairingAttempts(), clock=lambda: T0)
        session.open_window(T0)
        session.handle_hello(data, T0)

    targets.append(
        Target(
            "live lock pairing session (hello)",
            lock_pairing_session,
            (ProtocolError,),
            (hello,),
            weight=2,
        )
    )
    targets.append(
        Target(
            "setup code parser (SetupCode.parse)",
            lambda d: SetupCode.parse(d.decode("latin-1")),
            (ProtocolError,),
            (
                setup.manual_code().encode(),
                setup.qr_text().encode(),
                setup.qr_text().lower().encode(),
                setup.manual_code().replace("-", "").encode(),
            ),
        )
    )
    targets.append(
        Target(
            "admin channel request parser",
            parse_request,
            (AdminError,),
            _admin_seeds(),
            kind="json",
        )
    )
    return targets


# Mutator -----------------------------------------------------------------

_INTERESTING_BYTES = (0x00, 0x01, 0x02, 0x7F, 0x80, 0xFE, 0xFF, 0x45, 0x50, 0x20)
_INTERESTING_INTS = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF)


class Mutator:
    """Seeded structured mutations of byte strings (reproducible from the seed)."""

    def __init__(self, seed: int) -> None:
        """Start the PRNG; the same seed yields the same inputs."""
        # Not for secrets: fuzz inputs must be reproducible from the seed.
        self.rng = random.Random(seed)  # noqa: S311

    def random_bytes(self, size: int) -> bytes:
        """Return ``size`` PRNG bytes."""
        return self.rng.getrandbits(8 * size).to_bytes(size) if size else b""

    def fresh(self, typical: int) -> bytes:
        """Return random bytes, sized around ``typical`` or small."""
        rng = self.rng
        size = rng.choice(
            (rng.randrange(0, 16), typical, typical + rng.randrange(-8, 9))
        )
        return self.random_bytes(max(0, size))

    def mutate(self, data: bytes, corpus: list[bytes]) -> bytes:
        """Apply one to eight edits to ``data``."""
        rng = self.rng
        out = bytearray(data)
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4, 8))):
            self._edit(out, corpus)
        return bytes(out)

    def _edit(self, out: bytearray, corpus: list[bytes]) -> None:  # noqa: C901
        rng = self.rng
        op = rng.randrange(11)
        size = len(out)
        if op == 0 and size:  # flip one bit
            out[rng.randrange(size)] ^= 1 << rng.randrange(8)
        elif op == 1 and size:  # an interesting byte
            out[rng.randrange(size)] = rng.choice(_INTERESTING_BYTES)
        elif op == 2 and size:  # a random byte
            out[rng.randrange(size)] = rng.randrange(256)
        elif op == 3:  # truncate
            del out[rng.randrange(size + 1) :]
        elif op == 4 and size:  # delete a range
            start = rng.randrange(size)
            del out[start : start + rng.randrange(1, 17)]
        elif op == 5:  # insert random bytes
            at = rng.randrange(size + 1)
            out[at:at] = self.random_bytes(rng.randrange(1, 33))
        elif op == 6 and size:  # duplicate a range
            start = rng.randrange(size)
            chunk = out[start : start + rng.randrange(1, 65)]
            at = rng.randrange(size + 1)
            out[at:at] = chunk
        elif op == 7 and corpus:  # splice: our head, another input's tail
            other = rng.choice(corpus)
            cut = rng.randrange(size + 1)
            out[cut:] = other[rng.randrange(len(other) + 1) :]
        elif op == 8 and size >= 2:  # an interesting 16-bit value (length fields)
            at = rng.randrange(size - 1)
            value = rng.choice((*_INTERESTING_INTS, size, size - 1, size + 1))
            out[at : at + 2] = (value & 0xFFFF).to_bytes(
                2, rng.choice(("big", "little"))
            )
        elif op == 9 and size:  # overwrite a range with random bytes
            start = rng.randrange(size)
            end = min(size, start + rng.randrange(1, 33))
            out[start:end] = self.random_bytes(end - start)
        elif op == 10:  # append
            out += self.random_bytes(rng.randrange(1, 65))

    def json_value(self, depth: int = 0) -> object:
        """Return a hostile JSON value: odd types, huge and non-finite numbers, nesting."""
        rng = self.rng
        choice = rng.randrange(12 if depth < 4 else 9)
        values: list[object] = [
            None,
            rng.choice((True, False)),
            rng.randrange(-(10**6), 10**6),
            10 ** rng.randrange(15, 400) * rng.choice((1, -1)),
            rng.uniform(-1e6, 1e6),
            rng.choice((float("nan"), float("inf"), float("-inf"), 1e308, -0.0)),
            rng.choice(("open", "closed", "lock", "unlock", "pass", "fail", "")),
            self.random_bytes(rng.randrange(0, 24)).decode("latin-1"),
            rng.choice([c.value for c in AdminCommand]),
        ]
        if choice < len(values):
            return values[choice]
        if choice == 9:
            return [self.json_value(depth + 1) for _ in range(rng.randrange(4))]
        if choice == 10:
            return {"command": self.json_value(depth + 1)}
        return {
            repr(self.json_value(depth + 1)): self.json_value(depth + 1)
            for _ in range(rng.randrange(3))
        }

    def admin_line(self) -> bytes:
        """Return a generated admin request: JSON with a plausible or hostile shape."""
        rng = self.rng
        if rng.randrange(8) == 0:  # deep nesting
            depth = rng.randrange(10, 3000)
            return b"[" * depth + b"]" * rng.choice((depth, 0))
        document: dict[str, object] = {
            "command": rng.choice(
                [c.value for c in AdminCommand] + [self.json_value(1)]
            )
        }
        if rng.randrange(4):
            document["argument"] = self.json_value(1)
        if rng.randrange(8) == 0:
            document[self.random_bytes(4).decode("latin-1")] = self.json_value(1)
        return json.dumps(document).encode()


# Campaign ----------------------------------------------------------------


def _on_alarm(_signum: int, _frame: FrameType | None) -> None:
    raise Hang


@contextlib.contextmanager
def _alarm_handler() -> Iterator[None]:
    # CPU time, not wall time: an input is not a hang because another process
    # had the CPU (shared CI machines), and SIGALRM stays free for
    # pytest-timeout, whose timer an ITIMER_REAL would cancel.
    previous = signal.signal(signal.SIGPROF, _on_alarm)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _inputs(
    target: Target, mutator: Mutator, corpus: list[bytes], typical: int
) -> bytes:
    rng = mutator.rng
    roll = rng.randrange(20)
    if target.kind == "json" and roll < 8:
        line = mutator.admin_line()
        return mutator.mutate(line, corpus) if roll == 0 else line
    if roll < 2:
        return mutator.fresh(typical)
    return mutator.mutate(rng.choice(corpus), corpus)


def run_campaign(
    total: int,
    *,
    seed: int = 0,
    time_limit_s: float = DEFAULT_TIME_LIMIT,
    targets: list[Target] | None = None,
    progress: Callable[[str], None] | None = None,
) -> FuzzReport:
    """Run ``total`` inputs spread over the targets by weight; return the counts.

    Must run in the main thread (the per-input limit is a SIGPROF timer).
    """
    targets = targets if targets is not None else build_targets()
    weights = sum(t.weight for t in targets)
    report = FuzzReport(seed, time_limit_s)
    mutator = Mutator(seed)
    wall, cpu = time.perf_counter(), time.process_time()
    with _alarm_handler():
        for number, target in enumerate(targets):
            share = total * target.weight // weights
            if number == len(targets) - 1:
                share = total - sum(s.inputs for s in report.stats.values())
            stats = report.stats[target.name] = TargetStats()
            _fuzz_target(target, share, mutator, stats, report)
            if progress is not None:
                progress(
                    f"{target.name}: {stats.inputs} inputs, {stats.accepted} accepted, "
                    f"slowest {stats.slowest_s * 1000:.1f} ms, corpus {stats.corpus}"
                )
    report.wall_s = time.perf_counter() - wall
    report.cpu_s = time.process_time() - cpu
    return report


def _fuzz_target(
    target: Target,
    count: int,
    mutator: Mutator,
    stats: TargetStats,
    report: FuzzReport,
) -> None:
    corpus = list(target.seeds)
    messages: set[str] = set()
    typical = max(len(s) for s in target.seeds)
    limit = report.time_limit_s
    call = target.call
    allowed = target.allowed
    clock = time.perf_counter
    for _ in range(count):
        data = _inputs(target, mutator, corpus, typical)
        start = clock()
        signal.setitimer(signal.ITIMER_PROF, limit)
        try:
            call(data)
        except Hang:
            report.findings.append(Finding(target.name, "hang", data))
        except allowed as err:
            stats.rejected += 1
            message = str(err)
            if message not in messages and len(corpus) < CORPUS_LIMIT + len(
                target.seeds
            ):
                messages.add(message)
                corpus.append(data)
        except Exception as err:  # noqa: BLE001 - every other type is the finding
            where = traceback.extract_tb(err.__traceback__)[-1]
            report.findings.append(
                Finding(
                    target.name,
                    f"{type(err).__name__}: {err} (at {Path(where.filename).name}:{where.lineno})",
                    data,
                )
            )
        else:
            stats.accepted += 1
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        elapsed = clock() - start
        stats.slowest_s = max(stats.slowest_s, elapsed)
        stats.inputs += 1
    stats.corpus = len(corpus)


# Command line ------------------------------------------------------------


def summary(report: FuzzReport) -> list[str]:
    """Return the report as Markdown lines (also printed)."""
    rate = report.inputs / report.wall_s if report.wall_s else 0.0
    lines = [
        (
            f"{report.inputs:,} inputs (seed {report.seed}, per-input limit "
            f"{report.time_limit_s:g} s): {len(report.crashes)} crashes, "
            f"{len(report.hangs)} hangs; {report.wall_s:.1f} s wall, "
            f"{report.cpu_s:.1f} s CPU, {rate:,.0f} inputs/s."
        ),
        "",
        "| target | inputs | accepted | rejected (typed error) | slowest ms | corpus |",
        "|---|---|---|---|---|---|",
    ]
    lines.extend(
        f"| {name} | {s.inputs:,} | {s.accepted:,} | {s.rejected:,} | "
        f"{s.slowest_s * 1000:.1f} | {s.corpus} |"
        for name, s in report.stats.items()
    )
    return lines


def run_atheris(runs: int, time_limit_s: float, work_dir: Path) -> None:
    """Run the same targets and oracle under atheris (coverage-guided libFuzzer).

    The first byte of each input picks the target.  atheris is optional (not in
    the requirements): install it into the interpreter you run this with.  It
    never returns: libFuzzer exits 0 when the runs are done, non-zero with the
    input and the traceback on the first crash or per-input timeout.
    """
    atheris: Any = importlib.import_module("atheris")
    targets = build_targets()
    seeds = work_dir / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    for number, target in enumerate(targets):
        for index, seed in enumerate(target.seeds):
            (seeds / f"{number}-{index}").write_bytes(bytes([number]) + seed)

    def one_input(data: bytes) -> None:
        if not data:
            return
        target = targets[data[0] % len(targets)]
        with contextlib.suppress(*target.allowed):
            target.call(data[1:])

    atheris.instrument_all()
    atheris.Setup(
        [
            sys.argv[0],
            f"-runs={runs}",
            f"-timeout={max(1, math.ceil(time_limit_s))}",
            f"-artifact_prefix={work_dir}/",
            "-print_final_stats=1",
            str(seeds),
        ],
        one_input,
    )
    atheris.Fuzz()


def main(argv: list[str] | None = None) -> int:
    """Run a campaign; exit 1 if anything crashed or hung."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=DEFAULT_TOTAL)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT)
    parser.add_argument(
        "--engine",
        choices=("mutator", "atheris"),
        default="mutator",
        help="atheris: coverage-guided, needs `pip install atheris` (optional)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path("/tmp/secure-lock-fuzz"),  # noqa: S108 - scratch for atheris only
    )
    args = parser.parse_args(argv)
    print(
        f"Python {platform.python_version()}, {args.inputs:,} inputs, seed {args.seed}"
    )
    if args.engine == "atheris":
        run_atheris(args.inputs, args.time_limit, args.work_dir)
        return 0
    report = run_campaign(
        args.inputs, seed=args.seed, time_limit_s=args.time_limit, progress=print
    )
    print("\n".join(summary(report)))
    for finding in report.findings[:50]:
        print("FINDING", finding.describe())
    return 1 if report.findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
