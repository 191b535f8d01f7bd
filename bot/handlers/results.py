"""Results for organisers in chat: /results, and the scheduled report after each broadcast.

/results [broadcast id | post URL] answers organisers and admins in a private chat only, the
role checked at the moment of use (`requires(Role.ORGANISER)`): without an argument the latest
broadcasts and posts in one table, with one that message's figures per topic and in total.
Errors are mapped here: `InvalidInputError` -> the usage; `NotFoundError` -> "no broadcast
#N" or "no post with the link …".

The report job (`results_report_job`, every REPORT_TICK_SECONDS) asks `ResultsService` for the
reports that are due (the service claims each stage in the database first, so a stage is sent
at most once, whatever restarts or repeated runs) and sends the first one to the organiser who
sent the broadcast; the 24-hour report edits that message, or, if it cannot be edited (deleted,
too old), is sent as a new one. A failed send is logged, never raised.
Must not: import SQLAlchemy or `bot.db`, or keep state outside the runtime.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, cast

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, filters

from bot.domain.types import Role
from bot.errors import InvalidInputError, NotFoundError
from bot.handlers.context import Context, language_of, leader_only, run_repeating, runtime_of
from bot.handlers.guards import requires
from bot.handlers.replies import NO_PREVIEW, edit_message, reply
from bot.render import results as render
from bot.services.results import DueReport

log = logging.getLogger(__name__)

REPORT_TICK_SECONDS = 1.0
REPORT_JOB = "results_reports"


@requires(Role.ORGANISER)
async def results_command(update: Update, context: Context) -> None:
    """/results [broadcast id | post URL]: the latest messages' results, or one message's."""
    runtime = runtime_of(context)
    tz = runtime.settings.timezone
    argument = " ".join(context.args or []).strip()
    language = await language_of(update, context)
    if not argument:
        broadcasts, posts = await runtime.results.latest(language=language)
        await reply(update, render.results_list_message(broadcasts, posts, tz, language))
        return
    try:
        view = await runtime.results.lookup(argument, language)
    except InvalidInputError:
        await reply(update, render.results_usage_message(language))
        return
    except NotFoundError as error:
        await reply(update, render.results_not_found_message(error.kind, error.key, language))
        return
    await reply(update, render.results_message(view, tz, language=language))


async def results_report_job(context: Context) -> None:
    """Send (or, at 24 hours, update) every due results report to its organiser."""
    runtime = runtime_of(context)
    for report in await runtime.results.claim_due_reports():
        await _deliver(context, report)


async def _deliver(context: Context, report: DueReport) -> None:
    runtime = runtime_of(context)
    # In the language of the organiser's chat with the bot.
    language = await runtime.subscriptions.chat_language(report.chat_id)
    shown = render.scheduled_results_message(
        report.view, report.stage, runtime.settings.timezone, language
    )
    if report.message_id is not None and await edit_message(
        context.bot, report.chat_id, report.message_id, shown
    ):
        log.info("results report updated", extra={"broadcast_id": report.broadcast_id})
        return
    try:
        sent = await context.bot.send_message(
            report.chat_id, shown.text, link_preview_options=NO_PREVIEW
        )
    except TelegramError as error:
        log.warning(
            "results report not sent",
            extra={"broadcast_id": report.broadcast_id, "error": str(error)},
        )
        return
    await runtime.results.set_report_message(report.broadcast_id, sent.message_id)
    log.info(
        "results report sent", extra={"broadcast_id": report.broadcast_id, "stage": report.stage}
    )


def schedule_results_job(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Check for due results reports every REPORT_TICK_SECONDS (state is in the database)."""
    run_repeating(
        application,
        leader_only(results_report_job),
        interval=REPORT_TICK_SECONDS,
        first=REPORT_TICK_SECONDS,
        name=REPORT_JOB,
    )


def results_handlers() -> list[Any]:
    """The /results command for `register_handlers` (before the fallbacks)."""
    callback = cast(Callable[[Update, Context], Coroutine[Any, Any, Any]], results_command)
    return [CommandHandler("results", callback, filters=filters.UpdateType.MESSAGE)]
