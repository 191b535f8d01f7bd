"""Chaos while sending: 5xx, lost answers (some after delivery) and 429 bursts from the server.

The real DeliveryEngine and TelegramSender over real HTTP against the fake Bot API; the sender's
Bot has short timeouts so that held requests time out quickly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.db.repos import DeliveryRepo
from bot.domain.clock import SystemClock
from bot.domain.types import DeliveryStatus
from bot.sender import TelegramSender
from bot.services.delivery import DeliveryEngine
from tests.fakes.botapi import FakeBotApi
from tests.faults.conftest import FIRST_CHAT, seed_fan_out

CHATS = 3_000
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(limits=False) as server:
        yield server


async def _pending(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return await DeliveryRepo(session).count(DeliveryStatus.PENDING)


async def test_chaos_sending_loses_nothing_and_duplicates_only_lost_answers(
    api: FakeBotApi, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """3,000 deliveries through 5xx, timeouts and 429 bursts: none lost, duplicates only
    where a send's answer was lost and the send was retried."""
    await seed_fan_out(sessionmaker, CHATS)
    api.chaos(
        rate_5xx=0.05,
        rate_timeout=0.02,
        rate_429=0.001,
        seed=11,
        retry_after=1,
        methods=["sendMessage"],
        deliver_on_timeout=True,
    )
    request = HTTPXRequest(
        connection_pool_size=64,
        read_timeout=0.3,
        write_timeout=0.3,
        connect_timeout=1.0,
        pool_timeout=1.0,
        httpx_kwargs={"trust_env": False},
    )
    async with Bot(api.token, base_url=api.base_url, request=request) as bot:
        engine = DeliveryEngine(
            sessionmaker,
            TelegramSender(bot),
            SystemClock(),
            rate=1000,
            tz=UTC,
            concurrency=32,
            rng=lambda: 0.0,
        )
        # drain_all stops when nothing is due; retries wait out their backoff in real time.
        # A guard against a hang, not a speed target: a loaded CI machine shares its cores.
        # (About 20 s of CPU on its own here; 2 test processes per core stretch it.)
        async with asyncio.timeout(720):
            while await _pending(sessionmaker):
                await engine.drain_all(deadline=700)
                await asyncio.sleep(0.2)
    counts = api.sent_per_chat()
    stats = api.stats
    async with sessionmaker() as session:
        repo = DeliveryRepo(session)
        sent, pending, failed = (
            await repo.count(DeliveryStatus.SENT),
            await repo.count(DeliveryStatus.PENDING),
            await repo.count(DeliveryStatus.FAILED),
        )
    lost = sum(1 for c in range(FIRST_CHAT, FIRST_CHAT + CHATS) if counts.get(c, 0) == 0)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    # A duplicate can only come from a send whose answer was lost after Telegram delivered it
    # (a held request, or on a loaded machine a slow answer past the client's 0.3 s timeout),
    # which the engine then retried: each duplicate needs one such retry.
    assert (lost, sent, pending, failed) == (0, CHATS, 0, 0)
    assert duplicates <= engine.stats.retried
    faults_seen = (stats.server_errors, stats.timeouts, stats.too_many_requests)
    assert min(*faults_seen, engine.stats.flood_waits) > 0, faults_seen
