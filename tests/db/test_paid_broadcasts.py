"""BroadcastRepo's paid-broadcast switch: stop once, list the refusals not yet told, mark told."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Broadcast
from bot.db.repos import BroadcastRepo

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def test_stop_paid_switches_once_and_is_listed_until_told(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker.begin() as session:
        repo = BroadcastRepo(session)
        paid = await repo.add(Broadcast(created_by=1, status="sending", created_at=NOW, paid=True))
        free = await repo.add(Broadcast(created_by=1, status="sending", created_at=NOW))
        paid_id, free_id = paid.id, free.id
    async with sessionmaker.begin() as session:
        repo = BroadcastRepo(session)
        assert await repo.paid_refused_unnotified() == []
        switched = [
            await repo.stop_paid(paid_id, NOW),
            await repo.stop_paid(paid_id, NOW),  # the other in-flight refusals: no-ops
            await repo.stop_paid(free_id, NOW),  # never paid: nothing to stop
        ]
        assert switched == [True, False, False]
    async with sessionmaker.begin() as session:
        repo = BroadcastRepo(session)
        assert [b.id for b in await repo.paid_refused_unnotified()] == [paid_id]
        await repo.mark_paid_notified(paid_id)
    async with sessionmaker() as session:
        repo = BroadcastRepo(session)
        assert await repo.paid_refused_unnotified() == []
        row = await repo.get(paid_id)
        assert row is not None
        stopped = row.paid_stopped_at
        assert stopped is not None
        assert (row.paid, row.paid_notified, stopped.replace(tzinfo=UTC)) == (False, True, NOW)
