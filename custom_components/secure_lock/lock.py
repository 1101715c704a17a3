"""The lock entity: never optimistic, and never jammed for a network error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.components.lock import LockEntity, LockEntityFeature
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import COMMAND_TIMEOUT
from .controller import LockClient
from .coordinator import SecureLockCoordinator
from .entity import SecureLockEntity
from .protocol import CommandResult
from .protocol.state import BoltState
from .runtime import SecureLockConfigEntry

# One command at a time per lock: the lock runs its motor for one anyway.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SecureLockConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the lock entity."""
    async_add_entities([SecureLockLockEntity(entry.runtime_data.lock)])


class SecureLockLockEntity(SecureLockEntity, LockEntity):
    """The bolt (and latch, if the lock has one)."""

    _attr_name = None

    def __init__(self, coordinator: SecureLockCoordinator) -> None:
        """Offer open only where the lock reports a latch."""
        super().__init__(coordinator, "lock")
        if coordinator.data.status.has_latch:
            self._attr_supported_features = LockEntityFeature.OPEN
        self._pending: BoltState | None = None
        """The transition a command in flight is asking for."""
        self._show_state()

    @callback
    def _handle_coordinator_update(self) -> None:
        self._show_state()
        super()._handle_coordinator_update()

    def _show_state(self) -> None:
        """Show what the lock signed; while a command runs, only its transition."""
        data = self.coordinator.data
        state = data.status.bolt_state
        pending = self._pending
        jammed = state is BoltState.JAMMED
        self._attr_is_jammed = jammed
        self._attr_is_locking = not jammed and (BoltState.LOCKING in (pending, state))
        self._attr_is_unlocking = not jammed and (
            BoltState.UNLOCKING in (pending, state)
        )
        self._attr_is_opening = not jammed and (BoltState.OPENING in (pending, state))
        self._attr_is_open = state is BoltState.OPEN
        self._attr_is_locked = {
            BoltState.LOCKED: True,
            BoltState.UNLOCKED: False,
            BoltState.OPEN: False,
        }.get(state)
        self._attr_changed_by = data.changed_by

    async def _async_run(
        self,
        transition: BoltState,
        command: Callable[[LockClient], Awaitable[CommandResult]],
    ) -> None:
        """Show the transition, wait for the signed result, then show the truth."""
        self._pending = transition
        self._show_state()
        self.async_write_ha_state()
        try:
            await self.coordinator.async_call(command)
        finally:
            self._pending = None
            self._show_state()
            self.async_write_ha_state()

    async def async_lock(self, **kwargs: Any) -> None:
        """Lock; returns once the lock confirmed it."""
        await self._async_run(
            BoltState.LOCKING, lambda client: client.lock(timeout=COMMAND_TIMEOUT)
        )

    async def async_unlock(self, **kwargs: Any) -> None:
        """Unlock (retract the bolt, latch stays); returns once confirmed."""
        await self._async_run(
            BoltState.UNLOCKING,
            lambda client: client.unlock(timeout=COMMAND_TIMEOUT),
        )

    async def async_open(self, **kwargs: Any) -> None:
        """Unlatch so the door can be pushed open; returns once confirmed."""
        await self._async_run(
            BoltState.OPENING, lambda client: client.open(timeout=COMMAND_TIMEOUT)
        )
