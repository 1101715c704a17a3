"""Firmware update entity: only verified releases are offered; install with progress.

The lock is the real simulator with a release key baked in; releases are real
signed release directories written with the manufacturer tooling.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
import logging
from pathlib import Path
import shutil
import time
from typing import Any
from unittest.mock import patch

from homeassistant.components.update import (
    ATTR_IN_PROGRESS,
    ATTR_INSTALLED_VERSION,
    ATTR_LATEST_VERSION,
    ATTR_RELEASE_SUMMARY,
    ATTR_UPDATE_PERCENTAGE,
    UpdateEntityFeature,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_SUPPORTED_FEATURES,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    Platform,
)
from homeassistant.core import Context, Event, EventStateChangedData, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, Unauthorized
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_fire_time_changed,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.secure_lock.const import (
    CONF_MODEL,
    CONF_RELEASE_FOLDER,
    CONF_RELEASE_KEY,
    DEFAULT_MODEL,
    DOMAIN,
    FIRMWARE_CHECK_INTERVAL,
)
from custom_components.secure_lock.controller.firmware import IMAGE_FILE, MANIFEST_FILE
from custom_components.secure_lock.entry_data import credential_data
from custom_components.secure_lock.firmware_source import (
    ReleaseFolderError,
    pick_release,
    scan_releases,
)
from custom_components.secure_lock.protocol import (
    ControllerIdentity,
    FirmwareVersion,
    PairedLock,
    Role,
)
from custom_components.secure_lock.protocol.firmware import ReleaseSigningKey
from custom_components.secure_lock.protocol.rng import DeterministicRng
from custom_components.secure_lock.update import _summary
from device_sim.lock_device import DeviceConfig
from device_sim.lock_runtime import LockRuntime, RuntimeOptions
from device_sim.mechanism import MechanismConfig
from device_sim.release_tool import build_test_release, publish
from tests.sim.helpers import wait_until

from .conftest import MODEL, SimLock, open_settings, pair_controller

UPDATE = "update.front_door_firmware"
IMAGE_SIZE = 30_000
"""Two windows of chunks in suite 2: the progress has a step between 0 and 100."""


@pytest.fixture(scope="module")
def release_key() -> ReleaseSigningKey:
    """Return the manufacturer's release key (Ed25519 + ML-DSA-65)."""
    return ReleaseSigningKey.generate()


@pytest.fixture
def device_config(
    request: pytest.FixtureRequest, release_key: ReleaseSigningKey
) -> DeviceConfig:
    """Return a lock on factory firmware 1.0.0 that trusts ``release_key``.

    Tests change fields with indirect parametrization (a dict of overrides).
    """
    overrides: dict[str, Any] = getattr(request, "param", {})
    return replace(
        DeviceConfig(
            model=MODEL,
            mechanism=MechanismConfig(motor_seconds=0, open_hold_seconds=600),
            release_key=release_key.public_key(),
            reboot_seconds=0,
        ),
        **overrides,
    )


@pytest.fixture
async def sim_lock(
    hass: HomeAssistant, tmp_path: Path, device_config: DeviceConfig
) -> AsyncIterator[SimLock]:
    """Run the LAN lock of conftest, with a release key (same ids as there)."""
    runtime = LockRuntime(
        RuntimeOptions(
            state_dir=tmp_path / "lock",
            device=device_config,
            lan=("127.0.0.1", 0),
            admin_socket=False,
            rng=DeterministicRng(b"secure lock test lock"),
        )
    )
    await runtime.start()
    yield SimLock(runtime)
    await runtime.stop()


@pytest.fixture
def releases(tmp_path: Path) -> Path:
    """Return the (empty) release folder on the Home Assistant host."""
    folder = tmp_path / "releases"
    folder.mkdir()
    return folder


@pytest.fixture
def firmware_entry(
    hass: HomeAssistant,
    paired_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
) -> MockConfigEntry:
    """Return the paired entry with the release folder and key configured."""
    hass.config_entries.async_update_entry(
        paired_entry,
        options={
            CONF_RELEASE_FOLDER: str(releases),
            CONF_RELEASE_KEY: release_key.public_key().to_text(),
        },
    )
    return paired_entry


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def _set_up_instead(
    hass: HomeAssistant,
    admin_entry: MockConfigEntry,
    identity: ControllerIdentity,
    paired_lock: PairedLock,
) -> MockConfigEntry:
    """Set up another controller's entry for the same lock, with the same options.

    One lock, one entry: the admin's goes before the other one is set up.
    """
    assert await hass.config_entries.async_remove(admin_entry.entry_id)
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=f"{paired_lock.role.name.lower()} entry",
        title="Front door",
        data={**admin_entry.data, **credential_data(identity, paired_lock)},
        options=dict(admin_entry.options),
    )
    entry.add_to_hass(hass)
    await _setup(hass, entry)
    return entry


@pytest.fixture
async def setup_entry(
    hass: HomeAssistant, firmware_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """Set the configured entry up; unload it after the test."""
    await _setup(hass, firmware_entry)
    yield firmware_entry
    if firmware_entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(firmware_entry.entry_id)
        await hass.async_block_till_done()


def make_release(
    folder: Path,
    key: ReleaseSigningKey,
    version: str,
    *,
    security_version: int = 0,
    model: str = MODEL,
    notes: str | None = None,
    size: int = IMAGE_SIZE,
    name: str | None = None,
    min_version: str = "0.0.0",
) -> Path:
    """Sign a generated image and publish it as ``folder/<version>``."""
    signed, image = build_test_release(
        key,
        version,
        model=model,
        size=size,
        security_version=security_version,
        min_version=min_version,
        notes=notes,
    )
    return publish(folder / (name or version), signed, image)


def _state(hass: HomeAssistant) -> Any:
    state = hass.states.get(UPDATE)
    assert state is not None
    return state


def _issue(hass: HomeAssistant, kind: str, lock: SimLock) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{kind}_{lock.lock_id}")


async def _install(hass: HomeAssistant, context: Context | None = None) -> None:
    await hass.services.async_call(
        "update", "install", {"entity_id": UPDATE}, blocking=True, context=context
    )


async def test_no_source_configured_no_entity(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Without a release folder and key there is nothing to offer: no update entity."""
    assert hass.states.get(UPDATE) is None
    assert hass.states.get("lock.front_door") is not None


@pytest.mark.usefixtures("setup_entry")
async def test_no_release_no_update(hass: HomeAssistant, sim_lock: SimLock) -> None:
    """An empty folder: the installed version is the lock's, and nothing is offered."""
    state = _state(hass)
    assert state.state == STATE_OFF
    assert state.attributes[ATTR_INSTALLED_VERSION] == "1.0.0"
    assert state.attributes[ATTR_LATEST_VERSION] == "1.0.0"
    assert _issue(hass, "security_update", sim_lock) is None
    assert _issue(hass, "release_rejected", sim_lock) is None


async def test_verified_release_is_offered_with_notes(
    hass: HomeAssistant,
    *,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    hass_ws_client: WebSocketGenerator,
    firmware_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
) -> None:
    """A newer release signed with the release key: update on, summary and notes shown."""
    make_release(releases, release_key, "1.0.0")  # what runs now: not offered
    make_release(
        releases,
        release_key,
        "1.1.0",
        notes="Faster unlocking.\n\nThe motor now starts 40 ms earlier.",
    )
    with patch("custom_components.secure_lock.PLATFORMS", [Platform.UPDATE]):
        await _setup(hass, firmware_entry)
    await snapshot_platform(hass, entity_registry, snapshot, firmware_entry.entry_id)
    state = _state(hass)
    assert state.state == STATE_ON
    assert state.attributes[ATTR_LATEST_VERSION] == "1.1.0"
    assert state.attributes[ATTR_RELEASE_SUMMARY] == "Faster unlocking."

    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "update/release_notes", "entity_id": UPDATE}
    )
    result = await client.receive_json()
    assert result["result"] == (
        "Faster unlocking.\n\nThe motor now starts 40 ms earlier."
    )
    assert await hass.config_entries.async_unload(firmware_entry.entry_id)


async def test_install_shows_progress_and_the_lock_reports_the_new_version(
    hass: HomeAssistant,
    *,
    sim_lock: SimLock,
    setup_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Offer, transfer (0 → part → 100 %), install without a percentage, then 1.1.0 signed."""
    make_release(releases, release_key, "1.1.0")
    await _recheck(hass)
    await wait_until(lambda: _state(hass).state == STATE_ON)

    seen: list[tuple[bool, float | None]] = []

    def record(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        assert new is not None
        seen.append(
            (new.attributes[ATTR_IN_PROGRESS], new.attributes[ATTR_UPDATE_PERCENTAGE])
        )

    unsub = async_track_state_change_event(hass, [UPDATE], record)
    await _install(hass)
    unsub()

    in_progress = [percent for busy, percent in seen if busy]
    transfer = [p for p in in_progress if p is not None]
    assert transfer[0] == 0
    assert transfer == sorted(transfer)
    assert any(0 < p < 100 for p in transfer)
    assert transfer[-1] == 100
    assert in_progress[-1] is None  # installing: the lock reboots and self-checks
    assert seen[-1][0] is False

    assert sim_lock.device.firmware.running_version == "1.1.0"
    state = _state(hass)
    assert state.state == STATE_OFF
    assert state.attributes[ATTR_INSTALLED_VERSION] == "1.1.0"
    assert state.attributes[ATTR_IN_PROGRESS] is False
    (device,) = dr.async_entries_for_config_entry(device_registry, setup_entry.entry_id)
    assert device.sw_version == "1.1.0"


async def _recheck(hass: HomeAssistant) -> None:
    """Let the periodic release check run (the lock's watchdog fires too; it recovers)."""
    async_fire_time_changed(hass, dt_util.utcnow() + FIRMWARE_CHECK_INTERVAL)
    await hass.async_block_till_done()
    await wait_until(lambda: _state(hass).state != STATE_UNAVAILABLE)


async def test_unverified_releases_are_never_offered(
    hass: HomeAssistant,
    *,
    sim_lock: SimLock,
    firmware_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Tampered, other key, other model: all newer than the good one, none offered."""
    make_release(releases, release_key, "1.1.0")
    tampered = make_release(releases, release_key, "3.0.0")
    manifest = bytearray((tampered / MANIFEST_FILE).read_bytes())
    manifest[40] ^= 0x01  # inside the signed manifest
    (tampered / MANIFEST_FILE).write_bytes(bytes(manifest))
    make_release(releases, ReleaseSigningKey.generate(), "3.1.0")
    make_release(releases, release_key, "3.2.0", model="Another lock")
    (releases / "junk").mkdir()
    (releases / "junk" / MANIFEST_FILE).write_bytes(b"SLFW" + bytes(10_000))

    with caplog.at_level(logging.WARNING):
        await _setup(hass, firmware_entry)
    assert _state(hass).attributes[ATTR_LATEST_VERSION] == "1.1.0"
    issue = _issue(hass, "release_rejected", sim_lock)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["releases"] == (
        "3.0.0 (firmware_bad_signature), 3.1.0 (firmware_bad_signature), "
        "3.2.0 (firmware_wrong_model), junk (malformed)"
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("is not offered" in line for line in warnings) == 4
    # Names and reasons, never key material.
    public_hex = release_key.public_key().to_text()
    assert not any(public_hex[:16] in line for line in caplog.messages)

    # The folder is cleaned up: the next periodic check withdraws the issue.
    for name in ("3.0.0", "3.1.0", "3.2.0", "junk"):
        shutil.rmtree(releases / name)
    await _recheck(hass)
    await wait_until(lambda: _issue(hass, "release_rejected", sim_lock) is None)
    assert await hass.config_entries.async_unload(firmware_entry.entry_id)
    await hass.async_block_till_done()


async def test_tampered_image_is_refused_before_anything_is_sent(
    hass: HomeAssistant,
    sim_lock: SimLock,
    setup_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
) -> None:
    """The manifest verifies, the image does not match it: install refuses, lock untouched."""
    directory = make_release(releases, release_key, "1.1.0")
    await _recheck(hass)
    await wait_until(lambda: _state(hass).state == STATE_ON)
    image = bytearray((directory / IMAGE_FILE).read_bytes())
    image[-1] ^= 0xFF
    (directory / IMAGE_FILE).write_bytes(bytes(image))

    with pytest.raises(HomeAssistantError) as err:
        await _install(hass)
    assert err.value.translation_key == "release_unreadable"
    assert err.value.translation_placeholders == {"reason": "firmware_hash_mismatch"}
    assert sim_lock.device.state.firmware.transfer is None
    assert _state(hass).attributes[ATTR_IN_PROGRESS] is False


async def test_release_replaced_after_the_check_is_not_installed(
    hass: HomeAssistant,
    *,
    sim_lock: SimLock,
    setup_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
    tmp_path: Path,
) -> None:
    """What is installed is exactly the manifest that was verified and shown."""
    directory = make_release(releases, release_key, "1.1.0")
    await _recheck(hass)
    await wait_until(lambda: _state(hass).state == STATE_ON)
    other = make_release(tmp_path / "elsewhere", release_key, "1.1.0", notes="Other")
    shutil.copy(other / MANIFEST_FILE, directory / MANIFEST_FILE)

    with pytest.raises(HomeAssistantError) as err:
        await _install(hass)
    assert err.value.translation_key == "release_changed"
    assert sim_lock.device.firmware.running_version == "1.0.0"


async def test_operator_sees_the_update_but_cannot_install(
    hass: HomeAssistant,
    sim_lock: SimLock,
    firmware_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
) -> None:
    """Only admins change firmware: an operator's entity has no install feature."""
    make_release(releases, release_key, "1.1.0", security_version=1)
    identity, outcome = await pair_controller(sim_lock, "Second HA")
    entry = await _set_up_instead(hass, firmware_entry, identity, outcome.lock)
    state = _state(hass)
    assert state.state == STATE_ON
    features = UpdateEntityFeature(state.attributes[ATTR_SUPPORTED_FEATURES])
    assert UpdateEntityFeature.INSTALL not in features
    # Operators may read the lock's firmware status: its floor is known.
    assert _issue(hass, "security_update", sim_lock) is not None

    with pytest.raises(HomeAssistantError):
        await _install(hass)
    assert sim_lock.device.firmware.running_version == "1.0.0"
    assert sim_lock.device.state.firmware.transfer is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_only_admin_users_install(
    hass: HomeAssistant,
    *,
    sim_lock: SimLock,
    setup_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
    hass_user: MockUser,
    hass_admin_user: MockUser,
) -> None:
    """Entity control is not enough to install firmware; an admin user may."""
    make_release(releases, release_key, "1.1.0")
    await _recheck(hass)
    await wait_until(lambda: _state(hass).state == STATE_ON)
    sent = setup_entry.runtime_data.lock.paired_lock.last_sent_counter

    with pytest.raises(Unauthorized):
        await _install(hass, Context(user_id=hass_user.id))
    assert setup_entry.runtime_data.lock.paired_lock.last_sent_counter == sent
    assert sim_lock.device.state.firmware.transfer is None
    assert sim_lock.device.firmware.running_version == "1.0.0"

    await _install(hass, Context(user_id=hass_admin_user.id))
    assert sim_lock.device.firmware.running_version == "1.1.0"


async def test_security_update_raises_a_repair_issue_until_installed(
    hass: HomeAssistant,
    sim_lock: SimLock,
    firmware_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
) -> None:
    """A release above the lock's security version is a repair issue; installing clears it."""
    make_release(releases, release_key, "1.1.0", security_version=0)
    await _setup(hass, firmware_entry)
    assert _state(hass).state == STATE_ON
    assert _issue(hass, "security_update", sim_lock) is None  # not a security fix

    make_release(releases, release_key, "1.2.0", security_version=2)
    await _recheck(hass)
    await wait_until(lambda: _issue(hass, "security_update", sim_lock) is not None)
    issue = _issue(hass, "security_update", sim_lock)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders == {"name": "Front door", "version": "1.2.0"}

    await _install(hass)
    assert sim_lock.device.state.firmware.security_floor == 2
    assert _issue(hass, "security_update", sim_lock) is None
    assert _state(hass).state == STATE_OFF
    assert await hass.config_entries.async_unload(firmware_entry.entry_id)


@pytest.mark.parametrize("device_config", [{"release_key": None}], indirect=True)
async def test_lock_without_release_key_refuses(
    hass: HomeAssistant,
    sim_lock: SimLock,
    setup_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
) -> None:
    """A lock without the release key refuses every release; the error says why."""
    make_release(releases, release_key, "1.1.0")
    await _recheck(hass)
    await wait_until(lambda: _state(hass).state == STATE_ON)
    with pytest.raises(HomeAssistantError) as err:
        await _install(hass)
    assert err.value.translation_key == "firmware_no_release_key"
    assert _state(hass).attributes[ATTR_IN_PROGRESS] is False
    assert sim_lock.device.firmware.running_version == "1.0.0"


@pytest.mark.parametrize(
    "device_config", [{"refuse_update_when_unlocked": True}], indirect=True
)
async def test_install_refused_while_unlocked(
    hass: HomeAssistant,
    sim_lock: SimLock,
    setup_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
) -> None:
    """A lock set to update only when locked refuses while unlocked; locked, it installs."""
    make_release(releases, release_key, "1.1.0")
    await _recheck(hass)
    await wait_until(lambda: _state(hass).state == STATE_ON)
    await hass.services.async_call(
        "lock", "unlock", {"entity_id": "lock.front_door"}, blocking=True
    )
    with pytest.raises(HomeAssistantError) as err:
        await _install(hass)
    assert err.value.translation_key == "firmware_not_locked"
    assert sim_lock.device.firmware.running_version == "1.0.0"

    await hass.services.async_call(
        "lock", "lock", {"entity_id": "lock.front_door"}, blocking=True
    )
    await _install(hass)
    assert sim_lock.device.firmware.running_version == "1.1.0"


async def test_unknown_model_is_left_to_the_lock(
    hass: HomeAssistant,
    sim_lock: SimLock,
    firmware_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
) -> None:
    """A manually added lock has no known model: the lock refuses another model's release."""
    hass.config_entries.async_update_entry(
        firmware_entry, data={**firmware_entry.data, CONF_MODEL: DEFAULT_MODEL}
    )
    make_release(releases, release_key, "1.1.0", model="Another lock")
    await _setup(hass, firmware_entry)
    assert _state(hass).state == STATE_ON
    with pytest.raises(HomeAssistantError) as err:
        await _install(hass)
    assert err.value.translation_key == "firmware_wrong_model"
    assert sim_lock.device.firmware.running_version == "1.0.0"
    assert await hass.config_entries.async_unload(firmware_entry.entry_id)


async def test_unreadable_folder_makes_the_entity_unavailable(
    hass: HomeAssistant, setup_entry: MockConfigEntry, releases: Path
) -> None:
    """A folder that is gone says nothing about releases: unavailable, not up to date."""
    assert _state(hass).state == STATE_OFF
    shutil.rmtree(releases)
    async_fire_time_changed(hass, dt_util.utcnow() + FIRMWARE_CHECK_INTERVAL)
    await hass.async_block_till_done()
    await wait_until(lambda: _state(hass).state == STATE_UNAVAILABLE)


async def test_options_set_the_release_source(
    hass: HomeAssistant,
    sim_lock: SimLock,
    paired_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
) -> None:
    """Folder and key together, checked; the entry reloads with the update entity."""
    await _setup(hass, paired_entry)
    assert hass.states.get(UPDATE) is None
    key = release_key.public_key().to_text()
    result = await open_settings(hass, paired_entry)
    flow = result["flow_id"]

    async def submit(values: dict[str, str]) -> Any:
        return await hass.config_entries.options.async_configure(flow, values)

    result = await submit({CONF_RELEASE_FOLDER: str(releases)})
    assert result["errors"] == {"base": "release_source_incomplete"}
    result = await submit({CONF_RELEASE_FOLDER: "releases", CONF_RELEASE_KEY: key})
    assert result["errors"] == {CONF_RELEASE_FOLDER: "release_folder_not_absolute"}
    result = await submit(
        {CONF_RELEASE_FOLDER: str(releases / "missing"), CONF_RELEASE_KEY: key}
    )
    assert result["errors"] == {CONF_RELEASE_FOLDER: "release_folder_not_found"}
    result = await submit(
        {CONF_RELEASE_FOLDER: str(releases), CONF_RELEASE_KEY: key[:-2]}
    )
    assert result["errors"] == {CONF_RELEASE_KEY: "invalid_release_key"}
    result = await submit(
        {CONF_RELEASE_FOLDER: f" {releases} ", CONF_RELEASE_KEY: f"\n{key.upper()}\n"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert paired_entry.options == {
        CONF_RELEASE_FOLDER: str(releases),
        CONF_RELEASE_KEY: key,
    }
    await hass.async_block_till_done()
    assert _state(hass).state == STATE_OFF

    # Both empty: updates off again, and the entity goes with them.
    result = await open_settings(hass, paired_entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_RELEASE_FOLDER: "", CONF_RELEASE_KEY: ""}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert paired_entry.options == {}
    await hass.async_block_till_done()
    assert er.async_get(hass).async_get(UPDATE) is None
    assert hass.states.get(UPDATE) is None
    assert await hass.config_entries.async_unload(paired_entry.entry_id)


async def test_stored_key_that_does_not_parse_turns_updates_off(
    hass: HomeAssistant,
    firmware_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Options edited by hand to a broken key: nothing is offered (fail closed)."""
    hass.config_entries.async_update_entry(
        firmware_entry,
        options={**firmware_entry.options, CONF_RELEASE_KEY: "00" * 40},
    )
    await _setup(hass, firmware_entry)
    assert hass.states.get(UPDATE) is None
    assert "release key is not valid" in caplog.text
    assert await hass.config_entries.async_unload(firmware_entry.entry_id)


@pytest.mark.parametrize(
    ("notes", "summary"),
    [
        ("", None),
        ("  One line.  ", "One line."),
        ("First.\nSecond.", "First."),
        ("x" * 300, "x" * 254 + "…"),
    ],
)
def test_summary_is_the_first_line_cut_to_fit(notes: str, summary: str | None) -> None:
    """Home Assistant shows at most 255 characters of a release summary."""
    assert _summary(notes) == summary


def test_the_newest_release_the_lock_accepts_is_picked(
    releases: Path, release_key: ReleaseSigningKey
) -> None:
    """Newest first, but never one the lock's policy refuses (base, floor, not newer)."""
    make_release(
        releases,
        release_key,
        "2.0.0",
        security_version=1,
        min_version="1.1.0",
        size=100,
    )
    make_release(releases, release_key, "1.1.0", security_version=1, size=100)
    make_release(releases, release_key, "1.0.0", size=100)
    scan = scan_releases(releases, release_key.public_key(), MODEL)
    assert [str(c.version) for c in scan.candidates] == ["2.0.0", "1.1.0", "1.0.0"]

    def pick(running: str, floor: int | None) -> str | None:
        found = pick_release(
            scan.candidates,
            running=FirmwareVersion.parse(running),
            security_floor=floor,
        )
        return str(found.version) if found else None

    assert pick("1.0.0", 0) == "1.1.0"  # 2.0.0 needs 1.1.0 first
    assert pick("1.1.0", 1) == "2.0.0"
    assert pick("1.0.0", 2) is None  # both would roll the security version back
    assert pick("1.0.0", None) == "1.1.0"  # unknown floor: the lock decides
    assert pick("2.0.0", 0) is None

    # The folder may be one release directory itself.
    single = scan_releases(releases / "1.1.0", release_key.public_key(), MODEL)
    assert [str(c.version) for c in single.candidates] == ["1.1.0"]
    with pytest.raises(ReleaseFolderError):
        scan_releases(releases / "missing", release_key.public_key(), MODEL)


async def test_guest_sees_the_offer_without_floor_or_install(
    hass: HomeAssistant,
    sim_lock: SimLock,
    setup_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
) -> None:
    """A guest may not read the firmware status: no floor, no security issue, no install."""
    make_release(releases, release_key, "1.1.0", security_version=3)
    admin = setup_entry.runtime_data.lock
    guest = ControllerIdentity.generate()
    now_ms = time.time_ns() // 1_000_000
    await admin.async_call(
        lambda client: client.add_controller(
            guest.public_bundle(),
            "Guest",
            Role.GUEST,
            valid_from_ms=now_ms - 60_000,
            valid_until_ms=now_ms + 3_600_000,
        )
    )
    guest_lock = replace(admin.paired_lock, role=Role.GUEST, last_sent_counter=0)
    entry = await _set_up_instead(hass, setup_entry, guest, guest_lock)
    state = _state(hass)
    assert state.state == STATE_ON
    assert state.attributes[ATTR_LATEST_VERSION] == "1.1.0"
    features = UpdateEntityFeature(state.attributes[ATTR_SUPPORTED_FEATURES])
    assert UpdateEntityFeature.INSTALL not in features
    assert _issue(hass, "security_update", sim_lock) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    "device_config", [{"firmware_version": "2.0-beta"}], indirect=True
)
async def test_lock_version_that_does_not_parse_is_offered_nothing(
    hass: HomeAssistant,
    sim_lock: SimLock,
    firmware_entry: MockConfigEntry,
    releases: Path,
    release_key: ReleaseSigningKey,
) -> None:
    """A running version that cannot be compared gets no offer rather than a guess."""
    make_release(releases, release_key, "9.0.0", security_version=5)
    await _setup(hass, firmware_entry)
    state = _state(hass)
    assert state.state == STATE_OFF
    assert state.attributes[ATTR_INSTALLED_VERSION] == "2.0-beta"
    assert state.attributes[ATTR_LATEST_VERSION] == "2.0-beta"
    assert _issue(hass, "security_update", sim_lock) is None
    assert await hass.config_entries.async_unload(firmware_entry.entry_id)
