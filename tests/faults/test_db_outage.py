"""Database outage (PostgreSQL): the bot's backends are terminated while it polls and sends;
it reconnects by itself (pool_pre_ping, the engine's retrying loop, the poll job) and finishes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import make_application, running
from bot.config import Settings
from bot.db.repos import DeliveryRepo
from bot.domain.types import DeliveryStatus
from tests.e2e.test_crash import IN_FLIGHT_BOUND
from tests.fakes.botapi import FakeBotApi
from tests.fakes.feedserver import FeedServer, rss
from tests.faults.conftest import FIRST_CHAT, seed_fan_out

CHATS = 2000
TERMINATE = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(limits=False) as server:
        yield server


async def _terminate(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        killed = await conn.scalar(text(TERMINATE))
        await conn.commit()
    return int(killed or 0)


# PostgreSQL only (SQLite has no server connections to terminate): without TEST_DATABASE_URL
# this is the suite's one allowed skip, the PostgreSQL run.
@pytest.mark.parametrize("db_kind", ["postgres"], indirect=True)
async def test_bot_survives_terminated_backends(
    api: FakeBotApi,
    db_kind: str,
    database_url: str,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await seed_fan_out(sessionmaker, CHATS)
    async with FeedServer() as feeds:
        feeds.add("/news.xml", rss([{"title": "Faults news", "guid": "n1"}]))
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            telegram_bot_token=api.token,
            telegram_api_url=api.base_url,
            database_url=database_url,
            allow_private_feed_urls=True,
            poll_interval_seconds=1,
            send_rate_per_second=300,
            feed_urls=[feeds.url("/news.xml")],
        )
        application = make_application(settings)
        async with running(application):
            runtime = application.bot_data["runtime"]
            await api.wait_for_sent(CHATS // 4, timeout=60)
            killed_sending = await _terminate(engine)
            await api.wait_for_sent(CHATS // 2, timeout=60)
            killed_again = await _terminate(engine)
            after_outage = time.monotonic()
            await api.wait_until(
                lambda: len(api.sent_per_chat()) >= CHATS, timeout=90, what="every chat served"
            )
            hits = feeds.hits("/news.xml")
            await _terminate(engine)  # once more, between poll cycles
            await api.wait_until(
                lambda: (
                    (runtime.ingest.last_cycle_at or 0) > after_outage
                    and feeds.hits("/news.xml") > hits
                ),
                timeout=30,
                what="a poll cycle after the outage",
            )
            async with asyncio.timeout(30):
                while True:
                    async with sessionmaker() as session:
                        pending = await DeliveryRepo(session).count(DeliveryStatus.PENDING)
                    if pending == 0:
                        break
                    await asyncio.sleep(0.2)
            alive = runtime.delivery_running
    counts = api.sent_per_chat()
    lost = sum(1 for c in range(FIRST_CHAT, FIRST_CHAT + CHATS) if counts.get(c, 0) == 0)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    assert (killed_sending > 0, killed_again > 0, lost, alive) == (True, True, 0, True)
    assert duplicates <= 2 * IN_FLIGHT_BOUND, duplicates
