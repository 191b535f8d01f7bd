"""PaceRepo: chats' pace settings, deliveries held by the pace policy, and the digests outbox.

A digest is built by attaching a chat's held post deliveries (`pace` = HELD_FOR_DIGEST, due)
to a new `digests` row in one statement; it is marked sent together with those deliveries in
one transaction. A delivery belongs to at most one digest, so no post is in two digests.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Chat, Delivery, DigestMessage, Feed, Post, Subscription, Topic
from bot.db.repos._sql import _chunks, _clip
from bot.db.repos.deliveries import DIGEST_HELD
from bot.domain.types import DeliveryStatus

PENDING = DeliveryStatus.PENDING.value


class DeliveryPace(enum.IntEnum):
    """`deliveries.pace`: where a delivery stands with the chat's pace policy."""

    NEW = 0  # not paced yet: the engine asks bot.domain.pace.decide_pace when it is due
    PACED = 1  # paced (held until next_attempt_at, or passed): send when due
    DIGEST = DIGEST_HELD  # held for the chat's digest due at next_attempt_at


class PaceRepo:
    """Pace settings of chats, held deliveries and digests."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- settings -------------------------------------------------------------------------------

    async def settings_of(self, chat_ids: Iterable[int]) -> dict[int, tuple[str | None, ...]]:
        """(timezone, digest, quiet) of those chats that have a digest or quiet hours."""
        found: dict[int, tuple[str | None, ...]] = {}
        for chunk in _chunks(sorted(set(chat_ids)), 500):
            result = await self.session.execute(
                select(Chat.id, Chat.timezone, Chat.digest, Chat.quiet).where(
                    Chat.id.in_(chunk), or_(Chat.digest.is_not(None), Chat.quiet.is_not(None))
                )
            )
            for chat_id, tz, digest, quiet in result.all():
                found[int(chat_id)] = (tz, digest, quiet)
        return found

    async def audience_settings(
        self, topic_ids: Sequence[int] | None
    ) -> tuple[int, dict[int, tuple[str | None, ...]]]:
        """A broadcast audience's size, and the pace settings of its chats that have some.

        The audience is the active chats following any of the topics (any topic: None); the
        settings are (timezone, digest, quiet) of those with a digest or quiet hours.
        """
        audience = (
            select(Subscription.chat_id)
            .join(Chat, Chat.id == Subscription.chat_id)
            .where(Chat.active.is_(True))
        )
        if topic_ids is not None:
            audience = audience.where(Subscription.topic_id.in_(list(topic_ids)))
        chat_ids = audience.distinct().subquery()
        total = await self.session.execute(select(func.count()).select_from(chat_ids))
        paced = await self.session.execute(
            select(Chat.id, Chat.timezone, Chat.digest, Chat.quiet).where(
                Chat.id.in_(select(chat_ids.c.chat_id)),
                or_(Chat.digest.is_not(None), Chat.quiet.is_not(None)),
            )
        )
        return int(total.scalar_one()), {
            int(chat_id): (tz, digest, quiet) for chat_id, tz, digest, quiet in paced.all()
        }

    async def set_settings(self, chat_id: int, now: datetime, **values: str | None) -> bool:
        """Set some of `timezone`, `digest`, `quiet` of a chat; False if there is no such chat."""
        allowed = {"timezone", "digest", "quiet"}
        if not values or set(values) - allowed:
            raise ValueError(f"pace settings are {sorted(allowed)}")
        result = await self.session.execute(
            update(Chat).where(Chat.id == chat_id).values(updated_at=now, **values)
        )
        return bool(getattr(result, "rowcount", 0))

    async def reset_held(self, chat_id: int, now: datetime) -> int:
        """Give a chat's held deliveries (not yet in a digest) back to the policy, due now.

        After a change of settings they are paced again under the new ones.
        """
        result = await self.session.execute(
            update(Delivery)
            .where(
                Delivery.chat_id == chat_id,
                Delivery.status == PENDING,
                Delivery.pace != DeliveryPace.NEW,
                Delivery.digest_id.is_(None),
            )
            .values(pace=int(DeliveryPace.NEW), next_attempt_at=now)
        )
        return max(int(getattr(result, "rowcount", 0) or 0), 0)

    # -- held deliveries ------------------------------------------------------------------------

    async def set_paced(self, decisions: Sequence[tuple[int, DeliveryPace, datetime]]) -> None:
        """Record the pace decisions `(delivery_id, pace, next_attempt_at)` in one statement."""
        if not decisions:
            return
        table = cast(Table, Delivery.__table__)
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(pace=bindparam("b_pace"), next_attempt_at=bindparam("b_when"))
        )
        await self.session.execute(
            stmt, [{"b_id": i, "b_pace": int(p), "b_when": w} for i, p, w in decisions]
        )

    async def held_count(self, chat_id: int) -> int:
        """How many deliveries of a chat wait for its digest or the end of its quiet hours."""
        result = await self.session.execute(
            select(func.count())
            .select_from(Delivery)
            .where(
                Delivery.chat_id == chat_id,
                Delivery.status == PENDING,
                Delivery.pace != DeliveryPace.NEW,
            )
        )
        return int(result.scalar_one())

    async def chats_with_due_digest(self, now: datetime, limit: int) -> list[int]:
        """Chats with held posts whose digest time has come and that no digest carries yet."""
        result = await self.session.execute(
            select(Delivery.chat_id)
            .where(
                Delivery.pace == int(DeliveryPace.DIGEST),
                Delivery.status == PENDING,
                Delivery.next_attempt_at <= now,
                Delivery.digest_id.is_(None),
            )
            .group_by(Delivery.chat_id)
            .order_by(Delivery.chat_id)
            .limit(limit)
        )
        return [int(c) for c in result.scalars()]

    # -- digests --------------------------------------------------------------------------------

    async def build_digest(self, chat_id: int, now: datetime) -> int | None:
        """Create a pending digest for the chat and attach its due held posts to it.

        Returns:
            The digest's id, or None (and nothing created) when no held post was due.
        """
        due = await self.session.execute(
            select(func.max(Delivery.next_attempt_at)).where(
                Delivery.chat_id == chat_id,
                Delivery.pace == int(DeliveryPace.DIGEST),
                Delivery.status == PENDING,
                Delivery.next_attempt_at <= now,
                Delivery.digest_id.is_(None),
            )
        )
        due_at = due.scalar_one_or_none()
        if due_at is None:
            return None
        digest = DigestMessage(
            chat_id=chat_id,
            due_at=due_at,
            status=PENDING,
            attempts=0,
            parts_sent=0,
            next_attempt_at=now,
            created_at=now,
        )
        self.session.add(digest)
        await self.session.flush()
        await self.session.execute(
            update(Delivery)
            .where(
                Delivery.chat_id == chat_id,
                Delivery.pace == int(DeliveryPace.DIGEST),
                Delivery.status == PENDING,
                Delivery.next_attempt_at <= now,
                Delivery.digest_id.is_(None),
            )
            .values(digest_id=digest.id)
        )
        return int(digest.id)

    async def claim_digests(
        self, now: datetime, limit: int, exclude: Iterable[int] = ()
    ) -> Sequence[DigestMessage]:
        """Pending digests whose time has come, oldest first."""
        stmt = (
            select(DigestMessage)
            .where(DigestMessage.status == PENDING, DigestMessage.next_attempt_at <= now)
            .order_by(DigestMessage.id)
            .limit(limit)
        )
        skip = list(exclude)
        if skip:
            stmt = stmt.where(DigestMessage.id.not_in(skip))
        result = await self.session.execute(stmt)
        return result.scalars().all()

    async def digest_items(self, digest_id: int) -> list[tuple[Post, str | None, Topic | None]]:
        """The posts a digest carries, with their source name and named topic, newest first."""
        result = await self.session.execute(
            select(Post, func.coalesce(Feed.name, Feed.title), Topic)
            .join(Delivery, Delivery.post_id == Post.id)
            .outerjoin(Feed, Feed.id == Post.feed_id)
            .outerjoin(Topic, Topic.id == Delivery.topic_id)
            .where(Delivery.digest_id == digest_id, Delivery.status == PENDING)
            .order_by(func.coalesce(Post.published_at, Post.first_seen_at).desc(), Post.id.desc())
        )
        return [(post, source, topic) for post, source, topic in result.all()]

    async def mark_part_sent(self, digest_id: int, parts_sent: int) -> None:
        """Record that Telegram accepted the first `parts_sent` parts of a digest."""
        await self.session.execute(
            update(DigestMessage)
            .where(DigestMessage.id == digest_id)
            .values(parts_sent=parts_sent)
        )

    async def finish_digest(
        self, digest_id: int, status: DeliveryStatus, now: datetime, error: str | None = None
    ) -> int:
        """Close a digest (sent, failed or dropped) and its deliveries with it, together.

        Returns:
            How many deliveries it closed.
        """
        values: dict[str, Any] = {"status": status.value, "last_error": _clip(error)}
        if status is DeliveryStatus.SENT:
            values["sent_at"] = now
        await self.session.execute(
            update(DigestMessage)
            .where(DigestMessage.id == digest_id)
            .values(attempts=DigestMessage.attempts + 1, **values)
        )
        result = await self.session.execute(
            update(Delivery)
            .where(Delivery.digest_id == digest_id, Delivery.status == PENDING)
            .values(attempts=Delivery.attempts + 1, **values)
        )
        return max(int(getattr(result, "rowcount", 0) or 0), 0)

    async def reschedule_digest(
        self, digest_id: int, when: datetime, error: str | None, *, count_attempt: bool
    ) -> None:
        """Try a digest again later."""
        values: dict[str, Any] = {"next_attempt_at": when, "last_error": _clip(error)}
        if count_attempt:
            values["attempts"] = DigestMessage.attempts + 1
        await self.session.execute(
            update(DigestMessage).where(DigestMessage.id == digest_id).values(**values)
        )

    async def drop_digests_for_chat(self, chat_id: int, reason: str) -> int:
        """Drop a chat's pending digests (unreachable); their deliveries are dropped apart."""
        result = await self.session.execute(
            update(DigestMessage)
            .where(DigestMessage.chat_id == chat_id, DigestMessage.status == PENDING)
            .values(status=DeliveryStatus.DROPPED.value, last_error=_clip(reason))
        )
        return max(int(getattr(result, "rowcount", 0) or 0), 0)

    async def delete_finished_digests(self, cutoff: datetime) -> int:
        """Delete digests created before `cutoff` that are no longer pending (retention)."""
        result = await self.session.execute(
            delete(DigestMessage).where(
                DigestMessage.created_at < cutoff, DigestMessage.status != PENDING
            )
        )
        return max(int(getattr(result, "rowcount", 0) or 0), 0)

    async def move_digests(self, old_id: int, new_id: int) -> None:
        """A migrated group's pace follows it: pending digests and settings (unless set there)."""
        await self.session.execute(
            update(DigestMessage)
            .where(DigestMessage.chat_id == old_id, DigestMessage.status == PENDING)
            .values(chat_id=new_id)
        )
        old = await self.session.get(Chat, old_id)
        new = await self.session.get(Chat, new_id)
        if old is None or new is None:
            return
        if new.timezone is None and new.digest is None and new.quiet is None:
            new.timezone, new.digest, new.quiet = old.timezone, old.digest, old.quiet
            await self.session.flush()
