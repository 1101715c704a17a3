"""Which firmware release to offer for one lock, and the repair issues that go with it.

The release folder is looked at when the entry is set up and every
`FIRMWARE_CHECK_INTERVAL`.  A release is offered only once its manifest
verified under the configured release key (`firmware_source`); the lock's
running version comes from its signed state and its anti-rollback floor from
its signed firmware status, so nothing the folder says is trusted about the
lock itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import (
    CONF_MODEL,
    CONF_RELEASE_FOLDER,
    CONF_RELEASE_KEY,
    DEFAULT_MODEL,
    DOMAIN,
    FIRMWARE_CHECK_INTERVAL,
    LOGGER,
)
from .controller import ControllerError, firmware_status
from .coordinator import SecureLockCoordinator
from .firmware_source import (
    RejectedRelease,
    ReleaseCandidate,
    ReleaseFolderError,
    ReleaseScan,
    pick_release,
    scan_releases,
)
from .issues import LockIssue, async_report_issue, async_withdraw_issue
from .protocol import FirmwareStatus, FirmwareVersion, ProtocolError, Role
from .protocol.firmware import ReleasePublicKey
from .runtime import SecureLockConfigEntry


@dataclass(frozen=True, slots=True)
class FirmwareSource:
    """Where releases come from and the key they must be signed with."""

    folder: Path
    key: ReleasePublicKey

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> FirmwareSource | None:
        """Return the configured source, or None when updates are not set up."""
        folder = options.get(CONF_RELEASE_FOLDER)
        key_text = options.get(CONF_RELEASE_KEY)
        if not folder or not key_text:
            return None
        try:
            key = ReleasePublicKey.from_text(key_text)
        except ProtocolError:
            # The options flow only stores keys that parse; fail closed anyway.
            LOGGER.warning("The configured firmware release key is not valid")
            return None
        return cls(Path(folder), key)


@dataclass(frozen=True, slots=True)
class FirmwareData:
    """The verified releases and the lock's anti-rollback floor."""

    scan: ReleaseScan
    security_floor: int | None = None
    """The lock's security version, signed; None while it has not said."""


class FirmwareReleaseCoordinator(DataUpdateCoordinator[FirmwareData]):
    """Looks at the release folder and decides what the update entity offers."""

    config_entry: SecureLockConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SecureLockConfigEntry,
        lock: SecureLockCoordinator,
        source: FirmwareSource,
    ) -> None:
        """Prepare; `async_start` does the first check."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title} firmware",
            update_interval=FIRMWARE_CHECK_INTERVAL,
            always_update=False,
        )
        self.lock = lock
        self.source = source
        model = entry.data.get(CONF_MODEL)
        # Manually added locks do not announce a model; the lock itself still
        # refuses a release for another model when it is offered.
        self.model: str | None = model if model and model != DEFAULT_MODEL else None
        self._warned: set[RejectedRelease] = set()
        self._lock_version = lock.data.status.firmware_version

    async def async_start(self) -> None:
        """Check now, then keep the repair issues in step with both coordinators."""
        await self.async_refresh()
        entry = self.config_entry
        entry.async_on_unload(self.async_add_listener(self.async_sync_issues))
        entry.async_on_unload(self.lock.async_add_listener(self._lock_updated))
        entry.async_on_unload(self._delete_issues)
        self.async_sync_issues()

    # Data ------------------------------------------------------------------

    async def _async_update_data(self) -> FirmwareData:
        try:
            scan = await self.hass.async_add_executor_job(
                scan_releases, self.source.folder, self.source.key, self.model
            )
        except ReleaseFolderError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="release_folder_unreadable",
                translation_placeholders={"reason": err.reason},
            ) from err
        self._warn_rejected(scan.rejected)
        return FirmwareData(scan, await self._security_floor())

    async def _security_floor(self) -> int | None:
        """Ask the lock for its signed floor; keep the last one if it cannot say."""
        previous = self.data.security_floor if self.data is not None else None
        client = self.lock.client
        if client is None or self.lock.paired_lock.role is Role.GUEST:
            return previous
        try:
            status = await firmware_status(client)
        except (ControllerError, ProtocolError) as err:
            LOGGER.debug("No firmware status from %s: %s", self.lock.lock_id, err)
            return previous
        return status.security_version

    def _warn_rejected(self, rejected: tuple[RejectedRelease, ...]) -> None:
        """Log each rejected release once (by name and reason), not every check."""
        for release in rejected:
            if release not in self._warned:
                LOGGER.warning(
                    "Firmware release %s in %s is not offered for %s: %s",
                    release.name,
                    self.source.folder,
                    self.config_entry.title,
                    release.reason,
                )
        self._warned = set(rejected)

    @property
    def running_version(self) -> FirmwareVersion | None:
        """Return the version the lock signed that it runs, if it is one."""
        try:
            return FirmwareVersion.parse(self.lock.data.status.firmware_version)
        except ProtocolError:
            return None

    @property
    def pending(self) -> ReleaseCandidate | None:
        """Return the verified release to offer now, if any."""
        running = self.running_version
        if self.data is None or running is None:
            return None
        return pick_release(
            self.data.scan.candidates,
            running=running,
            security_floor=self.data.security_floor,
        )

    @property
    def security_update(self) -> ReleaseCandidate | None:
        """Return the pending release if it raises the lock's security version."""
        pending = self.pending
        floor = self.data.security_floor if self.data is not None else None
        if pending is None or floor is None:
            return None
        return pending if pending.manifest.security_version > floor else None

    @callback
    def async_installed(self, status: FirmwareStatus) -> None:
        """Take the lock's signed status after an install (its new floor)."""
        if self.data is not None:
            self.async_set_updated_data(
                replace(self.data, security_floor=status.security_version)
            )

    @callback
    def _lock_updated(self) -> None:
        version = self.lock.data.status.firmware_version
        if version != self._lock_version:
            self._lock_version = version
            # Installed (or rolled back) outside this entity: the floor may
            # have moved, ask again.
            self.config_entry.async_create_background_task(
                self.hass, self.async_request_refresh(), f"{DOMAIN} firmware check"
            )
        self.async_sync_issues()

    # Repair issues -----------------------------------------------------------

    @callback
    def async_sync_issues(self) -> None:
        """Show a pending security update and rejected releases; withdraw them when gone."""
        title = self.config_entry.title
        lock_id = self.lock.lock_id
        security = self.security_update
        if security is not None:
            async_report_issue(
                self.hass,
                LockIssue.SECURITY_UPDATE,
                lock_id,
                {"name": title, "version": str(security.version)},
            )
        else:
            async_withdraw_issue(self.hass, LockIssue.SECURITY_UPDATE, lock_id)
        rejected = self.data.scan.rejected if self.data is not None else ()
        if rejected:
            async_report_issue(
                self.hass,
                LockIssue.RELEASE_REJECTED,
                lock_id,
                {
                    "name": title,
                    "folder": str(self.source.folder),
                    "releases": ", ".join(
                        f"{release.name} ({release.reason})" for release in rejected
                    ),
                },
            )
        else:
            async_withdraw_issue(self.hass, LockIssue.RELEASE_REJECTED, lock_id)

    @callback
    def _delete_issues(self) -> None:
        """Withdraw both issues on unload (the options may no longer name a folder)."""
        for issue in (LockIssue.SECURITY_UPDATE, LockIssue.RELEASE_REJECTED):
            async_withdraw_issue(self.hass, issue, self.lock.lock_id)
