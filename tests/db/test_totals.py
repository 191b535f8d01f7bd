"""TotalsRepo: per-message counters add up under repeated upserts; growth is counted per week."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.repos import TopicRepo, TotalsRepo
from bot.db.repos.totals import week_start
from bot.domain.types import TopicSpec

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


async def test_add_sums_per_message_and_topic(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Two adds to one (message, topic) sum; another topic and no topic (0) stay apart."""
    async with sessionmaker.begin() as session:
        totals = TotalsRepo(session)
        await totals.add("broadcast", 7, 3, shares=1, joins=2)
        await totals.add("broadcast", 7, 3, shares=4)
        await totals.add("broadcast", 7, None, unsubscribes=1)
        await totals.add("post", 7, 3, clicks=5)
    async with sessionmaker() as session:
        per_topic = await TotalsRepo(session).for_message("broadcast", 7)
    assert {t: {k: v for k, v in c.items() if v} for t, c in per_topic.items()} == {
        3: {"shares": 5, "joins": 2},
        0: {"unsubscribes": 1},
    }


async def test_add_refuses_an_unknown_counter(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A misspelt counter is an error, not a silently dropped figure."""
    async with sessionmaker.begin() as session:
        with pytest.raises(ValueError, match="clickz"):
            await TotalsRepo(session).add("post", 1, None, clickz=1)


async def test_growth_is_counted_per_iso_week(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Sunday and the next Monday fall in two weeks; the same week sums."""
    async with sessionmaker.begin() as session:
        topic = await TopicRepo(session).add(TopicSpec(slug="t", name="T"), NOW)
        totals = TotalsRepo(session)
        await totals.add_growth(topic.id, date(2026, 11, 29), joined=2)  # a Sunday
        await totals.add_growth(topic.id, date(2026, 11, 30), joined=1)  # Monday
        await totals.add_growth(topic.id, date(2026, 12, 2), left=1)
    async with sessionmaker() as session:
        rows = await TotalsRepo(session).growth_since(date(2026, 11, 25))
    assert rows == [
        (topic.id, date(2026, 11, 23), 2, 0),
        (topic.id, date(2026, 11, 30), 1, 1),
    ]
    assert week_start(date(2026, 12, 6)) == date(2026, 11, 30)
