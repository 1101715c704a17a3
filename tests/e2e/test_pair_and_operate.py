"""Pair a real Home Assistant process with a simulated lock, operate it, restart both.

Everything goes through Home Assistant's REST API the way the frontend does:
the config flow (menu, address and setup code, button press, pairing), the
lock services, the states.  After a restart of Home Assistant and a power
cycle of the lock, the stored keys and counters must still work: a lost
counter would make the lock reject every command as a replay.
"""

from __future__ import annotations

from collections.abc import Callable
import json
from pathlib import Path
from typing import Any

from custom_components.secure_lock.const import CONTROLLER_NAME, DOMAIN
from custom_components.secure_lock.protocol import PairedLock
from device_sim.broker import MosquittoBroker
from device_sim.lock_runtime import BrokerSettings as LockBroker
from device_sim.pki import DevCertificateAuthority

from .hass_process import HassProcess
from .sim_lock import SimulatedLock

RELAY_ACCOUNT = "homeassistant-1"
RELAY_PASSWORD = "correct horse battery staple"


async def pair_through_rest(hass: HassProcess, lock: SimulatedLock) -> dict[str, Any]:
    """Run the config flow like a user: LAN, address and code, press, submit."""
    flow = await hass.api(
        "POST",
        "/api/config/config_entries/flow",
        {"handler": DOMAIN, "show_advanced_options": False},
    )
    assert flow["type"] == "menu", flow
    assert set(flow["menu_options"]) == {"lan", "broker"}
    step = f"/api/config/config_entries/flow/{flow['flow_id']}"
    form = await hass.api("POST", step, {"next_step_id": "lan"})
    assert (form["type"], form["step_id"]) == ("form", "lan"), form

    # A typo in the setup code is caught before anything is sent to the lock.
    wrong = await hass.api(
        "POST", step, {"address": lock.address, "setup_code": "not a code"}
    )
    assert wrong["errors"] == {"setup_code": "invalid_setup_code"}, wrong

    pair = await hass.api(
        "POST", step, {"address": lock.address, "setup_code": lock.setup_code}
    )
    assert (pair["type"], pair["step_id"]) == ("form", "pair"), pair

    # Submitting before the button press gets no answer from the lock (it
    # says nothing while pairing is closed): tests/integration's
    # test_button_not_pressed covers that with a short timeout.
    lock.device.press_button()
    created: dict[str, Any] = await hass.api("POST", step, {})
    assert created["type"] == "create_entry", created
    assert created["title"] == f"Secure Lock {lock.lock_id[:8]}"
    return created


def has_state(expected: str) -> Callable[[dict[str, Any]], bool]:
    """Return a check for an entity's state."""
    return lambda state: state["state"] == expected


def has_event(expected: str) -> Callable[[dict[str, Any]], bool]:
    """Return a check for the event entity's last event type."""
    return lambda state: state["attributes"].get("event_type") == expected


async def operate(hass: HassProcess, lock: SimulatedLock) -> None:
    """Unlock, open, lock through the services; a keypad code at the door."""
    entity = lock.lock_entity
    await hass.wait_state(entity, lambda s: s["state"] == "locked", "locked")
    for service, final, event in (
        ("unlock", "unlocked", "unlocked"),
        ("open", "open", "opened"),
        ("lock", "locked", "locked"),
    ):
        await hass.api("POST", f"/api/services/lock/{service}", {"entity_id": entity})
        state = await hass.wait_state(entity, has_state(final), final)
        assert state["attributes"]["changed_by"] == CONTROLLER_NAME, state
        activity = await hass.wait_state(
            lock.event_entity, has_event(event), f"event {event}"
        )
        assert activity["attributes"]["source"] == "controller", activity
        assert activity["attributes"]["changed_by"] == CONTROLLER_NAME, activity
    assert lock.device.mechanism.status.bolt.name == "LOCKED"

    # Someone at the door: the lock's signed event reaches the real process.
    lock.device.mechanism.keypad(lock=False)
    state = await hass.wait_state(
        entity, lambda s: s["state"] == "unlocked", "unlocked by keypad"
    )
    assert state["attributes"]["changed_by"] == "keypad", state
    activity = await hass.wait_state(
        lock.event_entity,
        lambda s: s["attributes"].get("source") == "keypad",
        "a keypad event",
    )
    assert activity["attributes"]["event_type"] == "unlocked", activity
    await hass.api("POST", "/api/services/lock/lock", {"entity_id": entity})
    await hass.wait_state(entity, lambda s: s["state"] == "locked", "locked again")


def stored_record(config_dir: Path, entry_id: str) -> PairedLock:
    """Return the lock record (public key, counters) Home Assistant stored."""
    path = config_dir / ".storage" / f"{DOMAIN}.{entry_id}"
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return PairedLock.from_bytes(bytes.fromhex(data["paired_lock"]))


async def test_pair_operate_and_survive_restart(
    tmp_path: Path, hass_bin: Path, sim_lock: SimulatedLock
) -> None:
    """Pair through the API, operate, restart hass and the lock, operate again."""
    hass = HassProcess(hass_bin, tmp_path / "config")
    await hass.start()
    try:
        await hass.onboard()
        await hass.wait_running()
        await hass.confirm_http_config()
        created = await pair_through_rest(hass, sim_lock)
        entry_id = created["result"]["entry_id"]
        await operate(hass, sim_lock)

        await hass.stop()
        first = stored_record(tmp_path / "config", entry_id)
        # Counters and prekeys live in a private store beside the entry.
        store = tmp_path / "config" / ".storage" / f"{DOMAIN}.{entry_id}"
        assert store.exists(), f"no session store at {store}"
        assert store.stat().st_mode & 0o077 == 0, oct(store.stat().st_mode)
        await sim_lock.restart()

        await hass.start()
        await hass.login()
        await hass.wait_running()
        entries = await hass.api(
            "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
        )
        assert [(e["entry_id"], e["state"]) for e in entries] == [
            (entry_id, "loaded")
        ], entries
        await operate(hass, sim_lock)
        await hass.stop()
        second = stored_record(tmp_path / "config", entry_id)
        # The stored record stays pinned to the paired lock and moves forward.
        # (The counters follow the clock, so a deleted store still works after
        # a restart: this test shows the store is kept and used, not needed.)
        assert second.lock_id.hex() == sim_lock.lock_id
        assert second.bundle.key_id == first.bundle.key_id
        assert second.last_sent_counter > first.last_sent_counter
        assert second.lock_high_water > first.lock_high_water
        assert "Error" not in "\n".join(
            line for line in hass.log.splitlines() if "secure_lock" in line
        ), hass.log_tail()
        assert hass.refused_connections() == []
    finally:
        await hass.stop()


async def test_pair_through_the_relay_by_typed_digits(
    socket_enabled: None,
    tmp_path: Path,
    hass_bin: Path,
    broker: MosquittoBroker,
    ca: DevCertificateAuthority,
) -> None:
    """A lock only on the broker: the real process finds it by the 11 digits and pairs."""
    lock = SimulatedLock(
        tmp_path / "relay-lock",
        relay=LockBroker("127.0.0.1", broker.lock_port, broker.ca_file),
        factory_ca=ca,
    )
    await lock.start()
    broker.add_controller(RELAY_ACCOUNT, RELAY_PASSWORD, [lock.lock_id])
    hass = HassProcess(hass_bin, tmp_path / "config")
    await hass.start()
    try:
        await hass.onboard()
        await hass.wait_running()
        await hass.confirm_http_config()
        flow = await hass.api(
            "POST",
            "/api/config/config_entries/flow",
            {"handler": DOMAIN, "show_advanced_options": False},
        )
        step = f"/api/config/config_entries/flow/{flow['flow_id']}"
        form = await hass.api("POST", step, {"next_step_id": "broker"})
        assert (form["type"], form["step_id"]) == ("form", "broker"), form
        pair = await hass.api(
            "POST",
            step,
            {
                "broker_url": f"mqtts://127.0.0.1:{broker.controller_port}",
                "broker_ca": broker.ca_file.read_text(encoding="utf-8"),
                "username": RELAY_ACCOUNT,
                "password": RELAY_PASSWORD,
                "setup_code": lock.setup_code,
            },
        )
        assert (pair["type"], pair["step_id"]) == ("form", "pair"), pair
        lock.device.press_button()
        created = await hass.api("POST", step, {})
        assert created["type"] == "create_entry", created
        assert created["title"] == f"Secure Lock {lock.lock_id[:8]}"
        entity = lock.lock_entity
        await hass.wait_state(entity, has_state("locked"), "locked")
        await hass.api("POST", "/api/services/lock/unlock", {"entity_id": entity})
        await hass.wait_state(entity, has_state("unlocked"), "unlocked")
        assert lock.device.mechanism.status.bolt.name == "UNLOCKED"
        assert hass.refused_connections() == []
    finally:
        await hass.stop()
        await lock.stop()
