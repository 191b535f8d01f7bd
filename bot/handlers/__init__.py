"""Telegram update handlers, grouped by audience; `register_handlers` wires them all.

`register_handlers` is the only place where handler groups and their order are decided.
Modules here translate updates into service calls; they must not import SQLAlchemy or
`bot.db` (docs/ARCHITECTURE.md, "Layout and layers").
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.handlers import (
    actions,
    admins,
    channels,
    errors,
    members,
    organisers,
    pace,
    results,
    sharing,
    supporters,
)
from bot.render import callback_data as cb

# Group -2 observes every update before anything else (guards of other audiences may use -1);
# group 0 holds the handlers that answer. PTB runs at most one handler per group, the first
# whose check matches, so within group 0 the catch-alls must come last.
OBSERVE_GROUP = -2
ANSWER_GROUP = 0

# New messages only: an edited command is not run again.
_NEW = filters.UpdateType.MESSAGE

# The update types the handlers below answer, asked of Telegram by long polling and by
# setWebhook alike (nothing else is sent to the bot). A handler for another type must add it
# here: tests/handlers/test_allowed_updates.py derives the types from the registered handlers.
ALLOWED_UPDATES: tuple[str, ...] = (
    Update.MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
    Update.INLINE_QUERY,
    Update.CHOSEN_INLINE_RESULT,
)


def register_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add every handler and the error handler to the application.

    Order matters: within ANSWER_GROUP the first matching handler wins, so specific commands
    and button patterns come first and the fallbacks (unknown buttons, unknown commands,
    free text) last. Organiser and admin handlers belong before the fallbacks.
    """
    application.add_handler(TypeHandler(Update, members.on_incoming_update), group=OBSERVE_GROUP)

    application.add_handler(
        ChatMemberHandler(members.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
        group=ANSWER_GROUP,
    )
    commands = {
        "start": supporters.start_command,
        "help": supporters.help_command,
        "topics": supporters.topics_command,
        "subscribe": supporters.subscribe_command,
        "unsubscribe": supporters.unsubscribe_command,
        "mysubs": supporters.mysubs_command,
        "latest": supporters.latest_command,
        "mydata": supporters.mydata_command,
        "search": sharing.search_command,
        "language": supporters.language_command,
        "forgetme": supporters.forgetme_command,
    }
    application.add_handlers(
        [CommandHandler(name, callback, filters=_NEW) for name, callback in commands.items()],
        group=ANSWER_GROUP,
    )
    buttons = {
        cb.TOPIC_TOGGLE: supporters.topic_toggle_button,
        cb.TOPIC_OFF: supporters.topic_off_button,
        cb.LATEST_PAGE: supporters.latest_page_button,
        cb.FORGET_CONFIRM: supporters.forget_confirm_button,
        cb.FORGET_CANCEL: supporters.forget_cancel_button,
        cb.NOOP: supporters.noop_button,
    }
    application.add_handlers(
        [
            CallbackQueryHandler(callback, pattern=supporters.callback_kind(kind))
            for kind, callback in buttons.items()
        ],
        group=ANSWER_GROUP,
    )

    # Pace: /settings, /digest, /quiet, /timezone and their buttons.
    application.add_handlers(pace.pace_handlers(), group=ANSWER_GROUP)

    application.add_handler(
        CallbackQueryHandler(supporters.language_button, pattern=cb.LANGUAGE_PATTERN),
        group=ANSWER_GROUP,
    )

    # The action button under delivered messages ("✅ I did it"): anyone in the chat.
    application.add_handler(
        CallbackQueryHandler(actions.action_button, pattern=cb.ACTION_PATTERN),
        group=ANSWER_GROUP,
    )

    # Sharing and finding: /search pages, inline queries and chosen inline results.
    application.add_handlers(
        [
            CallbackQueryHandler(sharing.search_page_button, pattern=cb.SEARCH_PAGE_PATTERN),
            InlineQueryHandler(sharing.inline_query),
            ChosenInlineResultHandler(sharing.chosen_inline_result),
        ],
        group=ANSWER_GROUP,
    )

    # Organiser and admin handlers go here, before the fallbacks below.
    # The broadcast conversation first: while an organiser composes, their text is the draft.
    application.add_handlers(organisers.organiser_handlers(), group=ANSWER_GROUP)
    application.add_handlers(results.results_handlers(), group=ANSWER_GROUP)
    application.add_handlers(
        [
            CommandHandler(name, callback, filters=_NEW)
            for name, callback in {**admins.COMMANDS, **channels.COMMANDS}.items()
        ],
        group=ANSWER_GROUP,
    )
    application.add_handlers(
        [
            CallbackQueryHandler(callback, pattern=admins.button_kind(kind))
            for kind, callback in admins.BUTTONS.items()
        ],
        group=ANSWER_GROUP,
    )

    # A file in a private chat: an admin's feed list (OPML) is imported; before free text.
    application.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & _NEW & filters.Document.ALL, admins.feed_list_document
        ),
        group=ANSWER_GROUP,
    )

    application.add_handlers(
        [
            CallbackQueryHandler(supporters.invalid_button),
            MessageHandler(filters.COMMAND & _NEW, supporters.unknown_command),
            MessageHandler(
                filters.ChatType.PRIVATE & _NEW & ~filters.COMMAND & ~filters.StatusUpdate.ALL,
                supporters.free_text_message,
            ),
        ],
        group=ANSWER_GROUP,
    )
    application.add_error_handler(errors.error_handler)
