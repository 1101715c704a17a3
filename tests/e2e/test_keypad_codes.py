"""A keypad code set from a real Home Assistant opens the simulated keypad, on schedule only.

The action is called through the REST API as a script or the frontend
would; the lock draws the PIN and the action's response carries it once.
Home Assistant runs with its recorder here, so the test also shows that the
PIN reaches neither its database nor any other file in its configuration
directory.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
import re
from typing import Any

from custom_components.secure_lock.const import DOMAIN
from custom_components.secure_lock.protocol.keypad_codes import WEEKDAYS
from device_sim.keypad import KeypadOutcome

from .hass_process import HassProcess
from .sim_lock import SimulatedLock
from .test_pair_and_operate import pair_through_rest

RECORDER = "recorder:\n  commit_interval: 0\n"


async def _set_code(hass: HassProcess, entry_id: str, **data: object) -> dict[str, Any]:
    answer = await hass.api(
        "POST",
        f"/api/services/{DOMAIN}/set_keypad_code?return_response",
        {"config_entry_id": entry_id, "slot": 1, "name": "Cleaner", **data},
    )
    response: dict[str, Any] = answer["service_response"]
    return response


async def test_a_code_set_in_home_assistant_opens_only_on_schedule(
    tmp_path: Path, hass_bin: Path, sim_lock: SimulatedLock
) -> None:
    """Outside its days the code opens nothing; on them it opens and names itself."""
    config_dir = tmp_path / "config"
    hass = HassProcess(hass_bin, config_dir)
    hass.write_config()
    with (config_dir / "configuration.yaml").open("a", encoding="utf-8") as config:
        config.write(RECORDER)
    await hass.start()
    try:
        await hass.onboard()
        await hass.wait_running()
        await hass.confirm_http_config()
        created = await pair_through_rest(hass, sim_lock)
        entry_id = created["result"]["entry_id"]

        # The e2e Home Assistant runs in UTC: every day but today.
        today = datetime.now(UTC).weekday()
        other_days = [day for n, day in enumerate(WEEKDAYS) if n != today]
        made = await _set_code(
            hass,
            entry_id,
            generate_pin=True,
            weekly=[{"days": other_days, "start": "00:00", "end": "00:00"}],
        )
        pin = made["pin"]
        assert made["slot"] == 1
        assert sim_lock.device.type_on_keypad(pin) is KeypadOutcome.OUTSIDE_SCHEDULE
        assert sim_lock.device.mechanism.status.bolt.name == "LOCKED"

        # Today too: the PIN stays (no generate_pin), the code now opens.
        kept = await _set_code(
            hass,
            entry_id,
            weekly=[{"days": list(WEEKDAYS), "start": "00:00", "end": "00:00"}],
        )
        assert "pin" not in kept
        assert sim_lock.device.type_on_keypad(pin) is KeypadOutcome.UNLOCKED
        state = await hass.wait_state(
            sim_lock.lock_entity,
            lambda s: s["state"] == "unlocked",
            "unlocked by the keypad code",
        )
        assert state["attributes"]["changed_by"] == "Cleaner", state
        activity = await hass.wait_state(
            sim_lock.event_entity,
            lambda s: s["attributes"].get("changed_by") == "Cleaner",
            "the keypad event",
        )
        assert activity["attributes"]["source"] == "keypad", activity

        listing = await hass.api(
            "POST",
            f"/api/services/{DOMAIN}/list_keypad_codes?return_response",
            {"config_entry_id": entry_id},
        )
        (code,) = listing["service_response"]["codes"]
        assert code["name"] == "Cleaner"
        assert code["last_used"] is not None
        assert pin not in str(listing)
    finally:
        await hass.stop()

    assert (config_dir / "home-assistant_v2.db").exists()
    # As its own number: timestamps and ids may hold the 8 digits by chance.
    alone = re.compile(rb"(?<![0-9])" + pin.encode() + rb"(?![0-9])")
    for path in config_dir.rglob("*"):
        if path.is_file():
            assert not alone.search(path.read_bytes()), path
