"""Statement helpers shared by the repositories. Contains no business logic.

Private to `bot.db.repos`: the dialect's INSERT (for ON CONFLICT), chunking of long IN lists,
and clipping of stored error texts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def _insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT construct of the session's dialect (for ON CONFLICT support)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _clip(error: str | None, limit: int = 500) -> str | None:
    return None if error is None else error[:limit]


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _dialect(session: AsyncSession) -> str:
    """The name of the session's database dialect ("sqlite" or "postgresql")."""
    return str(session.get_bind().dialect.name)
