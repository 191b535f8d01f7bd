"""Full-text search over posts for /search and inline mode.

Issue #9 ("Sharing and finding"). `posts.search_text` holds a post's title and summary as
folded words (accents removed, case folded: `bot.domain.search.search_text`), computed in
Python at ingest because PostgreSQL's unaccent extension may be unavailable. It is indexed
by each database's own full-text search:
- PostgreSQL: a GIN index on `to_tsvector('simple', search_text)`;
- SQLite: an FTS5 table `posts_fts` with external content (`posts.search_text`, rowid =
  posts.id, tokenizer unicode61 remove_diacritics 2) kept in sync by three triggers on posts.
Existing posts are backfilled here. The models cannot describe these objects, so
autogenerate ignores them (`bot.db.base.include_name`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.domain.search import search_text

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_UP = (
    "CREATE VIRTUAL TABLE posts_fts USING fts5(search_text, content='posts', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN "
    "INSERT INTO posts_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN "
    "INSERT INTO posts_fts(posts_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER posts_fts_update AFTER UPDATE OF search_text ON posts BEGIN "
    "INSERT INTO posts_fts(posts_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO posts_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
)
_SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS posts_fts_update",
    "DROP TRIGGER IF EXISTS posts_fts_delete",
    "DROP TRIGGER IF EXISTS posts_fts_insert",
    "DROP TABLE IF EXISTS posts_fts",
)
_PG_INDEX = "CREATE INDEX ix_posts_search ON posts USING gin (to_tsvector('simple', search_text))"


def _backfill() -> None:
    """Fill search_text of the posts stored before this revision (in batches of 500)."""
    connection = op.get_bind()
    posts = sa.table(
        "posts",
        sa.column("id", sa.Integer()),
        sa.column("title", sa.Text()),
        sa.column("summary", sa.Text()),
        sa.column("search_text", sa.Text()),
    )
    last = 0
    while True:
        rows = connection.execute(
            sa.select(posts.c.id, posts.c.title, posts.c.summary)
            .where(posts.c.id > last)
            .order_by(posts.c.id)
            .limit(500)
        ).all()
        if not rows:
            return
        connection.execute(
            posts.update()
            .where(posts.c.id == sa.bindparam("post_id"))
            .values(search_text=sa.bindparam("text")),
            [{"post_id": i, "text": search_text(t or "", s or "")} for i, t, s in rows],
        )
        last = rows[-1][0]


def upgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("search_text", sa.Text(), server_default=sa.text("''"), nullable=False)
        )
    _backfill()
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_UP:
            op.execute(statement)
        op.execute("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')")
    else:
        op.execute(_PG_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_DOWN:
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS ix_posts_search")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("search_text")
