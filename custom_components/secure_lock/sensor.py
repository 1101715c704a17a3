"""Battery level and diagnostics: link in use, lock clock offset, firmware."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .controller.links import LinkKind
from .coordinator import SecureLockCoordinator
from .entity import SecureLockEntity
from .runtime import SecureLockConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class SecureLockSensorDescription(SensorEntityDescription):
    """A sensor read from the coordinator."""

    value_fn: Callable[[SecureLockCoordinator], str | int | float | None]


def _link(coordinator: SecureLockCoordinator) -> str | None:
    return coordinator.data.link.value if coordinator.data.link else None


SENSORS = (
    SecureLockSensorDescription(
        key="battery",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda coordinator: coordinator.data.status.battery_percent,
    ),
    SecureLockSensorDescription(
        key="link",
        translation_key="link",
        device_class=SensorDeviceClass.ENUM,
        options=[kind.value for kind in LinkKind],
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_link,
    ),
    SecureLockSensorDescription(
        key="clock_offset",
        translation_key="clock_offset",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        # Whole seconds: network delay makes anything finer noise, and the
        # repair threshold is a minute.
        value_fn=lambda coordinator: round(
            coordinator.paired_lock.clock_offset_ms / 1000
        ),
    ),
    SecureLockSensorDescription(
        key="firmware",
        translation_key="firmware",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda coordinator: coordinator.data.status.firmware_version or None,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SecureLockConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors."""
    async_add_entities(
        SecureLockSensor(entry.runtime_data.lock, description)
        for description in SENSORS
    )


class SecureLockSensor(SecureLockEntity, SensorEntity):
    """A sensor of one lock."""

    entity_description: SecureLockSensorDescription

    def __init__(
        self,
        coordinator: SecureLockCoordinator,
        description: SecureLockSensorDescription,
    ) -> None:
        """Bind the description."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> str | int | float | None:
        """Return the value from the coordinator."""
        return self.entity_description.value_fn(self.coordinator)
