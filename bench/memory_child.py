"""Child process of the memory figure: the whole bot, one 100,000-chat fan-out, peak RSS.

`python -m bench.memory_child DATABASE_URL API_BASE_URL TOKEN TOPIC_ID SECONDS` prints one JSON
line: the peak resident set size (VmHWM), the baseline after start-up, messages sent.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path

import psutil

from bench.common import queue_post
from bot.app import make_application, running
from bot.config import Settings


def peak_rss_kb() -> int:
    """This process's own RSS high-water mark (VmHWM).

    Not getrusage's ru_maxrss: Linux carries the parent's high-water mark across fork and exec,
    so a child of the bench (which held 100,000 seeded rows) would report the parent's peak.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


async def main(url: str, api_url: str, token: str, topic_id: int, seconds: float) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        telegram_bot_token=token,
        telegram_api_url=api_url,
        database_url=url,
        poll_interval_seconds=3600,
        send_rate_per_second=1000,
        log_level="WARNING",
    )
    application = make_application(settings)
    async with running(application):
        baseline = psutil.Process().memory_info().rss
        await queue_post(url, topic_id, identity=f"memory-{time.time_ns()}")
        application.bot_data["runtime"].delivery.wake()
        await asyncio.sleep(seconds)
        sent = application.bot_data["runtime"].delivery.stats.sent
    peak_kb = peak_rss_kb()
    print(
        json.dumps(
            {
                "peak_rss_mb": peak_kb / 1024,
                "baseline_rss_mb": baseline / 2**20,
                "sent": sent,
                "send_seconds": seconds,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])))
