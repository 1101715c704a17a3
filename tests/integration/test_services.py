"""Actions: controller management, audit log and key rotation, against the real lock."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.secure_lock.const import CONF_IDENTITY, DOMAIN
from custom_components.secure_lock.entry_data import credential_data
from custom_components.secure_lock.protocol import ControllerIdentity, Role

from .conftest import SimLock, pair_controller


async def _call(
    hass: HomeAssistant, service: str, entry: MockConfigEntry, **data: object
) -> dict[str, object] | None:
    return await hass.services.async_call(
        DOMAIN,
        service,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=service in ("list_controllers", "get_audit_log"),
    )


async def test_add_list_and_remove_controllers(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """An admin adds a guest with a validity window, sees it, and revokes it."""
    guest = ControllerIdentity.generate()
    await _call(
        hass,
        "add_controller",
        init_integration,
        bundle=guest.public_bundle().to_bytes().hex(),
        name="Cleaner",
        role="guest",
        valid_for={"hours": 2},
    )
    record = sim_lock.device.state.registry.get(guest.key_id)
    assert record is not None
    assert record.role is Role.GUEST
    assert record.valid_until_ms - record.valid_from_ms == 2 * 3_600_000

    listing = await _call(hass, "list_controllers", init_integration)
    assert listing is not None
    controllers = {c["name"]: c for c in listing["controllers"]}  # type: ignore[union-attr]
    assert controllers["Home Assistant"]["this_home_assistant"] is True
    assert controllers["Home Assistant"]["role"] == "admin"
    assert controllers["Cleaner"]["role"] == "guest"

    await _call(
        hass, "remove_controller", init_integration, controller_id=guest.key_id.hex()
    )
    assert sim_lock.device.state.registry.get(guest.key_id).revoked  # type: ignore[union-attr]
    with pytest.raises(HomeAssistantError, match="refused: not_found"):
        await _call(
            hass,
            "remove_controller",
            init_integration,
            controller_id=guest.key_id.hex(),
        )


@pytest.mark.parametrize(
    ("service", "data", "message"),
    [
        (
            "add_controller",
            {"bundle": "zz", "name": "x", "role": "operator"},
            "not a valid",
        ),
        (
            "add_controller",
            {"bundle": "00ff", "name": "x", "role": "operator"},
            "not a valid",
        ),
        ("remove_controller", {"controller_id": "abcd"}, "32 hexadecimal"),
        ("remove_controller", {"controller_id": "xyz"}, None),
    ],
)
@pytest.mark.usefixtures("init_integration")
async def test_bad_input_is_refused_before_sending(
    hass: HomeAssistant,
    sim_lock: SimLock,
    service: str,
    data: dict[str, str],
    message: str | None,
) -> None:
    """Malformed bundles and ids get a clear error and change nothing on the lock."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    before = dict(sim_lock.device.state.registry.records)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, service, entry, **data)
    if message:
        assert message in str(err.value)
    assert sim_lock.device.state.registry.records == before


async def test_guest_needs_a_validity(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A guest without an end of validity is refused up front."""
    with pytest.raises(ServiceValidationError, match="validity"):
        await _call(
            hass,
            "add_controller",
            init_integration,
            bundle=ControllerIdentity.generate().public_bundle().to_bytes().hex(),
            name="Guest",
            role="guest",
        )


async def test_audit_log_is_verified_and_returned(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """The audit log comes back after its hash chain was checked."""
    await hass.services.async_call(
        "lock", "unlock", {"entity_id": "lock.front_door"}, blocking=True
    )
    sim_lock.device.mechanism.turn_by_hand(lock=True)
    result = await _call(hass, "get_audit_log", init_integration)
    assert result is not None
    actions = [(e["action"], e["source"]) for e in result["entries"]]  # type: ignore[union-attr]
    assert ("unlock", "controller") in actions
    assert [e["index"] for e in result["entries"]] == sorted(  # type: ignore[union-attr]
        e["index"]
        for e in result["entries"]  # type: ignore[union-attr]
    )


async def test_rotate_keys_stores_the_new_private_keys(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Rotation reaches the lock, the entry keeps the new keys, commands still work."""
    before = init_integration.data[CONF_IDENTITY]
    await _call(hass, "rotate_keys", init_integration)
    assert init_integration.data[CONF_IDENTITY] != before
    await hass.services.async_call(
        "lock", "unlock", {"entity_id": "lock.front_door"}, blocking=True
    )
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    await hass.services.async_call(
        "lock", "lock", {"entity_id": "lock.front_door"}, blocking=True
    )
    assert hass.states.get("lock.front_door").state == "locked"  # type: ignore[union-attr]


async def test_operator_cannot_manage_controllers(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """A second Home Assistant paired later is an operator: admin actions say so."""
    identity, outcome = await pair_controller(sim_lock, "Second HA")
    assert outcome.role is Role.OPERATOR
    operator_entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="second",
        title="Back door",
        data={**init_integration.data},
    )
    operator_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        operator_entry,
        data={**operator_entry.data, **credential_data(identity, outcome.lock)},
    )
    assert await hass.config_entries.async_setup(operator_entry.entry_id)
    await hass.async_block_till_done()
    for service in ("list_controllers", "add_controller", "remove_controller"):
        data = {
            "add_controller": {"bundle": "00", "name": "x", "role": "operator"},
            "remove_controller": {"controller_id": "00" * 16},
        }.get(service, {})
        with pytest.raises(ServiceValidationError, match="not an admin"):
            await _call(hass, service, operator_entry, **data)
    # The audit log is an operator right.
    assert await _call(hass, "get_audit_log", operator_entry) is not None
    assert await hass.config_entries.async_unload(operator_entry.entry_id)


async def test_unknown_or_unloaded_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Actions name the problem when the entry is missing or not loaded."""
    with pytest.raises(ServiceValidationError, match="No Secure Lock entry"):
        await hass.services.async_call(
            DOMAIN, "rotate_keys", {"config_entry_id": "nope"}, blocking=True
        )
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError, match="not loaded"):
        await _call(hass, "rotate_keys", init_integration)
