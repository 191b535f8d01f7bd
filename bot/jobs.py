"""JobQueue callbacks (APScheduler through PTB): thin, one service call each, one log line.

Schedules are data (each feed's `next_poll_at`); the job only wakes often enough to pick up
due feeds, with `max_instances=1` and `coalesce=True` so a slow poll never overlaps the next.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext

from bot.domain.schedule import poll_tick_seconds

if TYPE_CHECKING:
    from bot.app import Runtime

log = logging.getLogger(__name__)

POLL_JOB = "poll_feeds"


async def poll_feeds_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Poll every due feed once."""
    runtime: Runtime = context.bot_data["runtime"]
    summary = await runtime.ingest.poll_due()
    if summary.feeds_polled:
        log.info(
            "poll cycle",
            extra={
                "job": POLL_JOB,
                "feeds": summary.feeds_polled,
                "posts_new": summary.posts_new,
                "deliveries_new": summary.deliveries_new,
                "failures": summary.failures,
            },
        )


def schedule_jobs(
    application: Application[Any, Any, Any, Any, Any, Any], runtime: Runtime
) -> None:
    """Add the repeating jobs to the application's JobQueue."""
    job_queue = application.job_queue
    if job_queue is None:  # pragma: no cover - the job-queue extra is a dependency
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    tick = poll_tick_seconds(runtime.settings.poll_interval_seconds)
    job_queue.run_repeating(
        poll_feeds_job,
        interval=tick,
        first=0,
        name=POLL_JOB,
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )
