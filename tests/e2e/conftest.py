"""Fixtures for end-to-end tests: which `hass` to run, a simulated lock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
import sys

from homeassistant.const import __version__ as HA_VERSION
import pytest

from .hass_process import REPO_ROOT
from .sim_lock import SimulatedLock


def _runs_on_minimum() -> bool:
    """Return whether this environment holds the minimum supported release."""
    pins = (REPO_ROOT / "requirements" / "minimum.txt").read_text(encoding="utf-8")
    return f"homeassistant=={HA_VERSION}" in pins.split()


# This environment's Home Assistant, and the newest release in its own venv.
# The newest one does not depend on the environment running the tests, so
# only one run starts it: the minimum environment's, which is the lighter of
# the two that scripts/test runs side by side (the latest one measures coverage).
HASS_BINARIES = {"this-env": Path(sys.executable).with_name("hass")}
if _runs_on_minimum():
    HASS_BINARIES["2026.11"] = REPO_ROOT / ".venvs" / "ha-2026.11" / "bin" / "hass"


@pytest.fixture(params=sorted(HASS_BINARIES), name="hass_bin")
def hass_bin_fixture(request: pytest.FixtureRequest) -> Path:
    """Return the hass executable to run (setup installs both)."""
    path = HASS_BINARIES[request.param]
    assert path.exists(), f"{path} missing: run scripts/setup"
    return path


@pytest.fixture
async def sim_lock(
    tmp_path: Path, socket_enabled: None
) -> AsyncIterator[SimulatedLock]:
    """Run a simulated lock on 127.0.0.1 (a free port) in the test's event loop."""
    lock = SimulatedLock(tmp_path / "lock")
    await lock.start()
    try:
        yield lock
    finally:
        await lock.stop()
