"""The per-module coverage gate fails when any single module drops below the bar."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).resolve().parent.parent
GATE = ROOT / "scripts" / "coverage_gate.py"


def _report(tmp_path: Path, files: dict[str, tuple[int, int]]) -> Path:
    """Write a minimal ``coverage json`` report: path -> (statements, missing)."""
    report = {
        "files": {
            path: {"summary": {"num_statements": stmts, "missing_lines": missing}}
            for path, (stmts, missing) in files.items()
        }
    }
    target = tmp_path / "coverage.json"
    target.write_text(json.dumps(report))
    return target


def _gate(report: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GATE), str(report), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_passes_when_every_module_is_covered(tmp_path: Path) -> None:
    """95 % exactly passes; files outside the integration and empty files are fine."""
    report = _report(
        tmp_path,
        {
            "custom_components/secure_lock/a.py": (100, 5),
            "custom_components/secure_lock/empty.py": (0, 0),
            "device_sim/ignored.py": (10, 10),
        },
    )
    result = _gate(report)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 2 modules" in result.stdout


def test_one_module_below_fails_even_if_the_total_passes(tmp_path: Path) -> None:
    """A 94 % module fails the gate although the total is far above 95 %."""
    report = _report(
        tmp_path,
        {
            "custom_components/secure_lock/big.py": (10_000, 0),
            "custom_components/secure_lock/protocol/weak.py": (100, 6),
        },
    )
    result = _gate(report)
    assert result.returncode == 1
    assert "protocol/weak.py: 94.0 %" in result.stdout
    assert "big.py" not in result.stdout
    assert _gate(report, "--min", "94").returncode == 0


def test_unreadable_or_empty_report_fails(tmp_path: Path) -> None:
    """No data is never a pass."""
    assert _gate(tmp_path / "missing.json").returncode == 2
    assert _gate(_report(tmp_path, {})).returncode == 2
    other = _report(tmp_path, {"device_sim/x.py": (1, 0)})
    assert _gate(other).returncode == 2
