"""Fan-out write (one post to a topic with 100,000 subscribers) and peak memory while it runs."""

from __future__ import annotations

import asyncio
import json
import sys

from bench.common import (
    Ctx,
    Row,
    fake_api,
    fresh_database,
    median,
    queue_post,
    seed_subscribers,
)


async def fan_out_write(ctx: Ctx) -> Row:
    """INSERT … SELECT of the pending deliveries; a new post each repetition."""
    chats = ctx.size(100_000, 2_000)
    url = await fresh_database(ctx, "fanout")
    topic_id = await seed_subscribers(url, chats)
    runs = []
    for n in range(ctx.repeat):
        created, seconds = await queue_post(url, topic_id, identity=f"fan-{n}")
        assert created == chats, (created, chats)
        runs.append(seconds)
    value = median(runs)
    return Row(
        "fanout",
        f"fan-out write (1 post, {chats:,} subscribers)",
        value,
        "s",
        "<= 2 s",
        value <= 2.0,
        runs,
    )


async def memory(ctx: Ctx) -> Row:
    """Peak RSS of a fresh bot process that writes the fan-out and starts sending it."""
    chats = ctx.size(100_000, 2_000)
    url = await fresh_database(ctx, "memory")
    topic_id = await seed_subscribers(url, chats)
    async with fake_api(limits=False) as api:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.memory_child",
            url,
            api.base_url,
            api.token,
            str(topic_id),
            str(2 if ctx.quick else 10),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate()
    result = json.loads(out.decode().strip().splitlines()[-1])
    value = result["peak_rss_mb"]
    return Row(
        "memory",
        f"peak RSS during the {chats:,}-subscriber fan-out",
        value,
        "MB",
        "<= 250 MB",
        value <= 250,
        [value],
        note=f"sent {result['sent']:,} in {result['send_seconds']:g} s of sending; "
        f"baseline {result['baseline_rss_mb']:.0f} MB",
    )
