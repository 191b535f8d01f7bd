"""Declarative base, naming convention and the aware-UTC datetime column type.

Every datetime that crosses `bot.db` is timezone-aware UTC. SQLite keeps no
time zone, so `UTCDateTime` converts on the way in and out; on PostgreSQL it is
`timestamp with time zone`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import DateTime, Dialect, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL on SQLite
            value = datetime.fromisoformat(value)
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every ORM model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


# Full-text search objects that migration 0005 creates beside the models, which cannot
# describe them: SQLite's FTS5 table `posts_fts` (with its shadow tables and triggers) and
# PostgreSQL's GIN expression index. Autogenerate leaves them alone (`include_name`).
SEARCH_TABLE = "posts_fts"
SEARCH_INDEX = "ix_posts_search"


def is_search_object(name: str | None) -> bool:
    """Whether a table or index name belongs to full-text search (not in the models)."""
    return bool(name) and (name == SEARCH_INDEX or str(name).startswith(SEARCH_TABLE))


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's `include_name` hook: compare everything but the search objects."""
    return not is_search_object(name)


def include_object_on(dialect: str) -> Callable[..., bool]:
    """Alembic's `include_object` hook on `dialect`.

    A model index made for some dialects only (`info["dialects"]`, with `ddl_if`) is compared
    only on those: on the others the migrations do not create it.
    """

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        dialects = getattr(obj, "info", {}).get("dialects") if type_ == "index" else None
        return dialects is None or dialect in dialects

    return include
