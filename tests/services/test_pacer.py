"""The pacer's lanes: never more than `rate` starts in any one second, and no rate lost to late
wake-ups (the event loop's sleeps overshoot; fixed slots lost each overshoot for good)."""

from __future__ import annotations

import random

import pytest

from bot.services.delivery import CATCH_UP_SECONDS, FAST_CATCH_UP_SECONDS, Pacer


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _run(pacer: Pacer, clock: _Clock, sends: int, *, paid: bool = False) -> list[float]:
    """Send `sends` messages to distinct chats, each sleep overshooting by up to 0.7 ms."""
    rng = random.Random(7)
    starts = []
    for n in range(sends):
        wait = pacer.reserve(10_000 + n, paid=paid)
        if wait > 0:
            clock.now += wait + rng.uniform(0.0, 0.0007)
            pacer.started(paid=paid)
        starts.append(clock.now)
    return starts


def _max_in_any(starts: list[float], seconds: float) -> int:
    most, left = 0, 0
    for right, at in enumerate(starts):
        while starts[left] <= at - seconds:
            left += 1
        most = max(most, right - left + 1)
    return most


def _max_in_any_second(starts: list[float]) -> int:
    return _max_in_any(starts, 1.0)


@pytest.mark.parametrize(
    ("rate", "catch_up"), [(25, CATCH_UP_SECONDS), (1000, FAST_CATCH_UP_SECONDS)]
)
def test_rate_holds_in_every_second_and_is_sustained(rate: int, catch_up: float) -> None:
    clock = _Clock()
    pacer = Pacer(rate, clock)
    starts = _run(pacer, clock, rate * 10)
    assert _max_in_any_second(starts) <= rate
    # The rate holds: ten seconds' worth in ten seconds (less the catch-up at the start).
    assert 10.0 - catch_up - 0.1 <= starts[-1] - starts[0] <= 10.0


def test_a_slow_lane_sends_evenly() -> None:
    """At a rate sharing Telegram's free 30/s with replies, no burst past a short catch-up."""
    clock = _Clock()
    starts = _run(Pacer(25, clock), clock, 250)
    assert _max_in_any(starts, 0.2) <= 25 * (0.2 + CATCH_UP_SECONDS) + 1


def test_paid_lane_is_apart_from_the_normal_one() -> None:
    clock = _Clock()
    pacer = Pacer(25, clock, paid_rate=1000)
    paid = _run(pacer, clock, 3000, paid=True)
    assert _max_in_any_second(paid) <= 1000
    assert 3.0 - FAST_CATCH_UP_SECONDS - 0.1 <= paid[-1] - paid[0] <= 3.0
    # The normal lane is untouched by the paid sends: its first sends start at once.
    assert pacer.reserve(1) == 0.0
    assert pacer.reserve(2) == pytest.approx(0.0, abs=0.04)


def test_flood_wait_holds_both_lanes_and_per_chat_spacing_stays() -> None:
    clock = _Clock()
    pacer = Pacer(25, clock)
    pacer.pause(5.0)
    assert pacer.reserve(1) == pytest.approx(5.0)
    assert pacer.reserve(2, paid=True) == pytest.approx(5.0)
    assert pacer.reserve(1) == pytest.approx(6.0)  # one a second per private chat


def test_a_stall_is_caught_up_within_the_bound_and_never_past_the_rate() -> None:
    clock = _Clock()
    pacer = Pacer(1000, clock)
    before = _run(pacer, clock, 2000)
    clock.now += 0.05  # the loop was busy elsewhere for 50 ms
    after = _run(pacer, clock, 2000)
    starts = before + after
    assert _max_in_any_second(starts) <= 1000
    # The 50 ms are made up for (within the catch-up bound): 4,000 sends in at most 4 s.
    assert after[-1] - before[0] <= 4.0


def test_a_rate_below_one_spaces_single_sends() -> None:
    clock = _Clock()
    pacer = Pacer(0.5, clock)
    assert pacer.reserve(1) == 0.0
    assert pacer.reserve(2) == pytest.approx(2.0)
