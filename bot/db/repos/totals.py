"""TotalsRepo: per-message aggregate counters (`message_totals`) and topic growth per week.

Counters only ever grow by `add` (one upsert: INSERT … ON CONFLICT DO UPDATE SET n = n + x),
so concurrent increments from several handlers or instances never lose one. Nothing here
names a chat.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Delivery, MessageTotals, TopicGrowth
from bot.db.repos._sql import _insert

# The counters of `message_totals`, in table order.
COUNTERS = (
    "targeted",
    "sent",
    "failed",
    "blocked",
    "clicks",
    "click_count",
    "actions",
    "shares",
    "joins",
    "unsubscribes",
)


# The counters a message's delivery rows give, in COUNTERS order, as aggregate expressions:
# results read them from live rows, and retention and /forgetme fold them into message_totals
# before deleting the rows, so the two always agree. "blocked" is a chat that blocked the bot,
# left, or was deactivated or forgotten before its turn (status dropped).
_DELIVERY_FIGURES: dict[str, Any] = {
    "targeted": func.count(),
    "sent": func.count().filter(Delivery.status == "sent"),
    "failed": func.count().filter(Delivery.status == "failed"),
    "blocked": func.count().filter(Delivery.status == "dropped"),
    "clicks": func.count(Delivery.first_click_at),
    "click_count": func.coalesce(func.sum(Delivery.clicks), 0),
    "actions": func.count(Delivery.acted_at),
}


def delivery_figures() -> list[Any]:
    """Aggregate columns over `deliveries`, labelled with the counter each gives.

    targeted, sent, failed, blocked, clicks, click_count, actions: group them by message and
    topic.
    """
    return [expression.label(name) for name, expression in _DELIVERY_FIGURES.items()]


def week_start(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


class TotalsRepo:
    """Adds to and reads the aggregate counters; never deletes them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, kind: str, message_id: int, topic_id: int | None, **counts: int) -> None:
        """Add `counts` (counter name → amount) to one message's row for one topic (None = 0).

        Raises:
            ValueError: A name that is not a counter.
        """
        unknown = set(counts) - set(COUNTERS)
        if unknown:
            raise ValueError(f"not a message counter: {sorted(unknown)}")
        counts = {name: n for name, n in counts.items() if n}
        if not counts:
            return
        table = MessageTotals.__table__
        stmt = _insert(self.session, table).values(
            kind=kind, message_id=message_id, topic_id=topic_id or 0, **counts
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["kind", "message_id", "topic_id"],
            set_={name: table.c[name] + stmt.excluded[name] for name in counts},
        )
        await self.session.execute(stmt)

    async def for_message(self, kind: str, message_id: int) -> dict[int, dict[str, int]]:
        """One message's counters per topic id (0 = no topic); topics without a row left out."""
        result = await self.session.execute(
            select(MessageTotals).where(
                MessageTotals.kind == kind, MessageTotals.message_id == message_id
            )
        )
        return {
            row.topic_id: {name: int(getattr(row, name)) for name in COUNTERS}
            for row in result.scalars()
        }

    async def add_growth(self, topic_id: int, day: date, joined: int = 0, left: int = 0) -> None:
        """Count subscriptions gained and lost for a topic in `day`'s week."""
        if not joined and not left:
            return
        table = TopicGrowth.__table__
        stmt = _insert(self.session, table).values(
            topic_id=topic_id, week_start=week_start(day), joined=joined, left=left
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["topic_id", "week_start"],
            set_={
                "joined": table.c.joined + stmt.excluded.joined,
                "left": table.c.left + stmt.excluded.left,
            },
        )
        await self.session.execute(stmt)

    async def growth_since(self, since: date) -> list[tuple[int, date, int, int]]:
        """(topic id, week start, joined, left) for the weeks from `since`'s, oldest first."""
        result = await self.session.execute(
            select(
                TopicGrowth.topic_id,
                TopicGrowth.week_start,
                TopicGrowth.joined,
                TopicGrowth.left,
            )
            .where(TopicGrowth.week_start >= week_start(since))
            .order_by(TopicGrowth.week_start, TopicGrowth.topic_id)
        )
        return [(int(t), w, int(j), int(lost)) for t, w, j, lost in result.all()]
