"""RoleService on SQLite and PostgreSQL, with a fake clock: roles, grants, revokes, the team."""

from __future__ import annotations

import pytest

from bot.db.models import User
from bot.domain.types import Role
from bot.errors import InvalidInputError, NotFoundError
from bot.services.roles import Identity, RoleService
from tests.fakes.clock import FakeClock
from tests.services.support import (
    ACTOR,
    ADMIN_ID,
    Sessions,
    audit_actions,
    count_rows,
    remember_user,
)


async def test_grant_by_id_creates_row_and_audits(
    roles: RoleService, sessionmaker: Sessions
) -> None:
    """Granting by id to an unknown user creates their row with the role and an audit row."""
    change = await roles.grant(ACTOR, "555", "organiser")
    assert (
        change.changed,
        await roles.whoami(555),
        await count_rows(sessionmaker, User, User.granted_by == ADMIN_ID),
        await audit_actions(sessionmaker),
    ) == (True, Identity(555, Role.ORGANISER, "granted"), 1, ["role.grant"])


async def test_grant_by_username_is_case_insensitive(
    roles: RoleService, sessionmaker: Sessions, clock: FakeClock
) -> None:
    """@Username resolves to the user who last used it, whatever the case."""
    await remember_user(sessionmaker, clock, 556, "Ana_Org")
    change = await roles.grant(ACTOR, "@ANA_ORG", "admin")
    assert (change.user_id, change.username, (await roles.whoami(556)).role) == (
        556,
        "ana_org",
        Role.ADMIN,
    )


async def test_grant_unknown_username_raises(roles: RoleService) -> None:
    """An @username nobody has used with the bot is NotFoundError."""
    with pytest.raises(NotFoundError):
        await roles.grant(ACTOR, "@ghost", "admin")


@pytest.mark.parametrize(("target", "role"), [("abc", "admin"), ("555", "king"), ("-5", "admin")])
async def test_grant_bad_input_raises(roles: RoleService, target: str, role: str) -> None:
    """A target that is no id or @username, or a role that is not one, is refused."""
    with pytest.raises(InvalidInputError):
        await roles.grant(ACTOR, target, role)


async def test_grant_same_role_twice_is_one_change(
    roles: RoleService, sessionmaker: Sessions
) -> None:
    """Granting a role someone has already changes nothing and writes no second audit row."""
    await roles.grant(ACTOR, "555", "admin")
    again = await roles.grant(ACTOR, "555", "admin")
    assert (again.changed, await audit_actions(sessionmaker)) == (False, ["role.grant"])


async def test_grant_to_admin_ids_admin_is_harmless(
    roles: RoleService, sessionmaker: Sessions
) -> None:
    """Granting to an ADMIN_IDS admin (e.g. oneself) changes nothing."""
    change = await roles.grant(ACTOR, str(ADMIN_ID), "organiser")
    assert (change.admin_ids, change.changed, await count_rows(sessionmaker, User)) == (
        True,
        False,
        0,
    )


async def test_revoke_makes_supporter_and_audits(
    roles: RoleService, sessionmaker: Sessions
) -> None:
    """Revoking a granted admin makes them a supporter again, with an audit row."""
    await roles.grant(ACTOR, "555", "admin")
    change = await roles.revoke(ACTOR, "555")
    assert (
        change.previous,
        (await roles.whoami(555)).role,
        await audit_actions(sessionmaker),
    ) == (
        Role.ADMIN,
        Role.SUPPORTER,
        ["role.grant", "role.revoke"],
    )


async def test_revoke_admin_ids_admin_refused(roles: RoleService, sessionmaker: Sessions) -> None:
    """An ADMIN_IDS admin cannot be revoked in chat; the reason names ADMIN_IDS."""
    with pytest.raises(InvalidInputError, match="ADMIN_IDS"):
        await roles.revoke(ACTOR, str(ADMIN_ID))


async def test_team_lists_admin_ids_then_grants(
    roles: RoleService, sessionmaker: Sessions, clock: FakeClock
) -> None:
    """The team: ADMIN_IDS admins, then granted admins, then organisers."""
    await remember_user(sessionmaker, clock, 600, "org")
    await roles.grant(ACTOR, "600", "organiser")
    await roles.grant(ACTOR, "700", "admin")
    team = [(m.user_id, m.username, m.role, m.source) for m in await roles.team()]
    assert team == [
        (ADMIN_ID, None, "admin", "ADMIN_IDS"),
        (700, None, "admin", "granted"),
        (600, "org", "organiser", "granted"),
    ]
