"""Auto-relock delay, a lock setting that only an admin controller may change.

Only Home Assistant admins may change it either: 0 turns auto-relock off.
"""

from __future__ import annotations

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SecureLockCoordinator
from .entity import SecureLockEntity
from .protocol import Role
from .protocol.messages import MAX_AUTO_RELOCK_SECONDS
from .runtime import SecureLockConfigEntry

PARALLEL_UPDATES = 1

AUTO_RELOCK = NumberEntityDescription(
    key="auto_relock",
    translation_key="auto_relock",
    device_class=NumberDeviceClass.DURATION,
    native_unit_of_measurement=UnitOfTime.SECONDS,
    native_min_value=0,
    native_max_value=MAX_AUTO_RELOCK_SECONDS,
    native_step=1,
    mode=NumberMode.BOX,
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SecureLockConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the setting where Home Assistant may change it (admins only)."""
    coordinator = entry.runtime_data.lock
    if coordinator.paired_lock.role is Role.ADMIN:
        async_add_entities([SecureLockAutoRelock(coordinator)])


class SecureLockAutoRelock(SecureLockEntity, NumberEntity):
    """Seconds after an unlock before the lock locks itself; 0 is off."""

    entity_description = AUTO_RELOCK

    def __init__(self, coordinator: SecureLockCoordinator) -> None:
        """Bind to the lock."""
        super().__init__(coordinator, AUTO_RELOCK.key)

    @property
    def native_value(self) -> float:
        """Return the delay the lock reported, signed."""
        return self.coordinator.data.status.auto_relock_seconds

    async def async_set_native_value(self, value: float) -> None:
        """Change the delay; the lock's signed answer carries the new value."""
        await self.async_require_admin_user()
        seconds = round(value)
        await self.coordinator.async_call(
            lambda client: client.set_auto_relock(seconds)
        )
