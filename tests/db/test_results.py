"""ResultsRepo on SQLite and PostgreSQL: figures from live rows plus totals, per topic; which
messages have results; the scheduled-report stages, claimed once each.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Broadcast, Delivery, Post
from bot.db.repos import ChatRepo, ResultsRepo, TopicRepo, TotalsRepo
from bot.domain.types import TopicSpec

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)
Sessions = async_sessionmaker[AsyncSession]


def delivery(chat_id: int, topic_id: int | None, status: str, **marks: object) -> Delivery:
    """A delivery row of a message (the caller sets post_id or broadcast_id)."""
    clicks = int(marks.get("clicks", 0))  # type: ignore[call-overload]
    return Delivery(
        chat_id=chat_id,
        topic_id=topic_id,
        status=status,
        next_attempt_at=NOW,
        created_at=NOW,
        clicks=clicks,
        first_click_at=NOW if clicks else None,
        acted_at=NOW if marks.get("acted") else None,
    )


async def seed(sessionmaker: Sessions) -> tuple[int, int, int, int]:
    """Topics A and B, a broadcast with 6 rows over both topics, a post with 2; ids returned.

    A: sent+2 clicks+acted, sent+1 click, sent, failed. B: sent+acted (no click), dropped.
    """
    async with sessionmaker.begin() as session:
        topics = TopicRepo(session)
        a = await topics.add(TopicSpec(slug="a", name="A"), NOW)
        b = await topics.add(TopicSpec(slug="b", name="B"), NOW)
        chats = ChatRepo(session)
        for chat_id in range(1, 9):
            await chats.ensure(chat_id, "private", NOW)
        broadcast = Broadcast(created_by=77, status="done", created_at=NOW, started_at=NOW)
        post = Post(
            identity="p", title="P", first_seen_at=NOW, updated_at=NOW, url="https://x.org/p"
        )
        session.add_all([broadcast, post])
        await session.flush()
        rows = [
            delivery(1, a.id, "sent", clicks=2, acted=True),
            delivery(2, a.id, "sent", clicks=1),
            delivery(3, a.id, "sent"),
            delivery(4, a.id, "failed"),
            delivery(5, b.id, "sent", acted=True),
            delivery(6, b.id, "dropped"),
        ]
        for row in rows:
            row.broadcast_id = broadcast.id
        post_rows = [delivery(7, a.id, "sent", clicks=3), delivery(8, None, "pending")]
        for row in post_rows:
            row.post_id = post.id
        session.add_all(rows + post_rows)
        return a.id, b.id, broadcast.id, post.id


async def test_figures_sum_live_rows_and_totals_per_topic(sessionmaker: Sessions) -> None:
    """Live rows per topic plus folded totals and event counters (topic 0 for none)."""
    a, b, broadcast_id, post_id = await seed(sessionmaker)
    async with sessionmaker.begin() as session:
        totals = TotalsRepo(session)
        # Rows deleted by retention, folded: 2 more sent to A, one of them clicked and acted.
        await totals.add("broadcast", broadcast_id, a, targeted=2, sent=2, clicks=1, actions=1)
        await totals.add("broadcast", broadcast_id, b, shares=3, joins=1, unsubscribes=2)
        await totals.add("broadcast", broadcast_id, None, shares=1)
        await totals.add("post", post_id + 100, a, shares=50)  # another message
    async with sessionmaker() as session:
        found = await ResultsRepo(session).figures("broadcast", [broadcast_id, 999])
        posts = await ResultsRepo(session).figures("post", [post_id])
    nonzero = {t: {k: v for k, v in c.items() if v} for t, c in found[broadcast_id].items()}
    assert nonzero == {
        a: {"targeted": 6, "sent": 5, "failed": 1, "clicks": 3, "click_count": 3, "actions": 2},
        b: {
            "targeted": 2,
            "sent": 1,
            "blocked": 1,
            "actions": 1,
            "shares": 3,
            "joins": 1,
            "unsubscribes": 2,
        },
        0: {"shares": 1},
    }
    assert found[999] == {}
    assert {t: {k: v for k, v in c.items() if v} for t, c in posts[post_id].items()} == {
        a: {"targeted": 1, "sent": 1, "clicks": 1, "click_count": 3},
        0: {"targeted": 1},
    }


async def test_messages_with_results_leave_out_unsent_ones(sessionmaker: Sessions) -> None:
    """Scheduled, cancelled broadcasts and notices have no results; nor posts sent to nobody."""
    _, _, broadcast_id, post_id = await seed(sessionmaker)
    async with sessionmaker.begin() as session:
        later = NOW + HOUR
        session.add_all(
            [
                Broadcast(created_by=77, status="scheduled", created_at=NOW, scheduled_for=later),
                Broadcast(created_by=77, status="cancelled", created_at=NOW),
                Broadcast(
                    kind="notice", created_by=0, status="done", created_at=NOW, started_at=NOW
                ),
                Post(identity="q", title="Q", first_seen_at=later, updated_at=later),
            ]
        )
        newer = Broadcast(created_by=77, status="sending", created_at=later, started_at=later)
        only_totals = Post(identity="r", title="R", first_seen_at=later, updated_at=later)
        session.add_all([newer, only_totals])
        await session.flush()
        await TotalsRepo(session).add("post", only_totals.id, None, sent=4)
    async with sessionmaker() as session:
        repo = ResultsRepo(session)
        broadcasts = [b.id for b in await repo.broadcasts()]
        recent = [b.id for b in await repo.broadcasts(since=NOW + HOUR)]
        one = [b.id for b in await repo.broadcasts(limit=1)]
        posts = [p.id for p in await repo.posts()]
        recent_posts = [p.id for p in await repo.posts(since=NOW + HOUR)]
    assert (broadcasts, recent, one) == ([newer.id, broadcast_id], [newer.id], [newer.id])
    assert (posts, recent_posts) == ([only_totals.id, post_id], [only_totals.id])


async def test_due_reports_and_claims_each_stage_once(sessionmaker: Sessions) -> None:
    """Stage 1 after an hour, stage 2 after a day (at once if the first was missed); a stage
    is claimed by one caller only; the report message is remembered.
    """
    async with sessionmaker.begin() as session:
        fresh = Broadcast(created_by=77, status="sending", created_at=NOW, started_at=NOW)
        old = Broadcast(created_by=78, status="done", created_at=NOW, started_at=NOW - 2 * DAY)
        notice = Broadcast(
            kind="notice", created_by=0, status="done", created_at=NOW, started_at=NOW - 2 * DAY
        )
        session.add_all([fresh, old, notice])
    async with sessionmaker() as session:
        repo = ResultsRepo(session)
        early = await repo.due_reports(NOW + 59 * timedelta(minutes=1), HOUR, DAY)
        at_hour = await repo.due_reports(NOW + HOUR, HOUR, DAY)
    assert (early, at_hour) == ([(old.id, 2)], [(old.id, 2), (fresh.id, 1)])
    async with sessionmaker.begin() as session:
        repo = ResultsRepo(session)
        claims = [await repo.claim_stage(fresh.id, 1), await repo.claim_stage(fresh.id, 1)]
        await repo.set_results_message(fresh.id, 555)
    async with sessionmaker() as session:
        repo = ResultsRepo(session)
        after_claim = await repo.due_reports(NOW + HOUR, HOUR, DAY)
        at_day = await repo.due_reports(NOW + DAY, HOUR, DAY)
        message = await repo.results_message(fresh.id)
        missing = await repo.results_message(12345)
    assert claims == [True, False]
    assert (after_claim, at_day) == ([(old.id, 2)], [(old.id, 2), (fresh.id, 2)])
    assert (message, missing) == ((77, 555), None)
    async with sessionmaker.begin() as session:
        repo = ResultsRepo(session)
        final = [await repo.claim_stage(old.id, 2), await repo.claim_stage(old.id, 1)]
    assert final == [True, False]
