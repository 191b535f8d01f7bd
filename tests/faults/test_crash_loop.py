"""Crash loop: `campaignbot run` is killed with SIGKILL five times during a 2,500-chat fan-out.

Each time it is restarted; in the end every chat has its message and the duplicates stay within
five times the engine's crash bound (the sends in flight plus one unflushed batch of marks).
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.e2e.test_crash import IN_FLIGHT_BOUND, _pending, _start_bot, _wait_exit
from tests.fakes.botapi import FakeBotApi
from tests.faults.conftest import FIRST_CHAT, seed_fan_out

CHATS = 2500
KILLS = 5
pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(limits=False) as server:
        yield server


async def test_five_kills_lose_nothing(
    api: FakeBotApi,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    await seed_fan_out(sessionmaker, CHATS)
    for kill in range(1, KILLS + 1):
        process = await _start_bot(api, database_url, tmp_path)
        await api.wait_for_sent(kill * CHATS // (KILLS + 2), timeout=90)
        process.send_signal(signal.SIGKILL)
        await _wait_exit(process)
    killed_at = api.stats.sent_messages
    final = await _start_bot(api, database_url, tmp_path)
    await api.wait_until(
        lambda: len(api.sent_per_chat()) >= CHATS, timeout=120, what="every chat served"
    )
    final.send_signal(signal.SIGTERM)
    status = await _wait_exit(final)
    counts = api.sent_per_chat()
    lost = sum(1 for c in range(FIRST_CHAT, FIRST_CHAT + CHATS) if counts.get(c, 0) == 0)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    assert (status, killed_at < CHATS, lost, await _pending(database_url)) == (0, True, 0, 0)
    assert duplicates <= KILLS * IN_FLIGHT_BOUND, duplicates
