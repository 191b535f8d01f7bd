"""Bilingual campaigns: topics in French, feed and post languages, twin posts, broadcast versions.

Issue #10. `topics.name_fr` / `description_fr` (with `name_fr_key`, the forgiving look-up key,
unique where set); `feeds.language` ("en", "fr", "other" or None until a poll reads the feed's
own <language>) and `feeds.language_fixed` (an admin's choice, which polls then keep);
`posts.language` (the feed's at first sight) and `posts.twin_of` (the post this one is the
other language's version of); `broadcasts.language` (the version written first) and
`broadcasts.versions` (the other languages' texts, {"fr": "<html>"}).
Plain add_column everywhere, so SQLite keeps its indexes and triggers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 14:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("topics", sa.Column("name_fr", sa.String(length=64), nullable=True))
    op.add_column("topics", sa.Column("name_fr_key", sa.String(length=64), nullable=True))
    op.add_column("topics", sa.Column("description_fr", sa.Text(), nullable=True))
    op.create_index(op.f("ix_topics_name_fr_key"), "topics", ["name_fr_key"], unique=True)
    op.add_column("feeds", sa.Column("language", sa.String(length=8), nullable=True))
    op.add_column(
        "feeds",
        sa.Column("language_fixed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("posts", sa.Column("language", sa.String(length=8), nullable=True))
    op.add_column("posts", sa.Column("twin_of", sa.Integer(), nullable=True))
    op.add_column("broadcasts", sa.Column("language", sa.String(length=8), nullable=True))
    op.add_column("broadcasts", sa.Column("versions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch_op:
        batch_op.drop_column("versions")
        batch_op.drop_column("language")
    # Plain DROP COLUMN (SQLite 3.35+), not a batch copy: that would lose the posts_fts
    # triggers of migration 0005.
    op.execute("ALTER TABLE posts DROP COLUMN twin_of")
    op.execute("ALTER TABLE posts DROP COLUMN language")
    with op.batch_alter_table("feeds") as batch_op:
        batch_op.drop_column("language_fixed")
        batch_op.drop_column("language")
    op.drop_index(op.f("ix_topics_name_fr_key"), table_name="topics")
    with op.batch_alter_table("topics") as batch_op:
        batch_op.drop_column("description_fr")
        batch_op.drop_column("name_fr_key")
        batch_op.drop_column("name_fr")
