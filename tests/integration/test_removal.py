"""Removing the entry: the lock forgets Home Assistant, then the keys are deleted."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.secure_lock.const import DOMAIN

from .conftest import SimLock


async def test_removal_revokes_us_on_the_lock(
    hass: HomeAssistant, sim_lock: SimLock, init_integration: MockConfigEntry
) -> None:
    """After removal our key is revoked on the lock and nothing is left behind."""
    controller_id = init_integration.runtime_data.lock.identity.key_id
    # Earlier reports about this lock go with it.
    for kind in ("clock_skew", "unreachable", "lock_replaced"):
        ir.async_create_issue(
            hass,
            DOMAIN,
            f"{kind}_{init_integration.unique_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=kind,
        )
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    record = sim_lock.device.state.registry.get(controller_id)
    assert record is not None
    assert record.revoked
    assert not ir.async_get(hass).issues


async def test_removal_while_lock_offline_raises_a_repair_issue(
    hass: HomeAssistant,
    sim_lock: SimLock,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """An unreachable lock still lists us: the user is told to remove us there."""
    await sim_lock.runtime.stop()
    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    issue = issue_registry.async_get_issue(
        DOMAIN, f"unpair_failed_{init_integration.unique_id}"
    )
    assert issue is not None
    assert issue.translation_key == "unpair_failed"
    # Nothing could raise it again after a restart (the entry is gone): stored.
    assert issue.is_persistent
