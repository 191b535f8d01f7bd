"""Several instances on one PostgreSQL: delivery claims with a lease, the shared send budget,
conversation state in the database.

Issue 12. `deliveries.claimed_by` / `lease_until`: the instance that claimed a pending
delivery and until when no other instance may take it (PostgreSQL only; SQLite leaves them
NULL). `fleet_budget`: one row per budget ("send"), the fleet-wide virtual schedule of send
slots (`next_slot`) and a 429's pause (`paused_until`). `conversation_state`: PTB persistence
of the broadcast draft flow (conversation states and user_data), so an organiser's next update
may reach any instance.

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30 14:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("claimed_by", sa.String(length=64), nullable=True))
    op.add_column("deliveries", sa.Column("lease_until", sa.DateTime(timezone=True)))
    op.create_table(
        "fleet_budget",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("next_slot", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_fleet_budget")),
    )
    op.create_table(
        "conversation_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "key", name=op.f("pk_conversation_state")),
    )


def downgrade() -> None:
    op.drop_table("conversation_state")
    op.drop_table("fleet_budget")
    # Plain DROP COLUMN (SQLite >= 3.35): a batch copy would lose the claim index's DESC and
    # nothing else on deliveries needs a copy.
    op.drop_column("deliveries", "lease_until")
    op.drop_column("deliveries", "claimed_by")
