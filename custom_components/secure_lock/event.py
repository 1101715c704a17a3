"""Lock operations and alarms as events, each from a verified, signed lock event."""

from __future__ import annotations

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SecureLockCoordinator
from .entity import SecureLockEntity
from .protocol import Event, EventSource, EventType
from .protocol.state import BoltState, DoorState
from .runtime import SecureLockConfigEntry
from .snapshot import changed_by_of

PARALLEL_UPDATES = 0

_STATE_EVENTS = {
    BoltState.LOCKED: "locked",
    BoltState.UNLOCKED: "unlocked",
    BoltState.OPEN: "opened",
}
_ALARMS = {
    EventType.JAMMED: "jammed",
    EventType.TAMPER: "tamper",
    EventType.LOW_BATTERY: "low_battery",
}
_DOOR_EVENTS = {
    DoorState.OPEN: "door_opened",
    DoorState.CLOSED: "door_closed",
}
JOINED = "controller_joined"
EVENT_TYPES = [
    *_STATE_EVENTS.values(),
    *_ALARMS.values(),
    *_DOOR_EVENTS.values(),
    JOINED,
]


def event_type(event: Event) -> str | None:
    """Return the event entity's type for a lock event, or None to skip it.

    A bolt event (locked, unlocked, opened) comes only from a STATE_CHANGED
    event, which the lock sends when the bolt or latch moved; a door sensor
    change is its own DOOR_CHANGED event and never reads as a bolt event.
    Transitions (locking, unlocking) are not events of their own: the lock
    reports the finished operation, which is what automations want.
    """
    match event.event:
        case EventType.STATE_CHANGED:
            return _STATE_EVENTS.get(event.status.bolt_state)
        case EventType.DOOR_CHANGED:
            return _DOOR_EVENTS.get(event.status.door_state)
    return _ALARMS.get(event.event)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SecureLockConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the event entity."""
    async_add_entities([SecureLockEventEntity(entry.runtime_data.lock)])


class SecureLockEventEntity(SecureLockEntity, EventEntity):
    """What happened at the lock, with who or what caused it."""

    entity_description = EventEntityDescription(
        key="activity", translation_key="activity", event_types=EVENT_TYPES
    )

    def __init__(self, coordinator: SecureLockCoordinator) -> None:
        """Start after the events seen so far."""
        super().__init__(coordinator, "activity")
        self._seen = coordinator.data.event_serial
        self._seen_join = coordinator.join_serial

    @callback
    def _handle_coordinator_update(self) -> None:
        self._fire_join()
        data = self.coordinator.data
        if data.event_serial != self._seen and data.event is not None:
            self._seen = data.event_serial
            if (kind := event_type(data.event)) is not None:
                self._trigger_event(
                    kind,
                    {
                        "source": EventSource(data.event.source).name.lower(),
                        # Who caused this event (None for the door, tamper
                        # and battery): not the last bolt mover.
                        "changed_by": changed_by_of(data.event),
                    },
                )
        super()._handle_coordinator_update()

    @callback
    def _fire_join(self) -> None:
        """Fire a join event once a controller's join is final (only an admin's lock tells it)."""
        coordinator = self.coordinator
        joined = coordinator.last_join
        if coordinator.join_serial == self._seen_join or joined is None:
            return
        self._seen_join = coordinator.join_serial
        self._trigger_event(
            JOINED,
            {
                "source": "controller",
                "changed_by": None,
                "name": joined.controller.name,
                "role": joined.controller.role.name.lower(),
                "method": joined.method.name.lower(),
                "invited_by": joined.invited_by_name or None,
            },
        )
