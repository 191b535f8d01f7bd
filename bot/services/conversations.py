"""Conversation state in the database, so that a person's next update may reach any instance.

Several instances on PostgreSQL receive updates behind a load balancer (or one after another,
when an instance is replaced): the organiser's broadcast draft flow must not live in one
process's memory. `ConversationStateService` keeps, per conversation key, the conversation's
state and the person's `user_data` (the draft) as one row of `conversation_state`, written only
when they changed and read before each update of that person. Values are pickled, like PTB's
own PicklePersistence: only the bot writes them. Alone on SQLite the bot keeps them in memory as
before and this service is not used.

Turns: the instance handling a person's update holds their turn from before its handlers until
the new state is saved (at most TURN_SECONDS, so a killed instance's turn lapses); another
instance waits for the turn before it reads the state. Without it, a reply (sent inside the
handler) could reach the person, and their next update another instance, before the state
that reply belongs to was saved.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import pickle
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.repos import FleetRepo
from bot.domain.clock import Clock

log = logging.getLogger(__name__)

# How long one instance may hold a person's turn (a step's handlers take milliseconds; a
# killed instance's turn lapses after this), and how often a waiting instance looks again.
TURN_SECONDS = 10.0
TURN_POLL_SECONDS = 0.02


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

    async def wait_turn(self, name: str, key: str, holder: str) -> float:
        """Wait while another instance holds the turn on (name, key); the seconds waited.

        At most until that turn lapses, and never longer than TURN_SECONDS in all.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            async with self._sessionmaker() as session:
                turn = await FleetRepo(session).turn(name, key)
            waited = loop.time() - started
            if turn is None or turn[0] == holder:
                return waited
            left = min((turn[1] - self._clock.now()).total_seconds(), TURN_SECONDS - waited)
            if left <= 0:
                return waited
            await asyncio.sleep(min(TURN_POLL_SECONDS, left))

    async def take_turn(self, name: str, key: str, holder: str) -> None:
        """Mark `holder` as handling (name, key) for at most TURN_SECONDS."""
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            await FleetRepo(session).take_turn(
                name, key, holder, now, now + timedelta(seconds=TURN_SECONDS)
            )

    async def end_turn(self, name: str, key: str, holder: str) -> None:
        """End `holder`'s turn on (name, key), the saved conversation unchanged.

        `save` ends the turn too.
        """
        async with self._sessionmaker.begin() as session:
            await FleetRepo(session).end_turn(name, key, holder)
