"""The broadcast jobs: start scheduled broadcasts on time and keep progress messages current.

Owns a one-second tick that starts due scheduled broadcasts (the database is the source of
truth) and keeps each organiser's progress message up to date, at most one edit every
PROGRESS_EDIT_SECONDS, then a final summary; plus a one-off timer per scheduled broadcast,
set when it is scheduled (`set_fire_timer`, from the broadcast conversation in
`bot.handlers.organisers`) and again for every scheduled row at start-up
(`start_broadcast_jobs`, from `bot.app`).

Must not: import SQLAlchemy or `bot.db`, or keep state outside the runtime (the throttle of
progress edits is `Runtime.progress`); a failed send or edit is logged, never raised.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from telegram.error import TelegramError
from telegram.ext import Application

from bot.handlers.context import Context, leader_only, run_repeating
from bot.handlers.replies import edit_message
from bot.render import organisers as render
from bot.runtime import Runtime

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
TICK_JOB = "broadcasts_tick"


def set_fire_timer(
    application: Application[Any, Any, Any, Any, Any, Any] | Context,
    broadcast_id: int,
    when: datetime,
    now: datetime,
) -> None:
    """A one-off JobQueue timer that starts the broadcast at `when` (measured on `now`)."""
    job_queue = application.job_queue
    if job_queue is None:  # pragma: no cover - the job-queue extra is a dependency
        return
    delay = max(0.0, (when - now).total_seconds())
    job_queue.run_once(
        leader_only(fire_scheduled_job), when=delay, name=f"broadcast-{broadcast_id}"
    )


async def fire_scheduled_job(context: Context) -> None:
    """Start the scheduled broadcasts whose time has come (a timer or the tick)."""
    runtime: Runtime | None = context.bot_data.get("runtime")
    if runtime is None:
        return
    started = await runtime.broadcasts.fire_due()
    if started:
        log.info("scheduled broadcasts started", extra={"broadcasts": started})
        runtime.wake_delivery()


async def broadcast_tick_job(context: Context) -> None:
    """Start due broadcasts; edit each progress message (rate-limited); finish and summarise."""
    runtime: Runtime | None = context.bot_data.get("runtime")
    if runtime is None:
        return
    await fire_scheduled_job(context)
    service = runtime.broadcasts
    throttle = runtime.progress
    for refused, tell in await service.paid_refusals():
        try:
            await context.bot.send_message(tell, render.paid_refused_message(refused).text)
        except TelegramError as error:
            log.warning("paid refusal not told", extra={"chat_id": tell, "error": str(error)})
    for view, chat_id, message_id in await service.sending():
        finished = await service.finish_if_done(view.id) if view.pending == 0 else None
        if chat_id is None:
            continue
        # In the language of the organiser's chat with the bot.
        language = await runtime.subscriptions.chat_language(chat_id)
        shown = render.progress_message(finished or view, language)
        if message_id is None:
            try:
                sent = await context.bot.send_message(chat_id, shown.text)
            except TelegramError as error:
                log.warning("progress not sent", extra={"chat_id": chat_id, "error": str(error)})
            else:
                await service.set_progress_message(view.id, chat_id, sent.message_id)
                throttle.edited(view.id, shown.text)
        elif throttle.should_edit(view.id, shown.text, final=finished is not None):
            await edit_message(context.bot, chat_id, message_id, shown, previews_off=True)
            throttle.edited(view.id, shown.text)
        if finished is not None:
            throttle.forget(view.id)
            try:
                await context.bot.send_message(
                    chat_id, render.final_summary_message(finished, language).text
                )
            except TelegramError as error:
                log.warning("summary not sent", extra={"chat_id": chat_id, "error": str(error)})


async def start_broadcast_jobs(
    application: Application[Any, Any, Any, Any, Any, Any], runtime: Runtime
) -> None:
    """Add the broadcast tick and restore a timer for every scheduled broadcast in the database.

    The tick alone would start every due broadcast (the rows are the truth); the timers make
    a broadcast start on time, and racing them is harmless (`BroadcastService.fire_due`).
    """
    run_repeating(
        application,
        leader_only(broadcast_tick_job),
        interval=TICK_SECONDS,
        first=TICK_SECONDS,
        name=TICK_JOB,
    )
    service = runtime.broadcasts
    now = service.now()
    for broadcast_id, when in await service.scheduled_times():
        set_fire_timer(application, broadcast_id, when, now)
