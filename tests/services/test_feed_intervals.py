"""Each feed at its own pace: <ttl>, sy:updatePeriod, max-age and an admin's interval.

The poller runs with POLL_INTERVAL_SECONDS=60 (the `ingest` fixture) on the fake clock; the
feed server counts the requests, so "polled at most once an hour" is counted, not assumed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.db.models import AuditEntry
from bot.errors import InvalidInputError
from bot.services.feeds import FeedService
from bot.services.ingest import IngestService
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import FeedServer, rss
from tests.services.support import ACTOR, Sessions, count_rows

SY = "http://purl.org/rss/1.0/modules/syndication/"


def feed_asking(*channel: str) -> str:
    """An RSS feed with these extra channel elements (and the sy: namespace declared)."""
    body = rss([{"title": "A", "link": "https://e.org/a", "guid": "a"}])
    body = body.replace('<rss version="2.0">', f'<rss version="2.0" xmlns:sy="{SY}">')
    return body.replace("<channel>", "<channel>" + "".join(channel), 1)


async def polls_at(
    ingest: IngestService, clock: FakeClock, feeds: FeedServer, minutes: list[int]
) -> list[int]:
    """Run poll_due at each of these minutes (from now); the request count after each."""
    start, counts = clock.now(), []
    for minute in minutes:
        clock.advance((start + timedelta(minutes=minute) - clock.now()).total_seconds())
        await ingest.poll_due()
        counts.append(feeds.hits("/f.xml"))
    return counts


async def test_ttl_of_an_hour_is_polled_once_an_hour(
    feed_service: FeedService, ingest: IngestService, clock: FakeClock, feeds: FeedServer
) -> None:
    """<ttl>60</ttl>: polled at 0, not at 1, 10 or 59 minutes, again at 60."""
    feeds.add("/f.xml", feed_asking("<ttl>60</ttl>"))
    feed = await feed_service.add_feed(feeds.url("/f.xml"))
    counts = await polls_at(ingest, clock, feeds, [0, 1, 10, 59, 60, 61])
    shown = await feed_service.find_feed(str(feed.id))
    assert (counts, shown.min_interval_seconds, shown.effective_interval_seconds) == (
        [1, 1, 1, 1, 2, 2],
        3600,
        3600,
    )


@pytest.mark.parametrize(
    ("channel", "headers", "ask", "counts"),
    [
        pytest.param(
            (
                "<sy:updatePeriod>hourly</sy:updatePeriod>",
                "<sy:updateFrequency>2</sy:updateFrequency>",
            ),
            {},
            1800,
            [1, 1, 1, 2, 3],
            id="sy-hourly-twice",
        ),
        pytest.param(
            (), {"Cache-Control": "public, max-age=1800"}, 1800, [1, 1, 1, 2, 3], id="max-age"
        ),
        pytest.param(
            ("<ttl>weekly</ttl>",),
            {"Cache-Control": "max-age=0"},
            None,
            [1, 2, 3, 4, 5],
            id="nonsense-ignored",
        ),
        pytest.param(
            ("<sy:updatePeriod>weekly</sy:updatePeriod>",),
            {},
            86400,
            [1, 1, 1, 1, 1],
            id="capped-at-a-day",
        ),
    ],
)
async def test_feed_ask_sets_the_interval(
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    feeds: FeedServer,
    channel: tuple[str, ...],
    headers: dict[str, str],
    ask: int | None,
    counts: list[int],
) -> None:
    """sy:updatePeriod/Frequency and max-age are honoured; nonsense is not; a day at most."""
    feeds.add("/f.xml", feed_asking(*channel), headers=headers)
    feed = await feed_service.add_feed(feeds.url("/f.xml"))
    polled = await polls_at(ingest, clock, feeds, [0, 2, 29, 30, 61])
    shown = await feed_service.find_feed(str(feed.id))
    assert (shown.min_interval_seconds, polled) == (ask, counts)


async def test_max_age_on_a_304_counts_too(
    feed_service: FeedService, ingest: IngestService, clock: FakeClock, feeds: FeedServer
) -> None:
    """A 304 answer's max-age raises the stored ask."""
    feeds.add("/f.xml", feed_asking(), etag='"v1"')
    feed = await feed_service.add_feed(feeds.url("/f.xml"))
    await ingest.poll_due()  # 200, no max-age: polled every minute
    feeds.add("/f.xml", feed_asking(), etag='"v1"', headers={"Cache-Control": "max-age=7200"})
    clock.advance(minutes=1)
    await ingest.poll_due()  # 304 with max-age
    shown = await feed_service.find_feed(str(feed.id))
    assert (feeds.hits("/f.xml"), shown.min_interval_seconds, shown.next_poll_at) == (
        2,
        7200,
        clock.now() + timedelta(hours=2),
    )


async def test_admin_interval_overrides_the_feed_ttl(
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    feeds: FeedServer,
    sessionmaker: Sessions,
) -> None:
    """/feedinterval 15m beats <ttl>60</ttl>; auto gives the feed its hour back."""
    feeds.add("/f.xml", feed_asking("<ttl>60</ttl>"))
    feed = await feed_service.add_feed(feeds.url("/f.xml"))
    await ingest.poll_due()
    shown, changed = await feed_service.set_feed_interval(str(feed.id), "15m", actor=ACTOR)
    counts = await polls_at(ingest, clock, feeds, [14, 15, 29, 30])
    cleared, _ = await feed_service.set_feed_interval(feeds.url("/f.xml"), "auto", actor=ACTOR)
    assert (
        changed,
        shown.interval_seconds,
        counts,
        cleared.interval_seconds,
        cleared.effective_interval_seconds,
        await count_rows(sessionmaker, AuditEntry, AuditEntry.action == "feed.interval"),
    ) == (True, 900, [1, 2, 2, 3], None, 3600, 2)


async def test_bad_interval_changes_nothing(
    feed_service: FeedService, sessionmaker: Sessions
) -> None:
    """15x, 0m, 9d are refused with the same reason (every form: tests/domain)."""
    feed = await feed_service.add_feed("https://news.example.org/feed.xml")
    reasons = set()
    for value in ("15x", "0m", "9d"):
        with pytest.raises(InvalidInputError) as raised:
            await feed_service.set_feed_interval(str(feed.id), value, actor=ACTOR)
        reasons.add(str(raised.value))
    shown = await feed_service.find_feed(str(feed.id))
    assert (
        reasons,
        shown.interval_seconds,
        await count_rows(sessionmaker, AuditEntry, AuditEntry.action == "feed.interval"),
    ) == (
        {"the interval must be from 1 minute to 7 days, written like 15m, 2h or 1d, or auto"},
        None,
        0,
    )
