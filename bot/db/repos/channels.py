"""ChannelRepo: channels and groups linked to topics with /channel (the `linked_channels` rows).

The chat itself is an ordinary `chats` row with ordinary subscriptions (ChatRepo); this
repository keeps the public title and @username admins recognise it by, replaces its set of
topics, and reads the aggregates /channels shows (never a message or a person).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Chat, Delivery, LinkedChannel, Subscription, Topic
from bot.db.repos._sql import _insert
from bot.domain.types import DeliveryStatus


class ChannelRepo:
    """Linked channels and groups."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, chat_id: int) -> LinkedChannel | None:
        """The linked row of a chat, or None if it is not linked."""
        return await self.session.get(LinkedChannel, chat_id)

    async def by_username(self, username: str) -> LinkedChannel | None:
        """A linked chat by its @username (without the @, any case)."""
        result = await self.session.execute(
            select(LinkedChannel).where(func.lower(LinkedChannel.username) == username.lower())
        )
        return result.scalars().first()

    async def save(
        self,
        chat_id: int,
        title: str,
        username: str | None,
        linked_by: int | None,
        now: datetime,
    ) -> bool:
        """Create or update the linked row (title and @username as Telegram gives them now).

        Returns:
            True if the chat was not linked before.
        """
        row = await self.session.get(LinkedChannel, chat_id)
        if row is None:
            self.session.add(
                LinkedChannel(
                    chat_id=chat_id,
                    title=title[:128],
                    username=username[:64] if username else None,
                    linked_by=linked_by,
                    linked_at=now,
                )
            )
            await self.session.flush()
            return True
        row.title = title[:128]
        row.username = username[:64] if username else None
        row.linked_by = linked_by
        row.linked_at = now
        await self.session.flush()
        return False

    async def update_identity(self, chat_id: int, title: str, username: str | None) -> None:
        """Keep the stored title and @username current (a my_chat_member update names them)."""
        row = await self.session.get(LinkedChannel, chat_id)
        if row is not None:
            row.title = title[:128]
            row.username = username[:64] if username else None

    async def remove(self, chat_id: int) -> bool:
        """Delete the linked row; False if there was none."""
        result = await self.session.execute(
            delete(LinkedChannel).where(LinkedChannel.chat_id == chat_id)
        )
        return bool(getattr(result, "rowcount", 0))

    async def replace_topics(
        self, chat_id: int, topic_ids: Iterable[int], now: datetime
    ) -> tuple[list[int], list[int]]:
        """Make the chat follow exactly these topics.

        Returns:
            (topic ids added, topic ids removed).
        """
        wanted = set(topic_ids)
        result = await self.session.execute(
            select(Subscription.topic_id).where(Subscription.chat_id == chat_id)
        )
        current = set(result.scalars())
        removed = sorted(current - wanted)
        added = sorted(wanted - current)
        if removed:
            await self.session.execute(
                delete(Subscription).where(
                    Subscription.chat_id == chat_id, Subscription.topic_id.in_(removed)
                )
            )
        if added:
            await self.session.execute(
                _insert(self.session, Subscription)
                .values([{"chat_id": chat_id, "topic_id": t, "created_at": now} for t in added])
                .on_conflict_do_nothing()
            )
        return added, removed

    async def linked(self) -> Sequence[tuple[LinkedChannel, Chat]]:
        """Every linked chat with its chat row, by title."""
        result = await self.session.execute(
            select(LinkedChannel, Chat)
            .join(Chat, Chat.id == LinkedChannel.chat_id)
            .order_by(func.lower(LinkedChannel.title), LinkedChannel.chat_id)
        )
        return [(row, chat) for row, chat in result.all()]

    async def topic_names(self, chat_ids: Sequence[int]) -> dict[int, list[str]]:
        """The names of the topics each chat follows, in name order."""
        if not chat_ids:
            return {}
        result = await self.session.execute(
            select(Subscription.chat_id, Topic.name)
            .join(Topic, Topic.id == Subscription.topic_id)
            .where(Subscription.chat_id.in_(list(chat_ids)))
            .order_by(Topic.name_key)
        )
        names: dict[int, list[str]] = {}
        for chat_id, name in result.all():
            names.setdefault(chat_id, []).append(name)
        return names

    async def health(
        self, chat_ids: Sequence[int], since: datetime
    ) -> dict[int, tuple[int, datetime | None, int]]:
        """Per chat: (pending deliveries, last sent_at, failed deliveries due since `since`).

        One grouped query over the chats' deliveries (aggregates only).
        """
        if not chat_ids:
            return {}
        pending = func.sum(case((Delivery.status == DeliveryStatus.PENDING.value, 1), else_=0))
        failed = func.sum(
            case(
                (
                    (Delivery.status == DeliveryStatus.FAILED.value)
                    & (Delivery.next_attempt_at >= since),
                    1,
                ),
                else_=0,
            )
        )
        result = await self.session.execute(
            select(Delivery.chat_id, pending, func.max(Delivery.sent_at), failed)
            .where(Delivery.chat_id.in_(list(chat_ids)))
            .group_by(Delivery.chat_id)
        )
        return {chat_id: (int(p or 0), last, int(f or 0)) for chat_id, p, last, f in result.all()}
