"""A real Home Assistant process loads the integration from this checkout."""

from __future__ import annotations

from pathlib import Path

from .hass_process import HassProcess


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
        assert hass.refused_connections() == []
    finally:
        await hass.stop()
