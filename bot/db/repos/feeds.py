"""FeedRepo: feeds, their polling state and their health reports."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Feed
from bot.db.repos._sql import _chunks


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

    async def get_many(self, feed_ids: Sequence[int]) -> dict[int, Feed]:
        """Feeds by id, in one query per 500 ids (missing ids are left out)."""
        found: dict[int, Feed] = {}
        for chunk in _chunks(list(feed_ids), 500):
            result = await self.session.execute(select(Feed).where(Feed.id.in_(chunk)))
            found.update((feed.id, feed) for feed in result.scalars())
        return found

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

    async def languages(self) -> set[str]:
        """The languages of the feeds being polled (paused feeds and unknown ones left out)."""
        result = await self.session.execute(
            select(Feed.language)
            .where(Feed.paused.is_(False), Feed.language.is_not(None))
            .distinct()
        )
        return {lang for lang in result.scalars() if lang}

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
