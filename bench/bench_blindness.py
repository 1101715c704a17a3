"""What a relay can tell from counts, timing and routing ids: ``python bench/bench_blindness.py``.

Runs the simulated lock on a manual clock (tests/sim/traffic_capture.py:
three controllers, motor 1 s, hold 3 s, auto-relock 20 s) and sends lock,
unlock and open from each controller, ``--rounds`` times, each from a
random starting state (bolt thrown or not) after a random idle time.  The
relay's log of each command is its feature vector: every envelope's time
since the command (to the millisecond), its direction, and its routing id,
in order.  That is more than counts, timing and routing ids separately: any
classifier on those is a function of this vector.

The classifier: trained on half of the rounds, it answers, for a feature
vector, the label seen most often with it (ties: the first in sorted
order; unseen vectors: the most common label), which is the best any
classifier can do on these features.  Scored on the other half against
chance, for the command (lock, unlock, open) and for the sender.  A
control row asks it to tell a motor command from a status request, which
the relay can (one frame back instead of six per controller): a
classifier that scored at chance there would be broken, not blind.

``--write-docs`` puts the table into docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter, defaultdict
from collections.abc import Hashable
from pathlib import Path
import random
import sys
import tempfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# isort: split

from custom_components.secure_lock.controller import LockClient  # noqa: E402
import device_sim  # noqa: F401, E402  (registers the protocol package without Home Assistant)
from tests.sim.traffic_capture import STEP_S, chance, shaped_lock  # noqa: E402

BEGIN = "<!-- bench:begin (python bench/bench_blindness.py --write-docs) -->"
END = "<!-- bench:end blindness -->"
COMMANDS = {
    "lock": LockClient.lock,
    "unlock": LockClient.unlock,
    "open": LockClient.open,
}

Sample = tuple[Hashable, str]


def train_and_score(train: list[Sample], test: list[Sample]) -> float:
    """Return the accuracy on ``test`` of the majority-per-feature classifier trained on ``train``."""
    by_features: dict[Hashable, Counter[str]] = defaultdict(Counter)
    for features, label in train:
        by_features[features][label] += 1
    fallback = Counter(label for _, label in train).most_common(1)[0][0]

    def predict(features: Hashable) -> str:
        counts = by_features.get(features)
        if not counts:
            return fallback
        best = max(counts.values())
        return min(label for label, n in counts.items() if n == best)

    return sum(predict(f) == label for f, label in test) / len(test)


async def collect(rounds: int, seed: int) -> dict[str, list[list[Sample]]]:
    """Return, per label kind, the samples of each round."""
    rng = random.Random(seed)  # noqa: S311  (the schedule of a benchmark, not a secret)
    with tempfile.TemporaryDirectory() as directory:
        shaped = await shaped_lock(Path(directory))
        per_round: dict[str, list[list[Sample]]] = {
            "command (lock, unlock, open)": [],
            "sender (of three controllers)": [],
            "control: motor command or status request": [],
        }
        try:
            for _ in range(rounds):
                by_command: list[Sample] = []
                by_sender: list[Sample] = []
                control: list[Sample] = []
                for sender, client in shaped.clients.items():
                    status = await shaped.observe(client.status())
                    control.append((status, "status"))
                    for command, call in COMMANDS.items():
                        shaped.rig.device.mechanism.turn_by_hand(
                            lock=rng.random() < 0.5
                        )
                        idle = STEP_S * rng.randrange(0, 20)
                        await shaped.run(asyncio.sleep(0), seconds=idle)
                        view = await shaped.observe(call(client))
                        by_command.append((view, command))
                        by_sender.append((view, sender))
                        control.append((view, "motor"))
                for name, samples in zip(
                    per_round, (by_command, by_sender, control), strict=True
                ):
                    per_round[name].append(samples)
        finally:
            await shaped.close()
    return per_round


def report(per_round: dict[str, list[list[Sample]]]) -> str:
    """Return the Markdown table of accuracy against chance."""
    lines = [
        "| what the relay guesses | commands scored | classifier accuracy | chance |",
        "|---|---|---|---|",
    ]
    for what, rounds in per_round.items():
        half = len(rounds) // 2
        train = [s for r in rounds[:half] for s in r]
        test = [s for r in rounds[half:] for s in r]
        lines.append(
            f"| {what} | {len(test)} | {100 * train_and_score(train, test):.1f} % "
            f"| {100 * chance(test):.1f} % |"
        )
    motor = next(iter(per_round.values()))
    distinct = len({features for r in motor for features, _ in r})
    lines.append("")
    lines.append(
        f"Distinct feature vectors among all {sum(len(r) for r in motor)} "
        f"lock, unlock and open commands: {distinct}."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run, print, and optionally write the docs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    text = report(asyncio.run(collect(args.rounds, args.seed)))
    print(text)
    if args.write_docs:
        docs = ROOT / "docs" / "performance.md"
        page = docs.read_text()
        start, end = page.index(BEGIN), page.index(END) + len(END)
        docs.write_text(page[:start] + f"{BEGIN}\n{text}\n{END}" + page[end:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
