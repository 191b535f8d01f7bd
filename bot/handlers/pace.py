"""Pace commands and buttons: /settings, /digest, /quiet, /timezone (issue #10).

Each translates an update into one `PaceService` call and renders with `bot.render.pace` in the
chat's language. /settings is one message whose buttons edit it in place (the time-zone picker
included). In a group only group admins may change the group's settings (asked at the moment
of use, as for subscriptions); anyone may look. Bad input gets a clear answer and changes
nothing. Must not: import SQLAlchemy or `bot.db`.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.domain.pace import PaceInputError
from bot.handlers.context import Context, runtime_of
from bot.handlers.context import chat_of as _chat
from bot.handlers.context import message_of as _message
from bot.handlers.context import query_of as _query
from bot.handlers.guards import button_on_message
from bot.handlers.replies import answer as _answer
from bot.handlers.replies import edit as _edit
from bot.handlers.replies import reply as _reply
from bot.handlers.supporters import _may_change, command_argument, is_group
from bot.render import callback_data as cb
from bot.render import pace as render
from bot.render.text import INVALID_BUTTON, RenderedMessage, escape
from bot.services.pace import PaceService

_NEW = filters.UpdateType.MESSAGE


def _service(context: Context) -> PaceService:
    return runtime_of(context).pace


async def settings_command(update: Update, context: Context) -> None:
    """/settings: language, pace, quiet hours and time zone, with buttons for all of it."""
    chat = _chat(update)
    view = await _service(context).settings(chat.id, chat.type)
    await _reply(update, render.settings_message(view, group=is_group(chat)))


async def _change(update: Update, context: Context, what: str) -> None:
    chat = _chat(update)
    service = _service(context)
    argument = command_argument(_message(update).text)
    current = await service.settings(chat.id, chat.type)
    if what == "timezone" and not argument:
        await _reply(update, render.zones_message(current.timezone, current.language))
        return
    if not argument:
        await _reply(update, render.settings_message(current, group=is_group(chat)))
        return
    if not await _may_change(update, context):
        await _reply(update, RenderedMessage(escape(render.admins_only_answer(current.language))))
        return
    try:
        if what == "digest":
            view = await service.set_digest(chat.id, argument, chat.type)
            message = render.digest_set_message(view.digest, view.language)
        elif what == "quiet":
            view = await service.set_quiet(chat.id, argument, chat.type)
            message = render.quiet_set_message(view.quiet, view.language)
        else:
            view = await service.set_timezone(chat.id, argument, chat.type)
            message = render.timezone_set_message(view.timezone, view.language)
    except PaceInputError as error:
        await _reply(update, render.pace_error_message(error, current.language))
        return
    await _reply(update, message)


async def digest_command(update: Update, context: Context) -> None:
    """/digest off|daily HH:MM|weekly <day> HH:MM (alone: /settings)."""
    await _change(update, context, "digest")


async def quiet_command(update: Update, context: Context) -> None:
    """/quiet HH:MM-HH:MM|off (alone: /settings)."""
    await _change(update, context, "quiet")


async def timezone_command(update: Update, context: Context) -> None:
    """/timezone <IANA name or city> (alone: the zone buttons)."""
    await _change(update, context, "timezone")


async def pace_button(update: Update, context: Context) -> None:
    """A /settings or /timezone button: change the setting and edit the message in place."""
    query = _query(update)
    pressed = cb.parse_pace(query.data)
    if pressed is None or not button_on_message(query):
        await _answer(query, INVALID_BUTTON)
        return
    chat = _chat(update)
    service = _service(context)
    group = is_group(chat)
    if pressed.kind in (cb.PACE_ZONES, cb.PACE_HOME):
        view = await service.settings(chat.id, chat.type)
        await _answer(query)
        if pressed.kind == cb.PACE_ZONES:
            await _edit(query, render.zones_message(view.timezone, view.language))
        else:
            await _edit(query, render.settings_message(view, group=group))
        return
    if not await _may_change(update, context):
        language = (await service.settings(chat.id, chat.type)).language
        await _answer(query, render.admins_only_answer(language))
        return
    try:
        if pressed.kind == cb.PACE_DIGEST:
            view = await service.set_digest(chat.id, pressed.value, chat.type)
        elif pressed.kind == cb.PACE_QUIET:
            view = await service.set_quiet(chat.id, pressed.value, chat.type)
        else:
            view = await service.set_timezone_choice(chat.id, int(pressed.value), chat.type)
    except PaceInputError:
        await _answer(query, INVALID_BUTTON)
        return
    await _answer(query, render.settings_answer(view.language))
    await _edit(query, render.settings_message(view, group=group))


def pace_handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The handlers of this module, for `register_handlers` (before the fallbacks)."""
    return [
        CommandHandler("settings", settings_command, filters=_NEW),
        CommandHandler("digest", digest_command, filters=_NEW),
        CommandHandler("quiet", quiet_command, filters=_NEW),
        CommandHandler("timezone", timezone_command, filters=_NEW),
        CallbackQueryHandler(pace_button, pattern=cb.PACE_PATTERN),
    ]
