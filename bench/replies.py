"""Replies under load: supporters' /topics and /subscribe while a 20,000-chat fan-out runs.

Replies go through the Application's own bot (with PTB's AIORateLimiter, 30 msg/s overall), the
fan-out through the engine's separate Bot. Latency = from injecting the update at the fake
server to the server accepting the reply; both sides read CLOCK_MONOTONIC, shared by processes.
"""

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

FIRST_SUPPORTER = 5_000_000
UPDATES_PER_SECOND = 20  # below the Application bot's 30 msg/s limiter, as real users are


async def replies(ctx: Ctx) -> Row:
    """p95 update -> reply latency for 200 supporters sending two commands each."""
    chats = ctx.size(20_000, 300)
    supporters = ctx.size(200, 10)
    url = await fresh_database(ctx, "replies")
    topic_id = await seed_subscribers(url, chats)
    latencies: list[float] = []
    async with fake_api(limits=False) as api:
        application = make_application(bot_settings(api, url, send_rate_per_second=1000))
        async with running(application):
            await queue_post(url, topic_id)
            application.bot_data["runtime"].delivery.wake()
            await api.call("wait_for_sent", total=1, timeout=60)
            injected: list[tuple[int, float]] = []
            for command in ("/topics", "/subscribe bench"):
                for n in range(supporters):
                    user = FIRST_SUPPORTER + n
                    at = time.monotonic()
                    await api.call("send_text", user_id=user, text=command)
                    injected.append((user, at))
                    await asyncio.sleep(max(0.0, at + 1 / UPDATES_PER_SECOND - time.monotonic()))
            sent_during = (await api.call("stats"))["sent_messages"]
            await asyncio.sleep(1.0)  # the last replies
            records = await api.call("requests", method="sendMessage")
    replies_by_chat: dict[int, list[float]] = {}
    for record in records:
        chat = int(record["params"].get("chat_id", 0))
        if chat >= FIRST_SUPPORTER and record["status"] == 200:
            replies_by_chat.setdefault(chat, []).append(float(record["time"]))
    for user, at in injected:
        after = [t for t in replies_by_chat.get(user, []) if t >= at]
        latencies.append((min(after) - at) if after else float("inf"))
        if after:
            replies_by_chat[user].remove(min(after))
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    p50 = latencies[len(latencies) // 2]
    fan_out_done = sent_during >= chats
    return Row(
        "replies",
        f"replies under load ({supporters} supporters × 2 commands, {chats:,}-chat fan-out)",
        p95 * 1000,
        "ms p95",
        "<= 300 ms",
        p95 <= 0.3,
        [p95 * 1000],
        note=f"p50 {p50 * 1000:.0f} ms; fan-out "
        + ("finished before the last command" if fan_out_done else "still running at the end"),
    )
