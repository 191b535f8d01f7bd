"""FeedService on SQLite and PostgreSQL, with a fake clock and the local feed server."""

from __future__ import annotations

import pytest

from bot.db.models import Feed
from bot.errors import AlreadyExistsError
from bot.services.feeds import FeedService
from bot.services.ingest import IngestService
from bot.services.roles import RoleService
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import FeedServer, rss
from tests.services.support import ACTOR, ADMIN_ID, Sessions, audit_actions, count_rows


async def test_add_feed_checks_then_adds(
    feed_service: FeedService, feeds: FeedServer, sessionmaker: Sessions
) -> None:
    """A readable feed is added with its entry count; adding it again is refused."""
    feeds.add("/f.xml", rss([{"title": "A", "link": "https://e.org/a"}], title="T"))
    added = await feed_service.add_checked_feed(feeds.url("/f.xml"), actor=ACTOR)
    with pytest.raises(AlreadyExistsError):
        await feed_service.add_checked_feed(feeds.url("/f.xml"), actor=ACTOR)
    assert (added.title, added.entries, await count_rows(sessionmaker, Feed)) == ("T", 1, 1)


async def test_pause_twice_changes_once(feed_service: FeedService, sessionmaker: Sessions) -> None:
    """Pausing a paused feed is no change and no second audit row."""
    feed = await feed_service.add_feed("https://news.example.org/feed.xml")
    await feed_service.set_feed_paused(str(feed.id), True, actor=ACTOR)
    _, changed = await feed_service.set_feed_paused(str(feed.id), True, actor=ACTOR)
    assert (changed, await audit_actions(sessionmaker)) == (False, ["feed.add", "feed.pause"])


async def _failing_feed(
    feed_service: FeedService, ingest: IngestService, feeds: FeedServer
) -> int:
    feeds.error("/f.xml", 503)
    feed = await feed_service.add_feed(feeds.url("/f.xml"), "Flaky")
    await ingest.poll_feed(feed.id)
    return feed.id


async def test_failing_feed_not_reported_before_24_hours(
    feed_service: FeedService,
    ingest: IngestService,
    feeds: FeedServer,
    clock: FakeClock,
) -> None:
    """A feed failing for 23 hours is not reported yet."""
    await _failing_feed(feed_service, ingest, feeds)
    clock.advance(hours=23)
    assert (await feed_service.feed_health_report()).failing == ()


async def test_failing_feed_reported_once(
    feed_service: FeedService,
    roles: RoleService,
    ingest: IngestService,
    feeds: FeedServer,
    clock: FakeClock,
) -> None:
    """After 24 hours the feed is reported to every admin once, not on the next run."""
    await roles.grant(ACTOR, "800", "admin")
    feed_id = await _failing_feed(feed_service, ingest, feeds)
    clock.advance(hours=24)
    first = await feed_service.feed_health_report()
    second = await feed_service.feed_health_report()
    assert (
        [(f.id, f.label, f.last_error is not None) for f in first.failing],
        first.recipients,
        second.failing,
    ) == ([(feed_id, "Flaky", True)], (ADMIN_ID, 800), ())


async def test_recovery_reported_once(
    feed_service: FeedService,
    ingest: IngestService,
    feeds: FeedServer,
    clock: FakeClock,
) -> None:
    """A reported feed that works again is reported recovered once."""
    feed_id = await _failing_feed(feed_service, ingest, feeds)
    clock.advance(hours=25)
    await feed_service.feed_health_report()
    feeds.add("/f.xml", rss([{"title": "A", "link": "https://e.org/a"}]))
    await ingest.poll_feed(feed_id)
    first = await feed_service.feed_health_report()
    second = await feed_service.feed_health_report()
    assert ([f.id for f in first.recovered], second.recovered) == ([feed_id], ())


async def test_paused_failing_feed_not_reported(
    feed_service: FeedService,
    ingest: IngestService,
    feeds: FeedServer,
    clock: FakeClock,
) -> None:
    """An admin-paused feed is not reported as failing."""
    feed_id = await _failing_feed(feed_service, ingest, feeds)
    await feed_service.set_feed_paused(str(feed_id), True, actor=ACTOR)
    clock.advance(hours=48)
    assert (await feed_service.feed_health_report()).failing == ()
