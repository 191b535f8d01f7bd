"""Chats get a language and a time zone.

Issue #10. `language` ("en", "fr") is set from the user's Telegram language at first contact
and changed with /language; None means DEFAULT_LANGUAGE. `timezone` is an IANA name set with
/timezone; None means BOT_TIMEZONE. Existing chats keep None (the defaults).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 14:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("chats", sa.Column("language", sa.String(length=8), nullable=True))
    op.add_column("chats", sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_column("timezone")
        batch_op.drop_column("language")
