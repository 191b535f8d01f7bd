"""Poll at scale: 10,000 feeds, 10 % with one new post per cycle, the rest answering 304.

The feed server runs in its own process, so `time.process_time()` of this process is the bot's
CPU alone (with SQLite's worker thread; PostgreSQL's server processes are not counted). Polls
are started as the poll job is: `IngestService.poll_due()` on the job's tick
(`poll_tick_seconds(POLL_INTERVAL_SECONDS)`), never two at once, a tick that comes while a poll
is still running skipped (the job's `max_instances=1`), each call taking the due feeds the
repository hands out.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import psutil
from sqlalchemy import func, insert, select, update

from bench.common import Ctx, Row, feed_server, fresh_database, median, seed_subscribers
from bot.config import Settings
from bot.db.models import Delivery, Feed, Post
from bot.domain.schedule import poll_tick_seconds
from bot.domain.types import PollStatus
from bot.runtime import Runtime, open_runtime

CHURN_PERCENT = 10
ENTRIES = 10  # WordPress's default feed length
SUBSCRIBERS = 200  # chats following the topic the new posts match


@dataclass
class Tally:
    """What a run of polls did."""

    polls: int = 0  # poll_due calls that found due feeds
    feeds: set[int] = field(default_factory=set)
    fetched: int = 0  # feed polls, 304s included
    new: int = 0  # feeds answering 200 (stored)
    not_modified: int = 0
    errors: int = 0
    posts: int = 0
    deliveries: int = 0
    busy: float = 0.0  # seconds inside poll_due

    def note(self) -> str:
        """One line for the table."""
        return (
            f"{self.fetched:,} polls: {self.not_modified:,} × 304, {self.new:,} × 200, "
            f"{self.errors} errors; {self.posts:,} new posts, {self.deliveries:,} deliveries"
        )


async def _poll_on_ticks(
    runtime: Runtime,
    tick: float,
    tally: Tally,
    *,
    done: asyncio.Event | None = None,
    feeds: int | None = None,
    seconds: float | None = None,
) -> float:
    """Call `poll_due` on each tick as the poll job does; returns when the last poll ended.

    Stops once `feeds` distinct feeds were polled, or `seconds` have passed (a poll running
    then is finished), or `done` is set.
    """
    started = time.monotonic()
    last_end = started
    ticks = 0
    while True:
        if feeds is not None and len(tally.feeds) >= feeds:
            return last_end
        if seconds is not None and time.monotonic() - started >= seconds:
            return last_end
        if done is not None and done.is_set():
            return last_end
        call_started = time.monotonic()
        summary = await runtime.ingest.poll_due()
        if summary.outcomes:
            last_end = time.monotonic()
            tally.polls += 1
            tally.busy += last_end - call_started
        for outcome in summary.outcomes:
            tally.feeds.add(outcome.feed_id)
            tally.fetched += 1
            tally.posts += outcome.posts_new
            tally.deliveries += outcome.deliveries_new
            if outcome.status is PollStatus.ERROR:
                tally.errors += 1
            elif outcome.status is PollStatus.NOT_MODIFIED:
                tally.not_modified += 1
            else:
                tally.new += 1
        if tick <= 0:
            continue
        # The next tick after now (ticks passed while polling were skipped).
        elapsed = time.monotonic() - started
        ticks = max(ticks + 1, math.ceil(elapsed / tick))
        await asyncio.sleep(max(0.0, started + ticks * tick - time.monotonic()))


@contextlib.contextmanager
def _profiled() -> Iterator[None]:
    """cProfile the block into CB_BENCH_PROFILE (a file name), if set (main thread only)."""
    target = os.environ.get("CB_BENCH_PROFILE", "").strip()
    if not target:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(target)


async def _churn(client: httpx.AsyncClient, base: str) -> int:
    response = await client.post(f"{base}/__churn", params={"percent": CHURN_PERCENT})
    response.raise_for_status()
    return int(response.json()["changed"])


async def _add_feeds(runtime: Runtime, urls: list[str]) -> None:
    """The feeds as `FeedService.add_feed` leaves them (due at once), in bulk: setup only."""
    now = datetime.now(UTC)
    async with runtime.sessionmaker.begin() as session:
        for start in range(0, len(urls), 1000):
            await session.execute(
                insert(Feed),
                [
                    {"url": u, "next_poll_at": now, "created_at": now}
                    for u in urls[start : start + 1000]
                ],
            )


async def _all_due(runtime: Runtime) -> None:
    async with runtime.sessionmaker.begin() as session:
        await session.execute(update(Feed).values(next_poll_at=datetime.now(UTC)))


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


async def _count(runtime: Runtime) -> tuple[int, int]:
    async with runtime.sessionmaker() as session:
        posts = await session.scalar(select(func.count()).select_from(Post))
        deliveries = await session.scalar(select(func.count()).select_from(Delivery))
    return int(posts or 0), int(deliveries or 0)


async def poll_at_scale(ctx: Ctx) -> list[Row]:
    """Prime 10,000 feeds, time whole cycles, then measure CPU over 5 minutes of polling."""
    feeds = ctx.options.get("poll_feeds") or ctx.size(10_000, 100)
    # Polling as deployed: the default POLL_INTERVAL_SECONDS unless asked otherwise.
    default_interval = int(Settings.model_fields["poll_interval_seconds"].default)
    interval = ctx.options.get("poll_interval") or (2 if ctx.quick else default_interval)
    minutes = ctx.options.get("poll_minutes")
    duration = 60.0 * minutes if minutes else ctx.size(300, 4)
    tick = poll_tick_seconds(interval)
    url = await fresh_database(ctx, "pollscale")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        allow_private_feed_urls=True,
        poll_interval_seconds=interval,
        log_level="WARNING",
    )
    load = [round(x, 2) for x in os.getloadavg()]
    with feed_server(feeds, ENTRIES, hang=0, error=0) as urls:
        base = urls[0].split("/feed/", 1)[0]
        async with (
            open_runtime(settings) as runtime,
            httpx.AsyncClient(timeout=60, trust_env=False) as client,
        ):
            await _add_feeds(runtime, urls)
            await seed_subscribers(url, ctx.size(SUBSCRIBERS, 20), slug="bench")
            # Priming: the first cycle stores every feed's posts unannounced, learns the ETags.
            primed = Tally()
            prime_started = time.monotonic()
            await _poll_on_ticks(runtime, 0, primed, feeds=feeds)
            prime_seconds = time.monotonic() - prime_started
            print(f"primed {feeds:,} feeds in {prime_seconds:.0f} s", file=sys.stderr, flush=True)
            assert primed.errors == 0, primed.note()
            assert primed.new == feeds, primed.note()

            cycles: list[float] = []
            cpu: list[float] = []
            cycle_tally = Tally()
            for _ in range(max(1, ctx.repeat)):
                await _all_due(runtime)
                changed = await _churn(client, base)
                tally = Tally()
                cpu_started, started = time.process_time(), time.monotonic()
                with _profiled():
                    ended = await _poll_on_ticks(runtime, tick, tally, feeds=feeds)
                cycles.append(ended - started)
                cpu.append(time.process_time() - cpu_started)
                assert tally.errors == 0, tally.note()
                assert tally.posts == changed, (tally.note(), changed)
                assert tally.deliveries == changed * ctx.size(SUBSCRIBERS, 20), tally.note()
                for name in ("fetched", "new", "not_modified", "errors", "posts", "deliveries"):
                    setattr(cycle_tally, name, getattr(cycle_tally, name) + getattr(tally, name))
            cycle_rss = _rss_mb()

            # Real polling: feeds due as the last cycle left them, 10 % changing every interval.
            steady = Tally()
            stop = asyncio.Event()

            async def churner() -> None:
                while not stop.is_set():
                    await _churn(client, base)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), interval)

            churning = asyncio.create_task(churner())
            cpu_started, started = time.process_time(), time.monotonic()
            await _poll_on_ticks(runtime, tick, steady, seconds=duration)
            wall = time.monotonic() - started
            cpu_seconds = time.process_time() - cpu_started
            stop.set()
            await churning
            posts, deliveries = await _count(runtime)
    cpu_percent = 100 * cpu_seconds / wall
    rss = _rss_mb()
    cycle = median(cycles)
    cycle_cpu = median(cpu)
    return [
        Row(
            "pollscale",
            f"poll at scale: one cycle of {feeds:,} feeds × {ENTRIES} entries, "
            f"{CHURN_PERCENT} % with a new post, the rest 304",
            cycle,
            "s",
            "<= 60 s",
            cycle <= 60.0,
            cycles,
            note=f"CPU {cycle_cpu:.1f} s a cycle ({', '.join(f'{c:.1f}' for c in cpu)}); "
            f"{cycle_tally.note()}; RSS {cycle_rss:.0f} MB; load {load[0]:g}",
            extra={
                "cpu_seconds": cpu,
                "prime_seconds": round(prime_seconds, 1),
                "rss_mb": round(cycle_rss, 1),
                "load_average": load,
                "subscribers": ctx.size(SUBSCRIBERS, 20),
            },
        ),
        Row(
            "pollscale_cpu",
            f"poll at scale: bot CPU over {duration:g} s of polling {feeds:,} feeds at "
            f"POLL_INTERVAL_SECONDS={interval}",
            cpu_percent,
            "%",
            "< 25 %",
            cpu_percent < 25.0,
            [cpu_percent],
            note=f"{cpu_seconds:.1f} s CPU in {wall:.0f} s; {steady.note()}; "
            f"RSS {rss:.0f} MB; stored {posts:,} posts, {deliveries:,} deliveries",
            extra={
                "cpu_seconds": round(cpu_seconds, 2),
                "wall_seconds_measured": round(wall, 1),
                "rss_mb": round(rss, 1),
                "load_average_end": [round(x, 2) for x in os.getloadavg()],
            },
        ),
    ]
