"""TotalsRepo: per-message counters add up under repeated upserts; growth is counted per week."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Broadcast, Delivery
from bot.db.repos import ChatRepo, TopicRepo, TotalsRepo
from bot.db.repos.totals import delivery_figures, week_start
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


async def test_delivery_figures_count_each_status_click_and_action(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The aggregate columns read sent, failed, dropped, unique and total clicks and actions."""
    async with sessionmaker.begin() as session:
        chats = ChatRepo(session)
        for chat_id in range(1, 6):
            await chats.ensure(chat_id, "private", NOW)
        broadcast = Broadcast(created_by=1, status="done", created_at=NOW)
        session.add(broadcast)
        await session.flush()
        rows = [
            ("sent", 3, NOW),
            ("sent", 1, NOW),
            ("sent", 0, None),
            ("failed", 0, None),
            ("dropped", 0, None),
        ]
        for chat_id, (status, clicks, acted) in enumerate(rows, start=1):
            session.add(
                Delivery(
                    chat_id=chat_id,
                    broadcast_id=broadcast.id,
                    status=status,
                    next_attempt_at=NOW,
                    created_at=NOW,
                    clicks=clicks,
                    first_click_at=NOW if clicks else None,
                    acted_at=acted,
                )
            )
    async with sessionmaker() as session:
        figures = (
            await session.execute(
                select(*delivery_figures()).where(Delivery.broadcast_id == broadcast.id)
            )
        ).one()
    assert dict(figures._mapping) == {
        "targeted": 5,
        "sent": 3,
        "failed": 1,
        "blocked": 1,
        "clicks": 2,
        "click_count": 4,
        "actions": 2,
    }
