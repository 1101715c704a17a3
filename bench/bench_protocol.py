"""Benchmark the protocol: ``python bench/bench_protocol.py [--write-docs]``.

Measures CPU time (process time, so other load on the box counts less) for
sealing and opening one command per suite, the lock's signed response, and a
full pairing.  Prints the median per operation and the spread (min-max of the
per-repeat medians); ``--write-docs`` also updates the protocol section of
docs/performance.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
import platform
import statistics
import sys
import time

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# First: registers the protocol package without the integration's __init__.
import device_sim  # noqa: E402, F401

# isort: split

from cryptography import __version__ as cryptography_version  # noqa: E402
from cryptography.hazmat.backends.openssl.backend import backend  # noqa: E402

from custom_components.secure_lock.protocol import (  # noqa: E402
    Command,
    CommandResult,
    ControllerEndpoint,
    ControllerIdentity,
    ControllerPairing,
    ControllerRegistry,
    LockEndpoint,
    LockIdentity,
    LockPairing,
    LockPin,
    LockStatus,
    MessageKind,
    PairingAttempts,
    ResultCode,
    Role,
    SetupCode,
    SuiteId,
    supported_suites,
)
from custom_components.secure_lock.protocol.envelope import frame_size  # noqa: E402
from custom_components.secure_lock.protocol.spake2plus import (  # noqa: E402
    Prover,
    Verifier,
    check_prover_confirmation,
    derive_prover_secret,
)

REPEATS = 9
BATCH = 60
BEGIN = "<!-- bench:begin (python bench/bench_protocol.py --write-docs) -->"
END = "<!-- bench:end -->"


def _per_op_us(
    run: Callable[[int], None], batch: int = BATCH
) -> tuple[float, float, float]:
    """Return (median, min, max) of per-repeat CPU µs per operation."""
    samples = []
    for _ in range(REPEATS):
        start = time.process_time_ns()
        run(batch)
        samples.append((time.process_time_ns() - start) / batch / 1000)
    return statistics.median(samples), min(samples), max(samples)


def _pair(suite: SuiteId) -> tuple[LockEndpoint, ControllerEndpoint]:
    lock = LockIdentity.generate(suites=(suite,))
    ctrl = ControllerIdentity.generate(suites=(suite,))
    setup = SetupCode.generate(LockPin(lock.lock_id, lock.fingerprint))
    lock_side = LockPairing(lock, setup.secret_for(lock.lock_id), PairingAttempts())
    lock_side.open_window()
    ctrl_side = ControllerPairing(ctrl, setup, "bench", suites=(suite,))
    proof = ctrl_side.handle_challenge(lock_side.handle_hello(ctrl_side.start()))
    result, lock_outcome = lock_side.handle_proof(proof, Role.ADMIN)
    outcome = ctrl_side.handle_result(result)
    registry = ControllerRegistry()
    registry.add(lock_outcome.record)
    return LockEndpoint(lock, registry), ControllerEndpoint(ctrl, outcome.lock)


def _full_pairing(suite: SuiteId) -> Callable[[int], None]:
    lock = LockIdentity.generate(suites=(suite,))
    ctrl = ControllerIdentity.generate(suites=(suite,))
    setup = SetupCode.generate(LockPin(lock.lock_id, lock.fingerprint))
    label = setup.secret_for(lock.lock_id)

    def run(count: int) -> None:
        for _ in range(count):
            lock_side = LockPairing(lock, label, PairingAttempts())
            lock_side.open_window()
            ctrl_side = ControllerPairing(ctrl, setup, "bench", suites=(suite,))
            proof = ctrl_side.handle_challenge(
                lock_side.handle_hello(ctrl_side.start())
            )
            result, _ = lock_side.handle_proof(proof, Role.ADMIN)
            ctrl_side.handle_result(result)

    return run


def _timed(
    prepare: Callable[[], list[bytes]], consume: Callable[[bytes], object]
) -> tuple[float, float, float]:
    """Time ``consume`` over freshly prepared inputs (preparation is not timed)."""
    samples = []
    for _ in range(REPEATS):
        inputs = prepare()
        start = time.process_time_ns()
        for item in inputs:
            consume(item)
        samples.append((time.process_time_ns() - start) / len(inputs) / 1000)
    return statistics.median(samples), min(samples), max(samples)


def measure(suite: SuiteId) -> list[tuple[str, tuple[float, float, float]]]:
    """Return the rows for one suite."""
    lock_ep, ctrl_ep = _pair(suite)
    result = CommandResult(ResultCode.OK, LockStatus(), 0, 0)

    def seal_commands(count: int) -> None:
        for _ in range(count):
            ctrl_ep.seal(MessageKind.UNLOCK, Command())

    def commands() -> list[bytes]:
        return [ctrl_ep.seal(MessageKind.UNLOCK, Command()) for _ in range(BATCH)]

    requests = [lock_ep.open(frame) for frame in commands()]

    def respond(count: int) -> None:
        for index in range(count):
            lock_ep.respond(requests[index % len(requests)], result)

    def replies() -> list[bytes]:
        # Fewer than the controller's pending-request memory (64).
        return [lock_ep.respond(lock_ep.open(frame), result) for frame in commands()]

    return [
        ("controller seal command", _per_op_us(seal_commands)),
        ("lock open command", _timed(commands, lock_ep.open)),
        ("lock seal signed result", _per_op_us(respond)),
        ("controller open result", _timed(replies, ctrl_ep.open)),
        ("full pairing (both sides)", _per_op_us(_full_pairing(suite), batch=10)),
        ("SPAKE2+ alone (both sides, no scrypt)", _per_op_us(_spake_exchange)),
        ("scrypt, code to w0 and w1 (once per side)", _per_op_us(_derive, batch=3)),
    ]


_SPAKE_SECRET = derive_prover_secret(12_345_678, bytes(16))


def _spake_exchange(count: int) -> None:
    """Shares, both key schedules and both confirmation checks."""
    for _ in range(count):
        prover = Prover(_SPAKE_SECRET)
        verifier = Verifier(_SPAKE_SECRET.verifier())
        keys = verifier.respond(b"bench", bytes(16), prover.share)
        confirmed = prover.finish(b"bench", bytes(16), verifier.share, keys.confirm_v)
        check_prover_confirmation(keys, confirmed.confirm_p)


def _derive(count: int) -> None:
    for passcode in range(count):
        derive_prover_secret(passcode + 1, bytes(16))


def machine() -> str:
    """Describe where the numbers come from."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import os  # noqa: PLC0415

    return (
        f"{datetime.now(UTC):%Y-%m-%d}, {cpu}, {os.cpu_count()} CPUs, {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}, cryptography "
        f"{cryptography_version}, {backend.openssl_version_text()}"
    )


def main(argv: list[str]) -> int:
    """Run and print; optionally write the docs section."""
    lines = [
        f"Machine: {machine()}",
        "",
        f"CPU time per operation, median of {REPEATS} repeats (spread = min-max of repeats).",
        "",
        "| suite | frame bytes | operation | median µs | spread µs |",
        "|---|---|---|---|---|",
    ]
    for suite in supported_suites()[::-1]:
        for name, (median, low, high) in measure(suite):
            lines.append(
                f"| {int(suite)} | {frame_size(suite)} | {name} | {median:.0f} | {low:.0f}-{high:.0f} |"
            )
    report = "\n".join(lines)
    print(report)
    if "--write-docs" in argv:
        docs = ROOT / "docs" / "performance.md"
        text = docs.read_text()
        start, end = text.index(BEGIN), text.index(END) + len(END)
        docs.write_text(text[:start] + f"{BEGIN}\n{report}\n{END}" + text[end:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
