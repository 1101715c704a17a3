"""What the lock's request handlers may use of the lock itself.

The handlers (`controller_admin`, `join_desk`, `firmware_requests`,
`audit_requests`, `keypad`, `answers`, `prekey_upkeep`) each do one job; `LockDevice`
provides this interface and owns the ordering rules they rely on (`send`
persists the moved send counter before a frame leaves).
"""

from __future__ import annotations

from typing import Protocol

from custom_components.secure_lock.protocol.messages import (
    Event,
    Heartbeat,
    KeyRotation,
    MessageKind,
    ResultCode,
)
from custom_components.secure_lock.protocol.session import LockEndpoint, VerifiedMessage
from custom_components.secure_lock.protocol.state import LockStatus

from .device_state import DeviceState


class LockServices(Protocol):
    """The lock as its request handlers see it."""

    @property
    def state(self) -> DeviceState:
        """Return the sealed state (registry, joins, audit log, settings)."""

    @property
    def endpoint(self) -> LockEndpoint:
        """Return the session endpoint that seals and opens envelopes."""

    def now_ms(self) -> int:
        """Return the lock's wall clock in milliseconds."""

    def wire_status(self) -> LockStatus:
        """Return the lock's state as the protocol reports it."""

    def persist(self) -> None:
        """Write the sealed state (nothing in lockdown)."""

    def send(self, frames: list[bytes]) -> None:
        """Persist (the send counter moved), then hand envelopes to the links."""

    def respond(
        self, request: VerifiedMessage, result: ResultCode, reason: str = ""
    ) -> None:
        """Answer a request with a command result."""

    def audit(self, message: VerifiedMessage, result: ResultCode) -> None:
        """Log a controller's request and its result."""

    def broadcast(
        self, kind: MessageKind, payload: Event | Heartbeat | KeyRotation
    ) -> None:
        """Seal `payload` to every controller that should get it, and send it."""
