"""The action button: a supporter says they did what a broadcast or a post asked.

Owns one transaction per press: one conditional UPDATE marks the chat's delivery of that
message (only if it is the pressed Telegram message, and only once), then the running total
is read: live delivery rows with an action plus the actions folded into `message_totals` by
retention and /forgetme. Nothing here names a chat to anyone; the total is all that leaves.
Must not: receive or return Telegram objects, import `telegram.ext` or handlers, or render.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import BROADCAST, POST
from bot.db.repos import DeliveryRepo, TotalsRepo
from bot.domain.clock import Clock

# Message kinds as `message_totals` and `DeliveryRepo` name them.
KIND_POST = POST
KIND_BROADCAST = BROADCAST
KINDS = (KIND_POST, KIND_BROADCAST)


class PressOutcome(enum.Enum):
    """What a press of the action button did."""

    COUNTED = "counted"  # the first press of this chat on this message
    ALREADY = "already"  # pressed before: nothing changed
    INVALID = "invalid"  # no delivery of this message to this chat as this Telegram message


@dataclass(frozen=True, slots=True)
class ActionPress:
    """The outcome of a press and, when counted, the running total including it."""

    outcome: PressOutcome
    total: int = 0


class ActionService:
    """Records action button presses and tells the running total."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock

    async def press(
        self, chat_id: int, kind: str, message_id: int, telegram_message_id: int
    ) -> ActionPress:
        """Count one action of `chat_id` on a post or broadcast (`kind` in KINDS), once.

        The press counts only if the chat has a sent delivery of that message that is the
        pressed Telegram message: forged data for another message or chat changes nothing.
        """
        if kind not in KINDS:
            return ActionPress(PressOutcome.INVALID)
        async with self._sessionmaker.begin() as session:
            deliveries = DeliveryRepo(session)
            now = self._clock.now()
            if not await deliveries.mark_acted(
                chat_id, kind, message_id, telegram_message_id, now
            ):
                known = await deliveries.has_delivered(
                    chat_id, kind, message_id, telegram_message_id
                )
                return ActionPress(PressOutcome.ALREADY if known else PressOutcome.INVALID)
            return ActionPress(PressOutcome.COUNTED, await self._total(session, kind, message_id))

    async def total(self, kind: str, message_id: int) -> int:
        """A message's actions so far: live delivery rows plus folded totals."""
        async with self._sessionmaker() as session:
            return await self._total(session, kind, message_id)

    @staticmethod
    async def _total(session: AsyncSession, kind: str, message_id: int) -> int:
        live = await DeliveryRepo(session).count_acted(kind, message_id)
        folded = await TotalsRepo(session).for_message(kind, message_id)
        return live + sum(counters["actions"] for counters in folded.values())
