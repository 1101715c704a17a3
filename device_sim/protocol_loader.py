"""Make the integration's Home-Assistant-free packages importable on their own.

The protocol and transport code live inside ``custom_components/secure_lock``
because HACS ships only the integration folder.  Importing them the usual way
would execute ``custom_components/secure_lock/__init__.py`` and with it Home
Assistant.  Instead each package is registered in ``sys.modules`` under its one
canonical name (``custom_components.secure_lock.<name>``), straight from its
folder.  Python resolves the package's own relative imports through that entry,
and a process that later loads the integration (the tests run both in one
process) reuses the same module objects, so no module is ever loaded twice
under two names and exception classes and enums stay identical on both sides.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
import sys
from types import ModuleType

INTEGRATION_PACKAGE = "custom_components.secure_lock"
INTEGRATION_DIR = (
    Path(__file__).resolve().parent.parent / "custom_components" / "secure_lock"
)

# Subpackages of the integration that never import Home Assistant.
HA_FREE_PACKAGES = ("protocol", "transport", "controller")


def load_ha_free_package(name: str) -> ModuleType:
    """Return ``custom_components.secure_lock.<name>``, registering it once if needed."""
    if name not in HA_FREE_PACKAGES:
        raise ValueError(f"{name!r} is not a Home-Assistant-free package")
    qualified = f"{INTEGRATION_PACKAGE}.{name}"
    if (module := sys.modules.get(qualified)) is not None:
        return module
    folder = INTEGRATION_DIR / name
    spec = importlib.util.spec_from_file_location(
        qualified, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    if spec is None or spec.loader is None:  # pragma: no cover - broken checkout
        raise ImportError(f"package {qualified} not found at {folder}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[qualified]
        raise
    return module


def load_all() -> None:
    """Register every Home-Assistant-free package that exists in this checkout."""
    for name in HA_FREE_PACKAGES:
        if (INTEGRATION_DIR / name / "__init__.py").exists():
            load_ha_free_package(name)
