"""Concurrent update processing that keeps each chat's updates in order.

python-telegram-bot handles one update at a time by default, so one slow reply (a busy database,
a bulk fan-out sharing the event loop) delays every supporter behind it. This processor runs
updates of different chats concurrently (up to `max_concurrent_updates`) and those of one chat
strictly one after another, so conversations (the organiser's /broadcast) and button presses
still see their own chat's updates in order.

Only a running update holds one of the concurrency slots: while a chat's update runs, later
updates of that chat wait in the chat's own queue without a slot, and the task running the
first one runs them in turn. So one chat with a long backlog uses one slot, never all of them,
and every other chat still gets its turn. Contains no business logic.
"""

from __future__ import annotations

import inspect
import logging
from collections import deque
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)


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
    """Different chats concurrently, one chat in order; a chat's backlog waits without a slot."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        # chat -> updates waiting behind the one running; a chat is a key while it runs one.
        self._queues: dict[int, deque[Awaitable[Any]]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update now, or queue it behind its chat's running update and return.

        Called by `process_update` holding a slot. If the chat already has an update running,
        the coroutine joins the chat's queue and the slot is given back at once; otherwise
        this call runs it, then every update queued for the chat meanwhile, in arrival order.
        """
        key = update_key(update)
        if key is None:
            await coroutine
            return
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(coroutine)
            return
        queue = self._queues[key] = deque([coroutine])
        try:
            while queue:
                await self._run(queue.popleft())
        finally:
            self._queues.pop(key, None)
            _close_all(queue)  # only left over if this task was cancelled

    @staticmethod
    async def _run(coroutine: Awaitable[Any]) -> None:
        """Run one update; its failure must not drop the updates queued behind it."""
        try:
            await coroutine
        except Exception:  # PTB handles handler errors itself; this is a last resort
            log.exception("update processing failed")

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Drop updates that never got their turn (only after a cancelled run)."""
        for queue in self._queues.values():
            _close_all(queue)
        self._queues.clear()


def _close_all(queue: deque[Awaitable[Any]]) -> None:
    """Close coroutines that will never run, so they do not warn "never awaited"."""
    while queue:
        coroutine = queue.popleft()
        if inspect.iscoroutine(coroutine):
            coroutine.close()
