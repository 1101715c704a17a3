"""The protocol and transport packages never import Home Assistant.

The simulator runs them without Home Assistant, so an import that sneaks in
would break it; these tests fail as soon as one appears.
"""

from __future__ import annotations

import ast
from pathlib import Path
import subprocess
import sys

import pytest

from device_sim.protocol_loader import HA_FREE_PACKAGES

from .conftest import INTEGRATION_DIR, REPO_ROOT


def _homeassistant_imports(folder: Path) -> list[str]:
    """Return `file:line` for each import of homeassistant below a folder."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(
                n == "homeassistant" or n.startswith("homeassistant.") for n in names
            ):
                found.append(f"{path.relative_to(folder)}:{node.lineno}")
    return found


@pytest.mark.parametrize("package", HA_FREE_PACKAGES)
def test_no_homeassistant_import_in_source(package: str) -> None:
    """No module of the package imports homeassistant, even inside a function."""
    assert (INTEGRATION_DIR / package).is_dir()
    assert _homeassistant_imports(INTEGRATION_DIR / package) == []


def test_scanner_finds_a_planted_import(tmp_path: Path) -> None:
    """The source scan catches both import forms, so the test above can fail."""
    (tmp_path / "a.py").write_text("def f():\n    import homeassistant.core\n")
    (tmp_path / "b.py").write_text("from homeassistant.const import Platform\n")
    (tmp_path / "c.py").write_text("from .homeassistant_like import x\n")
    assert _homeassistant_imports(tmp_path) == ["a.py:2", "b.py:1"]


def test_packages_import_without_homeassistant() -> None:
    """Importing every module through the simulator's loader pulls in no Home Assistant."""
    script = (
        "import importlib, pkgutil, sys\n"
        "import device_sim\n"
        f"for name in {HA_FREE_PACKAGES!r}:\n"
        "    package = sys.modules.get('custom_components.secure_lock.' + name)\n"
        "    assert package is not None, name\n"
        "    for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'homeassistant')\n"
        "assert not loaded, loaded\n"
        "assert 'custom_components.secure_lock' not in sys.modules\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_integration_reuses_the_loaded_package() -> None:
    """One module object per package, whichever side imports it first."""
    import custom_components.secure_lock as integration

    for name in HA_FREE_PACKAGES:
        qualified = f"{integration.__name__}.{name}"
        module = sys.modules[qualified]
        assert Path(module.__file__ or "").parent == INTEGRATION_DIR / name
        assert (
            sum(
                1
                for m in sys.modules.values()
                if getattr(m, "__file__", None) == module.__file__
            )
            == 1
        )
