"""What the entities show: the state the lock last signed, and who changed it."""

from __future__ import annotations

from dataclasses import dataclass

from .controller.links import LinkKind
from .protocol import Event, EventSource, EventType
from .protocol.state import LockStatus


@dataclass(frozen=True, slots=True)
class LockSnapshot:
    """What the lock last signed, and what it tells the entities."""

    status: LockStatus
    changed_by: str | None = None
    event: Event | None = None
    event_serial: int = 0
    """Counts verified events, so listeners can tell a new one from a repeat."""
    link: LinkKind | None = None

    def after(
        self, status: LockStatus, event: Event | None, link: LinkKind | None
    ) -> LockSnapshot:
        """Return the snapshot that follows this one when the lock reports again."""
        changed_by, serial = self.changed_by, self.event_serial
        if event is not None:
            serial += 1
            if event.event is EventType.STATE_CHANGED:
                changed_by = changed_by_of(event)
        return LockSnapshot(status, changed_by, event, serial, link)


def changed_by_of(event: Event) -> str | None:
    """Return who or what operated the lock, as `changed_by` shows it."""
    match event.source:
        case EventSource.CONTROLLER:
            return event.controller_name or None
        case EventSource.MANUAL:
            return "manual"
        case EventSource.KEYPAD:
            # The code's name, as the lock signed it (or why, for a lockout).
            return event.controller_name or "keypad"
        case EventSource.AUTO_RELOCK:
            return "auto_relock"
    return None
