"""DeliveryRepo.mark_sent_many: the engine's group commit of accepted messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Delivery
from bot.db.repos import DeliveryRepo
from bot.domain.types import DeliveryStatus
from tests.faults.conftest import seed_fan_out


async def test_mark_sent_many_marks_only_the_given_deliveries(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await seed_fan_out(sessionmaker, 4)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with sessionmaker() as session:
        ids = sorted((await session.scalars(select(Delivery.id))).all())
    async with sessionmaker.begin() as session:
        await DeliveryRepo(session).mark_sent_many([(ids[0], 11, when), (ids[1], None, when)])
        await DeliveryRepo(session).mark_sent_many([])
    async with sessionmaker() as session:
        rows = {d.id: d for d in (await session.scalars(select(Delivery))).all()}
    assert [(rows[i].status, rows[i].message_id, rows[i].attempts) for i in ids] == [
        (DeliveryStatus.SENT.value, 11, 1),
        (DeliveryStatus.SENT.value, None, 1),
        (DeliveryStatus.PENDING.value, None, 0),
        (DeliveryStatus.PENDING.value, None, 0),
    ]
    assert rows[ids[0]].sent_at == when


async def test_each_mark_keeps_its_own_time_and_message_id(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A flush of 40 marks (PostgreSQL: one UPDATE … FROM unnest) records each row's own values."""
    await seed_fan_out(sessionmaker, 40)
    base = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with sessionmaker() as session:
        ids = sorted((await session.scalars(select(Delivery.id))).all())
    marks = [
        (delivery_id, None if n % 7 == 0 else 1000 + n, base + timedelta(milliseconds=n))
        for n, delivery_id in enumerate(ids)
    ]
    async with sessionmaker.begin() as session:
        await DeliveryRepo(session).mark_sent_many(marks)
    async with sessionmaker() as session:
        rows = {d.id: d for d in (await session.scalars(select(Delivery))).all()}
    assert [(i, rows[i].message_id, rows[i].sent_at) for i, _, _ in marks] == marks
    assert {(rows[i].status, rows[i].attempts, rows[i].last_error) for i in ids} == {
        (DeliveryStatus.SENT.value, 1, None)
    }
