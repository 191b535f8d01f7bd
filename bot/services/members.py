"""Roles: who may do what (supporter < organiser < admin), decided on the server at each use.

Admins come from ADMIN_IDS (always admins, never revocable in chat) and from grants stored in
`users.role`. Every privileged command and button asks `role_of()` at the moment of use;
nothing is cached, so a revoke takes effect on the next press.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import User
from bot.domain.clock import Clock
from bot.domain.types import Role


class RoleService:
    """Role look-ups (grants and revokes live in the admin use-cases)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        admin_ids: Iterable[int] = (),
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self.admin_ids = frozenset(admin_ids)

    async def role_of(self, user_id: int | None) -> Role:
        """The role of a Telegram user right now (an unknown user is a supporter)."""
        if user_id is None:
            return Role.SUPPORTER
        if user_id in self.admin_ids:
            return Role.ADMIN
        async with self._sessionmaker() as session:
            user = await session.get(User, user_id)
        if user is None:
            return Role.SUPPORTER
        try:
            return Role(user.role)
        except ValueError:  # pragma: no cover - the CHECK constraint allows only known roles
            return Role.SUPPORTER
