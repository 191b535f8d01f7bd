"""Topic use-cases, from chat and from the command line.

Add, edit, rule changes, archive and details (from chat); listing, importing a topics file
and loading it on first start (from the command line and the runtime).

Owns one transaction per public method, an audit row for every change (actor, action,
target), and the validation of what admins type (slugs, names, rules): the same rule validator
a topics file uses, so chat and files accept the same rules. Returns plain values (the
dataclasses below and `bot.render` views).
Must not: receive or return Telegram objects, import `telegram.ext` or handlers, or send
messages itself (an archive notice goes through the delivery outbox).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Topic
from bot.db.repos import AuditRepo, BroadcastRepo, ReportRepo, StateRepo, TopicRepo
from bot.domain.clock import Clock
from bot.domain.matching import normalise_key

# The one rule validator a topics file uses too, so chat and files accept the same rules.
from bot.domain.topics import (
    DESCRIPTION_MAX,
    EMOJI_MAX,
    NAME_MAX,
    PREVIEW_SMALL,
    RULES_PER_TOPIC_MAX,
    check_action_label,
    check_preview,
    check_rule,
    validate_slug,
)
from bot.domain.types import CLI_ACTOR, Actor, RuleKind, TopicSpec
from bot.domain.views import TopicDetailView
from bot.domain.wording import N_
from bot.errors import AlreadyExistsError, InvalidInputError, TopicNotFoundError
from bot.render.notifications import archive_notice
from bot.services.views import topic_view

TOPICS_SEEDED = "topics_seeded"
TOPIC_POSTS_WINDOW = timedelta(days=30)
TOPIC_FIELDS = (
    "name",
    "description",
    "emoji",
    "action",
    "name:fr",
    "description:fr",
    "urgent",
    "preview",
)
# "/edittopic x urgent on|off".
SWITCH_VALUES = {"on": True, "off": False}
RULE_OPS = ("add", "remove")
# The file field each rule kind is checked as (`bot.domain.topics` speaks in file fields).
_RULE_FIELD = {
    RuleKind.CATEGORY: "categories",
    RuleKind.KEYWORD: "keywords",
    RuleKind.EXCLUDE: "exclude",
    RuleKind.COUNTRY: "countries",
    RuleKind.TYPE: "types",
}
# Clearing a description or an emoji: "/edittopic x description -".
CLEAR_VALUE = "-"
# Removing a topic's action button: "/edittopic x action off" ("-" works too).
ACTION_OFF = "off"
# The topics file (TOPICS_FILE or the bundled one), loaded on first start.
TOPICS_FILE_ACTOR = Actor(None, "TOPICS_FILE")


@dataclass(frozen=True, slots=True)
class RuleChange:
    """What /topicrule did."""

    topic: TopicDetailView
    op: str
    kind: str
    value: str
    changed: bool


@dataclass(frozen=True, slots=True)
class ArchiveResult:
    """What /archivetopic did: the topic and how many chats are being told."""

    topic: TopicDetailView
    notified: int
    changed: bool


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


class TopicService:
    """The topic use-cases; see the module docstring."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock

    # -- from chat ----------------------------------------------------------------------------

    async def add_topic(self, actor: Actor, slug: str, name: str) -> TopicDetailView:
        """Create a topic without rules (add them with `change_rule`).

        Raises:
            InvalidInputError: the slug or name is not valid.
            AlreadyExistsError: a topic has this slug or name already.
        """
        slug = validate_slug(slug)
        name = _check_name(name)
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            topics = TopicRepo(session)
            for key in (slug, name):
                if await topics.by_key(key) is not None:
                    raise AlreadyExistsError("topic", key)
            topic = await topics.add(TopicSpec(slug=slug, name=name), now)
            await AuditRepo(session).record(
                now, actor.name, "topic.add", slug, actor_id=actor.user_id, detail={"name": name}
            )
            return await self._detail(session, topic)

    async def edit_topic(self, actor: Actor, key: str, field: str, value: str) -> TopicDetailView:
        """Change a topic's name, description, emoji, action button label, urgency or preview.

        "-" clears the description and the emoji; "off" (or "-") removes the action button,
        so the topic's next post notifications have none. `urgent` takes on|off (its next
        posts and broadcasts go at priority URGENT), `preview` off|small|large (the link
        preview of its next post notifications).

        Raises:
            TopicNotFoundError: no topic matches `key`.
            InvalidInputError: the field or value is not valid, or the name is taken.
        """
        field = field.strip().lower()
        if field not in TOPIC_FIELDS:
            raise InvalidInputError.worded(
                N_(
                    "the field must be name, description, name:fr, description:fr, emoji, "
                    "action, urgent or preview"
                )
            )
        value = value.strip()
        urgent: bool | None = None
        if field == "name":
            value = _check_name(value)
        elif field == "name:fr":
            value = "" if value == CLEAR_VALUE else _check_name(value)
        elif field == "description:fr" and value == CLEAR_VALUE:
            value = ""
        elif field == "description:fr" and len(value) > DESCRIPTION_MAX:
            raise InvalidInputError(
                f"a description is at most {DESCRIPTION_MAX} characters, not {len(value)}"
            )
        elif field == "action":
            off = value.lower() in (ACTION_OFF, CLEAR_VALUE)
            value = "" if off else check_action_label(value)
        elif field == "urgent":
            urgent = SWITCH_VALUES.get(value.lower())
            if urgent is None:
                raise InvalidInputError.worded(
                    N_("urgent is on or off, not %(value)s"), value=repr(value)
                )
            value = value.lower()
        elif field == "preview":
            value = check_preview(value)
        elif value == CLEAR_VALUE:
            value = ""
        elif field == "description" and len(value) > DESCRIPTION_MAX:
            raise InvalidInputError.worded(
                N_("a description is at most %(max)s characters, not %(length)s"),
                max=DESCRIPTION_MAX,
                length=len(value),
            )
        elif field == "emoji" and len(value) > EMOJI_MAX:
            raise InvalidInputError.worded(
                N_("an emoji is at most %(max)s characters"), max=EMOJI_MAX
            )
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            topics = TopicRepo(session)
            topic = await self._topic(topics, key)
            if field in ("name", "name:fr") and value:
                clash = await topics.by_key(value)
                if clash is not None and clash.id != topic.id:
                    raise InvalidInputError.worded(
                        N_("the name %(name)s is taken by the topic %(slug)s"),
                        name=repr(value),
                        slug=repr(clash.slug),
                    )
            if field == "name":
                topic.name, topic.name_key = value, normalise_key(value)
            elif field == "name:fr":
                topics.set_french(topic, value, topic.description_fr)
            elif field == "description:fr":
                topics.set_french(topic, topic.name_fr, value)
            elif field == "description":
                topic.description = value
            elif field == "action":
                topic.action_label = value or None
            elif field == "urgent":
                topic.urgent = bool(urgent)
            elif field == "preview":
                topic.preview = value
            else:
                topic.emoji = value
            await session.flush()
            await AuditRepo(session).record(
                now,
                actor.name,
                f"topic.edit.{field.replace(':', '_')}",
                topic.slug,
                actor_id=actor.user_id,
                detail={field: value},
            )
            return await self._detail(session, topic)

    async def change_rule(
        self, actor: Actor, key: str, op: str, kind: str, value: str
    ) -> RuleChange:
        """Add or remove one category, country, type, keyword or exclude rule.

        New posts match by it at once. Country and type rules match only a post's facets of
        that kind (amnesty.org's `amn:countries`, `amn:resource-types`, ...).

        Raises:
            TopicNotFoundError: no topic matches `key`.
            InvalidInputError: the operation, kind or rule is not valid, or too many rules.
        """
        op, kind_word, value = op.strip().lower(), kind.strip().lower(), value.strip()
        if op not in RULE_OPS:
            raise InvalidInputError.worded(N_("the operation must be add or remove"))
        try:
            rule_kind = RuleKind(kind_word)
        except ValueError:
            raise InvalidInputError.worded(
                N_("the rule kind must be category, country, type, keyword or exclude")
            ) from None
        if op == "add":
            check_rule(_RULE_FIELD[rule_kind], value)
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            repo = TopicRepo(session)
            topic = await self._topic(repo, key)
            if op == "add":
                if await repo.rule_count(topic.id) >= RULES_PER_TOPIC_MAX:
                    raise InvalidInputError.worded(
                        N_("a topic has at most %(max)s rules; remove one first"),
                        max=RULES_PER_TOPIC_MAX,
                    )
                changed = await repo.add_rule(topic.id, rule_kind.value, value)
            else:
                changed = await repo.remove_rule(topic.id, rule_kind.value, value)
            if changed:
                await AuditRepo(session).record(
                    now,
                    actor.name,
                    f"topic.rule.{op}",
                    topic.slug,
                    actor_id=actor.user_id,
                    detail={"kind": rule_kind.value, "value": value},
                )
            detail = await self._detail(session, topic)
            return RuleChange(detail, op, rule_kind.value, value, changed)

    async def archive_topic(self, actor: Actor, key: str) -> ArchiveResult:
        """Archive a topic: hidden from pickers and matching, nothing deleted; subscribers told.

        The notice (worded by `bot.render`) goes to each active subscribed chat through the
        delivery outbox, as a broadcast of kind "notice" that /broadcasts does not list.

        Raises:
            TopicNotFoundError: no topic matches `key`.
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            topic = await self._topic(TopicRepo(session), key)
            if topic.archived:
                return ArchiveResult(await self._detail(session, topic), 0, False)
            topic.archived = True
            await session.flush()
            view = topic_view(topic)
            notice = archive_notice(view)
            # French-reading chats get the notice with the topic's French name.
            versions = {"fr": archive_notice(view.in_language("fr"))} if topic.name_fr else None
            notified = await BroadcastRepo(session).queue_notice(
                actor.user_id or 0, notice, topic.id, now, versions
            )
            await AuditRepo(session).record(
                now,
                actor.name,
                "topic.archive",
                topic.slug,
                actor_id=actor.user_id,
                detail={"notified": notified},
            )
            return ArchiveResult(await self._detail(session, topic), notified, True)

    async def topic_info(self, key: str) -> TopicDetailView:
        """A topic's rules, subscribers and posts matched in the last 30 days.

        Raises:
            TopicNotFoundError: no topic matches `key`.
        """
        async with self._sessionmaker() as session:
            return await self._detail(session, await self._topic(TopicRepo(session), key))

    # -- from the command line and the topics file --------------------------------------------

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
        self, specs: Sequence[TopicSpec], *, actor: Actor = CLI_ACTOR
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
            # Every topic read once (a handful), in id order, then looked up in memory as
            # `TopicRepo.by_slug` and `by_key` would: the file's own topics, once added, count.
            known = sorted(await topics.all(include_archived=True), key=lambda t: t.id)
            for spec in specs:
                topic = _first(known, normalise_key(spec.slug), slug_only=True)
                for name in (spec.name, spec.name_fr):
                    clash = _first(known, normalise_key(name)) if name else None
                    if clash is not None and (topic is None or clash.id != topic.id):
                        raise InvalidInputError(
                            f"topic {spec.slug!r}: the name {name!r} is used by {clash.slug!r}"
                        )
                if topic is None:
                    known.append(await topics.add(spec, now))
                    created.append(spec.slug)
                else:
                    topic.name = spec.name
                    topic.name_key = normalise_key(spec.name)
                    topic.description = spec.description
                    topic.emoji = spec.emoji
                    topic.action_label = spec.action or None
                    topic.urgent = spec.urgent
                    topic.preview = spec.preview
                    topics.set_french(topic, spec.name_fr, spec.description_fr)
                    await topics.replace_rules(topic.id, spec)
                    updated.append(spec.slug)
            await AuditRepo(session).record(
                now,
                actor.name,
                "topics.import",
                ", ".join(created + updated),
                actor_id=actor.user_id,
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
        return await self.import_topics(specs, actor=TOPICS_FILE_ACTOR)

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    async def _topic(topics: TopicRepo, key: str) -> Topic:
        topic = await topics.by_key(key[:100])
        if topic is None:
            raise TopicNotFoundError(key)
        return topic

    async def _detail(self, session: AsyncSession, topic: Topic) -> TopicDetailView:
        repo = ReportRepo(session)
        rules = (await TopicRepo(session).rules([topic.id])).get(topic.id, [])
        total, active = await repo.subscribers(topic.id)
        posts = await repo.posts_matched_since(topic.id, self._clock.now() - TOPIC_POSTS_WINDOW)
        return TopicDetailView(
            id=topic.id,
            slug=topic.slug,
            name=topic.name,
            emoji=topic.emoji,
            description=topic.description,
            archived=topic.archived,
            rules=tuple((r.kind, r.value) for r in rules),
            subscribers=total,
            active_subscribers=active,
            posts_30_days=posts,
            action_label=topic.action_label,
            name_fr=topic.name_fr or "",
            description_fr=topic.description_fr or "",
            urgent=topic.urgent,
            preview=topic.preview or PREVIEW_SMALL,
        )


def _check_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidInputError.worded(N_("a topic name is 1-%(max)s characters"), max=NAME_MAX)
    if not normalise_key(name):
        raise InvalidInputError.worded(N_("a topic name needs a letter or a digit"))
    return name


def _first(topics: Sequence[Topic], key: str, *, slug_only: bool = False) -> Topic | None:
    """The first topic whose slug (or, unless `slug_only`, name in either language) has `key`."""
    if not key:
        return None
    for topic in topics:
        if key == topic.slug_key or (not slug_only and key in (topic.name_key, topic.name_fr_key)):
            return topic
    return None
