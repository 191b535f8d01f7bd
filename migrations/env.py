"""Alembic environment: the URL comes from bot.config.Settings (or the caller's config).

`campaignbot db upgrade` (bot.db.migrate) passes the async URL in `config.attributes`;
a plain `alembic upgrade head` reads DATABASE_URL through Settings.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.db import models  # noqa: F401  (registers every table on Base.metadata)
from bot.db.base import Base, include_name, include_object_on

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("async_url")
    if url:
        return str(url)
    from bot.config import load_settings

    return load_settings().async_database_url


def _configure(connection: Connection | None = None, **kwargs: Any) -> None:
    url = _url()
    context.configure(
        connection=connection,
        url=None if connection is not None else url,
        target_metadata=target_metadata,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
        compare_server_default=False,
        include_name=include_name,
        include_object=include_object_on(
            connection.dialect.name if connection is not None else url.split(":")[0].split("+")[0]
        ),
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        await connection.run_sync(_run_sync)
        return
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run_sync)
            await conn.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("sync_connection")
    if connection is not None:
        _run_sync(connection)
        return
    asyncio.run(_run_async())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
