"""BroadcastRepo: organisers' broadcasts and the bot's notices, their audience and figures."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import BROADCAST, NOTICE, Broadcast, Chat, Delivery, Subscription, Topic
from bot.db.repos._sql import _chunks, _insert
from bot.db.repos.deliveries import _audience, _fan_out, chat_language_expr
from bot.domain.languages import MAIN_LANGUAGE
from bot.domain.priority import DeliveryPriority, broadcast_priority
from bot.domain.types import DeliveryStatus


class BroadcastRepo:
    """Broadcasts, their audience, their fan-out into the outbox and their figures."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _audience(self, topic_ids: Sequence[int] | None) -> Any:
        """Active chats subscribed to any of the topics (any topic if None); see `_audience`."""
        return _audience(topic_ids)

    async def audience(self, topic_ids: Sequence[int] | None) -> tuple[int, int | None]:
        """How many distinct active chats a broadcast would reach, and through which topic.

        The topic is the lowest topic id any of them is reached through (None when nobody
        would be reached).
        """
        if topic_ids is not None and not topic_ids:
            return 0, None
        chosen = self._audience(topic_ids)
        result = await self.session.execute(
            select(func.count(), func.min(chosen.c.topic_id)).select_from(chosen)
        )
        count, topic_id = result.one()
        return int(count), None if topic_id is None else int(topic_id)

    async def audience_by_language(
        self, topic_ids: Sequence[int] | None, default_language: str = MAIN_LANGUAGE
    ) -> dict[str, int]:
        """How many of a broadcast's chats read each language (`chat_language_expr`).

        Chats with no language stored read `default_language` (DEFAULT_LANGUAGE).
        """
        if topic_ids is not None and not topic_ids:
            return {}
        chosen = self._audience(topic_ids)
        language = chat_language_expr(default_language)
        result = await self.session.execute(
            select(language, func.count())
            .select_from(chosen)
            .join(Chat, Chat.id == chosen.c.chat_id)
            .group_by(language)
        )
        return {str(lang): int(n) for lang, n in result.all()}

    async def add(self, broadcast: Broadcast) -> Broadcast:
        """Insert a broadcast row (its id is set on return)."""
        self.session.add(broadcast)
        await self.session.flush()
        return broadcast

    async def get(self, broadcast_id: int) -> Broadcast | None:
        """A broadcast by id."""
        return await self.session.get(Broadcast, broadcast_id)

    async def stop_paid(self, broadcast_id: int, now: datetime) -> bool:
        """Switch a paid broadcast to the normal pace; True if this call switched it."""
        result = await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.paid.is_(True))
            .values(paid=False, paid_stopped_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def paid_refused_unnotified(self) -> list[Broadcast]:
        """Broadcasts whose paid sending was refused and whose organiser was not told yet."""
        result = await self.session.execute(
            select(Broadcast).where(
                Broadcast.paid_stopped_at.is_not(None), Broadcast.paid_notified.is_(False)
            )
        )
        return list(result.scalars())

    async def mark_paid_notified(self, broadcast_id: int) -> None:
        """Record that the organiser was told that paid sending stopped."""
        await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(paid_notified=True)
            .execution_options(synchronize_session=False)
        )

    async def fan_out(
        self, broadcast_id: int, topic_ids: Sequence[int] | None, now: datetime
    ) -> int:
        """Queue one delivery per active chat of the audience, in one INSERT … SELECT.

        Grouped by chat, so a chat following several of the topics gets one message; the
        unique key (chat_id, broadcast_id) with ON CONFLICT DO NOTHING makes it idempotent.
        Broadcasts go before ordinary posts (`DeliveryPriority.BROADCAST`); one whose
        audience includes a topic marked urgent goes at URGENT, through digests and quiet hours.

        Returns:
            How many deliveries were created.
        """
        if topic_ids is not None and not topic_ids:
            return 0
        urgent: frozenset[int] = frozenset()
        if topic_ids:
            result = await self.session.execute(
                select(Topic.id).where(Topic.id.in_(list(topic_ids)), Topic.urgent.is_(True))
            )
            urgent = frozenset(int(i) for i in result.scalars())
        return await _fan_out(
            self.session,
            "broadcast_id",
            broadcast_id,
            _audience(topic_ids),
            now,
            broadcast_priority(topic_ids, urgent),
        )

    async def transition(
        self,
        broadcast_id: int,
        from_status: str,
        to_status: str,
        *,
        due_by: datetime | None = None,
        **values: Any,
    ) -> bool:
        """Move a broadcast from one status to another with a conditional UPDATE.

        Only one of several racing callers sees True, so the winner alone acts on it.
        With `due_by`, only a broadcast scheduled at or before that moment moves.
        """
        stmt = update(Broadcast).where(
            Broadcast.id == broadcast_id, Broadcast.status == from_status
        )
        if due_by is not None:
            stmt = stmt.where(Broadcast.scheduled_for <= due_by)
        result = await self.session.execute(
            stmt.values(status=to_status, **values).execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def due_ids(self, now: datetime) -> list[int]:
        """Ids of scheduled broadcasts whose time has come, oldest first."""
        result = await self.session.execute(
            select(Broadcast.id)
            .where(Broadcast.status == "scheduled", Broadcast.scheduled_for <= now)
            .order_by(Broadcast.scheduled_for, Broadcast.id)
        )
        return [int(i) for i in result.scalars()]

    async def with_status(self, status: str, limit: int = 100) -> Sequence[Broadcast]:
        """Organisers' broadcasts in one status, oldest (or soonest scheduled) first."""
        result = await self.session.execute(
            select(Broadcast)
            .where(Broadcast.kind == BROADCAST, Broadcast.status == status)
            .order_by(Broadcast.scheduled_for, Broadcast.id)
            .limit(limit)
        )
        return result.scalars().all()

    async def recent(self, limit: int = 10) -> Sequence[Broadcast]:
        """The newest organisers' broadcasts not waiting for their time, newest first."""
        result = await self.session.execute(
            select(Broadcast)
            .where(Broadcast.kind == BROADCAST, Broadcast.status != "scheduled")
            .order_by(Broadcast.created_at.desc(), Broadcast.id.desc())
            .limit(limit)
        )
        return result.scalars().all()

    async def figures(self, broadcast_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """Delivery counts by status for each broadcast."""
        ids = sorted(set(broadcast_ids))
        found: dict[int, dict[str, int]] = {i: {} for i in ids}
        for chunk in _chunks(ids, 500):
            result = await self.session.execute(
                select(Delivery.broadcast_id, Delivery.status, func.count())
                .where(Delivery.broadcast_id.in_(chunk))
                .group_by(Delivery.broadcast_id, Delivery.status)
            )
            for broadcast_id, status, count in result.all():
                if broadcast_id is not None:
                    found[int(broadcast_id)][str(status)] = int(count)
        return found

    async def queue_notice(
        self,
        created_by: int,
        text_html: str,
        topic_id: int,
        now: datetime,
        versions: dict[str, str] | None = None,
    ) -> int:
        """Queue a one-off message to every active chat subscribed to a topic, via the outbox.

        The message is a finished `Broadcast` row of kind "notice" (status "done", so no
        scheduler picks it up, and left out of the organisers' lists) and one pending delivery
        per chat, without a topic (no "Unsubscribe" button). `versions` are the notice in
        other languages ({"fr": html}), which chats reading them get.

        Returns:
            How many deliveries were queued.
        """
        broadcast = Broadcast(
            kind=NOTICE,
            created_by=created_by,
            topic_ids=[topic_id],
            text_html=text_html,
            versions=versions or None,
            status="done",
            created_at=now,
            started_at=now,
            finished_at=now,
        )
        self.session.add(broadcast)
        await self.session.flush()
        source = (
            select(
                Subscription.chat_id,
                literal(broadcast.id),
                literal(DeliveryStatus.PENDING.value),
                literal(int(DeliveryPriority.BROADCAST)),
                literal(0),
                literal(now, Delivery.next_attempt_at.type),
                literal(now, Delivery.created_at.type),
            )
            .join(Chat, Chat.id == Subscription.chat_id)
            .where(Subscription.topic_id == topic_id, Chat.active.is_(True))
        )
        result = await self.session.execute(
            _insert(self.session, Delivery)
            .from_select(
                [
                    "chat_id",
                    "broadcast_id",
                    "status",
                    "priority",
                    "attempts",
                    "next_attempt_at",
                    "created_at",
                ],
                source,
            )
            .on_conflict_do_nothing()
        )
        queued = max(int(getattr(result, "rowcount", 0) or 0), 0)
        broadcast.total = queued
        return queued
