"""Concurrent update processing that keeps each chat's updates in order.

python-telegram-bot handles one update at a time by default, so one slow reply (a busy database,
a bulk fan-out sharing the event loop) delays every supporter behind it. This processor runs
updates of different chats concurrently (up to `max_concurrent_updates`) and those of one chat
strictly one after another, so conversations (the organiser's /broadcast) and button presses
still see their own chat's updates in order. Contains no business logic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def update_key(update: object) -> int | None:
    """The chat (or, failing that, the user) an update belongs to; None if neither."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Different chats concurrently, one chat in order."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's handling, after the earlier updates of its chat."""
        key = update_key(update)
        if key is None:
            await coroutine
            return
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
