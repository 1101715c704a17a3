"""What a loaded entry holds while it runs (`ConfigEntry.runtime_data`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

if TYPE_CHECKING:
    from .coordinator import SecureLockCoordinator
    from .firmware_coordinator import FirmwareReleaseCoordinator


@dataclass(slots=True)
class SecureLockData:
    """The lock's coordinator and, when releases are configured, their checker."""

    lock: SecureLockCoordinator
    firmware: FirmwareReleaseCoordinator | None = None
    """Only when a release folder and key are configured."""


type SecureLockConfigEntry = ConfigEntry[SecureLockData]
