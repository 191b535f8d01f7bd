"""Pure tests of bot.domain.when: what an organiser may type as a broadcast time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.when import parse_when
from bot.errors import InvalidInputError

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 2h", NOW + timedelta(hours=2)),
        ("in 30m", NOW + timedelta(minutes=30)),
        ("In 1h 30m", NOW + timedelta(minutes=90)),
        ("in 45 minutes", NOW + timedelta(minutes=45)),
        ("in 2 hours", NOW + timedelta(hours=2)),
        ("in 3d", NOW + timedelta(days=3)),
        ("18:30", datetime(2026, 11, 24, 18, 30, tzinfo=UTC)),
        ("08:15", datetime(2026, 11, 25, 8, 15, tzinfo=UTC)),
        ("tomorrow 09:00", datetime(2026, 11, 25, 9, 0, tzinfo=UTC)),
        ("today at 10.05", datetime(2026, 11, 24, 10, 5, tzinfo=UTC)),
        ("2026-12-10 09:00", datetime(2026, 12, 10, 9, 0, tzinfo=UTC)),
        ("2026-12-10T09:00", datetime(2026, 12, 10, 9, 0, tzinfo=UTC)),
    ],
)
def test_parse_when_reads_forms_in_utc(text: str, expected: datetime) -> None:
    """Relative, clock and date forms give the expected moment when BOT_TIMEZONE is UTC."""
    assert parse_when(text, NOW, UTC) == expected


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("18:30", BERLIN, datetime(2026, 11, 24, 17, 30, tzinfo=UTC)),
        ("09:30", BERLIN, datetime(2026, 11, 24, 8, 30, tzinfo=UTC) + timedelta(days=1)),
        ("2026-12-10 09:00", NEW_YORK, datetime(2026, 12, 10, 14, 0, tzinfo=UTC)),
        ("in 2h", NEW_YORK, NOW + timedelta(hours=2)),
    ],
)
def test_parse_when_reads_wall_clock_in_bot_timezone(
    text: str, tz: ZoneInfo, expected: datetime
) -> None:
    """Wall-clock times are read in BOT_TIMEZONE; a passed time today means tomorrow."""
    assert parse_when(text, NOW, tz) == expected


def test_parse_when_uses_summer_offset_after_dst_change() -> None:
    """A date after the spring change gets the summer offset (CEST, UTC+2)."""
    now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    assert parse_when("2026-04-01 09:00", now, BERLIN) == datetime(2026, 4, 1, 7, 0, tzinfo=UTC)


def test_parse_when_refuses_time_skipped_by_dst() -> None:
    """02:30 on the night the clocks go forward does not exist and is refused."""
    now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    with pytest.raises(InvalidInputError, match="does not exist"):
        parse_when("2026-03-29 02:30", now, BERLIN)


def test_parse_when_takes_first_of_ambiguous_times() -> None:
    """02:30 on the night the clocks go back is its first occurrence (still CEST)."""
    now = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
    actual = parse_when("2026-10-25 02:30", now, BERLIN)
    assert actual == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-11-24 08:59", "already passed"),
        ("today 08:00", "already passed"),
        ("in 0m", "already passed"),
        ("2027-11-25 09:00", "more than a year"),
        ("in 400d", "more than a year"),
        ("next tuesday", "don't understand"),
        ("25:00", "don't understand"),
        ("2026-02-30 10:00", "don't understand"),
        ("in 2 fortnights", "don't understand"),
        ("", "don't understand"),
    ],
)
def test_parse_when_refuses_past_far_and_unknown(text: str, message: str) -> None:
    """The past, more than a year ahead and unknown forms are refused with a clear reason."""
    with pytest.raises(InvalidInputError, match=message):
        parse_when(text, NOW, UTC)


def test_parse_when_accepts_exactly_one_year_ahead() -> None:
    """365 days ahead is still allowed."""
    assert parse_when("in 365d", NOW, UTC) == NOW + timedelta(days=365)
