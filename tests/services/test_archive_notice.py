"""Archiving a topic tells its followers once, and the notice is no organiser's broadcast.

Real services on SQLite and PostgreSQL; the notice goes out through the real delivery engine
and the real PTB Bot to the fake Bot API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot.domain.types import Actor
from bot.sender import TelegramSender
from bot.services.broadcasts import BroadcastDraft, BroadcastService
from bot.services.delivery import DeliveryEngine
from bot.services.topics import TopicService
from tests.fakes.botapi import FakeBotApi
from tests.fakes.clock import FakeClock
from tests.services.support import follow

Sessions = async_sessionmaker[AsyncSession]
ADMIN = Actor.of(9001, "boss")
ORGANISER = 7007
FOLLOWERS = [1001, 1002]
GONE = 1003  # follows the topic but blocked the bot


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Telegram Bot API."""
    async with FakeBotApi(limits=False) as server:
        yield server


@pytest.fixture
async def followed_topics(
    sessionmaker: Sessions, clock: FakeClock, topics: TopicService
) -> TopicService:
    """The topic use-cases, with the bundled topics and three chats following StopTorture."""
    await follow(sessionmaker, clock, "stoptorture", [*FOLLOWERS, GONE], blocked=[GONE])
    return topics


@pytest.fixture
def broadcasts(sessionmaker: Sessions, clock: FakeClock) -> BroadcastService:
    """The organisers' broadcast use-cases."""
    return BroadcastService(sessionmaker, clock, UTC)


async def _drain(api: FakeBotApi, sessionmaker: Sessions, clock: FakeClock) -> None:
    """Send every pending delivery through the real engine, paced on the fake clock."""

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    async with Bot(api.token, base_url=api.base_url) as bot:
        engine = DeliveryEngine(
            sessionmaker,
            TelegramSender(bot),
            clock,
            rate=1000,
            tz=UTC,
            rng=lambda: 0.0,
            sleep=sleep,
            monotonic=lambda: clock.now().timestamp(),
        )
        await engine.drain_all()


async def test_archive_notice_is_not_listed_in_broadcasts(
    followed_topics: TopicService, broadcasts: BroadcastService
) -> None:
    """/broadcasts lists the organisers' broadcasts, not the notice an archive sends."""
    audience = await broadcasts.audience(["all"])
    sent = await broadcasts.send_now(
        BroadcastDraft(audience=audience, text_html="Sign the petition."),
        actor_id=ORGANISER,
        actor=str(ORGANISER),
    )
    await followed_topics.archive_topic(ADMIN, "stoptorture")
    recent, scheduled = await broadcasts.overview()
    assert ([v.id for v in recent], scheduled) == ([sent.id], [])


async def test_archive_notice_reaches_each_active_follower_once(
    followed_topics: TopicService, api: FakeBotApi, sessionmaker: Sessions, clock: FakeClock
) -> None:
    """Each active follower gets the notice once (archiving again sends nothing more)."""
    await followed_topics.archive_topic(ADMIN, "stoptorture")
    await followed_topics.archive_topic(ADMIN, "stoptorture")
    await _drain(api, sessionmaker, clock)
    received = {chat: [m.text for m in api.messages(chat)] for chat in [*FOLLOWERS, GONE]}
    notice = (
        "The topic ✋ StopTorture has been archived: you will get no more posts about it. "
        "Send /topics to choose other topics."
    )
    assert received == {1001: [notice], 1002: [notice], GONE: []}
