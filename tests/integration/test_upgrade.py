"""A lock and a Home Assistant entry paired with the long setup codes keep working.

`tests/fixtures/before_short_codes/` holds what the version before short
codes left behind after a real pairing: the simulated lock's sealed flash
(with its 96-character label) and the config entry's data.
"""

from __future__ import annotations

import json
from pathlib import Path
import shutil

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from custom_components.secure_lock.controller.links import LinkSettings
from custom_components.secure_lock.entry_data import load_identity
from custom_components.secure_lock.protocol import ControllerIdentity, SetupCode
from custom_components.secure_lock.protocol.registry import PairedLock
from custom_components.secure_lock.protocol.setup_code import discriminator_of
from device_sim.lock_runtime import LockRuntime, RuntimeOptions
from device_sim.secure_element import SETUP_RECORD
from tests.sim.helpers import wait_until

from .conftest import FAST, add_lock_entry

FIXTURE = Path(__file__).parents[1] / "fixtures" / "before_short_codes"


async def test_a_long_code_pairing_keeps_working_and_the_lock_gets_a_short_label(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """The lock boots with the same keys and controller, a new 11-digit label; the entry opens it."""
    state = tmp_path / "lock"
    state.mkdir(mode=0o700)
    for record in FIXTURE.iterdir():
        if record.name != "entry_data.json":
            shutil.copy2(record, state / record.name)
            (state / record.name).chmod(0o600)
    old_label = (state / f"{SETUP_RECORD}.sealed").read_bytes()
    data = json.loads((FIXTURE / "entry_data.json").read_text(encoding="utf-8"))
    lock_id = bytes.fromhex(data["lock_id"])

    runtime = LockRuntime(
        RuntimeOptions(
            state_dir=state, device=FAST, lan=("127.0.0.1", 0), admin_socket=False
        )
    )
    await runtime.start()
    try:
        device = runtime.device
        assert device is not None and runtime.lan is not None
        assert device.lock_id == lock_id
        label = device.element.label_code
        typed = SetupCode.parse(label.manual_code())
        assert typed.discriminator == discriminator_of(lock_id)
        assert label.pin is not None and label.pin.lock_id == lock_id
        assert (state / f"{SETUP_RECORD}.sealed").read_bytes() != old_label

        entry = add_lock_entry(
            hass,
            LinkSettings(lock_id, lan_url=runtime.lan.url),
            ControllerIdentity.from_bytes(bytes.fromhex(data["identity"])),
            PairedLock.from_bytes(bytes.fromhex(data["paired_lock"])),
        )
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        # Keys that aged since the fixture was made are exchanged first (signed).
        await wait_until(lambda: entry.runtime_data.lock.rotation.prekey_announced)
        await hass.services.async_call(
            "lock", "unlock", {"entity_id": "lock.front_door"}, blocking=True
        )
        assert hass.states.get("lock.front_door").state == "unlocked"
        assert load_identity(entry).key_id in device.state.registry.records
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await runtime.stop()
