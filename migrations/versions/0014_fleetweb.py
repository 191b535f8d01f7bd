"""Conversation turns: which instance is handling a person's broadcast-flow update, and until when.

Issue 12. With several webhook instances an organiser's next update may reach another instance
while the first is still between its reply and the save of the new state (the reply goes out
inside the handler, the state is written after it): the second instance read the old state
and answered "This preview is no longer active". `busy_by` names the instance holding the
person's turn, `busy_until` when that turn lapses (a killed instance never ends it); the next
instance waits for the turn before reading the state. A row may now hold only a turn (value '').

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("conversation_state", sa.Column("busy_by", sa.String(length=64), nullable=True))
    op.add_column(
        "conversation_state", sa.Column("busy_until", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.execute("DELETE FROM conversation_state WHERE value = ''")
    with op.batch_alter_table("conversation_state", schema=None) as batch_op:
        batch_op.drop_column("busy_until")
        batch_op.drop_column("busy_by")
