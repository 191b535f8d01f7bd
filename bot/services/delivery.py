"""The delivery engine: drains the outbox through a `Sender`, paced, and records every outcome.

Guarantees (docs/ARCHITECTURE.md, "Delivery engine"):
- group commit of "sent": when Telegram accepts a message its delivery joins a small buffer of
  sent marks that one transaction records, flushed once half of `mark_batch` (32) marks wait or
  `mark_flush_seconds` (20 ms) passed, whichever comes first; a full buffer makes the next send
  wait for the flush. A delivery stays claimed (excluded from new claims) until its mark is
  committed. So after a crash at most the sends in flight plus one unflushed batch can repeat:
  duplicates <= `concurrency` + `mark_batch` (8 + 32 = 40 by default, `crash_bound`). One
  commit per message had capped the engine near 300 messages/s on SQLite; the HTTP client is
  the limit now (docs/PERFORMANCE.md);
- people first: while `yield_to()` says updates from people are being handled, no new bulk send
  starts (for at most YIELD_MAX_SECONDS each), so a fan-out never slows replies down;
- pacing: `rate` messages a second overall, one a second per chat, twenty a minute per group;
  a 429 pauses all sending for retry_after; bulk sends never hold back replies to people
  (those go through the Application's own bot, not through this engine);
- blocked, deactivated, kicked or missing chats become inactive and their pending deliveries are
  dropped (one conditional UPDATE: the one send that made a group or channel inactive calls
  `on_chat_lost`, which tells the admins about a linked channel once); a migrated group moves
  to its new id and the delivery is retried there;
- channels (chat type "channel") get their messages without the Share, action and
  Unsubscribe buttons (`for_channel`); the render cache keys on that audience;
- a group that refuses photos (but not text) gets the same message as text, at the chat's next
  free slot; if that fails too, only this delivery fails; an image Telegram cannot use goes the
  same way, and is tried once for all the post's chats (`_image_turn`, `posts.image_refused`);
- timeouts, network errors and 5xx are retried with exponential backoff and jitter, up to
  `max_attempts`, then recorded as failed with the error;
- pace (bot.domain.pace): a due delivery not paced yet is sent, held until the end of the
  chat's quiet hours (plus the chat's place in the release window), or held for the chat's
  digest; due digests are built (held posts attached to a `digests` row in one transaction)
  and sent like deliveries, their posts marked sent with them (docs/ARCHITECTURE.md, "Pace");
- claim ahead (a shared fleet, PostgreSQL): with a backlog, the next batch is claimed and
  prepared while the second half of the current one sends, so the leased claim's round trips
  and lock never leave the engine idle; its exclude list holds the rows in flight and those
  of the current batch not started yet;
- tracked links (with `links`, i.e. PUBLIC_URL set): a message is still rendered once per
  post or broadcast; only the URL of its link button changes per delivery
  (`with_tracked_link`), to PUBLIC_URL/r/<token of this delivery>.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import BROADCAST, NOTICE, POST, Broadcast, Chat, Feed, Post, Topic
from bot.db.repos import BroadcastRepo, ChatRepo, DeliveryRepo, PostRepo
from bot.db.repos.deliveries import ClaimedDelivery
from bot.db.repos.pace import DeliveryPace, PaceRepo
from bot.domain.channels import CHANNEL
from bot.domain.clock import Clock
from bot.domain.delivery_policy import (
    PAID_RATE_PER_SECOND,
    SendAction,
    SendDecision,
    decide_send,
)
from bot.domain.languages import choose_version
from bot.domain.links import LinkKind, TrackedLinks
from bot.domain.pace import (
    QUIET_RELEASE_SECONDS,
    PaceAction,
    bypasses_pace,
    decide_pace,
    load_pace,
)
from bot.domain.topics import PREVIEW_SMALL
from bot.domain.types import DeliveryOutcome, DeliveryStatus, OutcomeKind
from bot.domain.views import PostView, TopicView
from bot.render.i18n import SOURCE_LANGUAGE
from bot.render.notifications import (
    archive_notice,
    broadcast_message,
    post_notification,
    with_tracked_link,
)
from bot.render.pace import DigestItem, digest_messages
from bot.render.text import RenderedMessage, safe_url
from bot.services.fleet import Coordination, SingleProcess
from bot.services.views import post_view

log = logging.getLogger(__name__)

YIELD_MAX_SECONDS = 0.05  # the longest a bulk send is held back for replies to people


class Sender(Protocol):
    """Something that sends one rendered message to one chat."""

    async def send(
        self,
        chat_id: int,
        message: RenderedMessage,
        photo: str | None = None,
        *,
        paid: bool = False,
    ) -> DeliveryOutcome:
        """Send (with `allow_paid_broadcast` when `paid`); never raise for an API answer."""
        ...


# How far behind its schedule a lane may fall and still catch up (see `_Lane`). At a rate that
# shares Telegram's free 30 a second with replies to people, a short catch-up keeps sends
# smooth; above FAST_LANE_RATE (the paid lane, or a server without limits) only the one-second
# window matters, so the lane may make up a whole second of lag.
CATCH_UP_SECONDS = 0.1
FAST_CATCH_UP_SECONDS = 1.0
FAST_LANE_RATE = 100.0


class _Lane:
    """Sends spaced 1/rate apart, at most `rate` starts in any one second.

    Slots follow an even schedule (no bursts: replies to people share Telegram's 30 a second
    with bulk sends). A send that starts late (the event loop's sleeps overshoot by a fraction
    of a millisecond at 1,000 a second, a database pass may hold the loop for longer) does not
    push the whole schedule back: the lane catches up on up to CATCH_UP_SECONDS of lag
    (FAST_CATCH_UP_SECONDS above FAST_LANE_RATE), so the rate holds at the configured figure.
    A sliding window over the last `rate` starts, stamped with each send's real start
    (`restamp`), keeps catching up from ever exceeding `rate` in any one second, the rule
    Telegram and the fake server count. Starts never go backwards.
    """

    __slots__ = ("_last", "_next", "_starts", "catch_up", "interval", "window")

    def __init__(self, rate: float) -> None:
        count = int(rate) if rate >= 1 else 1
        self.catch_up = FAST_CATCH_UP_SECONDS if rate > FAST_LANE_RATE else CATCH_UP_SECONDS
        self.interval = 1.0 / rate
        self.window = 1.0 if rate >= 1 else self.interval
        self._starts: deque[float] = deque(maxlen=count)
        self._next = 0.0
        self._last = 0.0

    def earliest(self) -> float:
        """The first moment the next send may start."""
        starts = self._starts
        floor = max(self._last, self._next)
        if len(starts) < (starts.maxlen or 1):
            return floor
        return max(floor, starts[0] + self.window)

    def take(self, start: float) -> None:
        """Record a send starting at `start` (>= `earliest()`)."""
        self._starts.append(start)
        self._last = start
        self._next = max(self._next, start - self.catch_up) + self.interval

    def restamp(self, now: float) -> None:
        """The last send really started at `now` (a sleep overshot its planned start)."""
        if self._starts and now > self._starts[-1]:
            self._starts[-1] = now
            self._last = max(self._last, now)

    def hold_until(self, until: float) -> None:
        """No send starts before `until` (a flood wait)."""
        self._last = max(self._last, until)
        self._next = max(self._next, until)


class Pacer:
    """Spaces sends: `rate` a second overall, and per chat one a second (groups one per 3 s).

    Each lane spaces sends 1/rate apart and lets at most `rate` start in any one second
    (`_Lane`), the strict window the fake server, like Telegram, counts. Paid broadcasts
    (`allow_paid_broadcast`) have their own lane at `paid_rate`, as Telegram counts them apart;
    per-chat spacing and a 429 hold both lanes.
    """

    def __init__(
        self,
        rate: float,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        paid_rate: float = PAID_RATE_PER_SECOND,
    ) -> None:
        self.interval = 1.0 / rate
        self._monotonic = monotonic
        self._lane = _Lane(rate)
        self._paid_lane = _Lane(paid_rate)
        self._chat_ready: dict[int, float] = {}
        self._paused_until = 0.0

    @staticmethod
    def chat_interval(chat_id: int) -> float:
        """Minimum spacing of two messages to one chat (Telegram: 1/s private, 20/min group)."""
        return 3.0 if chat_id < 0 else 1.0

    def chat_ready_in(self, chat_id: int) -> float:
        """Seconds until this chat may get another message (0 if now)."""
        return max(0.0, self._chat_ready.get(chat_id, 0.0) - self._monotonic())

    def reserve(self, chat_id: int, not_before: float = 0.0, *, paid: bool = False) -> float:
        """Take the next slot in its lane for a message to `chat_id`; returns seconds to wait.

        `not_before`: seconds from now of the fleet-wide slot booked for it (several instances).
        """
        now = self._monotonic()
        lane = self._paid_lane if paid else self._lane
        start = max(
            now + not_before,
            lane.earliest(),
            self._paused_until,
            self._chat_ready.get(chat_id, 0.0),
        )
        lane.take(start)
        self._chat_ready[chat_id] = start + self.chat_interval(chat_id)
        if len(self._chat_ready) > 50_000:
            self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now}
        return start - now

    def started(self, *, paid: bool = False) -> None:
        """The send last reserved in this lane starts now, after waiting for its slot.

        The window then counts the real start, not the planned one, so a late wake-up never
        squeezes one more send into a second than the rate allows.
        """
        (self._paid_lane if paid else self._lane).restamp(self._monotonic())

    def pause(self, seconds: float) -> None:
        """Hold every send for `seconds` (Telegram's flood wait)."""
        until = self._monotonic() + seconds
        self._paused_until = max(self._paused_until, until)
        self._lane.hold_until(until)
        self._paid_lane.hold_until(until)

    def paused_for(self) -> float:
        """Seconds left in a flood pause."""
        return max(0.0, self._paused_until - self._monotonic())


@dataclass(frozen=True, slots=True)
class _Job:
    delivery_id: int
    chat_id: int
    attempts: int
    message: RenderedMessage
    photo: str | None
    paid: bool = False  # a paid broadcast: allow_paid_broadcast, the paid lane of the pacer
    broadcast_id: int | None = None
    post_id: int | None = None
    # The text message to send if the photo is refused (None: `message` itself).
    fallback: RenderedMessage | None = None


@dataclass(frozen=True, slots=True)
class _Rendered:
    """One rendering: the message, its photo (URL or file id) and its text-only fallback."""

    message: RenderedMessage
    photo: str | None = None
    fallback: RenderedMessage | None = None


@dataclass(frozen=True, slots=True)
class _DigestJob:
    digest_id: int
    chat_id: int
    attempts: int
    parts_sent: int
    parts: tuple[RenderedMessage, ...]


@dataclass(slots=True)
class EngineStats:
    """Counters since start (exposed for /stats, metrics and benchmarks)."""

    sent: int = 0
    retried: int = 0
    flood_waits: int = 0
    unreachable: int = 0
    failed: int = 0
    migrated: int = 0
    held: int = 0
    digests: int = 0
    paid_refused: int = 0
    claimed_ahead: int = 0  # batches claimed while the one before was sending (shared fleet)


class DeliveryEngine:
    """Drains pending deliveries. `run()` is the long-lived task; `drain_once()` one pass."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sender: Sender,
        clock: Clock,
        *,
        rate: float,
        tz: tzinfo,
        concurrency: int = 8,
        batch_size: int = 200,
        max_attempts: int = 8,
        idle_seconds: float = 1.0,
        mark_batch: int = 32,
        mark_flush_seconds: float = 0.02,
        rng: Callable[[], float] = random.random,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        yield_to: Callable[[], bool] | None = None,
        on_outcome: Callable[[OutcomeKind, float], None] | None = None,
        links: TrackedLinks | None = None,
        share_query: Callable[[str, int, TopicView | None], str | None] | None = None,
        release_window: int = QUIET_RELEASE_SECONDS,
        default_language: str = SOURCE_LANGUAGE,
        fleet: Coordination | None = None,
        on_chat_lost: Callable[[int, str], Awaitable[None]] | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        # Called (after the commit) with a group's or channel's id and the reason when a send
        # made it inactive: the runtime tells the admins about a linked channel.
        self._on_chat_lost = on_chat_lost
        # The language of chats that have none stored (DEFAULT_LANGUAGE).
        self._default_language = default_language
        # Claims, the shared rate budget and a fleet-wide 429 pause (bot.services.fleet);
        # alone on SQLite, today's in-process claims and pacing.
        self.fleet: Coordination = fleet or SingleProcess()
        # Tracked links (PUBLIC_URL set): each delivery's link button gets its own token.
        self._links = links
        self._sender = sender
        self._clock = clock
        self._tz = tz
        self._concurrency = concurrency
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._idle_seconds = idle_seconds
        self._rng = rng
        self._sleep = sleep
        self._monotonic = monotonic
        self.pacer = Pacer(rate, monotonic)
        self.stats = EngineStats()
        self._wake = asyncio.Event()
        self._stopping = False
        self._in_flight: set[int] = set()
        # Shared fleets (PostgreSQL): the next batch, claimed and prepared while the current
        # one sends, so the engine never waits on the leased claim (see `drain_once`).
        self._ahead: asyncio.Task[tuple[list[_Job], int]] | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        # Rendered messages keyed by what they show (see `_render`), so an edit renders afresh.
        self._render_cache: dict[tuple[object, ...], _Rendered] = {}
        # Post images by URL: True once Telegram took one, False once it refused one. While an
        # image is unknown, one send tries it and the other sends of it wait for that answer,
        # so a refused image is tried once, not once per chat (`_image_turn`).
        self._images: dict[str, bool] = {}
        self._image_probes: dict[str, asyncio.Future[None]] = {}
        self._mark_batch = mark_batch
        self._mark_flush_seconds = mark_flush_seconds
        self._unflushed: dict[int, tuple[int | None, datetime]] = {}
        self._flush_lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None
        # Set once half a batch of marks waits (or the flush interval passed): flush now.
        self._marks_waiting = asyncio.Event()
        # Hook for metrics (bot.health): outcome of each send with its latency in seconds.
        self._on_outcome = on_outcome
        self.last_loop_at = monotonic()  # heartbeat of run(), for /healthz (see stalled_for)
        self._waiting_until: float | None = None  # end of the loop's deliberate wait, if any
        # People first: while this says updates from people are being handled, no new bulk
        # send starts (for up to YIELD_MAX_SECONDS each, so bulk always progresses), and a
        # CPU-bound fan-out leaves the event loop and the database to the replies. Given by the
        # runtime from the Application's update processor.
        self._yield_to = yield_to
        # The query of the "Share" button under posts and broadcasts (kind, id, topic), or
        # None when the bot has no inline mode (then there is no Share button). It depends
        # only on what the cache key holds, so every chat still gets the same rendering.
        self._share_query = share_query
        # Pace: quiet-hour releases are spread over this many seconds; digests in flight.
        self._release_window = release_window
        self._default_language = default_language
        self._digests_in_flight: set[int] = set()

    @property
    def crash_bound(self) -> int:
        """The most deliveries a crash can repeat: sends in flight plus one unflushed batch."""
        return self._concurrency + self._mark_batch

    def stalled_for(self) -> float:
        """Seconds the loop has been stuck (/healthz calls the engine dead past a bound).

        A deliberate wait (pacing, or a flood wait: a 429 may ask for minutes) counts as
        turning until the moment it should end; only an overrun past that end counts.
        """
        now = self._monotonic()
        if self._waiting_until is not None:
            return max(0.0, now - self._waiting_until)
        return now - self.last_loop_at

    async def _wait(self, seconds: float) -> None:
        """Sleep on purpose, telling /healthz (through `stalled_for`) until when."""
        self._waiting_until = self._monotonic() + seconds
        try:
            await self._sleep(seconds)
        finally:
            self._waiting_until = None
            self.last_loop_at = self._monotonic()

    def wake(self) -> None:
        """Tell the engine new deliveries are waiting."""
        self._wake.set()

    async def run(self) -> None:
        """Send until `stop()` is called; survives database and network errors."""
        while not self._stopping:
            self.last_loop_at = self._monotonic()
            try:
                claimed = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery pass failed; retrying")
                claimed = 0
            if claimed == 0 and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._idle_seconds)
        await self._wait_in_flight()
        ahead, self._ahead = self._ahead, None
        if ahead is not None and not ahead.cancelled() and ahead.exception() is not None:
            # Its rows stay leased to this instance: a clean stop gives them back.
            log.warning("claim ahead failed", extra={"error": type(ahead.exception()).__name__})

    async def stop(self) -> None:
        """Stop claiming new deliveries and let the sends in flight finish."""
        self._stopping = True
        self._wake.set()
        await self._wait_in_flight()

    async def _wait_in_flight(self) -> None:
        ahead = self._ahead
        if ahead is not None:  # left for the next pass (or given back with the claims)
            await asyncio.wait([ahead])
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        while self._unflushed:
            if not await self._flush_marks():
                await asyncio.sleep(0.5)
        flusher = self._flusher
        if flusher is not None and not flusher.done():
            await flusher

    async def _buffer_sent(self, delivery_id: int, message_id: int | None) -> None:
        """Queue a sent mark for the next group commit (waits while the buffer is full)."""
        while len(self._unflushed) >= self._mark_batch:
            if not await self._flush_marks():
                await asyncio.sleep(0.5)
        self._unflushed[delivery_id] = (message_id, self._clock.now())
        if len(self._unflushed) >= self._mark_batch // 2:
            self._marks_waiting.set()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon(), name="delivery-marks")

    async def _flush_soon(self) -> None:
        """Flush the buffer until it is empty, each flush once half a batch waits.

        Or once `mark_flush_seconds` passed, whichever comes first: flushes one after another
        took a few marks each, a statement and a commit per handful of messages.
        """
        loop = asyncio.get_running_loop()
        while self._unflushed:
            if len(self._unflushed) < self._mark_batch // 2:
                self._marks_waiting.clear()
                timer = loop.call_later(self._mark_flush_seconds, self._marks_waiting.set)
                try:
                    await self._marks_waiting.wait()
                finally:
                    timer.cancel()
            if not await self._flush_marks():
                await asyncio.sleep(0.5)

    async def _flush_marks(self) -> bool:
        """Commit every buffered sent mark in one transaction; False if the database failed."""
        async with self._flush_lock:
            batch = dict(self._unflushed)
            if not batch:
                return True
            try:
                async with self._sessionmaker() as session:
                    if session.get_bind().dialect.name == "postgresql":
                        # Its one statement is its own transaction: no BEGIN and no COMMIT
                        # round trip while sends wait for the buffer (docs/PERFORMANCE.md).
                        await session.connection(
                            execution_options={"isolation_level": "AUTOCOMMIT"}
                        )
                    await DeliveryRepo(session).mark_sent_many(
                        [(i, message_id, when) for i, (message_id, when) in batch.items()]
                    )
                    await session.commit()
            except Exception:
                log.exception("could not record sent deliveries", extra={"pending": len(batch)})
                return False
            for delivery_id in batch:
                self._unflushed.pop(delivery_id, None)
                self._in_flight.discard(delivery_id)
            self.stats.sent += len(batch)
            return True

    async def drain_once(self) -> int:
        """Claim one batch of due deliveries and start sending them; returns how many."""
        room = self._batch_size - len(self._in_flight)
        if room <= 0:
            await self._sleep(0.01)  # let in-flight sends make progress
            return 1
        mark = self.fleet.claim_mark()
        now = self._clock.now()
        # Digests are built and sent by the leader alone: their claim is not leased.
        started = await self._start_digests(now) if self.fleet.leading else 0
        size = self.fleet.claim_size(room, self.pacer.interval)
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            jobs, paced = await ahead
        else:
            jobs, paced = await self._claim_jobs(now, size, self._in_flight)
        if paced:
            return started + paced  # the claim changed: claim again at once
        # With a backlog on a shared fleet, the next batch is claimed once half of this one
        # has started: a leased claim costs round trips and the claim lock, and the sends of
        # the second half overlap it. Rows not started yet are excluded from it as well as
        # those in flight (this owner's live leases are claimable for it again).
        claim_ahead_at = len(jobs) // 2 if self.fleet.shared and len(jobs) >= size // 2 else -1
        for index, job in enumerate(jobs):
            if self._stopping:
                break
            if index == claim_ahead_at and self._ahead is None:
                exclude = self._in_flight | {j.delivery_id for j in jobs[index:]}
                self._ahead = asyncio.create_task(
                    self._claim_jobs(self._clock.now(), size, exclude), name="delivery-claim"
                )
                self.stats.claimed_ahead += 1
            # A chat that had a message a moment ago waits for the next pass.
            if self.pacer.chat_ready_in(job.chat_id) > 0:
                continue
            held = 0.0
            while self._yield_to is not None and held < YIELD_MAX_SECONDS and self._yield_to():
                await asyncio.sleep(0.002)
                held += 0.002
            await self._slots.acquire()
            try:
                # The fleet-wide slot (None alone); a paid broadcast has Telegram's own lane.
                booked = None if job.paid else await self.fleet.slot()
            except BaseException:
                self._slots.release()
                raise
            wait = self.pacer.reserve(job.chat_id, booked or 0.0, paid=job.paid)
            if wait > 0:
                await self._wait(wait)  # a 429 makes this the rest of the flood wait
                self.pacer.started(paid=job.paid)
            if not self.fleet.lease_holds(mark):
                # A renewal came late: another instance may have these rows now. Claim again
                # (what is still ours comes back) rather than send them twice.
                self._slots.release()
                log.warning("claimed batch outlived its lease; claiming again")
                break
            self._in_flight.add(job.delivery_id)
            task = asyncio.create_task(self._send(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        if started == 0 and jobs:
            await self._sleep(min(0.2, self.pacer.interval * 4))
            return 0
        return started

    async def _claim_jobs(
        self, now: datetime, size: int, exclude: set[int]
    ) -> tuple[list[_Job], int]:
        """Claim up to `size` due deliveries (not `exclude`) and prepare them to send.

        Returns:
            The jobs, and how many claimed rows pace held instead (then no jobs: claim again).
        """
        async with self._sessionmaker() as session:
            rows = await self.fleet.claim(session, now, size, exclude)
            rows, paced = await self._pace(session, rows, now)
            if paced:
                await session.commit()
                return [], paced
            return await self._prepare(session, rows), 0

    async def drain_all(self, deadline: float = 60.0) -> None:
        """Send until nothing is due, within `deadline` seconds (tests and one-shot tools)."""
        async with asyncio.timeout(deadline):
            while True:
                started = await self.drain_once()
                await self._wait_in_flight()
                if started == 0:
                    now = self._clock.now()
                    async with self._sessionmaker() as session:
                        due = await DeliveryRepo(session).claim_due(now, 1)
                        pace = PaceRepo(session)
                        digests = await pace.claim_digests(now, 1) or (
                            await pace.chats_with_due_digest(now, 1)
                        )
                    if not due and not digests:
                        return
                    await self._sleep(min(1.0, max(0.01, self.pacer.paused_for())))

    async def _send(self, job: _Job) -> None:
        probing: str | None = None
        try:
            photo = job.photo
            if photo is not None and job.post_id is not None:
                photo, probing = await self._image_turn(photo)
            message = job.message if photo is not None else job.fallback or job.message
            while True:
                outcome = await self._send_one(job, photo, message)
                decision = decide_send(
                    outcome,
                    attempts=job.attempts,
                    max_attempts=self._max_attempts,
                    with_photo=photo is not None,
                    jitter=self._rng(),
                )
                if probing is not None:
                    self._image_answered(probing, outcome.kind)
                    probing = None
                if decision.action is not SendAction.RESEND_AS_TEXT:
                    break
                if outcome.kind is OutcomeKind.IMAGE_REFUSED:
                    await self._image_refused(job, photo)
                else:
                    log.info(
                        "chat refuses photos; sending the text alone",
                        extra={"delivery_id": job.delivery_id, "chat_id": job.chat_id},
                    )
                photo = None
                message = job.fallback or job.message
                wait = self.pacer.reserve(job.chat_id, paid=job.paid)
                if wait > 0:
                    await self._sleep(wait)
            await self._apply(job, outcome, decision)
        except Exception:
            log.exception(
                "could not record a delivery outcome", extra={"delivery_id": job.delivery_id}
            )
        finally:
            if probing is not None:
                self._image_answered(probing, None)
            if job.delivery_id not in self._unflushed:  # else it leaves with its flush
                self._in_flight.discard(job.delivery_id)
            self._slots.release()

    async def _image_turn(self, url: str) -> tuple[str | None, str | None]:
        """Whether to send a post's image: (the photo or None, the URL if this send tries it).

        A known image is sent (or not) at once. An unknown one is tried by the first send;
        the others wait for its answer, so a refusal costs one request, not one per chat.
        """
        while True:
            known = self._images.get(url)
            if known is not None:
                return (url if known else None), None
            probe = self._image_probes.get(url)
            if probe is None:
                self._image_probes[url] = asyncio.get_running_loop().create_future()
                return url, url
            await asyncio.shield(probe)

    def _image_answered(self, url: str, kind: OutcomeKind | None) -> None:
        """Record what a try of an image showed, and let the sends waiting on it go."""
        if kind is OutcomeKind.SENT or kind is OutcomeKind.IMAGE_REFUSED:
            if len(self._images) >= 10_000:
                self._images.clear()
            self._images[url] = kind is OutcomeKind.SENT
        probe = self._image_probes.pop(url, None)
        if probe is not None and not probe.done():
            probe.set_result(None)

    async def _image_refused(self, job: _Job, photo: str | None) -> None:
        """Telegram refused a post's image: record it, so the post's other deliveries go as text.

        This delivery goes as text at once; later batches read `posts.image_refused`.
        """
        log.info(
            "image refused; sending the text alone",
            extra={"delivery_id": job.delivery_id, "post_id": job.post_id},
        )
        if job.post_id is None or photo is None:
            return
        async with self._sessionmaker.begin() as session:
            await PostRepo(session).mark_image_refused(job.post_id, photo)

    async def _send_one(
        self, job: _Job, photo: str | None, message: RenderedMessage | None = None
    ) -> DeliveryOutcome:
        """One request to Telegram for `job`, with or without its photo; never raises."""
        started = time.monotonic()
        message = message or job.message
        try:
            outcome = await self._sender.send(job.chat_id, message, photo, paid=job.paid)
        except Exception as error:  # a sender bug must not lose the delivery
            log.exception("sender raised", extra={"delivery_id": job.delivery_id})
            outcome = DeliveryOutcome(OutcomeKind.TRANSIENT, error=type(error).__name__)
        if self._on_outcome is not None:
            self._on_outcome(outcome.kind, time.monotonic() - started)
        return outcome

    async def _apply(self, job: _Job, outcome: DeliveryOutcome, decision: SendDecision) -> None:
        """Carry out what `decide_send` made of Telegram's answer."""
        if decision.action is SendAction.MARK_SENT:
            await self._buffer_sent(job.delivery_id, outcome.message_id)
            return
        now = self._clock.now()
        lost: str | None = None
        async with self._sessionmaker.begin() as session:
            deliveries = DeliveryRepo(session)
            if decision.action is SendAction.RETRY:
                if decision.pause_all:
                    self.pacer.pause(decision.delay)
                    await self.fleet.pause(decision.delay)
                    self.stats.flood_waits += 1
                    log.warning("flood wait", extra={"retry_after": decision.delay})
                else:
                    self.stats.retried += 1
                await deliveries.reschedule(
                    job.delivery_id,
                    now + timedelta(seconds=decision.delay),
                    decision.reason,
                    count_attempt=decision.count_attempt,
                )
            elif decision.action is SendAction.DEACTIVATE_CHAT:
                reason = decision.reason or "unreachable"
                if await ChatRepo(session).deactivate(job.chat_id, reason, now):
                    lost = reason
                await deliveries.drop_pending_for_chat(job.chat_id, reason)
                await PaceRepo(session).drop_digests_for_chat(job.chat_id, reason)
                self.stats.unreachable += 1
                log.info("chat unreachable", extra={"chat_id": job.chat_id, "reason": reason})
            elif decision.action is SendAction.STOP_PAID:
                # Telegram would not take Stars for it: nothing was sent. The broadcast goes on
                # at the normal pace (its other claimed deliveries answer the same and land
                # here too: the switch is idempotent), and this delivery goes again now.
                if job.broadcast_id is not None:
                    await BroadcastRepo(session).stop_paid(job.broadcast_id, now)
                await deliveries.reschedule(
                    job.delivery_id, now, decision.reason, count_attempt=False
                )
                self.stats.paid_refused += 1
                log.warning(
                    "paid broadcast refused; sending at the normal pace",
                    extra={"broadcast_id": job.broadcast_id, "error": decision.reason},
                )
                self.wake()
            elif decision.action is SendAction.MIGRATE_CHAT and decision.new_chat_id is not None:
                await ChatRepo(session).migrate(job.chat_id, decision.new_chat_id, now)
                await PaceRepo(session).move_digests(job.chat_id, decision.new_chat_id)
                self.stats.migrated += 1
                self.wake()
            else:
                await deliveries.mark_failed(job.delivery_id, decision.reason or "failed")
                self.stats.failed += 1
                log.warning(
                    "delivery failed",
                    extra={"delivery_id": job.delivery_id, "error": decision.reason},
                )
        if lost is not None and job.chat_id < 0 and self._on_chat_lost is not None:
            try:
                await self._on_chat_lost(job.chat_id, lost)
            except Exception:  # telling the admins must not disturb sending
                log.exception("could not report a lost chat", extra={"chat_id": job.chat_id})

    async def _pace(
        self, session: AsyncSession, rows: Sequence[ClaimedDelivery], now: datetime
    ) -> tuple[list[ClaimedDelivery], int]:
        """Apply the pace policy to claimed rows it has not seen; returns (to send, held).

        Held rows are updated in the claim's session (the caller commits): quiet hours move
        `next_attempt_at` to their end plus the chat's release offset, a digest chat's posts
        wait for its digest (`pace` DIGEST). Only rows of chats with a digest or quiet hours
        and below urgent priority cost anything beyond one look-up per claimed batch.
        """
        candidates = [
            r for r in rows if r.pace == DeliveryPace.NEW and not bypasses_pace(r.priority)
        ]
        if not candidates:
            return list(rows), 0
        repo = PaceRepo(session)
        settings = await repo.settings_of({r.chat_id for r in candidates})
        if not settings:
            return list(rows), 0
        broadcast_ids = {
            r.broadcast_id
            for r in candidates
            if r.broadcast_id is not None and r.chat_id in settings
        }
        respecting: set[int] = set()
        if broadcast_ids:
            result = await session.execute(
                select(Broadcast.id).where(
                    Broadcast.id.in_(broadcast_ids), Broadcast.respect_pace.is_(True)
                )
            )
            respecting = set(result.scalars())
        decisions: list[tuple[int, DeliveryPace, datetime]] = []
        for row in candidates:
            stored = settings.get(row.chat_id)
            if stored is None:
                continue
            tz, digest, quiet = stored
            decision = decide_pace(
                load_pace(tz, digest, quiet, self._tz),
                now,
                chat_id=row.chat_id,
                priority=row.priority,
                is_post=row.post_id is not None,
                respect_pace=row.broadcast_id in respecting,
                release_window=self._release_window,
            )
            if decision.action is PaceAction.SEND or decision.until is None:
                continue
            pace = (
                DeliveryPace.DIGEST if decision.action is PaceAction.DIGEST else DeliveryPace.PACED
            )
            decisions.append((row.id, pace, decision.until))
        if not decisions:
            return list(rows), 0
        await repo.set_paced(decisions)
        self.stats.held += len(decisions)
        held = {d[0] for d in decisions}
        return [r for r in rows if r.id not in held], len(decisions)

    async def _start_digests(self, now: datetime) -> int:
        """Build the digests whose time has come and start sending due digests; how many."""
        async with self._sessionmaker() as session:
            chat_ids = await PaceRepo(session).chats_with_due_digest(now, 50)
        for chat_id in chat_ids:
            # One transaction per digest: a crash leaves a digest whole or not built at all.
            async with self._sessionmaker.begin() as session:
                await PaceRepo(session).build_digest(chat_id, now)
        async with self._sessionmaker() as session:
            pace = PaceRepo(session)
            digests = await pace.claim_digests(now, 20, exclude=self._digests_in_flight)
            jobs: list[_DigestJob] = []
            for digest in digests:
                jobs.append(
                    await self._prepare_digest(
                        session, digest.id, digest.chat_id, digest.attempts, digest.parts_sent
                    )
                )
        started = 0
        for job in jobs:
            if self._stopping:
                break
            if not job.parts:
                # Its posts went away (a forgotten chat, deleted posts): nothing to send.
                async with self._sessionmaker.begin() as session:
                    await PaceRepo(session).finish_digest(
                        job.digest_id, DeliveryStatus.DROPPED, now, "nothing to send"
                    )
                continue
            if self.pacer.chat_ready_in(job.chat_id) > 0:
                continue
            await self._slots.acquire()
            self._digests_in_flight.add(job.digest_id)
            task = asyncio.create_task(self._send_digest(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def _prepare_digest(
        self, session: AsyncSession, digest_id: int, chat_id: int, attempts: int, parts_sent: int
    ) -> _DigestJob:
        """Render a digest in its chat's language (the parts still to send, from its posts)."""
        items = await PaceRepo(session).digest_items(digest_id)
        chat = await session.get(Chat, chat_id)
        language = (chat.language if chat is not None else None) or self._default_language
        weekly = bool(chat is not None and chat.digest and chat.digest.startswith("weekly"))
        views = [
            DigestItem(
                post_view(post, source),
                (
                    TopicView(t.id, t.slug, t.name, t.emoji, name_fr=t.name_fr or "").in_language(
                        language
                    )
                    if t is not None
                    else None
                ),
            )
            for post, source, t in items
        ]
        parts = digest_messages(views, language, weekly=weekly)
        return _DigestJob(digest_id, chat_id, attempts, parts_sent, tuple(parts))

    async def _send_digest(self, job: _DigestJob) -> None:
        """Send a digest's remaining parts; record each part, then the digest with its posts."""
        try:
            sent = job.parts_sent
            outcome: DeliveryOutcome | None = None
            for index in range(job.parts_sent, len(job.parts)):
                delay = self.pacer.reserve(job.chat_id)
                if delay > 0:
                    await self._sleep(delay)
                outcome = await self._send_one(
                    _Job(0, job.chat_id, job.attempts, job.parts[index], None), None
                )
                if outcome.kind is not OutcomeKind.SENT:
                    break
                sent = index + 1
                if sent < len(job.parts):
                    async with self._sessionmaker.begin() as session:
                        await PaceRepo(session).mark_part_sent(job.digest_id, sent)
            now = self._clock.now()
            if sent >= len(job.parts):
                async with self._sessionmaker.begin() as session:
                    count = await PaceRepo(session).finish_digest(
                        job.digest_id, DeliveryStatus.SENT, now
                    )
                self.stats.digests += 1
                self.stats.sent += count
                return
            if outcome is None:  # pragma: no cover - the loop ran at least once
                return
            decision = decide_send(
                outcome,
                attempts=job.attempts,
                max_attempts=self._max_attempts,
                with_photo=False,
                jitter=self._rng(),
            )
            async with self._sessionmaker.begin() as session:
                pace = PaceRepo(session)
                if decision.action is SendAction.RETRY:
                    if decision.pause_all:
                        self.pacer.pause(decision.delay)
                        self.stats.flood_waits += 1
                    await pace.reschedule_digest(
                        job.digest_id,
                        now + timedelta(seconds=decision.delay),
                        decision.reason,
                        count_attempt=decision.count_attempt,
                    )
                elif decision.action is SendAction.DEACTIVATE_CHAT:
                    reason = decision.reason or "unreachable"
                    await ChatRepo(session).set_inactive(job.chat_id, reason, now)
                    await DeliveryRepo(session).drop_pending_for_chat(job.chat_id, reason)
                    await pace.drop_digests_for_chat(job.chat_id, reason)
                    self.stats.unreachable += 1
                elif decision.action is SendAction.MIGRATE_CHAT and decision.new_chat_id:
                    await ChatRepo(session).migrate(job.chat_id, decision.new_chat_id, now)
                    await pace.move_digests(job.chat_id, decision.new_chat_id)
                    self.stats.migrated += 1
                else:
                    await pace.finish_digest(
                        job.digest_id, DeliveryStatus.FAILED, now, decision.reason or "failed"
                    )
                    self.stats.failed += 1
        except Exception:
            log.exception("could not send a digest", extra={"digest_id": job.digest_id})
        finally:
            self._digests_in_flight.discard(job.digest_id)
            self._slots.release()

    async def _prepare(self, session: AsyncSession, rows: Sequence[ClaimedDelivery]) -> list[_Job]:
        """Render each claimed delivery (cached per post and topic, or per broadcast)."""
        post_ids = {r.post_id for r in rows if r.post_id is not None}
        broadcast_ids = {r.broadcast_id for r in rows if r.broadcast_id is not None}
        topic_ids = {r.topic_id for r in rows if r.topic_id is not None}
        posts: dict[int, PostView] = {}
        if post_ids:
            result = await session.execute(
                select(Post, Feed.name, Feed.title)
                .outerjoin(Feed, Feed.id == Post.feed_id)
                .where(Post.id.in_(post_ids))
            )
            posts = {p.id: post_view(p, name or title) for p, name, title in result.all()}
        broadcasts: dict[int, Broadcast] = {}
        if broadcast_ids:
            result_b = await session.execute(
                select(Broadcast).where(Broadcast.id.in_(broadcast_ids))
            )
            broadcasts = {b.id: b for b in result_b.scalars()}
        # A notice (a topic archived) names its topic, worded in each chat's language.
        topic_ids |= {
            b.topic_ids[0] for b in broadcasts.values() if b.kind == NOTICE and b.topic_ids
        }
        topics: dict[int, TopicView] = {}
        if topic_ids:
            result_t = await session.execute(select(Topic).where(Topic.id.in_(topic_ids)))
            topics = {
                t.id: TopicView(
                    t.id,
                    t.slug,
                    t.name,
                    t.emoji,
                    action_label=t.action_label,
                    name_fr=t.name_fr or "",
                    preview=t.preview or PREVIEW_SMALL,
                )
                for t in result_t.scalars()
            }
        # Each chat reads its own language (and a channel its own buttons): one query per
        # batch, one rendering per language and audience.
        stored = await ChatRepo(session).audiences({r.chat_id for r in rows})
        jobs = []
        for row in rows:
            language, kind = stored.get(row.chat_id, (None, ""))
            language = language or self._default_language
            channel = kind == CHANNEL
            rendered = self._render(row, posts, topics, broadcasts, language, channel=channel)
            if rendered is None:
                continue
            message, photo, fallback = rendered.message, rendered.photo, rendered.fallback
            if self._links is not None:
                message = _tracked(self._links, row, message, posts, broadcasts)
                if fallback is not None:
                    fallback = _tracked(self._links, row, fallback, posts, broadcasts)
            broadcast = broadcasts.get(row.broadcast_id) if row.broadcast_id is not None else None
            paid = broadcast is not None and broadcast.paid
            jobs.append(
                _Job(
                    row.id,
                    row.chat_id,
                    row.attempts,
                    message,
                    photo,
                    paid,
                    row.broadcast_id,
                    row.post_id,
                    fallback,
                )
            )
        # Paid sends first: they have their own (fast) lane, so normal-pace waits in the same
        # batch do not hold them back.
        jobs.sort(key=lambda job: not job.paid)
        return jobs

    def _render(
        self,
        row: ClaimedDelivery,
        posts: dict[int, PostView],
        topics: dict[int, TopicView],
        broadcasts: dict[int, Broadcast],
        language: str,
        *,
        channel: bool = False,
    ) -> _Rendered | None:
        """The message of one delivery, rendered once per version of what it shows.

        The cache key is the rendered values themselves (the post's and the topic's views,
        the broadcast's content), the chat's language and its audience (a channel gets link
        buttons only), read fresh with every claimed batch: a renamed topic or an edited post
        is a new key, so it is rendered afresh, at the cost of one hash. The post's view
        holds its image (None once Telegram refused it) and the topic's its link preview, so
        both are part of the key. A post with an image is a photo with the text as its
        caption, and the text message as the fallback. A broadcast's text is the chat's
        language's version, else the one written first.
        """
        audience = CHANNEL if channel else "chat"
        topic = topics.get(row.topic_id) if row.topic_id is not None else None
        if topic is not None:
            topic = topic.in_language(language)
        key: tuple[object, ...]
        rendered: _Rendered
        if row.post_id is not None:
            post = posts.get(row.post_id)
            if post is None:
                return None
            key = ("p", post, topic, language, audience)
            cached = self._render_cache.get(key)
            if cached is not None:
                return cached
            share = (
                self._share_query(POST, post.id, topic)
                if self._share_query and not channel
                else None
            )
            text = post_notification(post, topic, self._tz, share, language, channel=channel)
            image = safe_url(post.image)
            if image is None:
                rendered = _Rendered(text)
            else:
                caption = post_notification(
                    post, topic, self._tz, share, language, caption=True, channel=channel
                )
                rendered = _Rendered(caption, image, text)
        else:
            broadcast = broadcasts.get(row.broadcast_id or 0)
            if broadcast is None:
                return None
            text_html = choose_version(language, broadcast.text_html, broadcast.versions)
            content = (
                broadcast.id,
                broadcast.kind,
                text_html,
                broadcast.action_url,
                broadcast.photo,
                broadcast.action_label,
            )
            key = ("b", content, topic, language, audience)
            cached = self._render_cache.get(key)
            if cached is not None:
                return cached
            share = (
                self._share_query(BROADCAST, broadcast.id, topic)
                if self._share_query and broadcast.kind == BROADCAST and not channel
                else None
            )
            notice_topic = (
                topics.get(broadcast.topic_ids[0])
                if broadcast.kind == NOTICE and broadcast.topic_ids
                else None
            )
            if notice_topic is not None:
                # The bot's own notice (a topic archived): worded in the chat's language, the
                # topic named in it too.
                text_html = archive_notice(notice_topic.in_language(language), language)
            message = broadcast_message(
                text_html,
                broadcast.action_url,
                topic,
                action_label=broadcast.action_label,
                broadcast_id=broadcast.id,
                share_query=share,
                language=language,
                channel=channel,
            )
            rendered = _Rendered(message, broadcast.photo)
        if len(self._render_cache) >= 5000:
            self._render_cache.clear()
        self._render_cache[key] = rendered
        return rendered


def _tracked(
    links: TrackedLinks,
    row: ClaimedDelivery,
    message: RenderedMessage,
    posts: dict[int, PostView],
    broadcasts: dict[int, Broadcast],
) -> RenderedMessage:
    """The rendered message with its link button turned into this delivery's tracked link."""
    kind: LinkKind
    if row.post_id is not None:
        original = safe_url(posts[row.post_id].url)
        kind, message_id = "post", row.post_id
    else:
        broadcast = broadcasts[row.broadcast_id or 0]
        original = safe_url(broadcast.action_url)
        kind, message_id = "broadcast", broadcast.id
    if original is None:
        return message
    return with_tracked_link(message, original, links.url_for(kind, message_id, row.id))
