"""Results sent lately, kept in memory only, to seal again after a key resync.

A controller restored from a backup cannot open results sealed to a prekey
it lost; once it announces a new prekey, the lock re-sends what it answered
in the last `RESEND_WINDOW_S` (at most `RESEND_LIMIT` per controller).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from custom_components.secure_lock.protocol.messages import CommandResult
from custom_components.secure_lock.protocol.session import VerifiedMessage

RESEND_WINDOW_S = 30.0
"""Answers younger than a request's default lifetime are re-sent after a resync."""
RESEND_LIMIT = 4


@dataclass(frozen=True, slots=True)
class SentAnswer:
    """A result as it was sent, and when (monotonic seconds)."""

    request: VerifiedMessage
    payload: CommandResult
    sent_at: float


class RecentAnswers:
    """The newest `RESEND_LIMIT` results sent to each controller."""

    def __init__(self) -> None:
        """Start empty (nothing here is ever written)."""
        self._answers: dict[bytes, deque[SentAnswer]] = {}

    def remember(
        self, request: VerifiedMessage, payload: CommandResult, sent_at: float
    ) -> None:
        """Keep a result just sent (the oldest one for its controller may go)."""
        answers = self._answers.setdefault(
            request.sender_id, deque(maxlen=RESEND_LIMIT)
        )
        answers.append(SentAnswer(request, payload, sent_at))

    def take(self, controller_id: bytes, now: float) -> list[SentAnswer]:
        """Forget the controller's results; return those still young enough to re-send."""
        return [
            answer
            for answer in self._answers.pop(controller_id, ())
            if now - answer.sent_at <= RESEND_WINDOW_S
        ]
