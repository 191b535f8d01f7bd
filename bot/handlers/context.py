"""Typed accessors from a handler's context to the runtime and its services.

Owns how handlers reach `context.bot_data["runtime"]` (built by `bot.app` in post_init) and
the lazily created `SubscriptionService`, kept in `runtime.extras["subscriptions"]` so that
`bot.app` needs no change. Must not: hold state of its own, touch the database, or import
`bot.app` at run time (only for type checking: the app is a higher layer).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from telegram import CallbackQuery, Chat, Message, Update
from telegram.ext import CallbackContext

from bot.services.members import RoleService
from bot.services.subscriptions import SubscriptionService

if TYPE_CHECKING:
    from bot.app import Runtime

# The context every handler receives (the application uses PTB's default context types).
Context = CallbackContext[Any, Any, Any, Any]

SUBSCRIPTIONS = "subscriptions"


def runtime_of(context: Context) -> Runtime:
    """The runtime built in post_init.

    Raises:
        RuntimeError: The application was not started through `bot.app` (no runtime).
    """
    runtime: Runtime | None = context.bot_data.get("runtime")
    if runtime is None:
        raise RuntimeError("the bot runtime is not initialised (post_init did not run)")
    return runtime


def subscriptions_of(context: Context) -> SubscriptionService:
    """The supporter use-cases, created on first use and kept on the runtime."""
    runtime = runtime_of(context)
    service = runtime.extras.get(SUBSCRIPTIONS)
    if not isinstance(service, SubscriptionService):
        service = SubscriptionService(runtime.sessionmaker, runtime.clock)
        runtime.extras[SUBSCRIPTIONS] = service
    return service


def roles_of(context: Context) -> RoleService:
    """Role look-ups (ADMIN_IDS and grants), created on first use and kept on the runtime."""
    runtime = runtime_of(context)
    service = runtime.extras.get("roles")
    if not isinstance(service, RoleService):
        service = RoleService(runtime.sessionmaker, runtime.clock, runtime.settings.admin_ids)
        runtime.extras["roles"] = service
    return service


def timezone_of(context: Context) -> tzinfo:
    """The time zone dates are shown in (BOT_TIMEZONE)."""
    return runtime_of(context).settings.timezone


def chat_of(update: Update) -> Chat:
    """The update's chat (handlers are registered only for updates that have one)."""
    chat = update.effective_chat
    if chat is None:
        raise ValueError("update without a chat")
    return chat


def message_of(update: Update) -> Message:
    """The update's message."""
    message = update.effective_message
    if message is None:
        raise ValueError("update without a message")
    return message


def query_of(update: Update) -> CallbackQuery:
    """The update's callback query (button handlers only)."""
    query = update.callback_query
    if query is None:
        raise ValueError("update without a callback query")
    return query
