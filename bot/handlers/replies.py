"""How handlers and jobs put a `RenderedMessage` on Telegram: reply, edit, answer a button.

Owns the few Bot API calls every audience makes the same way, and what a failure of each
means: a reply fails loudly (the error handler apologises); editing the pressed message
treats "message is not modified" and a vanished message as done; answering a callback query
that is too old is logged, not raised; editing a message by its chat and id (a broadcast's
progress message) never raises, because what it reports has happened already.

Link previews: a rendering that asks for none (`RenderedMessage.disable_preview`) gets
`link_preview_options={"is_disabled": true}`, any other leaves the Bot API default;
`previews_off=True` turns them off for every rendering (the organisers' messages, which quote
a draft's links). Must not: decide what to say (that is `bot.render`), or touch services.
"""

from __future__ import annotations

import logging

from telegram import Bot, CallbackQuery, LinkPreviewOptions, Message, Update
from telegram.error import BadRequest, TelegramError

from bot.handlers.context import message_of
from bot.render.text import RenderedMessage

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

# Descriptions of a failed edit that mean "nothing left to do" (Bot API, lower case).
_NOT_MODIFIED = "not modified"
_VANISHED = ("message to edit not found", "message can't be edited")


def link_preview(
    message: RenderedMessage, *, previews_off: bool = False
) -> LinkPreviewOptions | None:
    """The link preview options a message is sent or edited with (see the module docstring)."""
    return NO_PREVIEW if previews_off or message.disable_preview else None


async def reply(
    update: Update, message: RenderedMessage, *, previews_off: bool = False
) -> Message:
    """Reply in the chat of the update's message."""
    return await message_of(update).reply_text(
        message.text,
        reply_markup=message.reply_markup,
        link_preview_options=link_preview(message, previews_off=previews_off),
    )


async def answer(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press; a query too old to answer is logged, not an error."""
    try:
        await query.answer(text)
    except BadRequest as error:
        log.info("callback query not answered", extra={"error": error.message})


async def edit(
    query: CallbackQuery, message: RenderedMessage, *, previews_off: bool = False
) -> None:
    """Edit the pressed message in place (no keyboard if the rendering has none).

    "Not modified" (a second press) and a message deleted or too old to edit are done;
    any other failure is raised for the error handler.
    """
    try:
        await query.edit_message_text(
            message.text,
            reply_markup=message.reply_markup,
            link_preview_options=link_preview(message, previews_off=previews_off),
        )
    except BadRequest as error:
        problem = error.message.lower()
        if _NOT_MODIFIED in problem:
            return
        if any(vanished in problem for vanished in _VANISHED):
            log.info("pressed message not edited", extra={"error": error.message})
            return
        raise


async def edit_message(
    bot: Bot,
    chat_id: int,
    message_id: int,
    message: RenderedMessage,
    *,
    previews_off: bool = False,
) -> bool:
    """Edit a message by its chat and id; whether it now shows `message`.

    "Not modified" counts as shown; any other Telegram error is logged and is False.
    """
    try:
        await bot.edit_message_text(
            message.text,
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=message.reply_markup,
            link_preview_options=link_preview(message, previews_off=previews_off),
        )
    except BadRequest as error:
        if _NOT_MODIFIED not in error.message.lower():
            log.warning("message not edited", extra={"chat_id": chat_id, "error": error.message})
            return False
    except TelegramError as error:
        log.warning("message not edited", extra={"chat_id": chat_id, "error": str(error)})
        return False
    return True
