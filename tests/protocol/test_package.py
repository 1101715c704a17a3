"""Package hygiene: no Home Assistant, relative imports only, documented API."""

from __future__ import annotations

import ast
from pathlib import Path
import sys

# A "from" import resolves straight from sys.modules, where device_sim put the
# package, so the integration's __init__ (Home Assistant) never runs here.
from custom_components.secure_lock.protocol import __all__ as PUBLIC_NAMES, errors

PACKAGE = Path(errors.__file__).parent


def test_no_home_assistant_and_only_relative_imports_inside() -> None:
    """The simulator imports this package without Home Assistant installed."""
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    continue
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.startswith("homeassistant"), path.name
                assert not name.startswith("custom_components"), path.name


def test_public_api_is_exported() -> None:
    """Everything in ``__all__`` exists."""
    protocol = sys.modules["custom_components.secure_lock.protocol"]
    for name in PUBLIC_NAMES:
        assert hasattr(protocol, name), name


def test_both_suites_available_on_supported_home_assistant() -> None:
    """Cryptography >= 48 (HA 2026.6+) has HPKE with ML-KEM: no suite test is ever skipped here."""
    from custom_components.secure_lock.protocol import SuiteId, supported_suites  # noqa: PLC0415

    assert set(supported_suites()) == set(SuiteId)
