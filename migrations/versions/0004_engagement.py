"""What supporters did with a message, in aggregates: clicks, actions, shares, growth.

Issue #9. Deliveries get the tracked-link click count and first click time and the moment the
in-chat action button was pressed (nothing about the request is stored). Topics and broadcasts
get the label of that action button; broadcasts remember which results message the organiser
got (one hour, then edited at 24 hours). `message_totals` holds per-message, per-topic counters
that no delivery row holds (shares, joins through shared links, unsubscribes credited to the
last message) and the folded figures of deliveries deleted by retention or /forgetme;
`topic_growth` counts subscriptions gained and lost per topic per week.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 14:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = (
    "targeted",
    "sent",
    "failed",
    "blocked",
    "clicks",
    "click_count",
    "actions",
    "shares",
    "joins",
    "unsubscribes",
)


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: SQLite's batch copy re-creates indexes from reflection,
    # which loses the DESC of ix_deliveries_claim (and with it the claim's index order).
    op.add_column("deliveries", _counter("clicks"))
    op.add_column("deliveries", sa.Column("first_click_at", sa.DateTime(timezone=True)))
    op.add_column("deliveries", sa.Column("acted_at", sa.DateTime(timezone=True)))
    op.add_column("topics", sa.Column("action_label", sa.String(length=64), nullable=True))
    op.add_column("broadcasts", sa.Column("action_label", sa.String(length=64), nullable=True))
    op.add_column(
        "broadcasts",
        sa.Column("results_stage", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("broadcasts", sa.Column("results_message_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "message_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), server_default=sa.text("0"), nullable=False),
        *(_counter(name) for name in COUNTERS),
        sa.CheckConstraint("kind IN ('post', 'broadcast')", name=op.f("ck_message_totals_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_totals")),
        sa.UniqueConstraint(
            "kind",
            "message_id",
            "topic_id",
            name=op.f("uq_message_totals_kind_message_id_topic_id"),
        ),
    )
    op.create_table(
        "topic_growth",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        _counter("joined"),
        _counter("left"),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            name=op.f("fk_topic_growth_topic_id_topics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic_growth")),
        sa.UniqueConstraint(
            "topic_id", "week_start", name=op.f("uq_topic_growth_topic_id_week_start")
        ),
    )


def downgrade() -> None:
    op.drop_table("topic_growth")
    op.drop_table("message_totals")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("results_message_id")
        batch_op.drop_column("results_stage")
        batch_op.drop_column("action_label")
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.drop_column("action_label")
    # The claim index goes first and comes back after: a batch copy would lose its DESC.
    op.drop_index("ix_deliveries_claim", table_name="deliveries")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("acted_at")
        batch_op.drop_column("first_click_at")
        batch_op.drop_column("clicks")
    op.create_index(
        "ix_deliveries_claim",
        "deliveries",
        ["status", sa.literal_column("priority DESC"), "id", "next_attempt_at"],
        unique=False,
    )
