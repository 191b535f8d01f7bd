"""ResultsService on SQLite and PostgreSQL with the fake clock: views per topic and in total,
finding a message by id or URL, the latest and the export, the scheduled reports claimed once;
and the growth table of /stats (ReportService).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.db.models import Broadcast, Delivery, Post
from bot.db.repos import ChatRepo, TopicRepo, TotalsRepo
from bot.domain.ingest_policy import url_hash
from bot.domain.views import Figures
from bot.errors import InvalidInputError, NotFoundError
from bot.services.reports import ReportService
from bot.services.results import ResultsService, parse_results_key, parse_since
from bot.services.topics import TopicService
from tests.fakes.clock import FakeClock
from tests.services.support import Sessions

ORGANISER = 5005


@pytest.fixture
def results(sessionmaker: Sessions, clock: FakeClock) -> ResultsService:
    """The results use-cases."""
    return ResultsService(sessionmaker, clock)


async def seed(sessionmaker: Sessions, clock: FakeClock) -> tuple[int, int]:
    """A broadcast to StopTorture and Write for Rights (5 chats) and a post (2 chats).

    Broadcast: StopTorture 3 sent (2 clicked, 1 acted), 1 failed; W4R 1 sent and acted
    (no click); folded totals 1 more sent and clicked for W4R; 2 shares, 1 join, 1
    unsubscribe without a topic. Post: 1 sent, 1 blocked, nothing clicked.
    """
    now = clock.now()
    async with sessionmaker.begin() as session:
        topics = TopicRepo(session)
        stop = await topics.by_key("stoptorture")
        w4r = await topics.by_key("write-for-rights")
        assert stop is not None
        assert w4r is not None
        chats = ChatRepo(session)
        for chat_id in range(1, 8):
            await chats.ensure(chat_id, "private", now)
        broadcast = Broadcast(
            created_by=ORGANISER,
            status="done",
            created_at=now,
            started_at=now,
            text_html=(
                "<b>Write</b> to the minister &amp; ask for an independent inquiry today, please"
            ),
        )
        post = Post(
            identity="p1",
            title="Urgent action: release <them>",
            url="https://news.example.org/urgent",
            url_hash=url_hash("https://news.example.org/urgent"),
            first_seen_at=now + timedelta(minutes=5),
            updated_at=now,
        )
        session.add_all([broadcast, post])
        await session.flush()
        marks = [
            (1, stop.id, "sent", 2, True),
            (2, stop.id, "sent", 1, False),
            (3, stop.id, "sent", 0, False),
            (4, stop.id, "failed", 0, False),
            (5, w4r.id, "sent", 0, True),
        ]
        for chat_id, topic_id, status, clicks, acted in marks:
            session.add(
                Delivery(
                    chat_id=chat_id,
                    broadcast_id=broadcast.id,
                    topic_id=topic_id,
                    status=status,
                    next_attempt_at=now,
                    created_at=now,
                    clicks=clicks,
                    first_click_at=now if clicks else None,
                    acted_at=now if acted else None,
                )
            )
        for chat_id, status in ((6, "sent"), (7, "dropped")):
            session.add(
                Delivery(
                    chat_id=chat_id,
                    post_id=post.id,
                    topic_id=stop.id,
                    status=status,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        totals = TotalsRepo(session)
        await totals.add(
            "broadcast", broadcast.id, w4r.id, targeted=1, sent=1, clicks=1, click_count=1
        )
        await totals.add("broadcast", broadcast.id, None, shares=2, joins=1, unsubscribes=1)
        return broadcast.id, post.id


async def test_broadcast_figures_per_topic_and_total(
    results: ResultsService, topics: TopicService, sessionmaker: Sessions, clock: FakeClock
) -> None:
    """Per topic (by name, no-topic last) and in total, with the rates of the total."""
    broadcast_id, _ = await seed(sessionmaker, clock)
    view = await results.lookup(f"#{broadcast_id}")
    stop = Figures(targeted=4, sent=3, failed=1, clicks=2, click_count=3, actions=1)
    w4r = Figures(targeted=2, sent=2, clicks=1, click_count=1, actions=1)
    loose = Figures(shares=2, joins=1, unsubscribes=1)
    assert view.topics == (("✋ StopTorture", stop), ("✉️ Write for Rights", w4r), (None, loose))
    assert view.total == Figures(
        targeted=6,
        sent=5,
        failed=1,
        clicks=3,
        click_count=4,
        actions=2,
        shares=2,
        joins=1,
        unsubscribes=1,
    )
    assert (view.total.click_rate, view.total.action_rate, view.total.actions_per_click) == (
        0.6,
        0.4,
        2 / 3,
    )
    assert (view.kind, view.title) == (
        "broadcast",
        "Write to the minister & ask for an independent inquiry today, please",
    )


async def test_post_by_url_and_rates_without_sends(
    results: ResultsService, topics: TopicService, sessionmaker: Sessions, clock: FakeClock
) -> None:
    """A post is found by its link (utm and case forgiven); no clicks -> no actions per click."""
    _, post_id = await seed(sessionmaker, clock)
    view = await results.lookup("HTTPS://news.example.org/urgent?utm_source=x")
    assert (view.kind, view.id, view.total) == (
        "post",
        post_id,
        Figures(targeted=2, sent=1, blocked=1),
    )
    assert (view.total.click_rate, view.total.actions_per_click, Figures().click_rate) == (
        0.0,
        None,
        None,
    )


async def test_lookup_refuses_bad_and_unknown_keys(
    results: ResultsService, topics: TopicService, sessionmaker: Sessions, clock: FakeClock
) -> None:
    """Words are bad input; an unknown id, a notice's id or an unknown link are not found."""
    await seed(sessionmaker, clock)
    async with sessionmaker.begin() as session:
        notice = Broadcast(kind="notice", created_by=0, status="done", created_at=clock.now())
        session.add(notice)
    with pytest.raises(InvalidInputError):
        await results.lookup("last week")
    with pytest.raises(InvalidInputError):
        await results.lookup("12345678901234567890")
    for key, kind in (
        ("999", "broadcast"),
        (str(notice.id), "broadcast"),
        ("99999999999", "broadcast"),  # beyond a 32-bit id: no database error
        ("0", "broadcast"),
    ):
        with pytest.raises(NotFoundError) as error:
            await results.lookup(key)
        assert (error.value.kind, error.value.key) == (kind, key)
    with pytest.raises(NotFoundError) as missing:
        await results.lookup("https://nowhere.example.org/x")
    assert missing.value.kind == "post"


def test_parse_results_key_and_since() -> None:
    """Ids with or without '#', http(s) links; dates in YYYY-MM-DD only."""
    assert parse_results_key(" #12 ").broadcast_id == 12
    assert parse_results_key("https://a.org/x").url == "https://a.org/x"
    with pytest.raises(InvalidInputError):
        parse_results_key("ftp://a.org/x")
    assert parse_since("2026-11-02", UTC) == datetime(2026, 11, 2, tzinfo=UTC)
    for bad in ("2026-13-01", "yesterday", "20261102"):
        with pytest.raises(InvalidInputError):
            parse_since(bad, UTC)


async def test_latest_and_export(
    results: ResultsService, topics: TopicService, sessionmaker: Sessions, clock: FakeClock
) -> None:
    """The latest broadcasts and posts; the export oldest first, filtered by date."""
    broadcast_id, post_id = await seed(sessionmaker, clock)
    broadcasts, posts = await results.latest()
    everything = await results.export()
    later = await results.export(clock.now() + timedelta(minutes=1))
    assert ([v.id for v in broadcasts], [v.id for v in posts]) == ([broadcast_id], [post_id])
    assert [(v.kind, v.id) for v in everything] == [("broadcast", broadcast_id), ("post", post_id)]
    assert [(v.kind, v.id) for v in later] == [("post", post_id)]


async def test_reports_are_claimed_once_per_stage(
    results: ResultsService, topics: TopicService, sessionmaker: Sessions, clock: FakeClock
) -> None:
    """Nothing before an hour; stage 1 once; stage 2 at 24 h once, with the message to edit."""
    broadcast_id, _ = await seed(sessionmaker, clock)
    clock.advance(minutes=59)
    assert await results.claim_due_reports() == []
    clock.advance(minutes=1)
    (first,) = await results.claim_due_reports()
    again = await results.claim_due_reports()
    await results.set_report_message(broadcast_id, 4242)
    clock.advance(hours=23)
    (second,) = await results.claim_due_reports()
    assert (first.broadcast_id, first.stage, first.chat_id, first.message_id) == (
        broadcast_id,
        1,
        ORGANISER,
        None,
    )
    assert (again, second.stage, second.message_id, await results.claim_due_reports()) == (
        [],
        2,
        4242,
        [],
    )
    assert second.view.total.sent == 5


async def test_stats_shows_growth_per_topic_and_week(
    sessionmaker: Sessions, clock: FakeClock, topics: TopicService
) -> None:
    """Four weeks, this one last; topics with changes only; older weeks left out."""
    clock.current = datetime(2026, 11, 26, 9, tzinfo=UTC)  # a Thursday
    async with sessionmaker.begin() as session:
        stop = await TopicRepo(session).by_key("stoptorture")
        assert stop is not None
        totals = TotalsRepo(session)
        await totals.add_growth(stop.id, date(2026, 10, 1), joined=9)  # too old
        await totals.add_growth(stop.id, date(2026, 11, 3), joined=2, left=1)
        await totals.add_growth(stop.id, date(2026, 11, 25), joined=1)
    stats = await ReportService(sessionmaker, clock).stats()
    assert stats.growth_weeks == (
        date(2026, 11, 2),
        date(2026, 11, 9),
        date(2026, 11, 16),
        date(2026, 11, 23),
    )
    assert [(g.topic, g.weeks) for g in stats.growth] == [
        ("✋ StopTorture", ((date(2026, 11, 2), 2, 1), (date(2026, 11, 23), 1, 0)))
    ]
