"""Pure scheduling arithmetic for feed polling (cf. reader's `next_update_after`).

No I/O: randomness comes in as a number in [0, 1) so that tests can pin it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_BACKOFF = timedelta(hours=6)
MAX_TICK_SECONDS = 15.0


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
        interval_seconds: POLL_INTERVAL_SECONDS.
        consecutive_failures: failures in a row, including this poll's.
        jitter: a number in [0, 1) scaling the jitter.
    """
    interval = timedelta(seconds=interval_seconds)
    if consecutive_failures <= 0:
        spread = min(poll_tick_seconds(interval_seconds), interval_seconds / 10)
        return now + interval - timedelta(seconds=spread * jitter)
    exponent = min(consecutive_failures - 1, 30)
    delay = min(interval * (1 << exponent), MAX_BACKOFF)
    # Failing feeds spread forward by up to 10% so that many failing feeds don't retry at once.
    return now + delay + delay * (0.1 * jitter)
