"""TopicRepo.rule_counts and ReportRepo.subscriber_counts: the figures of `topics list`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.repos import ChatRepo, ReportRepo, TopicRepo
from bot.domain.types import TopicSpec

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def _seed(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessionmaker.begin() as session:
        topics = TopicRepo(session)
        ruled = await topics.add(
            TopicSpec(slug="ruled", name="Ruled", keywords=("a", "b"), excludes=("c",)), NOW
        )
        bare = await topics.add(TopicSpec(slug="bare", name="Bare"), NOW)
        chats = ChatRepo(session)
        for chat_id in (1, 2):
            await chats.ensure(chat_id, "private", NOW)
            await chats.subscribe(chat_id, ruled.id, NOW)
        await chats.set_inactive(2, "blocked", NOW)
        return ruled.id, bare.id


async def test_rule_counts_leave_out_topics_without_rules(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Each topic with rules is counted; a topic without any is absent."""
    ruled, _ = await _seed(sessionmaker)
    async with sessionmaker() as session:
        counts = await TopicRepo(session).rule_counts()
    assert counts == {ruled: 3}


async def test_subscriber_counts_count_inactive_chats_too(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Every subscribed chat counts, active or not; a topic nobody follows is absent."""
    ruled, _ = await _seed(sessionmaker)
    async with sessionmaker() as session:
        counts = await ReportRepo(session).subscriber_counts()
    assert counts == {ruled: 2}
