"""Shared fixtures: settings, a migrated database on SQLite and PostgreSQL, a fake clock.

Storage tests take the `engine` fixture, which is parametrised over SQLite and, when
TEST_DATABASE_URL is set, PostgreSQL. The PostgreSQL database named there is treated as
disposable: its tables are dropped and recreated by the migrations, then truncated per test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings, async_database_url
from bot.db import migrate
from bot.db.base import Base
from bot.db.session import make_engine, make_sessionmaker
from tests.fakes.clock import FakeClock

PG_SKIP_REASON = (
    "PostgreSQL run skipped: set TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test "
    "(a throwaway database) to run it; .ci/run does this when PostgreSQL answers"
)

REPO_ROOT = Path(__file__).resolve().parents[1]


def pg_url() -> str | None:
    """The PostgreSQL URL for tests, if configured."""
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    return url or None


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's real environment for bot settings."""
    for name in list(os.environ):
        if name in Settings.model_fields or name.lower() in Settings.model_fields:
            monkeypatch.delenv(name, raising=False)
    for upper in (f.upper() for f in Settings.model_fields):
        monkeypatch.delenv(upper, raising=False)


@pytest.fixture
def clock() -> FakeClock:
    """A settable clock."""
    return FakeClock()


async def _drop_everything(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head, copied for each test."""
    import asyncio

    path = tmp_path_factory.mktemp("template") / "template.sqlite3"

    async def build() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    return path


_pg_ready = False


async def _prepare_pg(url: str) -> AsyncEngine:
    global _pg_ready
    engine = make_engine(async_database_url(url))
    if not _pg_ready:
        await _drop_everything(engine)
        await migrate.upgrade(engine)
        _pg_ready = True
    else:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return engine


@pytest.fixture(params=["sqlite", "postgres"])
def db_kind(request: pytest.FixtureRequest) -> str:
    """Which database a storage test runs on."""
    if request.param == "postgres" and pg_url() is None:
        pytest.skip(PG_SKIP_REASON)
    return str(request.param)


@pytest.fixture
def database_url(db_kind: str, sqlite_template: Path, tmp_path: Path) -> str:
    """A plain DATABASE_URL (as users write it) for a fresh, migrated database."""
    if db_kind == "sqlite":
        target = tmp_path / "bot.sqlite3"
        shutil.copyfile(sqlite_template, target)
        return f"sqlite:///{target}"
    url = pg_url()
    assert url is not None
    return url


@pytest.fixture
async def engine(db_kind: str, database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a migrated, empty database."""
    if db_kind == "postgres":
        eng = await _prepare_pg(database_url)
    else:
        eng = make_engine(async_database_url(database_url))
    yield eng
    await eng.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on the test database."""
    return make_sessionmaker(engine)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Any:
    """Build Settings explicitly, never from the developer's .env."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path / 'settings.sqlite3'}",
            "allow_private_feed_urls": True,
            "poll_interval_seconds": 1,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make
