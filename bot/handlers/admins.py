"""Admin commands and buttons: translate updates into service calls and replies.

Owns /whoami (anyone) and the admin commands /grant, /revoke, /team, /addtopic, /edittopic,
/topicrule, /archivetopic, /topicinfo, /addfeed, /feeds, /pausefeed, /resumefeed,
/removefeed (with its Remove / Cancel buttons), /stats and /audit. Every admin command and
button is wrapped in `requires(Role.ADMIN)`, which asks for the role at the moment of use and
answers in private chats only (elsewhere it points to the private chat).
Wrong arguments get the usage line and change nothing.

Must not: import SQLAlchemy or `bot.db`, keep state between updates, or let a domain error
reach the user as a traceback. Domain errors are mapped here, in this order:
`TopicNotFoundError` -> "No topic called X …"; `FeedNotFoundError` -> "No feed X";
`NotFoundError` (a user) -> "I don't know @x: ask them to /start the bot";
`AlreadyExistsError`, `InvalidInputError` -> "Sorry, <reason>. Nothing was changed.";
`FeedError` (from /addfeed) -> the exact error, nothing added;
anything else goes to `bot.handlers.errors.error_handler`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, CallbackQuery, LinkPreviewOptions, Update
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
from bot.handlers.context import Context, runtime_of, timezone_of
from bot.handlers.context import message_of as _message
from bot.handlers.context import query_of as _query
from bot.handlers.guards import requires
from bot.handlers.menus import install_staff_menus, refresh_menu
from bot.render import admins as render
from bot.render import callback_data as cb
from bot.render.text import INVALID_BUTTON, RenderedMessage, topic_not_found_message
from bot.runtime import Runtime
from bot.services.reports import parse_audit_limit

log = logging.getLogger(__name__)


async def install_team_menus(bot: Bot, runtime: Runtime) -> None:
    """At start: scoped command menus for ADMIN_IDS admins and granted organisers/admins."""
    await install_staff_menus(bot, await runtime.roles.staff_roles())


# -- helpers ------------------------------------------------------------------------------------


def _actor(update: Update) -> Actor:
    user = update.effective_user
    if user is None:
        raise ValueError("update without a user")
    return Actor.of(user.id, user.username)


def _args(update: Update, count: int) -> list[str]:
    """The words after the command, the last one taking the rest of the text."""
    parts = (_message(update).text or "").split(maxsplit=count)
    return [p.strip() for p in parts[1:]]


def _preview(message: RenderedMessage) -> LinkPreviewOptions | None:
    return LinkPreviewOptions(is_disabled=True) if message.disable_preview else None


async def _reply(update: Update, message: RenderedMessage) -> None:
    await _message(update).reply_text(
        message.text,
        reply_markup=message.reply_markup,
        link_preview_options=_preview(message),
    )


async def _answer(query: CallbackQuery, text: str | None = None) -> None:
    try:
        await query.answer(text)
    except BadRequest as error:
        log.info("callback query not answered", extra={"error": error.message})


async def _edit(query: CallbackQuery, message: RenderedMessage) -> None:
    try:
        await query.edit_message_text(
            message.text,
            reply_markup=message.reply_markup,
            link_preview_options=_preview(message),
        )
    except BadRequest as error:
        if "not modified" not in error.message.lower():
            raise


def _error_message(error: BotError) -> RenderedMessage:
    """The reply for a domain error of an admin command (order: module docstring)."""
    if isinstance(error, TopicNotFoundError):
        return topic_not_found_message(error.key, error.suggestions)
    if isinstance(error, FeedNotFoundError):
        return render.feed_not_found_message(error.key)
    if isinstance(error, NotFoundError):
        return render.unknown_user_message(error.key)
    if isinstance(error, AlreadyExistsError):
        return render.admin_error_message(f"{error.kind} {error.key} exists already")
    return render.admin_error_message(str(error))


async def _run(update: Update, call: Callable[[], Awaitable[RenderedMessage]]) -> None:
    """Call the service through `call` and reply with its rendering or the mapped error."""
    try:
        message = await call()
    except (NotFoundError, AlreadyExistsError, InvalidInputError) as error:
        message = _error_message(error)
    await _reply(update, message)


# -- anyone -------------------------------------------------------------------------------------


async def whoami_command(update: Update, context: Context) -> None:
    """/whoami: the user's numeric id and role (in a private chat)."""
    chat = update.effective_chat
    if chat is not None and chat.type != ChatType.PRIVATE:
        await _reply(update, render.whoami_in_group_message())
        return
    me = await runtime_of(context).roles.whoami(_actor(update).user_id or 0)
    await _reply(update, render.whoami_message(me.user_id, me.role.value, me.source))


# -- roles --------------------------------------------------------------------------------------


@requires(Role.ADMIN)
async def grant_command(update: Update, context: Context) -> None:
    """/grant <id|@username> organiser|admin: give a role and refresh their menu."""
    args = _args(update, 2)
    if len(args) != 2 or " " in args[1]:
        await _reply(update, render.usage_message("grant"))
        return

    async def call() -> RenderedMessage:
        change = await runtime_of(context).roles.grant(_actor(update), args[0], args[1])
        if change.changed:
            await refresh_menu(context.bot, change.user_id, change.role)
        return render.role_change_message(
            change.user_id,
            change.username,
            change.role.value,
            change.previous.value,
            changed=change.changed,
            granted=True,
            admin_ids=change.admin_ids,
        )

    await _run(update, call)


@requires(Role.ADMIN)
async def revoke_command(update: Update, context: Context) -> None:
    """/revoke <id|@username>: back to supporter; their scoped menu is deleted."""
    args = _args(update, 1)
    if len(args) != 1 or " " in args[0]:
        await _reply(update, render.usage_message("revoke"))
        return

    async def call() -> RenderedMessage:
        change = await runtime_of(context).roles.revoke(_actor(update), args[0])
        if change.changed:
            await refresh_menu(context.bot, change.user_id, Role.SUPPORTER)
        return render.role_change_message(
            change.user_id,
            change.username,
            change.role.value,
            change.previous.value,
            changed=change.changed,
            granted=False,
        )

    await _run(update, call)


@requires(Role.ADMIN)
async def team_command(update: Update, context: Context) -> None:
    """/team: organisers and admins, with ids, @usernames, role and source."""
    await _reply(update, render.team_message(await runtime_of(context).roles.team()))


# -- topics -------------------------------------------------------------------------------------


@requires(Role.ADMIN)
async def addtopic_command(update: Update, context: Context) -> None:
    """/addtopic <slug> <Name>: a new topic without rules."""
    args = _args(update, 2)
    if len(args) != 2:
        await _reply(update, render.usage_message("addtopic"))
        return

    async def call() -> RenderedMessage:
        topic = await runtime_of(context).topics.add_topic(_actor(update), args[0], args[1])
        heading = "✅ Topic created. Add matching rules with /topicrule."
        return render.topic_detail_message(topic, heading)

    await _run(update, call)


@requires(Role.ADMIN)
async def edittopic_command(update: Update, context: Context) -> None:
    """/edittopic <slug> name|description|emoji <value>."""
    args = _args(update, 3)
    if len(args) != 3:
        await _reply(update, render.usage_message("edittopic"))
        return

    async def call() -> RenderedMessage:
        topic = await runtime_of(context).topics.edit_topic(_actor(update), *args)
        return render.topic_detail_message(topic, f"✅ Changed the {args[1].lower()}.")

    await _run(update, call)


@requires(Role.ADMIN)
async def topicrule_command(update: Update, context: Context) -> None:
    """/topicrule <slug> add|remove category|keyword|exclude <text>."""
    args = _args(update, 4)
    if len(args) != 4:
        await _reply(update, render.usage_message("topicrule"))
        return

    async def call() -> RenderedMessage:
        change = await runtime_of(context).topics.change_rule(_actor(update), *args)
        heading = render.rule_change_heading(
            change.op, change.kind, change.value, changed=change.changed
        )
        return render.topic_detail_message(change.topic, heading)

    await _run(update, call)


@requires(Role.ADMIN)
async def archivetopic_command(update: Update, context: Context) -> None:
    """/archivetopic <slug>: hidden from pickers and matching; subscribers are told."""
    args = _args(update, 1)
    if len(args) != 1:
        await _reply(update, render.usage_message("archivetopic"))
        return

    async def call() -> RenderedMessage:
        result = await runtime_of(context).topics.archive_topic(_actor(update), args[0])
        if result.notified:
            runtime_of(context).wake_delivery()
        heading = render.archived_heading(result.notified, changed=result.changed)
        return render.topic_detail_message(result.topic, heading)

    await _run(update, call)


@requires(Role.ADMIN)
async def topicinfo_command(update: Update, context: Context) -> None:
    """/topicinfo <slug>: rules, subscribers, posts matched in the last 30 days."""
    args = _args(update, 1)
    if len(args) != 1:
        await _reply(update, render.usage_message("topicinfo"))
        return

    async def call() -> RenderedMessage:
        return render.topic_detail_message(await runtime_of(context).topics.topic_info(args[0]))

    await _run(update, call)


# -- feeds --------------------------------------------------------------------------------------


@requires(Role.ADMIN)
async def addfeed_command(update: Update, context: Context) -> None:
    """/addfeed <url> [name]: check the feed now; add it if it reads."""
    args = _args(update, 2)
    if not args:
        await _reply(update, render.usage_message("addfeed"))
        return
    url, name = args[0], (args[1] if len(args) > 1 else None)

    async def call() -> RenderedMessage:
        try:
            added = await runtime_of(context).feeds.add_checked_feed(
                url, name, actor=_actor(update)
            )
        except FeedError as error:
            return render.feed_check_failed_message(url, error.message)
        return render.feed_added_message(added.feed, added.title, added.entries)

    await _run(update, call)


@requires(Role.ADMIN)
async def feeds_command(update: Update, context: Context) -> None:
    """/feeds: each feed with its health."""
    feeds = await runtime_of(context).feeds.list_feeds()
    await _reply(update, render.feeds_message(feeds, timezone_of(context)))


async def _set_paused(update: Update, context: Context, paused: bool) -> None:
    command = "pausefeed" if paused else "resumefeed"
    args = _args(update, 1)
    if len(args) != 1:
        await _reply(update, render.usage_message(command))
        return

    async def call() -> RenderedMessage:
        feed, changed = await runtime_of(context).feeds.set_feed_paused(
            args[0], paused, actor=_actor(update)
        )
        return render.feed_paused_message(feed, paused=paused, changed=changed)

    await _run(update, call)


@requires(Role.ADMIN)
async def pausefeed_command(update: Update, context: Context) -> None:
    """/pausefeed <id|url>: stop polling a feed."""
    await _set_paused(update, context, True)


@requires(Role.ADMIN)
async def resumefeed_command(update: Update, context: Context) -> None:
    """/resumefeed <id|url>: poll a paused feed again, at once."""
    await _set_paused(update, context, False)


@requires(Role.ADMIN)
async def removefeed_command(update: Update, context: Context) -> None:
    """/removefeed <id|url>: ask to confirm with a Remove button."""
    args = _args(update, 1)
    if len(args) != 1:
        await _reply(update, render.usage_message("removefeed"))
        return

    async def call() -> RenderedMessage:
        return render.feed_remove_prompt(await runtime_of(context).feeds.find_feed(args[0]))

    await _run(update, call)


@requires(Role.ADMIN)
async def feed_remove_button(update: Update, context: Context) -> None:
    """The Remove button of /removefeed: remove the feed and say so in the same message."""
    query = _query(update)
    pressed = cb.parse_admin(query.data)
    if pressed is None or pressed.kind != cb.FEED_REMOVE:
        await _answer(query, INVALID_BUTTON)
        return
    try:
        feed = await runtime_of(context).feeds.remove_feed(
            str(pressed.feed_id), actor=_actor(update)
        )
    except FeedNotFoundError:
        await _answer(query, INVALID_BUTTON)
        return
    await _answer(query, "Removed.")
    await _edit(query, render.feed_removed_message(feed))


@requires(Role.ADMIN)
async def feed_keep_button(update: Update, context: Context) -> None:
    """The Cancel button of /removefeed."""
    query = _query(update)
    await _answer(query)
    await _edit(query, render.feed_kept_message())


# -- figures ------------------------------------------------------------------------------------


@requires(Role.ADMIN)
async def stats_command(update: Update, context: Context) -> None:
    """/stats: chats, subscriptions per topic, the last 7 days, failures by reason."""
    await _reply(update, render.stats_message(await runtime_of(context).reports.stats()))


@requires(Role.ADMIN)
async def audit_command(update: Update, context: Context) -> None:
    """/audit [n]: the latest n (default 20, at most 100) admin and organiser actions."""
    args = _args(update, 1)
    try:
        limit = parse_audit_limit(args[0] if args else "")
    except InvalidInputError:
        await _reply(update, render.usage_message("audit"))
        return
    rows = await runtime_of(context).reports.audit(limit)
    await _reply(update, render.audit_message(rows, timezone_of(context)))


# -- the registry -------------------------------------------------------------------------------

# Values are Any: `requires` types its wrapper as returning Awaitable, PTB asks for Coroutine.
COMMANDS: dict[str, Any] = {
    "whoami": whoami_command,
    "grant": grant_command,
    "revoke": revoke_command,
    "team": team_command,
    "addtopic": addtopic_command,
    "edittopic": edittopic_command,
    "topicrule": topicrule_command,
    "archivetopic": archivetopic_command,
    "topicinfo": topicinfo_command,
    "addfeed": addfeed_command,
    "feeds": feeds_command,
    "pausefeed": pausefeed_command,
    "resumefeed": resumefeed_command,
    "removefeed": removefeed_command,
    "stats": stats_command,
    "audit": audit_command,
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
