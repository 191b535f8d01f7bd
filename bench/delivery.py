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
    queue_post,
    seed_subscribers,
)
from bot.app import make_application, running


async def _fan_out_rate(ctx: Ctx, *, chats: int, rate: float, limits: bool) -> dict[str, float]:
    """Seed, queue one post, run the bot until every chat has it; rate as the server saw it."""
    url = await fresh_database(ctx, "delivery")
    topic_id = await seed_subscribers(url, chats)
    created, _ = await queue_post(url, topic_id)
    assert created == chats, (created, chats)
    async with fake_api(limits=limits) as api:
        application = make_application(bot_settings(api, url, send_rate_per_second=rate))
        async with running(application):
            await api.call("wait_for_sent", total=1, timeout=120)
            first = time.monotonic()
            await api.call("wait_for_sent", total=chats, timeout=chats / rate * 3 + 60)
            last = time.monotonic()
            stats = await api.call("stats")
    return {
        "rate": (chats - 1) / (last - first),
        "seconds": last - first,
        "too_many_requests": float(stats["too_many_requests"]),
        "duplicates": float(stats["sent_messages"] - len(stats["sent_per_chat"])),
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


async def ceiling(ctx: Ctx) -> Row:
    """20,000 chats at rate 1000 against a server without limits."""
    chats = ctx.size(20_000, 300)
    runs = [await _fan_out_rate(ctx, chats=chats, rate=1000, limits=False) for _ in range(1)]
    rates = [r["rate"] for r in runs]
    value = sorted(rates)[len(rates) // 2]
    client = await client_ceiling(min(chats, 5000))
    return Row(
        "ceiling",
        f"engine ceiling ({chats:,} chats, rate 1000, no server limits)",
        value,
        "msg/s",
        ">= 1,000 msg/s",
        value >= 1000,
        rates,
        note=f"duplicates: {int(max(r['duplicates'] for r in runs))}; PTB client alone "
        f"(no engine, no database): {client:,.0f} msg/s",
        extra={"client_ceiling": client},
    )
