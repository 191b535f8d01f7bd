"""Facets, urgent topics, link previews, refused images, feed intervals, linked channels.

Issue #11. `posts.facets` holds every taxonomy term of a post ([kind, name, ident]);
`posts.image_refused` records that Telegram refused the post's image once, so the rest of its
deliveries go as text. `topics.urgent` and `topics.preview` (off/small/large). Topic rules gain
the `country` and `type` kinds (the check constraint is widened). `feeds.interval_seconds` is an
admin's polling interval, `feeds.min_interval_seconds` the feed's own ask (<ttl>,
sy:updatePeriod, Cache-Control max-age). `linked_channels` names the channels an admin linked.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 16:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_KINDS = "kind IN ('category', 'keyword', 'exclude')"
_NEW_KINDS = "kind IN ('category', 'keyword', 'exclude', 'country', 'type')"


def upgrade() -> None:
    op.add_column("posts", sa.Column("facets", sa.JSON(), nullable=True))
    op.add_column(
        "posts",
        sa.Column("image_refused", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.add_column(
        "topics",
        sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.add_column("topics", sa.Column("preview", sa.String(length=8), nullable=True))
    op.add_column("feeds", sa.Column("interval_seconds", sa.Integer(), nullable=True))
    op.add_column("feeds", sa.Column("min_interval_seconds", sa.Integer(), nullable=True))
    _replace_kind_check(_NEW_KINDS)
    op.create_table(
        "linked_channels",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("linked_by", sa.BigInteger(), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_linked_channels_chat_id_chats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_linked_channels")),
    )


def downgrade() -> None:
    op.drop_table("linked_channels")
    op.execute("DELETE FROM topic_rules WHERE kind IN ('country', 'type')")
    _replace_kind_check(_OLD_KINDS)
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("min_interval_seconds")
        batch_op.drop_column("interval_seconds")
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.drop_column("preview")
        batch_op.drop_column("urgent")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("image_refused")
        batch_op.drop_column("facets")


def _replace_kind_check(condition: str) -> None:
    """Swap topic_rules' kind check: in place on PostgreSQL, by a table copy on SQLite.

    topic_rules has no index of its own beyond its unique constraint, which the copy keeps.
    """
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("topic_rules", schema=None, recreate="always") as batch_op:
            batch_op.drop_constraint(op.f("ck_topic_rules_kind"), type_="check")
            batch_op.create_check_constraint("kind", condition)
        return
    op.drop_constraint(op.f("ck_topic_rules_kind"), "topic_rules", type_="check")
    op.create_check_constraint("kind", "topic_rules", condition)
