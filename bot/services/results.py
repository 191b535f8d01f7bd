"""Results for organisers: what each broadcast and post achieved, in chat, on schedule, exported.

Owns the results read model: a message's figures per topic and in total are its live delivery
rows plus its `message_totals` (`ResultsRepo.figures`), turned into `ResultsView`s; finding a
message by broadcast id or post URL; the latest messages for /results; every message since a
date for `campaignbot results export`; and the scheduled reports to the organiser who sent a
broadcast (one hour after it started, then the same message edited at 24 hours): each stage is
claimed by a conditional UPDATE before anything is sent, so a stage is reported at most once
however often the job runs, and the stage is in the database, so a restart loses none.

Figures are aggregates: nothing here returns or logs which chat clicked, acted or shared.
One transaction per public method. Must not: receive or return Telegram objects, import
`telegram.ext` or handlers, or send anything (the job renders and sends what it gets back).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import BROADCAST, POST, Broadcast, Post
from bot.db.repos import BroadcastRepo, ChatRepo, PostRepo, ResultsRepo, TopicRepo
from bot.domain.clock import Clock
from bot.domain.languages import MAIN_LANGUAGE, chat_version_language
from bot.domain.views import Figures, ResultsView
from bot.errors import InvalidInputError, NotFoundError
from bot.feeds.parse import canonical_url
from bot.services.broadcasts import plain_summary

# The organiser's report: first one hour after a broadcast started, then (edited) at 24 hours.
FIRST_REPORT = timedelta(hours=1)
SECOND_REPORT = timedelta(hours=24)
# /results without an argument: this many broadcasts and this many posts.
LATEST = 5
# A broadcast's title in lists and exports: its first words.
TITLE_WORDS = 12
MAX_ID_DIGITS = 18
# Broadcast ids are 32-bit integers in the database: a larger number names none.
MAX_ID = 2**31 - 1

_ID = re.compile(rf"#?([0-9]{{1,{MAX_ID_DIGITS}}})")


@dataclass(frozen=True, slots=True)
class ResultsKey:
    """What "/results <arg>" names: a broadcast by id or a post by its URL."""

    kind: str
    broadcast_id: int | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class DueReport:
    """A scheduled report claimed for sending: to whom, which stage, what to edit, what to say.

    `message_id` is the earlier report to edit (None at the first stage, or if it was never
    sent).
    """

    broadcast_id: int
    stage: int
    chat_id: int
    message_id: int | None
    view: ResultsView


def parse_results_key(text: str) -> ResultsKey:
    """What a /results argument names: "12" or "#12" (a broadcast), or a post's http(s) URL.

    Raises:
        InvalidInputError: Neither a broadcast id nor a web address.
    """
    value = text.strip()
    match = _ID.fullmatch(value)
    if match:
        return ResultsKey(BROADCAST, broadcast_id=int(match.group(1)))
    if value.lower().startswith(("http://", "https://")) and canonical_url(value):
        return ResultsKey(POST, url=value)
    raise InvalidInputError("a broadcast id or a post's web address")


def first_words(text: str, words: int = TITLE_WORDS) -> str:
    """The first `words` words of a text, with "…" if there were more."""
    parts = text.split()
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


class ResultsService:
    """Messages' results; see the module docstring."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        default_language: str = MAIN_LANGUAGE,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        # What an organiser's chat with no language stored reads (DEFAULT_LANGUAGE): the
        # scheduled reports name topics in the organiser's language.
        self._default_language = default_language

    async def lookup(self, text: str, language: str | None = None) -> ResultsView:
        """The results of "/results <arg>" (topic names in `language`, English where none).

        Raises:
            InvalidInputError: `text` is neither a broadcast id nor a web address.
            NotFoundError: No such broadcast (kind "broadcast") or post (kind "post").
        """
        key = parse_results_key(text)
        if key.broadcast_id is not None:
            return await self.broadcast(key.broadcast_id, language)
        return await self.post(key.url or "", language)

    async def broadcast(self, broadcast_id: int, language: str | None = None) -> ResultsView:
        """One organiser's broadcast's results (notices have none).

        Raises:
            NotFoundError: No such broadcast (kind "broadcast").
        """
        if not 0 < broadcast_id <= MAX_ID:
            raise NotFoundError(BROADCAST, str(broadcast_id))
        async with self._sessionmaker() as session:
            row = await BroadcastRepo(session).get(broadcast_id)
            if row is None or row.kind != BROADCAST:
                raise NotFoundError(BROADCAST, str(broadcast_id))
            return (await self._views(session, [row], [], language))[0]

    async def post(self, url: str, language: str | None = None) -> ResultsView:
        """A stored post's results, by its link (canonicalised as when it was stored).

        Raises:
            NotFoundError: No stored post has this link (kind "post").
        """
        canonical = canonical_url(url.strip())
        async with self._sessionmaker() as session:
            row = await PostRepo(session).by_url(canonical) if canonical else None
            if row is None:
                raise NotFoundError(POST, url)
            return (await self._views(session, [], [row], language))[0]

    async def latest(
        self, limit: int = LATEST, language: str | None = None
    ) -> tuple[list[ResultsView], list[ResultsView]]:
        """The `limit` latest broadcasts that went out and posts that went to anyone.

        Topic names in `language` (English where a topic has no such name).
        """
        async with self._sessionmaker() as session:
            repo = ResultsRepo(session)
            broadcasts = await repo.broadcasts(limit=limit)
            posts = await repo.posts(limit=limit)
            views = await self._views(session, broadcasts, posts, language)
        return views[: len(broadcasts)], views[len(broadcasts) :]

    async def export(self, since: datetime | None = None) -> list[ResultsView]:
        """Every broadcast and post since `since` (all if None), oldest first."""
        async with self._sessionmaker() as session:
            repo = ResultsRepo(session)
            views = await self._views(
                session, await repo.broadcasts(since=since), await repo.posts(since=since)
            )
        return sorted(views, key=lambda v: (v.at, v.kind, v.id))

    # -- scheduled reports ------------------------------------------------------------------

    async def claim_due_reports(self) -> list[DueReport]:
        """Claim every report that is due now and return what to send.

        Each stage is claimed (results_stage moved forward by a conditional UPDATE) in its own
        transaction before anything is sent: a report is sent at most once per stage, even by
        racing jobs or instances; one lost to a crash between claim and send is not repeated.
        """
        now = self._clock.now()
        async with self._sessionmaker() as session:
            due = await ResultsRepo(session).due_reports(now, FIRST_REPORT, SECOND_REPORT)
        claimed: list[DueReport] = []
        for broadcast_id, stage in due:
            async with self._sessionmaker.begin() as session:
                repo = ResultsRepo(session)
                if not await repo.claim_stage(broadcast_id, stage):
                    continue
                found = await repo.results_message(broadcast_id)
                row = await BroadcastRepo(session).get(broadcast_id)
                if found is None or row is None:  # pragma: no cover - the row was just updated
                    continue
                chat_id, message_id = found
                stored = (await ChatRepo(session).languages([chat_id])).get(chat_id)
                language = chat_version_language(stored, self._default_language)
                view = (await self._views(session, [row], [], language))[0]
            claimed.append(DueReport(broadcast_id, stage, chat_id, message_id, view))
        return claimed

    async def set_report_message(self, broadcast_id: int, message_id: int) -> None:
        """Remember the organiser's report message (the 24-hour report edits it)."""
        async with self._sessionmaker.begin() as session:
            await ResultsRepo(session).set_results_message(broadcast_id, message_id)

    # -- helpers ----------------------------------------------------------------------------

    async def _views(
        self,
        session: AsyncSession,
        broadcasts: Sequence[Broadcast],
        posts: Sequence[Post],
        language: str | None = None,
    ) -> list[ResultsView]:
        """Views of the broadcasts, then the posts, in the order given (topics in `language`)."""
        repo = ResultsRepo(session)
        labels: dict[int, tuple[str, str]] = {}
        for t in await TopicRepo(session).all(include_archived=True):
            name = (t.name_fr if language == "fr" else None) or t.name
            labels[t.id] = (name.casefold(), f"{t.emoji} {name}".strip())
        broadcast_counts = await repo.figures(BROADCAST, [b.id for b in broadcasts])
        post_counts = await repo.figures(POST, [p.id for p in posts])
        views = [
            _view(
                BROADCAST,
                b.id,
                first_words(plain_summary(b.text_html)) or "(photo)",
                b.started_at or b.created_at,
                b.action_url,
                broadcast_counts[b.id],
                labels,
            )
            for b in broadcasts
        ]
        views += [
            _view(POST, p.id, p.title, p.first_seen_at, p.url, post_counts[p.id], labels)
            for p in posts
        ]
        return views


def _view(
    kind: str,
    message_id: int,
    title: str,
    at: datetime,
    url: str | None,
    counts: dict[int, dict[str, int]],
    labels: dict[int, tuple[str, str]],
) -> ResultsView:
    per_topic = {topic_id: Figures.of(c) for topic_id, c in counts.items()}
    total = sum(per_topic.values(), Figures())
    # Topics by name; figures without a topic (topic 0, or a topic since deleted) last.
    named = [
        (labels[t][1], f)
        for t, f in sorted(per_topic.items(), key=lambda x: labels.get(x[0], ("", ""))[0])
        if t in labels
    ]
    loose = [f for t, f in per_topic.items() if t not in labels]
    topics: list[tuple[str | None, Figures]] = list(named)
    if loose:
        topics.append((None, sum(loose, Figures())))
    return ResultsView(
        kind=kind,
        id=message_id,
        title=title,
        at=at,
        total=total,
        topics=tuple(topics),
        url=url,
    )


def parse_since(text: str, tz: tzinfo) -> datetime:
    """`--since DATE` (YYYY-MM-DD): midnight at the start of that day in the bot's time zone.

    Raises:
        InvalidInputError: Not a date of that form.
    """
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInputError(f"--since: {text!r} is not a date like 2026-11-30") from None
    if len(text.strip()) != len("2026-11-30"):
        raise InvalidInputError(f"--since: {text!r} is not a date like 2026-11-30")
    return datetime.combine(day, time(0), tzinfo=tz)
