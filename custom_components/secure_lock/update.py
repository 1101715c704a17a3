"""Firmware update entity: offers verified releases and installs them with progress.

Shown only when a release folder and the release public key are configured
(options).  The installed version is what the lock signed; the offered
version is a release whose manifest verified under the release key.  Only an
admin controller may install (the lock refuses everyone else), so other roles
get the entity without the install feature; and only a Home Assistant admin
user may start an install.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.update import (
    DOMAIN as UPDATE_DOMAIN,
    UpdateDeviceClass,
    UpdateEntity,
    UpdateEntityDescription,
    UpdateEntityFeature,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .controller import (
    FirmwareRelease,
    LockClient,
    UpdatePhase,
    UpdateProgress,
    update_firmware,
)
from .coordinator import SecureLockCoordinator
from .entity import SecureLockEntity
from .errors import translate_errors
from .firmware_coordinator import FirmwareReleaseCoordinator
from .firmware_source import load_candidate
from .protocol import FirmwareStatus, Role
from .runtime import SecureLockConfigEntry

# One firmware transfer per lock at a time.
PARALLEL_UPDATES = 1

MAX_SUMMARY_LENGTH = 255
"""Home Assistant shows at most this much of `release_summary`."""

FIRMWARE_UPDATE = UpdateEntityDescription(
    key="firmware_update",
    # Named "Firmware" by its device class.
    device_class=UpdateDeviceClass.FIRMWARE,
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SecureLockConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the update entity when a release source is configured."""
    data = entry.runtime_data
    if data.firmware is None:
        # Updates turned off: drop the entity rather than leave it unavailable.
        registry = er.async_get(hass)
        unique_id = f"{data.lock.lock_id}_{FIRMWARE_UPDATE.key}"
        if entity_id := registry.async_get_entity_id(UPDATE_DOMAIN, DOMAIN, unique_id):
            registry.async_remove(entity_id)
        return
    async_add_entities([SecureLockFirmwareUpdate(data.lock, data.firmware)])


def _summary(notes: str) -> str | None:
    """Return the first line of the notes, cut to what Home Assistant shows."""
    first = notes.strip().split("\n", 1)[0].strip()
    if len(first) > MAX_SUMMARY_LENGTH:
        first = first[: MAX_SUMMARY_LENGTH - 1] + "…"
    return first or None


class SecureLockFirmwareUpdate(SecureLockEntity, UpdateEntity):
    """The lock's firmware: installed (signed by the lock) and offered (signed release)."""

    entity_description = FIRMWARE_UPDATE

    def __init__(
        self, coordinator: SecureLockCoordinator, firmware: FirmwareReleaseCoordinator
    ) -> None:
        """Bind to the lock and its release checker."""
        super().__init__(coordinator, FIRMWARE_UPDATE.key)
        self._firmware = firmware
        features = UpdateEntityFeature.PROGRESS | UpdateEntityFeature.RELEASE_NOTES
        if coordinator.paired_lock.role is Role.ADMIN:
            features |= UpdateEntityFeature.INSTALL
        self._attr_supported_features = features

    async def async_added_to_hass(self) -> None:
        """Follow the release checker as well as the lock."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self._firmware.async_add_listener(self._handle_coordinator_update)
        )

    @property
    def available(self) -> bool:
        """Return whether both the lock's state and the release folder are known."""
        return super().available and self._firmware.last_update_success

    @property
    def installed_version(self) -> str | None:
        """Return the version the lock signed that it runs."""
        return self.coordinator.data.status.firmware_version or None

    @property
    def latest_version(self) -> str | None:
        """Return the verified release on offer, else the installed version."""
        pending = self._firmware.pending
        return str(pending.version) if pending is not None else self.installed_version

    @property
    def release_summary(self) -> str | None:
        """Return the first line of the offered release's signed notes."""
        pending = self._firmware.pending
        return _summary(pending.manifest.release_notes) if pending else None

    async def async_release_notes(self) -> str | None:
        """Return the offered release's notes (signed with the manifest)."""
        pending = self._firmware.pending
        return (pending.manifest.release_notes or None) if pending else None

    @translate_errors
    async def async_install(
        self, version: str | None, backup: bool, **kwargs: Any
    ) -> None:
        """Send the offered release to the lock and install it; the lock verifies it again."""
        await self.async_require_admin_user()
        pending = self._firmware.pending
        if pending is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="no_firmware_update"
            )
        release = await self.hass.async_add_executor_job(
            load_candidate, pending, self._firmware.source.key
        )
        self._show_progress(in_progress=True, percentage=0)
        try:
            status = await self.coordinator.async_call(
                lambda client: self._update(client, release)
            )
        finally:
            self._show_progress(in_progress=False, percentage=None)
        self._firmware.async_installed(status)
        # The outcome event normally brought the new version already; the
        # signed status answer makes sure of it.
        await self.coordinator.async_request_refresh()

    async def _update(
        self, client: LockClient, release: FirmwareRelease
    ) -> FirmwareStatus:
        return await update_firmware(client, release, on_progress=self._on_progress)

    @callback
    def _on_progress(self, progress: UpdateProgress) -> None:
        """Show the bytes the lock confirmed; while it installs, no percentage."""
        if progress.phase is UpdatePhase.TRANSFERRING:
            self._show_progress(in_progress=True, percentage=progress.percent)
        elif progress.phase is UpdatePhase.INSTALLING:
            # The lock reboots and checks the image: no measurable progress.
            self._show_progress(in_progress=True, percentage=None)

    @callback
    def _show_progress(self, *, in_progress: bool, percentage: int | None) -> None:
        self._attr_in_progress = in_progress
        self._attr_update_percentage = percentage
        self.async_write_ha_state()
