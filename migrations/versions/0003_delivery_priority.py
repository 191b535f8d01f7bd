"""Deliveries are claimed by priority through an index; queued broadcasts outrank posts.

Issue #8 (defect 6). The priority column was always 0. Broadcasts now get a higher priority
than post notifications at fan-out (bot/domain/priority.py), and the claim query's order,
(priority DESC, id) among pending rows, gets an index so that a claim reads its batch instead
of sorting the whole backlog; it replaces the index on (status, next_attempt_at), which SQLite
preferred and which served nothing else. Broadcast deliveries still pending are raised to the broadcast
priority, so the order holds for what was queued before the upgrade.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# DeliveryPriority.BROADCAST when this migration was written (a migration keeps its values).
BROADCAST_PRIORITY = 10


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_status_next_attempt_at")
        batch_op.create_index(
            "ix_deliveries_claim",
            ["status", sa.literal_column("priority DESC"), "id", "next_attempt_at"],
            unique=False,
        )
    op.execute(
        sa.text(
            "UPDATE deliveries SET priority = :priority "
            "WHERE broadcast_id IS NOT NULL AND status = 'pending'"
        ).bindparams(priority=BROADCAST_PRIORITY)
    )


def downgrade() -> None:
    op.execute(sa.text("UPDATE deliveries SET priority = 0 WHERE priority <> 0"))
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_claim")
        batch_op.create_index(
            "ix_deliveries_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )
