"""The action button under a delivered broadcast or post notification ("✅ I did it").

Owns `action_button`: parse the data (`act:b:<id>` / `act:p:<id>`, the same for every chat),
then let `ActionService.press` check on the server that the pressing chat got that message as
the pressed Telegram message and record the press once. Answers: the running total on the
first press, "Already counted" on any later one, "This button is no longer valid." for data
that does not belong to the pressed message (forged, or another chat's). Anyone in the chat
may press (it counts one action per chat); nothing is logged about who pressed.
Must not: import SQLAlchemy or `bot.db`, or tell anyone which chat acted.
"""

from __future__ import annotations

from telegram import Message, Update

from bot.handlers.context import Context, language_of, runtime_of
from bot.handlers.context import query_of as _query
from bot.handlers.replies import answer as _answer
from bot.render import callback_data as cb
from bot.render.actions import action_counted_answer, already_counted_answer
from bot.render.text import invalid_button
from bot.services.actions import KIND_BROADCAST, KIND_POST, PressOutcome

# The message kinds of the service, by the letter in the callback data.
_KINDS = {cb.ACTION_BROADCAST: KIND_BROADCAST, cb.ACTION_POST: KIND_POST}


async def action_button(update: Update, context: Context) -> None:
    """A press of the action button: count it once and answer with the running total."""
    query = _query(update)
    parsed = cb.parse_action(query.data)
    message = query.message
    language = await language_of(update, context)
    if parsed is None or not isinstance(message, Message):
        await _answer(query, invalid_button(language))
        return
    pressed = await runtime_of(context).actions.press(
        message.chat.id, _KINDS[parsed.kind], parsed.message_id, message.message_id
    )
    if pressed.outcome is PressOutcome.COUNTED:
        await _answer(query, action_counted_answer(pressed.total, language))
    elif pressed.outcome is PressOutcome.ALREADY:
        await _answer(query, already_counted_answer(language))
    else:
        await _answer(query, invalid_button(language))
