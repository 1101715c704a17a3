"""Fail unless every module of the integration has at least the required line coverage.

coverage's ``fail_under`` only checks the total, so one poorly tested module
can hide behind many well tested ones.  This reads the JSON report
(``coverage json``) and checks each file on its own, by line coverage
(statements run / statements); branch coverage counts towards the total only.

    python scripts/coverage_gate.py coverage.json [--min 95] [--prefix custom_components/secure_lock/]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import json
from pathlib import Path
import sys

DEFAULT_MINIMUM = 95.0
DEFAULT_PREFIX = "custom_components/secure_lock/"


@dataclass(frozen=True, slots=True)
class ModuleCoverage:
    """Line coverage of one file."""

    path: str
    statements: int
    missing: int

    @property
    def percent(self) -> float:
        """Return statements run as a percentage (an empty module counts as 100)."""
        if not self.statements:
            return 100.0
        return 100.0 * (self.statements - self.missing) / self.statements


def read_report(report: dict[str, object], prefix: str) -> list[ModuleCoverage]:
    """Return the modules under ``prefix`` from a parsed ``coverage json`` report."""
    files = report.get("files")
    if not isinstance(files, dict) or not files:
        raise ValueError("coverage report lists no files")
    modules = []
    for path, data in files.items():
        if not path.startswith(prefix):
            continue
        summary = data["summary"]
        modules.append(
            ModuleCoverage(path, summary["num_statements"], summary["missing_lines"])
        )
    if not modules:
        raise ValueError(f"coverage report has no file under {prefix}")
    return sorted(modules, key=lambda module: module.path)


def below(modules: list[ModuleCoverage], minimum: float) -> list[ModuleCoverage]:
    """Return the modules whose line coverage is under ``minimum``."""
    return [module for module in modules if module.percent < minimum]


def main(argv: list[str] | None = None) -> int:
    """Check the report; print the offenders and return 1 if there are any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--min", type=float, default=DEFAULT_MINIMUM)
    parser.add_argument("--prefix", default=DEFAULT_PREFIX)
    args = parser.parse_args(argv)
    try:
        modules = read_report(json.loads(args.report.read_text()), args.prefix)
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f"[coverage] cannot read {args.report}: {err}", file=sys.stderr)
        return 2
    failing = below(modules, args.min)
    for module in failing:
        print(
            f"[coverage] {module.path}: {module.percent:.1f} % of lines "
            f"({module.missing} of {module.statements} not run), needs {args.min:g} %"
        )
    if failing:
        return 1
    print(
        f"[coverage] all {len(modules)} modules have at least {args.min:g} % line coverage"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
