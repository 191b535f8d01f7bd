"""ReportRepo: figures for /stats and topic details. Reads only.

Counts of chats, subscribers, posts and deliveries over a window, and the commonest failures.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Chat, Delivery, Post, PostTopic, Subscription
from bot.domain.types import DeliveryStatus


class ReportRepo:
    """Figures: counts over the whole installation or a window, never rows to change."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- topics -------------------------------------------------------------------------------

    async def subscriber_counts(self) -> dict[int, int]:
        """How many chats (active or not) follow each topic (topics without any are left out)."""
        result = await self.session.execute(
            select(Subscription.topic_id, func.count()).group_by(Subscription.topic_id)
        )
        return {int(topic_id): int(n) for topic_id, n in result.all()}

    async def subscribers(self, topic_id: int) -> tuple[int, int]:
        """(all, active) chats subscribed to a topic."""
        result = await self.session.execute(
            select(func.count(), func.count().filter(Chat.active.is_(True)))
            .select_from(Subscription)
            .join(Chat, Chat.id == Subscription.chat_id)
            .where(Subscription.topic_id == topic_id)
        )
        total, active = result.one()
        return int(total), int(active)

    async def posts_matched_since(self, topic_id: int, since: datetime) -> int:
        """Posts first seen since `since` that matched a topic."""
        result = await self.session.execute(
            select(func.count())
            .select_from(PostTopic)
            .join(Post, Post.id == PostTopic.post_id)
            .where(PostTopic.topic_id == topic_id, Post.first_seen_at >= since)
        )
        return int(result.scalar_one())

    # -- stats --------------------------------------------------------------------------------

    async def chat_counts(self) -> tuple[int, int]:
        """(active, inactive) chats."""
        result = await self.session.execute(
            select(Chat.active, func.count()).group_by(Chat.active)
        )
        counts = {bool(active): int(n) for active, n in result.all()}
        return counts.get(True, 0), counts.get(False, 0)

    async def posts_since(self, since: datetime) -> int:
        """Posts first seen since `since`."""
        result = await self.session.execute(
            select(func.count()).select_from(Post).where(Post.first_seen_at >= since)
        )
        return int(result.scalar_one())

    async def deliveries_since(self, since: datetime) -> dict[str, int]:
        """Deliveries created since `since`, counted per status."""
        result = await self.session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.created_at >= since)
            .group_by(Delivery.status)
        )
        return {str(status): int(n) for status, n in result.all()}

    async def failure_reasons(self, since: datetime, limit: int = 10) -> list[tuple[str, int]]:
        """The commonest errors of failed or dropped deliveries created since `since`."""
        reason = func.coalesce(Delivery.last_error, "")
        result = await self.session.execute(
            select(reason, func.count())
            .where(
                Delivery.created_at >= since,
                Delivery.status.in_([DeliveryStatus.FAILED.value, DeliveryStatus.DROPPED.value]),
            )
            .group_by(reason)
            .order_by(func.count().desc(), reason)
            .limit(limit)
        )
        return [(str(text), int(n)) for text, n in result.all()]
