"""Roles: who may do what (supporter < organiser < admin), decided on the server at each use.

Admins come from ADMIN_IDS (always admins, never revocable in chat) and from grants stored in
`users.role`. Every privileged command and button asks `role_of()` at the moment of use;
nothing is cached, so a revoke takes effect on the next press. Grants and revokes are one
transaction each, with an audit row for every change.
Must not: receive or return Telegram objects, import `telegram.ext` or handlers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.repos import AuditRepo, UserRepo
from bot.domain.clock import Clock
from bot.domain.types import Actor, Role
from bot.domain.views import TeamMemberView
from bot.domain.wording import N_
from bot.errors import InvalidInputError, NotFoundError

# What admins may type for a role (both spellings of organiser).
ROLE_WORDS = {"organiser": Role.ORGANISER, "organizer": Role.ORGANISER, "admin": Role.ADMIN}
SOURCE_ADMIN_IDS = "ADMIN_IDS"
SOURCE_GRANTED = "granted"


@dataclass(frozen=True, slots=True)
class Identity:
    """/whoami: a user's id, role and where the role comes from (None for supporters)."""

    user_id: int
    role: Role
    source: str | None


@dataclass(frozen=True, slots=True)
class RoleChange:
    """What a grant or revoke did."""

    user_id: int
    username: str | None
    role: Role  # the role the user holds now
    previous: Role
    changed: bool
    admin_ids: bool = False  # the user is an admin through ADMIN_IDS (the grant changes nothing)


def _role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:  # pragma: no cover - the CHECK constraint allows only known roles
        return Role.SUPPORTER


class RoleService:
    """Role look-ups, grants and revokes, and the team list; see the module docstring."""

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
            user = await UserRepo(session).get(user_id)
        if user is None:
            return Role.SUPPORTER
        return _role(user.role)

    async def whoami(self, user_id: int) -> Identity:
        """A user's role right now and where it comes from."""
        if user_id in self.admin_ids:
            return Identity(user_id, Role.ADMIN, SOURCE_ADMIN_IDS)
        async with self._sessionmaker() as session:
            user = await UserRepo(session).get(user_id)
        role = _role(user.role) if user is not None else Role.SUPPORTER
        return Identity(user_id, role, None if role is Role.SUPPORTER else SOURCE_GRANTED)

    async def grant(self, actor: Actor, target: str, role_word: str) -> RoleChange:
        """Give a user (numeric id or @username) the organiser or admin role.

        Raises:
            InvalidInputError: the target or the role is not written correctly.
            NotFoundError: no user with that @username has talked to the bot.
        """
        role = ROLE_WORDS.get(role_word.strip().lower())
        if role is None:
            raise InvalidInputError.worded(N_("the role must be organiser or admin"))
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            repo = UserRepo(session)
            user_id, username = await self._resolve(repo, target)
            if user_id in self.admin_ids:
                return RoleChange(user_id, username, Role.ADMIN, Role.ADMIN, False, True)
            previous = await repo.set_role(user_id, role.value, actor.user_id, now)
            before = _role(previous) if previous is not None else Role.SUPPORTER
            changed = before is not role
            if changed:
                await AuditRepo(session).record(
                    now,
                    actor.name,
                    "role.grant",
                    _who(user_id, username),
                    actor_id=actor.user_id,
                    detail={"role": role.value, "previous": before.value},
                )
            return RoleChange(user_id, username, role, before, changed)

    async def revoke(self, actor: Actor, target: str) -> RoleChange:
        """Make a user a supporter again (ADMIN_IDS admins cannot be revoked in chat).

        Raises:
            InvalidInputError: the target is not written correctly, or is in ADMIN_IDS.
            NotFoundError: no user with that @username has talked to the bot.
        """
        now = self._clock.now()
        async with self._sessionmaker.begin() as session:
            repo = UserRepo(session)
            user_id, username = await self._resolve(repo, target)
            if user_id in self.admin_ids:
                raise InvalidInputError.worded(
                    N_(
                        "%(who)s is an admin through ADMIN_IDS, the bot's configuration; to "
                        "revoke them, remove the id from ADMIN_IDS and restart"
                    ),
                    who=_who(user_id, username),
                )
            user = await repo.get(user_id)
            before = _role(user.role) if user is not None else Role.SUPPORTER
            if before is Role.SUPPORTER:
                return RoleChange(user_id, username, Role.SUPPORTER, before, False)
            await repo.set_role(user_id, Role.SUPPORTER.value, None, now)
            await AuditRepo(session).record(
                now,
                actor.name,
                "role.revoke",
                _who(user_id, username),
                actor_id=actor.user_id,
                detail={"previous": before.value},
            )
            return RoleChange(user_id, username, Role.SUPPORTER, before, True)

    async def team(self) -> list[TeamMemberView]:
        """Admins from ADMIN_IDS, then granted admins and organisers."""
        async with self._sessionmaker() as session:
            repo = UserRepo(session)
            staff = await repo.staff()
            names = await repo.usernames(self.admin_ids)
        members = [
            TeamMemberView(uid, names.get(uid), Role.ADMIN.value, SOURCE_ADMIN_IDS)
            for uid in sorted(self.admin_ids)
        ]
        granted = [
            TeamMemberView(u.id, u.username, _role(u.role).value, SOURCE_GRANTED)
            for u in staff
            if u.id not in self.admin_ids
        ]
        granted.sort(key=lambda m: (-_role(m.role).rank, m.user_id))
        return members + granted

    async def staff_roles(self) -> list[tuple[int, Role]]:
        """(user id, role) of everyone above supporter: whose command menus to install."""
        return [(m.user_id, _role(m.role)) for m in await self.team()]

    async def admin_recipients(self) -> tuple[int, ...]:
        """Every admin's user id (ADMIN_IDS and granted), for reports in their private chats."""
        return tuple(m.user_id for m in await self.team() if m.role == Role.ADMIN.value)

    async def _resolve(self, repo: UserRepo, target: str) -> tuple[int, str | None]:
        text = target.strip()
        if text.startswith("@"):
            user = await repo.by_username(text[1:]) if len(text) <= 65 else None
            if user is None:
                raise NotFoundError("user", text)
            return user.id, user.username
        if text.isascii() and text.isdigit() and 0 < len(text) <= 15:
            user_id = int(text)
            user = await repo.get(user_id)
            return user_id, user.username if user is not None else None
        raise InvalidInputError.worded(
            N_("write the user as a numeric id (they get it with /whoami) or @username")
        )


def _who(user_id: int, username: str | None) -> str:
    return f"@{username} ({user_id})" if username else str(user_id)
