"""JobQueue callbacks (APScheduler through PTB): thin, one service call each, one log line.

Schedules are data (each feed's `next_poll_at`); the job only wakes often enough to pick up
due feeds, with `max_instances=1` and `coalesce=True` so a slow poll never overlaps the next.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import LinkPreviewOptions
from telegram.error import TelegramError
from telegram.ext import Application, CallbackContext

from bot.domain.schedule import poll_tick_seconds
from bot.handlers.context import leader_only, run_repeating, runtime_of
from bot.render import admins as render
from bot.runtime import Runtime

log = logging.getLogger(__name__)

POLL_JOB = "poll_feeds"


async def poll_feeds_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Poll every due feed once."""
    summary = await runtime_of(context).ingest.poll_due()
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
    tick = poll_tick_seconds(runtime.settings.poll_interval_seconds)
    run_repeating(application, leader_only(poll_feeds_job), interval=tick, first=0, name=POLL_JOB)
    schedule_feed_health_job(application)
    schedule_retention_job(application)


FEED_HEALTH_JOB = "feed_health"
FEED_HEALTH_INTERVAL_SECONDS = 300


async def feed_health_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Tell the admins, once, about feeds failing for 24 hours and about their recovery."""
    runtime = runtime_of(context)
    report = await runtime.feeds.feed_health_report()
    tz = runtime.settings.timezone

    def worded(language: str) -> list[Any]:
        return [
            render.feed_failing_message(
                f.label, f.url, f.last_error, f.failing_since, tz, language
            )
            for f in report.failing
        ] + [render.feed_recovered_message(f.label, f.url, language) for f in report.recovered]

    messages = worded(runtime.subscriptions.default_language)
    for admin_id in report.recipients if messages else ():
        # In the language of the admin's chat with the bot.
        for message in worded(await runtime.subscriptions.chat_language(admin_id)):
            try:
                await context.bot.send_message(
                    admin_id,
                    message.text,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            except TelegramError as error:
                log.warning(
                    "feed health report not sent", extra={"user_id": admin_id, "error": str(error)}
                )
    if messages:
        log.info(
            "feed health reported",
            extra={
                "job": FEED_HEALTH_JOB,
                "failing": len(report.failing),
                "recovered": len(report.recovered),
                "admins": len(report.recipients),
            },
        )


def schedule_feed_health_job(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Check feed health every five minutes (the first check five minutes after start)."""
    run_repeating(
        application,
        leader_only(feed_health_job),
        interval=FEED_HEALTH_INTERVAL_SECONDS,
        first=FEED_HEALTH_INTERVAL_SECONDS,
        name=FEED_HEALTH_JOB,
    )


RETENTION_JOB = "retention"
RETENTION_INTERVAL_SECONDS = 24 * 3600
# The first run, after start: soon enough that a bot restarted daily still runs it, late
# enough to leave the start (menus, first poll, pending sends) alone.
RETENTION_FIRST_SECONDS = 600


async def retention_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Fold delivery rows older than RETENTION_DAYS into totals and trim old posts."""
    privacy = runtime_of(context).privacy
    summary = await privacy.apply_retention()
    log.info(
        "retention applied",
        extra={
            "job": RETENTION_JOB,
            "retention_days": privacy.retention_days,
            "deliveries_folded": summary.deliveries,
            "posts_trimmed": summary.posts,
            "batches": summary.batches,
        },
    )


def schedule_retention_job(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Apply retention once a day (the first run ten minutes after start)."""
    run_repeating(
        application,
        leader_only(retention_job),
        interval=RETENTION_INTERVAL_SECONDS,
        first=RETENTION_FIRST_SECONDS,
        name=RETENTION_JOB,
    )
