"""Broadcasts get a kind: an organiser's "broadcast" or the bot's own "notice".

Issue #8 (defect 10). The notice a topic's followers get when it is archived was stored as a
finished broadcast, so organisers saw it in /broadcasts as "done … waiting N". It still
travels through the outbox as a broadcast row (a delivery names a post or a broadcast), now
with kind "notice", and /broadcasts lists only kind "broadcast". Notices queued before this
migration are recognised by their text and marked as notices.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The text the archive notice had before it had a kind (services/admin.py until issue #8).
OLD_NOTICE = "The topic <b>% has been archived: you will get no more posts about it.%"


def upgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.String(length=16),
                server_default=sa.text("'broadcast'"),
                nullable=False,
            )
        )
        batch_op.create_check_constraint(
            op.f("ck_broadcasts_kind"), "kind IN ('broadcast', 'notice')"
        )
    broadcasts = sa.table(
        "broadcasts",
        sa.column("kind", sa.String),
        sa.column("status", sa.String),
        sa.column("post_id", sa.Integer),
        sa.column("text_html", sa.Text),
    )
    op.execute(
        broadcasts.update()
        .where(
            broadcasts.c.status == "done",
            broadcasts.c.post_id.is_(None),
            broadcasts.c.text_html.like(OLD_NOTICE),
        )
        .values(kind="notice")
    )


def downgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_broadcasts_kind"), type_="check")
        batch_op.drop_column("kind")
