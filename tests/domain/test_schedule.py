"""Pure polling arithmetic: tick, jitter, failure backoff and each feed's own interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.schedule import (
    feed_ask_seconds,
    feed_interval_seconds,
    format_interval,
    next_poll_at,
    parse_interval,
    poll_tick_seconds,
)
from bot.errors import InvalidInputError

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


# -- each feed at its own pace ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1m", 60), ("15m", 900), (" 2H ", 7200), ("1d", 86400), ("7d", 604800), ("auto", None)],
)
def test_parse_interval_reads_minutes_hours_days(text: str, seconds: int | None) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["15x", "0m", "9d", "30s", "", "1.5h", "-5m", "m", "169h"])
def test_parse_interval_refuses_the_rest(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_interval(text)


@pytest.mark.parametrize(
    ("asks", "seconds"),
    [
        ({"ttl": "60"}, 3600),
        ({"ttl": " 30 "}, 1800),
        ({"update_period": "hourly", "update_frequency": "2"}, 1800),
        ({"update_period": "Daily"}, 86400),
        ({"update_period": "weekly"}, 86400),  # capped at a day
        ({"max_age": 600}, 600),
        ({"ttl": "10", "max_age": 1200}, 1200),  # the longest "not before" wins
        ({"ttl": "0"}, None),
        ({"ttl": "-5"}, None),
        ({"ttl": "soon"}, None),
        ({"ttl": "nan"}, None),
        ({"update_period": "fortnightly"}, None),
        ({"update_period": "hourly", "update_frequency": "0"}, None),
        ({}, None),
    ],
)
def test_feed_ask_seconds(asks: dict[str, object], seconds: int | None) -> None:
    assert feed_ask_seconds(**asks) == seconds  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("admin", "ask", "interval"),
    [
        (None, None, 300),
        (None, 60, 300),  # a feed cannot ask to be polled more often than the default
        (None, 3600, 3600),
        (None, 10 * 86400, 86400),
        (900, 3600, 900),  # the admin wins, both ways
        (86400, None, 86400),
    ],
)
def test_feed_interval_seconds(admin: int | None, ask: int | None, interval: int) -> None:
    assert feed_interval_seconds(300, admin_seconds=admin, ask_seconds=ask) == interval


def test_backoff_of_a_slow_feed_is_never_shorter_than_its_interval() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    later = next_poll_at(now, 86400, consecutive_failures=3)
    assert later - now == timedelta(days=1)


@pytest.mark.parametrize(
    ("seconds", "text"), [(60, "1m"), (5400, "90m"), (7200, "2h"), (86400, "1d"), (30, "30s")]
)
def test_format_interval(seconds: int, text: str) -> None:
    assert format_interval(seconds) == text
