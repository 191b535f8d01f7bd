"""Helpers for the fault suite: bulk seeding of subscribed chats and one fanned-out post."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Chat, Subscription
from bot.db.repos import DeliveryRepo, PostRepo, TopicRepo
from bot.domain.types import ParsedEntry, TopicSpec

FIRST_CHAT = 100_000
TOPIC_SLUG = "faults"


async def seed_fan_out(
    sessionmaker: async_sessionmaker[AsyncSession],
    chats: int,
    *,
    title: str = "A post for everyone",
    summary: str = "Act now.",
) -> int:
    """`chats` private chats follow a topic and one post is fanned out to them; returns its id."""
    now = datetime.now(UTC)
    async with sessionmaker.begin() as session:
        topic_id = await _add_followers(session, chats, now)
        entry = ParsedEntry(
            identity="fault-1", url="https://news.example.org/fault", title=title, summary=summary
        )
        inserted = await PostRepo(session).insert_new(None, [entry], now, announced=True)  # type: ignore[arg-type]
        await DeliveryRepo(session).fan_out_post(inserted["fault-1"], [topic_id], now)
        return inserted["fault-1"]


async def seed_followers(sessionmaker: async_sessionmaker[AsyncSession], chats: int) -> str:
    """`chats` private chats (from FIRST_CHAT on) follow a new topic; returns its slug."""
    async with sessionmaker.begin() as session:
        await _add_followers(session, chats, datetime.now(UTC))
    return TOPIC_SLUG


async def _add_followers(session: AsyncSession, chats: int, now: datetime) -> int:
    topic = await TopicRepo(session).add(
        TopicSpec(slug=TOPIC_SLUG, name="Faults", keywords=("faults",)), now
    )
    ids = range(FIRST_CHAT, FIRST_CHAT + chats)
    rows = [
        {"id": i, "type": "private", "active": True, "created_at": now, "updated_at": now}
        for i in ids
    ]
    await session.execute(insert(Chat), rows)
    await session.execute(
        insert(Subscription),
        [{"chat_id": i, "topic_id": topic.id, "created_at": now} for i in ids],
    )
    return topic.id
