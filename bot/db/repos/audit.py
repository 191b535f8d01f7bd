"""AuditRepo: the audit log (who changed what, from chat or the command line)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AuditEntry


class AuditRepo:
    """The audit log."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        now: datetime,
        actor: str,
        action: str,
        target: str = "",
        *,
        actor_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write one audit row."""
        self.session.add(
            AuditEntry(
                at=now,
                actor=actor[:100],
                actor_id=actor_id,
                action=action,
                target=target[:300],
                detail=detail,
            )
        )

    async def latest(self, limit: int = 20) -> Sequence[AuditEntry]:
        """Newest audit rows first."""
        result = await self.session.execute(
            select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        )
        return result.scalars().all()
