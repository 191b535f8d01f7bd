"""Typed accessors from a handler's context to the runtime and its services.

Owns how handlers and jobs reach `context.bot_data["runtime"]` (the `bot.runtime.Runtime` that
`bot.app` builds in post_init, every service a typed field of it). Must not: hold state of its
own, touch the database, or import `bot.app` (a higher layer).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from datetime import tzinfo
from typing import Any

from telegram import CallbackQuery, Chat, Message, Update
from telegram.ext import Application, CallbackContext

from bot.render.i18n import language_for
from bot.runtime import Runtime
from bot.services.roles import RoleService
from bot.services.subscriptions import SubscriptionService

# The context every handler receives (the application uses PTB's default context types).
Context = CallbackContext[Any, Any, Any, Any]
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


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
    """The supporter use-cases."""
    return runtime_of(context).subscriptions


def roles_of(context: Context) -> RoleService:
    """Role look-ups (ADMIN_IDS and grants)."""
    return runtime_of(context).roles


def timezone_of(context: Context) -> tzinfo:
    """The time zone dates are shown in (BOT_TIMEZONE)."""
    return runtime_of(context).settings.timezone


async def language_of(update: Update, context: Context) -> str:
    """The language to answer this update in: its chat's, else its sender's Telegram one."""
    service = subscriptions_of(context)
    chat = update.effective_chat
    if chat is not None:
        return await service.chat_language(chat.id)
    user = update.effective_user
    return language_for(user.language_code if user else None, service.default_language)


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


def leader_only(
    callback: Callable[[Context], Coroutine[Any, Any, Any]],
) -> Callable[[Context], Coroutine[Any, Any, Any]]:
    """The job `callback`, run only where this process leads.

    Several instances on PostgreSQL: one runs the poller, scheduled broadcasts and reports;
    a process alone (SQLite) always leads.
    """

    @functools.wraps(callback)
    async def run(context: Context) -> Any:
        runtime: Runtime | None = context.bot_data.get("runtime")
        if runtime is None or not runtime.leading:
            return None
        return await callback(context)

    return run


def run_repeating(
    application: AnyApplication,
    callback: Callable[[Context], Coroutine[Any, Any, Any]],
    *,
    interval: float,
    first: float,
    name: str,
) -> None:
    """Add a repeating job that never overlaps itself and never skips a late run.

    Raises:
        RuntimeError: python-telegram-bot was installed without the job-queue extra.
    """
    job_queue = application.job_queue
    if job_queue is None:  # pragma: no cover - the job-queue extra is a dependency
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    job_queue.run_repeating(
        callback,
        interval=interval,
        first=first,
        name=name,
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )
