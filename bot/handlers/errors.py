"""The one error handler: log what failed with its context, then tell the user briefly.

Owns the last line of defence for every handler: the log line carries the update id, what
kind of update it was, the chat's type and the exception (formatted by `bot.log`, which
redacts anything shaped like a token; the update's text is not logged), and the user gets
"Sorry, something went wrong" when the update came from a chat. The chat id is logged only
for groups and channels: a private chat's id is the person's Telegram id, and a failed button
press or command beside it would tie that person to an action in the operator's logs. Must
not: raise, send a traceback or the error text to a user, or log the bot token, the update's
contents or who sent it.
"""

from __future__ import annotations

import logging
import time

from telegram import Update
from telegram.error import Conflict, NetworkError, TelegramError

from bot.handlers.context import Context, language_of
from bot.render import text as render
from bot.render.i18n import SOURCE_LANGUAGE

log = logging.getLogger(__name__)

POLLING_WARNING_EVERY = 60.0  # seconds between two warnings of one kind about long polling
_WARNED_KEY = "polling_warned"  # bot_data: error type -> time.monotonic() of its last warning


async def error_handler(update: object, context: Context) -> None:
    """Log the error with context and apologise to the chat it came from; never raises."""
    try:
        error = context.error
        if update is None and isinstance(error, Conflict | NetworkError):
            _warn_about_polling(error, context.bot_data.setdefault(_WARNED_KEY, {}))
            return
        extra: dict[str, object] = {"error_type": type(error).__name__}
        chat_id = None
        if isinstance(update, Update):
            chat = update.effective_chat
            chat_id = chat.id if chat else None
            extra.update(update_id=update.update_id, update_kind=_kind(update))
            if chat is not None:
                extra["chat_type"] = chat.type
                if chat.type != chat.PRIVATE:
                    extra["chat_id"] = chat.id
        log.error("update handling failed", exc_info=error, extra=extra)
        if not isinstance(update, Update) or chat_id is None:
            return
        await _apologise(update, context, chat_id)
    except Exception:  # the error handler must never raise
        log.exception("error handler failed")


def _warn_about_polling(error: Conflict | NetworkError, warned: dict[str, float]) -> None:
    """One line, at most once a minute per kind, when a long poll for updates fails.

    python-telegram-bot retries the poll by itself; a traceback every few seconds would only
    bury the operator's log. Conflict means a second process polls with this token.
    """
    kind = type(error).__name__
    now = time.monotonic()
    last = warned.get(kind)
    if last is not None and now - last < POLLING_WARNING_EVERY:
        return
    warned[kind] = now
    if isinstance(error, Conflict):
        log.warning(
            "another process is polling Telegram for this bot's updates; to run several "
            "instances, give each WEBHOOK_URL",
            extra={"error_type": kind},
        )
    else:
        log.warning(
            "polling Telegram for updates failed; retrying",
            extra={"error_type": kind, "error": str(error)},
        )


def _kind(update: Update) -> str:
    """The update's kind ("message", "callback_query", ...), without its contents."""
    for kind in Update.ALL_TYPES:
        if getattr(update, kind, None) is not None:
            return kind
    return "unknown"


async def _apologise(update: Update, context: Context, chat_id: int) -> None:
    """Answer a pressed button with the apology, else send it to the chat."""
    try:
        language = await language_of(update, context)
    except Exception:  # the apology must not depend on the database that may have failed
        language = SOURCE_LANGUAGE
    sorry = render.something_wrong(language)
    query = update.callback_query
    if query is not None:
        try:
            await query.answer(sorry)
            return
        except TelegramError:
            pass  # answered already, or too old: fall back to a message
    try:
        await context.bot.send_message(chat_id, sorry)
    except TelegramError as error:
        log.warning("could not apologise", extra={"chat_id": chat_id, "error": str(error)})
