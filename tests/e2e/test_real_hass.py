"""A real Home Assistant process loads the integration from this checkout."""

from __future__ import annotations

from pathlib import Path
import sys

import pytest

from .hass_process import REPO_ROOT, HassProcess

# This environment's Home Assistant, and the newest release in its own venv.
HASS_BINARIES = {
    "this-env": Path(sys.executable).with_name("hass"),
    "2026.11": REPO_ROOT / ".venvs" / "ha-2026.11" / "bin" / "hass",
}


@pytest.fixture(params=sorted(HASS_BINARIES), name="hass_bin")
def hass_bin_fixture(request: pytest.FixtureRequest) -> Path:
    """Return the hass executable to run (setup installs both)."""
    path = HASS_BINARIES[request.param]
    assert path.exists(), f"{path} missing: run scripts/setup"
    return path


async def test_hass_starts_onboards_and_knows_the_integration(
    tmp_path: Path, hass_bin: Path, socket_enabled: None
) -> None:
    """Start hass, create the owner through onboarding, find Secure Lock's manifest loaded."""
    hass = HassProcess(hass_bin, tmp_path / "config")
    await hass.start()
    try:
        await hass.onboard()
        await hass.wait_running()
        handlers = await hass.api("GET", "/api/config/config_entries/flow_handlers")
        assert isinstance(handlers, list)
        assert "custom integration secure_lock" in hass.log
        assert "Error" not in "\n".join(
            line for line in hass.log.splitlines() if "secure_lock" in line
        )
    finally:
        await hass.stop()
