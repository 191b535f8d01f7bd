"""The pace policy: parsing, digest times across daylight saving, quiet hours, urgency."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.pace import (
    QUIET_RELEASE_SECONDS,
    ChatPace,
    Digest,
    PaceAction,
    PaceInputError,
    QuietHours,
    decide_pace,
    load_pace,
    next_digest_at,
    parse_digest,
    parse_quiet,
    previous_digest_at,
    quiet_end,
    release_offset,
    resolve_timezone,
)
from bot.domain.priority import DeliveryPriority

PARIS = ZoneInfo("Europe/Paris")
MONTREAL = ZoneInfo("America/Toronto")


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("off", None),
        ("daily 18:00", "daily 18:00"),
        ("Daily 7:05", "daily 07:05"),
        ("daily 18h30", "daily 18:30"),
        ("weekly mon 09:00", "weekly mon 09:00"),
        ("weekly Lundi 09:00", "weekly mon 09:00"),
        ("weekly sunday 23:59", "weekly sun 23:59"),
        ("quotidien 18h00", "daily 18:00"),
        ("hebdo ven 17:00", "weekly fri 17:00"),
        ("non", None),
    ],
)
def test_parse_digest(text: str, code: str | None) -> None:
    """Accepted forms and the stored code they become."""
    digest = parse_digest(text)
    assert (digest.code() if digest else None) == code


@pytest.mark.parametrize(
    "text",
    ["", "daily", "daily 24:00", "daily 18:60", "weekly 09:00", "weekly xyz 09:00", "hourly 1"],
)
def test_parse_digest_refuses(text: str) -> None:
    """Anything else is a PaceInputError naming what was wrong."""
    with pytest.raises(PaceInputError) as raised:
        parse_digest(text)
    assert raised.value.what == "digest"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("off", None),
        ("non", None),
        ("22:00-08:00", "22:00-08:00"),
        ("1:00 – 6:30", "01:00-06:30"),
        ("22h00 à 7h30", "22:00-07:30"),
    ],
)
def test_parse_quiet(text: str, code: str | None) -> None:
    """Quiet hours may wrap midnight; `off` clears them."""
    quiet = parse_quiet(text)
    assert (quiet.code() if quiet else None) == code


@pytest.mark.parametrize("text", ["22:00", "22:00-22:00", "25:00-08:00", "night", "22-08"])
def test_parse_quiet_refuses(text: str) -> None:
    """Malformed or empty windows are refused."""
    with pytest.raises(PaceInputError):
        parse_quiet(text)


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Montréal", "America/Toronto"),
        ("montreal", "America/Toronto"),
        ("europe/paris", "Europe/Paris"),
        ("America/Vancouver", "America/Vancouver"),
        ("St. John's", "America/St_Johns"),
        ("UTC", "UTC"),
    ],
)
def test_resolve_timezone(text: str, zone: str) -> None:
    """IANA names in any case, and cities of the short list."""
    assert resolve_timezone(text) == zone


@pytest.mark.parametrize("text", ["", "Mars/Olympus", "x" * 80, "../../etc/passwd"])
def test_resolve_timezone_refuses(text: str) -> None:
    """Unknown zones are refused."""
    with pytest.raises(PaceInputError):
        resolve_timezone(text)


def test_quiet_hours_wrap_midnight() -> None:
    """22:00-08:00 holds 23:30 and 07:59, not 08:00 or 21:59."""
    quiet = QuietHours(time(22), time(8))
    assert [quiet.contains(time(h, m)) for h, m in ((23, 30), (7, 59), (8, 0), (21, 59))] == [
        True,
        True,
        False,
        False,
    ]


def test_daily_digest_times_across_spring_forward_in_paris() -> None:
    """18:00 Paris is 17:00 UTC before the change (28 March 2027) and 16:00 UTC after."""
    digest = Digest(time(18))
    slots = []
    moment = _utc(2027, 3, 26, 12)
    for _ in range(4):
        moment = next_digest_at(digest, PARIS, moment)
        slots.append(moment)
    assert slots == [
        _utc(2027, 3, 26, 17),
        _utc(2027, 3, 27, 17),
        _utc(2027, 3, 28, 16),
        _utc(2027, 3, 29, 16),
    ]


def test_daily_digest_times_across_fall_back_in_paris() -> None:
    """One digest per day around 31 October 2027: none skipped, none doubled."""
    digest = Digest(time(18))
    moment = _utc(2027, 10, 29, 18)
    slots = []
    for _ in range(3):
        moment = next_digest_at(digest, PARIS, moment)
        slots.append(moment)
    assert slots == [_utc(2027, 10, 30, 16), _utc(2027, 10, 31, 17), _utc(2027, 11, 1, 17)]


def test_digest_at_a_wall_time_that_does_not_exist_or_exists_twice() -> None:
    """02:30 on spring-forward day and on fall-back day: exactly one digest each day."""
    digest = Digest(time(2, 30))
    spring = [next_digest_at(digest, PARIS, _utc(2027, 3, 27, 12))]
    spring.append(next_digest_at(digest, PARIS, spring[0]))
    fall = [next_digest_at(digest, PARIS, _utc(2027, 10, 30, 12))]
    fall.append(next_digest_at(digest, PARIS, fall[0]))
    assert [s.date().isoformat() for s in spring + fall] == [
        "2027-03-28",
        "2027-03-29",
        "2027-10-31",
        "2027-11-01",
    ]


def test_weekly_digest_and_previous_time() -> None:
    """Weekly on Monday 09:00 Montréal; the previous time is the last Monday's."""
    digest = Digest(time(9), weekday=0)
    monday = next_digest_at(digest, MONTREAL, _utc(2026, 11, 25, 12))  # a Wednesday
    assert (monday, previous_digest_at(digest, MONTREAL, monday + timedelta(days=3))) == (
        _utc(2026, 11, 30, 14),
        _utc(2026, 11, 30, 14),
    )


def test_quiet_end_is_the_next_end_in_the_chat_zone() -> None:
    """At 23:00 Montréal with 22:00-08:00, the quiet hours end at 08:00 next morning."""
    quiet = QuietHours(time(22), time(8))
    at_night = _utc(2026, 11, 25, 4)  # 23:00 in Montréal
    assert (
        quiet_end(quiet, MONTREAL, at_night),
        quiet_end(quiet, MONTREAL, _utc(2026, 11, 25, 15)),
    ) == (
        _utc(2026, 11, 25, 13),
        None,
    )


def test_decide_pace() -> None:
    """Urgent bypasses everything; broadcasts go unless they respect pace; posts wait."""
    night = _utc(2026, 11, 25, 4)
    quiet = ChatPace(MONTREAL, quiet=QuietHours(time(22), time(8)))
    digest = ChatPace(PARIS, digest=Digest(time(18)))
    post = int(DeliveryPriority.POST)
    broadcast = int(DeliveryPriority.BROADCAST)
    urgent = int(DeliveryPriority.URGENT)
    held = decide_pace(quiet, night, chat_id=7, priority=post, is_post=True)
    assert held.action is PaceAction.HOLD
    assert held.until == _utc(2026, 11, 25, 13) + release_offset(7)
    assert (
        decide_pace(quiet, night, chat_id=7, priority=urgent, is_post=True).action
        is PaceAction.SEND
    )
    assert (
        decide_pace(quiet, night, chat_id=7, priority=broadcast, is_post=False).action
        is PaceAction.SEND
    )
    respecting = decide_pace(
        quiet, night, chat_id=7, priority=broadcast, is_post=False, respect_pace=True
    )
    assert respecting.action is PaceAction.HOLD
    in_digest = decide_pace(digest, night, chat_id=7, priority=post, is_post=True)
    assert (in_digest.action, in_digest.until) == (PaceAction.DIGEST, _utc(2026, 11, 25, 17))
    assert (
        decide_pace(None, night, chat_id=7, priority=post, is_post=True).action is PaceAction.SEND
    )


def test_release_offsets_spread_chats_over_the_window() -> None:
    """Chats get different offsets within the window; one chat always the same."""
    offsets = {release_offset(chat_id) for chat_id in range(1000, 1200)}
    assert (
        len(offsets) > 150,
        max(offsets) < timedelta(seconds=QUIET_RELEASE_SECONDS),
        release_offset(42) == release_offset(42),
    ) == (True, True, True)


def test_damaged_stored_settings_read_as_unset() -> None:
    """A stored value that no longer parses (or an unknown zone) falls back to the defaults."""
    pace = load_pace("Nowhere/City", "fortnightly", "always", UTC)
    assert (pace.tz, pace.digest, pace.quiet) == (UTC, None, None)
