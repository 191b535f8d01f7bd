"""Engine and session factory. Contains no business logic."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.errors import ConfigError


def make_engine(async_url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine for an `sqlite+aiosqlite://` or `postgresql+asyncpg://` URL.

    SQLite gets WAL, foreign keys and a busy timeout, and its folder is created;
    PostgreSQL gets pre-ping so a restarted server is reconnected to transparently.
    """
    url = make_url(async_url)
    kwargs: dict[str, Any] = {"echo": echo}
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
        engine = create_async_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=10, pool_recycle=1800)
    return create_async_engine(url, **kwargs)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # aiosqlite opens in autocommit-less mode; let SQLAlchemy emit BEGIN itself so
        # that transactions behave as on PostgreSQL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (services return them)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def lock_sqlite_file(async_url: str) -> IO[bytes] | None:
    """Hold an OS lock next to a SQLite database file for as long as this process lives.

    SQLite is for one process: a second `campaignbot run` on the same file would send every
    delivery twice. The lock (`fcntl.flock` on `<database>.lock`) goes with the process, at
    exit or on a kill, so a restart after a crash is never refused. Returns the open lock file
    (keep it referenced), or None for PostgreSQL and in-memory databases.

    Raises:
        ConfigError: another process holds the lock.
    """
    url = make_url(async_url)
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    path = Path(database).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(f"{path}.lock", "ab")  # noqa: SIM115 - held open for the process's life
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise ConfigError(
            "DATABASE_URL",
            f"another campaignbot is already running on {database} "
            "(SQLite is for one process; use PostgreSQL to run several)",
        ) from None
    os.set_inheritable(handle.fileno(), False)
    return handle
