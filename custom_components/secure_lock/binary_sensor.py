"""Door and low-battery sensors, from the lock's signed status."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SecureLockCoordinator
from .entity import SecureLockEntity
from .protocol import DoorState
from .protocol.state import LockStatus
from .runtime import SecureLockConfigEntry

PARALLEL_UPDATES = 0
LOW_BATTERY_PERCENT = 15
"""The level at which the lock itself reports low battery."""


@dataclass(frozen=True, kw_only=True)
class SecureLockBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor read from the lock's status."""

    value_fn: Callable[[LockStatus], bool | None]


def _door_open(status: LockStatus) -> bool | None:
    # Unknown stays unknown: a missing reading is never "closed".
    if status.door_state is DoorState.UNKNOWN:
        return None
    return status.door_state is DoorState.OPEN


def _battery_low(status: LockStatus) -> bool | None:
    if status.battery_percent is None:
        return None
    return status.battery_percent <= LOW_BATTERY_PERCENT


BINARY_SENSORS = (
    SecureLockBinarySensorDescription(
        key="door",
        device_class=BinarySensorDeviceClass.DOOR,
        value_fn=_door_open,
    ),
    SecureLockBinarySensorDescription(
        key="battery_low",
        # Not the device class's name: the battery level sensor is "Battery".
        translation_key="battery_low",
        device_class=BinarySensorDeviceClass.BATTERY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_battery_low,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SecureLockConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors."""
    async_add_entities(
        SecureLockBinarySensor(entry.runtime_data.lock, description)
        for description in BINARY_SENSORS
    )


class SecureLockBinarySensor(SecureLockEntity, BinarySensorEntity):
    """A binary sensor of one lock."""

    entity_description: SecureLockBinarySensorDescription

    def __init__(
        self,
        coordinator: SecureLockCoordinator,
        description: SecureLockBinarySensorDescription,
    ) -> None:
        """Bind the description."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def is_on(self) -> bool | None:
        """Return the value from the last signed status."""
        return self.entity_description.value_fn(self.coordinator.data.status)
