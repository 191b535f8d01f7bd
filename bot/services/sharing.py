"""Sharing and finding: /search, inline mode, and referral credit for shared links.

Owns the installation's referral key (generated once, kept in `bot_state`), the referral code
of each post and broadcast (`bot.domain.referral`), the search behind /search and inline
queries (`PostRepo.search`), what an inline query offers, and the aggregate counters a share
or a shared link adds to (`TotalsRepo`: shares, joins). One transaction per public method.
Stores nothing per chat about sharing: a share or a join is one more in a message's counter.
Must not: receive or return Telegram objects, or render messages.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Broadcast, Post, Topic
from bot.db.repos import (
    BroadcastRepo,
    ChatRepo,
    FeedRepo,
    PostRepo,
    StateRepo,
    TopicRepo,
    TotalsRepo,
)
from bot.domain.clock import Clock
from bot.domain.referral import (
    BROADCAST,
    CODE_PATTERN,
    POST,
    Referral,
    make_code,
    read_code,
)
from bot.domain.search import query_terms
from bot.domain.views import PAGE_SIZE, PostView, TopicView
from bot.services.subscriptions import MAX_PAGE, SubscriptionChange, SubscriptionService
from bot.services.views import post_view, topic_view

REFERRAL_KEY = "referral_key"
# Results per answer to an inline query (Telegram allows 50), and the pages offered.
INLINE_PAGE_SIZE = 20
INLINE_MAX_PAGE = 9
_RESULT_ID = re.compile(r"([pb][0-9a-z]{1,11}_[a-z2-7]{6}):([0-9]{1,18})")


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of /search: `terms` are the folded words searched for, space-separated."""

    posts: tuple[PostView, ...]
    terms: str
    page: int
    has_next: bool


@dataclass(frozen=True, slots=True)
class SharedMessage:
    """A post or broadcast offered in inline mode, with the topic its Follow button offers.

    Exactly one of `post` and `broadcast_html` is set. `code` is the referral code for the
    deep link (None: no credit possible); `result_id` names the result in chosen-result
    updates.
    """

    result_id: str
    code: str | None
    topic: TopicView | None
    post: PostView | None = None
    broadcast_html: str | None = None
    action_url: str | None = None


@dataclass(frozen=True, slots=True)
class InlineAnswer:
    """What an inline query gets: the results and the offset of the next page ("" = none)."""

    results: tuple[SharedMessage, ...]
    next_offset: str


@dataclass(frozen=True, slots=True)
class JoinResult:
    """A /start through a shared link: the subscription, and whether a join was credited."""

    change: SubscriptionChange
    credited: bool


class SharingService:
    """Search, inline results, share and join counters."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        subscriptions: SubscriptionService,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._subscriptions = subscriptions
        self._key: bytes | None = None

    # -- the referral key and codes ------------------------------------------------------------

    async def load_key(self) -> bytes:
        """The referral key: read from `bot_state`, or generated and stored the first time."""
        if self._key is not None:
            return self._key
        async with self._sessionmaker.begin() as session:
            stored = await StateRepo(session).get(REFERRAL_KEY)
        if stored is None:
            try:
                async with self._sessionmaker.begin() as session:
                    await StateRepo(session).set(REFERRAL_KEY, secrets.token_hex(32))
            except IntegrityError:  # another instance stored one first: use theirs
                pass
            async with self._sessionmaker.begin() as session:
                stored = await StateRepo(session).get(REFERRAL_KEY)
        if stored is None:  # pragma: no cover - just stored
            raise RuntimeError("the referral key could not be stored")
        self._key = bytes.fromhex(stored)
        return self._key

    def code(self, kind: str, message_id: int) -> str | None:
        """The referral code of a post or broadcast (None before `load_key`, or too large)."""
        return None if self._key is None else make_code(self._key, kind, message_id)

    def share_query(self, kind: str, message_id: int, topic: TopicView | None) -> str | None:
        """The inline query a Share button puts in the chosen chat: code, then topic slug.

        The inline handler answers it with exactly that message (`inline`).
        """
        code = self.code(kind, message_id)
        if code is None:
            return None
        return f"{code} {topic.slug}" if topic is not None else code

    # -- search -------------------------------------------------------------------------------

    async def search(self, query: str, page: int = 0) -> SearchPage | None:
        """A page of the posts matching every word of `query`, newest first, five a page.

        Returns:
            None when the query is empty or too long (the handler shows the usage).
        """
        terms = query_terms(query)
        if terms is None:
            return None
        page = min(max(page, 0), MAX_PAGE)
        async with self._sessionmaker.begin() as session:
            posts = await PostRepo(session).search(
                terms, offset=page * PAGE_SIZE, limit=PAGE_SIZE + 1
            )
            views = await self._post_views(session, posts[:PAGE_SIZE])
        return SearchPage(
            posts=tuple(views),
            terms=" ".join(terms),
            page=page,
            has_next=len(posts) > PAGE_SIZE and page < MAX_PAGE,
        )

    # -- inline mode --------------------------------------------------------------------------

    async def inline(self, query: str, offset: str = "") -> InlineAnswer:
        """What `@bot <query>` offers.

        A Share button's query (`<code> [<topic slug>]`) gives exactly that post or broadcast
        (nothing if the code is forged); words give the matching posts, newest first; an empty
        query the latest posts. Pages of INLINE_PAGE_SIZE, the offset is the page number.
        """
        key = await self.load_key()
        words = query.split()
        if words and CODE_PATTERN.fullmatch(words[0].lower()):
            referral = read_code(key, words[0])
            slug = words[1].lower() if len(words) > 1 else None
            if referral is None or offset:
                return InlineAnswer((), "")
            found = await self._shared_message(referral, slug)
            return InlineAnswer((found,) if found is not None else (), "")
        page = int(offset) if offset.isdigit() and len(offset) <= 2 else 0
        if page > INLINE_MAX_PAGE:
            return InlineAnswer((), "")
        terms = query_terms(query) if query.strip() else ()
        if terms is None:
            return InlineAnswer((), "")
        async with self._sessionmaker.begin() as session:
            posts_repo = PostRepo(session)
            window = {"offset": page * INLINE_PAGE_SIZE, "limit": INLINE_PAGE_SIZE + 1}
            if terms:
                posts = await posts_repo.search(terms, **window)
            else:
                posts = await posts_repo.latest(**window)
            shown = posts[:INLINE_PAGE_SIZE]
            views = await self._post_views(session, shown)
            topics = await self._post_topics(session, [p.id for p in shown])
        results = tuple(
            # A post that matched no topic (or only archived ones) is shared without Follow.
            self._post_result(view, next(iter(topics.get(view.id, [])), None), key)
            for view in views
        )
        more = len(posts) > INLINE_PAGE_SIZE and page < INLINE_MAX_PAGE
        return InlineAnswer(results, str(page + 1) if more else "")

    async def record_share(self, result_id: str) -> bool:
        """Count one share of the message an inline result named (a chosen-result update).

        Returns:
            False (and nothing counted) when the result id is not one of ours.
        """
        match = _RESULT_ID.fullmatch(result_id)
        key = await self.load_key()
        referral = read_code(key, match.group(1)) if match else None
        if match is None or referral is None:
            return False
        async with self._sessionmaker.begin() as session:
            topic = await TopicRepo(session).get(int(match.group(2))) if match.group(2) else None
            await TotalsRepo(session).add(
                referral.kind, referral.message_id, topic.id if topic else None, shares=1
            )
        return True

    # -- shared links -------------------------------------------------------------------------

    async def join(self, chat_id: int, chat_type: str, key: str, code: str) -> JoinResult:
        """/start sub-<slug>-<code>: subscribe as `sub-<slug>` does, and maybe credit a join.

        The message of the code gets one join if this is the chat's first contact and the
        code is genuine.

        Raises:
            TopicNotFoundError: No active topic matches `key`.
        """
        referral = read_code(await self.load_key(), code)
        async with self._sessionmaker.begin() as session:
            known = await ChatRepo(session).get(chat_id) is not None
        change = await self._subscriptions.subscribe(chat_id, key, chat_type=chat_type)
        credit = not known and referral is not None
        if credit and referral is not None:
            async with self._sessionmaker.begin() as session:
                await TotalsRepo(session).add(
                    referral.kind, referral.message_id, change.topic.id, joins=1
                )
        return JoinResult(change, credit)

    # -- helpers ------------------------------------------------------------------------------

    async def _post_views(self, session: AsyncSession, posts: Sequence[Post]) -> list[PostView]:
        labels = await FeedRepo(session).labels(p.feed_id for p in posts if p.feed_id is not None)
        return [post_view(p, labels.get(p.feed_id) if p.feed_id else None) for p in posts]

    async def _post_topics(
        self, session: AsyncSession, post_ids: list[int]
    ) -> dict[int, list[TopicView]]:
        """Each post's active topics in name order."""
        by_post = await PostRepo(session).topics_of(post_ids)
        active = {t.id: t for t in await TopicRepo(session).all()}
        return {
            post_id: sorted(
                (topic_view(active[t]) for t in topic_ids if t in active),
                key=lambda view: view.name.casefold(),
            )
            for post_id, topic_ids in by_post.items()
        }

    def _post_result(self, post: PostView, topic: TopicView | None, key: bytes) -> SharedMessage:
        code = make_code(key, POST, post.id)
        return SharedMessage(
            result_id=f"{code or f'x{post.id}'}:{topic.id if topic else 0}",
            code=code,
            topic=topic,
            post=post,
        )

    async def _shared_message(self, referral: Referral, slug: str | None) -> SharedMessage | None:
        """The one post or broadcast a Share button's query names, with its Follow topic."""
        key = await self.load_key()
        async with self._sessionmaker.begin() as session:
            if referral.kind == POST:
                post = await PostRepo(session).get(referral.message_id)
                if post is None:
                    return None
                (view,) = await self._post_views(session, [post])
                topics = (await self._post_topics(session, [post.id]))[post.id]
                return self._post_result(view, _pick(topics, slug), key)
            broadcast = await BroadcastRepo(session).get(referral.message_id)
            if broadcast is None or broadcast.kind != BROADCAST:
                return None
            topics = await self._broadcast_topics(session, broadcast)
        topic = _pick(topics, slug)
        code = make_code(key, BROADCAST, broadcast.id)
        return SharedMessage(
            result_id=f"{code}:{topic.id if topic else 0}",
            code=code,
            topic=topic,
            broadcast_html=broadcast.text_html,
            action_url=broadcast.action_url,
        )

    @staticmethod
    async def _broadcast_topics(session: AsyncSession, broadcast: Broadcast) -> list[TopicView]:
        """A broadcast's active topics in name order (none for a broadcast to everyone)."""
        wanted = set(broadcast.topic_ids or [])
        topics: Sequence[Topic] = await TopicRepo(session).all()
        return [topic_view(t) for t in topics if t.id in wanted]


def _pick(topics: list[TopicView], slug: str | None) -> TopicView | None:
    """The topic named by `slug` if it is one of `topics`, else the first, else None."""
    for topic in topics:
        if topic.slug == slug:
            return topic
    return topics[0] if topics else None
