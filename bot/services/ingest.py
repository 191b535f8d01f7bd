"""Polling use-case: fetch due feeds, parse, store new posts, match topics, queue deliveries.

This module only sequences the steps; the decisions live in pure code
(`bot.feeds.parse`, `bot.domain.matching`, `bot.domain.schedule`). Each feed is handled in
its own transaction, so one slow or broken feed never holds back the others; fetching and
parsing happen outside any transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Feed
from bot.db.repos import DeliveryRepo, FeedRepo, PostRepo, TopicRepo
from bot.domain.clock import Clock
from bot.domain.ingest_policy import plan_storage, unique_entries, url_hash
from bot.domain.languages import (
    LANGUAGES,
    MAIN_LANGUAGE,
    TwinCandidate,
    fan_out_plan,
    feed_language,
    pick_twin,
)
from bot.domain.matching import TopicMatcher
from bot.domain.pace import bypasses_pace
from bot.domain.priority import DeliveryPriority, post_priority
from bot.domain.schedule import MAX_FEED_ASK_SECONDS, feed_interval_seconds, next_poll_at
from bot.domain.types import ParsedEntry, ParsedFeed, PollOutcome, PollStatus, PollSummary
from bot.errors import FeedError, FeedFetchError, FeedParseError
from bot.feeds.fetch import Fetcher, ImageGuard, NotModified, Retrieved
from bot.feeds.parse import parse_feed

log = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 500
DUE_PAGE = 1000  # due feeds read from the database at a time (a cycle takes every page)
DEFAULT_TWIN_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class FeedCheck:
    """What `check_feed` found: the resolved URL, the parsed feed and each entry's topics."""

    url: str
    feed: ParsedFeed
    topics: list[list[str]]  # topic slugs per entry, in entry order
    # Per entry: topic slug -> the rules that fired ("country:Sudan", "keyword:torture").
    reasons: list[dict[str, list[str]]] = field(default_factory=list)


@dataclass(slots=True)
class _TwinContext:
    """The twin rule's facts for one feed's poll: its language, held languages, candidates."""

    language: str
    held: frozenset[str]
    candidates: dict[int, TwinCandidate]

    def take(self, topic_ids: list[int], published: datetime | None) -> int | None:
        """This post's twin among the candidates (`pick_twin`), used up; None if none."""
        twin = pick_twin(topic_ids, published, self.candidates)
        if twin is not None:
            del self.candidates[twin]
        return twin


class IngestService:
    """Poll feeds and turn their new entries into posts and pending deliveries."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        fetcher: Fetcher,
        clock: Clock,
        *,
        interval_seconds: float,
        concurrency: int = 16,
        rng: Callable[[], float] = random.random,
        on_new_deliveries: Callable[[], None] | None = None,
        on_poll_outcome: Callable[[PollOutcome], None] | None = None,
        retention_days: int | None = None,
        twin_window: timedelta = DEFAULT_TWIN_WINDOW,
        default_language: str = MAIN_LANGUAGE,
        images: ImageGuard | None = None,
        serialise_writes: bool | None = None,
        due_page: int = DUE_PAGE,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._fetcher = fetcher
        self._clock = clock
        self._interval = interval_seconds
        self._concurrency = concurrency
        self._due_page = due_page
        self._rng = rng
        self._on_new_deliveries = on_new_deliveries  # wakes the delivery engine
        self._on_poll_outcome = on_poll_outcome  # metrics hook
        # Posts first seen longer ago than this keep their title and link only (retention):
        # a feed still listing them does not bring their text back.
        self._retention = timedelta(days=retention_days) if retention_days else None
        # Twin posts (bot.domain.languages): how long a post waits for its other version.
        self._twin_window = twin_window
        # What a chat with no language stored reads (DEFAULT_LANGUAGE), for the twin rule.
        self._default_language = default_language
        self.last_cycle_at: float | None = None  # time.monotonic() of the last finished cycle
        # Which entries' image URLs may be kept (sent to Telegram as photos). Without one,
        # only the checks that need no look-up (http(s), no literal private address).
        self._images = images or ImageGuard(allow_private=True)
        # SQLite has one writer: feeds' write transactions take turns here, woken at once,
        # instead of sleeping in SQLite's busy handler (a convoy: 1.7 s per store under load,
        # and "database is locked" after the 30 s busy timeout). None: on SQLite only.
        if serialise_writes is None:
            bind = sessionmaker.kw.get("bind")
            serialise_writes = bind is not None and bind.dialect.name == "sqlite"
        self._write_lock = asyncio.Lock() if serialise_writes else None

    async def poll_due(self) -> PollSummary:
        """Poll every feed due now, concurrently (bounded); never raises for a feed.

        Every feed due when the call starts is polled in this one call, read from the database
        a page at a time (`DUE_PAGE` feeds), so a cycle of 10,000 feeds is not spread over ten
        poll ticks. A feed polled here is due again only later (its next poll time moves on,
        a failure's too), so the pages end; one that stays due (its failure could not be
        recorded) is not polled twice in a call.
        """
        now = self._clock.now()
        summary = PollSummary()
        polled: set[int] = set()
        matcher: TopicMatcher | None = None
        semaphore = asyncio.Semaphore(self._concurrency)
        while True:
            async with self._sessionmaker() as session:
                due = await FeedRepo(session).due(now, limit=self._due_page)
                feeds = [(f.id, f.url, f.etag, f.last_modified) for f in due if f.id not in polled]
            if not feeds:
                break
            if matcher is None:
                matcher, _ = await self._matcher()
            polled.update(feed[0] for feed in feeds)
            await self._poll_page(feeds, matcher, semaphore, summary)
            if len(due) < self._due_page:
                break
        self.last_cycle_at = time.monotonic()
        return summary

    async def _poll_page(
        self,
        feeds: list[tuple[int, str, str | None, str | None]],
        matcher: TopicMatcher,
        semaphore: asyncio.Semaphore,
        summary: PollSummary,
    ) -> None:
        """Poll one page of due feeds; their 304s are recorded together at the end."""
        unchanged: list[_Unchanged] = []

        async def one(feed_id: int, url: str, etag: str | None, modified: str | None) -> None:
            async with semaphore:
                outcome = await self._poll_one(feed_id, url, etag, modified, matcher, unchanged)
            summary.outcomes.append(outcome)
            if self._on_poll_outcome is not None:
                self._on_poll_outcome(outcome)

        async with asyncio.TaskGroup() as group:
            for feed in feeds:
                group.create_task(one(*feed))
        await self._record_not_modified_many(unchanged)

    async def poll_feed(self, feed_id: int, *, conditional: bool = True) -> PollOutcome:
        """Poll one feed now, due or not."""
        async with self._sessionmaker() as session:
            feed = await FeedRepo(session).get(feed_id)
            if feed is None:
                raise FeedError(str(feed_id), "no such feed")
            args = (
                feed.id,
                feed.url,
                feed.etag if conditional else None,
                feed.last_modified if conditional else None,
            )
        matcher, _ = await self._matcher()
        return await self._poll_one(*args, matcher)

    async def check_feed(self, url: str) -> FeedCheck:
        """Fetch and parse a URL once and say which topics each entry would match; writes nothing.

        Raises:
            FeedError: the feed could not be fetched or parsed.
        """
        retrieved = await self._fetch_fresh(url)
        parsed, final_url = await self._parse_or_discover(retrieved)
        matcher, slugs = await self._matcher()
        topics = [
            sorted(slugs[t] for t in ids if t in slugs)
            for ids in matcher.match_many(parsed.entries)
        ]
        reasons = [
            {slugs[t]: fired for t, fired in matcher.explain(entry).items() if t in slugs}
            for entry in parsed.entries
        ]
        return FeedCheck(url=final_url, feed=parsed, topics=topics, reasons=reasons)

    # -- internals ---------------------------------------------------------------------------

    def _writing(self) -> contextlib.AbstractAsyncContextManager[object]:
        """Hold around a write transaction: the in-process write lock on SQLite, else nothing."""
        return self._write_lock if self._write_lock is not None else contextlib.nullcontext()

    async def _matcher(self) -> tuple[TopicMatcher, dict[int, str]]:
        """The matcher over the current rules (rule changes apply from the next poll on)."""
        async with self._sessionmaker() as session:
            rules = await TopicRepo(session).matching_rules()
        return TopicMatcher(rules), {r.topic_id: r.slug for r in rules}

    async def _fetch_fresh(self, url: str) -> Retrieved:
        """Fetch without validators (so never NotModified)."""
        retrieved = await self._fetcher.fetch(url)
        if isinstance(retrieved, NotModified):  # pragma: no cover - a server ignoring HTTP
            raise FeedFetchError(url, "the server answered 304 to an unconditional request")
        return retrieved

    async def _parse_or_discover(self, retrieved: Retrieved) -> tuple[ParsedFeed, str]:
        """Parse the body, following an HTML page's alternate link once.

        Returns the feed and the URL to keep for it: moved only by permanent redirects
        (`Retrieved.permanent_url`) or by autodiscovery, never by a temporary redirect.
        """
        parsed = await asyncio.to_thread(
            parse_feed, retrieved.content, url=retrieved.url, content_type=retrieved.content_type
        )
        if parsed.entries or not parsed.alternate_urls:
            return parsed, retrieved.permanent_url
        # An HTML page that links to its feed: follow the first alternate link once.
        alternate = parsed.alternate_urls[0]
        found = await self._fetch_fresh(alternate)
        feed = await asyncio.to_thread(
            parse_feed, found.content, url=found.url, content_type=found.content_type
        )
        if feed.alternate_urls and not feed.entries:
            raise FeedParseError(alternate, "the linked feed is another HTML page")
        return feed, found.permanent_url

    async def _poll_one(
        self,
        feed_id: int,
        url: str,
        etag: str | None,
        last_modified: str | None,
        matcher: TopicMatcher,
        unchanged: list[_Unchanged] | None = None,
    ) -> PollOutcome:
        try:
            retrieved = await self._fetcher.fetch(url, etag=etag, last_modified=last_modified)
            if isinstance(retrieved, NotModified):
                seen = _Unchanged(
                    feed_id, retrieved.etag, retrieved.last_modified, retrieved.max_age
                )
                if unchanged is not None:  # a cycle records its 304s in one transaction
                    unchanged.append(seen)
                    return PollOutcome(feed_id, url, PollStatus.NOT_MODIFIED)
                await self._record_not_modified_many([seen])
                return PollOutcome(feed_id, url, PollStatus.NOT_MODIFIED)
            parsed, final_url = await self._parse_or_discover(retrieved)
            return await self._store(feed_id, url, final_url, retrieved, parsed, matcher)
        except FeedError as error:
            message = _describe(error)
        except Exception as error:  # a feed must never break the cycle
            log.exception("unexpected error polling feed", extra={"feed_id": feed_id})
            message = f"unexpected error: {type(error).__name__}"
        try:
            await self._record_failure(feed_id, message)
        except Exception:  # the database failing too must not reach the other feeds' polls
            log.exception("could not record a feed failure", extra={"feed_id": feed_id})
        log.warning(
            "feed poll failed", extra={"feed_id": feed_id, "feed_url": url, "error": message}
        )
        return PollOutcome(feed_id, url, PollStatus.ERROR, error=message)

    async def _store(
        self,
        feed_id: int,
        url: str,
        final_url: str,
        retrieved: Retrieved,
        parsed: ParsedFeed,
        matcher: TopicMatcher,
    ) -> PollOutcome:
        entries = await self._checked_images(unique_entries(parsed.entries))
        now = self._clock.now()
        async with self._writing(), self._sessionmaker.begin() as session:
            feeds, posts = FeedRepo(session), PostRepo(session)
            feed = await feeds.get(feed_id)
            if feed is None:  # removed while we were fetching
                return PollOutcome(feed_id, url, PollStatus.ERROR, error="feed was removed")
            if not feed.language_fixed:
                feed.language = feed_language(parsed.language)
            language = feed.language
            existing = await posts.existing_for_feed(feed_id, (e.identity for e in entries))
            known = await posts.known_url_hashes(
                h for h in (url_hash(e.url) for e in entries) if h is not None
            )
            plan = plan_storage(
                entries, stored_identities=existing, stored_url_hashes=known, primed=feed.primed
            )
            announce = plan.announce
            expired = now - self._retention if self._retention is not None else None
            for entry in plan.edits:  # edited later: updated, never re-announced
                post = existing[entry.identity]
                if expired is None or post.first_seen_at >= expired:
                    posts.apply_edit(post, entry, now)
            inserted = await posts.insert_new(
                feed_id, plan.new, now, announced=announce, language=language
            )
            deliveries = 0
            matched_pairs: list[tuple[int, int]] = []
            by_identity = {e.identity: e for e in plan.new}
            new_entries = [by_identity[identity] for identity in inserted]
            twins = await self._twins(session, feed_id, language, now) if announce else None
            matches = matcher.match_many(new_entries)
            urgent = (
                await TopicRepo(session).urgent_ids()
                if announce and any(matches)
                else frozenset[int]()
            )
            for entry, topic_ids in zip(new_entries, matches, strict=True):
                post_id = inserted[entry.identity]
                matched_pairs.extend((post_id, t) for t in sorted(topic_ids))
                if announce and topic_ids:
                    deliveries += await self._fan_out(
                        session,
                        post_id,
                        sorted(topic_ids),
                        entry.published,
                        twins,
                        now,
                        post_priority(topic_ids, urgent),
                    )
            await posts.add_topics(matched_pairs)
            feed.min_interval_seconds = _combined_ask(
                parsed.min_interval_seconds, retrieved.max_age
            )
            self._mark_success(feed, now, retrieved.etag, retrieved.last_modified)
            feed.primed = True
            if parsed.title and not feed.title:
                feed.title = parsed.title[:500]
            if parsed.site_url and not feed.site_url:
                feed.site_url = parsed.site_url[:2048]
            if final_url != feed.url and await feeds.by_url(final_url) is None:
                feed.url = final_url  # discovered through an HTML page or moved by 301/308
        if deliveries and self._on_new_deliveries is not None:
            self._on_new_deliveries()
        log.info(
            "feed polled",
            extra={
                "feed_id": feed_id,
                "feed_url": url,
                "entries": len(entries),
                "posts_new": len(inserted),
                "deliveries_new": deliveries,
            },
        )
        return PollOutcome(
            feed_id,
            url,
            PollStatus.NEW,
            entries_seen=len(entries),
            posts_new=len(inserted),
            deliveries_new=deliveries,
        )

    async def _checked_images(self, entries: list[ParsedEntry]) -> list[ParsedEntry]:
        """The entries without the image URLs Telegram must not be given (`ImageGuard`)."""
        urls = {e.image_url for e in entries if e.image_url}
        if not urls:
            return entries
        allowed = await self._images.allowed(urls)
        return [
            replace(e, image_url=None) if e.image_url and e.image_url not in allowed else e
            for e in entries
        ]

    async def _twins(
        self, session: AsyncSession, feed_id: int, language: str | None, now: datetime
    ) -> _TwinContext | None:
        """What the twin rule needs for this feed's new posts, or None if it does not apply."""
        if language not in LANGUAGES or self._twin_window <= timedelta(0):
            return None
        await PostRepo(session).lock_twin_pairing()  # until this poll's transaction commits
        feed_languages = await FeedRepo(session).languages()
        plan = fan_out_plan(language, feed_languages)
        candidates = await PostRepo(session).twin_candidates(
            language, LANGUAGES, feed_id, now - self._twin_window
        )
        return _TwinContext(language, plan.held, candidates)

    async def _fan_out(
        self,
        session: AsyncSession,
        post_id: int,
        topic_ids: list[int],
        published: datetime | None,
        twins: _TwinContext | None,
        now: datetime,
        priority: DeliveryPriority = DeliveryPriority.POST,
    ) -> int:
        """Queue a new post's deliveries, as the twin of an earlier post or held for its own.

        Without twins (a feed of unknown or other language, TWIN_WINDOW_MINUTES=0): the plain
        fan-out. As a twin: its language's chats instead of the first post's held deliveries.
        Otherwise: chats that may still get their own language's version wait for it, unless
        the post is urgent (an urgent post waits for nothing).
        """
        deliveries = DeliveryRepo(session)
        if twins is None:
            return await deliveries.fan_out_post(post_id, topic_ids, now, priority)
        twin_of = twins.take(topic_ids, published)
        if twin_of is not None:
            await PostRepo(session).set_twin(post_id, twin_of)
            log.info("twin post", extra={"post_id": post_id, "twin_of": twin_of})
            return await deliveries.fan_out_twin(
                post_id,
                twin_of,
                topic_ids,
                twins.language,
                now,
                priority,
                default_language=self._default_language,
            )
        if not twins.held or bypasses_pace(priority):
            return await deliveries.fan_out_post(post_id, topic_ids, now, priority)
        return await deliveries.fan_out_post_held(
            post_id,
            topic_ids,
            now,
            twins.held,
            now + self._twin_window,
            priority,
            default_language=self._default_language,
        )

    def _mark_success(
        self, feed: Feed, now: datetime, etag: str | None, last_modified: str | None
    ) -> None:
        feed.last_polled_at = now
        feed.last_success_at = now
        feed.last_error = None
        feed.consecutive_failures = 0
        feed.failing_since = None
        feed.etag = etag
        feed.last_modified = last_modified
        feed.next_poll_at = next_poll_at(now, self._feed_interval(feed), jitter=self._rng())

    def _feed_interval(self, feed: Feed) -> float:
        """This feed's interval: the admin's, else the default or the feed's longer ask."""
        return feed_interval_seconds(
            self._interval,
            admin_seconds=feed.interval_seconds,
            ask_seconds=feed.min_interval_seconds,
        )

    async def _record_not_modified_many(self, unchanged: Sequence[_Unchanged]) -> None:
        """Record 304 answers in one transaction, the feeds loaded in one query.

        One commit per feed cost 3 ms each; one SELECT per feed, 5-13 ms each on SQLite.

        If this fails the feeds simply stay due and answer 304 again on the next tick.
        """
        if not unchanged:
            return
        now = self._clock.now()
        try:
            async with self._writing(), self._sessionmaker.begin() as session:
                found = await FeedRepo(session).get_many([seen.feed_id for seen in unchanged])
                for seen in unchanged:
                    feed = found.get(seen.feed_id)
                    if feed is not None:
                        # The body (and its <ttl>) is unchanged: only a max-age can add to
                        # the ask stored at the last full answer.
                        feed.min_interval_seconds = _combined_ask(
                            feed.min_interval_seconds, seen.max_age
                        )
                        self._mark_success(
                            feed,
                            now,
                            seen.etag or feed.etag,
                            seen.last_modified or feed.last_modified,
                        )
        except Exception:
            log.exception("could not record unchanged feeds", extra={"feeds": len(unchanged)})

    async def _record_failure(self, feed_id: int, message: str) -> None:
        """Keep the error and back off; raises on a database error (the caller logs it).

        If it fails, the feed stays due and is polled again on the next tick.
        """
        now = self._clock.now()
        async with self._writing(), self._sessionmaker.begin() as session:
            feed = await FeedRepo(session).get(feed_id)
            if feed is None:
                return
            feed.last_polled_at = now
            feed.last_error = message[:MAX_ERROR_LENGTH]
            feed.consecutive_failures += 1
            if feed.failing_since is None:
                feed.failing_since = now
            feed.next_poll_at = next_poll_at(
                now,
                self._feed_interval(feed),
                consecutive_failures=feed.consecutive_failures,
                jitter=self._rng(),
            )


@dataclass(frozen=True, slots=True)
class _Unchanged:
    """A 304 answer to record: the feed, its validators and the answer's max-age."""

    feed_id: int
    etag: str | None
    last_modified: str | None
    max_age: int | None


def _combined_ask(*asks: int | None) -> int | None:
    """The longest of the feed's asks (each one is "not before"), capped at a day."""
    valid = [a for a in asks if a is not None and a > 0]
    return min(max(valid), MAX_FEED_ASK_SECONDS) if valid else None


def _describe(error: FeedError) -> str:
    """A one-line readable error for feed health (no traceback, no URL repeated)."""
    if isinstance(error, FeedFetchError | FeedParseError):
        return error.message
    return str(error)
