"""Shared fixtures: settings, a migrated database on SQLite and PostgreSQL, a fake clock.

Storage tests take the `engine` fixture, which is parametrised over SQLite and, when
TEST_DATABASE_URL is set, PostgreSQL. The database named there is only the way in: each test
process (each pytest-xdist worker, or `master` without xdist) creates its own database next to
it, `<name>_gw0`, `<name>_gw1`…, migrates it once, empties it before every test and drops it at
the end; TEST_DATABASE_URL in that process then names its own database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import site
import ssl
import sys
import sysconfig
import tempfile
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import Any

import httpx._transports.default as httpx_transports
import pytest
from sqlalchemy import NullPool, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.config import Settings, async_database_url
from bot.db import migrate
from bot.db.base import Base
from bot.db.session import make_engine, make_sessionmaker
from bot.runtime import skip_sniffio_probe
from tests.fakes.clock import FakeClock
from tests.prefork import kill_leftovers

PG_SKIP_REASON = (
    "PostgreSQL run skipped: set TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test "
    "(each test process creates and drops its own database next to it) to run it; .ci/run "
    "does this when PostgreSQL answers"
)

REPO_ROOT = Path(__file__).resolve().parents[1]


def pg_url() -> str | None:
    """The PostgreSQL URL for tests, if configured (this test process's own database)."""
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    return url or None


# -- one PostgreSQL database per test process ---------------------------------------------------

_pg_server_url: str | None = None  # TEST_DATABASE_URL as given: where the databases are created
_pg_created = False


def pg_server_url() -> str | None:
    """TEST_DATABASE_URL as given (a database that exists), for tools that create their own."""
    return _pg_server_url


def _worker_database_url(url: str, worker: str) -> str:
    """The URL of this worker's own database: the given name with `_<worker>` appended."""
    parsed = make_url(url)
    own = parsed.set(database=f"{parsed.database}_{worker}")
    return own.render_as_string(hide_password=False)


def pytest_configure(config: pytest.Config) -> None:
    """Point TEST_DATABASE_URL at this process's own database (created on first use).

    The pytest-xdist controller runs no test: it leaves the variable to its workers.
    """
    global _pg_server_url
    url = pg_url()
    worker = getattr(config, "workerinput", {}).get("workerid")
    controller = worker is None and config.getoption("dist", "no") != "no"
    if url is None or controller or _pg_server_url is not None:
        return
    _pg_server_url = url
    os.environ["TEST_DATABASE_URL"] = _worker_database_url(url, worker or "master")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop this process's database (before an xdist worker reports that it has finished)."""
    global _pg_server_url, _pg_created
    if _pg_server_url is None:
        return
    own = os.environ["TEST_DATABASE_URL"]
    os.environ["TEST_DATABASE_URL"] = _pg_server_url
    if _pg_created:
        asyncio.run(
            _admin(_pg_server_url, f'DROP DATABASE IF EXISTS "{_db_name(own)}" WITH (FORCE)')
        )
    _pg_server_url, _pg_created = None, False


def _db_name(url: str) -> str:
    return str(make_url(url).database)


async def _admin(server_url: str, *statements: str) -> None:
    """Run statements outside a transaction (CREATE/DROP DATABASE) on the given server."""
    engine = create_async_engine(
        async_database_url(server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the slow tests first (after pytest-randomly's shuffle, which stays within groups).

    With pytest-xdist the longest tests then run while the many short ones fill the other
    worker, instead of one long test finishing alone at the end.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session", autouse=True)
def _no_sniffio_probe() -> None:
    """Spare httpcore its per-request `import sniffio` from the first test on, as the bot does.

    The bot does this when it builds its runtime (`bot.runtime.skip_sniffio_probe`), so only
    tests that talk to the fake server through a Bot of their own before any bot started (the
    chaos test) would pay a sys.path scan per request, about a sixth of their CPU.
    """
    skip_sniffio_probe()


@pytest.fixture(scope="session", autouse=True)
def _one_ca_bundle_per_process() -> Iterator[None]:
    """Parse the CA bundle once per test process instead of once per HTTP client.

    Each Application makes three httpx clients and each client parses certifi's bundle
    (about 0.1 s of CPU); the tests speak plain HTTP to local servers, so nothing about TLS
    is under test. The context is the one httpx would build; only its construction is shared.
    """
    original = httpx_transports.create_ssl_context
    shared: dict[bool, ssl.SSLContext] = {}

    def create_ssl_context(
        verify: ssl.SSLContext | str | bool = True, cert: Any = None, trust_env: bool = True
    ) -> ssl.SSLContext:
        if verify is not True or cert is not None:
            return original(verify=verify, cert=cert, trust_env=trust_env)
        if trust_env not in shared:
            shared[trust_env] = original(verify=verify, cert=cert, trust_env=trust_env)
        return shared[trust_env]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx_transports, "create_ssl_context", create_ssl_context)
        yield


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's real environment for bot settings."""
    for name in list(os.environ):
        if name in Settings.model_fields or name.lower() in Settings.model_fields:
            monkeypatch.delenv(name, raising=False)
    for upper in (f.upper() for f in Settings.model_fields):
        monkeypatch.delenv(upper, raising=False)


@pytest.fixture(autouse=True)
def _no_bot_left_running() -> Iterator[None]:
    """A `python -m bot` forked for a test (tests/prefork.py) does not outlive it."""
    yield
    kill_leftovers()


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


async def _create_worker_database(url: str) -> None:
    """Create this process's database on the server of TEST_DATABASE_URL, afresh."""
    global _pg_created
    if _pg_server_url is None or _pg_created:
        return
    name = _db_name(url)
    await _admin(
        _pg_server_url,
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}"',
    )
    _pg_created = True


_empty_sql: str | None = None


async def _empty_pg(engine: AsyncEngine) -> None:
    """Delete every row and restart the id sequences, in one round trip.

    DELETE on these small tables costs a tenth of TRUNCATE (which makes new files for every
    table); the rows are gone all the same and ids start at 1 again.
    """
    global _empty_sql
    async with engine.begin() as conn:
        if _empty_sql is None:
            sequences = await conn.scalars(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
            )
            _empty_sql = "".join(
                [f"DELETE FROM {t.name};" for t in reversed(Base.metadata.sorted_tables)]  # noqa: S608
                + [f"SELECT setval('{name}', 1, false);" for name in sequences]
            )
        raw = await conn.get_raw_connection()
        await raw.driver_connection.execute(_empty_sql)  # asyncpg: many statements at once


async def _prepare_pg(engine: AsyncEngine, url: str) -> None:
    """This process's database: migrated once, then emptied for every test."""
    global _pg_ready, _empty_sql
    if _pg_ready:
        try:
            await _empty_pg(engine)
            return
        except Exception:  # a test left the schema changed: build it again
            _pg_ready = False
            _empty_sql = None
    await _create_worker_database(url)
    await _drop_everything(engine)
    await migrate.upgrade(engine)
    _pg_ready = True


# One engine per database kind and test process, its pool emptied after every test: a new
# engine would compile every SQL statement again (SQLAlchemy caches them per engine).
_engines: dict[str, AsyncEngine] = {}


@pytest.fixture(params=["sqlite", "postgres"])
def db_kind(request: pytest.FixtureRequest) -> str:
    """Which database a storage test runs on."""
    if request.param == "postgres" and pg_url() is None:
        pytest.skip(PG_SKIP_REASON)
    return str(request.param)


@pytest.fixture
def database_url(
    db_kind: str, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A plain DATABASE_URL (as users write it) for a fresh, migrated database."""
    if db_kind == "sqlite":
        folder = tmp_path_factory.getbasetemp() / "database"
        folder.mkdir(exist_ok=True)
        target = folder / "bot.sqlite3"
        for leftover in folder.iterdir():  # the last test's file, WAL and journal
            leftover.unlink()
        shutil.copyfile(sqlite_template, target)
        return f"sqlite:///{target}"
    url = pg_url()
    assert url is not None
    return url


@pytest.fixture
async def engine(db_kind: str, database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a migrated, empty database."""
    eng = _engines.get(db_kind)
    if eng is None:
        eng = _engines[db_kind] = make_engine(async_database_url(database_url))
    try:
        if db_kind == "postgres":
            await _prepare_pg(eng, database_url)
        yield eng
    finally:
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
