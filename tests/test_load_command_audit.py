"""bench/command_audit.py: the node-kill load run's judge of every command."""

from __future__ import annotations

from bench.command_audit import CommandRecord, Outcome, Verdict, audit_commands

LOCK = "aa"


def _command(sent: float, ended: float, outcome: Outcome) -> CommandRecord:
    return CommandRecord(LOCK, sent_at=sent, ended_at=ended, outcome=outcome)


def test_an_execution_after_the_controller_gave_up_is_late() -> None:
    """The user was told "timed out" at 15 s; the bolt moved at 16 s."""
    audit = audit_commands([_command(0.0, 15.0, Outcome.TIMED_OUT)], {LOCK: [16.0]})
    assert audit.verdicts == {Verdict.LATE: 1}
    assert audit.unsafe == 1
    (late,) = audit.late
    assert late.after_give_up_s == 1.0


def test_late_after_a_link_failure_too_and_before_the_next_command() -> None:
    """The execution falls between the give-up and the lock's next command."""
    commands = [
        _command(0.0, 0.1, Outcome.LINK_DOWN),
        _command(5.0, 5.2, Outcome.CONFIRMED),
    ]
    audit = audit_commands(commands, {LOCK: [0.3, 5.1]})
    assert audit.verdicts == {Verdict.LATE: 1, Verdict.CONFIRMED: 1}
    assert audit.unsafe == 1


def test_given_up_and_never_executed_fails_safe() -> None:
    """A timeout with nothing executed, and a signed refusal, are safe."""
    commands = [
        _command(0.0, 15.0, Outcome.TIMED_OUT),
        _command(20.0, 20.1, Outcome.REFUSED),
        _command(30.0, 30.1, Outcome.CONFIRMED),
    ]
    audit = audit_commands(commands, {LOCK: [30.05]})
    assert audit.verdicts == {
        Verdict.FAILED_SAFE: 1,
        Verdict.REFUSED: 1,
        Verdict.CONFIRMED: 1,
    }
    assert audit.unsafe == 0


def test_executed_in_time_but_answer_lost_is_told_apart() -> None:
    """Executed before the give-up: not late, but not a clean failure either."""
    audit = audit_commands([_command(0.0, 15.0, Outcome.TIMED_OUT)], {LOCK: [0.2]})
    assert audit.verdicts == {Verdict.EXECUTED_ANSWER_LOST: 1}
    assert audit.unsafe == 0


def test_twice_executed_and_unmatched_executions_are_unsafe() -> None:
    """A replayed command, and a move no command asked for, both count."""
    audit = audit_commands(
        [_command(1.0, 1.1, Outcome.CONFIRMED)], {LOCK: [0.5, 1.05, 1.08]}
    )
    assert audit.verdicts == {Verdict.REPEATED: 1}
    assert audit.unmatched_executions == 1
    assert audit.unsafe == 2
