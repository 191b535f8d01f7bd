"""A linked channel through the delivery engine: Telegram's 20 messages a minute per channel.

The engine and the fake Bot API share one fake clock (the engine's sleeps advance it), with
the fake's limits on, so a minute of pacing takes a fraction of a second and a 21st message
within any minute would be answered 429.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot.db.repos import ChatRepo, DeliveryRepo, PostRepo, TopicRepo
from bot.domain.types import ParsedEntry, TopicSpec
from bot.sender import LeanSender
from bot.services.delivery import DeliveryEngine
from tests.fakes.botapi import FakeBotApi
from tests.fakes.clock import FakeClock

CHANNEL = -1001234567890
BURST = 25


@pytest.fixture
async def api(clock: FakeClock) -> AsyncIterator[FakeBotApi]:
    """The fake Bot API with Telegram's limits, on the test's fake clock."""
    async with FakeBotApi(clock=lambda: clock.now().timestamp()) as server:
        yield server


async def _burst(sessionmaker: async_sessionmaker[AsyncSession], clock: FakeClock) -> None:
    """A channel linked to one topic, and BURST new posts of that topic for it."""
    now = clock.now()
    async with sessionmaker.begin() as session:
        topic = await TopicRepo(session).add(TopicSpec(slug="burst", name="Burst"), now)
        chats = ChatRepo(session)
        await chats.ensure(CHANNEL, "channel", now)
        await chats.subscribe(CHANNEL, topic.id, now)
        entries = [
            ParsedEntry(
                identity=f"burst-{n}",
                url=f"https://news.example.org/burst/{n}",
                title=f"Post {n}",
                summary="Urgent.",
            )
            for n in range(BURST)
        ]
        inserted = await PostRepo(session).insert_new(None, entries, now, announced=True)  # type: ignore[arg-type]
        for entry in entries:
            await DeliveryRepo(session).fan_out_post(inserted[entry.identity], [topic.id], now)


@pytest.mark.slow  # some 650 statements for a simulated minute and a half of pacing
async def test_a_burst_to_one_channel_is_paced_at_20_a_minute(
    api: FakeBotApi, sessionmaker: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """25 posts for one channel: all sent, never 429, at most 20 in any 60 seconds."""
    api.add_channel(CHANNEL, "Burst channel", "burstchannel")
    await _burst(sessionmaker, clock)

    engine: DeliveryEngine | None = None

    async def sleep(seconds: float) -> None:
        # An idle pass sleeps until the channel may have its next message (as if nothing
        # woke it earlier): never sooner than asked, so no faster than the engine's pacing,
        # and a minute of pacing takes a few dozen passes instead of hundreds.
        ready = engine.pacer.chat_ready_in(CHANNEL) if engine is not None else 0.0
        clock.advance(max(seconds, ready))
        await asyncio.sleep(0)

    async with Bot(api.token, base_url=api.base_url) as bot:
        sender = LeanSender(bot.base_url)
    try:
        engine = DeliveryEngine(
            sessionmaker,
            sender,
            clock,
            rate=25,
            tz=UTC,
            rng=lambda: 0.0,
            sleep=sleep,
            monotonic=lambda: clock.now().timestamp(),
            mark_flush_seconds=0.0,
        )
        await engine.drain_all(deadline=30)
    finally:
        await sender.aclose()
    sends = sorted(r.time for r in api.requests("sendMessage") if r.params["chat_id"] == CHANNEL)
    busiest = max(len([t for t in sends if start <= t < start + 60]) for start in sends)
    gaps = [later - earlier for earlier, later in itertools.pairwise(sends)]
    assert (
        len(api.messages(CHANNEL)),
        api.stats.too_many_requests,
        busiest,
        min(gaps) >= 3.0,
    ) == (BURST, 0, 20, True)
