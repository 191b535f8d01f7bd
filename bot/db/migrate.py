"""Apply Alembic migrations from code (`campaignbot db upgrade`, `campaignbot run`).

Alembic's configuration lives in pyproject.toml; the migration scripts ship in `migrations/`
next to the package. Contains no business logic.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

_PACKAGED = Path(__file__).resolve().parents[1] / "_migrations"  # installed wheel
MIGRATIONS_DIR = (
    _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2] / "migrations"
)

# The advisory lock that serialises migrations of several instances (PostgreSQL).
MIGRATE_LOCK = 0x6361_6D70_0003
# The advisory lock that serialises the start of several instances (migrations, first seeding).
STARTUP_LOCK = 0x6361_6D70_0004


def alembic_config(async_url: str | None = None) -> Config:
    """An Alembic Config pointing at our scripts, without reading any ini file."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if async_url is not None:
        cfg.attributes["async_url"] = async_url
    return cfg


@functools.cache
def head_revisions() -> frozenset[str]:
    """The head revision(s) of the migration scripts (read once per process)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _at_head(connection: Connection) -> bool:
    return set(MigrationContext.configure(connection).get_current_heads()) == head_revisions()


def _upgrade(connection: Connection, async_url: str, revision: str) -> None:
    if revision == "head" and _at_head(connection):
        return  # every start of the bot: nothing to do, without running Alembic's env.py
    cfg = alembic_config(async_url)
    cfg.attributes["sync_connection"] = connection
    command.upgrade(cfg, revision)


def _downgrade(connection: Connection, async_url: str, revision: str) -> None:
    cfg = alembic_config(async_url)
    cfg.attributes["sync_connection"] = connection
    command.downgrade(cfg, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database behind `engine` to `revision`."""
    url = engine.url.render_as_string(hide_password=False)
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Instances starting together upgrade one after another (the lock ends with the
            # transaction; the later ones then find nothing left to do).
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
        await conn.run_sync(_upgrade, url, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Downgrade the database behind `engine` to `revision`."""
    url = engine.url.render_as_string(hide_password=False)
    async with engine.begin() as conn:
        await conn.run_sync(_downgrade, url, revision)


@asynccontextmanager
async def startup_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold PostgreSQL's start-up lock: instances starting together migrate and seed in turn.

    On SQLite (one process) nothing is taken.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK})
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK})
            await conn.commit()
