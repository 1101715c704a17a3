"""The verifier is independent: it imports nothing from the project."""

from __future__ import annotations

import ast
from pathlib import Path
import sys

PACKAGE = Path(__file__).resolve().parent
ALLOWED_THIRD_PARTY = {"cryptography", "nacl", "pytest"}


def forbidden_imports(source: str) -> list[str]:
    """Return every import that is not stdlib, cryptography, PyNaCl, pytest or this package."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1:
                continue  # a sibling module of this package
            names = [("." * node.level) + (node.module or "")]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and getattr(node.func, "attr", getattr(node.func, "id", ""))
            in {"__import__", "import_module"}
        ):
            names = ["<dynamic import>"]
        else:
            continue
        for name in names:
            root = name.split(".")[0]
            if not (root in sys.stdlib_module_names or root in ALLOWED_THIRD_PARTY):
                found.append(name)
    return found


def test_no_module_of_the_verifier_imports_the_project() -> None:
    """Only the standard library and the crypto libraries' primitives."""
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 8
    for module in modules:
        assert forbidden_imports(module.read_text()) == [], module.name


def test_the_import_rule_catches_project_imports() -> None:
    """The rule itself can fail."""
    assert forbidden_imports("from custom_components.secure_lock import protocol") == [
        "custom_components.secure_lock"
    ]
    assert forbidden_imports("import device_sim.lock_device") == [
        "device_sim.lock_device"
    ]
    assert forbidden_imports("from ..protocol import make_vectors") == ["..protocol"]
    assert forbidden_imports("import importlib\nimportlib.import_module('x')") == [
        "<dynamic import>"
    ]
    assert forbidden_imports("import hashlib\nfrom cryptography import x509") == []
