"""Crash safety of the real `campaignbot run` process: kill -9 mid fan-out, SIGTERM drains.

The bot runs as a separate process (`campaignbot run`, forked from a parent that has imported
the bot, tests/prefork.py) against the fake Bot API server in this test's process; deliveries
are counted at the server, so losses and duplicates are facts.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import async_database_url
from bot.db.repos import DeliveryRepo
from bot.db.session import make_engine, make_sessionmaker
from bot.domain.types import DeliveryStatus
from tests.fakes.botapi import FakeBotApi
from tests.faults.conftest import seed_fan_out
from tests.prefork import BotProcess, start_bot

REPO_ROOT = Path(__file__).resolve().parents[2]
CHATS = 2000
# DeliveryEngine.crash_bound with defaults: the sends in flight (concurrency 8) plus one
# unflushed batch of sent marks (mark_batch 32) can repeat after a kill.
IN_FLIGHT_BOUND = 8 + 32

pytestmark = pytest.mark.slow


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Bot API, without flood limits so the fan-out is quick."""
    async with FakeBotApi(limits=False) as server:
        yield server


async def _queue_fan_out(url: str, chats: int) -> None:
    """Subscribe `chats` chats and queue one pending delivery each (what a new post does)."""
    engine = make_engine(async_database_url(url))
    await seed_fan_out(make_sessionmaker(engine), chats)  # bulk rows: seconds less than the ORM
    await engine.dispose()


async def _pending(url: str) -> int:
    engine = make_engine(async_database_url(url))
    async with make_sessionmaker(engine)() as session:
        count = await DeliveryRepo(session).count(DeliveryStatus.PENDING)
    await engine.dispose()
    return count


async def _sent_in_db(url: str) -> int:
    engine = make_engine(async_database_url(url))
    async with make_sessionmaker(engine)() as session:
        count = await DeliveryRepo(session).count(DeliveryStatus.SENT)
    await engine.dispose()
    return count


async def _start_bot(api: FakeBotApi, url: str, tmp_path: Path) -> BotProcess:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_URL": api.base_url,
        "DATABASE_URL": url,
        "POLL_INTERVAL_SECONDS": "300",
        "SEND_RATE_PER_SECOND": "1000",
        "LOG_LEVEL": "WARNING",
        # On PostgreSQL a killed bot's claimed batch passes to the next one when its lease
        # ends: a short lease keeps the restarts quick (the default 30 s changes nothing else).
        "FLEET_LEASE_SECONDS": "3",
    }
    return await start_bot(env, "run", cwd=tmp_path)


async def _wait_exit(process: BotProcess, timeout: float = 30) -> int:
    await asyncio.wait_for(process.wait(), timeout)
    assert process.returncode is not None
    return process.returncode


async def test_kill_9_mid_fan_out_loses_nothing(
    api: FakeBotApi, database_url: str, engine: object, tmp_path: Path
) -> None:
    """After SIGKILL during a 2,000-chat fan-out and a restart, every chat has its message and
    duplicates stay within the in-flight bound."""
    await _queue_fan_out(database_url, CHATS)
    first = await _start_bot(api, database_url, tmp_path)
    await api.wait_for_sent(CHATS // 4, timeout=60)
    first.send_signal(signal.SIGKILL)
    await _wait_exit(first)
    sent_before_restart = api.stats.sent_messages
    second = await _start_bot(api, database_url, tmp_path)
    await api.wait_until(
        lambda: len(api.sent_per_chat()) >= CHATS, timeout=120, what="every chat served"
    )
    second.send_signal(signal.SIGTERM)
    status = await _wait_exit(second)
    counts = api.sent_per_chat()
    lost = sum(1 for chat_id in range(100_000, 100_000 + CHATS) if counts.get(chat_id, 0) == 0)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    assert (
        status,
        sent_before_restart < CHATS,
        lost,
        duplicates <= IN_FLIGHT_BOUND,
        await _pending(database_url),
    ) == (0, True, 0, True, 0)


async def test_sigterm_finishes_in_flight_sends(
    api: FakeBotApi, database_url: str, engine: object, tmp_path: Path
) -> None:
    """SIGTERM stops the bot with exit 0, and every message Telegram accepted is marked sent."""
    await _queue_fan_out(database_url, 600)
    process = await _start_bot(api, database_url, tmp_path)
    await api.wait_for_sent(100, timeout=60)
    process.send_signal(signal.SIGTERM)
    status = await _wait_exit(process)
    accepted = api.stats.sent_messages
    assert (status, await _sent_in_db(database_url)) == (0, accepted)
