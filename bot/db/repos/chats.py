"""ChatRepo (chats and their subscriptions) and UserRepo (users, their @usernames and roles)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Chat, Delivery, Subscription, Topic, User
from bot.db.repos._sql import _chunks, _insert
from bot.domain.types import DeliveryStatus


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

    async def deactivate(self, chat_id: int, reason: str, now: datetime) -> bool:
        """Mark an active chat unreachable; True only for the one call that made it so.

        A conditional UPDATE: when a removal update and failing sends race, or several
        instances see the same 403, exactly one of them learns that the chat was lost (so
        the admins are told once about a linked channel).
        """
        result = await self.session.execute(
            update(Chat)
            .where(Chat.id == chat_id, Chat.active.is_(True))
            .values(active=False, inactive_reason=reason[:200], updated_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def audiences(self, chat_ids: Iterable[int]) -> dict[int, tuple[str | None, str]]:
        """The stored (language, type) of each of these chats that exists."""
        found: dict[int, tuple[str | None, str]] = {}
        for chunk in _chunks(list(chat_ids), 500):
            result = await self.session.execute(
                select(Chat.id, Chat.language, Chat.type).where(Chat.id.in_(chunk))
            )
            found.update((chat_id, (language, kind)) for chat_id, language, kind in result.all())
        return found

    # -- supporter side (bot.services.subscriptions) ------------------------------------------

    async def get(self, chat_id: int) -> Chat | None:
        """A chat by id."""
        return await self.session.get(Chat, chat_id)

    async def language(self, chat_id: int) -> str | None:
        """A chat's language ("en", "fr"), None if unknown or not set."""
        result = await self.session.execute(select(Chat.language).where(Chat.id == chat_id))
        return result.scalar_one_or_none()

    async def set_language(self, chat_id: int, language: str | None, now: datetime) -> bool:
        """Set a chat's language (None: the default); False if there is no such chat."""
        result = await self.session.execute(
            update(Chat).where(Chat.id == chat_id).values(language=language, updated_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

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

    async def languages(self, chat_ids: Iterable[int]) -> dict[int, str | None]:
        """The stored language of each of these chats that exists (None: not set)."""
        found: dict[int, str | None] = {}
        for chunk in _chunks(list(chat_ids), 500):
            result = await self.session.execute(
                select(Chat.id, Chat.language).where(Chat.id.in_(chunk))
            )
            found.update((chat_id, language) for chat_id, language in result.all())
        return found

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


class UserRepo:
    """Users: their @usernames (for grants by name) and their roles."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, user_id: int, username: str | None, now: datetime) -> None:
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

    async def delete(self, user_id: int) -> str | None:
        """Delete a user row; returns the role it held, or None if there was no row."""
        user = await self.session.get(User, user_id)
        if user is None:
            return None
        role = user.role
        await self.session.execute(delete(User).where(User.id == user_id))
        return role

    async def get(self, user_id: int) -> User | None:
        """A user row by Telegram id."""
        return await self.session.get(User, user_id)

    async def by_username(self, username: str) -> User | None:
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
