"""Shared rendering: escaping and shortening of unknown topics, and dates in explicit English."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render import text as render
from tests.render.samples import SLOW, plain_text, problems, texts


@SLOW
@given(key=texts, suggestions=st.lists(texts, max_size=3))
def test_topic_not_found_is_valid_telegram_html(key: str, suggestions: list[str]) -> None:
    """Any key and suggestions render to a "No topic called …" message Telegram accepts."""
    assert problems(render.topic_not_found_message(key, suggestions)) == []


def test_topic_not_found_escapes_hostile_html() -> None:
    """A hostile key is shown literally, not interpreted."""
    rendered = render.topic_not_found_message("<b>x</b>&<script>", ["Write for Rights"])
    assert plain_text(rendered) == (
        "No topic called “<b>x</b>&<script>”. Did you mean: Write for Rights?"
    )


def test_topic_not_found_shortens_a_huge_key() -> None:
    """A 10,000-character key is cut to a short quote."""
    rendered = render.topic_not_found_message("a" * 10_000, [])
    assert len(plain_text(rendered)) < 120


@pytest.mark.parametrize(
    ("moment", "options", "expected"),
    [
        (datetime(2026, 3, 5, 9, 7, tzinfo=UTC), {}, "5 Mar 2026"),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), {"time": True}, "31 Dec 2026 23:59"),
        (datetime(2026, 1, 4, 0, 0, tzinfo=UTC), {"weekday": True}, "Sun 4 Jan 2026"),
        (
            datetime(2026, 5, 1, 8, 30, tzinfo=UTC),
            {"weekday": True, "time": True},
            "Fri 1 May 2026 08:30",
        ),
    ],
)
def test_format_date_is_explicit_english(
    non_english_time: str, moment: datetime, options: dict[str, bool], expected: str
) -> None:
    """Dates read in English with the day unpadded, whatever LC_TIME says."""
    assert render.format_date(moment, UTC, **options) == expected


def test_format_date_uses_the_bot_time_zone() -> None:
    """The date is the one in the given time zone (a UTC evening is the next day in Tokyo)."""
    moment = datetime(2026, 9, 30, 20, 0, tzinfo=UTC)
    assert render.format_date(moment, ZoneInfo("Asia/Tokyo"), time=True) == "1 Oct 2026 05:00"


def test_no_locale_dependent_or_unportable_strftime_in_bot() -> None:
    """No code formats dates with locale names (%a %A %b %B %c %p %x %X) or glibc's %-d."""
    bad = re.compile(r"%-[a-zA-Z]|%[aAbBcpxX]")
    root = Path(render.__file__).resolve().parents[1]
    found = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if not line.lstrip().startswith("#")
        and ("strftime" in line or ":%" in line)  # a call, or an f-string date format
        and bad.search(line)
    ]
    assert found == []
