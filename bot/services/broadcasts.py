"""Organiser use-cases: broadcasts and re-announced posts, from draft to final figures.

Owns one transaction per public method: resolving the audience of a draft, recording a
broadcast with its fan-out into the outbox (one INSERT … SELECT, in the same transaction as the
row and its audit entry), scheduling, firing due scheduled broadcasts exactly once (a
conditional UPDATE scheduled -> sending decides the one winner of any race), cancelling,
finishing (sending -> done once nothing is pending) and the figures /broadcasts and progress
messages show. The database is the source of truth: a scheduled broadcast is a row, and
`fire_due` finds it whatever timers exist.
Must not: receive or return Telegram objects, import `telegram.ext` or handlers, or send
anything (the delivery engine sends; the handler renders what it gets back).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Broadcast, Topic
from bot.db.repos import AuditRepo, BroadcastRepo, FeedRepo, PostRepo, TopicRepo
from bot.domain.clock import Clock
from bot.domain.languages import LANGUAGES, MAIN_LANGUAGE, choose_version
from bot.domain.matching import normalise_key
from bot.domain.types import DeliveryStatus
from bot.domain.views import BroadcastView, PostView, TopicView
from bot.domain.wording import N_
from bot.errors import InvalidInputError, NotFoundError, TopicNotFoundError
from bot.feeds.parse import canonical_url
from bot.render.notifications import broadcast_message, pushed_post_html
from bot.render.text import RenderedMessage
from bot.services.subscriptions import suggest_topics
from bot.services.views import topic_view

EVERYONE = "all"
# How many words one topic name may span in "/broadcast write for rights stoptorture".
MAX_TOPIC_WORDS = 6
MAX_URL_CHARS = 2048
SKIP = "skip"
RECENT = 10
SCHEDULER_ACTOR = "scheduler"

STATUS_SCHEDULED = "scheduled"
STATUS_SENDING = "sending"
STATUS_DONE = "done"
STATUS_CANCELLED = "cancelled"

_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a draft would reach, right now.

    Attributes:
        topics: The chosen topics (empty for everyone).
        everyone: The draft goes to every active chat with any subscription.
        chats: How many distinct active chats that is.
        sample_topic: The topic the preview's "Unsubscribe" button names: the one the
            delivery to a chat following the lowest chosen topic names (None if nobody).
    """

    topics: tuple[TopicView, ...]
    everyone: bool
    chats: int
    sample_topic: TopicView | None = None
    # How many of the chats read each language ("en", "fr"), for the preview.
    by_language: tuple[tuple[str, int], ...] = ()

    @property
    def topic_ids(self) -> tuple[int, ...] | None:
        """The topic ids a broadcast row stores (None for everyone)."""
        return None if self.everyone else tuple(t.id for t in self.topics)

    @property
    def labels(self) -> tuple[str, ...]:
        """Topic names as messages show them."""
        return self.labels_in(None)

    def labels_in(self, language: str | None) -> tuple[str, ...]:
        """Topic names as a chat reading `language` sees them (French where one is set)."""
        shown = (t.in_language(language) for t in self.topics)
        return tuple(f"{t.emoji} {t.name}".strip() for t in shown)


@dataclass(frozen=True, slots=True)
class BroadcastDraft:
    """What an organiser composed; nothing is stored until it is sent or scheduled."""

    audience: Audience
    text_html: str
    photo: str | None = None
    action_url: str | None = None
    post_id: int | None = None
    # The action button's label ("✅ I did it"), None for no button.
    action_label: str | None = None
    # Respect each chat's digest and quiet hours (bot.domain.pace); else it goes at once.
    respect_pace: bool = False
    # The language `text_html` is written in, and the other languages' versions of it
    # ((language, html), …): each chat gets its own language's, else `text_html`.
    language: str = MAIN_LANGUAGE
    versions: tuple[tuple[str, str], ...] = ()

    def text_for(self, language: str) -> str:
        """The text a chat reading `language` gets."""
        return choose_version(language, self.text_html, dict(self.versions))

    def missing_languages(self) -> tuple[str, ...]:
        """The organisation's languages this draft has no version in yet."""
        have = {self.language, *(lang for lang, _ in self.versions)}
        return tuple(lang for lang in LANGUAGES if lang not in have)

    # "Fast (paid)": allow_paid_broadcast, up to 1,000 a second (ALLOW_PAID_BROADCAST only).
    paid: bool = False


@dataclass(frozen=True, slots=True)
class PushPlan:
    """A stored post to re-announce to a topic, with the intro line if one was given."""

    post: PostView
    audience: Audience
    intro: str | None


@dataclass(slots=True)
class ProgressThrottle:
    """Allows a progress edit at most every `interval` seconds per broadcast (final ones always).

    Time comes from an injected clock, so tests decide how much time has passed.
    """

    clock: Clock
    interval: float = 3.0
    _last: dict[int, tuple[datetime, str]] = field(default_factory=dict)

    def should_edit(self, broadcast_id: int, text: str, *, final: bool = False) -> bool:
        """Whether to edit now: the text changed and (final, or `interval` has passed)."""
        last = self._last.get(broadcast_id)
        if last is None:
            return True
        when, shown = last
        if text == shown:
            return False
        return final or (self.clock.now() - when).total_seconds() >= self.interval

    def edited(self, broadcast_id: int, text: str) -> None:
        """Record that the progress message now shows `text`."""
        self._last[broadcast_id] = (self.clock.now(), text)

    def forget(self, broadcast_id: int) -> None:
        """Drop the state of a finished broadcast."""
        self._last.pop(broadcast_id, None)


def validate_action_url(text: str) -> str | None:
    """The "Take action" link an organiser typed: None for "skip", else a checked URL.

    Raises:
        InvalidInputError: Not an absolute http(s) URL with a host (or too long).
    """
    value = text.strip()
    if value.lower() == SKIP:
        return None
    refusal = InvalidInputError.worded(
        N_("That is not a link I can use: send an http:// or https:// address, or skip.")
    )
    if len(value) > MAX_URL_CHARS or not value.isprintable() or any(c.isspace() for c in value):
        raise refusal
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise refusal from None
    if parts.scheme.lower() not in ("http", "https") or not host or "." not in host.strip("."):
        raise refusal
    return value


def split_topic_keys(words: Sequence[str], known: Callable[[str], bool]) -> list[str]:
    """Split "/broadcast" arguments into topic keys, longest known name first.

    Commas separate keys explicitly ("write for rights, stoptorture"); otherwise each key is
    the longest run of words (up to MAX_TOPIC_WORDS) that `known` accepts, or one word.
    """
    joined = " ".join(words)
    if "," in joined:
        return [part.strip() for part in joined.split(",") if part.strip()]
    keys: list[str] = []
    start = 0
    while start < len(words):
        end = min(len(words), start + MAX_TOPIC_WORDS)
        while end > start + 1 and not known(" ".join(words[start:end])):
            end -= 1
        keys.append(" ".join(words[start:end]))
        start = end
    return keys


def plain_summary(text_html: str) -> str:
    """The text of a broadcast without its tags (for lists)."""
    return " ".join(html.unescape(_TAG.sub(" ", text_html)).split())


class BroadcastService:
    """What organisers do: compose, preview, send, schedule and follow broadcasts.

    Every public method is one transaction. `Raises:` sections list the domain errors a
    handler must map to a friendly answer.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        tz: tzinfo,
        *,
        default_language: str = MAIN_LANGUAGE,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._tz = tz
        # What a chat with no language stored reads (DEFAULT_LANGUAGE), for the preview's
        # per-language audience.
        self._default_language = default_language

    # -- drafts --------------------------------------------------------------------------------

    async def audience(self, words: Sequence[str]) -> Audience:
        """The audience of "/broadcast <topic> [<topic> …]" or "/broadcast all".

        Raises:
            InvalidInputError: No topic was given.
            TopicNotFoundError: A key names no active topic; carries suggestions.
        """
        words = [w for w in words if w.strip()]
        if not words:
            raise InvalidInputError("name at least one topic, or all")
        async with self._sessionmaker.begin() as session:
            if len(words) == 1 and words[0].lower() == EVERYONE:
                return await self._audience(session, None)
            topics = await TopicRepo(session).all()
            by_key: dict[str, Topic] = {}
            for topic in topics:
                by_key.setdefault(topic.slug_key, topic)
                by_key.setdefault(topic.name_key, topic)
                if topic.name_fr_key:
                    by_key.setdefault(topic.name_fr_key, topic)
            chosen: dict[int, Topic] = {}
            for key in split_topic_keys(words, lambda k: normalise_key(k) in by_key):
                found = by_key.get(normalise_key(key))
                if found is None:
                    raise TopicNotFoundError(key, suggest_topics(key, topics))
                chosen.setdefault(found.id, found)
            return await self._audience(session, sorted(chosen.values(), key=lambda t: t.id))

    async def plan_push(self, url: str, topic_and_intro: Sequence[str]) -> PushPlan:
        """Resolve "/push <post URL> <topic> [intro line]".

        The topic is the longest run of leading words naming a topic; the rest is the intro.

        Raises:
            InvalidInputError: No topic was given.
            NotFoundError: No stored post has this URL (kind "post").
            TopicNotFoundError: The words name no active topic; carries suggestions.
        """
        words = [w for w in topic_and_intro if w.strip()]
        if not words:
            raise InvalidInputError("name a topic")
        canonical = canonical_url(url)
        async with self._sessionmaker.begin() as session:
            post = await PostRepo(session).by_url(canonical) if canonical else None
            if post is None:
                raise NotFoundError("post", url)
            topics = await TopicRepo(session).all()
            by_key = (
                {t.name_fr_key: t for t in topics if t.name_fr_key}
                | {t.slug_key: t for t in topics}
                | {t.name_key: t for t in topics}
            )
            topic = None
            for end in range(min(len(words), MAX_TOPIC_WORDS), 0, -1):
                topic = by_key.get(normalise_key(" ".join(words[:end])))
                if topic is not None:
                    break
            if topic is None:
                raise TopicNotFoundError(words[0], suggest_topics(words[0], topics))
            intro = " ".join(words[end:]).strip() or None
            labels = await FeedRepo(session).labels([post.feed_id] if post.feed_id else [])
            view = PostView(
                id=post.id,
                title=post.title,
                url=post.url,
                summary=post.summary,
                published=post.published_at or post.first_seen_at,
                source=labels.get(post.feed_id) if post.feed_id else None,
            )
            audience = await self._audience(session, [topic])
        return PushPlan(view, audience, intro)

    def push_draft(self, plan: PushPlan, intro: str | None) -> BroadcastDraft:
        """The draft of a push: the post as a notification shows it, after the intro line."""
        topic = plan.audience.topics[0] if plan.audience.topics else None
        return BroadcastDraft(
            audience=plan.audience,
            text_html=pushed_post_html(intro, plan.post, topic, self._tz),
            action_url=plan.post.url,
            post_id=plan.post.id,
        )

    @staticmethod
    def preview(draft: BroadcastDraft, language: str | None = None) -> RenderedMessage:
        """Exactly what a supporter reached through the sample topic gets (same renderer).

        `language` picks the version (and the topic's name) a chat reading it gets, and the
        language of its buttons; by default the version written first.
        """
        language = language or draft.language
        sample = draft.audience.sample_topic
        return broadcast_message(
            draft.text_for(language),
            draft.action_url,
            sample.in_language(language) if sample is not None else None,
            action_label=draft.action_label,
            language=language,
        )

    # -- recording -----------------------------------------------------------------------------

    async def send_now(
        self,
        draft: BroadcastDraft,
        *,
        actor_id: int,
        actor: str,
        progress_chat_id: int | None = None,
        progress_message_id: int | None = None,
    ) -> BroadcastView:
        """Record the broadcast and queue its deliveries, with an audit row, in one transaction.

        The audience is counted afresh: chats that subscribed or left since the preview count.
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            repo = BroadcastRepo(session)
            broadcast = await repo.add(
                self._row(
                    draft,
                    actor_id,
                    STATUS_SENDING,
                    now,
                    started_at=now,
                    progress_chat_id=progress_chat_id,
                    progress_message_id=progress_message_id,
                )
            )
            broadcast.total = await repo.fan_out(broadcast.id, draft.audience.topic_ids, now)
            await AuditRepo(session).record(
                now,
                actor,
                "broadcast.push" if draft.post_id else "broadcast.send",
                f"#{broadcast.id}",
                actor_id=actor_id,
                detail=self._detail(draft, total=broadcast.total),
            )
            await session.flush()
            figures = {DeliveryStatus.PENDING.value: broadcast.total}
            return self._view(broadcast, figures, _names(draft))

    async def schedule(
        self, draft: BroadcastDraft, when: datetime, *, actor_id: int, actor: str
    ) -> BroadcastView:
        """Record a broadcast to fan out at `when` (a row with status scheduled).

        Raises:
            InvalidInputError: `when` is not in the future.
        """
        now = self._clock.now()
        if when <= now:
            raise InvalidInputError.worded(
                N_("That time has already passed; choose a time in the future.")
            )
        async with self._sessionmaker.begin() as session:
            broadcast = await BroadcastRepo(session).add(
                self._row(
                    draft,
                    actor_id,
                    STATUS_SCHEDULED,
                    now,
                    scheduled_for=when,
                    progress_chat_id=actor_id,
                )
            )
            await AuditRepo(session).record(
                now,
                actor,
                "broadcast.schedule",
                f"#{broadcast.id}",
                actor_id=actor_id,
                detail=self._detail(draft, scheduled_for=when.isoformat()),
            )
            return self._view(broadcast, {}, _names(draft))

    async def fire_due(self) -> list[int]:
        """Start every scheduled broadcast whose time has come; returns the ids started.

        Each broadcast is claimed with a conditional UPDATE (scheduled -> sending) in its own
        transaction together with its fan-out, so however many jobs race, it fans out once.
        """
        now = self._clock.now()
        async with self._sessionmaker() as session:
            due = await BroadcastRepo(session).due_ids(now)
        started = []
        for broadcast_id in due:
            if await self._fire(broadcast_id, now):
                started.append(broadcast_id)
        return started

    async def _fire(self, broadcast_id: int, now: datetime) -> bool:
        async with self._sessionmaker.begin() as session:
            repo = BroadcastRepo(session)
            if not await repo.transition(
                broadcast_id, STATUS_SCHEDULED, STATUS_SENDING, due_by=now, started_at=now
            ):
                return False
            broadcast = await repo.get(broadcast_id)
            if broadcast is None:  # pragma: no cover - the row was just updated
                return False
            await session.refresh(broadcast)
            total = await repo.fan_out(broadcast_id, broadcast.topic_ids, now)
            broadcast.total = total
            await AuditRepo(session).record(
                now,
                SCHEDULER_ACTOR,
                "broadcast.start",
                f"#{broadcast_id}",
                detail={"total": total, "scheduled_for": _iso(broadcast.scheduled_for)},
            )
            return True

    async def cancel(self, broadcast_id: int, *, actor_id: int, actor: str) -> bool:
        """Cancel a scheduled broadcast (scheduled -> cancelled), with an audit row.

        Returns:
            False if it was no longer scheduled (sent, started or cancelled already).

        Raises:
            NotFoundError: No broadcast has this id (kind "broadcast").
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            repo = BroadcastRepo(session)
            if await repo.get(broadcast_id) is None:
                raise NotFoundError("broadcast", str(broadcast_id))
            changed = await repo.transition(
                broadcast_id, STATUS_SCHEDULED, STATUS_CANCELLED, finished_at=now
            )
            if changed:
                await AuditRepo(session).record(
                    now, actor, "broadcast.cancel", f"#{broadcast_id}", actor_id=actor_id
                )
            return changed

    async def finish_if_done(self, broadcast_id: int) -> BroadcastView | None:
        """Mark a sending broadcast done once none of its deliveries is pending.

        Returns:
            The finished broadcast, to the one caller that finished it; else None.
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            repo = BroadcastRepo(session)
            figures = (await repo.figures([broadcast_id]))[broadcast_id]
            if figures.get(DeliveryStatus.PENDING.value, 0):
                return None
            if not await repo.transition(
                broadcast_id, STATUS_SENDING, STATUS_DONE, finished_at=now
            ):
                return None
            broadcast = await repo.get(broadcast_id)
            if broadcast is None:  # pragma: no cover - the row was just updated
                return None
            await session.refresh(broadcast)
            await AuditRepo(session).record(
                now, SCHEDULER_ACTOR, "broadcast.done", f"#{broadcast_id}", detail=figures
            )
            return self._view(broadcast, figures)

    async def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        """Remember which message shows a broadcast's progress."""
        async with self._sessionmaker.begin() as session:
            broadcast = await BroadcastRepo(session).get(broadcast_id)
            if broadcast is not None:
                broadcast.progress_chat_id = chat_id
                broadcast.progress_message_id = message_id

    # -- reading -------------------------------------------------------------------------------

    async def sending(self) -> list[tuple[BroadcastView, int | None, int | None]]:
        """Broadcasts going out now, with their progress chat and message ids."""
        async with self._sessionmaker.begin() as session:
            repo = BroadcastRepo(session)
            rows = await repo.with_status(STATUS_SENDING)
            figures = await repo.figures(b.id for b in rows)
            names = await self._topic_names(session, rows)
            return [
                (
                    self._view(b, figures[b.id], names),
                    b.progress_chat_id,
                    b.progress_message_id,
                )
                for b in rows
            ]

    async def paid_refusals(self) -> list[tuple[BroadcastView, int]]:
        """Paid broadcasts Telegram refused to charge for, each returned once.

        With each, the chat to tell (the progress chat, else the organiser's own): they go on
        at the normal pace.
        """
        async with self._sessionmaker.begin() as session:
            repo = BroadcastRepo(session)
            rows = await repo.paid_refused_unnotified()
            if not rows:
                return []
            figures = await repo.figures(b.id for b in rows)
            names = await self._topic_names(session, rows)
            for row in rows:
                await repo.mark_paid_notified(row.id)
            return [
                (self._view(b, figures[b.id], names), b.progress_chat_id or b.created_by)
                for b in rows
            ]

    async def overview(
        self, limit: int = RECENT, *, language: str | None = None
    ) -> tuple[list[BroadcastView], list[BroadcastView]]:
        """/broadcasts: the `limit` most recent broadcasts, and every scheduled one.

        Topic names in `language` (the organiser's; English where a topic has no such name).
        """
        async with self._sessionmaker.begin() as session:
            repo = BroadcastRepo(session)
            recent = await repo.recent(limit)
            scheduled = await repo.with_status(STATUS_SCHEDULED)
            rows = [*recent, *scheduled]
            figures = await repo.figures(b.id for b in rows)
            names = await self._topic_names(session, rows, language)
            return (
                [self._view(b, figures[b.id], names) for b in recent],
                [self._view(b, figures[b.id], names) for b in scheduled],
            )

    async def scheduled_times(self) -> list[tuple[int, datetime]]:
        """Every scheduled broadcast and its time (to set timers after a restart)."""
        async with self._sessionmaker.begin() as session:
            rows = await BroadcastRepo(session).with_status(STATUS_SCHEDULED, limit=10_000)
            return [(b.id, b.scheduled_for) for b in rows if b.scheduled_for is not None]

    def now(self) -> datetime:
        """The service's current time (what scheduling is measured against)."""
        return self._clock.now()

    # -- helpers -------------------------------------------------------------------------------

    async def _audience(self, session: AsyncSession, topics: Sequence[Topic] | None) -> Audience:
        ids = None if topics is None else [t.id for t in topics]
        repo = BroadcastRepo(session)
        chats, sample_id = await repo.audience(ids)
        by_language = await repo.audience_by_language(ids, self._default_language)
        sample = await TopicRepo(session).get(sample_id) if sample_id is not None else None
        if sample is None and topics:
            sample = topics[0]
        return Audience(
            topics=tuple(topic_view(t) for t in topics or ()),
            everyone=topics is None,
            chats=chats,
            sample_topic=topic_view(sample) if sample is not None else None,
            by_language=tuple((lang, by_language.get(lang, 0)) for lang in LANGUAGES),
        )

    @staticmethod
    def _row(
        draft: BroadcastDraft, actor_id: int, status: str, now: datetime, **values: object
    ) -> Broadcast:
        ids = draft.audience.topic_ids
        return Broadcast(
            created_by=actor_id,
            topic_ids=None if ids is None else list(ids),
            text_html=draft.text_html,
            photo=draft.photo,
            action_url=draft.action_url,
            action_label=draft.action_label,
            post_id=draft.post_id,
            respect_pace=draft.respect_pace,
            language=draft.language,
            versions=dict(draft.versions) or None,
            paid=draft.paid,
            status=status,
            created_at=now,
            total=0,
            **values,
        )

    @staticmethod
    def _detail(draft: BroadcastDraft, **extra: object) -> dict[str, object]:
        return {
            "topics": None if draft.audience.everyone else list(draft.audience.topic_ids or ()),
            "photo": draft.photo is not None,
            "action_url": draft.action_url,
            "action_label": draft.action_label,
            "post_id": draft.post_id,
            "languages": [draft.language, *(lang for lang, _ in draft.versions)],
            "paid": draft.paid,
            **extra,
        }

    async def _topic_names(
        self, session: AsyncSession, rows: Sequence[Broadcast], language: str | None = None
    ) -> dict[int, str]:
        ids = {i for b in rows for i in (b.topic_ids or ())}
        names: dict[int, str] = {}
        topics = TopicRepo(session)
        for topic_id in sorted(ids):
            topic = await topics.get(topic_id)
            if topic is not None:
                name = (topic.name_fr if language == "fr" else None) or topic.name
                names[topic_id] = f"{topic.emoji} {name}".strip()
        return names

    @staticmethod
    def _view(
        broadcast: Broadcast, figures: dict[str, int], names: dict[int, str] | None = None
    ) -> BroadcastView:
        ids = broadcast.topic_ids
        labels = tuple((names or {}).get(i, f"topic {i}") for i in ids or ())
        return BroadcastView(
            id=broadcast.id,
            status=broadcast.status,
            topics=labels,
            everyone=ids is None,
            created_at=broadcast.created_at,
            scheduled_for=broadcast.scheduled_for,
            finished_at=broadcast.finished_at,
            total=broadcast.total,
            pending=figures.get(DeliveryStatus.PENDING.value, 0),
            sent=figures.get(DeliveryStatus.SENT.value, 0),
            failed=figures.get(DeliveryStatus.FAILED.value, 0),
            dropped=figures.get(DeliveryStatus.DROPPED.value, 0),
            summary=plain_summary(broadcast.text_html) or ("(photo)" if broadcast.photo else ""),
            push=broadcast.post_id is not None,
            paid=broadcast.paid,
            paid_refused=broadcast.paid_stopped_at is not None,
        )


def _names(draft: BroadcastDraft) -> dict[int, str]:
    return {
        t.id: label for t, label in zip(draft.audience.topics, draft.audience.labels, strict=True)
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
