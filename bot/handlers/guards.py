"""Checks at the edge: `requires(Role.ORGANISER)` wraps a command or button callback.

Organiser and admin commands work in private chats only: in a group or channel they would show
ids, usernames and figures to every member. So before the role, `permitted` checks the chat,
and anywhere else than a private chat it only answers with a link to the private chat with the
bot. The role check runs on the server at the moment of use, for commands and for callback
buttons alike (a replayed admin button's callback_data is refused just like the command). A
refusal answers the user, changes nothing, and is logged. A button is honoured only if its
data is on the message it was pressed under (`button_on_message`), so forged data changes
nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType

from bot.domain.types import Role
from bot.handlers.context import Context, language_of, roles_of
from bot.handlers.replies import answer, reply
from bot.render import text as render

log = logging.getLogger(__name__)

Callback = Callable[[Update, Context], Awaitable[Any]]

# The English refusals (what render.refusal says in English).
REFUSAL = {
    Role.ORGANISER: render.REFUSALS["organiser"],
    Role.ADMIN: render.REFUSALS["admin"],
}


async def role_of_update(update: Update, context: Context) -> Role:
    """The role of the user behind an update, looked up now."""
    user = update.effective_user
    return await roles_of(context).role_of(user.id if user else None)


async def in_private_chat(update: Update, context: Context) -> bool:
    """Whether the update comes from a private chat; if not, the sender was pointed there."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return True
    language = await language_of(update, context)
    if update.callback_query is not None:
        await update.callback_query.answer(render.private_only_answer(language))
    elif update.effective_message is not None:
        message = render.private_only_message(context.bot.username, language)
        await reply(update, message, previews_off=True)
    return False


def private_only(callback: Callback) -> Callback:
    """The wrapped callback runs in private chats only (see `in_private_chat`)."""

    @functools.wraps(callback)
    async def guarded(update: Update, context: Context) -> Any:
        if await in_private_chat(update, context):
            return await callback(update, context)
        return None

    return guarded


async def permitted(update: Update, context: Context, role: Role, handler: str = "") -> bool:
    """Whether the update comes from a private chat and its user holds `role` now.

    The one check behind `requires` and the broadcast conversation's steps. If not, the user
    was told so: pointed to the private chat (`in_private_chat`), or refused (an alert for a
    button, a reply for a message; logged). Either way nothing changes.
    """
    if not await in_private_chat(update, context):
        return False
    held = await role_of_update(update, context)
    if held.allows(role):
        return True
    user = update.effective_user
    log.warning(
        "refused",
        extra={
            "user_id": user.id if user else None,
            "role": held.value,
            "needed": role.value,
            "handler": handler,
        },
    )
    text = render.refusal(role.value, await language_of(update, context))
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    return False


def button_on_message(query: CallbackQuery) -> bool:
    """Whether the pressed data is (still) a button of the message it came from.

    Telegram sends the message as it is now, so a keyboard that was edited since, or data
    that was never on the message (forged), fails this check.
    """
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return False
    return any(
        button.callback_data == query.data
        for row in message.reply_markup.inline_keyboard
        for button in row
    )


def message_buttons(query: CallbackQuery) -> list[str]:
    """The callback data of every button on the pressed message (as Telegram sent it)."""
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return []
    return [
        str(button.callback_data)
        for row in message.reply_markup.inline_keyboard
        for button in row
        if button.callback_data is not None
    ]


async def genuine_press(update: Update, context: Context) -> bool:
    """False for a button press whose data is not on the pressed message (answered briefly).

    True for any other update, so every guarded callback may ask it.
    """
    query = update.callback_query
    if query is None or button_on_message(query):
        return True
    await answer(query, render.invalid_button(await language_of(update, context)))
    return False


def requires(role: Role) -> Callable[[Callback], Callback]:
    """Only users holding `role` (or a higher one) reach the wrapped callback.

    And only from a private chat (`permitted`) and, for a button, only with data that is on
    the pressed message (`genuine_press`).
    """

    def decorate(callback: Callback) -> Callback:
        @functools.wraps(callback)
        async def guarded(update: Update, context: Context) -> Any:
            if await permitted(update, context, role, callback.__name__) and (
                await genuine_press(update, context)
            ):
                return await callback(update, context)
            return None

        return guarded

    return decorate
