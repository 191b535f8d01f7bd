"""DeliveryRepo: the outbox, with the fan-out of a post or broadcast to its audience."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    BigInteger,
    Table,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db.models import BROADCAST, POST, Chat, Delivery, Subscription
from bot.db.repos._sql import _clip, _dialect, _insert
from bot.domain.languages import LANGUAGES, MAIN_LANGUAGE, chat_version_language
from bot.domain.priority import DeliveryPriority
from bot.domain.types import DeliveryStatus

# deliveries.pace of a post held for its chat's digest (bot.db.repos.pace.DeliveryPace.DIGEST).
DIGEST_HELD = 2
# The transaction-level advisory lock that serialises claims across instances (PostgreSQL).
CLAIM_LOCK = 0x6361_6D70_0001
# A leased claim reads this many times its batch in claim order before the per-chat check.
CLAIM_OVERFETCH = 4
# The claim lock, with the planner settings of the claim's transaction (`claim_leased`).
_CLAIM_LOCK = text(
    "SELECT pg_advisory_xact_lock(:key), set_config('enable_bitmapscan', 'off', true),"
    " set_config('enable_seqscan', 'off', true)"
)
# The sent marks of a flush in one statement (PostgreSQL; `DeliveryRepo.mark_sent_many`).
_MARK_SENT_PG = text(
    "UPDATE deliveries AS d SET status = 'sent', sent_at = m.sent_at,"
    " message_id = m.message_id, attempts = d.attempts + 1, last_error = NULL"
    " FROM unnest(CAST(:ids AS bigint[]), CAST(:message_ids AS bigint[]),"
    " CAST(:sent_at AS timestamptz[])) AS m(id, message_id, sent_at)"
    " WHERE d.id = m.id"
)
# A list of delivery ids bound as one PostgreSQL array.
_ID_ARRAY = postgresql.ARRAY(BigInteger)
# After a send, a chat rests this long before another instance may send to it (groups: 20/min).
GROUP_REST_SECONDS = 3


class ClaimedDelivery(NamedTuple):
    """What the engine reads of a claimed delivery: plain columns, not an ORM object."""

    id: int
    chat_id: int
    post_id: int | None
    broadcast_id: int | None
    topic_id: int | None
    priority: int
    attempts: int
    pace: int


# The columns of a `ClaimedDelivery`, in its order.
_CLAIMED = (
    Delivery.id,
    Delivery.chat_id,
    Delivery.post_id,
    Delivery.broadcast_id,
    Delivery.topic_id,
    Delivery.priority,
    Delivery.attempts,
    Delivery.pace,
)


def _audience(topic_ids: Sequence[int] | None) -> Any:
    """Active chats subscribed to any of the topics (any topic if None), one row per chat.

    Each comes with the lowest of those topic ids: the topic its message names.
    """
    stmt = (
        select(
            Subscription.chat_id.label("chat_id"),
            func.min(Subscription.topic_id).label("topic_id"),
        )
        .join(Chat, Chat.id == Subscription.chat_id)
        .where(Chat.active.is_(True))
        .group_by(Subscription.chat_id)
    )
    if topic_ids is not None:
        stmt = stmt.where(Subscription.topic_id.in_(list(topic_ids)))
    return stmt.subquery()


def chat_language_expr(default_language: str = MAIN_LANGUAGE) -> Any:
    """A chat's reading language in SQL: its own if the organisation writes in it, else default.

    The default is DEFAULT_LANGUAGE, as `chat_version_language` decides it in Python.
    """
    return case(
        (Chat.language.in_(list(LANGUAGES)), Chat.language),
        else_=literal(chat_version_language(None, default_language)),
    )


def _post_audience(
    topic_ids: Sequence[int],
    not_having_post: int | None = None,
    default_language: str = MAIN_LANGUAGE,
) -> Any:
    """Like `_audience`, with each chat's reading language (`default_language` where none).

    With `not_having_post`, the chats that have a delivery of that post are left out (the
    audience of its twin).
    """
    language = chat_language_expr(default_language)
    stmt = (
        select(
            Subscription.chat_id.label("chat_id"),
            func.min(Subscription.topic_id).label("topic_id"),
            language.label("language"),
        )
        .join(Chat, Chat.id == Subscription.chat_id)
        .where(Chat.active.is_(True), Subscription.topic_id.in_(list(topic_ids)))
        .group_by(Subscription.chat_id, Chat.language)
    )
    if not_having_post is not None:
        had = aliased(Delivery)
        stmt = stmt.where(
            ~exists().where(had.chat_id == Subscription.chat_id, had.post_id == not_having_post)
        )
    return stmt.subquery()


async def _fan_out(
    session: AsyncSession,
    key: str,
    key_value: int,
    audience: Any,
    now: datetime,
    priority: DeliveryPriority,
    hold: tuple[Collection[str], datetime] | None = None,
) -> int:
    """Queue one pending delivery per audience row in one INSERT … SELECT.

    `key` is "post_id" or "broadcast_id"; the unique key (chat_id, key) with ON CONFLICT DO
    NOTHING makes it idempotent. With `hold` (languages, until), the rows of chats reading
    one of those languages are due only at `until` (waiting for a twin post). Returns how many
    deliveries were created.
    """
    due: Any = literal(now, Delivery.next_attempt_at.type)
    if hold is not None and hold[0]:
        languages, until = hold
        due = case(
            (
                audience.c.language.in_(list(languages)),
                literal(until, Delivery.next_attempt_at.type),
            ),
            else_=due,
        )
    source = select(
        audience.c.chat_id,
        literal(key_value),
        audience.c.topic_id,
        literal(DeliveryStatus.PENDING.value),
        literal(int(priority)),
        literal(0),
        due,
        literal(now, Delivery.created_at.type),
    ).where(and_(True))
    columns = [
        "chat_id",
        key,
        "topic_id",
        "status",
        "priority",
        "attempts",
        "next_attempt_at",
        "created_at",
    ]
    stmt = _insert(session, Delivery).from_select(columns, source).on_conflict_do_nothing()
    result = await session.execute(stmt)
    return max(int(getattr(result, "rowcount", 0) or 0), 0)


class DeliveryRepo:
    """The outbox. Every new outcome needs a DeliveryStatus member and a delivery test."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fan_out_post(
        self,
        post_id: int,
        topic_ids: Sequence[int],
        now: datetime,
        priority: DeliveryPriority = DeliveryPriority.POST,
    ) -> int:
        """Queue one delivery per active chat subscribed to any of the topics.

        One INSERT … SELECT, grouped by chat, so a chat following several of the post's
        topics gets one message; the unique key (chat_id, post_id) makes it idempotent.

        Returns:
            How many deliveries were created.
        """
        if not topic_ids:
            return 0
        return await _fan_out(
            self.session, "post_id", post_id, _audience(topic_ids), now, priority
        )

    async def fan_out_post_held(
        self,
        post_id: int,
        topic_ids: Sequence[int],
        now: datetime,
        held: Collection[str],
        until: datetime,
        priority: DeliveryPriority = DeliveryPriority.POST,
        *,
        default_language: str = MAIN_LANGUAGE,
    ) -> int:
        """`fan_out_post`, with the chats reading one of the `held` languages due at `until`.

        A chat with no language stored reads `default_language` (DEFAULT_LANGUAGE).

        Still one INSERT … SELECT: the due time is a CASE on the chat's language. A held row
        is an ordinary pending delivery whose time has not come (the engine skips it until
        then); `fan_out_twin` withdraws it if the post's twin arrives first.
        """
        if not topic_ids:
            return 0
        return await _fan_out(
            self.session,
            "post_id",
            post_id,
            _post_audience(topic_ids, default_language=default_language),
            now,
            priority,
            hold=(held, until),
        )

    async def fan_out_twin(
        self,
        post_id: int,
        twin_of: int,
        topic_ids: Sequence[int],
        language: str,
        now: datetime,
        priority: DeliveryPriority = DeliveryPriority.POST,
        *,
        default_language: str = MAIN_LANGUAGE,
    ) -> int:
        """Queue a twin post: its language's chats instead of the first post, nobody twice.

        First the first post's deliveries still held (pending, not yet due) for chats that
        read `language` are withdrawn (deleted: that chat was never sent it); then one
        INSERT … SELECT queues the twin for every subscribed chat that has no delivery of
        the first post left (sent, in flight, or held for another language). A chat with no
        language stored reads `default_language` (DEFAULT_LANGUAGE).

        Returns:
            How many deliveries of the twin were created.
        """
        if not topic_ids:
            return 0
        reading = chat_language_expr(default_language)
        readers = select(Chat.id).where(reading == language).scalar_subquery()
        await self.session.execute(
            delete(Delivery)
            .where(
                Delivery.post_id == twin_of,
                Delivery.status == DeliveryStatus.PENDING.value,
                Delivery.next_attempt_at > now,
                Delivery.chat_id.in_(readers),
            )
            .execution_options(synchronize_session=False)
        )
        return await _fan_out(
            self.session,
            "post_id",
            post_id,
            _post_audience(topic_ids, not_having_post=twin_of, default_language=default_language),
            now,
            priority,
        )

    async def claim_due(
        self, now: datetime, limit: int, exclude: Iterable[int] = ()
    ) -> list[ClaimedDelivery]:
        """Pending deliveries whose time has come, highest priority and oldest first.

        The index (status, priority DESC, id) gives this order directly, so a claim reads
        `limit` rows instead of sorting the whole backlog (on SQLite and PostgreSQL alike).
        Rows stay `pending` while they are sent (no "sending" state): after a crash they are
        simply sent again, which bounds duplicates by what was in flight.
        """
        stmt = (
            select(*_CLAIMED)
            .where(
                Delivery.status == DeliveryStatus.PENDING.value,
                Delivery.next_attempt_at <= now,
                # Posts held for a digest leave only inside it (bot.db.repos.pace).
                Delivery.pace != DIGEST_HELD,
            )
            .order_by(Delivery.priority.desc(), Delivery.id)
            .limit(limit)
        )
        skip = list(exclude)
        if skip:
            stmt = stmt.where(Delivery.id.not_in(skip))
        result = await self.session.execute(stmt)
        return [ClaimedDelivery(*row) for row in result.all()]

    async def claim_leased(
        self,
        now: datetime,
        limit: int,
        owner: str,
        lease_seconds: float,
        exclude: Iterable[int] = (),
    ) -> list[ClaimedDelivery]:
        """Claim due deliveries for the instance `owner` until `now + lease_seconds` (PostgreSQL).

        Several instances share the outbox: a row is claimable when nobody holds a live lease
        on it (or `owner` does), taken with `FOR UPDATE SKIP LOCKED` in the claim order of
        `ix_deliveries_claim`. A chat another instance holds a live claim on, or sent to within
        its rest (1 s, groups 3 s), is left for later, so the per-chat limits hold fleet-wide.
        Claims are serialised by a transaction-level advisory lock (milliseconds each), which
        makes that per-chat check exact. The caller commits.

        Returns:
            The claimed rows, highest priority and oldest first.
        """
        # The lock, and for this transaction only: no bitmap or sequential scans (below).
        await self.session.execute(_CLAIM_LOCK, {"key": CLAIM_LOCK})
        # One statement whose plan does not depend on the table's statistics (stale right after
        # a fan-out, and a prepared statement's generic plan knows no values), each part
        # bounded by the batch, not by the table (docs/PERFORMANCE.md, "The leased claim"):
        # 1. the due rows in claim order from the partial index ix_deliveries_pending, with a
        #    bounded over-fetch (the literals let PostgreSQL prove that index usable). Without
        #    statistics PostgreSQL expected a handful of due rows and chose a bitmap scan of
        #    the whole pending range and a sort (35 ms at 16,000 pending); with those scans
        #    off, the ordered index scan that stops after the batch is all that is left;
        due = (
            select(Delivery.id.label("id"), Delivery.chat_id.label("chat_id"))
            .where(
                Delivery.status == literal_column(f"'{DeliveryStatus.PENDING.value}'"),
                Delivery.pace != literal_column(str(DIGEST_HELD)),
                Delivery.next_attempt_at <= now,
                or_(
                    Delivery.lease_until.is_(None),
                    Delivery.lease_until <= now,
                    Delivery.claimed_by == owner,
                ),
            )
            .order_by(Delivery.priority.desc(), Delivery.id)
            .limit(max(limit * CLAIM_OVERFETCH, limit))
            .with_for_update(skip_locked=True, of=Delivery)
        )
        skip = list(exclude)
        if skip:
            # One array parameter, not an IN list of hundreds: the statement's text stays the
            # same from claim to claim, so it is prepared (and planned) once per connection.
            due = due.where(Delivery.id != func.all(bindparam("skip", skip, type_=_ID_ARRAY)))
        due_cte = due.cte("due").prefix_with("MATERIALIZED")
        # 2. the per-chat check, a scalar subquery run per candidate (never turned into a join
        #    over the whole table) that looks the chat up by chat_id alone: the CASE keeps the
        #    status out of the index conditions (an OR of two status ranges had PostgreSQL
        #    AND the chat's rows with a bitmap of every pending row, 2 ms per candidate);
        other = aliased(Delivery)
        rest = now - timedelta(seconds=GROUP_REST_SECONDS)
        busy = (
            select(literal(1))
            .where(
                other.chat_id == due_cte.c.chat_id,
                other.id != due_cte.c.id,
                other.claimed_by != owner,
                case(
                    (other.status == DeliveryStatus.PENDING.value, other.lease_until > now),
                    (
                        other.status == DeliveryStatus.SENT.value,
                        and_(
                            other.sent_at > rest,
                            or_(other.chat_id < 0, other.sent_at > now - timedelta(seconds=1)),
                        ),
                    ),
                    else_=False,
                ),
            )
            .limit(1)
            .scalar_subquery()
        )
        picked = select(due_cte.c.id).where(busy.is_(None)).limit(limit)
        # 3. the lease, through the primary key (= ANY of an array, not an IN that PostgreSQL
        #    may hash-join against a scan of the table), returning the columns the engine
        #    reads as plain tuples (no ORM objects, no identity map).
        stmt = (
            update(Delivery)
            .where(Delivery.id == func.any(func.array(picked.scalar_subquery())))
            .values(claimed_by=owner, lease_until=now + timedelta(seconds=lease_seconds))
            .returning(*_CLAIMED)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        rows = [ClaimedDelivery(*row) for row in cast(Sequence[Any], result.all())]
        rows.sort(key=lambda row: (-row.priority, row.id))
        return rows

    async def renew_claims(self, owner: str, now: datetime, lease_seconds: float) -> int:
        """Extend the live leases of `owner`'s pending claims to `now + lease_seconds`.

        A running instance renews what it holds (a long flood wait must not let its claims
        pass to another instance while it still means to send them); an expired lease is not
        renewed, since another instance may have taken the row. Rows locked at this moment are
        skipped, not waited for: they are being marked sent (or failed) by this instance's own
        flush, and waiting on them in another order than that flush deadlocked (seen in the
        fleet bench: PostgreSQL aborted the renewal).
        """
        held = (
            select(Delivery.id)
            .where(
                Delivery.status == DeliveryStatus.PENDING.value,
                Delivery.claimed_by == owner,
                Delivery.lease_until > now,
            )
            .with_for_update(skip_locked=True)
        )
        result = await self.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(held.scalar_subquery()))
            .values(lease_until=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        return max(int(getattr(result, "rowcount", 0) or 0), 0)

    async def release_claims(self, owner: str) -> int:
        """Give back the pending deliveries `owner` claimed (an instance stopping cleanly)."""
        result = await self.session.execute(
            update(Delivery)
            .where(
                Delivery.claimed_by == owner,
                Delivery.status == DeliveryStatus.PENDING.value,
            )
            .values(claimed_by=None, lease_until=None)
        )
        return max(int(getattr(result, "rowcount", 0) or 0), 0)

    async def next_due_at(self) -> datetime | None:
        """When the earliest pending delivery becomes due."""
        result = await self.session.execute(
            select(func.min(Delivery.next_attempt_at)).where(
                Delivery.status == DeliveryStatus.PENDING.value
            )
        )
        return result.scalar_one_or_none()

    async def mark_sent(self, delivery_id: int, message_id: int | None, now: datetime) -> None:
        """Record that Telegram accepted the message."""
        await self.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(
                status=DeliveryStatus.SENT.value,
                sent_at=now,
                message_id=message_id,
                attempts=Delivery.attempts + 1,
                last_error=None,
            )
        )

    async def mark_sent_many(self, marks: Sequence[tuple[int, int | None, datetime]]) -> None:
        """Record accepted messages, `(delivery_id, message_id, sent_at)`, in one statement.

        On PostgreSQL one UPDATE … FROM unnest of three arrays: one execution however many
        marks (an executemany runs the UPDATE once per row, each a bind, plan and execute on
        the server). On SQLite an executemany, in process.
        """
        if not marks:
            return
        if _dialect(self.session) == "postgresql":
            await self.session.execute(
                _MARK_SENT_PG,
                {
                    "ids": [i for i, _, _ in marks],
                    "message_ids": [m for _, m, _ in marks],
                    "sent_at": [when for _, _, when in marks],
                },
            )
            return
        table = cast(Table, Delivery.__table__)  # Core: an executemany, not ORM bulk mode
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(
                status=DeliveryStatus.SENT.value,
                sent_at=bindparam("b_sent_at"),
                message_id=bindparam("b_message_id"),
                attempts=table.c.attempts + 1,
                last_error=None,
            )
        )
        await self.session.execute(
            stmt,
            [{"b_id": i, "b_message_id": m, "b_sent_at": when} for i, m, when in marks],
        )

    async def reschedule(
        self, delivery_id: int, when: datetime, error: str | None, *, count_attempt: bool
    ) -> None:
        """Try again later (a flood wait does not count as an attempt)."""
        values: dict[str, Any] = {"next_attempt_at": when, "last_error": _clip(error)}
        if count_attempt:
            values["attempts"] = Delivery.attempts + 1
        await self.session.execute(
            update(Delivery).where(Delivery.id == delivery_id).values(**values)
        )

    async def mark_failed(self, delivery_id: int, error: str) -> None:
        """Give up on a delivery, keeping the error."""
        await self.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(
                status=DeliveryStatus.FAILED.value,
                attempts=Delivery.attempts + 1,
                last_error=_clip(error),
            )
        )

    async def drop_pending_for_chat(self, chat_id: int, reason: str) -> int:
        """Drop every pending delivery of a chat (unreachable or forgotten)."""
        result = await self.session.execute(
            update(Delivery)
            .where(Delivery.chat_id == chat_id, Delivery.status == DeliveryStatus.PENDING.value)
            .values(status=DeliveryStatus.DROPPED.value, last_error=_clip(reason))
        )
        return max(int(getattr(result, "rowcount", 0) or 0), 0)

    async def count(self, status: DeliveryStatus | None = None) -> int:
        """How many deliveries exist (with this status)."""
        stmt = select(func.count()).select_from(Delivery)
        if status is not None:
            stmt = stmt.where(Delivery.status == status.value)
        result = await self.session.execute(stmt)
        return int(result.scalar_one())

    # -- supporter side (bot.services.subscriptions) ------------------------------------------

    async def count_for_chat(self, chat_id: int, status: DeliveryStatus | None = None) -> int:
        """How many deliveries a chat has (with this status)."""
        stmt = select(func.count()).select_from(Delivery).where(Delivery.chat_id == chat_id)
        if status is not None:
            stmt = stmt.where(Delivery.status == status.value)
        result = await self.session.execute(stmt)
        return int(result.scalar_one())

    # -- tracked links (bot.services.tracking) --------------------------------------------------

    async def record_click(
        self, delivery_id: int, *, post_id: int | None, broadcast_id: int | None, now: datetime
    ) -> bool:
        """Count one click on a delivery's tracked link, in one UPDATE; False if no such row.

        `clicks` grows by one and `first_click_at` is set if still empty; the row must belong
        to the given post or broadcast. Nothing else about the click is stored.
        """
        message = (
            Delivery.post_id == post_id
            if post_id is not None
            else Delivery.broadcast_id == broadcast_id
        )
        result = await self.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, message)
            .values(
                clicks=Delivery.clicks + 1,
                first_click_at=func.coalesce(Delivery.first_click_at, now),
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) > 0

    # -- what supporters did (bot.services.actions, bot.services.subscriptions) ---------------

    async def mark_acted(
        self, chat_id: int, kind: str, message_id: int, telegram_message_id: int, now: datetime
    ) -> bool:
        """Record the action button press of a chat on its delivered message, once.

        One conditional UPDATE: only the chat's sent delivery of that post or broadcast
        (`kind` "post" or "broadcast") that is the Telegram message `telegram_message_id`, and
        only while `acted_at` is NULL, so concurrent presses count once.

        Returns:
            True if this press was recorded (False: already counted, or no such delivery).
        """
        result = await self.session.execute(
            update(Delivery)
            .where(
                *_delivered(chat_id, kind, message_id, telegram_message_id),
                Delivery.acted_at.is_(None),
            )
            .values(acted_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def has_delivered(
        self, chat_id: int, kind: str, message_id: int, telegram_message_id: int
    ) -> bool:
        """Whether the chat got that post or broadcast as the Telegram message given."""
        result = await self.session.execute(
            select(Delivery.id).where(*_delivered(chat_id, kind, message_id, telegram_message_id))
        )
        return result.first() is not None

    async def count_acted(self, kind: str, message_id: int) -> int:
        """How many live delivery rows of a post or broadcast have an action recorded."""
        result = await self.session.execute(
            select(func.count(Delivery.acted_at)).where(_message_column(kind) == message_id)
        )
        return int(result.scalar_one())

    async def latest_sent_since(
        self, chat_id: int, since: datetime
    ) -> tuple[str, int, int | None] | None:
        """The message a chat was sent most recently, if at or after `since`.

        Returns:
            (kind "post" or "broadcast", its id, the delivery's topic id), or None.
        """
        result = await self.session.execute(
            select(Delivery.post_id, Delivery.broadcast_id, Delivery.topic_id)
            .where(
                Delivery.chat_id == chat_id,
                Delivery.status == DeliveryStatus.SENT.value,
                Delivery.sent_at >= since,
            )
            .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
            .limit(1)
        )
        row = result.first()
        if row is None:
            return None
        post_id, broadcast_id, topic_id = row
        if post_id is not None:
            return POST, int(post_id), topic_id
        return BROADCAST, int(broadcast_id or 0), topic_id


def _message_column(kind: str) -> Any:
    """The delivery column naming a message of this kind ("post" or "broadcast")."""
    if kind == POST:
        return Delivery.post_id
    if kind == BROADCAST:
        return Delivery.broadcast_id
    raise ValueError(f"not a message kind: {kind!r}")


def _delivered(chat_id: int, kind: str, message_id: int, telegram_message_id: int) -> list[Any]:
    """Conditions for the chat's sent delivery of a message, as the given Telegram message."""
    return [
        Delivery.chat_id == chat_id,
        _message_column(kind) == message_id,
        Delivery.status == DeliveryStatus.SENT.value,
        Delivery.message_id == telegram_message_id,
    ]
