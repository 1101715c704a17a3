"""How the lock answers requests, and answers them again after a key resync.

A result carries the lock's status only to a controller that may read it
now: refusals to former users and guests outside their window say nothing
about the bolt or the door.

Results sent lately are kept in memory only.  A controller restored from a
backup cannot open results sealed to a prekey it lost; once it announces a
new prekey, the lock re-sends what it answered in the last
`RESEND_WINDOW_S` (at most `RESEND_LIMIT` per controller), with the current
status, so a repeat never shows an old state.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
import logging

from custom_components.secure_lock.protocol.errors import ProtocolError
from custom_components.secure_lock.protocol.messages import (
    CommandResult,
    MessageKind,
    ResultCode,
)
from custom_components.secure_lock.protocol.permissions import may_read_state
from custom_components.secure_lock.protocol.registry import ControllerRecord
from custom_components.secure_lock.protocol.session import VerifiedMessage
from custom_components.secure_lock.protocol.state import LockStatus

from .lock_services import LockServices

_LOGGER = logging.getLogger(__name__)

RESEND_WINDOW_S = 30.0
"""Answers younger than a request's default lifetime are re-sent after a resync."""
RESEND_LIMIT = 4


def may_read_state_now(record: ControllerRecord, now_ms: int) -> bool:
    """Return whether the controller may see the bolt and the door at `now_ms`."""
    return may_read_state(
        record.role,
        record.revoked,
        now_ms,
        record.valid_from_ms,
        record.valid_until_ms,
    )


@dataclass(frozen=True, slots=True)
class _SentAnswer:
    """A result as it was sent, and when (monotonic seconds)."""

    request: VerifiedMessage
    payload: CommandResult
    sent_at: float


class Answers:
    """Seals command results; keeps the newest few per controller to re-send."""

    def __init__(self, lock: LockServices, monotonic: Callable[[], float]) -> None:
        """Answer for `lock`; `monotonic` dates what was sent."""
        self._lock = lock
        self._monotonic = monotonic
        self._sent: dict[bytes, deque[_SentAnswer]] = {}

    def respond(
        self, request: VerifiedMessage, result: ResultCode, reason: str = ""
    ) -> None:
        """Answer a request with a command result (kept a while, to re-send after a resync)."""
        lock = self._lock
        record = lock.state.registry.get(request.sender_id)
        status = (
            lock.wire_status()
            if record is not None and may_read_state_now(record, lock.now_ms())
            else LockStatus()
        )
        payload = CommandResult(
            result,
            status,
            lock.now_ms(),
            record.high_water if record else request.counter,
            reason,
        )
        try:
            frame = lock.endpoint.respond(request, payload)
        except ProtocolError as err:
            _LOGGER.warning("Could not answer a request: %s", err.code.value)
            return
        lock.send([frame])
        if request.kind is not MessageKind.KEY_ROTATION:
            answers = self._sent.setdefault(
                request.sender_id, deque(maxlen=RESEND_LIMIT)
            )
            answers.append(_SentAnswer(request, payload, self._monotonic()))

    def resend_recent(self, controller_id: bytes) -> None:
        """Re-seal recent results to the prekey the controller just announced; forget them."""
        lock = self._lock
        now = self._monotonic()
        frames = []
        for answer in self._sent.pop(controller_id, ()):
            if now - answer.sent_at > RESEND_WINDOW_S:
                continue
            payload = replace(
                answer.payload, status=lock.wire_status(), lock_time_ms=lock.now_ms()
            )
            try:
                frames.append(lock.endpoint.respond(answer.request, payload))
            except ProtocolError as err:
                _LOGGER.warning("Could not re-send an answer: %s", err.code.value)
        if frames:
            lock.send(frames)
