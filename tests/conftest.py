"""Shared fixtures: settings, a migrated database on SQLite and PostgreSQL, a fake clock.

Storage tests take the `engine` fixture, which is parametrised over SQLite and, when
TEST_DATABASE_URL is set, PostgreSQL. The PostgreSQL database named there is treated as
disposable: its tables are dropped and recreated by the migrations, then truncated per test.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import site
import sys
import sysconfig
import tempfile
from collections.abc import AsyncIterator, Generator
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


# -- nothing outside the checkout -----------------------------------------------------------
# The suite must run from a bare clone: test data lives in tests/data, never beside the
# repository. An audit hook notes every file opened while a test module is collected or a
# test runs; a file outside the places below fails that collection or test phase.


def _allowed_roots() -> tuple[str, ...]:
    """Folders and files a test may open: the checkout, temporary files, Python, the system."""
    home = Path.home()
    roots = [
        REPO_ROOT,
        Path(tempfile.gettempdir()),
        # Hypothesis keeps its example database in the working directory.
        Path(os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY", ".hypothesis")),
        # Client settings that asyncpg and aiohttp read when they exist.
        Path(os.environ.get("PGPASSFILE", home / ".pgpass")),
        home / ".postgresql",
        Path(os.environ.get("NETRC", home / ".netrc")),
        *(Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)),
        *(Path(p) for p in sysconfig.get_paths().values()),
        Path(site.getusersitepackages()),
        *(Path(p) for p in ("/usr", "/etc", "/proc", "/sys", "/dev", "/lib", "/lib64", "/run")),
    ]
    forms = {form for root in roots for form in (os.path.abspath(root), os.path.realpath(root))}
    return tuple(sorted(forms - {os.sep}))


_ALLOWED = _allowed_roots()
_OPENED_OUTSIDE: list[str] = []


def _allowed(path: str) -> bool:
    return any(path == root or path.startswith(root + os.sep) for root in _ALLOWED)


def _note_open(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook: remember a file opened outside the allowed folders (it never raises)."""
    if event != "open" or isinstance(args[0], int):
        return
    with contextlib.suppress(Exception):  # the hook must not break the open it watches
        path = os.path.abspath(os.fsdecode(args[0]))
        if not _allowed(path) and not _allowed(os.path.realpath(path)):
            _OPENED_OUTSIDE.append(path)


sys.addaudithook(_note_open)


def _outside_since(mark: int) -> str | None:
    """Describe the files opened outside the checkout since `mark`, if any."""
    paths = sorted(set(_OPENED_OUTSIDE[mark:]))
    if not paths:
        return None
    return "opened outside the checkout (keep test data in tests/data): " + ", ".join(paths)


def _guard() -> Generator[None, Any, Any]:
    mark = len(_OPENED_OUTSIDE)
    result = yield
    if message := _outside_since(mark):
        pytest.fail(message, pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, Any]:
    """Fail a test whose setup opened a file outside the checkout."""
    return (yield from _guard())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """Fail a test that opened a file outside the checkout."""
    return (yield from _guard())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, Any, Any]:
    """Fail a test whose teardown opened a file outside the checkout."""
    return (yield from _guard())


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Turn the collection of a module that opened a file outside the checkout into an error."""
    mark = len(_OPENED_OUTSIDE)
    report = yield
    if message := _outside_since(mark):
        report.outcome = "failed"
        report.longrepr = message
    return report
