"""Storage for tracked links: DeliveryRepo.record_click, StateRepo.set_if_absent, PostRepo.get."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Delivery
from bot.db.repos import DeliveryRepo, PostRepo, StateRepo
from bot.db.repos.totals import delivery_figures
from tests.faults.conftest import seed_fan_out

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


async def test_record_click_counts_clicks_and_keeps_the_first_time(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    post_id = await seed_fan_out(sessionmaker, 3)
    async with sessionmaker() as session:
        first, second, _ = sorted((await session.scalars(select(Delivery.id))).all())
    later = NOW + timedelta(minutes=5)
    async with sessionmaker.begin() as session:
        repo = DeliveryRepo(session)
        answers = [
            await repo.record_click(first, post_id=post_id, broadcast_id=None, now=NOW),
            await repo.record_click(first, post_id=post_id, broadcast_id=None, now=later),
            await repo.record_click(second, post_id=post_id, broadcast_id=None, now=later),
            # the wrong message, and a row that does not exist, change nothing
            await repo.record_click(first, post_id=post_id + 1, broadcast_id=None, now=later),
            await repo.record_click(first, post_id=None, broadcast_id=post_id, now=later),
            await repo.record_click(10**12, post_id=post_id, broadcast_id=None, now=later),
        ]
    async with sessionmaker() as session:
        rows = {d.id: d for d in (await session.scalars(select(Delivery))).all()}
        figures = (await session.execute(select(*delivery_figures()))).one()._asdict()
    assert answers == [True, True, True, False, False, False]
    assert [(rows[i].clicks, rows[i].first_click_at) for i in (first, second)] == [
        (2, NOW),
        (1, later),
    ]
    assert (figures["clicks"], figures["click_count"]) == (2, 3)


async def test_set_if_absent_keeps_the_first_value(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker.begin() as session:
        first = await StateRepo(session).set_if_absent("link_secret", "one")
    async with sessionmaker.begin() as session:
        second = await StateRepo(session).set_if_absent("link_secret", "two")
    async with sessionmaker() as session:
        stored = await StateRepo(session).get("link_secret")
    assert (first, second, stored) == ("one", "one", "one")


async def test_post_get_by_id(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    post_id = await seed_fan_out(sessionmaker, 1)
    async with sessionmaker() as session:
        post = await PostRepo(session).get(post_id)
        missing = await PostRepo(session).get(post_id + 1000)
    assert (post is not None and post.url, missing) == ("https://news.example.org/fault", None)
