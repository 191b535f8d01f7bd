"""Admin use-cases for the catalogue: feeds and topics (from the CLI now, from chat later).

Each public method is one transaction and writes an audit row for every change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Feed
from bot.db.repos import AuditRepo, FeedRepo, ReportRepo, StateRepo, TopicRepo
from bot.domain.clock import Clock
from bot.domain.matching import normalise_key
from bot.domain.types import TopicSpec
from bot.errors import AlreadyExistsError, FeedError, FeedNotFoundError, InvalidInputError
from bot.feeds.fetch import check_url_syntax

TOPICS_SEEDED = "topics_seeded"


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """A feed with its health, for listings."""

    id: int
    url: str
    name: str | None
    title: str | None
    paused: bool
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    next_poll_at: datetime

    @property
    def label(self) -> str:
        """The name to show: the admin's name, else the feed's title, else the URL."""
        return self.name or self.title or self.url


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """A topic with its rule and subscriber counts, for listings."""

    id: int
    slug: str
    name: str
    emoji: str
    description: str
    archived: bool
    rules: int
    subscribers: int


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What a topics import did."""

    created: list[str]
    updated: list[str]


def _feed_info(feed: Feed) -> FeedInfo:
    return FeedInfo(
        id=feed.id,
        url=feed.url,
        name=feed.name,
        title=feed.title,
        paused=feed.paused,
        last_success_at=feed.last_success_at,
        last_error=feed.last_error,
        consecutive_failures=feed.consecutive_failures,
        next_poll_at=feed.next_poll_at,
    )


class CatalogService:
    """Feeds and topics management."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        allow_private_urls: bool = False,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._allow_private = allow_private_urls

    # -- feeds -----------------------------------------------------------------------------

    async def add_feed(
        self, url: str, name: str | None = None, *, actor: str = "cli", actor_id: int | None = None
    ) -> FeedInfo:
        """Add a feed, due for its first poll at once.

        Raises:
            FeedRefusedError: the URL is not an http(s) URL we may fetch.
            AlreadyExistsError: the feed is there already.
        """
        clean = check_url_syntax(url, allow_private=self._allow_private)
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            feeds = FeedRepo(session)
            if await feeds.by_url(clean) is not None:
                raise AlreadyExistsError("feed", clean)
            feed = await feeds.add(clean, (name or "").strip()[:200] or None, now)
            await AuditRepo(session).record(now, actor, "feed.add", clean, actor_id=actor_id)
            return _feed_info(feed)

    async def ensure_feeds(self, urls: Sequence[str]) -> list[FeedInfo]:
        """Add the FEED_URLS that are not there yet; returns the ones added."""
        added = []
        for url in urls:
            try:
                added.append(await self.add_feed(url, actor="FEED_URLS"))
            except AlreadyExistsError:
                continue
        return added

    async def list_feeds(self) -> list[FeedInfo]:
        """Every feed with its health."""
        async with self._sessionmaker() as session:
            return [_feed_info(f) for f in await FeedRepo(session).all()]

    async def find_feed(self, key: str) -> FeedInfo:
        """A feed by id or URL.

        Raises:
            FeedNotFoundError: none matches.
        """
        async with self._sessionmaker() as session:
            return _feed_info(await self._find(FeedRepo(session), key))

    async def remove_feed(
        self, key: str, *, actor: str = "cli", actor_id: int | None = None
    ) -> FeedInfo:
        """Remove a feed by id or URL; its posts stay.

        Raises:
            FeedNotFoundError: none matches.
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            feeds = FeedRepo(session)
            feed = await self._find(feeds, key)
            info = _feed_info(feed)
            await feeds.delete(feed)
            await AuditRepo(session).record(now, actor, "feed.remove", feed.url, actor_id=actor_id)
            return info

    @staticmethod
    async def _find(feeds: FeedRepo, key: str) -> Feed:
        key = key.strip()
        feed = None
        if key.isdigit():
            feed = await feeds.get(int(key))
        if feed is None and key:
            feed = await feeds.by_url(key)
            if feed is None:
                try:
                    feed = await feeds.by_url(check_url_syntax(key))
                except FeedError:
                    feed = None
        if feed is None:
            raise FeedNotFoundError(key)
        return feed

    # -- topics ----------------------------------------------------------------------------

    async def list_topics(self, *, include_archived: bool = True) -> list[TopicInfo]:
        """Topics with their rule and subscriber counts."""
        async with self._sessionmaker() as session:
            topic_repo = TopicRepo(session)
            topics = await topic_repo.all(include_archived=include_archived)
            rule_counts = await topic_repo.rule_counts()
            sub_counts = await ReportRepo(session).subscriber_counts()
            return [
                TopicInfo(
                    id=t.id,
                    slug=t.slug,
                    name=t.name,
                    emoji=t.emoji,
                    description=t.description,
                    archived=t.archived,
                    rules=rule_counts.get(t.id, 0),
                    subscribers=sub_counts.get(t.id, 0),
                )
                for t in topics
            ]

    async def import_topics(
        self, specs: Sequence[TopicSpec], *, actor: str = "cli", actor_id: int | None = None
    ) -> ImportResult:
        """Create or update topics by slug; an updated topic's rules are replaced.

        Raises:
            InvalidInputError: a topic's name is taken by another topic.
        """
        now = self._clock.now()
        created: list[str] = []
        updated: list[str] = []
        async with self._sessionmaker.begin() as session:
            topics = TopicRepo(session)
            for spec in specs:
                topic = await topics.by_slug(spec.slug)
                clash = await topics.by_key(spec.name)
                if clash is not None and (topic is None or clash.id != topic.id):
                    raise InvalidInputError(
                        f"topic {spec.slug!r}: the name {spec.name!r} is used by {clash.slug!r}"
                    )
                if topic is None:
                    await topics.add(spec, now)
                    created.append(spec.slug)
                else:
                    topic.name = spec.name
                    topic.name_key = normalise_key(spec.name)
                    topic.description = spec.description
                    topic.emoji = spec.emoji
                    await topics.replace_rules(topic.id, spec)
                    updated.append(spec.slug)
            await AuditRepo(session).record(
                now,
                actor,
                "topics.import",
                ", ".join(created + updated),
                actor_id=actor_id,
                detail={"created": created, "updated": updated},
            )
            await StateRepo(session).set(TOPICS_SEEDED, now.isoformat())
        return ImportResult(created=created, updated=updated)

    async def seed_topics_once(self, specs: Sequence[TopicSpec]) -> ImportResult | None:
        """Load the topics file on first start only (never again once loaded or edited)."""
        async with self._sessionmaker() as session:
            if await StateRepo(session).get(TOPICS_SEEDED) is not None:
                return None
            if await TopicRepo(session).count() > 0:
                return None
        return await self.import_topics(specs, actor="TOPICS_FILE")

    # -- feeds, from chat (bot.services.admin) -----------------------------------------------

    async def set_feed_paused(
        self, key: str, paused: bool, *, actor: str = "cli", actor_id: int | None = None
    ) -> tuple[FeedInfo, bool]:
        """Pause or resume a feed by id or URL; a resumed feed is polled at once.

        Returns:
            The feed as it is now, and False when it was in that state already.

        Raises:
            FeedNotFoundError: none matches.
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            feed = await self._find(FeedRepo(session), key)
            changed = feed.paused != paused
            if changed:
                feed.paused = paused
                if not paused:
                    feed.next_poll_at = now
                action = "feed.pause" if paused else "feed.resume"
                await AuditRepo(session).record(now, actor, action, feed.url, actor_id=actor_id)
            return _feed_info(feed), changed
