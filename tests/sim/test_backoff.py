"""Reconnect backoff: the exponential envelope, its equal jitter, reset, validation.

The draw and the sleep are injected: every delay is known, nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import itertools
import math
import random

import pytest

from custom_components.secure_lock.transport import Backoff

from .helpers import full_step

JUST_BELOW_ONE = math.nextafter(1.0, 0.0)


def _draws(*fractions: float) -> Iterator[float]:
    """Hand out ``fractions`` in turn, for ever."""
    return itertools.cycle(fractions)


def _seeded(seed: int) -> Callable[[], float]:
    """Return a reproducible draw."""
    return random.Random(seed).random  # noqa: S311 - reconnect jitter, not a secret


def _steps(initial: float, maximum: float, factor: float, count: int) -> list[float]:
    """Return the exponential envelope's top: ``initial * factor**n`` capped at ``maximum``."""
    return [min(maximum, initial * factor**attempt) for attempt in range(count)]


def test_backoff_sequence() -> None:
    """Delays double up to the cap and reset after success."""
    backoff = Backoff(initial=1.0, maximum=5.0, draw=full_step)
    assert [backoff.next_delay() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next_delay() == 1.0
    with pytest.raises(ValueError):
        Backoff(initial=0)


def test_every_delay_lies_in_the_upper_half_of_its_step() -> None:
    """For each attempt, step / 2 <= delay <= step, whatever is drawn."""
    backoff = Backoff(initial=0.5, maximum=60.0, draw=_seeded(7))
    for step in _steps(0.5, 60.0, 2.0, 40):
        delay = backoff.next_delay()
        assert step / 2 <= delay <= step


def test_the_ends_of_the_draw_give_the_ends_of_the_step() -> None:
    """A draw of 0 gives the step itself; a draw just below 1 gives half of it."""
    steps = _steps(0.5, 6.0, 2.0, 6)  # 0.5, 1, 2, 4, 6, 6
    top = Backoff(initial=0.5, maximum=6.0, draw=full_step)
    assert [top.next_delay() for _ in steps] == steps
    bottom = Backoff(initial=0.5, maximum=6.0, draw=lambda: JUST_BELOW_ONE)
    for step in steps:
        delay = bottom.next_delay()
        assert delay == pytest.approx(step / 2, rel=1e-12)
        assert delay >= step / 2


def test_the_cap_holds_for_every_draw() -> None:
    """Once the step reaches ``maximum`` no delay exceeds it, nor falls below half of it."""
    fractions = (0.0, 0.3, 0.7, JUST_BELOW_ONE)
    draws = _draws(*fractions)
    backoff = Backoff(initial=1.0, maximum=10.0, factor=3.0, draw=lambda: next(draws))
    delays = [backoff.next_delay() for _ in range(12)]
    # Steps 1, 3, 9, then 10 for ever (27 is capped).
    assert delays[:3] == [1.0, 3.0 - 0.3 * 1.5, 9.0 - 0.7 * 4.5]
    capped = [fractions[attempt % 4] for attempt in range(3, 12)]
    assert delays[3:] == [10.0 - fraction * 5.0 for fraction in capped]
    assert all(5.0 <= delay <= 10.0 for delay in delays[3:])


def test_reset_starts_the_envelope_again() -> None:
    """After a success the next delay comes from the first step again."""
    backoff = Backoff(initial=0.5, maximum=60.0, draw=lambda: 0.5)
    for _ in range(6):
        backoff.next_delay()
    assert backoff.next_delay() == 24.0  # step 32 s, three quarters of it
    backoff.reset()
    assert backoff.next_delay() == 0.375
    assert backoff.next_delay() == 0.75


def test_two_clients_with_different_draws_wait_differently() -> None:
    """Clients that lost the same node at once do not come back at the same instant."""
    first = Backoff(draw=_seeded(1))
    second = Backoff(draw=_seeded(2))
    for _ in range(10):
        assert first.next_delay() != second.next_delay()


def test_a_herd_spreads_over_the_upper_half_of_the_first_step() -> None:
    """A thousand clients of one dead node: first delays cover (0.25 s, 0.5 s]."""
    draw = _seeded(3)
    delays = sorted(Backoff(draw=draw).next_delay() for _ in range(1000))
    assert len(set(delays)) == 1000
    assert 0.25 <= delays[0] < 0.26
    assert 0.49 < delays[-1] <= 0.5
    # Roughly uniform: each tenth of the interval holds about a tenth of them.
    tenths = [0] * 10
    for delay in delays:
        tenths[min(9, int((delay - 0.25) / 0.025))] += 1
    assert all(60 <= count <= 140 for count in tenths)


def test_the_default_draw_stays_in_the_envelope() -> None:
    """Without an injected draw the delays still lie within their steps."""
    backoff = Backoff(initial=1.0, maximum=8.0)
    for step in _steps(1.0, 8.0, 2.0, 10):
        assert step / 2 <= backoff.next_delay() <= step


async def test_wait_sleeps_for_the_delay_it_returns() -> None:
    """``wait`` hands each jittered delay to the injected sleep."""
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    draws = _draws(0.0, 0.5)
    backoff = Backoff(initial=2.0, maximum=8.0, sleep=sleep, draw=lambda: next(draws))
    returned = [await backoff.wait() for _ in range(4)]
    assert returned == [2.0, 3.0, 8.0, 6.0]
    assert slept == returned


@pytest.mark.parametrize(
    ("initial", "maximum", "factor"),
    [(0.0, 60.0, 2.0), (-1.0, 60.0, 2.0), (2.0, 1.0, 2.0), (0.5, 60.0, 0.5)],
    ids=["zero-initial", "negative-initial", "maximum-below-initial", "shrinking"],
)
def test_nonsensical_parameters_are_rejected(
    initial: float, maximum: float, factor: float
) -> None:
    """Bad envelopes fail when the backoff is made, not at the first reconnect."""
    with pytest.raises(ValueError, match="initial"):
        Backoff(initial=initial, maximum=maximum, factor=factor)


@pytest.mark.parametrize("fraction", [1.0, -0.1, 1.5])
def test_a_draw_outside_the_unit_interval_is_rejected(fraction: float) -> None:
    """A broken draw fails loudly instead of leaving the envelope."""
    backoff = Backoff(draw=lambda: fraction)
    with pytest.raises(ValueError, match="draw"):
        backoff.next_delay()
