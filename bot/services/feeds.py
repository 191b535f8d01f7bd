"""Feed use-cases: one implementation for chat and the command line.

Add (checked or not), FEED_URLS at start, list, find, pause and resume, remove, the polling
interval, OPML import and export, and the 24-hour feed-health report.

Owns one transaction per public method and an audit row for every change. A checked add
fetches and parses the feed once through `IngestService.check_feed` before storing it; the
health report's recipients come from `RoleService`. Returns plain values for `bot.render`
and the command line to show.
Must not: receive or return Telegram objects, import `telegram.ext` or handlers, or send
messages itself (the feed-health job sends what it gets back).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Feed
from bot.db.repos import AuditRepo, FeedRepo
from bot.domain.clock import Clock
from bot.domain.languages import LANGUAGES, parse_feed_language
from bot.domain.schedule import feed_interval_seconds, parse_interval
from bot.domain.types import CLI_ACTOR, Actor
from bot.domain.views import (
    FeedHealthView,
    FeedImportView,
    ImportRefusal,
    RefusedFeed,
)
from bot.errors import (
    AlreadyExistsError,
    FeedError,
    FeedNotFoundError,
    FeedParseError,
    FeedRefusedError,
    InvalidInputError,
)
from bot.feeds.fetch import check_url_syntax
from bot.feeds.opml import MAX_OPML_BYTES, TOO_LARGE, OpmlFeed, parse_opml, write_opml
from bot.services.ingest import IngestService
from bot.services.roles import RoleService

FAILING_REPORT_AFTER = timedelta(hours=24)
# FEED_URLS, the feeds the configuration asks for at start.
FEED_URLS_ACTOR = Actor(None, "FEED_URLS")
# The longest feed id or URL looked up; longer input cannot match and is cut.
KEY_MAX = 2048
# How many feeds of an OPML file are checked at once.
IMPORT_CONCURRENCY = 8
OPML_TITLE = "Campaign Action Bot feeds"


@dataclass(frozen=True, slots=True)
class FeedAdded:
    """A feed that was checked and added."""

    feed: FeedHealthView
    title: str | None
    entries: int


@dataclass(frozen=True, slots=True)
class FeedAlert:
    """A feed to tell the admins about (failing for a day, or working again)."""

    id: int
    url: str
    label: str
    last_error: str | None
    failing_since: datetime | None


@dataclass(frozen=True, slots=True)
class HealthReport:
    """What the feed-health job should tell the admins, and whom."""

    failing: tuple[FeedAlert, ...]
    recovered: tuple[FeedAlert, ...]
    recipients: tuple[int, ...]


def _label(feed: Feed) -> str:
    """The name to show: the admin's name, else the feed's title, else the URL."""
    return feed.name or feed.title or feed.url


def _feed_view(feed: Feed, default_interval: float = 0) -> FeedHealthView:
    effective = feed_interval_seconds(
        default_interval,
        admin_seconds=feed.interval_seconds,
        ask_seconds=feed.min_interval_seconds,
    )
    return FeedHealthView(
        id=feed.id,
        url=feed.url,
        label=_label(feed),
        paused=feed.paused,
        last_success_at=feed.last_success_at,
        last_error=feed.last_error,
        consecutive_failures=feed.consecutive_failures,
        next_poll_at=feed.next_poll_at,
        language=feed.language,
        language_fixed=feed.language_fixed,
        interval_seconds=feed.interval_seconds,
        min_interval_seconds=feed.min_interval_seconds,
        effective_interval_seconds=round(effective),
    )


def _alert(feed: Feed) -> FeedAlert:
    return FeedAlert(
        id=feed.id,
        url=feed.url,
        label=_label(feed),
        last_error=feed.last_error,
        failing_since=feed.failing_since,
    )


class FeedService:
    """The feed use-cases; see the module docstring."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        ingest: IngestService,
        roles: RoleService,
        allow_private_urls: bool = False,
        poll_interval_seconds: float = 300,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._ingest = ingest
        self._roles = roles
        self._allow_private = allow_private_urls
        self._interval = poll_interval_seconds

    def _view(self, feed: Feed) -> FeedHealthView:
        return _feed_view(feed, self._interval)

    async def add_feed(
        self, url: str, name: str | None = None, *, actor: Actor = CLI_ACTOR
    ) -> FeedHealthView:
        """Add a feed, due for its first poll at once (the URL is checked, not fetched).

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
            await AuditRepo(session).record(
                now, actor.name, "feed.add", clean, actor_id=actor.user_id
            )
            return self._view(feed)

    async def add_checked_feed(
        self, url: str, name: str | None = None, *, actor: Actor
    ) -> FeedAdded:
        """Fetch and parse a feed once; if it reads, add it (polled at once).

        Raises:
            AlreadyExistsError: the feed is there already.
            FeedError: the feed cannot be fetched or parsed (the message says why).
        """
        try:
            existing = await self.find_feed(url)
        except FeedNotFoundError:
            existing = None
        if existing is not None:
            raise AlreadyExistsError("feed", existing.url)
        check = await self._ingest.check_feed(url)
        feed = await self.add_feed(check.url, name, actor=actor)
        return FeedAdded(feed, check.feed.title, len(check.feed.entries))

    async def ensure_feeds(self, urls: Sequence[str]) -> list[FeedHealthView]:
        """Add the FEED_URLS that are not there yet; returns the ones added."""
        added = []
        for url in urls:
            try:
                added.append(await self.add_feed(url, actor=FEED_URLS_ACTOR))
            except AlreadyExistsError:
                continue
            except IntegrityError:  # another instance starting at once added it first
                continue
        return added

    async def list_feeds(self) -> list[FeedHealthView]:
        """Every feed with its health."""
        async with self._sessionmaker() as session:
            return [self._view(f) for f in await FeedRepo(session).all()]

    async def find_feed(self, key: str) -> FeedHealthView:
        """A feed by id or URL.

        Raises:
            FeedNotFoundError: none matches.
        """
        async with self._sessionmaker() as session:
            return self._view(await self._find(FeedRepo(session), key))

    async def set_feed_paused(
        self, key: str, paused: bool, *, actor: Actor = CLI_ACTOR
    ) -> tuple[FeedHealthView, bool]:
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
                await AuditRepo(session).record(
                    now, actor.name, action, feed.url, actor_id=actor.user_id
                )
            return self._view(feed), changed

    async def set_feed_language(
        self, key: str, value: str, *, actor: Actor = CLI_ACTOR
    ) -> tuple[FeedHealthView, bool]:
        """Fix a feed's language ("en", "fr", "other"), or "auto": read from the feed again.

        The language decides which chats get the feed's posts first and how its posts pair
        with their twins (bot.domain.languages); it applies to posts first seen from now on.
        With "auto" the next poll reads the feed's own <language>.

        Returns:
            The feed as it is now, and False when nothing changed.

        Raises:
            FeedNotFoundError: none matches.
            InvalidInputError: the value is not en, fr, other or auto.
        """
        try:
            language = parse_feed_language(value)
        except ValueError:
            raise InvalidInputError("the language must be en, fr, other or auto") from None
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            feed = await self._find(FeedRepo(session), key)
            fixed = language is not None
            changed = feed.language_fixed != fixed or (fixed and feed.language != language)
            if changed:
                feed.language_fixed = fixed
                if fixed:
                    feed.language = language
                await AuditRepo(session).record(
                    now,
                    actor.name,
                    "feed.language",
                    feed.url,
                    actor_id=actor.user_id,
                    detail={"language": language or "auto"},
                )
            return self._view(feed), changed

    async def set_feed_interval(
        self, key: str, value: str, *, actor: Actor = CLI_ACTOR
    ) -> tuple[FeedHealthView, bool]:
        """Set a feed's polling interval ("15m", "2h", "1d"), or "auto": clear the override.

        A shorter interval applies at once: a feed due later than now + interval is moved up.

        Returns:
            The feed as it is now, and False when nothing changed.

        Raises:
            FeedNotFoundError: none matches.
            InvalidInputError: not 1 minute to 7 days in m/h/d, nor auto.
        """
        seconds = parse_interval(value)
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            feed = await self._find(FeedRepo(session), key)
            changed = feed.interval_seconds != seconds
            if changed:
                feed.interval_seconds = seconds
                interval = feed_interval_seconds(
                    self._interval, admin_seconds=seconds, ask_seconds=feed.min_interval_seconds
                )
                soonest = now + timedelta(seconds=interval)
                if feed.next_poll_at is None or feed.next_poll_at > soonest:
                    feed.next_poll_at = soonest
                await AuditRepo(session).record(
                    now,
                    actor.name,
                    "feed.interval",
                    feed.url,
                    actor_id=actor.user_id,
                    detail={"interval_seconds": seconds},
                )
            return self._view(feed), changed

    @staticmethod
    def check_import_size(size: int) -> None:
        """Refuse a file too large to import before anyone downloads it.

        Raises:
            InvalidInputError: over `MAX_OPML_BYTES`.
        """
        if size > MAX_OPML_BYTES:
            raise InvalidInputError.worded(TOO_LARGE, limit=MAX_OPML_BYTES // (1024 * 1024))

    async def import_opml(self, content: bytes, *, actor: Actor = CLI_ACTOR) -> FeedImportView:
        """Add every feed an OPML file lists, each checked like /addfeed.

        The file is parsed whole first: a broken file raises and adds nothing. Then the feeds
        are checked `IMPORT_CONCURRENCY` at a time; each one is added, found present, or
        refused with its reason. One feed's failure never stops the others.

        Raises:
            InvalidInputError: the file is not a usable OPML file (`bot.feeds.opml`).
        """
        feeds = await asyncio.to_thread(parse_opml, content)
        semaphore = asyncio.Semaphore(IMPORT_CONCURRENCY)
        added: list[FeedHealthView] = []
        present: list[str] = []
        refused: list[RefusedFeed] = []

        async def one(item: OpmlFeed) -> None:
            async with semaphore:
                outcome = await self._import_one(item, actor)
            if isinstance(outcome, FeedHealthView):
                added.append(outcome)
            elif isinstance(outcome, RefusedFeed):
                refused.append(outcome)
            else:
                present.append(outcome)

        async with asyncio.TaskGroup() as group:
            for item in feeds:
                group.create_task(one(item))
        order = {item.url: index for index, item in enumerate(feeds)}
        return FeedImportView(
            added=tuple(sorted(added, key=lambda f: f.id)),
            present=tuple(sorted(present, key=lambda u: order.get(u, len(order)))),
            refused=tuple(sorted(refused, key=lambda r: order.get(r.url, len(order)))),
        )

    async def _import_one(
        self, item: OpmlFeed, actor: Actor
    ) -> FeedHealthView | RefusedFeed | str:
        """Add one feed of a file: its view, its refusal, or its URL when it is there already."""
        try:
            check_url_syntax(item.url, allow_private=True)
        except FeedRefusedError as error:
            return RefusedFeed(item.url, ImportRefusal.BAD_URL, error.message)
        try:
            return (await self.add_checked_feed(item.url, item.title, actor=actor)).feed
        except (AlreadyExistsError, IntegrityError):  # IntegrityError: two lines, one feed
            return item.url
        except FeedRefusedError as error:
            return RefusedFeed(item.url, ImportRefusal.PRIVATE, error.message)
        except FeedParseError as error:
            return RefusedFeed(item.url, ImportRefusal.NOT_A_FEED, error.message)
        except FeedError as error:
            return RefusedFeed(item.url, ImportRefusal.UNREACHABLE, error.message)

    async def export_opml(self) -> bytes:
        """Every feed as an OPML 2.0 document (name, URL, site URL, language when known)."""
        async with self._sessionmaker() as session:
            feeds = [
                OpmlFeed(
                    url=f.url,
                    title=f.name or f.title,
                    site_url=f.site_url,
                    language=f.language if f.language in LANGUAGES else None,
                )
                for f in await FeedRepo(session).all()
            ]
        return write_opml(feeds, title=OPML_TITLE, created=self._clock.now())

    async def remove_feed(self, key: str, *, actor: Actor = CLI_ACTOR) -> FeedHealthView:
        """Remove a feed by id or URL; its posts stay.

        Raises:
            FeedNotFoundError: none matches.
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            feeds = FeedRepo(session)
            feed = await self._find(feeds, key)
            info = self._view(feed)
            await feeds.delete(feed)
            await AuditRepo(session).record(
                now, actor.name, "feed.remove", feed.url, actor_id=actor.user_id
            )
            return info

    async def feed_health_report(self) -> HealthReport:
        """Feeds failing for 24 hours not yet reported, and reported feeds working again.

        Each feed is returned once per episode: taking it marks it (failure_reported), and a
        recovery clears the mark, so the caller sends what it gets and nothing twice.
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            repo = FeedRepo(session)
            failing = await repo.take_failing_to_report(now - FAILING_REPORT_AFTER)
            recovered = await repo.take_recovered_to_report()
            report_failing = tuple(_alert(f) for f in failing)
            report_recovered = tuple(_alert(f) for f in recovered)
        recipients: tuple[int, ...] = ()
        if report_failing or report_recovered:
            recipients = await self._roles.admin_recipients()
        return HealthReport(report_failing, report_recovered, recipients)

    @staticmethod
    async def _find(feeds: FeedRepo, key: str) -> Feed:
        key = key[:KEY_MAX].strip()
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
