"""The pacer's lanes: never more than `rate` starts in any one second, and no rate lost to late
wake-ups (the event loop's sleeps overshoot; fixed slots lost each overshoot for good)."""

from __future__ import annotations

import random

import pytest

from bot.services.delivery import Pacer


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


def _max_in_any_second(starts: list[float]) -> int:
    most, left = 0, 0
    for right, at in enumerate(starts):
        while starts[left] <= at - 1.0:
            left += 1
        most = max(most, right - left + 1)
    return most


@pytest.mark.parametrize("rate", [25, 1000])
def test_rate_holds_in_every_second_and_is_sustained(rate: int) -> None:
    clock = _Clock()
    pacer = Pacer(rate, clock)
    starts = _run(pacer, clock, rate * 10)
    assert _max_in_any_second(starts) <= rate
    # Ten seconds' worth goes out in (just over) nine: the first second's starts are a burst.
    assert starts[-1] - starts[0] == pytest.approx(9.0, abs=0.01)


def test_paid_lane_is_apart_from_the_normal_one() -> None:
    clock = _Clock()
    pacer = Pacer(25, clock, paid_rate=1000)
    paid = _run(pacer, clock, 3000, paid=True)
    assert _max_in_any_second(paid) <= 1000
    assert paid[-1] - paid[0] == pytest.approx(2.0, abs=0.01)
    # The normal lane is untouched: 25 can start at once.
    assert [pacer.reserve(1 + n) for n in range(25)] == [0.0] * 25
    assert pacer.reserve(99) > 0.9


def test_flood_wait_holds_both_lanes_and_per_chat_spacing_stays() -> None:
    clock = _Clock()
    pacer = Pacer(25, clock)
    pacer.pause(5.0)
    assert pacer.reserve(1) == pytest.approx(5.0)
    assert pacer.reserve(2, paid=True) == pytest.approx(5.0)
    assert pacer.reserve(1) == pytest.approx(6.0)  # one a second per private chat


def test_a_rate_below_one_spaces_single_sends() -> None:
    clock = _Clock()
    pacer = Pacer(0.5, clock)
    assert pacer.reserve(1) == 0.0
    assert pacer.reserve(2) == pytest.approx(2.0)
