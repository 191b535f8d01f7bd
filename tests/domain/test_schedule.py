"""Pure polling arithmetic: tick, jitter and failure backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.schedule import next_poll_at, poll_tick_seconds

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("interval", "tick"), [(1, 1.0), (5, 1.0), (60, 6.0), (300, 15.0), (86400, 15.0)]
)
def test_poll_tick_adapts_to_interval(interval: int, tick: float) -> None:
    """The poll job wakes a tenth of the interval, between 1 and 15 seconds."""
    assert poll_tick_seconds(interval) == tick


@pytest.mark.parametrize("jitter", [0.0, 0.5, 0.999])
def test_success_is_never_later_than_one_interval(jitter: float) -> None:
    """After a success the next poll comes within one interval, at most one tick early."""
    due = next_poll_at(NOW, 300, jitter=jitter)
    assert timedelta(seconds=285) <= due - NOW <= timedelta(seconds=300)


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(1, 300), (2, 600), (3, 1200), (7, 19200), (8, 6 * 3600), (100, 6 * 3600)],
)
def test_failures_back_off_exponentially_capped(failures: int, expected: int) -> None:
    """Each failure doubles the delay, up to six hours."""
    due = next_poll_at(NOW, 300, consecutive_failures=failures, jitter=0.0)
    assert due - NOW == timedelta(seconds=expected)


def test_failure_jitter_spreads_forward_by_at_most_ten_percent() -> None:
    """Failing feeds retry a little later, never earlier, than their backoff."""
    due = next_poll_at(NOW, 300, consecutive_failures=2, jitter=0.999)
    assert timedelta(seconds=600) <= due - NOW <= timedelta(seconds=660)


def test_one_second_interval_works() -> None:
    """POLL_INTERVAL_SECONDS=1 (tests) gives a due time within a second."""
    due = next_poll_at(NOW, 1, jitter=0.5)
    assert timedelta(seconds=0.5) <= due - NOW <= timedelta(seconds=1)
