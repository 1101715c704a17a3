"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

# Registers the integration's Home-Assistant-free packages (protocol,
# transport) under their canonical names before any test imports them.
import device_sim  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parent.parent
INTEGRATION_DIR = REPO_ROOT / "custom_components" / "secure_lock"


@pytest.fixture(name="integration_dir")
def integration_dir_fixture() -> Path:
    """Return the integration's folder."""
    return INTEGRATION_DIR
