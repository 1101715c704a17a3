"""Judge each command of a load run: did one the controller gave up on run all the same.

bench/load.py records, for every command, when the controller sent it and
when it finished (confirmed, refused, or given up: the timeout Home
Assistant would show, or a link that could not carry it); the lock process
records when each lock started its motor for a controller's command.  Both
use CLOCK_MONOTONIC, which all processes on one Linux machine share.

A lock has at most one command in flight (the load sends the next only after
the previous finished), so each execution belongs to the last command sent
to that lock before it.  An execution at or after the moment the controller
gave up on that command is LATE: the user was told it failed, and then the
door moved.  Two executions of one command (a replay) are as bad.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    """What the controller saw of one command."""

    CONFIRMED = "confirmed"
    WRONG_STATE = "wrong state"
    """Confirmed, but the signed state is not what was commanded."""
    REFUSED = "refused"
    """The lock answered, signed, that it did not do it (code in the record)."""
    TIMED_OUT = "timed out"
    """No signed answer within the timeout: what Home Assistant shows as a failure."""
    LINK_DOWN = "link down"
    """The link could not take the frame (its node was gone): failed at once."""


class Verdict(StrEnum):
    """One command, judged from both sides."""

    CONFIRMED = "confirmed"
    REFUSED = "refused"
    FAILED_SAFE = "failed safe"
    """Given up by the controller and never executed."""
    EXECUTED_ANSWER_LOST = "executed, answer lost"
    """Executed before the controller gave up, but its result never arrived:
    the user saw a failure while the bolt moved in time (the next status or
    event shows the truth)."""
    LATE = "executed late"
    REPEATED = "executed more than once"


UNSAFE = frozenset({Verdict.LATE, Verdict.REPEATED})


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """One command as the controller saw it (monotonic seconds)."""

    lock: str
    sent_at: float
    ended_at: float
    """When the answer came or the controller gave up."""
    outcome: Outcome
    code: str = ""
    """The lock's result code for a refusal."""


@dataclass(frozen=True, slots=True)
class LateExecution:
    """An execution the controller had already given up on."""

    lock: str
    executed_at: float
    after_give_up_s: float
    outcome: Outcome


@dataclass(slots=True)
class Audit:
    """Every command's verdict, and the executions that match no command."""

    verdicts: Counter[Verdict] = field(default_factory=Counter)
    late: list[LateExecution] = field(default_factory=list)
    unmatched_executions: int = 0
    """Executions on a lock before any command was sent to it."""

    @property
    def unsafe(self) -> int:
        """Return the commands executed late or twice, plus unmatched executions."""
        return sum(self.verdicts[v] for v in UNSAFE) + self.unmatched_executions


def _judge(command: CommandRecord, executions: list[float], audit: Audit) -> Verdict:
    if len(executions) > 1:
        return Verdict.REPEATED
    if command.outcome in (Outcome.CONFIRMED, Outcome.WRONG_STATE):
        return Verdict.CONFIRMED
    # The controller reported a failure at ended_at: any execution from
    # then on reached a user who had been told it did not happen.
    late = [t for t in executions if t >= command.ended_at]
    if late:
        audit.late.extend(
            LateExecution(command.lock, t, t - command.ended_at, command.outcome)
            for t in late
        )
        return Verdict.LATE
    if executions:
        return Verdict.EXECUTED_ANSWER_LOST
    return (
        Verdict.REFUSED if command.outcome is Outcome.REFUSED else Verdict.FAILED_SAFE
    )


def audit_commands(
    commands: Iterable[CommandRecord], executions: Mapping[str, Sequence[float]]
) -> Audit:
    """Judge every command against the lock's record of what it executed."""
    by_lock: dict[str, list[CommandRecord]] = {}
    for command in commands:
        by_lock.setdefault(command.lock, []).append(command)
    audit = Audit()
    for lock in by_lock.keys() | executions.keys():
        sent = sorted(by_lock.get(lock, []), key=lambda c: c.sent_at)
        times = [c.sent_at for c in sent]
        matched: list[list[float]] = [[] for _ in sent]
        for executed_at in executions.get(lock, ()):
            index = bisect.bisect_right(times, executed_at) - 1
            if index < 0:
                audit.unmatched_executions += 1
            else:
                matched[index].append(executed_at)
        for command, executed in zip(sent, matched, strict=True):
            audit.verdicts[_judge(command, executed, audit)] += 1
    return audit
