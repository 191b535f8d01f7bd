"""Shared by the tests of the admin-side services (roles, topics, feeds, reports).

The admin who acts (in ADMIN_IDS), chats following a topic, and small counters over the rows
a use-case wrote.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import AuditEntry
from bot.db.repos import ChatRepo, TopicRepo, UserRepo
from bot.domain.types import Actor
from tests.fakes.clock import FakeClock

ADMIN_ID = 9001
ACTOR = Actor.of(ADMIN_ID, "boss")
Sessions = async_sessionmaker[AsyncSession]


async def count_rows(sessionmaker: Sessions, model: Any, *where: Any) -> int:
    """How many rows of `model` match `where`."""
    async with sessionmaker() as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(stmt)).scalar_one())


async def audit_actions(sessionmaker: Sessions) -> list[str]:
    """The audited actions in order, leaving out the topics import the fixtures do."""
    async with sessionmaker() as session:
        result = await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))
        return [a for a in result.scalars() if a != "topics.import"]


async def remember_user(sessionmaker: Sessions, clock: FakeClock, user_id: int, name: str) -> None:
    """Store a user with an @username, as when they talk to the bot."""
    async with sessionmaker.begin() as session:
        await UserRepo(session).upsert(user_id, name, clock.now())


async def follow(
    sessionmaker: Sessions,
    clock: FakeClock,
    slug: str,
    chat_ids: Iterable[int],
    *,
    blocked: Iterable[int] = (),
) -> None:
    """Private chats follow a topic; the `blocked` ones have since become unreachable."""
    async with sessionmaker.begin() as session:
        chats, topic = ChatRepo(session), await TopicRepo(session).by_key(slug)
        assert topic is not None
        for chat_id in chat_ids:
            await chats.ensure(chat_id, "private", clock.now())
            await chats.subscribe(chat_id, topic.id, clock.now())
        for chat_id in blocked:
            await chats.set_inactive(chat_id, "blocked", clock.now())
