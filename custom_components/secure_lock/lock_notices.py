"""What Home Assistant tells about a lock besides its state: joins, clock, reachability."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir

from .const import CLOCK_SKEW_REPAIR_MS, EVENT_CONTROLLER_JOINED
from .controller.connection import PathFailure
from .issues import LockIssue, async_report_issue, async_withdraw_issue
from .protocol import ControllerJoined, PairedLock


@callback
def announce_join(
    hass: HomeAssistant, entry: ConfigEntry, notice: ControllerJoined
) -> None:
    """Fire the bus event automations and the logbook follow: someone joined."""
    hass.bus.async_fire(
        EVENT_CONTROLLER_JOINED,
        {
            "config_entry_id": entry.entry_id,
            "lock": entry.title,
            "controller_id": notice.controller.controller_id.hex(),
            "name": notice.controller.name,
            "role": notice.controller.role.name.lower(),
            "method": notice.method.name.lower(),
            "invited_by": notice.invited_by_name,
        },
    )


@callback
def check_clock(hass: HomeAssistant, lock_name: str, lock: PairedLock) -> None:
    """Report a lock clock that is far off, and withdraw it once it is not."""
    offset_ms = lock.clock_offset_ms
    if abs(offset_ms) > CLOCK_SKEW_REPAIR_MS:
        _report_clock(hass, lock_name, lock, "clock_skew", offset_ms)
    else:
        async_withdraw_issue(hass, LockIssue.CLOCK_SKEW, lock.lock_id.hex())


@callback
def report_clock_skew(
    hass: HomeAssistant, lock_name: str, lock: PairedLock, sample_ms: int
) -> None:
    """Report authentic lock frames stamped outside the window, and which way."""
    behind_by_ms = lock.clock_offset_ms - sample_ms
    if behind_by_ms > 0:
        _report_clock(hass, lock_name, lock, "clock_behind", behind_by_ms)
    else:
        _report_clock(hass, lock_name, lock, "clock_skew", sample_ms)


@callback
def _report_clock(
    hass: HomeAssistant,
    lock_name: str,
    lock: PairedLock,
    translation_key: str,
    offset_ms: int,
) -> None:
    async_report_issue(
        hass,
        LockIssue.CLOCK_SKEW,
        lock.lock_id.hex(),
        {"name": lock_name, "seconds": str(round(offset_ms / 1000))},
        translation_key=translation_key,
    )


@callback
def show_firmware_version(
    hass: HomeAssistant, entry: ConfigEntry, version: str
) -> None:
    """Show the version the lock signed on its device page."""
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
        registry.async_update_device(device.id, sw_version=version or None)


@callback
def report_unreachable(
    hass: HomeAssistant,
    lock_name: str,
    lock_id: str,
    away_s: float,
    failures: tuple[PathFailure, ...],
) -> None:
    """Tell the user, after a lasting outage, why each path fails."""
    async_report_issue(
        hass,
        LockIssue.UNREACHABLE,
        lock_id,
        {
            "name": lock_name,
            "minutes": str(int(away_s // 60)),
            "reason": "; ".join(str(failure) for failure in failures),
        },
        severity=ir.IssueSeverity.ERROR,
    )
