"""Pace: digests, quiet hours and pace-respecting broadcasts (issue #10).

`chats.digest` ("daily 18:00", "weekly mon 09:00"; None: instant) and `chats.quiet`
("22:00-08:00"; None: none); `broadcasts.respect_pace` (the organiser chose "respect digests and
quiet hours"); `deliveries.pace` (0 not paced yet, 1 paced, 2 held for a digest) and
`deliveries.digest_id` (the digest carrying it); the `digests` outbox table. Plain
add_column only, so SQLite keeps ix_deliveries_claim's DESC and the posts_fts triggers.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-30 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("chats", sa.Column("digest", sa.String(length=32), nullable=True))
    op.add_column("chats", sa.Column("quiet", sa.String(length=16), nullable=True))
    op.add_column(
        "broadcasts",
        sa.Column("respect_pace", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column(
        "deliveries",
        sa.Column("pace", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("deliveries", sa.Column("digest_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_deliveries_digest_id", "deliveries", ["digest_id"], unique=False)
    op.create_index(
        "ix_deliveries_digest_due",
        "deliveries",
        ["pace", "status", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "digests",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("parts_sent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'dropped')", name=op.f("ck_digests_status")
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_digests_chat_id_chats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
    )
    op.create_index(
        "ix_digests_status_next_attempt_at",
        "digests",
        ["status", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_digests_status_next_attempt_at", table_name="digests")
    op.drop_table("digests")
    op.drop_index("ix_deliveries_digest_due", table_name="deliveries")
    op.drop_index("ix_deliveries_digest_id", table_name="deliveries")
    # The claim index goes first and comes back after: a batch copy would lose its DESC.
    op.drop_index("ix_deliveries_claim", table_name="deliveries")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("digest_id")
        batch_op.drop_column("pace")
    op.create_index(
        "ix_deliveries_claim",
        "deliveries",
        ["status", sa.literal_column("priority DESC"), "id", "next_attempt_at"],
        unique=False,
    )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("respect_pace")
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_column("quiet")
        batch_op.drop_column("digest")
