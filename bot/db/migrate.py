"""Apply Alembic migrations from code (`campaignbot db upgrade`, `campaignbot run`).

Alembic's configuration lives in pyproject.toml; the migration scripts ship in `migrations/`
next to the package. Contains no business logic.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

_PACKAGED = Path(__file__).resolve().parents[1] / "_migrations"  # installed wheel
MIGRATIONS_DIR = (
    _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2] / "migrations"
)

# The advisory lock that serialises migrations of several instances (PostgreSQL).
MIGRATE_LOCK = 0x6361_6D70_0003


def alembic_config(async_url: str | None = None) -> Config:
    """An Alembic Config pointing at our scripts, without reading any ini file."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if async_url is not None:
        cfg.attributes["async_url"] = async_url
    return cfg


def _upgrade(connection: Connection, async_url: str, revision: str) -> None:
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
