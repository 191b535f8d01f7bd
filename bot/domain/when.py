"""Pure parsing of an organiser's "when" for a scheduled broadcast.

Owns the accepted forms ("in 2h", "in 30m", "in 1h 30m", "18:30", "tomorrow 09:00",
"2026-12-10 09:00") and the rules: wall-clock times are read in the bot's time zone
(BOT_TIMEZONE), a bare time means today or, once passed, tomorrow; the result must lie in
the future and at most a year ahead. `now` is always passed in.
No I/O, no Telegram, no SQLAlchemy.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from bot.domain.wording import N_
from bot.errors import InvalidInputError

MAX_AHEAD = timedelta(days=365)
EXAMPLES = "“in 2h”, “in 30m”, “18:30”, “tomorrow 09:00” or “2026-12-10 09:00”"

_UNITS = {
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}
_RELATIVE = re.compile(r"^in\s+(?P<parts>(?:\d{1,5}\s*[a-z]+\s*)+)$")
_PART = re.compile(r"(\d{1,5})\s*([a-z]+)")
_CLOCK = r"(?P<hour>\d{1,2})[:.](?P<minute>\d{2})"
_TIME_ONLY = re.compile(rf"^(?P<day>today|tomorrow)?\s*(?:at\s+)?{_CLOCK}$")
_DATE_TIME = re.compile(rf"^(?P<y>\d{{4}})-(?P<mo>\d{{1,2}})-(?P<d>\d{{1,2}})(?:\s+|t){_CLOCK}$")


def parse_when(text: str, now: datetime, tz: tzinfo) -> datetime:
    """The moment `text` names, as an aware UTC datetime.

    Args:
        text: What the organiser typed.
        now: The current time (aware).
        tz: The time zone wall-clock times are read in.

    Raises:
        InvalidInputError: The text is not a time we understand, names a time that does not
            exist (a daylight-saving gap), lies in the past, or more than a year ahead.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    wanted = " ".join(text.strip().lower().split())
    moment = _relative(wanted, now) or _wall_clock(wanted, now, tz)
    if moment is None:
        raise InvalidInputError.worded(
            N_("I don't understand that time. Try %(examples)s."), examples=EXAMPLES
        )
    moment = moment.astimezone(UTC)
    if moment <= now:
        raise InvalidInputError.worded(
            N_("That time has already passed; choose a time in the future.")
        )
    if moment - now > MAX_AHEAD:
        raise InvalidInputError.worded(
            N_("That is more than a year ahead; choose an earlier time.")
        )
    return moment


def _relative(text: str, now: datetime) -> datetime | None:
    match = _RELATIVE.fullmatch(text)
    if match is None:
        return None
    seconds = 0
    for amount, unit in _PART.findall(match["parts"]):
        if unit not in _UNITS:
            return None
        seconds += int(amount) * _UNITS[unit]
    return now + timedelta(seconds=seconds)


def _wall_clock(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    local_today = now.astimezone(tz).date()
    match = _TIME_ONLY.fullmatch(text)
    if match is not None:
        clock = _clock(match["hour"], match["minute"])
        if clock is None:
            return None
        if match["day"] == "tomorrow":
            return _local(local_today + timedelta(days=1), clock, tz)
        moment = _local(local_today, clock, tz)
        if match["day"] is None and moment <= now:
            moment = _local(local_today + timedelta(days=1), clock, tz)
        return moment
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return None
    clock = _clock(match["hour"], match["minute"])
    try:
        day = date(int(match["y"]), int(match["mo"]), int(match["d"]))
    except ValueError:
        return None
    return None if clock is None else _local(day, clock, tz)


def _clock(hour: str, minute: str) -> time | None:
    h, m = int(hour), int(minute)
    return time(h, m) if h < 24 and m < 60 else None


def _local(day: date, clock: time, tz: tzinfo) -> datetime:
    """A wall-clock time in `tz`; an ambiguous one (clocks going back) is the first.

    Raises:
        InvalidInputError: The time is skipped when the clocks go forward.
    """
    moment = datetime.combine(day, clock, tzinfo=tz)
    round_trip = moment.astimezone(UTC).astimezone(tz)
    if round_trip.replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise InvalidInputError.worded(
            N_(
                "%(time)s does not exist in this time zone (the clocks go forward); "
                "choose another time."
            ),
            time=f"{day.isoformat()} {clock.strftime('%H:%M')}",
        )
    return moment
