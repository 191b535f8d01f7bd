"""Admin commands and buttons: translate updates into role, topic, feed and report service calls.

Owns /whoami (anyone) and the admin commands /grant, /revoke, /team, /addtopic, /edittopic,
/topicrule, /archivetopic, /topicinfo, /addfeed, /feeds, /pausefeed, /resumefeed, /feedlanguage,
/feedinterval, /removefeed (with its Remove / Cancel buttons), /exportfeeds, /stats and /audit,
and OPML files sent in a private chat (an admin's are imported). Every admin command and
button is wrapped in `requires(Role.ADMIN)`, which asks for the role at the moment of use and
answers in private chats only (elsewhere it points to the private chat).

Each admin command is `@admin_command(name, parse)` over a function that makes one service
call and renders its result; the skeleton does the rest, the same for all: wrong arguments
(`parse` gives None) get the usage line and change nothing, domain errors get their reply.

Must not: import SQLAlchemy or `bot.db`, keep state between updates, or let a domain error
reach the user as a traceback. Domain errors are mapped here, in this order:
`TopicNotFoundError` -> "No topic called X …"; `FeedNotFoundError` -> "No feed X";
`NotFoundError` (a user) -> "I don't know @x: ask them to /start the bot";
`AlreadyExistsError`, `InvalidInputError` -> "Sorry, <reason>. Nothing was changed.";
`FeedError` (from /addfeed) -> the exact error, nothing added;
anything else goes to `bot.handlers.errors.error_handler`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import Bot, Document, Update
from telegram.constants import ChatType
from telegram.error import BadRequest

from bot.domain.types import Actor, Role
from bot.errors import (
    AlreadyExistsError,
    BotError,
    FeedError,
    FeedNotFoundError,
    InvalidInputError,
    NotFoundError,
    TopicNotFoundError,
)
from bot.handlers.context import Context, language_of, runtime_of, timezone_of
from bot.handlers.context import message_of as _message
from bot.handlers.context import query_of as _query
from bot.handlers.guards import Callback, requires, role_of_update
from bot.handlers.menus import install_staff_menus, refresh_menu
from bot.handlers.replies import answer as _answer
from bot.handlers.replies import edit as _edit
from bot.handlers.replies import reply as _reply
from bot.render import admins as render
from bot.render import callback_data as cb
from bot.render import supporters as render_supporters
from bot.render.text import RenderedMessage, invalid_button, reason, topic_not_found_message
from bot.runtime import Runtime
from bot.services.reports import parse_audit_limit
from bot.services.roles import RoleChange


async def install_team_menus(bot: Bot, runtime: Runtime) -> None:
    """At start: scoped command menus for ADMIN_IDS admins and granted organisers/admins."""
    await install_staff_menus(bot, await runtime.roles.staff_roles())


# -- helpers ------------------------------------------------------------------------------------


def _actor(update: Update) -> Actor:
    user = update.effective_user
    if user is None:
        raise ValueError("update without a user")
    return Actor.of(user.id, user.username)


def _args(text: str | None, count: int) -> list[str]:
    """The words after the command, the last one taking the rest of the text."""
    parts = (text or "").split(maxsplit=count)
    return [p.strip() for p in parts[1:]]


def _error_message(error: BotError, language: str) -> RenderedMessage:
    """The reply for a domain error of an admin command (order: module docstring)."""
    if isinstance(error, TopicNotFoundError):
        return topic_not_found_message(error.key, error.suggestions, language)
    if isinstance(error, FeedNotFoundError):
        return render.feed_not_found_message(error.key, language)
    if isinstance(error, NotFoundError):
        return render.unknown_user_message(error.key, language)
    if isinstance(error, AlreadyExistsError):
        return render.admin_error_message(f"{error.kind} {error.key} exists already", language)
    if isinstance(error, InvalidInputError):
        return render.admin_error_message(reason(error, language), language)
    return render.admin_error_message(str(error), language)


# -- the admin command skeleton -----------------------------------------------------------------

Args = TypeVar("Args")

# What a command reads from its message text: its arguments, or None for the usage line.
Parse = Callable[[str | None], Args | None]
# What a command does: one service call, rendered (domain errors are mapped by the skeleton).
Run = Callable[[Context, Actor, Args], Awaitable[RenderedMessage]]


@dataclass(frozen=True, slots=True)
class AdminCommand:
    """An admin command as `register_handlers` adds it: its name and its guarded callback."""

    name: str
    callback: Callback


def admin_command(name: str, parse: Parse[Args]) -> Callable[[Run[Args]], AdminCommand]:
    """Make `run` the admin command /name: every admin command takes the same steps.

    In a private chat, for a user who is an admin now (`requires(Role.ADMIN)`): parse the
    text (None -> the usage line, nothing changed), run the service call, map a domain error
    to its reply (`_error_message`), and reply with the result.
    """

    def decorate(run: Run[Args]) -> AdminCommand:
        @requires(Role.ADMIN)
        @functools.wraps(run)
        async def command(update: Update, context: Context) -> None:
            args = parse(_message(update).text)
            language = await language_of(update, context)
            if args is None:
                await _reply(update, render.usage_message(name, language))
                return
            # The actor carries the language its replies are worded in.
            actor = dataclasses.replace(_actor(update), language=language)
            try:
                message = await run(context, actor, args)
            except (NotFoundError, AlreadyExistsError, InvalidInputError) as error:
                message = _error_message(error, language)
            await _reply(update, message)

        return AdminCommand(name, command)

    return decorate


def words(count: int, *, one_word_last: bool = False) -> Parse[list[str]]:
    """Exactly `count` arguments, the last one taking the rest of the text (or one word)."""

    def parse(text: str | None) -> list[str] | None:
        args = _args(text, count)
        if len(args) != count or (one_word_last and " " in args[-1]):
            return None
        return args

    return parse


def nothing(text: str | None) -> tuple[()]:
    """No arguments (anything after the command is ignored)."""
    return ()


def url_and_name(text: str | None) -> tuple[str, str | None] | None:
    """/addfeed: a URL and an optional name (the rest of the text)."""
    args = _args(text, 2)
    if not args:
        return None
    return args[0], (args[1] if len(args) > 1 else None)


def audit_limit(text: str | None) -> int | None:
    """/audit: how many rows (`parse_audit_limit`), None if that is not a valid number."""
    args = _args(text, 1)
    try:
        return parse_audit_limit(args[0] if args else "")
    except InvalidInputError:
        return None


# -- anyone -------------------------------------------------------------------------------------


async def whoami_command(update: Update, context: Context) -> None:
    """/whoami: the user's numeric id and role (in a private chat)."""
    chat = update.effective_chat
    language = await language_of(update, context)
    if chat is not None and chat.type != ChatType.PRIVATE:
        await _reply(update, render.whoami_in_group_message(language))
        return
    me = await runtime_of(context).roles.whoami(_actor(update).user_id or 0)
    await _reply(update, render.whoami_message(me.user_id, me.role.value, me.source, language))


# -- roles --------------------------------------------------------------------------------------


async def _role_changed(
    context: Context, change: RoleChange, *, granted: bool, language: str
) -> RenderedMessage:
    """Refresh the user's command menu if their role changed; say what happened."""
    if change.changed:
        await refresh_menu(context.bot, change.user_id, change.role)
    return render.role_change_message(
        change.user_id,
        change.username,
        change.role.value,
        change.previous.value,
        changed=change.changed,
        granted=granted,
        admin_ids=change.admin_ids,
        language=language,
    )


@admin_command("grant", words(2, one_word_last=True))
async def grant_command(context: Context, actor: Actor, args: list[str]) -> RenderedMessage:
    """/grant <id|@username> organiser|admin: give a role and refresh their menu."""
    change = await runtime_of(context).roles.grant(actor, args[0], args[1])
    return await _role_changed(context, change, granted=True, language=actor.language)


@admin_command("revoke", words(1, one_word_last=True))
async def revoke_command(context: Context, actor: Actor, args: list[str]) -> RenderedMessage:
    """/revoke <id|@username>: back to supporter; their scoped menu is deleted."""
    change = await runtime_of(context).roles.revoke(actor, args[0])
    return await _role_changed(context, change, granted=False, language=actor.language)


@admin_command("team", nothing)
async def team_command(context: Context, actor: Actor, args: tuple[()]) -> RenderedMessage:
    """/team: organisers and admins, with ids, @usernames, role and source."""
    return render.team_message(await runtime_of(context).roles.team(), actor.language)


# -- topics -------------------------------------------------------------------------------------


@admin_command("addtopic", words(2))
async def addtopic_command(context: Context, actor: Actor, args: list[str]) -> RenderedMessage:
    """/addtopic <slug> <Name>: a new topic without rules."""
    topic = await runtime_of(context).topics.add_topic(actor, args[0], args[1])
    heading = render.topic_created_heading(actor.language)
    return render.topic_detail_message(topic, heading, actor.language)


@admin_command("edittopic", words(3))
async def edittopic_command(context: Context, actor: Actor, args: list[str]) -> RenderedMessage:
    """/edittopic <slug> name|description|emoji|action <value>, urgent on|off, preview …."""
    topic = await runtime_of(context).topics.edit_topic(actor, *args)
    heading = render.topic_changed_heading(args[1].lower(), actor.language)
    return render.topic_detail_message(topic, heading, actor.language)


@admin_command("topicrule", words(4))
async def topicrule_command(context: Context, actor: Actor, args: list[str]) -> RenderedMessage:
    """/topicrule <slug> add|remove category|country|type|keyword|exclude <text>."""
    change = await runtime_of(context).topics.change_rule(actor, *args)
    heading = render.rule_change_heading(
        change.op, change.kind, change.value, changed=change.changed, language=actor.language
    )
    return render.topic_detail_message(change.topic, heading, actor.language)


@admin_command("archivetopic", words(1))
async def archivetopic_command(context: Context, actor: Actor, args: list[str]) -> RenderedMessage:
    """/archivetopic <slug>: hidden from pickers and matching; subscribers are told."""
    result = await runtime_of(context).topics.archive_topic(actor, args[0])
    if result.notified:
        runtime_of(context).wake_delivery()
    heading = render.archived_heading(
        result.notified, changed=result.changed, language=actor.language
    )
    return render.topic_detail_message(result.topic, heading, actor.language)


@admin_command("topicinfo", words(1))
async def topicinfo_command(context: Context, actor: Actor, args: list[str]) -> RenderedMessage:
    """/topicinfo <slug>: rules, subscribers, posts matched in the last 30 days."""
    topic = await runtime_of(context).topics.topic_info(args[0])
    return render.topic_detail_message(topic, language=actor.language)


# -- feeds --------------------------------------------------------------------------------------


@admin_command("addfeed", url_and_name)
async def addfeed_command(
    context: Context, actor: Actor, args: tuple[str, str | None]
) -> RenderedMessage:
    """/addfeed <url> [name]: check the feed now; add it if it reads."""
    url, name = args
    try:
        added = await runtime_of(context).feeds.add_checked_feed(url, name, actor=actor)
    except FeedError as error:
        return render.feed_check_failed_message(url, error.message, actor.language)
    return render.feed_added_message(added.feed, added.title, added.entries, actor.language)


@admin_command("feeds", nothing)
async def feeds_command(context: Context, actor: Actor, args: tuple[()]) -> RenderedMessage:
    """/feeds: each feed with its health."""
    feeds = await runtime_of(context).feeds.list_feeds()
    return render.feeds_message(feeds, timezone_of(context), actor.language)


async def _set_paused(context: Context, actor: Actor, key: str, paused: bool) -> RenderedMessage:
    feed, changed = await runtime_of(context).feeds.set_feed_paused(key, paused, actor=actor)
    return render.feed_paused_message(
        feed, paused=paused, changed=changed, language=actor.language
    )


@admin_command("pausefeed", words(1))
async def pausefeed_command(context: Context, actor: Actor, args: list[str]) -> RenderedMessage:
    """/pausefeed <id|url>: stop polling a feed."""
    return await _set_paused(context, actor, args[0], True)


@admin_command("feedlanguage", words(2, one_word_last=True))
async def feedlanguage_command(context: Context, actor: Actor, args: list[str]) -> RenderedMessage:
    """/feedlanguage <id|url> en|fr|other|auto: fix a feed's language, or read it again."""
    feed, changed = await runtime_of(context).feeds.set_feed_language(
        args[0], args[1], actor=actor
    )
    return render.feed_language_message(feed, changed=changed)


@admin_command("feedinterval", words(2, one_word_last=True))
async def feedinterval_command(context: Context, actor: Actor, args: list[str]) -> RenderedMessage:
    """/feedinterval <id|url> 15m|2h|1d|auto: poll a feed at its own pace, or automatically."""
    feed, changed = await runtime_of(context).feeds.set_feed_interval(
        args[0], args[1], actor=actor
    )
    return render.feed_interval_message(feed, changed=changed, language=actor.language)


@requires(Role.ADMIN)
async def exportfeeds_command(update: Update, context: Context) -> None:
    """/exportfeeds: every feed as an OPML document, named after today's date."""
    runtime = runtime_of(context)
    language = await language_of(update, context)
    document = await runtime.feeds.export_opml()
    count = len(await runtime.feeds.list_feeds())
    day = runtime.clock.now().astimezone(timezone_of(context)).date()
    await _message(update).reply_document(
        document=document,
        filename=f"campaignbot-feeds-{day.isoformat()}.opml",
        caption=render.feeds_export_caption(count, language),
    )


def _looks_like_opml(document: Document) -> bool:
    """A file name or type that says "feed list" (anything else an admin sends is tried too)."""
    name = (document.file_name or "").lower()
    return name.endswith(".opml") or "opml" in (document.mime_type or "").lower()


async def feed_list_document(update: Update, context: Context) -> None:
    """A file in a private chat: an admin's is imported as OPML, with the /addfeed checks.

    The role is asked now. Someone else sending an .opml file is told only admins import
    feeds; any other file gets the free-text hint, as before this handler existed.
    """
    message = _message(update)
    document = message.document
    language = await language_of(update, context)
    if document is None:  # pragma: no cover - the filter lets documents only
        return
    if not (await role_of_update(update, context)).allows(Role.ADMIN):
        if _looks_like_opml(document):
            await _reply(update, render.import_admins_only_message(language))
        else:
            await _reply(update, render_supporters.free_text_hint(language))
        return
    feeds = runtime_of(context).feeds
    try:
        feeds.check_import_size(document.file_size or 0)
        try:
            telegram_file = await document.get_file()
            content = bytes(await telegram_file.download_as_bytearray())
        except BadRequest:  # "file is too big", or gone
            await _reply(update, render.opml_download_failed_message(language))
            return
        feeds.check_import_size(len(content))
        actor = dataclasses.replace(_actor(update), language=language)
        report = await feeds.import_opml(content, actor=actor)
    except InvalidInputError as error:
        await _reply(update, render.opml_refused_message(reason(error, language), language))
        return
    await _reply(update, render.feed_import_message(report, language))


@admin_command("resumefeed", words(1))
async def resumefeed_command(context: Context, actor: Actor, args: list[str]) -> RenderedMessage:
    """/resumefeed <id|url>: poll a paused feed again, at once."""
    return await _set_paused(context, actor, args[0], False)


@admin_command("removefeed", words(1))
async def removefeed_command(context: Context, actor: Actor, args: list[str]) -> RenderedMessage:
    """/removefeed <id|url>: ask to confirm with a Remove button."""
    feed = await runtime_of(context).feeds.find_feed(args[0])
    return render.feed_remove_prompt(feed, actor.language)


@requires(Role.ADMIN)
async def feed_remove_button(update: Update, context: Context) -> None:
    """The Remove button of /removefeed: remove the feed and say so in the same message."""
    query = _query(update)
    pressed = cb.parse_admin(query.data)
    language = await language_of(update, context)
    if pressed is None or pressed.kind != cb.FEED_REMOVE:
        await _answer(query, invalid_button(language))
        return
    try:
        feed = await runtime_of(context).feeds.remove_feed(
            str(pressed.feed_id), actor=_actor(update)
        )
    except FeedNotFoundError:
        await _answer(query, invalid_button(language))
        return
    await _answer(query, render.feed_removed_answer(language))
    await _edit(query, render.feed_removed_message(feed, language))


@requires(Role.ADMIN)
async def feed_keep_button(update: Update, context: Context) -> None:
    """The Cancel button of /removefeed."""
    query = _query(update)
    await _answer(query)
    await _edit(query, render.feed_kept_message(await language_of(update, context)))


# -- figures ------------------------------------------------------------------------------------


@admin_command("stats", nothing)
async def stats_command(context: Context, actor: Actor, args: tuple[()]) -> RenderedMessage:
    """/stats: chats, subscriptions per topic, the last 7 days, failures by reason."""
    return render.stats_message(await runtime_of(context).reports.stats(), actor.language)


@admin_command("audit", audit_limit)
async def audit_command(context: Context, actor: Actor, args: int) -> RenderedMessage:
    """/audit [n]: the latest n (default 20, at most 100) admin and organiser actions."""
    rows = await runtime_of(context).reports.audit(args)
    return render.audit_message(rows, timezone_of(context), actor.language)


# -- the registry -------------------------------------------------------------------------------

_ADMIN_ONLY = (
    grant_command,
    revoke_command,
    team_command,
    addtopic_command,
    edittopic_command,
    topicrule_command,
    archivetopic_command,
    topicinfo_command,
    addfeed_command,
    feeds_command,
    pausefeed_command,
    resumefeed_command,
    feedlanguage_command,
    feedinterval_command,
    removefeed_command,
    stats_command,
    audit_command,
)

# Values are Any: `requires` types its wrapper as returning Awaitable, PTB asks for Coroutine.
COMMANDS: dict[str, Any] = {
    "whoami": whoami_command,
    **{command.name: command.callback for command in _ADMIN_ONLY},
    "exportfeeds": exportfeeds_command,
}

BUTTONS: dict[str, Any] = {
    cb.FEED_REMOVE: feed_remove_button,
    cb.FEED_KEEP: feed_keep_button,
}


def button_kind(kind: str) -> Callable[[object], bool]:
    """A CallbackQueryHandler pattern accepting admin callback data of one kind."""

    def matches(data: object) -> bool:
        parsed = cb.parse_admin(data) if isinstance(data, str) else None
        return parsed is not None and parsed.kind == kind

    return matches
