"""Supporter use-cases: chats, their subscriptions, the latest posts, and forgetting a supporter.

Owns one transaction per public method (`async with sessionmaker.begin()`), forgiving topic
look-ups with suggestions, and the minimal record of users (numeric id and lower-cased
@username only). In the same transaction as each change of subscriptions it counts topic
growth (a subscription created: joined; removed by the chat, by /forgetme too: left) and
credits an unsubscribe (not /forgetme) to the message the chat was sent last, if within
UNSUBSCRIBE_WINDOW; both are aggregate counters, with no record of which chat it was.
Returns plain values (`TopicView`, `PostView`, the dataclasses below).
Must not: receive or return Telegram objects, import `telegram.ext` or handlers, or render
messages (the handler renders what it gets back).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Topic
from bot.db.repos import (
    ChatRepo,
    DeliveryRepo,
    FeedRepo,
    PostRepo,
    PrivacyRepo,
    TopicRepo,
    TotalsRepo,
    UserRepo,
)
from bot.domain.clock import Clock
from bot.domain.matching import normalise_key
from bot.domain.views import PAGE_SIZE, PostView, TopicView
from bot.errors import TopicNotFoundError
from bot.render.i18n import LANGUAGES, SOURCE_LANGUAGE, language_for
from bot.services.views import post_view, topic_view

# A topic key longer than this is no topic name (names are at most 64 characters).
MAX_KEY_CHARS = 100
MAX_SUGGESTIONS = 3
# Pages of /latest beyond this are not served (the callback data allows four digits).
MAX_PAGE = 9999
# The in-memory user cache is cleared when it grows past this many users.
USER_CACHE_LIMIT = 100_000
# Why a forgotten chat's pending deliveries were dropped (they then count as "blocked").
FORGOTTEN = "forgotten"
# An unsubscribe is credited to the last message the chat was sent, if it came this recently.
UNSUBSCRIBE_WINDOW = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    """The outcome of a subscribe/unsubscribe/toggle.

    Attributes:
        topic: The topic, with `subscribed` as it is now.
        changed: False when the chat was already in that state.
    """

    topic: TopicView
    changed: bool


@dataclass(frozen=True, slots=True)
class LatestPage:
    """One page of the latest posts (all topics, or `topic`)."""

    posts: tuple[PostView, ...]
    topic: TopicView | None
    page: int
    has_next: bool


@dataclass(frozen=True, slots=True)
class ForgetResult:
    """What `forget` deleted."""

    chat: bool
    subscriptions: int
    deliveries: int
    user: bool
    role: str | None = None

    @property
    def nothing(self) -> bool:
        """Whether there was nothing to delete."""
        return not (self.chat or self.user)


def suggest_topics(
    key: str, topics: Iterable[Topic], limit: int = MAX_SUGGESTIONS
) -> tuple[str, ...]:
    """Names of the topics closest to `key`, by their forgiving name and slug keys.

    Close spellings (difflib) come first, then topics whose key contains the wanted one or
    is contained in it ("torture" finds "StopTorture").
    """
    wanted = normalise_key(key)
    if not wanted:
        return ()
    names_by_key: dict[str, str] = {}
    for topic in topics:
        names_by_key.setdefault(topic.name_key, topic.name)
        names_by_key.setdefault(topic.slug_key, topic.name)
    close = difflib.get_close_matches(wanted, list(names_by_key), n=10, cutoff=0.6)
    contained = [k for k in names_by_key if len(wanted) >= 3 and (wanted in k or k in wanted)]
    names: list[str] = []
    for k in [*close, *contained]:
        name = names_by_key[k]
        if name not in names:
            names.append(name)
    return tuple(names[:limit])


class SubscriptionService:
    """What supporters do: follow topics, browse posts, be forgotten.

    Every public method is one transaction. `Raises:` sections list the domain errors a
    handler must map to a friendly answer.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        default_language: str = SOURCE_LANGUAGE,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        # user id -> lower-cased username last written; an unchanged user costs no write.
        self._users: dict[int, str | None] = {}
        self.default_language = default_language
        # chat id -> the chat's language as stored (None: not set); read once per chat.
        self._languages: dict[int, str | None] = {}

    # -- chats and users ---------------------------------------------------------------------

    async def register_chat(
        self, chat_id: int, chat_type: str, language_code: str | None = None
    ) -> bool:
        """Record a chat that talked to us, reactivating it if it was inactive.

        At first contact the chat's language is set from the sender's Telegram
        `language_code` ("fr", "fr-CA" → "fr"; anything else → the default language).

        Returns:
            True if the chat was created or reactivated.
        """
        async with self._sessionmaker.begin() as session:
            chats = ChatRepo(session)
            changed = await chats.register(chat_id, chat_type, self._clock.now())
            # Unknown here, or known to be unset and now said: look (and set it) once.
            if chat_id not in self._languages or (
                self._languages[chat_id] is None and language_code is not None
            ):
                stored = await chats.language(chat_id)
                if stored is None and language_code is not None:
                    stored = language_for(language_code, self.default_language)
                    await chats.set_language(chat_id, stored, self._clock.now())
                self._remember_language(chat_id, stored)
        return changed

    async def chat_language(self, chat_id: int) -> str:
        """The language the chat reads ("en", "fr"): as stored, else the default language."""
        return await self.stored_language(chat_id) or self.default_language

    async def stored_language(self, chat_id: int) -> str | None:
        """The chat's language as stored (None: no chat, or none set); cached per chat."""
        if chat_id in self._languages:
            return self._languages[chat_id]
        async with self._sessionmaker() as session:
            stored = await ChatRepo(session).language(chat_id)
        self._remember_language(chat_id, stored)
        return self._languages[chat_id]

    async def set_language(self, chat_id: int, chat_type: str, language: str) -> None:
        """Set the chat's language (creating the chat if needed).

        Raises:
            ValueError: `language` is not one the bot speaks (the handler checks first).
        """
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}")
        async with self._sessionmaker.begin() as session:
            chats = ChatRepo(session)
            await chats.ensure(chat_id, chat_type, self._clock.now())
            await chats.set_language(chat_id, language, self._clock.now())
        self._remember_language(chat_id, language)

    def _remember_language(self, chat_id: int, language: str | None) -> None:
        if language is not None and language not in LANGUAGES:
            language = self.default_language
        if len(self._languages) >= USER_CACHE_LIMIT:
            self._languages.clear()
        self._languages[chat_id] = language

    async def remember_user(self, user_id: int, username: str | None) -> bool:
        """Record a user's numeric id and lower-cased @username, and nothing else.

        The username is what admins grant roles by. An unchanged user is answered from
        memory without touching the database.

        Returns:
            True if the database was written.
        """
        name = username.lower()[:64] if username else None
        if user_id in self._users and self._users[user_id] == name:
            return False
        async with self._sessionmaker.begin() as session:
            await UserRepo(session).upsert(user_id, name, self._clock.now())
        if len(self._users) >= USER_CACHE_LIMIT:
            self._users.clear()
        self._users[user_id] = name
        return True

    async def set_reachable(
        self, chat_id: int, reachable: bool, reason: str, *, chat_type: str = "private"
    ) -> bool:
        """Mark a chat reachable (creating it if needed) or unreachable.

        An unreachable chat gets nothing more: its pending deliveries are dropped.
        Returns True only when this call made an active chat unreachable (once per loss).

        Args:
            chat_id: The chat.
            reachable: Whether the bot can write to it now.
            reason: Why it became unreachable (kept on the chat and on dropped deliveries).
            chat_type: The Telegram chat type, used if the chat is new.
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            chats = ChatRepo(session)
            if reachable:
                await chats.ensure(chat_id, chat_type, now)
                return False
            lost = await chats.deactivate(chat_id, reason, now)
            await DeliveryRepo(session).drop_pending_for_chat(chat_id, reason)
            return lost

    async def forget(self, chat_id: int, user_id: int) -> ForgetResult:
        """Delete a chat, its subscriptions and deliveries, and the user's row, in one go.

        The chat's delivery rows (with their click and action marks) are folded into the
        per-message totals before they are deleted, so campaign figures stay exact while
        nothing links the chat to them any more; its pending ones count as dropped. Audit
        entries by or about the user keep their numeric id but no @username.

        Returns:
            What was deleted, for the confirmation message.
        """
        async with self._sessionmaker.begin() as session:
            chats = ChatRepo(session)
            privacy = PrivacyRepo(session)
            followed = await chats.topic_ids(chat_id)
            subscriptions = len(followed)
            await DeliveryRepo(session).drop_pending_for_chat(chat_id, FORGOTTEN)
            deliveries = await privacy.fold_deliveries(await privacy.chat_deliveries(chat_id))
            chat = await chats.delete(chat_id)
            if chat:
                await self._count_left(session, followed)
            role = await UserRepo(session).delete(user_id)
            await privacy.forget_audit_names(user_id)
        self._users.pop(user_id, None)
        self._languages.pop(chat_id, None)
        return ForgetResult(
            chat=chat,
            subscriptions=subscriptions if chat else 0,
            deliveries=deliveries if chat else 0,
            user=role is not None,
            role=role,
        )

    # -- topics and subscriptions --------------------------------------------------------------

    async def list_topics(self, chat_id: int) -> list[TopicView]:
        """Every active topic in name order, flagged when the chat follows it."""
        async with self._sessionmaker.begin() as session:
            topics = await TopicRepo(session).all()
            followed = set(await ChatRepo(session).topic_ids(chat_id))
        return [topic_view(t, subscribed=t.id in followed) for t in topics]

    async def chat_topics(self, chat_id: int) -> list[TopicView]:
        """The active topics a chat follows, in name order."""
        async with self._sessionmaker.begin() as session:
            topics = await ChatRepo(session).subscribed_topics(chat_id)
        return [topic_view(t, subscribed=True) for t in topics]

    async def subscribe(self, chat_id: int, key: str, *, chat_type: str) -> SubscriptionChange:
        """Follow a topic named by slug or name, matched forgivingly.

        Raises:
            TopicNotFoundError: No active topic matches; carries up to three suggestions.
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            topic = await self._find(session, key, active_only=True)
            chats = ChatRepo(session)
            await chats.ensure(chat_id, chat_type, now)
            changed = await chats.subscribe(chat_id, topic.id, now)
            if changed:
                await TotalsRepo(session).add_growth(topic.id, now.date(), joined=1)
            return SubscriptionChange(topic_view(topic, subscribed=True), changed)

    async def unsubscribe(self, chat_id: int, key: str) -> SubscriptionChange:
        """Stop following a topic named by slug or name (archived topics too).

        Raises:
            TopicNotFoundError: No topic matches; carries up to three suggestions.
        """
        async with self._sessionmaker.begin() as session:
            topic = await self._find(session, key, active_only=False)
            changed = await ChatRepo(session).unsubscribe(chat_id, topic.id)
            if changed:
                await self._unsubscribed(session, chat_id, [topic.id])
            return SubscriptionChange(topic_view(topic, subscribed=False), changed)

    async def unsubscribe_all(self, chat_id: int) -> list[TopicView]:
        """Stop following every topic; returns the topics the chat followed."""
        async with self._sessionmaker.begin() as session:
            topics = await ChatRepo(session).subscribed_topics(chat_id, include_archived=True)
            removed = await ChatRepo(session).unsubscribe_all(chat_id)
            if removed:
                await self._unsubscribed(session, chat_id, removed)
            return [topic_view(t) for t in topics]

    async def toggle(self, chat_id: int, topic_id: int, *, chat_type: str) -> SubscriptionChange:
        """Follow the topic if the chat does not, else stop following it.

        Raises:
            TopicNotFoundError: The id names no topic, or an archived one.
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            topic = await TopicRepo(session).get(topic_id)
            if topic is None or topic.archived:
                raise TopicNotFoundError(str(topic_id))
            chats = ChatRepo(session)
            if await chats.unsubscribe(chat_id, topic.id):
                await self._unsubscribed(session, chat_id, [topic.id])
                return SubscriptionChange(topic_view(topic, subscribed=False), True)
            await chats.ensure(chat_id, chat_type, now)
            if await chats.subscribe(chat_id, topic.id, now):
                await TotalsRepo(session).add_growth(topic.id, now.date(), joined=1)
            return SubscriptionChange(topic_view(topic, subscribed=True), True)

    async def unsubscribe_topic(self, chat_id: int, topic_id: int) -> SubscriptionChange:
        """Stop following a topic by id (the button under a post); idempotent.

        Raises:
            TopicNotFoundError: The id names no topic.
        """
        async with self._sessionmaker.begin() as session:
            topic = await TopicRepo(session).get(topic_id)
            if topic is None:
                raise TopicNotFoundError(str(topic_id))
            changed = await ChatRepo(session).unsubscribe(chat_id, topic.id)
            if changed:
                await self._unsubscribed(session, chat_id, [topic.id])
            return SubscriptionChange(topic_view(topic, subscribed=False), changed)

    # -- posts ---------------------------------------------------------------------------------

    async def latest(
        self, *, topic_key: str | None = None, topic_id: int | None = None, page: int = 0
    ) -> LatestPage:
        """A page of the newest posts, five a page, of every topic or of one.

        Args:
            topic_key: A topic's slug or name (from /latest <topic>).
            topic_id: A topic's id (from a ◀ ▶ button); 0 or None means every topic.
            page: The page, from 0.

        Raises:
            TopicNotFoundError: The key or id names no topic.
        """
        page = min(max(page, 0), MAX_PAGE)
        async with self._sessionmaker.begin() as session:
            topic: Topic | None = None
            if topic_key is not None:
                topic = await self._find(session, topic_key, active_only=False)
            elif topic_id:
                topic = await TopicRepo(session).get(topic_id)
                if topic is None:
                    raise TopicNotFoundError(str(topic_id))
            posts = await PostRepo(session).latest(
                topic_id=topic.id if topic else None,
                offset=page * PAGE_SIZE,
                limit=PAGE_SIZE + 1,
            )
            labels = await FeedRepo(session).labels(
                p.feed_id for p in posts if p.feed_id is not None
            )
        shown = posts[:PAGE_SIZE]
        return LatestPage(
            posts=tuple(post_view(p, labels.get(p.feed_id) if p.feed_id else None) for p in shown),
            topic=topic_view(topic) if topic else None,
            page=page,
            has_next=len(posts) > PAGE_SIZE and page < MAX_PAGE,
        )

    # -- helpers -------------------------------------------------------------------------------

    async def _unsubscribed(
        self, session: AsyncSession, chat_id: int, topic_ids: Iterable[int]
    ) -> None:
        """The chat stopped following these topics (in one request): count and credit it.

        Each topic counts one left in its growth; the request as a whole credits one
        unsubscribe to the message the chat was sent last within UNSUBSCRIBE_WINDOW.
        """
        await self._count_left(session, topic_ids)
        now = self._clock.now()
        latest = await DeliveryRepo(session).latest_sent_since(chat_id, now - UNSUBSCRIBE_WINDOW)
        if latest is not None:
            kind, message_id, topic_id = latest
            await TotalsRepo(session).add(kind, message_id, topic_id, unsubscribes=1)

    async def _count_left(self, session: AsyncSession, topic_ids: Iterable[int]) -> None:
        """One left per topic in its growth for this week."""
        today = self._clock.now().date()
        totals = TotalsRepo(session)
        for topic_id in topic_ids:
            await totals.add_growth(topic_id, today, left=1)

    async def _find(self, session: AsyncSession, key: str, *, active_only: bool) -> Topic:
        """The topic a key names, or TopicNotFoundError with suggestions."""
        key = key.strip()
        topics = TopicRepo(session)
        if len(key) > MAX_KEY_CHARS:
            raise TopicNotFoundError(key)
        topic = await topics.by_key(key)
        if topic is not None and not (active_only and topic.archived):
            return topic
        raise TopicNotFoundError(key, suggest_topics(key, await topics.all()))
