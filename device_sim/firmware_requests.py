"""An admin's firmware requests, and the reboot into the new image.

`FirmwareUpdater` (in `firmware_update`) decides; this answers the requests
with its status, audits installs and refusals, and after an install goes dark
for the simulated reboot, then reports the trial boot's outcome to everyone.
"""

from __future__ import annotations

import logging

from custom_components.secure_lock.protocol.errors import ProtocolError
from custom_components.secure_lock.protocol.messages import (
    NO_CONTROLLER,
    Event,
    EventSource,
    EventType,
    FirmwareChunk,
    FirmwareInstall,
    MessageKind,
    ResultCode,
    UpdateOutcome,
)
from custom_components.secure_lock.protocol.session import VerifiedMessage

from .firmware_update import FirmwareUpdater, UpdateRefused
from .lock_services import LockServices
from .timing import LockTimer, LockTimers

_LOGGER = logging.getLogger(__name__)


class FirmwareRequests:
    """Carries out firmware requests (the role check came first)."""

    def __init__(
        self,
        lock: LockServices,
        updater: FirmwareUpdater,
        timers: LockTimers,
        *,
        reboot_seconds: float,
    ) -> None:
        """Drive `updater`; the reboot after an install takes `reboot_seconds`."""
        self._lock = lock
        self._updater = updater
        self._timers = timers
        self._reboot_seconds = reboot_seconds
        self.rebooting = False
        """True from an install until the trial boot (frames are dropped meanwhile)."""

    def respond(
        self, request: VerifiedMessage, refusal: UpdateRefused | None = None
    ) -> None:
        """Answer with the updater's status (and the refusal, if there was one)."""
        now = self._lock.now_ms()
        if refusal is None:
            payload = self._updater.status(now)
        else:
            payload = self._updater.status(now, refusal.result, refusal.code.value)
        try:
            frame = self._lock.endpoint.respond(request, payload)
        except ProtocolError as err:
            _LOGGER.warning("Could not answer a firmware request: %s", err.code.value)
            return
        self._lock.send([frame])

    def offer(self, message: VerifiedMessage) -> None:
        """Start a transfer from a signed offer."""
        part = message.payload
        assert isinstance(part, FirmwareChunk)
        try:
            self._updater.offer_part(part)
        except UpdateRefused as refusal:
            self._lock.audit(message, refusal.result)
            self.respond(message, refusal)
            return
        self.respond(message)

    def chunk(self, message: VerifiedMessage) -> None:
        """Take one chunk of the image (unanswered: the status request asks)."""
        part = message.payload
        assert isinstance(part, FirmwareChunk)
        self._updater.chunk(part)

    def install(self, message: VerifiedMessage, *, secured: bool) -> None:
        """Install a complete transfer (`secured`: the door is safe to leave meanwhile)."""
        request = message.payload
        assert isinstance(request, FirmwareInstall)
        try:
            self._updater.install(request.transfer_id, secured=secured)
        except UpdateRefused as refusal:
            self._lock.audit(message, refusal.result)
            self.respond(message, refusal)
            return
        self._lock.audit(message, ResultCode.OK)
        # The trial is durable (install persisted it); say so, then go dark.
        self.respond(message)
        self.rebooting = True
        self._timers.start(LockTimer.REBOOT, self._reboot_seconds, self.trial_boot)

    def trial_boot(self) -> None:
        """Boot the image on trial: keep it if its self-check passes, else fall back."""
        self._timers.cancel(LockTimer.REBOOT)
        result = self._updater.trial_boot()
        self.rebooting = False
        updated = result.outcome is UpdateOutcome.UPDATED
        lock = self._lock
        lock.state.audit.append(
            lock.now_ms(),
            MessageKind.FIRMWARE_INSTALL,
            EventSource.UNKNOWN,
            ResultCode.OK if updated else ResultCode.FIRMWARE_REJECTED,
            NO_CONTROLLER,
        )
        lock.broadcast(
            MessageKind.EVENT,
            Event(
                EventType.FIRMWARE_UPDATED
                if updated
                else EventType.FIRMWARE_ROLLED_BACK,
                EventSource.UNKNOWN,
                lock.wire_status(),
                lock.now_ms(),
            ),
        )
