"""A short run of bench/fuzz.py's campaign: CI's budget of the million-input fuzz."""

from __future__ import annotations

from bench.fuzz import Mutator, Target, run_campaign
from custom_components.secure_lock.protocol import MalformedError, ProtocolError

BUDGET = 6_000


def test_fuzz_budget_finds_no_crash_or_hang() -> None:
    """Every target returns or raises its documented error; none runs past 1 s of CPU."""
    report = run_campaign(BUDGET, seed=20261127, time_limit_s=1.0)
    assert report.inputs == BUDGET
    assert [f.describe() for f in report.findings] == []
    # Every target got inputs, and the mutator reached the typed errors.
    assert all(s.inputs > 0 and s.rejected > 0 for s in report.stats.values())


def test_campaign_reports_undocumented_exceptions_and_hangs() -> None:
    """The oracle itself: a wrong exception type is a crash, a slow input a hang."""

    def crashes_on_zero(data: bytes) -> None:
        if data[:1] == b"\0":
            raise IndexError("boom")
        raise MalformedError("not zero")

    def hangs_on_ff(data: bytes) -> None:
        if data[:1] == b"\xff":
            while True:
                pass

    targets = [
        Target("crashy", crashes_on_zero, (ProtocolError,), (b"\0abc", b"abc")),
        Target("hangs", hangs_on_ff, (ProtocolError,), (b"\xff",)),
    ]
    report = run_campaign(40, seed=1, time_limit_s=0.05, targets=targets)
    assert report.crashes
    assert all(
        f.target == "crashy" and "IndexError" in f.problem for f in report.crashes
    )
    assert report.hangs
    assert all(f.target == "hangs" for f in report.hangs)


def test_mutator_is_reproducible() -> None:
    """The same seed gives the same inputs, so a finding can be replayed."""
    first, second = Mutator(7), Mutator(7)
    corpus = [b"secure-lock frame"]
    assert [first.mutate(corpus[0], corpus) for _ in range(50)] == [
        second.mutate(corpus[0], corpus) for _ in range(50)
    ]
