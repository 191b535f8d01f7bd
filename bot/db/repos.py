"""Repositories: one per aggregate, constructed with a session; they never commit.

The use-case in `bot.services` owns the transaction (STYLE.md 2.6). Statements are
dialect-neutral, except for `ON CONFLICT DO NOTHING`, which both SQLite and PostgreSQL
speak through their own `insert()` constructs (see `_insert`).

Maintenance rule: every new public method gets a test in tests/db/, run on both databases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    BROADCAST,
    NOTICE,
    AuditEntry,
    BotState,
    Broadcast,
    Chat,
    Delivery,
    Feed,
    Post,
    PostTopic,
    Subscription,
    Topic,
    TopicRule,
    User,
)
from bot.domain.matching import normalise_key
from bot.domain.priority import DeliveryPriority
from bot.domain.types import DeliveryStatus, ParsedEntry, RuleKind, TopicRules, TopicSpec


def _insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT construct of the session's dialect (for ON CONFLICT support)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _audience(topic_ids: Sequence[int] | None) -> Any:
    """Active chats subscribed to any of the topics (any topic if None), one row per chat.

    Each comes with the lowest of those topic ids: the topic its message names.
    """
    stmt = (
        select(
            Subscription.chat_id.label("chat_id"),
            func.min(Subscription.topic_id).label("topic_id"),
        )
        .join(Chat, Chat.id == Subscription.chat_id)
        .where(Chat.active.is_(True))
        .group_by(Subscription.chat_id)
    )
    if topic_ids is not None:
        stmt = stmt.where(Subscription.topic_id.in_(list(topic_ids)))
    return stmt.subquery()


async def _fan_out(
    session: AsyncSession,
    key: str,
    key_value: int,
    audience: Any,
    now: datetime,
    priority: DeliveryPriority,
) -> int:
    """Queue one pending delivery per audience row in one INSERT … SELECT.

    `key` is "post_id" or "broadcast_id"; the unique key (chat_id, key) with ON CONFLICT DO
    NOTHING makes it idempotent. Returns how many deliveries were created.
    """
    source = select(
        audience.c.chat_id,
        literal(key_value),
        audience.c.topic_id,
        literal(DeliveryStatus.PENDING.value),
        literal(int(priority)),
        literal(0),
        literal(now, Delivery.next_attempt_at.type),
        literal(now, Delivery.created_at.type),
    ).where(and_(True))
    columns = [
        "chat_id",
        key,
        "topic_id",
        "status",
        "priority",
        "attempts",
        "next_attempt_at",
        "created_at",
    ]
    stmt = _insert(session, Delivery).from_select(columns, source).on_conflict_do_nothing()
    result = await session.execute(stmt)
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


def url_hash(url: str | None) -> str | None:
    """The dedup key of a canonical URL."""
    if not url:
        return None
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


class FeedRepo:
    """Feeds and their polling state."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, url: str, name: str | None, now: datetime) -> Feed:
        """Add a feed, due at once."""
        feed = Feed(url=url, name=name, next_poll_at=now, created_at=now)
        self.session.add(feed)
        await self.session.flush()
        return feed

    async def get(self, feed_id: int) -> Feed | None:
        """A feed by id."""
        return await self.session.get(Feed, feed_id)

    async def by_url(self, url: str) -> Feed | None:
        """A feed by its URL."""
        result = await self.session.execute(select(Feed).where(Feed.url == url))
        return result.scalar_one_or_none()

    async def all(self) -> Sequence[Feed]:
        """Every feed, oldest first."""
        result = await self.session.execute(select(Feed).order_by(Feed.id))
        return result.scalars().all()

    async def due(self, now: datetime, limit: int = 1000) -> Sequence[Feed]:
        """Feeds not paused whose next poll time has come, most overdue first."""
        result = await self.session.execute(
            select(Feed)
            .where(Feed.paused.is_(False), Feed.next_poll_at <= now)
            .order_by(Feed.next_poll_at, Feed.id)
            .limit(limit)
        )
        return result.scalars().all()

    async def next_due_at(self) -> datetime | None:
        """The earliest next poll time of any active feed."""
        result = await self.session.execute(
            select(func.min(Feed.next_poll_at)).where(Feed.paused.is_(False))
        )
        return result.scalar_one_or_none()

    async def delete(self, feed: Feed) -> None:
        """Remove a feed; its posts stay (their feed becomes unknown)."""
        await self.session.delete(feed)
        await self.session.flush()

    # -- supporter side (bot.services.subscriptions) ------------------------------------------

    async def labels(self, feed_ids: Iterable[int]) -> dict[int, str]:
        """The name to show for each feed (the admin's name, else the feed's title)."""
        ids = sorted(set(feed_ids))
        found: dict[int, str] = {}
        for chunk in _chunks(ids, 500):
            result = await self.session.execute(
                select(Feed.id, Feed.name, Feed.title).where(Feed.id.in_(chunk))
            )
            for feed_id, name, title in result.all():
                label = name or title
                if label:
                    found[feed_id] = label
        return found


class PostRepo:
    """Posts, their dedup and their topics."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def existing_for_feed(self, feed_id: int, identities: Iterable[str]) -> dict[str, Post]:
        """Posts of this feed with one of these identities, keyed by identity."""
        keys = list(set(identities))
        found: dict[str, Post] = {}
        for chunk in _chunks(keys, 500):
            result = await self.session.execute(
                select(Post).where(Post.feed_id == feed_id, Post.identity.in_(chunk))
            )
            found.update((post.identity, post) for post in result.scalars())
        return found

    async def known_url_hashes(self, hashes: Iterable[str]) -> set[str]:
        """Which of these canonical-URL hashes some post already has."""
        keys = list(set(hashes))
        known: set[str] = set()
        for chunk in _chunks(keys, 500):
            result = await self.session.execute(
                select(Post.url_hash).where(Post.url_hash.in_(chunk))
            )
            known.update(h for h in result.scalars() if h)
        return known

    async def insert_new(
        self,
        feed_id: int,
        entries: Sequence[ParsedEntry],
        now: datetime,
        *,
        announced: bool,
    ) -> dict[str, int]:
        """Insert posts, skipping any that another transaction stored meanwhile.

        Returns:
            The new post ids keyed by identity; an entry missing from it was a duplicate.
        """
        if not entries:
            return {}
        rows = [
            {
                "feed_id": feed_id,
                "identity": entry.identity,
                "url": entry.url,
                "url_hash": url_hash(entry.url),
                "title": entry.title,
                "summary": entry.summary,
                "author": entry.author,
                "image_url": entry.image_url,
                "categories": list(entry.categories),
                "published_at": entry.published,
                "first_seen_at": now,
                "updated_at": now,
                "announced": announced,
            }
            for entry in entries
        ]
        # executemany ("insertmanyvalues"): one cached compiled statement, batched by the
        # driver, instead of compiling a multi-row VALUES per feed (a third of a poll's CPU).
        stmt = (
            _insert(self.session, Post).on_conflict_do_nothing().returning(Post.id, Post.identity)
        )
        result = await self.session.execute(stmt, rows)
        return {identity: post_id for post_id, identity in result.all()}

    @staticmethod
    def apply_edit(post: Post, entry: ParsedEntry, now: datetime) -> bool:
        """Update a stored post from a newer version of its entry; True if anything changed."""
        changes: dict[str, object] = {
            "title": entry.title,
            "summary": entry.summary,
            "author": entry.author,
            "image_url": entry.image_url,
            "categories": list(entry.categories),
        }
        if entry.published is not None:
            changes["published_at"] = entry.published
        changed = False
        for field, value in changes.items():
            if getattr(post, field) != value:
                setattr(post, field, value)
                changed = True
        if changed:
            post.updated_at = now
        return changed

    async def add_topics(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Record (post_id, topic_id) matches."""
        rows = [{"post_id": p, "topic_id": t} for p, t in pairs]
        if rows:  # executemany: one cached compiled statement
            await self.session.execute(
                _insert(self.session, PostTopic).on_conflict_do_nothing(), rows
            )

    async def count(self) -> int:
        """How many posts are stored."""
        result = await self.session.execute(select(func.count()).select_from(Post))
        return int(result.scalar_one())

    async def topics_of(self, post_ids: Sequence[int]) -> dict[int, list[int]]:
        """Topic ids of each post."""
        found: dict[int, list[int]] = {pid: [] for pid in post_ids}
        for chunk in _chunks(list(post_ids), 500):
            result = await self.session.execute(
                select(PostTopic.post_id, PostTopic.topic_id)
                .where(PostTopic.post_id.in_(chunk))
                .order_by(PostTopic.post_id, PostTopic.topic_id)
            )
            for post_id, topic_id in result.all():
                found[post_id].append(topic_id)
        return found

    async def latest(
        self, *, topic_id: int | None = None, offset: int = 0, limit: int = 5
    ) -> Sequence[Post]:
        """Newest posts (by publication, else first seen), optionally of one topic."""
        stmt = select(Post)
        if topic_id is not None:
            stmt = stmt.join(PostTopic, PostTopic.post_id == Post.id).where(
                PostTopic.topic_id == topic_id
            )
        stmt = stmt.order_by(
            func.coalesce(Post.published_at, Post.first_seen_at).desc(), Post.id.desc()
        )
        result = await self.session.execute(stmt.offset(offset).limit(limit))
        return result.scalars().all()


class TopicRepo:
    """Topics and their matching rules."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self, *, include_archived: bool = False) -> Sequence[Topic]:
        """Topics in name order."""
        stmt = select(Topic).order_by(Topic.name_key)
        if not include_archived:
            stmt = stmt.where(Topic.archived.is_(False))
        result = await self.session.execute(stmt)
        return result.scalars().all()

    async def by_key(self, key: str) -> Topic | None:
        """A topic whose slug or name matches forgivingly (case, accents, spaces, '#')."""
        normal = normalise_key(key)
        if not normal:
            return None
        result = await self.session.execute(
            select(Topic).where(or_(Topic.slug_key == normal, Topic.name_key == normal))
        )
        return result.scalars().first()

    async def by_slug(self, slug: str) -> Topic | None:
        """A topic by its slug (forgiving case and punctuation, not its name)."""
        result = await self.session.execute(
            select(Topic).where(Topic.slug_key == normalise_key(slug))
        )
        return result.scalar_one_or_none()

    async def add(self, spec: TopicSpec, now: datetime) -> Topic:
        """Create a topic with its rules."""
        topic = Topic(
            slug=spec.slug,
            slug_key=normalise_key(spec.slug),
            name=spec.name,
            name_key=normalise_key(spec.name),
            description=spec.description,
            emoji=spec.emoji,
            created_at=now,
        )
        self.session.add(topic)
        await self.session.flush()
        await self.replace_rules(topic.id, spec)
        return topic

    async def replace_rules(self, topic_id: int, spec: TopicSpec) -> None:
        """Set a topic's rules to exactly those of `spec`."""
        await self.session.execute(delete(TopicRule).where(TopicRule.topic_id == topic_id))
        seen: set[tuple[str, str]] = set()
        for kind, values in (
            (RuleKind.CATEGORY, spec.categories),
            (RuleKind.KEYWORD, spec.keywords),
            (RuleKind.EXCLUDE, spec.excludes),
        ):
            for value in values:
                key = (kind.value, value.casefold())
                if key in seen:
                    continue
                seen.add(key)
                self.session.add(
                    TopicRule(topic_id=topic_id, kind=kind.value, value=value, value_key=key[1])
                )
        await self.session.flush()

    async def rules(self, topic_ids: Sequence[int] | None = None) -> dict[int, list[TopicRule]]:
        """Rules per topic id."""
        stmt = select(TopicRule).order_by(TopicRule.topic_id, TopicRule.id)
        if topic_ids is not None:
            stmt = stmt.where(TopicRule.topic_id.in_(topic_ids))
        result = await self.session.execute(stmt)
        grouped: dict[int, list[TopicRule]] = {}
        for rule in result.scalars():
            grouped.setdefault(rule.topic_id, []).append(rule)
        return grouped

    async def matching_rules(self) -> list[TopicRules]:
        """The rules of every active topic, ready for the matcher."""
        topics = await self.all()
        grouped = await self.rules([t.id for t in topics])
        compiled = []
        for topic in topics:
            by_kind: dict[str, list[str]] = {k.value: [] for k in RuleKind}
            for rule in grouped.get(topic.id, []):
                by_kind[rule.kind].append(rule.value)
            compiled.append(
                TopicRules(
                    topic_id=topic.id,
                    slug=topic.slug,
                    categories=tuple(by_kind[RuleKind.CATEGORY]),
                    keywords=tuple(by_kind[RuleKind.KEYWORD]),
                    excludes=tuple(by_kind[RuleKind.EXCLUDE]),
                )
            )
        return compiled

    async def count(self) -> int:
        """How many topics exist, archived included."""
        result = await self.session.execute(select(func.count()).select_from(Topic))
        return int(result.scalar_one())

    # -- supporter side (bot.services.subscriptions) ------------------------------------------

    async def get(self, topic_id: int) -> Topic | None:
        """A topic by id, archived or not."""
        return await self.session.get(Topic, topic_id)


class DeliveryRepo:
    """The outbox. Every new outcome needs a DeliveryStatus member and a delivery test."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fan_out_post(
        self,
        post_id: int,
        topic_ids: Sequence[int],
        now: datetime,
        priority: DeliveryPriority = DeliveryPriority.POST,
    ) -> int:
        """Queue one delivery per active chat subscribed to any of the topics.

        One INSERT … SELECT, grouped by chat, so a chat following several of the post's
        topics gets one message; the unique key (chat_id, post_id) makes it idempotent.

        Returns:
            How many deliveries were created.
        """
        if not topic_ids:
            return 0
        return await _fan_out(
            self.session, "post_id", post_id, _audience(topic_ids), now, priority
        )

    async def claim_due(
        self, now: datetime, limit: int, exclude: Iterable[int] = ()
    ) -> Sequence[Delivery]:
        """Pending deliveries whose time has come, highest priority and oldest first.

        The index (status, priority DESC, id) gives this order directly, so a claim reads
        `limit` rows instead of sorting the whole backlog (on SQLite and PostgreSQL alike).
        Rows stay `pending` while they are sent (no "sending" state): after a crash they are
        simply sent again, which bounds duplicates by what was in flight.
        """
        stmt = (
            select(Delivery)
            .where(
                Delivery.status == DeliveryStatus.PENDING.value, Delivery.next_attempt_at <= now
            )
            .order_by(Delivery.priority.desc(), Delivery.id)
            .limit(limit)
        )
        skip = list(exclude)
        if skip:
            stmt = stmt.where(Delivery.id.not_in(skip))
        result = await self.session.execute(stmt)
        return result.scalars().all()

    async def next_due_at(self) -> datetime | None:
        """When the earliest pending delivery becomes due."""
        result = await self.session.execute(
            select(func.min(Delivery.next_attempt_at)).where(
                Delivery.status == DeliveryStatus.PENDING.value
            )
        )
        return result.scalar_one_or_none()

    async def mark_sent(self, delivery_id: int, message_id: int | None, now: datetime) -> None:
        """Record that Telegram accepted the message."""
        await self.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(
                status=DeliveryStatus.SENT.value,
                sent_at=now,
                message_id=message_id,
                attempts=Delivery.attempts + 1,
                last_error=None,
            )
        )

    async def mark_sent_many(self, marks: Sequence[tuple[int, int | None, datetime]]) -> None:
        """Record accepted messages, `(delivery_id, message_id, sent_at)`, in one statement."""
        if not marks:
            return
        table = cast(Table, Delivery.__table__)  # Core: an executemany, not ORM bulk mode
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                status=DeliveryStatus.SENT.value,
                sent_at=bindparam("b_sent_at"),
                message_id=bindparam("b_message_id"),
                attempts=table.c.attempts + 1,
                last_error=None,
            )
        )
        await self.session.execute(
            stmt,
            [{"b_id": i, "b_message_id": m, "b_sent_at": when} for i, m, when in marks],
        )

    async def reschedule(
        self, delivery_id: int, when: datetime, error: str | None, *, count_attempt: bool
    ) -> None:
        """Try again later (a flood wait does not count as an attempt)."""
        values: dict[str, Any] = {"next_attempt_at": when, "last_error": _clip(error)}
        if count_attempt:
            values["attempts"] = Delivery.attempts + 1
        await self.session.execute(
            update(Delivery).where(Delivery.id == delivery_id).values(**values)
        )

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        """Give up on a delivery, keeping the error."""
        await self.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(
                status=DeliveryStatus.FAILED.value,
                attempts=Delivery.attempts + 1,
                last_error=_clip(error),
            )
        )

    async def drop_pending_for_chat(self, chat_id: int, reason: str) -> int:
        """Drop every pending delivery of a chat (unreachable or forgotten)."""
        result = await self.session.execute(
            update(Delivery)
            .where(Delivery.chat_id == chat_id, Delivery.status == DeliveryStatus.PENDING.value)
            .values(status=DeliveryStatus.DROPPED.value, last_error=_clip(reason))
        )
        return max(int(getattr(result, "rowcount", 0) or 0), 0)

    async def count(self, status: DeliveryStatus | None = None) -> int:
        """How many deliveries exist (with this status)."""
        stmt = select(func.count()).select_from(Delivery)
        if status is not None:
            stmt = stmt.where(Delivery.status == status.value)
        result = await self.session.execute(stmt)
        return int(result.scalar_one())

    # -- supporter side (bot.services.subscriptions) ------------------------------------------

    async def count_for_chat(self, chat_id: int, status: DeliveryStatus | None = None) -> int:
        """How many deliveries a chat has (with this status)."""
        stmt = select(func.count()).select_from(Delivery).where(Delivery.chat_id == chat_id)
        if status is not None:
            stmt = stmt.where(Delivery.status == status.value)
        result = await self.session.execute(stmt)
        return int(result.scalar_one())


class ChatRepo:
    """Chats and their subscriptions."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ensure(self, chat_id: int, chat_type: str, now: datetime) -> Chat:
        """Get or create the chat, reactivating it (it talked to us)."""
        chat = await self.session.get(Chat, chat_id)
        if chat is None:
            chat = Chat(id=chat_id, type=chat_type, active=True, created_at=now, updated_at=now)
            self.session.add(chat)
        else:
            chat.active = True
            chat.inactive_reason = None
            chat.updated_at = now
        await self.session.flush()
        return chat

    async def subscribe(self, chat_id: int, topic_id: int, now: datetime) -> bool:
        """Subscribe; False if it was subscribed already."""
        stmt = (
            _insert(self.session, Subscription)
            .values(chat_id=chat_id, topic_id=topic_id, created_at=now)
            .on_conflict_do_nothing()
        )
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))

    async def topic_ids(self, chat_id: int) -> list[int]:
        """Ids of the topics a chat follows."""
        result = await self.session.execute(
            select(Subscription.topic_id).where(Subscription.chat_id == chat_id)
        )
        return list(result.scalars())

    async def migrate(self, old_id: int, new_id: int, now: datetime) -> None:
        """Move a group that became a supergroup, with its subscriptions and pending deliveries."""
        old = await self.session.get(Chat, old_id)
        if old is None:
            return
        new = await self.session.get(Chat, new_id)
        if new is None:
            self.session.add(
                Chat(
                    id=new_id,
                    type="supergroup",
                    active=True,
                    created_at=old.created_at,
                    updated_at=now,
                )
            )
            await self.session.flush()
        await self.session.execute(
            _insert(self.session, Subscription)
            .from_select(
                ["chat_id", "topic_id", "created_at"],
                select(literal(new_id), Subscription.topic_id, Subscription.created_at).where(
                    Subscription.chat_id == old_id
                ),
            )
            .on_conflict_do_nothing()
        )
        taken = select(Delivery.post_id).where(
            Delivery.chat_id == new_id, Delivery.post_id.is_not(None)
        )
        taken_b = select(Delivery.broadcast_id).where(
            Delivery.chat_id == new_id, Delivery.broadcast_id.is_not(None)
        )
        await self.session.execute(
            update(Delivery)
            .where(
                Delivery.chat_id == old_id,
                Delivery.status == DeliveryStatus.PENDING.value,
                or_(Delivery.post_id.is_(None), Delivery.post_id.not_in(taken)),
                or_(Delivery.broadcast_id.is_(None), Delivery.broadcast_id.not_in(taken_b)),
            )
            .values(chat_id=new_id, next_attempt_at=now)
        )
        await self.session.execute(delete(Chat).where(Chat.id == old_id))

    async def set_inactive(self, chat_id: int, reason: str, now: datetime) -> None:
        """Mark a chat unreachable."""
        await self.session.execute(
            update(Chat)
            .where(Chat.id == chat_id)
            .values(active=False, inactive_reason=reason[:200], updated_at=now)
        )

    # -- supporter side (bot.services.subscriptions) ------------------------------------------

    async def get(self, chat_id: int) -> Chat | None:
        """A chat by id."""
        return await self.session.get(Chat, chat_id)

    async def register(self, chat_id: int, chat_type: str, now: datetime) -> bool:
        """Like `ensure`, but write only when the chat is new or inactive.

        Returns:
            True if the chat was created or reactivated.
        """
        chat = await self.session.get(Chat, chat_id)
        if chat is not None and chat.active:
            return False
        await self.ensure(chat_id, chat_type, now)
        return True

    async def unsubscribe(self, chat_id: int, topic_id: int) -> bool:
        """Unsubscribe; False if the chat did not follow the topic."""
        result = await self.session.execute(
            delete(Subscription).where(
                Subscription.chat_id == chat_id, Subscription.topic_id == topic_id
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def unsubscribe_all(self, chat_id: int) -> list[int]:
        """Drop every subscription of a chat; returns the topic ids it followed."""
        topic_ids = await self.topic_ids(chat_id)
        if topic_ids:
            await self.session.execute(delete(Subscription).where(Subscription.chat_id == chat_id))
        return topic_ids

    async def subscribed_topics(
        self, chat_id: int, *, include_archived: bool = False
    ) -> Sequence[Topic]:
        """The topics a chat follows, in name order."""
        stmt = (
            select(Topic)
            .join(Subscription, Subscription.topic_id == Topic.id)
            .where(Subscription.chat_id == chat_id)
            .order_by(Topic.name_key)
        )
        if not include_archived:
            stmt = stmt.where(Topic.archived.is_(False))
        result = await self.session.execute(stmt)
        return result.scalars().all()

    async def delete(self, chat_id: int) -> bool:
        """Delete a chat; its subscriptions and deliveries go with it (ON DELETE CASCADE)."""
        result = await self.session.execute(delete(Chat).where(Chat.id == chat_id))
        return bool(getattr(result, "rowcount", 0))

    async def upsert_user(self, user_id: int, username: str | None, now: datetime) -> None:
        """Record a user's id and lower-cased @username (nothing else), keeping their role.

        A username belongs to one account at a time: another row holding the same username
        (an account that since renamed) loses it, so grants by @username stay unambiguous.
        """
        name = username.lower()[:64] if username else None
        if name is not None:
            await self.session.execute(
                update(User)
                .where(User.username == name, User.id != user_id)
                .values(username=None, updated_at=now)
            )
        stmt = (
            _insert(self.session, User)
            .values(id=user_id, username=name, role="supporter", created_at=now, updated_at=now)
            .on_conflict_do_update(
                index_elements=[User.id], set_={"username": name, "updated_at": now}
            )
        )
        await self.session.execute(stmt)

    async def delete_user(self, user_id: int) -> str | None:
        """Delete a user row; returns the role it held, or None if there was no row."""
        user = await self.session.get(User, user_id)
        if user is None:
            return None
        role = user.role
        await self.session.execute(delete(User).where(User.id == user_id))
        return role


class AuditRepo:
    """The audit log."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        now: datetime,
        actor: str,
        action: str,
        target: str = "",
        *,
        actor_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write one audit row."""
        self.session.add(
            AuditEntry(
                at=now,
                actor=actor[:100],
                actor_id=actor_id,
                action=action,
                target=target[:300],
                detail=detail,
            )
        )

    async def latest(self, limit: int = 20) -> Sequence[AuditEntry]:
        """Newest audit rows first."""
        result = await self.session.execute(
            select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        )
        return result.scalars().all()


class StateRepo:
    """Key/value facts about the installation."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str) -> str | None:
        """The value of a key, or None."""
        row = await self.session.get(BotState, key)
        return None if row is None else row.value

    async def set(self, key: str, value: str) -> None:
        """Set a key."""
        row = await self.session.get(BotState, key)
        if row is None:
            self.session.add(BotState(key=key, value=value))
        else:
            row.value = value


def _clip(error: str | None, limit: int = 500) -> str | None:
    return None if error is None else error[:limit]


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class AdminRepo:
    """Admin-side queries: roles, rule edits, topic figures, stats and feed health reports.

    Used by `bot.services.admin`; like every repository here it never commits.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- roles --------------------------------------------------------------------------------

    async def user(self, user_id: int) -> User | None:
        """A user row by Telegram id."""
        return await self.session.get(User, user_id)

    async def user_by_username(self, username: str) -> User | None:
        """The user who last used this @username (stored lower-cased, without '@')."""
        result = await self.session.execute(
            select(User).where(User.username == username.lower().removeprefix("@")[:64])
        )
        return result.scalars().first()

    async def set_role(
        self, user_id: int, role: str, granted_by: int | None, now: datetime
    ) -> str | None:
        """Give a user a role, creating their row if needed; returns the role held before."""
        user = await self.session.get(User, user_id)
        if user is None:
            self.session.add(
                User(
                    id=user_id,
                    username=None,
                    role=role,
                    granted_by=granted_by,
                    created_at=now,
                    updated_at=now,
                )
            )
            await self.session.flush()
            return None
        previous = user.role
        user.role = role
        user.granted_by = granted_by
        user.updated_at = now
        await self.session.flush()
        return previous

    async def staff(self) -> Sequence[User]:
        """Users granted a role other than supporter, by id."""
        result = await self.session.execute(
            select(User).where(User.role != "supporter").order_by(User.id)
        )
        return result.scalars().all()

    async def usernames(self, user_ids: Iterable[int]) -> dict[int, str]:
        """The stored @usernames of these users (those without one are left out)."""
        ids = sorted(set(user_ids))
        found: dict[int, str] = {}
        for chunk in _chunks(ids, 500):
            result = await self.session.execute(
                select(User.id, User.username).where(User.id.in_(chunk))
            )
            found.update((uid, name) for uid, name in result.all() if name)
        return found

    # -- topics -------------------------------------------------------------------------------

    async def add_rule(self, topic_id: int, kind: str, value: str) -> bool:
        """Add one rule; False if the topic has it already (case-insensitively)."""
        stmt = (
            _insert(self.session, TopicRule)
            .values(topic_id=topic_id, kind=kind, value=value, value_key=value.casefold())
            .on_conflict_do_nothing()
        )
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))

    async def remove_rule(self, topic_id: int, kind: str, value: str) -> bool:
        """Remove one rule (matched case-insensitively); False if there was none."""
        result = await self.session.execute(
            delete(TopicRule).where(
                TopicRule.topic_id == topic_id,
                TopicRule.kind == kind,
                TopicRule.value_key == value.casefold(),
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def rule_count(self, topic_id: int) -> int:
        """How many rules a topic has."""
        result = await self.session.execute(
            select(func.count()).select_from(TopicRule).where(TopicRule.topic_id == topic_id)
        )
        return int(result.scalar_one())

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

    async def queue_notice(
        self, created_by: int, text_html: str, topic_id: int, now: datetime
    ) -> int:
        """Queue a one-off message to every active chat subscribed to a topic, via the outbox.

        The message is a finished `Broadcast` row of kind "notice" (status "done", so no
        scheduler picks it up, and left out of the organisers' lists) and one pending delivery
        per chat, without a topic (no "Unsubscribe" button).

        Returns:
            How many deliveries were queued.
        """
        broadcast = Broadcast(
            kind=NOTICE,
            created_by=created_by,
            topic_ids=[topic_id],
            text_html=text_html,
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

    # -- feed health ----------------------------------------------------------------------------

    async def take_failing_to_report(self, failing_before: datetime) -> Sequence[Feed]:
        """Unreported, unpaused feeds failing since `failing_before` or earlier; marks them."""
        result = await self.session.execute(
            select(Feed)
            .where(
                Feed.failing_since.is_not(None),
                Feed.failing_since <= failing_before,
                Feed.failure_reported.is_(False),
                Feed.paused.is_(False),
            )
            .order_by(Feed.id)
        )
        feeds = result.scalars().all()
        for feed in feeds:
            feed.failure_reported = True
        await self.session.flush()
        return feeds

    async def take_recovered_to_report(self) -> Sequence[Feed]:
        """Reported feeds that work again (ingest cleared failing_since); clears the flag."""
        result = await self.session.execute(
            select(Feed)
            .where(Feed.failure_reported.is_(True), Feed.failing_since.is_(None))
            .order_by(Feed.id)
        )
        feeds = result.scalars().all()
        for feed in feeds:
            feed.failure_reported = False
        await self.session.flush()
        return feeds


# -- organiser broadcasts (bot.services.broadcasts) --------------------------------------------


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

    async def add(self, broadcast: Broadcast) -> Broadcast:
        """Insert a broadcast row (its id is set on return)."""
        self.session.add(broadcast)
        await self.session.flush()
        return broadcast

    async def get(self, broadcast_id: int) -> Broadcast | None:
        """A broadcast by id."""
        return await self.session.get(Broadcast, broadcast_id)

    async def fan_out(
        self, broadcast_id: int, topic_ids: Sequence[int] | None, now: datetime
    ) -> int:
        """Queue one delivery per active chat of the audience, in one INSERT … SELECT.

        Grouped by chat, so a chat following several of the topics gets one message; the
        unique key (chat_id, broadcast_id) with ON CONFLICT DO NOTHING makes it idempotent.
        Broadcasts go before ordinary posts (`DeliveryPriority.BROADCAST`).

        Returns:
            How many deliveries were created.
        """
        if topic_ids is not None and not topic_ids:
            return 0
        return await _fan_out(
            self.session,
            "broadcast_id",
            broadcast_id,
            _audience(topic_ids),
            now,
            DeliveryPriority.BROADCAST,
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

    async def post_by_url(self, canonical: str) -> Post | None:
        """The stored post with this canonical URL (by its url hash)."""
        result = await self.session.execute(
            select(Post).where(Post.url_hash == url_hash(canonical))
        )
        return result.scalar_one_or_none()
