"""StateRepo: key/value facts about the installation (for example, topics file loaded)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import BotState


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
