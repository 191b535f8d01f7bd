"""The broadcast draft flow, shared by every instance (several instances on PostgreSQL).

PTB keeps a conversation's state in its `ConversationHandler` and the draft in `user_data`,
both in memory. With several instances an organiser's next update may reach another one, so
around every private update of a person: before the handlers (group LOAD_GROUP), their saved
state and user_data are read from the database into this process; after them (SAVE_GROUP),
written back if they changed (`ConversationStateService`). A saved conversation older than the
conversation timeout counts as ended, as it would in one process. Updates of one chat are
handled in order within an instance (`PerChatUpdateProcessor`); two instances handling the same
organiser's updates at the same moment is the one race left (the later write wins): the
instance whose handlers will run for the update takes the person's turn before them and gives
it back with the save, and the next instance waits for the turn before it loads, so a reply
that reaches the organiser before its state is saved cannot be answered from the old state
(only two updates sent faster than one is loaded can still cross).

Must not: import SQLAlchemy or `bot.db`.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import MutableMapping
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import Application, ConversationHandler, TypeHandler

from bot.handlers.context import Context, runtime_of
from bot.handlers.organisers import CONVERSATION_TIMEOUT

log = logging.getLogger(__name__)

LOAD_GROUP = -3  # before the observer (-2) and the answers (0)
SAVE_GROUP = 10  # after the answers


class SharedConversation:
    """Loads a person's conversation before their update and saves it after (see module)."""

    def __init__(self, conversation: ConversationHandler[Any], timeout: float) -> None:
        if not conversation.name:
            raise ValueError("a shared conversation needs a name")
        self._conversation = conversation
        self._name: str = conversation.name
        self._timeout = timeout
        self._loaded: dict[tuple[int, int], tuple[object, dict[Any, Any]]] = {}
        self._turns: set[tuple[int, int]] = set()  # keys whose turn this process holds

    def install(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Add the load and save hooks around every other handler."""
        application.add_handler(TypeHandler(Update, self.load), group=LOAD_GROUP)
        application.add_handler(TypeHandler(Update, self.save), group=SAVE_GROUP)

    def _states(self) -> MutableMapping[tuple[int | str, ...], object]:
        # PTB keeps the states in this dict and offers no public setter: the one place that
        # reaches into it (tests/e2e/test_fleet.py fails if a PTB upgrade changes it).
        return self._conversation._conversations

    @staticmethod
    def _key(update: object) -> tuple[int, int] | None:
        if not isinstance(update, Update):
            return None
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or chat.type != ChatType.PRIVATE:
            return None
        if update.message is None and update.callback_query is None:
            return None
        return chat.id, user.id

    async def load(self, update: object, context: Context) -> None:
        """Read this person's saved state and user_data into the process."""
        key = self._key(update)
        if key is None or context.user_data is None:
            return
        runtime = runtime_of(context)
        service, name, me = runtime.conversations, f"{key[0]}:{key[1]}", runtime.fleet.instance
        await service.wait_turn(self._name, name, me)
        saved = await service.load(self._name, name)
        states = self._states()
        user_data = context.user_data
        user_data.clear()
        if saved is None or service.now() - saved.saved_at > self._timeout:
            states.pop(key, None)
        else:
            if saved.state is None:
                states.pop(key, None)
            else:
                states[key] = saved.state
            user_data.update(saved.user_data)
        self._loaded[key] = (states.get(key), copy.deepcopy(dict(user_data)))
        if self._conversation.check_update(update):  # this update is a step of the flow
            await service.take_turn(self._name, name, me)
            self._turns.add(key)

    async def save(self, update: object, context: Context) -> None:
        """Write this person's state and user_data back if the handlers changed them."""
        key = self._key(update)
        if key is None or context.user_data is None:
            return
        loaded = self._loaded.pop(key, None)
        state = self._states().get(key)
        if state == ConversationHandler.END:
            state = None
        user_data = dict(context.user_data)
        runtime = runtime_of(context)
        service, name = runtime.conversations, f"{key[0]}:{key[1]}"
        if loaded is not None and loaded == (state, user_data):
            if key in self._turns:
                self._turns.discard(key)
                await service.end_turn(self._name, name, runtime.fleet.instance)
            return
        self._turns.discard(key)
        await service.save(self._name, name, state, copy.deepcopy(user_data))  # ends the turn


def share_conversations(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Share the application's named conversations (the broadcast flow) through the database."""
    named = [
        handler
        for handlers in application.handlers.values()
        for handler in handlers
        if isinstance(handler, ConversationHandler) and handler.name
    ]
    for handler in named:
        SharedConversation(handler, CONVERSATION_TIMEOUT).install(application)
