"""Polling end to end on a real database and a real local feed server (no mocks of our code)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import async_database_url
from bot.db.models import Delivery, Feed, Post, PostTopic, Topic
from bot.db.repos import ChatRepo, FeedRepo, TopicRepo
from bot.db.session import make_engine, make_sessionmaker
from bot.domain.topics import default_topics_text, parse_topics_toml
from bot.domain.types import PollOutcome
from bot.feeds.fetch import AiohttpFetcher
from bot.services.feeds import FeedService
from bot.services.ingest import IngestService
from bot.services.topics import TopicService
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import FeedServer, rss

TORTURE_POST = {
    "title": "Detainees describe torture in secret prisons",
    "link": "https://news.example.org/2026/11/detainees?utm_source=rss&utm_medium=feed",
    "guid": "post-100",
    "description": "<p>Survivors speak out.</p>",
    "categories": ["StopTorture"],
    "pubDate": datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
}
OLD_POST = {
    "title": "A bake sale for the office",
    "link": "https://news.example.org/2026/10/bake-sale",
    "guid": "post-1",
    "description": "Cakes on Friday.",
    "pubDate": datetime(2026, 10, 1, 8, 0, tzinfo=UTC),
}


pytestmark = pytest.mark.usefixtures("topics")  # the bundled topics, in every test


async def _topic_id(sessionmaker: async_sessionmaker[AsyncSession], slug: str) -> int:
    async with sessionmaker() as session:
        topic = await TopicRepo(session).by_key(slug)
        assert topic is not None
        return topic.id


async def _subscribe(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    chat_id: int,
    *slugs: str,
    active: bool = True,
) -> None:
    async with sessionmaker.begin() as session:
        chats = ChatRepo(session)
        await chats.ensure(chat_id, "private", clock.now())
        for slug in slugs:
            topic = await TopicRepo(session).by_key(slug)
            assert topic is not None
            await chats.subscribe(chat_id, topic.id, clock.now())
        if not active:
            await chats.set_inactive(chat_id, "blocked", clock.now())


async def _deliveries(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[int, str]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Delivery.chat_id, Post.identity)
            .join(Post, Post.id == Delivery.post_id)
            .order_by(Delivery.chat_id)
        )
        return [(chat_id, identity) for chat_id, identity in rows.all()]


async def _posts(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Post]:
    async with sessionmaker() as session:
        return list((await session.execute(select(Post).order_by(Post.id))).scalars())


async def _prime(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    path: str = "/feed.xml",
    items: list[dict[str, object]] | None = None,
) -> int:
    feeds.add(path, rss(items if items is not None else [OLD_POST]), etag='"v1"')
    info = await feed_service.add_feed(feeds.url(path))
    await ingest.poll_due()
    clock.advance(61)
    return info.id


async def test_first_poll_records_posts_without_announcing(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A new feed's existing entries are stored as seen, and nobody is sent them."""
    await _subscribe(sessionmaker, clock, 1001, "stoptorture")
    feeds.add("/feed.xml", rss([OLD_POST, TORTURE_POST]))
    await feed_service.add_feed(feeds.url("/feed.xml"))
    summary = await ingest.poll_due()
    posts = await _posts(sessionmaker)
    assert (summary.posts_new, [p.announced for p in posts], await _deliveries(sessionmaker)) == (
        2,
        [False, False],
        [],
    )


async def test_new_post_creates_one_delivery_per_subscribed_chat(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Subscribers of a matched topic get one pending delivery each; others get none."""
    await _subscribe(sessionmaker, clock, 1001, "stoptorture")
    await _subscribe(sessionmaker, clock, 1002, "stoptorture", "write-for-rights")
    await _subscribe(sessionmaker, clock, 1003, "indigenous-rights")
    await _subscribe(sessionmaker, clock, 1004, "stoptorture", active=False)
    await _prime(feeds, feed_service, ingest, clock)
    feeds.add("/feed.xml", rss([TORTURE_POST, OLD_POST]), etag='"v2"')
    summary = await ingest.poll_due()
    assert (summary.deliveries_new, await _deliveries(sessionmaker)) == (
        2,
        [(1001, "post-100"), (1002, "post-100")],
    )


async def test_chat_following_several_matched_topics_gets_one_delivery(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A post matching two topics a chat follows is delivered to it once."""
    await _subscribe(sessionmaker, clock, 2001, "stoptorture", "write-for-rights")
    await _prime(feeds, feed_service, ingest, clock)
    both = dict(TORTURE_POST, categories=["StopTorture", "Write for Rights"])
    feeds.add("/feed.xml", rss([both]), etag='"v2"')
    await ingest.poll_due()
    assert await _deliveries(sessionmaker) == [(2001, "post-100")]


async def test_post_topics_are_stored(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Each stored post keeps the topics it matched."""
    await _prime(feeds, feed_service, ingest, clock)
    mmiw = {
        "title": "Justice for missing and murdered Indigenous women",
        "link": "https://news.example.org/mmiw",
        "guid": "post-200",
        "description": "Families demand answers.",
    }
    feeds.add("/feed.xml", rss([mmiw, TORTURE_POST]), etag='"v2"')
    await ingest.poll_due()
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Post.identity, Topic.slug)
            .join(PostTopic, PostTopic.post_id == Post.id)
            .join(Topic, Topic.id == PostTopic.topic_id)
            .order_by(Post.identity, Topic.slug)
        )
        pairs = [tuple(r) for r in rows.all()]
    assert pairs == [("post-100", "stoptorture"), ("post-200", "indigenous-rights")]


async def test_repolling_same_content_creates_nothing(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Polling the same document again (without validators) adds no post and no delivery."""
    await _subscribe(sessionmaker, clock, 1001, "stoptorture")
    await _prime(feeds, feed_service, ingest, clock)
    feeds.add("/feed.xml", rss([TORTURE_POST, OLD_POST]))
    await ingest.poll_due()
    clock.advance(61)
    summary = await ingest.poll_due()
    assert (summary.posts_new, summary.deliveries_new, len(await _deliveries(sessionmaker))) == (
        0,
        0,
        1,
    )


async def test_not_modified_costs_no_parse_and_keeps_validators(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A 304 answer is recorded as success and the ETag is kept for the next poll."""
    feed_id = await _prime(feeds, feed_service, ingest, clock)
    summary = await ingest.poll_due()
    async with sessionmaker() as session:
        feed = await session.get(Feed, feed_id)
        assert feed is not None
    assert ([o.status for o in summary.outcomes], feed.etag, feed.consecutive_failures) == (
        ["not_modified"],
        '"v1"',
        0,
    )


async def test_edited_post_is_updated_not_reannounced(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A later edit of a post (same identity) updates it and queues nothing new."""
    await _subscribe(sessionmaker, clock, 1001, "stoptorture")
    await _prime(feeds, feed_service, ingest, clock)
    feeds.add("/feed.xml", rss([TORTURE_POST]), etag='"v2"')
    await ingest.poll_due()
    clock.advance(61)
    edited = dict(TORTURE_POST, title="UPDATED: detainees describe torture")
    feeds.add("/feed.xml", rss([edited]), etag='"v3"')
    summary = await ingest.poll_due()
    titles = [p.title for p in await _posts(sessionmaker)]
    assert (summary.deliveries_new, titles[-1], len(await _deliveries(sessionmaker))) == (
        0,
        "UPDATED: detainees describe torture",
        1,
    )


async def test_same_canonical_url_in_another_feed_is_not_new(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A post already known by canonical URL (utm_* and fragment aside) is not announced again."""
    await _subscribe(sessionmaker, clock, 1001, "stoptorture")
    await _prime(feeds, feed_service, ingest, clock, "/a.xml")
    await _prime(feeds, feed_service, ingest, clock, "/b.xml")
    feeds.add("/a.xml", rss([TORTURE_POST]), etag='"a2"')
    await ingest.poll_due()
    clock.advance(61)
    syndicated = dict(
        TORTURE_POST, guid="other-guid", link="https://news.example.org/2026/11/detainees#top"
    )
    feeds.add("/b.xml", rss([syndicated]), etag='"b2"')
    summary = await ingest.poll_due()
    assert (summary.posts_new, await _deliveries(sessionmaker)) == (0, [(1001, "post-100")])


async def test_broken_feed_records_error_and_backs_off(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A failing feed keeps a readable error, counts failures and waits longer each time."""
    feeds.error("/down.xml", 503)
    info = await feed_service.add_feed(feeds.url("/down.xml"))
    delays = []
    for _ in range(3):
        await ingest.poll_due()
        async with sessionmaker() as session:
            feed = await session.get(Feed, info.id)
            assert feed is not None
        delays.append((feed.next_poll_at - clock.now()).total_seconds())
        clock.current = feed.next_poll_at
    assert (feed.consecutive_failures, "503" in (feed.last_error or ""), delays) == (
        3,
        True,
        [60.0, 120.0, 240.0],
    )


async def test_backoff_is_capped_at_six_hours(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """However long a feed fails, it is retried at least every six hours."""
    feeds.error("/down.xml", 500)
    info = await feed_service.add_feed(feeds.url("/down.xml"))
    for _ in range(12):
        await ingest.poll_due()
        async with sessionmaker() as session:
            feed = await session.get(Feed, info.id)
            assert feed is not None
        clock.current = feed.next_poll_at
    async with sessionmaker() as session:
        feed = await session.get(Feed, info.id)
        assert feed is not None
    await ingest.poll_due()
    async with sessionmaker() as session:
        feed = await session.get(Feed, info.id)
        assert feed is not None
    assert feed.next_poll_at - clock.now() == timedelta(hours=6)


async def test_broken_feed_does_not_stop_healthy_ones(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """In one cycle, a hanging and a failing feed are errors while a healthy feed is stored."""
    feeds.hang("/hang.xml")
    feeds.error("/down.xml", 500)
    feeds.add("/ok.xml", rss([OLD_POST]))
    for path in ("/hang.xml", "/down.xml", "/ok.xml"):
        await feed_service.add_feed(feeds.url(path))
    summary = await ingest.poll_due()
    statuses = sorted((o.url.rsplit("/", 1)[1], o.status) for o in summary.outcomes)
    assert statuses == [("down.xml", "error"), ("hang.xml", "error"), ("ok.xml", "new")]


async def test_recovery_resets_health(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """After a failure, a successful poll clears the error and the failure count."""
    feeds.error("/feed.xml", 500)
    info = await feed_service.add_feed(feeds.url("/feed.xml"))
    await ingest.poll_due()
    feeds.add("/feed.xml", rss([OLD_POST]))
    clock.advance(hours=1)
    await ingest.poll_due()
    async with sessionmaker() as session:
        feed = await session.get(Feed, info.id)
        assert feed is not None
    assert (feed.consecutive_failures, feed.last_error, feed.failing_since) == (0, None, None)


async def test_html_page_resolves_to_its_feed(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A URL that answers with an HTML page is resolved through its alternate link and stored."""
    feeds.add("/real-feed.xml", rss([OLD_POST]))
    feeds.html_with_alternate("/blog", "/real-feed.xml")
    info = await feed_service.add_feed(feeds.url("/blog"))
    summary = await ingest.poll_due()
    async with sessionmaker() as session:
        feed = await session.get(Feed, info.id)
        assert feed is not None
    assert (summary.outcomes[0].status, feed.url) == ("new", feeds.url("/real-feed.xml"))


async def test_only_due_feeds_are_polled(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
) -> None:
    """A feed polled a moment ago is not polled again before its interval passes."""
    await _prime(feeds, feed_service, ingest, clock)
    hits = feeds.hits("/feed.xml")
    clock.advance(-61 + 30)
    summary = await ingest.poll_due()
    assert (summary.feeds_polled, feeds.hits("/feed.xml")) == (0, hits)


async def test_one_call_polls_every_due_feed_a_page_at_a_time(
    feeds: FeedServer,
    feed_service: FeedService,
    fetcher: AiohttpFetcher,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
    refuse_feed_updates: Callable[[int], Awaitable[None]],
) -> None:
    """Five due feeds read two at a time are all polled by one call, each once, even the
    one whose failure cannot be recorded (it stays due); the next call polls only that one."""
    feeds.error("/down.xml", 500)
    down = await feed_service.add_feed(feeds.url("/down.xml"))
    paths = [f"/feed-{n}.xml" for n in range(4)]
    for path in paths:
        feeds.add(path, rss([OLD_POST]))
        await feed_service.add_feed(feeds.url(path))
    await refuse_feed_updates(down.id)
    ingest = IngestService(
        sessionmaker, fetcher, clock, interval_seconds=60, rng=lambda: 0.0, due_page=2
    )
    first = await ingest.poll_due()
    hits = [feeds.hits(path) for path in ["/down.xml", *paths]]
    second = await ingest.poll_due()
    assert (first.feeds_polled, hits, [o.feed_id for o in second.outcomes]) == (
        5,
        [1, 1, 1, 1, 1],
        [down.id],
    )


async def test_rule_added_changes_matching_of_next_post(
    feeds: FeedServer,
    feed_service: FeedService,
    topics: TopicService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Topic rules are read at each poll, so a new keyword matches the next post."""
    await _subscribe(sessionmaker, clock, 1001, "write-for-rights")
    await _prime(feeds, feed_service, ingest, clock)
    specs = parse_topics_toml(default_topics_text())
    w4r = next(s for s in specs if s.slug == "write-for-rights")
    from dataclasses import replace

    await topics.import_topics([replace(w4r, keywords=(*w4r.keywords, "postcard marathon"))])
    post = {
        "title": "Join the postcard marathon",
        "link": "https://news.example.org/postcards",
        "guid": "post-300",
        "description": "Send a card.",
    }
    feeds.add("/feed.xml", rss([post]), etag='"v2"')
    await ingest.poll_due()
    assert await _deliveries(sessionmaker) == [(1001, "post-300")]


async def _stored_url(sessionmaker: async_sessionmaker[AsyncSession], feed_id: int) -> str:
    async with sessionmaker() as session:
        feed = await session.get(Feed, feed_id)
        assert feed is not None
        return feed.url


@pytest.mark.parametrize("status", [301, 308])
async def test_permanent_redirect_updates_the_feed_url(
    status: int,
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A feed that moved permanently (301, 308) is stored under its new URL."""
    feed_id = await _prime(feeds, feed_service, ingest, clock, path="/old.xml")
    feeds.add("/new.xml", rss([OLD_POST]))
    feeds.redirect("/old.xml", "/new.xml", status=status)
    await ingest.poll_due()
    assert await _stored_url(sessionmaker, feed_id) == feeds.url("/new.xml")


@pytest.mark.parametrize("status", [302, 303, 307])
async def test_temporary_redirect_keeps_the_feed_url(
    status: int,
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A temporary redirect (302, 303, 307) is followed but the feed keeps its URL."""
    feed_id = await _prime(feeds, feed_service, ingest, clock, path="/feed.xml")
    feeds.add("/elsewhere.xml", rss([OLD_POST]))
    feeds.redirect("/feed.xml", "/elsewhere.xml", status=status)
    summary = await ingest.poll_due()
    assert (summary.outcomes[0].status, await _stored_url(sessionmaker, feed_id)) == (
        "new",
        feeds.url("/feed.xml"),
    )


async def test_redirect_chain_moves_the_url_only_along_permanent_hops(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """301 then 302: the feed is stored under the 301's target, not the temporary one."""
    feed_id = await _prime(feeds, feed_service, ingest, clock, path="/old.xml")
    feeds.redirect("/old.xml", "/moved.xml", status=301)
    feeds.redirect("/moved.xml", "/today.xml", status=302)
    feeds.add("/today.xml", rss([OLD_POST]))
    await ingest.poll_due()
    assert await _stored_url(sessionmaker, feed_id) == feeds.url("/moved.xml")


async def test_permanent_hop_after_a_temporary_one_keeps_the_feed_url(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """302 then 301: the feed's own address only redirects for now, so it is kept."""
    feed_id = await _prime(feeds, feed_service, ingest, clock, path="/feed.xml")
    feeds.redirect("/feed.xml", "/campaign.xml", status=302)
    feeds.redirect("/campaign.xml", "/archive.xml", status=301)
    feeds.add("/archive.xml", rss([OLD_POST]))
    await ingest.poll_due()
    assert await _stored_url(sessionmaker, feed_id) == feeds.url("/feed.xml")


async def test_adding_a_temporarily_redirected_url_stores_it_as_given(
    feeds: FeedServer,
    ingest: IngestService,
    feed_service: FeedService,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """check_feed reports the URL as given when it only redirects temporarily."""
    feeds.redirect("/feed.xml", "/today.xml", status=302)
    feeds.add("/today.xml", rss([OLD_POST]))
    check = await ingest.check_feed(feeds.url("/feed.xml"))
    assert check.url == feeds.url("/feed.xml")


@pytest.fixture
async def refuse_feed_updates(
    engine: AsyncEngine, db_kind: str
) -> AsyncIterator[Callable[[int], Awaitable[None]]]:
    """Install a real trigger that makes every UPDATE of one feed row fail in the database."""

    async def install(feed_id: int) -> None:
        async with engine.begin() as conn:
            if db_kind == "sqlite":
                await conn.execute(
                    text(
                        "CREATE TRIGGER refuse_feed_update BEFORE UPDATE ON feeds "
                        f"WHEN OLD.id = {feed_id} "
                        "BEGIN SELECT RAISE(ABORT, 'feed row refuses updates'); END"
                    )
                )
            else:
                await conn.execute(
                    text(
                        "CREATE OR REPLACE FUNCTION refuse_feed_update() RETURNS trigger "
                        "LANGUAGE plpgsql AS $$ BEGIN "
                        "RAISE EXCEPTION 'feed row refuses updates'; END $$"
                    )
                )
                await conn.execute(
                    text(
                        "CREATE TRIGGER refuse_feed_update BEFORE UPDATE ON feeds "
                        f"FOR EACH ROW WHEN (OLD.id = {feed_id}) "
                        "EXECUTE FUNCTION refuse_feed_update()"
                    )
                )

    yield install
    async with engine.begin() as conn:
        if db_kind == "sqlite":
            await conn.execute(text("DROP TRIGGER IF EXISTS refuse_feed_update"))
        else:
            await conn.execute(text("DROP TRIGGER IF EXISTS refuse_feed_update ON feeds"))
            await conn.execute(text("DROP FUNCTION IF EXISTS refuse_feed_update()"))


async def test_failure_that_cannot_be_recorded_leaves_other_feeds_alone(
    feeds: FeedServer,
    feed_service: FeedService,
    fetcher: AiohttpFetcher,
    clock: FakeClock,
    sessionmaker: async_sessionmaker[AsyncSession],
    refuse_feed_updates: Callable[[int], Awaitable[None]],
) -> None:
    """A database error while recording one feed's failure never cancels the others' polls."""
    feeds.error("/down.xml", 500)
    feeds.add("/ok.xml", rss([OLD_POST]))
    feeds.add("/slow.xml", rss([TORTURE_POST]))
    feeds.hang("/slow.xml")  # still in flight when the broken feed's failure is recorded
    down = await feed_service.add_feed(feeds.url("/down.xml"))
    for path in ("/ok.xml", "/slow.xml"):
        await feed_service.add_feed(feeds.url(path))
    await refuse_feed_updates(down.id)

    def release_slow_feed(outcome: PollOutcome) -> None:
        if outcome.feed_id == down.id:
            feeds.release("/slow.xml")

    ingest = IngestService(
        sessionmaker,
        fetcher,
        clock,
        interval_seconds=60,
        rng=lambda: 0.0,
        on_poll_outcome=release_slow_feed,
    )
    summary = await ingest.poll_due()
    statuses = sorted((o.url.rsplit("/", 1)[1], o.status) for o in summary.outcomes)
    stored = sorted(p.identity for p in await _posts(sessionmaker))
    assert (statuses, stored) == (
        [("down.xml", "error"), ("ok.xml", "new"), ("slow.xml", "new")],
        ["post-1", "post-100"],
    )


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
async def test_sqlite_stores_take_turns_without_the_busy_handler(
    database_url: str, clock: FakeClock
) -> None:
    """On SQLite, concurrent feeds' write transactions wait for each other in the process.

    With SQLite's busy handler switched off, two stores overlapping would fail at once with
    "database is locked"; every feed of a concurrent first cycle is stored.
    """
    engine = make_engine(async_database_url(database_url))

    @event.listens_for(engine.sync_engine, "connect")
    def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.close()

    sessionmaker = make_sessionmaker(engine)
    try:
        async with FeedServer() as server, AiohttpFetcher(allow_private=True) as fetcher:
            ingest = IngestService(sessionmaker, fetcher, clock, interval_seconds=300)
            async with sessionmaker.begin() as session:
                for n in range(24):
                    items = [{"title": f"Post {i}", "guid": f"{n}-{i}"} for i in range(5)]
                    server.add(f"/feed/{n}.xml", rss(items), etag=f'"{n}"')
                    await FeedRepo(session).add(server.url(f"/feed/{n}.xml"), None, clock.now())
            summary = await ingest.poll_due()
    finally:
        await engine.dispose()
    assert [o.error for o in summary.outcomes if o.error] == []
    assert summary.feeds_polled == 24
