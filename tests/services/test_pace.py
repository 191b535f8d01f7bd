"""Pace carried out by the delivery engine: digests, quiet hours, urgency, across restarts and DST.

The real engine, the real PTB Bot against the fake Bot API, a real database (SQLite and
PostgreSQL), the fake clock: the engine's sleeps advance it, so pacing costs no real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot.db.models import Broadcast, Delivery, DigestMessage
from bot.db.repos import BroadcastRepo, ChatRepo, DeliveryRepo, PostRepo, TopicRepo
from bot.db.repos.pace import PaceRepo
from bot.domain.pace import QUIET_RELEASE_SECONDS
from bot.domain.priority import DeliveryPriority
from bot.domain.types import ParsedEntry, TopicSpec
from bot.sender import TelegramSender
from bot.services.delivery import DeliveryEngine
from bot.services.pace import PaceService
from tests.fakes.botapi import FakeBotApi
from tests.fakes.clock import FakeClock

Sessions = async_sessionmaker[AsyncSession]
CHAT = 1001


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Bot API (its rate limits off: the engine's pacing runs on the fake clock)."""
    async with FakeBotApi() as server:
        server.set_limits(enabled=False)
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    """A real python-telegram-bot Bot pointed at the fake server."""
    async with Bot(api.token, base_url=api.base_url) as real:
        yield real


@pytest.fixture
def make_engine(
    sessionmaker: Sessions, bot: Bot, clock: FakeClock
) -> Callable[..., DeliveryEngine]:
    """A new engine each call (a new call is a restart: nothing carried over but the database)."""

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    def make(**options: object) -> DeliveryEngine:
        kwargs: dict[str, object] = {
            "rate": 25,
            "tz": UTC,
            "rng": lambda: 0.0,
            "sleep": sleep,
            "monotonic": lambda: clock.now().timestamp(),
        }
        kwargs.update(options)
        return DeliveryEngine(
            sessionmaker,
            TelegramSender(bot),
            clock,
            **kwargs,  # type: ignore[arg-type]
        )

    return make


@pytest.fixture
def pace(sessionmaker: Sessions, clock: FakeClock) -> PaceService:
    """The settings service (BOT_TIMEZONE UTC)."""
    return PaceService(sessionmaker, clock, UTC)


async def _topic(sessionmaker: Sessions, clock: FakeClock, chat_ids: list[int]) -> int:
    async with sessionmaker.begin() as session:
        topics = TopicRepo(session)
        topic = await topics.by_slug("stoptorture") or await topics.add(
            TopicSpec(slug="stoptorture", name="StopTorture", emoji="✋"), clock.now()
        )
        chats = ChatRepo(session)
        for chat_id in chat_ids:
            await chats.ensure(chat_id, "private", clock.now())
            await chats.subscribe(chat_id, topic.id, clock.now())
        return topic.id


async def _post(
    sessionmaker: Sessions,
    clock: FakeClock,
    topic_id: int,
    title: str,
    priority: DeliveryPriority = DeliveryPriority.POST,
) -> int:
    """A new post of the topic, published now, fanned out to its followers."""
    now = clock.now()
    async with sessionmaker.begin() as session:
        entry = ParsedEntry(
            identity=f"id-{title}",
            url=f"https://news.example.org/{abs(hash(title))}",
            title=title,
            summary="",
            published=now,
        )
        ids = await PostRepo(session).insert_new(None, [entry], now, announced=True)  # type: ignore[arg-type]
        await DeliveryRepo(session).fan_out_post(ids[entry.identity], [topic_id], now, priority)
        return ids[entry.identity]


def _texts(api: FakeBotApi, chat_id: int = CHAT) -> list[str]:
    return [m.text or "" for m in api.messages(chat_id)]


async def _paris_daily(pace: PaceService, chat_ids: list[int] | None = None) -> None:
    for chat_id in chat_ids or [CHAT]:
        await pace.set_timezone(chat_id, "Europe/Paris")
        await pace.set_digest(chat_id, "daily 18:00")


async def test_daily_digest_collects_the_days_posts_once_across_a_restart(
    api: FakeBotApi,
    make_engine: Callable[..., DeliveryEngine],
    sessionmaker: Sessions,
    clock: FakeClock,
    pace: PaceService,
) -> None:
    """Posts of the day wait for 18:00 Paris; one digest holds them all; the next day, nothing.

    The engine is replaced (a restart) between the posts and the digest time.
    """
    clock.current = _utc(2026, 11, 24, 7)
    topic = await _topic(sessionmaker, clock, [CHAT])
    await _paris_daily(pace)
    for hour, title in ((7, "Morning report"), (11, "Midday appeal"), (15, "Afternoon news")):
        clock.current = _utc(2026, 11, 24, hour)
        await _post(sessionmaker, clock, topic, title)
        await make_engine().drain_all()
    before = list(_texts(api))
    clock.current = _utc(2026, 11, 24, 17)  # 18:00 in Paris
    await make_engine().drain_all()  # a new engine: a restart
    after = _texts(api)
    clock.current = _utc(2026, 11, 25, 17, 0, 5)
    await make_engine().drain_all()
    assert before == []
    assert len(after) == 1
    assert len(_texts(api)) == 1
    digest = after[0]
    assert "3 new posts" in digest
    assert "StopTorture" in digest
    # Newest first.
    assert (
        digest.index("Afternoon news")
        < digest.index("Midday appeal")
        < digest.index("Morning report")
    )
    async with sessionmaker() as session:
        statuses = set((await session.execute(select(Delivery.status))).scalars())
    assert statuses == {"sent"}


async def test_digest_time_follows_daylight_saving_in_paris(
    api: FakeBotApi,
    make_engine: Callable[..., DeliveryEngine],
    sessionmaker: Sessions,
    clock: FakeClock,
    pace: PaceService,
) -> None:
    """Around 28 March 2027 the 18:00 Paris digest moves from 17:00 to 16:00 UTC: none skipped,
    none doubled; around 31 October it moves back."""
    clock.current = _utc(2027, 3, 27, 9)
    topic = await _topic(sessionmaker, clock, [CHAT])
    await _paris_daily(pace)
    sent_at: list[datetime] = []
    days = [(2027, 3, 27), (2027, 3, 28), (2027, 3, 29), (2027, 10, 30), (2027, 10, 31)]
    for day in days:
        clock.current = _utc(*day, 9)
        await _post(sessionmaker, clock, topic, f"Post of {day}")
        # Step through the afternoon every 30 minutes: the digest goes at the first step at or
        # after 18:00 Paris, and only once.
        for minute in range(0, 6 * 60, 30):
            clock.current = _utc(*day, 14) + timedelta(minutes=minute)
            count = len(_texts(api))
            await make_engine().drain_all()
            if len(_texts(api)) > count:
                sent_at.append(clock.current.replace(second=0, microsecond=0))
    assert sent_at == [
        _utc(2027, 3, 27, 17),
        _utc(2027, 3, 28, 16),
        _utc(2027, 3, 29, 16),
        _utc(2027, 10, 30, 16),
        _utc(2027, 10, 31, 17),
    ]
    assert all("1 new post" in text for text in _texts(api))


async def test_weekly_digest(
    api: FakeBotApi,
    make_engine: Callable[..., DeliveryEngine],
    sessionmaker: Sessions,
    clock: FakeClock,
    pace: PaceService,
) -> None:
    """Weekly on Monday 09:00 Montréal: a week's posts in one message on Monday, not before."""
    clock.current = _utc(2026, 11, 24, 12)  # a Tuesday
    topic = await _topic(sessionmaker, clock, [CHAT])
    await pace.set_timezone(CHAT, "Montréal")
    await pace.set_digest(CHAT, "weekly mon 09:00")
    for day in range(24, 30):
        clock.current = _utc(2026, 11, day, 15)
        await _post(sessionmaker, clock, topic, f"News of the {day}th")
        await make_engine().drain_all()
    quiet_week = list(_texts(api))
    clock.current = _utc(2026, 11, 30, 14)  # Monday 09:00 in Montréal
    await make_engine().drain_all()
    assert (quiet_week, len(_texts(api))) == ([], 1)
    assert "weekly digest: 6 new posts" in _texts(api)[0]


async def test_a_post_arriving_while_a_digest_is_sent_goes_into_the_next(
    api: FakeBotApi,
    make_engine: Callable[..., DeliveryEngine],
    sessionmaker: Sessions,
    clock: FakeClock,
    pace: PaceService,
) -> None:
    """A digest is built (its posts attached), then the sending fails and the process dies; a
    post comes in meanwhile. The next engine sends the built digest once, without the newcomer,
    which comes the next day alone: no post lost, none in two digests."""
    clock.current = _utc(2026, 11, 24, 9)
    topic = await _topic(sessionmaker, clock, [CHAT])
    await _paris_daily(pace)
    await _post(sessionmaker, clock, topic, "First post")
    await make_engine().drain_all()  # held for the digest
    clock.current = _utc(2026, 11, 24, 17)
    api.fail_next("sendMessage", 502, count=1)
    engine = make_engine()
    await engine.drain_once()  # builds the digest; its send fails and is rescheduled
    await engine.stop()
    await _post(sessionmaker, clock, topic, "Late post")
    clock.advance(30)
    await make_engine().drain_all()  # a restart: the built digest goes, alone
    first = list(_texts(api))
    clock.current = _utc(2026, 11, 25, 17)
    await make_engine().drain_all()
    texts = _texts(api)
    assert len(first) == 1
    assert "First post" in first[0]
    assert "Late post" not in first[0]
    assert len(texts) == 2
    assert "Late post" in texts[1]
    assert "First post" not in texts[1]
    async with sessionmaker() as session:
        digests = (await session.execute(select(DigestMessage.status))).scalars().all()
    assert sorted(digests) == ["sent", "sent"]


async def test_nothing_new_sends_no_digest(
    api: FakeBotApi,
    make_engine: Callable[..., DeliveryEngine],
    sessionmaker: Sessions,
    clock: FakeClock,
    pace: PaceService,
) -> None:
    """A digest chat with no new post gets nothing at digest time."""
    clock.current = _utc(2026, 11, 24, 16)
    await _topic(sessionmaker, clock, [CHAT])
    await _paris_daily(pace)
    clock.current = _utc(2026, 11, 24, 17, 1)
    await make_engine().drain_all()
    assert _texts(api) == []


async def test_quiet_hours_hold_and_release_spread_under_the_rate(
    api: FakeBotApi,
    make_engine: Callable[..., DeliveryEngine],
    sessionmaker: Sessions,
    clock: FakeClock,
    pace: PaceService,
) -> None:
    """A post at 23:00 Montréal waits for 08:00; the held messages are due over the release
    window, chat by chat, and all go once, paced (no flood wait)."""
    chats = list(range(2001, 2061))
    clock.current = _utc(2026, 11, 25, 4)  # 23:00 in Montréal
    topic = await _topic(sessionmaker, clock, chats)
    for chat_id in chats:
        await pace.set_timezone(chat_id, "America/Toronto")
        await pace.set_quiet(chat_id, "22:00-08:00")
    await _post(sessionmaker, clock, topic, "Night news")
    engine = make_engine()
    await engine.drain_all()
    async with sessionmaker() as session:
        due = sorted((await session.execute(select(Delivery.next_attempt_at))).scalars())
    held_sent = sum(api.sent_per_chat().values())
    end = _utc(2026, 11, 25, 13)  # 08:00 in Montréal
    clock.current = end
    await make_engine().drain_all()
    at_eight = sum(api.sent_per_chat().values())
    clock.current = end + timedelta(seconds=QUIET_RELEASE_SECONDS)
    engine = make_engine()
    await engine.drain_all()
    assert held_sent == 0
    assert end <= due[0]
    assert due[-1] < end + timedelta(seconds=QUIET_RELEASE_SECONDS)
    assert len(set(due)) > 40  # spread, not all at 08:00:00
    assert at_eight < len(chats)
    assert api.sent_per_chat() == dict.fromkeys(chats, 1)
    assert engine.stats.flood_waits == 0


async def test_urgent_delivery_goes_through_quiet_hours_and_digests(
    api: FakeBotApi,
    make_engine: Callable[..., DeliveryEngine],
    sessionmaker: Sessions,
    clock: FakeClock,
    pace: PaceService,
) -> None:
    """A delivery at or above URGENT priority bypasses quiet hours and digests."""
    clock.current = _utc(2026, 11, 25, 4)
    topic = await _topic(sessionmaker, clock, [CHAT, 1002])
    await pace.set_timezone(CHAT, "America/Toronto")
    await pace.set_quiet(CHAT, "22:00-08:00")
    await pace.set_digest(1002, "daily 18:00")
    await _post(sessionmaker, clock, topic, "Urgent action", DeliveryPriority.URGENT)
    await _post(sessionmaker, clock, topic, "Ordinary news")
    await make_engine().drain_all()
    assert [len(api.messages(c)) for c in (CHAT, 1002)] == [1, 1]
    assert all("Urgent action" in _texts(api, c)[0] for c in (CHAT, 1002))


async def test_broadcasts_are_instant_unless_they_respect_pace(
    api: FakeBotApi,
    make_engine: Callable[..., DeliveryEngine],
    sessionmaker: Sessions,
    clock: FakeClock,
    pace: PaceService,
) -> None:
    """During quiet hours a broadcast goes at once; one that respects pace waits; the preview
    counts say so (1 now: the chat without quiet hours; 1 later)."""
    clock.current = _utc(2026, 11, 25, 4)
    await _topic(sessionmaker, clock, [CHAT, 1002])
    await pace.set_timezone(CHAT, "America/Toronto")
    await pace.set_quiet(CHAT, "22:00-08:00")
    counts = await pace.audience_now_later(None)
    ids = []
    for respect in (False, True):
        async with sessionmaker.begin() as session:
            repo = BroadcastRepo(session)
            broadcast = await repo.add(
                Broadcast(
                    created_by=1,
                    topic_ids=None,
                    text_html=f"Act now {respect}",
                    status="sending",
                    created_at=clock.now(),
                    started_at=clock.now(),
                    respect_pace=respect,
                )
            )
            await repo.fan_out(broadcast.id, None, clock.now())
            ids.append(broadcast.id)
    await make_engine().drain_all()
    assert counts == (1, 1)
    assert _texts(api, CHAT) == ["Act now False"]
    assert sorted(_texts(api, 1002)) == ["Act now False", "Act now True"]
    clock.current = _utc(2026, 11, 25, 13) + timedelta(seconds=QUIET_RELEASE_SECONDS)
    await make_engine().drain_all()
    assert _texts(api, CHAT) == ["Act now False", "Act now True"]


async def test_turning_a_digest_off_releases_what_it_held(
    api: FakeBotApi,
    make_engine: Callable[..., DeliveryEngine],
    sessionmaker: Sessions,
    clock: FakeClock,
    pace: PaceService,
) -> None:
    """Held posts go at once (one by one) when the chat goes back to instant."""
    clock.current = _utc(2026, 11, 24, 9)
    topic = await _topic(sessionmaker, clock, [CHAT])
    await _paris_daily(pace)
    await _post(sessionmaker, clock, topic, "One")
    await _post(sessionmaker, clock, topic, "Two")
    await make_engine().drain_all()
    held = (await pace.settings(CHAT)).held
    await pace.set_digest(CHAT, "off")
    await make_engine().drain_all()
    assert (held, len(_texts(api)), (await pace.settings(CHAT)).held) == (2, 2, 0)


async def test_long_digest_is_split_and_counts_the_rest(
    api: FakeBotApi,
    make_engine: Callable[..., DeliveryEngine],
    sessionmaker: Sessions,
    clock: FakeClock,
    pace: PaceService,
) -> None:
    """Forty long titles: thirty listed over parts within 4,096 characters, "…and 10 more"."""
    clock.current = _utc(2026, 11, 24, 8)
    topic = await _topic(sessionmaker, clock, [CHAT])
    await _paris_daily(pace)
    for n in range(40):
        clock.advance(60)
        await _post(sessionmaker, clock, topic, f"Title {n:02d} " + "word " * 40)
    await make_engine().drain_all()
    clock.current = _utc(2026, 11, 24, 17)
    await make_engine().drain_all()
    texts = _texts(api)
    assert len(texts) >= 2
    assert all(len(t) <= 4096 for t in texts)
    joined = "\n".join(texts)
    assert "and 10 more" in joined
    assert "/latest" in joined
    assert joined.count("• ") == 30
    async with sessionmaker() as session:
        repo = PaceRepo(session)
        assert await repo.held_count(CHAT) == 0


def test_zoneinfo_is_available() -> None:
    """The zones the tests use exist on this system (tzdata)."""
    assert ZoneInfo("Europe/Paris") is not None


async def test_an_interrupted_digest_resumes_after_its_last_recorded_part(
    api: FakeBotApi,
    make_engine: Callable[..., DeliveryEngine],
    sessionmaker: Sessions,
    clock: FakeClock,
    pace: PaceService,
) -> None:
    """A digest in several parts whose first part was recorded before a crash: the next engine
    sends the remaining parts only, and then marks the digest and all its posts sent."""
    clock.current = _utc(2026, 11, 24, 8)
    topic = await _topic(sessionmaker, clock, [CHAT])
    await _paris_daily(pace)
    for n in range(30):
        clock.advance(60)
        await _post(sessionmaker, clock, topic, f"Title {n:02d} " + "word " * 40)
    await make_engine().drain_all()
    clock.current = _utc(2026, 11, 24, 17)
    api.fail_next("sendMessage", 502, count=1)
    engine = make_engine()
    await engine.drain_once()  # builds the digest; its first send fails
    await engine.stop()
    async with sessionmaker.begin() as session:
        (digest,) = (await session.execute(select(DigestMessage))).scalars().all()
        carried = len(await PaceRepo(session).digest_items(digest.id))
        await PaceRepo(session).mark_part_sent(digest.id, 1)  # as if part 1 went out, then a crash
    clock.advance(60)
    await make_engine().drain_all()
    texts = _texts(api)
    assert carried == 30
    assert texts
    assert "daily digest" not in texts[0]  # the header was in part 1: not sent again
    async with sessionmaker() as session:
        statuses = set((await session.execute(select(Delivery.status))).scalars())
        done = (await session.execute(select(DigestMessage.status))).scalars().all()
    assert (statuses, done) == ({"sent"}, ["sent"])


async def test_quiet_hours_release_stays_under_telegrams_limits_in_real_time(
    api: FakeBotApi,
    make_engine: Callable[..., DeliveryEngine],
    sessionmaker: Sessions,
    clock: FakeClock,
    pace: PaceService,
) -> None:
    """With the fake server's real limits on (30/s overall, 1/s per chat) and the engine pacing
    in real time, a night's backlog for 40 chats released at once meets no 429."""
    chats = list(range(4001, 4041))
    clock.current = _utc(2026, 11, 25, 4)  # 23:00 in Montréal
    topic = await _topic(sessionmaker, clock, chats)
    for chat_id in chats:
        await pace.set_timezone(chat_id, "America/Toronto")
        await pace.set_quiet(chat_id, "22:00-08:00")
    await _post(sessionmaker, clock, topic, "First night news")
    await _post(sessionmaker, clock, topic, "Second night news")
    await make_engine().drain_all()
    api.set_limits(enabled=True)
    clock.current = _utc(2026, 11, 25, 13) + timedelta(seconds=QUIET_RELEASE_SECONDS)
    engine = make_engine(sleep=asyncio.sleep, monotonic=time.monotonic)
    await engine.drain_all(deadline=120)
    stats = api.stats
    assert api.sent_per_chat() == dict.fromkeys(chats, 2)
    assert (stats.too_many_requests, engine.stats.flood_waits) == (0, 0)
