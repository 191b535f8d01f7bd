"""Retention, /forgetme and /mydata as services, on SQLite and PostgreSQL, with the fake clock.

The folded totals are compared with what `delivery_figures()` gave for the same rows before
they were deleted: the one definition of a message's figures must survive the deletion.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import AuditEntry, Chat, Delivery, Post, User
from bot.db.repos import AuditRepo, UserRepo
from bot.domain.privacy import RetentionSummary
from bot.feeds.fetch import AiohttpFetcher
from bot.services.feeds import FeedService
from bot.services.ingest import IngestService
from bot.services.privacy import PrivacyService
from bot.services.subscriptions import SubscriptionService
from tests.db.privacy_seed import DAYS, figures, is_old, seed, totals
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import FeedServer, rss

Sessions = async_sessionmaker[AsyncSession]


async def test_retention_folds_old_rows_exactly_and_keeps_the_rest(
    sessionmaker: Sessions, clock: FakeClock
) -> None:
    """Old, finished rows become totals equal to their figures and are deleted, in batches;
    recent and pending rows are untouched; the old post keeps its title and link only."""
    async with sessionmaker.begin() as session:
        seeded = await seed(session, clock.now())
    async with sessionmaker() as session:
        expected = await figures(session, is_old(seeded.cutoff))
        kept = await figures(session, ~is_old(seeded.cutoff))
    service = PrivacyService(sessionmaker, clock, DAYS, batch_size=4)

    summary = await service.apply_retention()

    async with sessionmaker() as session:
        folded = await totals(session)
        left = await figures(session)
        pending = (
            await session.execute(select(Delivery.status).where(Delivery.status == "pending"))
        ).all()
        old_post = await session.get(Post, seeded.old_post)
        assert old_post is not None
        trimmed = (old_post.title, old_post.url, old_post.summary, old_post.author)
    # 13 rows in batches of 4 (4 transactions), then one batch of posts.
    assert summary == RetentionSummary(deliveries=13, posts=1, batches=5)
    assert (folded, left, len(pending)) == (expected, kept, 1)
    assert trimmed == ("Title old", "https://example.org/old", "", None)


async def test_retention_twice_changes_nothing_more(
    sessionmaker: Sessions, clock: FakeClock
) -> None:
    """A second run (the next day's, or a retry after a crash) finds nothing to fold or trim."""
    async with sessionmaker.begin() as session:
        await seed(session, clock.now())
    service = PrivacyService(sessionmaker, clock, DAYS)
    await service.apply_retention()
    async with sessionmaker() as session:
        first = (await totals(session), await figures(session))

    again = await service.apply_retention()

    async with sessionmaker() as session:
        second = (await totals(session), await figures(session))
    assert (again, second) == (RetentionSummary(), first)


async def test_retention_takes_rows_as_they_age(sessionmaker: Sessions, clock: FakeClock) -> None:
    """Ninety-one days later the recent rows are old too, and fold into the same totals."""
    async with sessionmaker.begin() as session:
        await seed(session, clock.now())
    async with sessionmaker() as session:
        everything_but_pending = await figures(session, Delivery.status != "pending")
    service = PrivacyService(sessionmaker, clock, DAYS)
    await service.apply_retention()
    clock.advance(timedelta(days=DAYS + 1).total_seconds())

    summary = await service.apply_retention()

    async with sessionmaker() as session:
        assert (summary.deliveries, await totals(session)) == (4, everything_but_pending)


@pytest.mark.parametrize("days", [0, -3])
def test_retention_refuses_less_than_a_day(
    sessionmaker: Sessions, clock: FakeClock, days: int
) -> None:
    """A retention below one day is a programming error, refused before any row is touched
    (RETENTION_DAYS itself is checked by the settings, tests/test_config.py)."""
    with pytest.raises(ValueError, match="at least one day"):
        PrivacyService(sessionmaker, clock, days)


async def test_forget_folds_the_chats_rows_and_strips_its_username(
    sessionmaker: Sessions, clock: FakeClock
) -> None:
    """/forgetme: the chat's rows (its pending one as dropped) become totals and go; other
    chats' rows stay; audit entries by and about the user keep the id, not the @username."""
    async with sessionmaker.begin() as session:
        seeded = await seed(session, clock.now())
        await UserRepo(session).upsert(102, "Alice", clock.now())
        audit = AuditRepo(session)
        await audit.record(clock.now(), "@alice (102)", "broadcast.send", "#9", actor_id=102)
        await audit.record(clock.now(), "@boss (9)", "role.grant", "@alice (102)", actor_id=9)
    async with sessionmaker() as session:
        expected = await figures(session, Delivery.chat_id == 102)
        others = await figures(session, Delivery.chat_id != 102)
    # The pending row (post "pending", topic b) is dropped before folding: it counts as blocked.
    expected[("post", seeded.pending_post, seeded.topics[1])]["blocked"] = 1

    result = await SubscriptionService(sessionmaker, clock).forget(102, 102)

    async with sessionmaker() as session:
        folded = await totals(session)
        left = await figures(session)
        rows = (await session.get(Chat, 102), await session.get(User, 102))
        audit_rows = (await session.execute(select(AuditEntry.actor, AuditEntry.target))).all()
    assert (result.chat, result.user, result.deliveries) == (True, True, 4)
    assert (folded, left, rows) == (expected, others, (None, None))
    assert sorted(tuple(r) for r in audit_rows) == [("102", "#9"), ("@boss (9)", "102")]
    assert not any("alice" in f"{a} {t}".lower() for a, t in audit_rows)


async def test_my_data_shows_what_is_stored(sessionmaker: Sessions, clock: FakeClock) -> None:
    """The chat row, its topics, its delivery rows with their marks, the person's row."""
    async with sessionmaker.begin() as session:
        await seed(session, clock.now())
        await UserRepo(session).upsert(101, "Alice", clock.now())
        await AuditRepo(session).record(clock.now(), "@alice (101)", "x", actor_id=101)
    service = PrivacyService(sessionmaker, clock, 30)

    mine = await service.my_data(101, 101)
    group = await service.my_data(101, None)
    nobody = await service.my_data(777, 777)

    assert (mine.known, mine.chat_type, mine.topics, mine.retention_days) == (
        True,
        "private",
        ("Rights",),
        30,
    )
    assert (mine.deliveries, mine.clicked, mine.acted, mine.audit_entries) == (5, 5, 3, 1)
    assert mine.user is not None
    assert (mine.user.id, mine.user.username, mine.user.role) == (101, "alice", "supporter")
    assert (group.user, group.audit_entries, group.deliveries) == (None, 0, 5)
    assert (nobody.known, nobody.user, nobody.deliveries) == (False, None, 0)


async def test_a_feed_still_listing_a_trimmed_post_does_not_restore_it(
    sessionmaker: Sessions,
    clock: FakeClock,
    feeds: FeedServer,
    fetcher: AiohttpFetcher,
    feed_service: FeedService,
) -> None:
    """Within retention a feed's edit updates the post; once trimmed, the post stays title
    and link even when the feed lists it again, edited."""
    item = {
        "title": "Letters that freed a prisoner",
        "link": "https://news.example.org/letters",
        "guid": "letters-1",
        "description": "<p>The full story.</p>",
        "author": "press@example.org (Press office)",
    }
    ingest = IngestService(
        sessionmaker, fetcher, clock, interval_seconds=60, rng=lambda: 0.0, retention_days=DAYS
    )
    feeds.add("/feed.xml", rss([item]), etag='"v1"')
    await feed_service.add_feed(feeds.url("/feed.xml"))
    await ingest.poll_due()
    clock.advance(61)
    feeds.add("/feed.xml", rss([dict(item, description="<p>Updated story.</p>")]), etag='"v2"')
    await ingest.poll_due()
    async with sessionmaker() as session:
        (post,) = (await session.execute(select(Post))).scalars()
        within = post.summary
    clock.advance(timedelta(days=DAYS + 1).total_seconds())
    await PrivacyService(sessionmaker, clock, DAYS).apply_retention()
    feeds.add("/feed.xml", rss([dict(item, description="<p>Edited again.</p>")]), etag='"v3"')

    await ingest.poll_due()

    async with sessionmaker() as session:
        (post,) = (await session.execute(select(Post))).scalars()
        after = (post.title, post.url, post.summary, post.author)
    assert within == "Updated story."
    assert after == ("Letters that freed a prisoner", "https://news.example.org/letters", "", None)
