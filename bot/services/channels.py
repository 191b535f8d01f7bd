"""Channel use-cases: link a channel or group to topics, unlink it, list them, follow its health.

A linked channel is an ordinary chat with ordinary subscriptions (so fan-out, the outbox,
twins and broadcasts reach it with no path of their own) plus a `linked_channels` row with
its public title and @username. Owns one transaction per public method and an audit row for
every link and unlink. The handler asks Telegram (getChat, getChatMember) and passes the
facts in; this service never talks to Telegram and returns plain values for `bot.render`.

When the bot can no longer post in a linked chat (removed, demoted, or a send answered
403/"chat not found"), the chat becomes inactive through one conditional UPDATE, so exactly
one caller learns it and the admins are told once (`lost_report`).

Must not: receive or return Telegram objects, import `telegram.ext` or handlers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Chat, LinkedChannel, Topic
from bot.db.repos import AuditRepo, ChannelRepo, ChatRepo, DeliveryRepo, TopicRepo, TotalsRepo
from bot.db.repos.pace import PaceRepo
from bot.domain.channels import ChannelFacts, ChannelView
from bot.domain.clock import Clock
from bot.domain.types import Actor, Role
from bot.errors import NotFoundError, TopicNotFoundError
from bot.services.roles import RoleService
from bot.services.subscriptions import MAX_KEY_CHARS, suggest_topics

# /channels counts failed deliveries of this window.
FAILURE_WINDOW = timedelta(hours=24)
# Why a chat's pending deliveries were dropped when an admin unlinked it.
UNLINKED = "unlinked by an admin"


@dataclass(frozen=True, slots=True)
class LinkResult:
    """After /channel: the chat as now linked, whether it is new, and what changed."""

    channel: ChannelView
    created: bool
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LostReport:
    """A linked chat the bot can no longer post in, and the admins to tell (id, language)."""

    channel: ChannelView
    reason: str
    recipients: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class StatusChange:
    """What a change of the bot's membership did to a chat (`bot_status_changed`).

    `linked`: the chat is linked. `lost`: this change made it inactive; `restored`: this
    change made it active again (either way `report` says whom to tell).
    """

    linked: bool
    lost: bool = False
    restored: bool = False
    report: LostReport | None = None


class ChannelService:
    """Linked channels and groups: /channel, /channels, and the bot's membership in them."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        roles: RoleService,
        *,
        default_language: str,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._roles = roles
        self._default_language = default_language

    async def is_admin(self, user_id: int | None) -> bool:
        """Whether a Telegram user holds the admin role now (ADMIN_IDS or granted)."""
        return await self._roles.role_of(user_id) is Role.ADMIN

    async def link(self, actor: Actor, facts: ChannelFacts, keys: Sequence[str]) -> LinkResult:
        """Link a chat the bot may post in to exactly these topics (replacing the previous set).

        The chat is created or reactivated with the default language and no digest or quiet
        hours (a channel is instant). Topic keys match as elsewhere (slug, either language's
        name); without commas the words are tried one by one, then as one name.

        Raises:
            TopicNotFoundError: A key names no active topic (nothing is changed).
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            topics = await self._topics(session, keys)
            chats = ChatRepo(session)
            chat = await chats.ensure(facts.chat_id, facts.chat_type, now)
            chat.language = chat.language or self._default_language
            chat.digest = None
            chat.quiet = None
            repo = ChannelRepo(session)
            created = await repo.save(
                facts.chat_id, facts.title, facts.username, actor.user_id, now
            )
            added, removed = await repo.replace_topics(facts.chat_id, [t.id for t in topics], now)
            totals = TotalsRepo(session)
            for topic_id in added:
                await totals.add_growth(topic_id, now.date(), joined=1)
            for topic_id in removed:
                await totals.add_growth(topic_id, now.date(), left=1)
            names = {t.id: t.name for t in await TopicRepo(session).all(include_archived=True)}
            await AuditRepo(session).record(
                now,
                actor.name,
                "channel.link",
                _target(facts.chat_id, facts.username),
                actor_id=actor.user_id,
                detail={"topics": [t.slug for t in topics], "type": facts.chat_type},
            )
            view = await self._view(session, facts.chat_id)
        return LinkResult(
            view,
            created,
            tuple(names.get(t, str(t)) for t in added),
            tuple(names.get(t, str(t)) for t in removed),
        )

    async def find(self, ref: str | int) -> ChannelView | None:
        """A linked chat by @username or id, or None."""
        async with self._sessionmaker() as session:
            row = await _linked(ChannelRepo(session), ref)
            return None if row is None else await self._view(session, row.chat_id)

    async def unlink(self, actor: Actor, ref: str | int) -> ChannelView:
        """Unlink a chat: its subscriptions and linked row go, its pending deliveries are dropped.

        The chat row stays (its delivery history still counts in the figures); without
        subscriptions nothing more reaches it.

        Raises:
            NotFoundError: No linked chat has this @username or id.
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            repo = ChannelRepo(session)
            row = await _linked(repo, ref)
            if row is None:
                raise NotFoundError("channel", str(ref))
            view = await self._view(session, row.chat_id)
            _, removed = await repo.replace_topics(row.chat_id, [], now)
            totals = TotalsRepo(session)
            for topic_id in removed:
                await totals.add_growth(topic_id, now.date(), left=1)
            dropped = await DeliveryRepo(session).drop_pending_for_chat(row.chat_id, UNLINKED)
            await repo.remove(row.chat_id)
            await AuditRepo(session).record(
                now,
                actor.name,
                "channel.unlink",
                _target(row.chat_id, row.username),
                actor_id=actor.user_id,
                detail={"dropped": dropped},
            )
        return view

    async def list_channels(self) -> list[ChannelView]:
        """Every linked channel and group with its topics and health, by title."""
        async with self._sessionmaker() as session:
            repo = ChannelRepo(session)
            rows = await repo.linked()
            ids = [row.chat_id for row, _ in rows]
            names = await repo.topic_names(ids)
            health = await repo.health(ids, self._clock.now() - FAILURE_WINDOW)
        return [
            _view(row, chat, names.get(row.chat_id, []), health.get(row.chat_id))
            for row, chat in rows
        ]

    async def bot_status_changed(
        self, facts: ChannelFacts, *, may_post: bool, reason: str
    ) -> StatusChange:
        """The bot's membership in a chat changed (my_chat_member): follow it if linked.

        A linked chat the bot may post in again becomes active; one it may no longer post in
        becomes inactive (once: `deactivate` is conditional), its pending deliveries dropped.
        Either transition comes with a report of which admins to tell. An unlinked chat is
        not touched.
        """
        now = self._clock.now()
        admins = await self._roles.admin_recipients()
        async with self._sessionmaker.begin() as session:
            repo = ChannelRepo(session)
            row = await repo.get(facts.chat_id)
            if row is None:
                return StatusChange(linked=False)
            await repo.update_identity(facts.chat_id, facts.title, facts.username)
            chats = ChatRepo(session)
            if may_post:
                chat = await chats.get(facts.chat_id)
                if chat is None or chat.active:
                    return StatusChange(linked=True)
                await chats.ensure(facts.chat_id, facts.chat_type, now)
                report = await self._report(session, facts.chat_id, "", admins)
                return StatusChange(linked=True, restored=True, report=report)
            lost = await chats.deactivate(facts.chat_id, reason, now)
            if not lost:
                return StatusChange(linked=True)
            await DeliveryRepo(session).drop_pending_for_chat(facts.chat_id, reason)
            await PaceRepo(session).drop_digests_for_chat(facts.chat_id, reason)
            report = await self._report(session, facts.chat_id, reason, admins)
        return StatusChange(linked=True, lost=True, report=report)

    async def lost_report(self, chat_id: int, reason: str) -> LostReport | None:
        """Whom to tell that the bot lost a chat it was made inactive in (None: not linked).

        Called once per loss by whoever made the chat inactive (the delivery engine after a
        403 or "chat not found"; the group path of my_chat_member).
        """
        admins = await self._roles.admin_recipients()
        async with self._sessionmaker() as session:
            if await ChannelRepo(session).get(chat_id) is None:
                return None
            return await self._report(session, chat_id, reason, admins)

    # -- internals ----------------------------------------------------------------------------

    async def _report(
        self, session: AsyncSession, chat_id: int, reason: str, admins: Sequence[int]
    ) -> LostReport:
        """The report about a chat for `admins`, each with the language of their chat.

        `admins` is asked of RoleService before the session opens: on SQLite a second
        session inside a transaction would wait for the first.
        """
        view = await self._view(session, chat_id)
        stored = await ChatRepo(session).languages(admins)
        recipients = tuple((a, stored.get(a) or self._default_language) for a in admins)
        return LostReport(view, reason, recipients)

    async def _view(self, session: AsyncSession, chat_id: int) -> ChannelView:
        repo = ChannelRepo(session)
        row = await repo.get(chat_id)
        chat = await session.get(Chat, chat_id)
        if row is None or chat is None:  # pragma: no cover - callers hold the row
            raise NotFoundError("channel", str(chat_id))
        names = (await repo.topic_names([chat_id])).get(chat_id, [])
        health = (await repo.health([chat_id], self._clock.now() - FAILURE_WINDOW)).get(chat_id)
        return _view(row, chat, names, health)

    @staticmethod
    async def _topics(session: AsyncSession, keys: Sequence[str]) -> list[Topic]:
        """The active topics the keys name, each once, in the order given."""
        repo = TopicRepo(session)
        found: dict[int, Topic] = {}
        missing: str | None = None
        for key in keys:
            topic = await repo.by_key(key[:MAX_KEY_CHARS]) if len(key) <= MAX_KEY_CHARS else None
            if topic is None or topic.archived:
                missing = key
                break
            found.setdefault(topic.id, topic)
        if missing is None:
            return list(found.values())
        whole = " ".join(keys)
        if len(keys) > 1 and len(whole) <= MAX_KEY_CHARS:
            topic = await repo.by_key(whole)
            if topic is not None and not topic.archived:
                return [topic]
        raise TopicNotFoundError(missing, suggest_topics(missing, await repo.all()))


async def _linked(repo: ChannelRepo, ref: str | int) -> LinkedChannel | None:
    if isinstance(ref, int):
        return await repo.get(ref)
    return await repo.by_username(ref.lstrip("@"))


def _target(chat_id: int, username: str | None) -> str:
    return f"@{username} ({chat_id})" if username else str(chat_id)


def _view(
    row: LinkedChannel,
    chat: Chat,
    topics: Sequence[str],
    health: tuple[int, datetime | None, int] | None,
) -> ChannelView:
    pending, last, failures = health or (0, None, 0)
    return ChannelView(
        chat_id=row.chat_id,
        chat_type=chat.type,
        title=row.title,
        username=row.username,
        topics=tuple(topics),
        active=chat.active,
        inactive_reason=chat.inactive_reason,
        pending=pending,
        last_sent_at=last,
        failures_24h=failures,
        linked_at=row.linked_at,
    )
