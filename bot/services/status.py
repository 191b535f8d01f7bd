"""Operational status for /healthz and /metrics: is the database answering, how long is the queue.

Owns the queries the web server needs, so that it calls a service and never a repository.
Must not: know about HTTP, Prometheus or Telegram.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.repos import DeliveryRepo
from bot.domain.types import DeliveryStatus


class StatusService:
    """Cheap checks of the storage, each in a short read-only unit of work."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def ping_database(self) -> None:
        """Run `SELECT 1`; any database error propagates to the caller."""
        async with self._sessionmaker() as session:
            await session.execute(text("SELECT 1"))

    async def pending_deliveries(self) -> int:
        """How many deliveries wait to be sent."""
        async with self._sessionmaker() as session:
            return await DeliveryRepo(session).count(DeliveryStatus.PENDING)
