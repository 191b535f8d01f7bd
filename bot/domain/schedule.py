"""Pure scheduling arithmetic for feed polling (cf. reader's `next_update_after`).

No I/O: randomness comes in as a number in [0, 1) so that tests can pin it.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from bot.domain.wording import N_
from bot.errors import InvalidInputError

MAX_BACKOFF = timedelta(hours=6)
MAX_TICK_SECONDS = 15.0

# An admin's interval for one feed (/feedinterval, `campaignbot feeds interval`).
MIN_FEED_INTERVAL_SECONDS = 60
MAX_FEED_INTERVAL_SECONDS = 7 * 24 * 3600
# A feed's own ask (<ttl>, sy:updatePeriod, Cache-Control max-age) counts up to a day: a feed
# asking for a week would otherwise go silent for a week.
MAX_FEED_ASK_SECONDS = 24 * 3600
# Words that clear an admin's interval (back to the default and the feed's ask).
INTERVAL_AUTO = frozenset({"auto", "off", "default"})

_INTERVAL = re.compile(r"(\d{1,7})\s*([mhd])")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
# sy:updatePeriod: how long one period is; sy:updateFrequency updates happen in each.
_SY_PERIOD_SECONDS = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 7 * 86400,
    "monthly": 30 * 86400,
    "yearly": 365 * 86400,
}

BAD_INTERVAL = N_(
    "the interval must be from 1 minute to 7 days, written like 15m, 2h or 1d, or auto"
)


def poll_tick_seconds(interval_seconds: float) -> float:
    """How often the poll job wakes up to look for due feeds.

    A tenth of the interval, between 1 and 15 seconds, so that POLL_INTERVAL_SECONDS=1
    works in tests and a 300 s interval costs one cheap query every 15 s.
    """
    return min(MAX_TICK_SECONDS, max(1.0, interval_seconds / 10))


def next_poll_at(
    now: datetime, interval_seconds: float, *, consecutive_failures: int = 0, jitter: float = 0.0
) -> datetime:
    """When a feed should next be polled.

    After a success the feed is due one interval later, minus a jitter of up to one tick
    (never later than one interval, so a new post is seen within one interval; the jitter
    spreads feeds apart). After failures the delay doubles with each one, capped at six hours.

    Args:
        now: the time of this poll (aware).
        interval_seconds: the feed's interval (`feed_interval_seconds`).
        consecutive_failures: failures in a row, including this poll's.
        jitter: a number in [0, 1) scaling the jitter.
    """
    interval = timedelta(seconds=interval_seconds)
    if consecutive_failures <= 0:
        spread = min(poll_tick_seconds(interval_seconds), interval_seconds / 10)
        return now + interval - timedelta(seconds=spread * jitter)
    exponent = min(consecutive_failures - 1, 30)
    # A feed polled less often than the backoff cap keeps its own interval as the cap.
    delay = min(interval * (1 << exponent), max(MAX_BACKOFF, interval))
    # Failing feeds spread forward by up to 10% so that many failing feeds don't retry at once.
    return now + delay + delay * (0.1 * jitter)


def parse_interval(text: str) -> int | None:
    """An admin's polling interval: "15m", "2h", "1d" in seconds; None for auto/off.

    Raises:
        InvalidInputError: not a whole number of m/h/d, under a minute or over 7 days.
    """
    value = text.strip().lower()
    if value in INTERVAL_AUTO:
        return None
    match = _INTERVAL.fullmatch(value)
    if match is None:
        raise InvalidInputError.worded(BAD_INTERVAL)
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not MIN_FEED_INTERVAL_SECONDS <= seconds <= MAX_FEED_INTERVAL_SECONDS:
        raise InvalidInputError.worded(BAD_INTERVAL)
    return seconds


def format_interval(seconds: int) -> str:
    """Seconds as the largest whole unit: 900 -> "15m", 7200 -> "2h", 86400 -> "1d"."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def feed_ask_seconds(
    *,
    ttl: object = None,
    update_period: object = None,
    update_frequency: object = None,
    max_age: object = None,
) -> int | None:
    """The shortest interval a feed asks to be polled at, in seconds; None if it asks nothing.

    Sources: RSS `<ttl>` (minutes), `sy:updatePeriod` divided by `sy:updateFrequency`
    (default 1), `Cache-Control: max-age` (seconds). Each one that makes sense counts, the
    longest wins (each is "not before"), capped at `MAX_FEED_ASK_SECONDS`. Nonsense (zero,
    negative, not a number, an unknown period) is ignored.
    """
    asks: list[float] = []
    minutes = _positive(ttl)
    if minutes is not None:
        asks.append(minutes * 60)
    period = str(update_period).strip().lower() if update_period is not None else ""
    if period in _SY_PERIOD_SECONDS:
        frequency = 1.0 if update_frequency in (None, "") else _positive(update_frequency)
        if frequency is not None:
            asks.append(_SY_PERIOD_SECONDS[period] / frequency)
    seconds = _positive(max_age)
    if seconds is not None:
        asks.append(seconds)
    asks = [a for a in asks if a >= 1]
    if not asks:
        return None
    return int(min(max(asks), MAX_FEED_ASK_SECONDS))


def feed_interval_seconds(
    default_seconds: float, *, admin_seconds: int | None = None, ask_seconds: int | None = None
) -> float:
    """How often one feed is polled.

    An admin's interval wins; otherwise POLL_INTERVAL_SECONDS, or the feed's own ask when it
    asks for longer (capped at a day; a nonsensical stored ask is ignored).
    """
    if admin_seconds is not None and admin_seconds > 0:
        return float(admin_seconds)
    if ask_seconds is not None and ask_seconds > 0:
        return max(default_seconds, float(min(ask_seconds, MAX_FEED_ASK_SECONDS)))
    return default_seconds


def _positive(value: object) -> float | None:
    """A finite number > 0 from a feed's text (or a number), else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    return number
