"""Stored rows for the privacy tests (retention, /forgetme, /mydata), and figures read back.

`seed` writes, relative to `now` and a retention of `DAYS` days: two topics, six private
chats, posts old and recent, broadcasts old and recent, and delivery rows of every status with
click and action marks, some older than the retention and some not. `figures` reads what
`delivery_figures()` gives per (kind, message, topic) for chosen rows; `totals` reads
`message_totals` in the same shape, so a test compares the two directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Broadcast, Delivery, MessageTotals, Post
from bot.db.repos import ChatRepo, TopicRepo
from bot.db.repos.totals import COUNTERS, delivery_figures
from bot.domain.types import TopicSpec

DAYS = 90
CHATS = (101, 102, 103, 104, 105, 106)

Key = tuple[str, int, int]


@dataclass(frozen=True)
class Seeded:
    """Ids of what `seed` wrote."""

    topics: tuple[int, int]
    old_post: int
    pending_post: int
    recent_post: int
    pushed_post: int
    old_broadcast: int
    recent_broadcast: int
    cutoff: datetime


def _post(identity: str, first_seen: datetime) -> Post:
    return Post(
        identity=identity,
        url=f"https://example.org/{identity}",
        title=f"Title {identity}",
        summary=f"Summary of {identity}",
        author="A. Writer",
        image_url=f"https://example.org/{identity}.png",
        categories=["news", "campaign"],
        first_seen_at=first_seen,
        updated_at=first_seen,
        announced=True,
    )


def _delivery(
    chat_id: int,
    created: datetime,
    *,
    post_id: int | None = None,
    broadcast_id: int | None = None,
    topic_id: int | None = None,
    status: str = "sent",
    clicks: int = 0,
    acted: bool = False,
) -> Delivery:
    return Delivery(
        chat_id=chat_id,
        post_id=post_id,
        broadcast_id=broadcast_id,
        topic_id=topic_id,
        status=status,
        next_attempt_at=created,
        created_at=created,
        sent_at=created if status == "sent" else None,
        clicks=clicks,
        first_click_at=created + timedelta(minutes=5) if clicks else None,
        acted_at=created + timedelta(minutes=9) if acted else None,
    )


async def seed(session: AsyncSession, now: datetime) -> Seeded:
    """Write the scenario described in the module docstring; returns the ids."""
    old = now - timedelta(days=DAYS + 10)
    recent = now - timedelta(days=5)
    topics = TopicRepo(session)
    t1 = await topics.add(TopicSpec(slug="rights", name="Rights"), old)
    t2 = await topics.add(TopicSpec(slug="water", name="Water"), old)
    chats = ChatRepo(session)
    for chat_id in CHATS:
        await chats.ensure(chat_id, "private", old)
        await chats.subscribe(chat_id, t1.id if chat_id % 2 else t2.id, old)
    old_post, pending_post = _post("old", old), _post("pending", old)
    recent_post, pushed_post = _post("recent", recent), _post("pushed", old)
    session.add_all([old_post, pending_post, recent_post, pushed_post])
    await session.flush()
    old_broadcast = Broadcast(created_by=CHATS[0], status="done", created_at=old, total=5)
    recent_broadcast = Broadcast(created_by=CHATS[0], status="done", created_at=recent, total=3)
    # A /push of an old post, scheduled: it will render the post, so the post is kept whole.
    push = Broadcast(
        created_by=CHATS[0],
        status="scheduled",
        created_at=old,
        post_id=pushed_post.id,
        scheduled_for=now + timedelta(days=1),
    )
    session.add_all([old_broadcast, recent_broadcast, push])
    await session.flush()
    a, b = t1.id, t2.id
    session.add_all(
        [
            # The old post: two topics, every status, clicks and actions.
            _delivery(101, old, post_id=old_post.id, topic_id=a, clicks=3, acted=True),
            _delivery(103, old, post_id=old_post.id, topic_id=a, clicks=1),
            _delivery(105, old, post_id=old_post.id, topic_id=a, status="failed"),
            _delivery(102, old, post_id=old_post.id, topic_id=b, clicks=2, acted=True),
            _delivery(104, old, post_id=old_post.id, topic_id=b, status="dropped"),
            _delivery(106, old, post_id=old_post.id, topic_id=b),
            # An old post still waiting for one chat: that row and the post stay.
            _delivery(101, old, post_id=pending_post.id, topic_id=a, clicks=1),
            _delivery(102, old, post_id=pending_post.id, topic_id=b, status="pending"),
            # The old broadcast, to every chat.
            *(
                _delivery(
                    chat_id,
                    old,
                    broadcast_id=old_broadcast.id,
                    topic_id=a if chat_id % 2 else b,
                    clicks=chat_id % 3,
                    acted=chat_id in (101, 104),
                )
                for chat_id in CHATS
            ),
            # Recent rows: kept whatever their marks.
            _delivery(101, recent, post_id=recent_post.id, topic_id=a, clicks=1, acted=True),
            _delivery(102, recent, post_id=recent_post.id, topic_id=b),
            _delivery(101, recent, broadcast_id=recent_broadcast.id, topic_id=a, clicks=2),
            _delivery(103, recent, broadcast_id=recent_broadcast.id, topic_id=a, acted=True),
        ]
    )
    await session.flush()
    return Seeded(
        topics=(a, b),
        old_post=old_post.id,
        pending_post=pending_post.id,
        recent_post=recent_post.id,
        pushed_post=pushed_post.id,
        old_broadcast=old_broadcast.id,
        recent_broadcast=recent_broadcast.id,
        cutoff=now - timedelta(days=DAYS),
    )


def _nonzero(values: dict[str, Any]) -> dict[str, int]:
    return {name: int(values[name]) for name in COUNTERS if values.get(name)}


async def figures(session: AsyncSession, *where: Any) -> dict[Key, dict[str, int]]:
    """`delivery_figures()` of the delivery rows matching `where`, per (kind, message, topic)."""
    result = await session.execute(
        select(Delivery.post_id, Delivery.broadcast_id, Delivery.topic_id, *delivery_figures())
        .where(*where)
        .group_by(Delivery.post_id, Delivery.broadcast_id, Delivery.topic_id)
    )
    found: dict[Key, dict[str, int]] = {}
    for row in result.mappings():
        if row["post_id"] is not None:
            key = ("post", int(row["post_id"]), int(row["topic_id"] or 0))
        else:
            key = ("broadcast", int(row["broadcast_id"]), int(row["topic_id"] or 0))
        found[key] = _nonzero(dict(row))
    return found


async def totals(session: AsyncSession) -> dict[Key, dict[str, int]]:
    """Every `message_totals` row, its non-zero counters, per (kind, message, topic)."""
    rows = (await session.execute(select(MessageTotals))).scalars()
    return {
        (row.kind, row.message_id, row.topic_id): _nonzero(
            {name: getattr(row, name) for name in COUNTERS}
        )
        for row in rows
    }


def is_old(cutoff: datetime) -> Any:
    """The rows retention folds: created before the cut-off and no longer pending."""
    return (Delivery.created_at < cutoff) & (Delivery.status != "pending")
