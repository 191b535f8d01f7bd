"""Broadcasts can be paid (`allow_paid_broadcast`, up to 1,000 messages a second).

Issue #12. `paid` is the organiser's choice of "fast (paid)" in the preview (only offered with
ALLOW_PAID_BROADCAST=true); the delivery engine sends its deliveries with allow_paid_broadcast
in the paid lane. `paid_stopped_at` is when Telegram refused to charge the Stars balance
(BALANCE_TOO_LOW): from then on `paid` is false and the broadcast goes on at the normal pace;
the progress job tells the organiser once (`paid_notified`). Existing broadcasts are unpaid.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 14:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "broadcasts",
        sa.Column("paid", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )
    op.add_column(
        "broadcasts", sa.Column("paid_stopped_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "broadcasts",
        sa.Column("paid_notified", sa.Boolean(), nullable=False, server_default=sa.text("false")),
    )


def downgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("paid_notified")
        batch_op.drop_column("paid_stopped_at")
        batch_op.drop_column("paid")
