"""Privacy use-cases: the daily retention run and /mydata.

Retention folds delivery rows older than RETENTION_DAYS (and no longer pending) into the
per-message totals and deletes them, then reduces older posts to their title and link. It
works in batches, one bounded transaction each, so the outbox is never locked for long and a
crash between batches loses nothing (each batch's fold and delete commit together).
Forgetting a chat lives with the other supporter use-cases (`SubscriptionService.forget`)
and folds through the same repository method.

Owns its transactions. Returns `bot.domain.privacy` values.
Must not: receive or return Telegram objects, import `telegram.ext` or handlers, render text,
or log or return which chat did anything.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.repos import ChatRepo, PrivacyRepo, UserRepo
from bot.db.repos.pace import PaceRepo
from bot.domain.clock import Clock
from bot.domain.privacy import MyDataView, RetentionSummary, StoredUserView, retention_cutoff

# Rows per retention transaction: small enough that a batch holds its locks for milliseconds.
RETENTION_BATCH = 500


class PrivacyService:
    """Retention and /mydata; see the module docstring."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        retention_days: int,
        *,
        batch_size: int = RETENTION_BATCH,
    ) -> None:
        if retention_days < 1:
            raise ValueError("retention must be at least one day")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._sessionmaker = sessionmaker
        self._clock = clock
        self.retention_days = retention_days
        self._batch = batch_size

    async def apply_retention(self) -> RetentionSummary:
        """Fold and delete expired delivery rows, then trim expired posts, batch by batch.

        Running it again at once changes nothing more. The cut-off is taken once, at start.
        """
        cutoff = retention_cutoff(self._clock.now(), self.retention_days)
        deliveries = posts = batches = 0
        while True:
            async with self._sessionmaker.begin() as session:
                repo = PrivacyRepo(session)
                ids = await repo.expired_deliveries(cutoff, self._batch)
                if ids:
                    deliveries += await repo.fold_deliveries(ids)
            if not ids:
                break
            batches += 1
            await asyncio.sleep(0)  # let replies and sends run between batches
        async with self._sessionmaker.begin() as session:
            # Finished digests go with their deliveries (their posts were folded above).
            await PaceRepo(session).delete_finished_digests(cutoff)
        while True:
            async with self._sessionmaker.begin() as session:
                repo = PrivacyRepo(session)
                ids = await repo.expired_posts(cutoff, self._batch)
                if ids:
                    posts += await repo.trim_posts(ids)
            if not ids:
                break
            batches += 1
            await asyncio.sleep(0)
        return RetentionSummary(deliveries=deliveries, posts=posts, batches=batches)

    async def my_data(self, chat_id: int, user_id: int | None) -> MyDataView:
        """Everything stored about a chat, and about the person asking if `user_id` is given.

        `user_id` is given in a private chat only: the user row and the count of the
        person's audit entries are theirs, never a group's to read.
        """
        async with self._sessionmaker() as session:
            chats = ChatRepo(session)
            repo = PrivacyRepo(session)
            chat = await chats.get(chat_id)
            topics = await chats.subscribed_topics(chat_id, include_archived=True)
            stored, clicked, acted = await repo.chat_delivery_marks(chat_id)
            user = await UserRepo(session).get(user_id) if user_id is not None else None
            audit = await repo.audit_count_by(user_id) if user_id is not None else 0
        return MyDataView(
            chat_id=chat_id,
            chat_type=chat.type if chat is not None else "",
            known=chat is not None,
            retention_days=self.retention_days,
            created=chat.created_at if chat is not None else None,
            active=chat.active if chat is not None else False,
            inactive_reason=chat.inactive_reason if chat is not None else None,
            language=chat.language if chat is not None else None,
            timezone=chat.timezone if chat is not None else None,
            digest=chat.digest if chat is not None else None,
            quiet=chat.quiet if chat is not None else None,
            topics=tuple(f"{t.emoji} {t.name}".strip() for t in topics),
            deliveries=stored,
            clicked=clicked,
            acted=acted,
            user=(
                StoredUserView(user.id, user.username, user.role, user.created_at)
                if user is not None
                else None
            ),
            audit_entries=audit,
        )
