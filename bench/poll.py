"""Poll cycle: 500 feeds of 20 entries on the local feed server, the real IngestService."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import update

from bench.common import Ctx, Row, feed_server, fresh_database, median
from bot.config import Settings
from bot.db.models import Feed
from bot.runtime import open_runtime

FEED_TIMEOUT = 5.0


def _settings(url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        allow_private_feed_urls=True,
        poll_interval_seconds=300,
        feed_timeout_seconds=FEED_TIMEOUT,
    )


async def poll_cycle(ctx: Ctx) -> list[Row]:
    """A full first cycle with 5 % hanging and 5 % failing feeds, then an all-304 cycle."""
    feeds = ctx.size(500, 40)
    full_runs: list[float] = []
    outcomes: dict[str, int] = {}
    for _ in range(1):  # one: each run is a full first cycle
        url = await fresh_database(ctx, "poll")
        with feed_server(feeds, 20, hang=5, error=5) as urls:
            async with open_runtime(_settings(url)) as runtime:
                await runtime.feeds.ensure_feeds(urls)
                started = time.perf_counter()
                summary = await runtime.ingest.poll_due()
                full_runs.append(time.perf_counter() - started)
        outcomes = {}
        for o in summary.outcomes:
            outcomes[o.status] = outcomes.get(o.status, 0) + 1
    cached_runs: list[float] = []
    url = await fresh_database(ctx, "poll304")
    with feed_server(feeds, 20, hang=0, error=0) as urls:
        async with open_runtime(_settings(url)) as runtime:
            await runtime.feeds.ensure_feeds(urls)
            await runtime.ingest.poll_due()  # learns every ETag
            for _ in range(ctx.repeat):
                async with runtime.sessionmaker.begin() as session:
                    await session.execute(update(Feed).values(next_poll_at=datetime.now(UTC)))
                started = time.perf_counter()
                summary = await runtime.ingest.poll_due()
                cached_runs.append(time.perf_counter() - started)
                assert all(o.status == "not_modified" for o in summary.outcomes), summary
    full = median(full_runs)
    cached = median(cached_runs)
    return [
        Row(
            "poll",
            f"poll cycle ({feeds} feeds × 20 entries, 5 % hang > {FEED_TIMEOUT:g} s timeout, "
            "5 % HTTP 500)",
            full,
            "s",
            "<= 15 s",
            full <= 15.0,
            full_runs,
            note=", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())),
        ),
        Row(
            "poll304",
            f"poll cycle, every feed 304 ({feeds} feeds)",
            cached,
            "s",
            "<= 2 s",
            cached <= 2.0,
            cached_runs,
        ),
    ]
