"""ResultsRepo: what each post and broadcast achieved, and the state of the organiser's report.

A message's figures are its live delivery rows, aggregated by `delivery_figures()` (the one
definition) and grouped by topic, plus its `message_totals` rows (event counters and the folded
figures of deleted rows). Nothing here reads or returns a chat id. The scheduled results of a
broadcast (`results_stage` 0 → 1 at one hour → 2 at 24 hours) move by conditional UPDATE, so
however many jobs race, each stage is claimed once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import BROADCAST, POST, Broadcast, Delivery, MessageTotals, Post
from bot.db.repos._sql import _chunks
from bot.db.repos.totals import COUNTERS, delivery_figures

# Per message id: per topic id (0 = no topic): counter name -> amount.
MessageCounts = dict[int, dict[int, dict[str, int]]]

# Statuses of broadcasts that went out (or are going out).
_SENT_STATUSES = ("sending", "done")


class ResultsRepo:
    """Reads messages' figures; moves a broadcast's scheduled-results stage."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def figures(self, kind: str, message_ids: Iterable[int]) -> MessageCounts:
        """Each message's counters per topic: live delivery rows plus `message_totals`.

        `kind` is "post" or "broadcast". Every asked id is in the answer (empty if nothing
        is known about it); a topic appears if any row or total names it.
        """
        ids = sorted(set(message_ids))
        found: MessageCounts = {i: {} for i in ids}
        column = Delivery.post_id if kind == POST else Delivery.broadcast_id
        topic = func.coalesce(Delivery.topic_id, 0)
        for chunk in _chunks(ids, 500):
            live = await self.session.execute(
                select(column.label("message"), topic.label("topic"), *delivery_figures())
                .where(column.in_(chunk))
                .group_by(column, topic)
            )
            for row in live.mappings():
                _add(found, int(row["message"]), int(row["topic"]), row)
            totals = await self.session.execute(
                select(MessageTotals).where(
                    MessageTotals.kind == kind, MessageTotals.message_id.in_(chunk)
                )
            )
            for total in totals.scalars():
                _add(
                    found,
                    total.message_id,
                    total.topic_id,
                    {name: getattr(total, name) for name in COUNTERS},
                )
        return found

    async def broadcasts(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> Sequence[Broadcast]:
        """Organisers' broadcasts that went out (started since `since`), newest first."""
        stmt = select(Broadcast).where(
            Broadcast.kind == BROADCAST,
            Broadcast.status.in_(_SENT_STATUSES),
            Broadcast.started_at.is_not(None),
        )
        if since is not None:
            stmt = stmt.where(Broadcast.started_at >= since)
        stmt = stmt.order_by(Broadcast.started_at.desc(), Broadcast.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        result = await self.session.execute(stmt)
        return result.scalars().all()

    async def posts(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> Sequence[Post]:
        """Posts that went to anyone (rows or totals), first seen since `since`; newest first."""
        delivered = exists().where(Delivery.post_id == Post.id)
        totalled = exists().where(MessageTotals.kind == POST, MessageTotals.message_id == Post.id)
        stmt = select(Post).where(or_(delivered, totalled))
        if since is not None:
            stmt = stmt.where(Post.first_seen_at >= since)
        stmt = stmt.order_by(Post.first_seen_at.desc(), Post.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        result = await self.session.execute(stmt)
        return result.scalars().all()

    async def due_reports(
        self, now: datetime, first: timedelta, second: timedelta
    ) -> list[tuple[int, int]]:
        """(broadcast id, stage now due) of broadcasts whose results are due, oldest first.

        Stage 1 is due `first` after a broadcast started, stage 2 `second` after; a broadcast
        still at stage 0 when stage 2 is due (the bot was down) is due for stage 2 at once.
        Notices are never due.
        """
        late = Broadcast.started_at <= now - second
        stmt = (
            select(Broadcast.id, Broadcast.results_stage, late.label("late"))
            .where(
                Broadcast.kind == BROADCAST,
                Broadcast.status.in_(_SENT_STATUSES),
                Broadcast.started_at.is_not(None),
                or_(
                    and_(Broadcast.results_stage == 0, Broadcast.started_at <= now - first),
                    and_(Broadcast.results_stage == 1, late),
                ),
            )
            .order_by(Broadcast.started_at, Broadcast.id)
        )
        result = await self.session.execute(stmt)
        return [(int(i), 2 if bool(is_late) else 1) for i, _stage, is_late in result.all()]

    async def claim_stage(self, broadcast_id: int, stage: int) -> bool:
        """Move a broadcast's results to `stage` if they are below it; whether this call did.

        A conditional UPDATE: of several racing callers exactly one sees True.
        """
        result = await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.results_stage < stage)
            .values(results_stage=stage)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def results_message(self, broadcast_id: int) -> tuple[int, int | None] | None:
        """(organiser's user id, id of the message showing the results so far), if it exists."""
        row = (
            await self.session.execute(
                select(Broadcast.created_by, Broadcast.results_message_id).where(
                    Broadcast.id == broadcast_id
                )
            )
        ).one_or_none()
        if row is None:
            return None
        return int(row[0]), None if row[1] is None else int(row[1])

    async def set_results_message(self, broadcast_id: int, message_id: int) -> None:
        """Remember the message that shows a broadcast's results (edited at the next stage)."""
        await self.session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id)
            .values(results_message_id=message_id)
            .execution_options(synchronize_session=False)
        )


def _add(found: MessageCounts, message_id: int, topic_id: int, counts: Any) -> None:
    topics = found.setdefault(message_id, {})
    current = topics.setdefault(topic_id, dict.fromkeys(COUNTERS, 0))
    for name in COUNTERS:
        if name in counts:
            current[name] += int(counts[name] or 0)
