"""Composition root: wraps a `Runtime` in the python-telegram-bot Application.

`make_application()` builds the Application with its handlers; its `post_init` builds the
runtime (`bot.runtime.build_runtime`) on the Application's own event loop, with the hooks the
running bot needs (metrics, yielding bulk sends to people), then starts the delivery engine,
the jobs and the web server (bot/web/: health, metrics, tracked links). Importing this module
opens nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults

from bot import jobs
from bot.config import Settings
from bot.handlers import register_handlers
from bot.handlers.admins import install_team_menus
from bot.handlers.broadcast_jobs import start_broadcast_jobs
from bot.handlers.menus import install_menus
from bot.handlers.results import schedule_results_job
from bot.handlers.shared_conversation import share_conversations
from bot.handlers.updates import PerChatUpdateProcessor
from bot.runtime import DeliveryWiring, Runtime, build_runtime
from bot.web import Metrics, WebServer

log = logging.getLogger(__name__)

RUNTIME_KEY = "runtime"
WEB_KEY = "web"

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def make_application(
    settings: Settings,
    *,
    delivery_options: dict[str, Any] | None = None,
    **runtime_kwargs: Any,
) -> AnyApplication:
    """The python-telegram-bot Application: handlers, jobs, the sender, HTML defaults.

    The runtime (engine, services, delivery engine) is built in `post_init`, on the
    Application's own event loop, and closed in `post_stop`/`post_shutdown`;
    `runtime_kwargs` go to `build_runtime`, `delivery_options` to `DeliveryEngine`.
    """
    processor = PerChatUpdateProcessor(64)  # chats in parallel, each in order
    metrics = Metrics()

    async def on_startup(application: AnyApplication) -> None:
        wiring = DeliveryWiring(
            yield_to=lambda: processor.current_concurrent_updates > 0,
            on_outcome=metrics.record_delivery,
            on_poll_outcome=metrics.record_poll,
            options=delivery_options or {},
        )
        runtime = await build_runtime(settings, wiring=wiring, **runtime_kwargs)
        application.bot_data[RUNTIME_KEY] = runtime
        try:
            await runtime.feeds.ensure_feeds(settings.feed_urls)
            await install_menus(application.bot)
            await install_team_menus(application.bot, runtime)
            runtime.start_delivery()
            jobs.schedule_jobs(application, runtime)
            if settings.web_port is not None:  # /healthz, /metrics, /r/<token> (bot/web/)
                web = WebServer(runtime, metrics)
                await web.start(settings.web_port)
                application.bot_data[WEB_KEY] = web
            if settings.public_url is not None and settings.public_url.lower().startswith("http:"):
                log.warning("PUBLIC_URL is plain http: use https outside tests and intranets")
            # Broadcast tick and progress; timers for scheduled broadcasts kept in the database.
            await start_broadcast_jobs(application, runtime)
            # Results reports 1 h and 24 h after each broadcast (stages kept in the database).
            schedule_results_job(application)
        except BaseException:
            await _close_runtime(application)
            raise
        log.info("bot started", extra={"poll_interval": settings.poll_interval_seconds})

    async def on_stop(application: AnyApplication) -> None:
        runtime: Runtime | None = application.bot_data.get(RUNTIME_KEY)
        if runtime is not None:
            await runtime.stop_delivery()  # finishes the sends in flight

    async def on_shutdown(application: AnyApplication) -> None:
        await _close_runtime(application)

    application = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.telegram_api_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.timezone))
        .rate_limiter(AIORateLimiter(max_retries=2))
        .concurrent_updates(processor)
        .post_init(on_startup)
        .post_stop(on_stop)
        .post_shutdown(on_shutdown)
        .get_updates_http_version("1.1")
        .http_version("1.1")
        .build()
    )
    register_handlers(application)
    if settings.is_postgresql:  # any instance may get an organiser's next update
        share_conversations(application)
    return application


async def _close_runtime(application: AnyApplication) -> None:
    web: WebServer | None = application.bot_data.pop(WEB_KEY, None)
    if web is not None:
        await web.stop()
    runtime: Runtime | None = application.bot_data.pop(RUNTIME_KEY, None)
    if runtime is not None:
        await runtime.aclose()


@asynccontextmanager
async def running(
    application: AnyApplication, *, poll_timeout: float = 1.0
) -> AsyncIterator[AnyApplication]:
    """Run an Application inside the caller's event loop (tests, benchmarks) like run_polling."""
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        if application.updater is None:  # pragma: no cover - the builder always makes one
            raise RuntimeError("the Application has no updater")
        await application.updater.start_polling(
            allowed_updates=Update.ALL_TYPES,
            timeout=timedelta(seconds=poll_timeout),
            poll_interval=0.0,
        )
        await application.start()
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


def run_forever(settings: Settings) -> None:
    """Run the bot with long polling until SIGINT/SIGTERM (blocking)."""
    application = make_application(settings)
    application.run_polling(
        allowed_updates=Update.ALL_TYPES, poll_interval=0.0, timeout=timedelta(seconds=30)
    )


async def work(
    settings: Settings,
    stop: asyncio.Event,
    *,
    delivery_options: dict[str, Any] | None = None,
    **runtime_kwargs: Any,
) -> None:
    """`campaignbot worker`: only the delivery engine, until `stop` is set.

    No updates, no polling, no jobs and no leadership: it claims deliveries from the outbox
    it shares with the `run` instances (PostgreSQL), within the fleet-wide rate.
    """
    metrics = Metrics()
    wiring = DeliveryWiring(
        on_outcome=metrics.record_delivery, options=delivery_options or {}, lead=False
    )
    runtime = await build_runtime(settings, wiring=wiring, **runtime_kwargs)
    web: WebServer | None = None
    try:
        runtime.start_delivery()
        if settings.web_port is not None:  # /healthz and /metrics (and tracked links) here too
            web = WebServer(runtime, metrics)
            await web.start(settings.web_port)
        log.info("worker started", extra={"instance": runtime.fleet.instance})
        await stop.wait()
        await runtime.stop_delivery()  # finishes the sends in flight and records them
    finally:
        if web is not None:
            await web.stop()
        await runtime.aclose()


def run_worker(settings: Settings) -> None:
    """Run `work` until SIGINT/SIGTERM (blocking)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await work(settings, stop)

    asyncio.run(main())
