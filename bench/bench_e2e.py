"""End-to-end latency inside Home Assistant: ``python bench/bench_e2e.py``.

Runs bench/e2e_cases.py under pytest (the pytest-homeassistant-custom-component
harness, the real simulator, a real Mosquitto; mechanism time 0) and prints:

* service call -> signed confirmation -> entity state, over the LAN and over
  the broker (the service call is ``blocking=True``: it returns once the
  lock's signed result is in the state machine);
* the raw MQTT round trip through the same Mosquitto in the same run, and
  the broker path's ratio to it;
* CPU per service call of each process apart: Home Assistant's (the
  controller side: the integration, its client and link), the simulated
  lock's (bench/e2e_lock.py runs it in a process of its own, as a real lock
  has its own CPU) and Mosquitto's;
* pairing time (both sides, over the LAN) and integration setup time per lock
  (loading one config entry until its entities exist).

Options: ``--rounds N`` service calls per path (default 100).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile

ROOT = Path(__file__).resolve().parents[1]


def _row(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return (
        f"| {name} | {len(samples)} | {statistics.median(samples):.1f} | {p99:.1f} "
        f"| {ordered[0]:.1f}-{ordered[-1]:.1f} |"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the cases and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "samples.json")
        env = os.environ | {
            "SECURE_LOCK_BENCH_OUT": str(out),
            "SECURE_LOCK_BENCH_ROUNDS": str(args.rounds),
        }
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                str(ROOT / "bench" / "e2e_cases.py"),
            ],
            cwd=ROOT,
            env=env,
            check=True,
        )
        samples: dict[str, list[float]] = json.loads(out.read_text())
    lines = [
        "| measurement | n | p50 ms | p99 ms | min-max ms |",
        "|---|---|---|---|---|",
        *(_row(name, values) for name, values in samples.items()),
    ]
    raw = statistics.median(samples["raw MQTT round trip (same broker, same loop)"])
    lines.append("")
    for name, values in samples.items():
        if name.endswith("service call to signed entity state"):
            ratio = statistics.median(values) / raw
            lines.append(f"- {name}: p50 / raw MQTT p50 = {ratio:.0f}x")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
