"""Repair issues about one lock: one id scheme, raised and withdrawn in one place.

Every issue is about a single lock, so its id is ``<kind>_<lock id>``: a new
report replaces the old one and a lock's issues can all be withdrawn when its
entry is removed.  None is fixable from Home Assistant; each text says what
the user does.

Most are found again after a restart (connecting, the clock check, the
firmware check, discovery) and live in memory only.  What nothing can find
again is stored, so a restart does not hide it (`PERSISTENT_ISSUES`).
"""

from __future__ import annotations

from enum import StrEnum

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN


class LockIssue(StrEnum):
    """What a repair issue is about; the value is also its default translation key."""

    CLOCK_SKEW = "clock_skew"
    UNREACHABLE = "unreachable"
    LOCK_REPLACED = "lock_replaced"
    UNPAIR_FAILED = "unpair_failed"
    SECURITY_UPDATE = "security_update"
    RELEASE_REJECTED = "release_rejected"


PERSISTENT_ISSUES = frozenset({LockIssue.UNPAIR_FAILED})
"""Kept across restarts: the entry (and the keys) are gone, so nothing would
raise "the lock still lists Home Assistant" again."""


def issue_id(issue: LockIssue, lock_id: str) -> str:
    """Return the issue registry id of ``issue`` for one lock."""
    return f"{issue}_{lock_id}"


@callback
def async_report_issue(
    hass: HomeAssistant,
    issue: LockIssue,
    lock_id: str,
    placeholders: dict[str, str],
    *,
    severity: ir.IssueSeverity = ir.IssueSeverity.WARNING,
    translation_key: str | None = None,
) -> None:
    """Create or update the issue; ``translation_key`` picks a variant text."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(issue, lock_id),
        is_fixable=False,
        is_persistent=issue in PERSISTENT_ISSUES,
        severity=severity,
        translation_key=translation_key or issue.value,
        translation_placeholders=placeholders,
    )


@callback
def async_withdraw_issue(hass: HomeAssistant, issue: LockIssue, lock_id: str) -> None:
    """Delete the issue if it is there."""
    ir.async_delete_issue(hass, DOMAIN, issue_id(issue, lock_id))


@callback
def async_withdraw_all_issues(hass: HomeAssistant, lock_id: str) -> None:
    """Delete every issue about a lock (its entry is going away)."""
    for issue in LockIssue:
        async_withdraw_issue(hass, issue, lock_id)
