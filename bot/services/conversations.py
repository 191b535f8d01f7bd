"""Conversation state in the database, so that a person's next update may reach any instance.

Several instances on PostgreSQL receive updates behind a load balancer (or one after another,
when an instance is replaced): the organiser's broadcast draft flow must not live in one
process's memory. `ConversationStateService` keeps, per conversation key, the conversation's
state and the person's `user_data` (the draft) as one row of `conversation_state`, written only
when they changed and read before each update of that person. Values are pickled, like PTB's
own PicklePersistence: only the bot writes them. Alone on SQLite the bot keeps them in memory as
before and this service is not used.
"""

from __future__ import annotations

import base64
import binascii
import logging
import pickle
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.repos import FleetRepo
from bot.domain.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SavedConversation:
    """What one person's conversation left: its state and their user_data, and when."""

    state: object
    user_data: dict[Any, Any]
    saved_at: float


class ConversationStateService:
    """Load and save one conversation's state and user_data (one row per key)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock

    async def load(self, name: str, key: str) -> SavedConversation | None:
        """The saved conversation under (name, key), or None (none saved, or unreadable)."""
        async with self._sessionmaker() as session:
            value = await FleetRepo(session).load_state(name, key)
        if value is None:
            return None
        try:
            state, user_data, saved_at = pickle.loads(base64.b64decode(value))  # noqa: S301
        except (ValueError, TypeError, binascii.Error, pickle.UnpicklingError, AttributeError):
            log.warning("unreadable conversation state dropped", extra={"conversation": name})
            return None
        return SavedConversation(state, dict(user_data), float(saved_at))

    async def save(
        self, name: str, key: str, state: object | None, user_data: dict[Any, Any]
    ) -> None:
        """Save the state and user_data under (name, key); no state and no data deletes it."""
        now = self._clock.now()
        value: str | None = None
        if state is not None or user_data:
            payload = (state, dict(user_data), now.timestamp())
            value = base64.b64encode(pickle.dumps(payload)).decode("ascii")
        async with self._sessionmaker.begin() as session:
            await FleetRepo(session).save_state(name, key, value, now)

    def now(self) -> float:
        """The clock's time as a Unix timestamp (to age saved conversations)."""
        return self._clock.now().timestamp()
