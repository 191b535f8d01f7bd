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
        span = timedelta(seconds=count * interval)
        # One statement (the first booking creates the row): one round trip per booking.
        result = await self.session.execute(
            _insert(self.session, FleetBudget)
            .values(name=name, next_slot=now + timedelta(seconds=lead) + span, paused_until=now)
            .on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "next_slot": func.greatest(
                        FleetBudget.next_slot,
                        now + timedelta(seconds=lead),
                        FleetBudget.paused_until,
                    )
                    + span
                },
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
        return {str(key): str(value) for key, value in result.all() if value}

    async def load_state(self, name: str, key: str) -> str | None:
        """One persisted value, or None (none, or a row holding only a turn)."""
        value = await self.session.scalar(
            select(ConversationState.value).where(
                ConversationState.name == name, ConversationState.key == key
            )
        )
        return value or None

    async def save_state(self, name: str, key: str, value: str | None, now: datetime) -> None:
        """Store a value (None deletes it); either ends the turn on it."""
        if value is None:
            await self.session.execute(
                delete(ConversationState).where(
                    ConversationState.name == name, ConversationState.key == key
                )
            )
            return
        changes = {"value": value, "updated_at": now, "busy_by": None, "busy_until": None}
        await self.session.execute(
            _insert(self.session, ConversationState)
            .values(name=name, key=key, **changes)
            .on_conflict_do_update(index_elements=["name", "key"], set_=changes)
        )

    async def turn(self, name: str, key: str) -> tuple[str, datetime] | None:
        """Who holds the turn on (name, key) and until when, or None (nobody)."""
        result = await self.session.execute(
            select(ConversationState.busy_by, ConversationState.busy_until).where(
                ConversationState.name == name,
                ConversationState.key == key,
                ConversationState.busy_by.is_not(None),
            )
        )
        row = result.first()
        if row is None or row[1] is None:
            return None
        return str(row[0]), row[1]

    async def take_turn(
        self, name: str, key: str, holder: str, now: datetime, until: datetime
    ) -> None:
        """Mark `holder` as handling (name, key) until `until`.

        A row holding only the turn is made if there is none; its value is kept otherwise.
        """
        await self.session.execute(
            _insert(self.session, ConversationState)
            .values(name=name, key=key, value="", updated_at=now, busy_by=holder, busy_until=until)
            .on_conflict_do_update(
                index_elements=["name", "key"], set_={"busy_by": holder, "busy_until": until}
            )
        )

    async def end_turn(self, name: str, key: str, holder: str) -> None:
        """End `holder`'s turn on (name, key), if it still holds it; a turn-only row goes."""
        mine = (
            ConversationState.name == name,
            ConversationState.key == key,
            ConversationState.busy_by == holder,
        )
        await self.session.execute(
            delete(ConversationState).where(*mine, ConversationState.value == "")
        )
        await self.session.execute(
            update(ConversationState).where(*mine).values(busy_by=None, busy_until=None)
        )
