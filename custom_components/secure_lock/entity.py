"""Base entity: one device per lock, state from the coordinator only."""

from __future__ import annotations

from homeassistant.auth.permissions.const import POLICY_CONTROL
from homeassistant.exceptions import Unauthorized
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import CONF_MODEL, DEFAULT_MODEL, DOMAIN
from .coordinator import SecureLockCoordinator

MANUFACTURER = "Secure Lock"


def device_model(model: str | None) -> str | None:
    """Return the model as the device page shows it, after "by Secure Lock".

    A lock added by address announces no model (DEFAULT_MODEL stands in):
    show none rather than "Secure Lock by Secure Lock"; a model that repeats
    the brand loses it ("SL-1 by Secure Lock").
    """
    if not model or model == DEFAULT_MODEL:
        return None
    return model.removeprefix(f"{MANUFACTURER} ").strip() or None


class SecureLockEntity(CoordinatorEntity[SecureLockCoordinator]):
    """An entity of one Secure Lock."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: SecureLockCoordinator, key: str) -> None:
        """Name the entity after its key and attach it to the lock's device."""
        super().__init__(coordinator)
        lock_id = coordinator.lock_id
        self._attr_unique_id = f"{lock_id}_{key}"
        entry = coordinator.config_entry
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, lock_id)},
            manufacturer=MANUFACTURER,
            model=device_model(entry.data.get(CONF_MODEL)),
            name=entry.title,
            serial_number=lock_id,
            sw_version=coordinator.data.status.firmware_version or None,
        )

    @property
    def lock_name(self) -> str:
        """Return the lock's name as the user knows it (for error messages)."""
        return self.coordinator.lock_name

    async def async_require_admin_user(self) -> None:
        """Refuse a call by a Home Assistant user who is not an admin.

        For what changes the lock's own behaviour (auto-relock, firmware),
        beyond Home Assistant's entity permissions, which let every user
        control every entity.  Automations and scripts carry no user and
        pass, as they do for admin actions.
        """
        context = self._context
        if context is None or context.user_id is None:
            return
        user = await self.hass.auth.async_get_user(context.user_id)
        # An unknown user never gets here: the entity call refuses it first.
        if user is None or not user.is_admin:
            raise Unauthorized(
                context=context, entity_id=self.entity_id, permission=POLICY_CONTROL
            )
