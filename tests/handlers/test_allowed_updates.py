"""ALLOWED_UPDATES (asked of Telegram by polling and setWebhook) covers every registered handler.

Derived from the handlers `register_handlers` adds, so a handler for a new update type fails
here until the type is added to `bot.handlers.ALLOWED_UPDATES` (else Telegram never sends it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telegram import Chat, Message, MessageEntity, Update, User
from telegram.ext import (
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    ConversationHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
)

from bot.handlers import ALLOWED_UPDATES, register_handlers

_CHAT_MEMBER_TYPES = {
    ChatMemberHandler.MY_CHAT_MEMBER: {Update.MY_CHAT_MEMBER},
    ChatMemberHandler.CHAT_MEMBER: {Update.CHAT_MEMBER},
    ChatMemberHandler.ANY_CHAT_MEMBER: {Update.MY_CHAT_MEMBER, Update.CHAT_MEMBER},
}


def _flatten(handler: BaseHandler[Any, Any, Any]) -> list[BaseHandler[Any, Any, Any]]:
    if isinstance(handler, ConversationHandler):
        inner = [*handler.entry_points, *handler.fallbacks]
        for state_handlers in handler.states.values():
            inner.extend(state_handlers)
        return [h for child in inner for h in _flatten(child)]
    return [handler]


def _types(handler: BaseHandler[Any, Any, Any]) -> set[str]:
    """The update types a handler answers (TypeHandler(Update) observes whatever comes)."""
    if isinstance(handler, TypeHandler):
        return set()
    if isinstance(handler, (CommandHandler, MessageHandler)):
        return {Update.MESSAGE}
    if isinstance(handler, CallbackQueryHandler):
        return {Update.CALLBACK_QUERY}
    if isinstance(handler, InlineQueryHandler):
        return {Update.INLINE_QUERY}
    if isinstance(handler, ChosenInlineResultHandler):
        return {Update.CHOSEN_INLINE_RESULT}
    if isinstance(handler, ChatMemberHandler):
        kinds = handler.chat_member_types
        assert kinds is not None
        return _CHAT_MEMBER_TYPES[kinds]
    raise AssertionError(f"{type(handler).__name__}: say which update types it answers")


def _handlers() -> list[BaseHandler[Any, Any, Any]]:
    application = ApplicationBuilder().token("123456:TEST-not-used").build()
    register_handlers(application)
    return [h for group in application.handlers.values() for top in group for h in _flatten(top)]


def test_allowed_updates_are_the_types_the_handlers_answer() -> None:
    """Every type a handler answers is asked for, and nothing else."""
    handled = set().union(*(_types(h) for h in _handlers()))
    assert handled == set(ALLOWED_UPDATES)


def test_edited_messages_are_not_answered() -> None:
    """No message handler takes an edited message, so none is asked for."""
    user = User(1001, "Alice", is_bot=False)
    edited = Message(
        7,
        datetime.now(UTC),
        Chat(1001, Chat.PRIVATE),
        from_user=user,
        text="/start",
        entities=[MessageEntity(MessageEntity.BOT_COMMAND, 0, 6)],
        edit_date=datetime.now(UTC),
    )
    update = Update(1, edited_message=edited)
    # A handler's filters decide first; the command's name is looked at only after them.
    takers = [
        h
        for h in _handlers()
        if isinstance(h, (CommandHandler, MessageHandler)) and h.filters.check_update(update)
    ]
    assert takers == []
    assert Update.EDITED_MESSAGE not in ALLOWED_UPDATES
