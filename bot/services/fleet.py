"""Fleet coordination: what lets several instances share one PostgreSQL database.

One small interface, `Coordination`, with two implementations:

- `SingleProcess` (SQLite, and tools that send nothing): today's behaviour. Claims read due
  rows and the engine's in-process exclude list keeps them from being claimed twice; the one
  process is the leader; pacing is the engine's own.
- `PostgresFleet` (every `run` and `worker` on PostgreSQL):
  - claims: `DeliveryRepo.claim_leased` (`FOR UPDATE SKIP LOCKED`, a lease of
    FLEET_LEASE_SECONDS, the chat's rest checked fleet-wide); a dead instance's claims are
    taken over once their lease has passed; a clean stop gives its claims back; a batch whose
    lease may have lapsed (a renewal came late: a starved process, a slow database) is not
    sent on (`lease_holds`), since another instance may have taken its rows: it is claimed
    again instead;
  - leader: a session-level advisory lock held on a dedicated connection, tried and checked
    every FLEET_HEARTBEAT_SECONDS; it goes with the connection when the process dies, so
    another instance leads at its next heartbeat; jobs (feed poller, scheduled broadcasts,
    feed health, retention, results reports) run only where `leading` is true;
  - rate: slots of the fleet-wide virtual schedule (`FleetRepo.grant`) booked a few at a
    time (about 0.2 s of sending each), so SEND_RATE_PER_SECOND holds for the whole fleet;
    a 429 sets the shared `paused_until` (`FleetRepo.pause`), which every later booking
    honours.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.db.repos import DeliveryRepo, FleetRepo
from bot.db.repos.deliveries import ClaimedDelivery

log = logging.getLogger(__name__)

# The session-level advisory lock whose holder is the leader.
LEADER_LOCK = 0x6361_6D70_0002
# True if this backend holds the leader lock, else the result of trying to take it (CASE
# evaluates the try only when needed, so a held lock is not taken twice).
_HOLD_LEADER_LOCK = text(
    "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
    " AND pid = pg_backend_pid() AND granted AND objsubid = 1"
    " AND ((classid::bigint << 32) | objid::bigint) = :key)"
    " THEN true ELSE pg_try_advisory_lock(:key) END"
)
# A booking of fleet send slots covers about this many seconds of sending.
GRANT_SECONDS = 0.2
# The share of SEND_RATE_PER_SECOND the fleet books (the rest absorbs timing jitter: at 95 %
# a loaded CI machine, whose clock mappings erred by ~20 ms, put 101 sends into one second at
# rate 100 across three workers).
RATE_MARGIN = 0.9
# A booked slot starts at least this far ahead, so it is not past when the booking arrives.
GRANT_LEAD_SECONDS = 0.02


def instance_name() -> str:
    """A name for this process, unique in the fleet: host, pid and a random tail."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


class Coordination(Protocol):
    """What the delivery engine and the jobs ask of the fleet."""

    @property
    def instance(self) -> str:
        """This process's name in the fleet."""
        ...

    @property
    def shared(self) -> bool:
        """Whether other instances may share the database (claims then commit a lease)."""
        ...

    @property
    def leading(self) -> bool:
        """Whether this process runs the jobs (poller, scheduled broadcasts, reports)."""
        ...

    @property
    def leading_since(self) -> float | None:
        """`time.monotonic()` when this process last became the leader (None: it does not lead).

        /healthz counts a new leader's poll from then.
        """
        ...

    def claim_size(self, room: int, interval: float) -> int:
        """How many deliveries to claim at once, given the room and the send interval."""
        ...

    def claim_mark(self) -> float:
        """A mark taken just before a claim, for `lease_holds`."""
        ...

    def lease_holds(self, mark: float) -> bool:
        """Whether rows claimed after `mark` are still surely this process's to send."""
        ...

    async def claim(
        self, session: AsyncSession, now: datetime, limit: int, exclude: Iterable[int]
    ) -> Sequence[ClaimedDelivery]:
        """Claim due deliveries in `session` (committing the claim where it is shared)."""
        ...

    async def slot(self) -> float | None:
        """Seconds until this process's next fleet-wide send slot (None: no shared budget)."""
        ...

    async def pause(self, seconds: float) -> None:
        """Pause the whole fleet's sending (a 429's retry_after)."""
        ...

    async def start(self) -> None:
        """Start the leader heartbeat (if any)."""
        ...

    async def aclose(self) -> None:
        """Give back claims and leadership."""
        ...


class SingleProcess:
    """One process alone on its database (SQLite): claims as before, always the leader."""

    instance = "local"
    shared = False
    leading = True
    leading_since = 0.0

    def claim_size(self, room: int, interval: float) -> int:
        """How many deliveries to claim at once."""
        return room

    def claim_mark(self) -> float:
        """No lease alone: any mark."""
        return 0.0

    def lease_holds(self, mark: float) -> bool:
        """Alone, a claim is never taken over."""
        return True

    async def claim(
        self, session: AsyncSession, now: datetime, limit: int, exclude: Iterable[int]
    ) -> Sequence[ClaimedDelivery]:
        """Claim due deliveries (see `Coordination.claim`)."""
        return await DeliveryRepo(session).claim_due(now, limit, exclude=exclude)

    async def slot(self) -> float | None:
        """Seconds until the next fleet-wide send slot (see `Coordination.slot`)."""
        return None

    async def pause(self, seconds: float) -> None:
        """Pause the fleet's sending (see `Coordination.pause`)."""
        return

    async def start(self) -> None:
        """Start leading (see `Coordination.start`)."""
        return

    async def aclose(self) -> None:
        """Give back claims and leadership."""
        return


class PostgresFleet:
    """Any number of instances on one PostgreSQL database (see the module docstring)."""

    shared = True

    def __init__(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        rate: float,
        lease_seconds: float = 30.0,
        heartbeat_seconds: float = 5.0,
        lead: bool = True,
        instance: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._engine = engine
        self._sessionmaker = sessionmaker
        # Slots a little below the rate: what reaches Telegram jitters by milliseconds (loop
        # and network), and no one-second window may hold more than `rate` sends.
        self._interval = 1.0 / (rate * RATE_MARGIN)
        self._grant = max(1, round(rate * GRANT_SECONDS))
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self._lead = lead
        self._instance = instance or instance_name()
        self._monotonic = monotonic
        self._clock = clock
        # The booked slots not used yet: `_slot_start + i * interval` for `_slot_index` <= i
        # < `_slot_count` (numbers, not a list: at an unpaced rate a booking holds thousands).
        self._slot_start = 0.0
        self._slot_index = 0
        self._slot_count = 0
        # (round trip, offset, when) of the best clock reading (see `_offset`).
        self._clock_sync: tuple[float, float, float] | None = None
        self._slot_lock = asyncio.Lock()
        self._leading = False
        self._leading_since: float | None = None
        self._connection: AsyncConnection | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        # (started, done) of the last successful lease renewals, oldest first.
        self._renewals: deque[tuple[float, float]] = deque(maxlen=64)

    @property
    def instance(self) -> str:
        """This process's name in the fleet."""
        return self._instance

    @property
    def leading(self) -> bool:
        """Whether this process runs the jobs."""
        return self._leading

    @property
    def leading_since(self) -> float | None:
        """When this process became the leader (see `Coordination.leading_since`)."""
        return self._leading_since if self._leading else None

    def claim_size(self, room: int, interval: float) -> int:
        """How many deliveries to claim at once."""
        # Small enough that a claimed batch is sent well within its lease at the fleet's rate.
        return max(1, min(room, max(8, int(self.lease_seconds / interval / 4))))

    def claim_mark(self) -> float:
        """This process's monotonic time, taken before the claim's `now`.

        So a lease is thought to end no later than it does.
        """
        return self._monotonic()

    def lease_holds(self, mark: float) -> bool:
        """Whether a third of a lease at least is left on rows claimed after `mark`.

        A claim's lease ends `lease_seconds` after it; each renewal that started and committed
        before that end pushed it to `lease_seconds` after the renewal's start. A renewal that
        came too late renews nothing (another instance may have claimed the rows), so the
        engine stops sending such a batch and claims again. Normally a third of a lease or
        more is left: renewals come every third of a lease.
        """
        end = mark + self.lease_seconds
        for started, done in self._renewals:
            if started > mark and done < end:
                end = max(end, started + self.lease_seconds)
        return end - self._monotonic() >= self.lease_seconds / 3

    async def claim(
        self, session: AsyncSession, now: datetime, limit: int, exclude: Iterable[int]
    ) -> Sequence[ClaimedDelivery]:
        """Claim due deliveries (see `Coordination.claim`)."""
        rows = await DeliveryRepo(session).claim_leased(
            now, limit, self._instance, self.lease_seconds, exclude=exclude
        )
        await session.commit()
        return rows

    async def slot(self) -> float:
        """Seconds until the next fleet-wide send slot (see `Coordination.slot`)."""
        async with self._slot_lock:
            now = self._monotonic()
            if self._slot_index < self._slot_count:
                # A slot missed by more than one interval is gone.
                behind = (now - self._interval - self._slot_start) / self._interval
                if behind > self._slot_index:
                    self._slot_index = min(self._slot_count, math.ceil(behind))
            if self._slot_index >= self._slot_count:
                async with self._sessionmaker() as session:
                    # One statement, its own transaction: one round trip while sends wait.
                    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                    asked = self._monotonic()
                    grant = await FleetRepo(session).grant(
                        self._grant, self._interval, GRANT_LEAD_SECONDS
                    )
                    answered = self._monotonic()
                    await session.commit()
                self._slot_start = grant.first_at - self._offset(grant.now, asked, answered)
                self._slot_index, self._slot_count = 0, self._grant
                now = self._monotonic()
            at = self._slot_start + self._slot_index * self._interval
            self._slot_index += 1
            return max(0.0, at - now)

    def _offset(self, db_now: float, asked: float, answered: float) -> float:
        """The database clock minus this process's monotonic clock, NTP-style.

        The database read its clock somewhere within the round trip, so each booking bounds
        the offset within half its round trip; the booking with the shortest round trip in
        the last minute gives the best estimate (the fleet's instances then agree on when a
        slot is to within a few milliseconds, whatever their load at one booking).
        """
        round_trip = answered - asked
        offset = db_now - (asked + answered) / 2
        best = self._clock_sync
        if best is None or round_trip <= best[0] or answered - best[2] > 60.0:
            self._clock_sync = (round_trip, offset, answered)
            return offset
        return best[1]

    async def pause(self, seconds: float) -> None:
        """Pause the fleet's sending (see `Coordination.pause`)."""
        self._slot_index = self._slot_count = 0
        try:
            async with self._sessionmaker.begin() as session:
                await FleetRepo(session).pause(seconds)
        except Exception:
            log.exception("could not pause the fleet", extra={"retry_after": seconds})

    async def start(self) -> None:
        """Start leading (see `Coordination.start`) and renewing this instance's claims."""
        if self._heartbeat is None:
            if self._lead:
                await self._try_lead()
            self._heartbeat = asyncio.create_task(self._beat(), name="fleet-heartbeat")

    async def _beat(self) -> None:
        """Every heartbeat: try or check the leader lock; every third of a lease: renew."""
        renew_every = self.lease_seconds / 3
        renewed = self._monotonic()
        while True:
            await asyncio.sleep(min(self.heartbeat_seconds, renew_every))
            if self._lead:
                await self._try_lead()
            if self._monotonic() - renewed >= renew_every:
                renewed = self._monotonic()
                await self.renew()

    async def renew(self) -> None:
        """Renew this instance's live leases (the heartbeat does, every third of a lease)."""
        started = self._monotonic()
        last = self._renewals[-1][0] if self._renewals else None
        if last is not None and started - last > self.lease_seconds * 2 / 3:
            # Claims older than the lease may have passed to others meanwhile: a sign of a
            # starved process or a slow database (sends already made may then repeat).
            log.warning(
                "claims renewed late", extra={"seconds_since_last": round(started - last, 2)}
            )
        try:
            async with self._sessionmaker.begin() as session:
                await DeliveryRepo(session).renew_claims(
                    self._instance, self._clock(), self.lease_seconds
                )
        except Exception:
            log.exception("could not renew claims; they pass to others if the lease ends")
            return
        self._renewals.append((started, self._monotonic()))

    async def _try_lead(self) -> None:
        """Take the leader lock if free; check the connection that holds it if we lead."""
        try:
            if self._connection is None:
                self._connection = await self._engine.connect()
            connection = self._connection
            async with asyncio.timeout(max(1.0, self.heartbeat_seconds)):
                # Held on this very backend? (A silently reconnected connection is a new
                # backend without the lock.) If not, try to take it.
                result = await connection.execute(_HOLD_LEADER_LOCK, {"key": LEADER_LOCK})
                holding = bool(result.scalar_one())
                await connection.commit()
            if holding and not self._leading:
                self._leading_since = time.monotonic()
                log.info("leading the fleet", extra={"instance": self._instance})
            elif self._leading and not holding:
                log.warning("lost the leader lock", extra={"instance": self._instance})
            self._leading = holding
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if self._leading:
                log.warning("lost the leader lock", extra={"error": type(error).__name__})
            self._leading = False
            broken, self._connection = self._connection, None
            if broken is not None:
                with contextlib.suppress(Exception):
                    await broken.invalidate()

    async def aclose(self) -> None:
        """Give back claims and leadership."""
        task, self._heartbeat = self._heartbeat, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            async with self._sessionmaker.begin() as session:
                await DeliveryRepo(session).release_claims(self._instance)
        except Exception:
            log.exception("could not give back claims; they pass when their lease ends")
        connection, self._connection = self._connection, None
        self._leading = False
        if connection is not None:
            with contextlib.suppress(Exception):
                # Closed for good, not returned to the pool: that releases the advisory lock.
                await connection.invalidate()
                await connection.close()
