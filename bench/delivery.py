"""Paced delivery and the engine's ceiling: the real Application + DeliveryEngine, real HTTP."""

from __future__ import annotations

import asyncio
import time

from bench.common import (
    Ctx,
    Row,
    bot_settings,
    fake_api,
    fresh_database,
    median,
    queue_post,
    seed_subscribers,
)
from bot.app import make_application, running


async def _fan_out_rate(
    ctx: Ctx,
    *,
    chats: int,
    rate: float,
    limits: bool,
    engine_rate: float | None = None,
    stop_after: float | None = None,
) -> dict[str, float]:
    """Seed, queue one post, run the bot until every chat has it; rate as the server saw it.

    `rate` is SEND_RATE_PER_SECOND (Settings, at most 1000); `engine_rate`, if given, goes to
    the engine directly (above that limit: the ceiling row measures the engine, not the pacer).
    After `stop_after` seconds of sending, the rate so far is returned (`finished` 0).
    """
    url = await fresh_database(ctx, "delivery")
    topic_id = await seed_subscribers(url, chats)
    created, _ = await queue_post(url, topic_id)
    assert created == chats, (created, chats)
    options = {} if engine_rate is None else {"rate": engine_rate}
    expected = engine_rate or rate
    async with fake_api(limits=limits) as api:
        application = make_application(
            bot_settings(api, url, send_rate_per_second=rate), delivery_options=options
        )
        async with running(application):
            await api.call("wait_for_sent", total=1, timeout=120)
            first = time.monotonic()
            cpu_first = time.process_time()
            # A figure that cannot finish gives its rate so far rather than no row.
            limit = chats / expected * 3 + 120
            if stop_after is not None:
                limit = min(limit, stop_after)
            finished = await api.wait_sent(chats, limit)
            last = time.monotonic()
            cpu = (time.process_time() - cpu_first) / (last - first)
            stats = await api.call("stats")
    sent = len(stats["sent_per_chat"])
    return {
        "rate": (sent - 1) / (last - first),
        "finished": float(finished),
        "seconds": last - first,
        "cpu": cpu,
        "too_many_requests": float(stats["too_many_requests"]),
        "duplicates": float(stats["sent_messages"] - len(stats["sent_per_chat"])),
        "lost": float(chats - sent) if finished else 0.0,
    }


async def paced(ctx: Ctx) -> Row:
    """3,000 chats at SEND_RATE_PER_SECOND=25 against a server enforcing 30/s."""
    chats = ctx.size(3000, 60)
    runs = [await _fan_out_rate(ctx, chats=chats, rate=25, limits=True) for _ in range(1)]
    rates = [r["rate"] for r in runs]
    too_many = max(r["too_many_requests"] for r in runs)
    value = sorted(rates)[len(rates) // 2]
    return Row(
        "paced",
        f"paced delivery ({chats:,} chats, rate 25, server 30/s)",
        value,
        "msg/s",
        ">= 24.25 msg/s (97 % of 25), zero 429",
        value >= 0.97 * 25 and too_many == 0,
        rates,
        note=f"429 answers: {int(too_many)}",
        extra={"too_many_requests": too_many},
    )


async def client_ceiling(sends: int, concurrency: int = 8) -> float:
    """python-telegram-bot alone (no database, no engine) sending as fast as it can."""
    from telegram import Bot

    from bot.runtime import make_sender_bot

    async with fake_api(limits=False) as api:
        bot: Bot = make_sender_bot(bot_settings(api, "sqlite:///unused.sqlite3"))
        async with bot:
            slots = asyncio.Semaphore(concurrency)

            async def one(n: int) -> None:
                async with slots:
                    await bot.send_message(2_000_000 + n, "<b>Act now</b>: a benchmark post")

            started = time.monotonic()
            await asyncio.gather(*(one(n) for n in range(sends)))
            return sends / (time.monotonic() - started)


# Seconds a full-size delivery figure may take before it reports what it sent so far.
CEILING_TIMEOUT = 90

# The engine's rate in the ceiling row: far above what one process reaches, so the figure is
# the engine's ceiling, not the pacer's schedule (Settings keeps its limit of 1000).
UNPACED_RATE = 100_000.0


async def ceiling(ctx: Ctx) -> Row:
    """20,000 chats, the engine unpaced, against a server without limits (its own process)."""
    chats = ctx.size(20_000, 300)
    times = 1 if ctx.quick else ctx.repeat
    runs = [
        await _fan_out_rate(
            ctx,
            chats=chats,
            rate=1000,
            limits=False,
            engine_rate=UNPACED_RATE,
            stop_after=ctx.size(CEILING_TIMEOUT, 60),
        )
        for _ in range(times)
    ]
    rates = [r["rate"] for r in runs]
    value = median(rates)
    cpu = median([r["cpu"] for r in runs])
    duplicates = int(max(r["duplicates"] for r in runs))
    lost = int(max(r["lost"] for r in runs))
    unfinished = sum(1 for r in runs if not r["finished"])
    stopped = f"{unfinished} run(s) stopped after {CEILING_TIMEOUT} s (rate so far); "
    client = await client_ceiling(min(chats, 5000))
    return Row(
        "ceiling",
        f"engine ceiling ({chats:,} chats, unpaced, no server limits, 1 process)",
        value,
        "msg/s",
        ">= 1,000 msg/s, 0 duplicates",
        value >= 1000 and duplicates == 0 and lost == 0 and not unfinished,
        rates,
        note=f"bot CPU {cpu:.0%} of a core; duplicates: {duplicates}; lost: {lost}; "
        + (stopped if unfinished else "")
        + f"PTB client alone (no engine, no database): {client:,.0f} msg/s",
        extra={"client_ceiling": client, "cpu": [r["cpu"] for r in runs]},
    )
