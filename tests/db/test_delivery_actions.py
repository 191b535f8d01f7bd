"""DeliveryRepo: action presses (mark_acted, has_delivered, count_acted) and latest_sent_since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Broadcast, Delivery
from bot.db.repos import ChatRepo, DeliveryRepo, TopicRepo
from bot.domain.types import TopicSpec

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


async def _seed(session: AsyncSession) -> tuple[int, int, int]:
    """Chats 1-3 and two broadcasts: #a sent to 1 (message 101) and 2 (102), pending for 3;
    #b sent to 1 (message 201) an hour later. Returns (a, b, topic id)."""
    chats = ChatRepo(session)
    for chat_id in (1, 2, 3):
        await chats.ensure(chat_id, "private", NOW)
    topic = await TopicRepo(session).add(TopicSpec(slug="t", name="T"), NOW)
    a = Broadcast(created_by=1, status="sending", created_at=NOW)
    b = Broadcast(created_by=1, status="sending", created_at=NOW)
    session.add_all([a, b])
    await session.flush()
    later = NOW + timedelta(hours=1)
    for chat_id, broadcast, status, message_id, sent_at in (
        (1, a, "sent", 101, NOW),
        (2, a, "sent", 102, NOW),
        (3, a, "pending", None, None),
        (1, b, "sent", 201, later),
    ):
        session.add(
            Delivery(
                chat_id=chat_id,
                broadcast_id=broadcast.id,
                topic_id=topic.id,
                status=status,
                message_id=message_id,
                sent_at=sent_at,
                next_attempt_at=NOW,
                created_at=NOW,
            )
        )
    await session.flush()
    return a.id, b.id, topic.id


async def test_mark_acted_counts_once_and_only_on_the_delivered_message(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The first press on the chat's own message counts; a second, another message id, another
    chat's message, a pending delivery or a message the chat never got count nothing."""
    async with sessionmaker.begin() as session:
        a, b, _ = await _seed(session)
    async with sessionmaker.begin() as session:
        repo = DeliveryRepo(session)
        results = [
            await repo.mark_acted(1, "broadcast", a, 101, NOW),  # counted
            await repo.mark_acted(1, "broadcast", a, 101, NOW),  # pressed again
            await repo.mark_acted(2, "broadcast", a, 101, NOW),  # chat 1's message id
            await repo.mark_acted(1, "broadcast", a, 201, NOW),  # the message of #b
            await repo.mark_acted(3, "broadcast", a, 0, NOW),  # not sent yet
            await repo.mark_acted(2, "broadcast", b, 102, NOW),  # chat 2 never got #b
            await repo.mark_acted(1, "post", a, 101, NOW),  # no post with that id
        ]
    assert results == [True, False, False, False, False, False, False]
    async with sessionmaker() as session:
        repo = DeliveryRepo(session)
        acted = (
            await session.execute(select(Delivery.chat_id).where(Delivery.acted_at.is_not(None)))
        ).scalars()
        assert (
            list(acted),
            await repo.count_acted("broadcast", a),
            await repo.count_acted("broadcast", b),
        ) == ([1], 1, 0)


async def test_has_delivered_checks_chat_message_and_telegram_message(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """True only for the chat's sent delivery of the message as that Telegram message."""
    async with sessionmaker.begin() as session:
        a, b, _ = await _seed(session)
    async with sessionmaker() as session:
        repo = DeliveryRepo(session)
        assert [
            await repo.has_delivered(1, "broadcast", a, 101),
            await repo.has_delivered(2, "broadcast", a, 101),
            await repo.has_delivered(1, "broadcast", b, 101),
            await repo.has_delivered(1, "broadcast", b, 201),
        ] == [True, False, False, True]


async def test_latest_sent_since_picks_the_newest_sent_message_in_the_window(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The latest sent delivery at or after `since`, with its kind and topic; None if older."""
    async with sessionmaker.begin() as session:
        a, b, topic_id = await _seed(session)
    async with sessionmaker() as session:
        repo = DeliveryRepo(session)
        assert [
            await repo.latest_sent_since(1, NOW - timedelta(hours=47)),
            await repo.latest_sent_since(2, NOW),
            await repo.latest_sent_since(2, NOW + timedelta(seconds=1)),
            await repo.latest_sent_since(3, NOW - timedelta(days=1)),
        ] == [("broadcast", b, topic_id), ("broadcast", a, topic_id), None, None]
