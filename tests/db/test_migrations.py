"""Migrations: head matches the models, and downgrade to base then upgrade again works."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import JSON, column, inspect, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import migrate
from bot.db.base import Base, UTCDateTime, include_name, include_object_on, is_search_object
from bot.db.models import Broadcast


def _diff(connection: Any) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "target_metadata": Base.metadata,
            "include_name": include_name,
            "include_object": include_object_on(connection.dialect.name),
        },
    )
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Any) -> list[str]:
    """The tables the models describe (not the full-text search ones of migration 0005)."""
    names = inspect(connection).get_table_names()
    return sorted(n for n in names if not is_search_object(n))


async def test_head_matches_models(engine: AsyncEngine) -> None:
    """Autogenerate finds no difference between the models and the migrated schema."""
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_downgrade_to_base_and_upgrade_again(engine: AsyncEngine) -> None:
    """Every migration can be undone and redone."""
    await migrate.downgrade(engine, "base")
    async with engine.connect() as conn:
        after_down = await conn.run_sync(_tables)
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        after_up = await conn.run_sync(_tables)
        diff = await conn.run_sync(_diff)
    expected = sorted([*Base.metadata.tables, "alembic_version"])
    assert (after_down, after_up, diff) == (["alembic_version"], expected, [])


async def test_0002_marks_archive_notices_stored_before_it(engine: AsyncEngine) -> None:
    """Upgrading to 0002 gives old archive notices the kind "notice", other broadcasts not."""
    await migrate.downgrade(engine, "0001")
    old = table(
        "broadcasts",
        column("created_by"),
        column("topic_ids", JSON),
        column("text_html"),
        column("status"),
        column("created_at", UTCDateTime()),
    )
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    notice = (
        "The topic <b>✋ StopTorture</b> has been archived: you will get no more posts about "
        "it. Send /topics to choose other topics."
    )
    async with engine.begin() as conn:
        await conn.execute(
            old.insert().values(topic_ids=[1], status="done", created_at=now),
            [{"created_by": 1, "text_html": notice}, {"created_by": 2, "text_html": "Act now."}],
        )
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        kinds = (await conn.execute(select(Broadcast.kind).order_by(Broadcast.id))).all()
    assert [k for (k,) in kinds] == ["notice", "broadcast"]
