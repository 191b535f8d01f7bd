"""The leased claim's partial index on pending deliveries (PostgreSQL only).

Issue 12. `ix_deliveries_pending` (priority DESC, id, next_attempt_at) WHERE status = 'pending'
AND pace <> 2: the claim order of `ix_deliveries_claim` over the rows a leased claim may take,
so `DeliveryRepo.claim_leased` walks neither sent rows (nor their dead index entries) nor
digest-held ones, whatever the statistics. SQLite (one process, `claim_due`) keeps
`ix_deliveries_claim` alone: nothing changes there.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 16:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(
        "ix_deliveries_pending",
        "deliveries",
        [sa.literal_column("priority DESC"), "id", "next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending' AND pace <> 2"),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_deliveries_pending", table_name="deliveries")
