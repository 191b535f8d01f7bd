"""PrivacyRepo: retention, forgetting, and what /mydata counts.

Retention folds old delivery rows into totals and trims old posts; forgetting folds a chat's
rows the same way and takes a user's @username out of the audit log.

Folding uses `delivery_figures()`, the one definition of a message's figures from its rows,
and `TotalsRepo.add`, in the caller's transaction together with the DELETE: the totals and
the rows they replace change at once, so a crash neither loses nor double-counts.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, Table, bindparam, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    BROADCAST,
    POST,
    AuditEntry,
    Broadcast,
    Delivery,
    Post,
)
from bot.db.repos._sql import _chunks
from bot.db.repos.totals import TotalsRepo, delivery_figures
from bot.domain.search import search_text
from bot.domain.types import DeliveryStatus

# Ids per IN list: well under SQLite's and asyncpg's bound-parameter limits.
_CHUNK = 500
_PENDING = DeliveryStatus.PENDING.value
# Broadcasts that will still render their post (a /push not yet fanned out or still sending).
_LIVE_BROADCASTS = ("scheduled", "sending")
# The counters delivery rows give (targeted, sent, failed, blocked, clicks, click_count, actions).
_FIGURES = tuple(column.name for column in delivery_figures())


class PrivacyRepo:
    """Retention and forgetting: folds delivery rows into totals, trims posts, counts a chat."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- delivery rows -----------------------------------------------------------------------

    async def expired_deliveries(self, cutoff: datetime, limit: int) -> list[int]:
        """Ids of up to `limit` delivery rows created before `cutoff` and no longer pending.

        Oldest first. On PostgreSQL the rows are locked (FOR UPDATE) until the transaction
        ends, so a click or an action recorded meanwhile waits and cannot slip between the
        fold and the delete; SQLite's writers are serialised already.
        """
        result = await self.session.execute(
            select(Delivery.id)
            .where(Delivery.created_at < cutoff, Delivery.status != _PENDING)
            .order_by(Delivery.id)
            .limit(limit)
            .with_for_update()
        )
        return list(result.scalars())

    async def chat_deliveries(self, chat_id: int) -> list[int]:
        """Ids of every delivery row of a chat, locked like `expired_deliveries`."""
        result = await self.session.execute(
            select(Delivery.id)
            .where(Delivery.chat_id == chat_id)
            .order_by(Delivery.id)
            .with_for_update()
        )
        return list(result.scalars())

    async def fold_deliveries(self, ids: Sequence[int]) -> int:
        """Add these delivery rows' figures to `message_totals` and delete the rows.

        Grouped by message (post or broadcast) and topic with `delivery_figures()`; the rows
        of one message and topic add to its one totals row. Call it in one transaction.

        Returns:
            How many rows were deleted.
        """
        totals = TotalsRepo(self.session)
        deleted = 0
        for chunk in _chunks(list(ids), _CHUNK):
            groups = await self.session.execute(
                select(
                    Delivery.post_id, Delivery.broadcast_id, Delivery.topic_id, *delivery_figures()
                )
                .where(Delivery.id.in_(chunk))
                .group_by(Delivery.post_id, Delivery.broadcast_id, Delivery.topic_id)
            )
            for row in groups.mappings():
                kind, message_id = _message_of(row)
                figures = {name: int(row[name]) for name in _FIGURES}
                await totals.add(kind, message_id, row["topic_id"], **figures)
            result = await self.session.execute(delete(Delivery).where(Delivery.id.in_(chunk)))
            deleted += max(int(getattr(result, "rowcount", 0) or 0), 0)
        return deleted

    # -- posts -------------------------------------------------------------------------------

    async def expired_posts(self, cutoff: datetime, limit: int) -> list[int]:
        """Ids of up to `limit` expired posts that still hold more than a title and a link.

        Expired: first seen before `cutoff`. Posts that a pending delivery or a live
        broadcast (a /push scheduled or sending) will still render are left alone.
        """
        # Uncorrelated subqueries: each is computed once (SQLite builds a temporary index;
        # PostgreSQL hashes it), not once per post.
        pending = select(Delivery.post_id).where(
            Delivery.status == _PENDING, Delivery.post_id.is_not(None)
        )
        pending_broadcasts = select(Delivery.broadcast_id).where(
            Delivery.status == _PENDING, Delivery.broadcast_id.is_not(None)
        )
        pushed = select(Broadcast.post_id).where(
            Broadcast.post_id.is_not(None),
            or_(Broadcast.status.in_(_LIVE_BROADCASTS), Broadcast.id.in_(pending_broadcasts)),
        )
        untrimmed = or_(
            Post.summary != "",
            Post.author.is_not(None),
            Post.image_url.is_not(None),
            cast(Post.categories, String) != "[]",
        )
        result = await self.session.execute(
            select(Post.id)
            .where(
                Post.first_seen_at < cutoff,
                untrimmed,
                Post.id.not_in(pending),
                Post.id.not_in(pushed),
            )
            .order_by(Post.id)
            .limit(limit)
        )
        return list(result.scalars())

    async def trim_posts(self, ids: Sequence[int]) -> int:
        """Reduce posts to their title and link; returns how many posts were changed.

        The summary is emptied; author, image, categories and facets are cleared; the search words
        (`search_text`) are recomputed from the title alone, so /search and inline mode no
        longer find a trimmed post by its old summary (on SQLite the posts_fts update
        trigger follows the new words; PostgreSQL's index is on the column itself).
        """
        trimmed = 0
        for chunk in _chunks(list(ids), _CHUNK):
            titles = await self.session.execute(
                select(Post.id, Post.title).where(Post.id.in_(chunk)).order_by(Post.id)
            )
            rows = [
                {"post_id": post_id, "words": search_text(title, "")}
                for post_id, title in titles.all()
            ]
            if not rows:
                continue
            # Core executemany: one compiled UPDATE, one parameter set per post.
            posts = typing.cast(Table, Post.__table__)
            await self.session.execute(
                update(posts)
                .where(posts.c.id == bindparam("post_id"))
                .values(
                    summary="",
                    author=None,
                    image_url=None,
                    categories=[],
                    facets=None,
                    search_text=bindparam("words"),
                ),
                rows,
            )
            trimmed += len(rows)
        return trimmed

    # -- forgetting --------------------------------------------------------------------------

    async def forget_audit_names(self, user_id: int) -> int:
        """Audit entries by or about a user name them by numeric id only, no @username.

        The actor of their own actions becomes the bare id, and so does the target of a
        role given to or taken from them ("@name (id)"). Returns how many rows changed.
        """
        own = await self.session.execute(
            update(AuditEntry)
            .where(AuditEntry.actor_id == user_id, AuditEntry.actor != str(user_id))
            .values(actor=str(user_id))
            .execution_options(synchronize_session=False)
        )
        about = await self.session.execute(
            update(AuditEntry)
            .where(AuditEntry.target.like(f"@% ({user_id})"))
            .values(target=str(user_id))
            .execution_options(synchronize_session=False)
        )
        return sum(max(int(getattr(r, "rowcount", 0) or 0), 0) for r in (own, about))

    # -- /mydata -----------------------------------------------------------------------------

    async def chat_delivery_marks(self, chat_id: int) -> tuple[int, int, int]:
        """A chat's stored delivery rows: (how many, with a click mark, with an action mark)."""
        result = await self.session.execute(
            select(
                func.count(),
                func.count(Delivery.first_click_at),
                func.count(Delivery.acted_at),
            ).where(Delivery.chat_id == chat_id)
        )
        stored, clicked, acted = result.one()
        return int(stored), int(clicked), int(acted)

    async def audit_count_by(self, user_id: int) -> int:
        """How many audit entries record a user's own actions."""
        result = await self.session.execute(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.actor_id == user_id)
        )
        return int(result.scalar_one())


def _message_of(row: Any) -> tuple[str, int]:
    """(totals kind, message id) of a group of delivery rows."""
    if row["post_id"] is not None:
        return POST, int(row["post_id"])
    return BROADCAST, int(row["broadcast_id"])
