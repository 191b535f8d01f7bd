"""FleetRepo: what several instances on one PostgreSQL share besides the outbox.

The send budget: one row per budget, a virtual schedule of send slots. `grant` books the next
`count` slots for the whole fleet in one `UPDATE … RETURNING` (never before `paused_until`,
which a 429 moves with `pause`); times are the database's clock, so instances on several
machines need not agree on theirs. And the conversation state of the broadcast draft flow
(PTB persistence), one row per (name, key).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ConversationState, FleetBudget
from bot.db.repos._sql import _insert

SEND = "send"


@dataclass(frozen=True, slots=True)
class Grant:
    """Booked send slots, in the database's clock (Unix seconds).

    Attributes:
        first_at: When the first booked slot is.
        now: The database's time of the booking.
        paused_for: Seconds the fleet was still paused at the booking.
    """

    first_at: float
    now: float
    paused_for: float


class FleetRepo:
    """The fleet-wide send budget and persisted conversation state."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def grant(
        self, count: int, interval: float, lead: float = 0.0, name: str = SEND
    ) -> Grant:
        """Book `count` consecutive send slots, `interval` seconds apart, for the fleet.

        The first is at least `lead` seconds from now (time for the answer to arrive, so no
        slot is already past when the instance gets it), and never within a pause.
        """
        now = func.clock_timestamp()
        await self.session.execute(
            _insert(self.session, FleetBudget)
            .values(name=name, next_slot=now, paused_until=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        span = timedelta(seconds=count * interval)
        result = await self.session.execute(
            update(FleetBudget)
            .where(FleetBudget.name == name)
            .values(
                next_slot=func.greatest(
                    FleetBudget.next_slot, now + timedelta(seconds=lead), FleetBudget.paused_until
                )
                + span
            )
            .returning(FleetBudget.next_slot, FleetBudget.paused_until, now)
        )
        next_slot, paused_until, db_now = result.one()
        first: datetime = next_slot - span
        return Grant(
            first_at=first.timestamp(),
            now=db_now.timestamp(),
            paused_for=max(0.0, (paused_until - db_now).total_seconds()),
        )

    async def pause(self, seconds: float, name: str = SEND) -> None:
        """Pause every instance's sending for `seconds` from now (Telegram's retry_after)."""
        now = func.clock_timestamp()
        until = now + timedelta(seconds=seconds)
        await self.session.execute(
            _insert(self.session, FleetBudget)
            .values(name=name, next_slot=until, paused_until=until)
            .on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "paused_until": func.greatest(FleetBudget.paused_until, until),
                    "next_slot": func.greatest(FleetBudget.next_slot, until),
                },
            )
        )

    async def paused_for(self, name: str = SEND) -> float:
        """Seconds the fleet stays paused (0 if it is not)."""
        result = await self.session.execute(
            select(FleetBudget.paused_until, func.clock_timestamp()).where(
                FleetBudget.name == name
            )
        )
        row = result.first()
        if row is None:
            return 0.0
        paused: float = (row[0] - row[1]).total_seconds()
        return max(0.0, paused)

    async def load_states(self, name: str) -> dict[str, str]:
        """Every persisted value under `name`, by key."""
        result = await self.session.execute(
            select(ConversationState.key, ConversationState.value).where(
                ConversationState.name == name
            )
        )
        return {str(key): str(value) for key, value in result.all()}

    async def load_state(self, name: str, key: str) -> str | None:
        """One persisted value, or None."""
        row = await self.session.get(ConversationState, (name, key))
        return None if row is None else row.value

    async def save_state(self, name: str, key: str, value: str | None, now: datetime) -> None:
        """Store a value (None deletes it)."""
        if value is None:
            await self.session.execute(
                delete(ConversationState).where(
                    ConversationState.name == name, ConversationState.key == key
                )
            )
            return
        await self.session.execute(
            _insert(self.session, ConversationState)
            .values(name=name, key=key, value=value, updated_at=now)
            .on_conflict_do_update(
                index_elements=["name", "key"], set_={"value": value, "updated_at": now}
            )
        )
