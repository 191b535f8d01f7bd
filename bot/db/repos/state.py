"""StateRepo: key/value facts about the installation (for example, topics file loaded)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import BotState
from bot.db.repos._sql import _insert


class StateRepo:
    """Key/value facts about the installation."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str) -> str | None:
        """The value of a key, or None."""
        row = await self.session.get(BotState, key)
        return None if row is None else row.value

    async def set(self, key: str, value: str) -> None:
        """Set a key."""
        row = await self.session.get(BotState, key)
        if row is None:
            self.session.add(BotState(key=key, value=value))
        else:
            row.value = value

    async def set_if_absent(self, key: str, value: str) -> str:
        """Store `value` under `key` unless a value is there; return the stored value.

        One INSERT … ON CONFLICT DO NOTHING, so two processes starting at once agree on the
        first value written.
        """
        await self.session.execute(
            _insert(self.session, BotState)
            .values(key=key, value=value)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        result = await self.session.execute(select(BotState.value).where(BotState.key == key))
        return str(result.scalar_one())
