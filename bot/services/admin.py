"""Admin use-cases from chat: roles, topics, feeds, figures, the audit log and feed health.

Owns one transaction per public method, an audit row for every change (actor, action,
target), and the validation of what admins type (slugs, names, rules, roles). Feed changes
go through `CatalogService` and feed checks through `IngestService.check_feed`, so chat and
CLI behave alike. Returns plain values (the dataclasses below) for `bot.render` to show.
Must not: receive or return Telegram objects, import `telegram.ext` or handlers, or send
messages itself (the handler or job sends what it gets back).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Feed, Topic
from bot.db.repos import AuditRepo, BroadcastRepo, FeedRepo, ReportRepo, TopicRepo, UserRepo
from bot.domain.clock import Clock
from bot.domain.matching import normalise_key

# The one rule validator a topics file uses too, so chat and files accept the same rules.
from bot.domain.topics import (
    DESCRIPTION_MAX,
    EMOJI_MAX,
    NAME_MAX,
    RULES_PER_TOPIC_MAX,
    check_rule,
    validate_slug,
)
from bot.domain.types import Role, RuleKind, TopicSpec
from bot.domain.views import (
    AuditView,
    FeedHealthView,
    StatsView,
    TeamMemberView,
    TopicDetailView,
    TopicView,
)
from bot.errors import (
    AlreadyExistsError,
    FeedNotFoundError,
    InvalidInputError,
    NotFoundError,
    TopicNotFoundError,
)
from bot.render.notifications import archive_notice
from bot.services.catalog import CatalogService, FeedInfo
from bot.services.ingest import IngestService

AUDIT_DEFAULT = 20
AUDIT_MAX = 100
FAILING_REPORT_AFTER = timedelta(hours=24)
STATS_WINDOW = timedelta(days=7)
TOPIC_POSTS_WINDOW = timedelta(days=30)
TOPIC_FIELDS = ("name", "description", "emoji")
RULE_OPS = ("add", "remove")
# What admins may type for a role (both spellings of organiser).
ROLE_WORDS = {"organiser": Role.ORGANISER, "organizer": Role.ORGANISER, "admin": Role.ADMIN}
# The file field each rule kind is checked as (`bot.domain.topics` speaks in file fields).
_RULE_FIELD = {
    RuleKind.CATEGORY: "categories",
    RuleKind.KEYWORD: "keywords",
    RuleKind.EXCLUDE: "exclude",
}
# Clearing a description or an emoji: "/edittopic x description -".
CLEAR_VALUE = "-"
SOURCE_ADMIN_IDS = "ADMIN_IDS"
SOURCE_GRANTED = "granted"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something: the Telegram user id and how the audit log names them."""

    user_id: int | None
    name: str

    @classmethod
    def of(cls, user_id: int, username: str | None) -> Actor:
        """An actor from chat: "@username (id)", or the id alone."""
        return cls(user_id, f"@{username} ({user_id})" if username else str(user_id))


@dataclass(frozen=True, slots=True)
class Identity:
    """/whoami: a user's id, role and where the role comes from (None for supporters)."""

    user_id: int
    role: Role
    source: str | None


@dataclass(frozen=True, slots=True)
class RoleChange:
    """What a grant or revoke did."""

    user_id: int
    username: str | None
    role: Role  # the role the user holds now
    previous: Role
    changed: bool
    admin_ids: bool = False  # the user is an admin through ADMIN_IDS (the grant changes nothing)


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


def _role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:  # pragma: no cover - the CHECK constraint allows only known roles
        return Role.SUPPORTER


def _feed_view(feed: FeedInfo) -> FeedHealthView:
    return FeedHealthView(
        id=feed.id,
        url=feed.url,
        label=feed.label,
        paused=feed.paused,
        last_success_at=feed.last_success_at,
        last_error=feed.last_error,
        consecutive_failures=feed.consecutive_failures,
        next_poll_at=feed.next_poll_at,
    )


def _alert(feed: Feed) -> FeedAlert:
    return FeedAlert(
        id=feed.id,
        url=feed.url,
        label=feed.name or feed.title or feed.url,
        last_error=feed.last_error,
        failing_since=feed.failing_since,
    )


class AdminService:
    """The admin use-cases; see the module docstring."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        admin_ids: Iterable[int],
        *,
        catalog: CatalogService,
        ingest: IngestService,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self.admin_ids = frozenset(admin_ids)
        self._catalog = catalog
        self._ingest = ingest

    # -- roles --------------------------------------------------------------------------------

    async def whoami(self, user_id: int) -> Identity:
        """A user's role right now and where it comes from."""
        if user_id in self.admin_ids:
            return Identity(user_id, Role.ADMIN, SOURCE_ADMIN_IDS)
        async with self._sessionmaker() as session:
            user = await UserRepo(session).get(user_id)
        role = _role(user.role) if user is not None else Role.SUPPORTER
        return Identity(user_id, role, None if role is Role.SUPPORTER else SOURCE_GRANTED)

    async def grant(self, actor: Actor, target: str, role_word: str) -> RoleChange:
        """Give a user (numeric id or @username) the organiser or admin role.

        Raises:
            InvalidInputError: the target or the role is not written correctly.
            NotFoundError: no user with that @username has talked to the bot.
        """
        role = ROLE_WORDS.get(role_word.strip().lower())
        if role is None:
            raise InvalidInputError("the role must be organiser or admin")
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            repo = UserRepo(session)
            user_id, username = await self._resolve(repo, target)
            if user_id in self.admin_ids:
                return RoleChange(user_id, username, Role.ADMIN, Role.ADMIN, False, True)
            previous = await repo.set_role(user_id, role.value, actor.user_id, now)
            before = _role(previous) if previous is not None else Role.SUPPORTER
            changed = before is not role
            if changed:
                await AuditRepo(session).record(
                    now,
                    actor.name,
                    "role.grant",
                    _who(user_id, username),
                    actor_id=actor.user_id,
                    detail={"role": role.value, "previous": before.value},
                )
            return RoleChange(user_id, username, role, before, changed)

    async def revoke(self, actor: Actor, target: str) -> RoleChange:
        """Make a user a supporter again (ADMIN_IDS admins cannot be revoked in chat).

        Raises:
            InvalidInputError: the target is not written correctly, or is in ADMIN_IDS.
            NotFoundError: no user with that @username has talked to the bot.
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            repo = UserRepo(session)
            user_id, username = await self._resolve(repo, target)
            if user_id in self.admin_ids:
                raise InvalidInputError(
                    f"{_who(user_id, username)} is an admin through ADMIN_IDS, the bot's "
                    "configuration; to revoke them, remove the id from ADMIN_IDS and restart"
                )
            user = await repo.get(user_id)
            before = _role(user.role) if user is not None else Role.SUPPORTER
            if before is Role.SUPPORTER:
                return RoleChange(user_id, username, Role.SUPPORTER, before, False)
            await repo.set_role(user_id, Role.SUPPORTER.value, None, now)
            await AuditRepo(session).record(
                now,
                actor.name,
                "role.revoke",
                _who(user_id, username),
                actor_id=actor.user_id,
                detail={"previous": before.value},
            )
            return RoleChange(user_id, username, Role.SUPPORTER, before, True)

    async def team(self) -> list[TeamMemberView]:
        """Admins from ADMIN_IDS, then granted admins and organisers."""
        async with self._sessionmaker() as session:
            repo = UserRepo(session)
            staff = await repo.staff()
            names = await repo.usernames(self.admin_ids)
        members = [
            TeamMemberView(uid, names.get(uid), Role.ADMIN.value, SOURCE_ADMIN_IDS)
            for uid in sorted(self.admin_ids)
        ]
        granted = [
            TeamMemberView(u.id, u.username, _role(u.role).value, SOURCE_GRANTED)
            for u in staff
            if u.id not in self.admin_ids
        ]
        granted.sort(key=lambda m: (-_role(m.role).rank, m.user_id))
        return members + granted

    async def staff_roles(self) -> list[tuple[int, Role]]:
        """(user id, role) of everyone above supporter: whose command menus to install."""
        return [(m.user_id, _role(m.role)) for m in await self.team()]

    async def admin_recipients(self) -> tuple[int, ...]:
        """Every admin's user id (ADMIN_IDS and granted), for reports in their private chats."""
        return tuple(m.user_id for m in await self.team() if m.role == Role.ADMIN.value)

    async def _resolve(self, repo: UserRepo, target: str) -> tuple[int, str | None]:
        text = target.strip()
        if text.startswith("@"):
            user = await repo.by_username(text[1:]) if len(text) <= 65 else None
            if user is None:
                raise NotFoundError("user", text)
            return user.id, user.username
        if text.isascii() and text.isdigit() and 0 < len(text) <= 15:
            user_id = int(text)
            user = await repo.get(user_id)
            return user_id, user.username if user is not None else None
        raise InvalidInputError(
            "write the user as a numeric id (they get it with /whoami) or @username"
        )

    # -- topics -------------------------------------------------------------------------------

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
        """Change a topic's name, description or emoji ("-" clears description and emoji).

        Raises:
            TopicNotFoundError: no topic matches `key`.
            InvalidInputError: the field or value is not valid, or the name is taken.
        """
        field = field.strip().lower()
        if field not in TOPIC_FIELDS:
            raise InvalidInputError("the field must be name, description or emoji")
        value = value.strip()
        if field == "name":
            value = _check_name(value)
        elif value == CLEAR_VALUE:
            value = ""
        elif field == "description" and len(value) > DESCRIPTION_MAX:
            raise InvalidInputError(
                f"a description is at most {DESCRIPTION_MAX} characters, not {len(value)}"
            )
        elif field == "emoji" and len(value) > EMOJI_MAX:
            raise InvalidInputError(f"an emoji is at most {EMOJI_MAX} characters")
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            topics = TopicRepo(session)
            topic = await self._topic(topics, key)
            if field == "name":
                clash = await topics.by_key(value)
                if clash is not None and clash.id != topic.id:
                    raise InvalidInputError(
                        f"the name {value!r} is taken by the topic {clash.slug!r}"
                    )
                topic.name, topic.name_key = value, normalise_key(value)
            elif field == "description":
                topic.description = value
            else:
                topic.emoji = value
            await session.flush()
            await AuditRepo(session).record(
                now,
                actor.name,
                f"topic.edit.{field}",
                topic.slug,
                actor_id=actor.user_id,
                detail={field: value},
            )
            return await self._detail(session, topic)

    async def change_rule(
        self, actor: Actor, key: str, op: str, kind: str, value: str
    ) -> RuleChange:
        """Add or remove one category, keyword or exclude rule; new posts match by it at once.

        Raises:
            TopicNotFoundError: no topic matches `key`.
            InvalidInputError: the operation, kind or rule is not valid, or too many rules.
        """
        op, kind_word, value = op.strip().lower(), kind.strip().lower(), value.strip()
        if op not in RULE_OPS:
            raise InvalidInputError("the operation must be add or remove")
        try:
            rule_kind = RuleKind(kind_word)
        except ValueError:
            raise InvalidInputError("the rule kind must be category, keyword or exclude") from None
        if op == "add":
            check_rule(_RULE_FIELD[rule_kind], value)
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            repo = TopicRepo(session)
            topic = await self._topic(repo, key)
            if op == "add":
                if await repo.rule_count(topic.id) >= RULES_PER_TOPIC_MAX:
                    raise InvalidInputError(
                        f"a topic has at most {RULES_PER_TOPIC_MAX} rules; remove one first"
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
            notice = archive_notice(TopicView(topic.id, topic.slug, topic.name, topic.emoji))
            notified = await BroadcastRepo(session).queue_notice(
                actor.user_id or 0, notice, topic.id, now
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
        )

    # -- feeds --------------------------------------------------------------------------------

    async def add_feed(self, actor: Actor, url: str, name: str | None = None) -> FeedAdded:
        """Fetch and parse a feed once; if it reads, add it (polled at once).

        Raises:
            AlreadyExistsError: the feed is there already.
            FeedError: the feed cannot be fetched or parsed (the message says why).
        """
        try:
            existing = await self._catalog.find_feed(url)
        except FeedNotFoundError:
            existing = None
        if existing is not None:
            raise AlreadyExistsError("feed", existing.url)
        check = await self._ingest.check_feed(url)
        feed = await self._catalog.add_feed(
            check.url, name, actor=actor.name, actor_id=actor.user_id
        )
        return FeedAdded(_feed_view(feed), check.feed.title, len(check.feed.entries))

    async def list_feeds(self) -> list[FeedHealthView]:
        """Every feed with its health."""
        return [_feed_view(f) for f in await self._catalog.list_feeds()]

    async def find_feed(self, key: str) -> FeedHealthView:
        """A feed by id or URL.

        Raises:
            FeedNotFoundError: none matches.
        """
        return _feed_view(await self._catalog.find_feed(key[:2048]))

    async def set_feed_paused(
        self, actor: Actor, key: str, paused: bool
    ) -> tuple[FeedHealthView, bool]:
        """Pause or resume a feed; False when it was so already.

        Raises:
            FeedNotFoundError: none matches.
        """
        feed, changed = await self._catalog.set_feed_paused(
            key[:2048], paused, actor=actor.name, actor_id=actor.user_id
        )
        return _feed_view(feed), changed

    async def remove_feed(self, actor: Actor, feed_id: int) -> FeedHealthView:
        """Remove a feed (its posts stay).

        Raises:
            FeedNotFoundError: it is gone already.
        """
        return _feed_view(
            await self._catalog.remove_feed(str(feed_id), actor=actor.name, actor_id=actor.user_id)
        )

    # -- figures ------------------------------------------------------------------------------

    async def stats(self) -> StatsView:
        """Chats, subscriptions per topic, posts and deliveries of the last 7 days, failures."""
        since = self._clock.now() - STATS_WINDOW
        topics = await self._catalog.list_topics(include_archived=True)
        async with self._sessionmaker() as session:
            repo = ReportRepo(session)
            active, inactive = await repo.chat_counts()
            posts = await repo.posts_since(since)
            deliveries = await repo.deliveries_since(since)
            reasons = await repo.failure_reasons(since)
        return StatsView(
            chats_active=active,
            chats_inactive=inactive,
            topics=tuple(
                (f"{t.emoji} {t.name}".strip(), t.archived, t.subscribers) for t in topics
            ),
            posts_7_days=posts,
            deliveries_7_days=deliveries,
            failure_reasons=tuple(reasons),
        )

    async def audit(self, limit: int = AUDIT_DEFAULT) -> list[AuditView]:
        """The latest audit rows, newest first (at most AUDIT_MAX)."""
        limit = max(1, min(limit, AUDIT_MAX))
        async with self._sessionmaker() as session:
            rows = await AuditRepo(session).latest(limit)
        return [AuditView(r.at, r.actor, r.action, r.target) for r in rows]

    # -- feed health --------------------------------------------------------------------------

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
            recipients = await self.admin_recipients()
        return HealthReport(report_failing, report_recovered, recipients)


def _who(user_id: int, username: str | None) -> str:
    return f"@{username} ({user_id})" if username else str(user_id)


def _check_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidInputError(f"a topic name is 1-{NAME_MAX} characters")
    if not normalise_key(name):
        raise InvalidInputError("a topic name needs a letter or a digit")
    return name


def parse_audit_limit(text: str) -> int:
    """The n of /audit [n]: default 20, at most 100.

    Raises:
        InvalidInputError: it is not a positive whole number.
    """
    text = text.strip()
    if not text:
        return AUDIT_DEFAULT
    if not (text.isascii() and text.isdigit()) or len(text) > 6 or int(text) < 1:
        raise InvalidInputError(f"n must be a whole number from 1 to {AUDIT_MAX}")
    return min(int(text), AUDIT_MAX)
