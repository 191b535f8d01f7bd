"""Migrations: head matches the models, and downgrade to base then upgrade again works."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import migrate
from bot.db.base import Base


def _diff(connection: Any) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "target_metadata": Base.metadata}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_head_matches_models(engine: AsyncEngine) -> None:
    """Autogenerate finds no difference between the models and the migrated schema."""
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_downgrade_to_base_and_upgrade_again(engine: AsyncEngine) -> None:
    """Every migration can be undone and redone."""
    await migrate.downgrade(engine, "base")
    async with engine.connect() as conn:
        after_down = await conn.run_sync(lambda c: sorted(inspect(c).get_table_names()))
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        after_up = await conn.run_sync(lambda c: sorted(inspect(c).get_table_names()))
        diff = await conn.run_sync(_diff)
    expected = sorted([*Base.metadata.tables, "alembic_version"])
    assert (after_down, after_up, diff) == (["alembic_version"], expected, [])
