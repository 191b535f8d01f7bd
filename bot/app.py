"""Composition root: wraps a `Runtime` in the python-telegram-bot Application.

`make_application()` builds the Application with its handlers; its `post_init` builds the
runtime (`bot.runtime.build_runtime`) on the Application's own event loop, with the hooks the
running bot needs (metrics, yielding bulk sends to people), then starts the delivery engine,
the jobs and the web server (bot/web/: health, metrics, tracked links, the webhook).
Importing this module opens nothing.

Updates come by long polling (`deleteWebhook` without dropping, then getUpdates), or, with
WEBHOOK_URL set, by Telegram's POSTs to the web server (`bot/web/webhook.py`): the start
calls setWebhook, never drops pending updates, and the stop leaves the webhook in place
(other instances behind the same URL keep serving). Both ask for `ALLOWED_UPDATES`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults

from bot import jobs
from bot.config import Settings, webhook_path
from bot.errors import ConfigError
from bot.handlers import ALLOWED_UPDATES, register_handlers
from bot.handlers.admins import install_team_menus
from bot.handlers.broadcast_jobs import start_broadcast_jobs
from bot.handlers.menus import install_menus
from bot.handlers.results import schedule_results_job
from bot.handlers.shared_conversation import share_conversations
from bot.handlers.updates import PerChatUpdateProcessor
from bot.runtime import DeliveryWiring, Runtime, build_runtime
from bot.web import Metrics, WebServer
from bot.web.webhook import WebhookReceiver

log = logging.getLogger(__name__)

RUNTIME_KEY = "runtime"
WEB_KEY = "web"
WEBHOOK_KEY = "webhook"
# How long a stopping bot keeps handling the updates it has already received.
DRAIN_SECONDS = 30.0

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
            receiver = _webhook_receiver(application, settings, metrics)
            if settings.web_port is not None:  # /healthz, /metrics, /r/<token>, the webhook
                web = WebServer(runtime, metrics, webhook=receiver)
                await web.start(settings.web_port)
                application.bot_data[WEB_KEY] = web
            if settings.public_url is not None and settings.public_url.lower().startswith("http:"):
                log.warning("PUBLIC_URL is plain http: use https outside tests and intranets")
            if settings.webhook_url is not None and settings.webhook_url.lower().startswith(
                "http:"
            ):
                log.warning("WEBHOOK_URL is plain http: Telegram only calls https addresses")
            # Broadcast tick and progress; timers for scheduled broadcasts kept in the database.
            await start_broadcast_jobs(application, runtime)
            # Results reports 1 h and 24 h after each broadcast (stages kept in the database).
            schedule_results_job(application)
            if receiver is not None:  # last: Telegram may POST the moment this returns
                await _set_webhook(application, settings)
                application.bot_data[WEBHOOK_KEY] = receiver
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
        .base_file_url(settings.telegram_file_url)
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


def _webhook_receiver(
    application: AnyApplication, settings: Settings, metrics: Metrics
) -> WebhookReceiver | None:
    """The webhook route's receiver in webhook mode, feeding the Application's update queue."""
    if settings.webhook_url is None or settings.webhook_secret is None:
        return None
    return WebhookReceiver(
        path=webhook_path(settings.webhook_url),
        secret=settings.webhook_secret.get_secret_value(),
        bot=application.bot,
        queue=application.update_queue,
        metrics=metrics,
    )


async def _set_webhook(application: AnyApplication, settings: Settings) -> None:
    """Point Telegram at WEBHOOK_URL; pending updates are kept (sent to the webhook).

    Raises:
        ConfigError: Telegram refused the URL or the secret (its reason is in the message).
    """
    if settings.webhook_url is None or settings.webhook_secret is None:  # pragma: no cover
        raise ConfigError("WEBHOOK_URL", "webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
    try:
        await application.bot.set_webhook(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=list(ALLOWED_UPDATES),
            max_connections=settings.webhook_max_connections,
            drop_pending_updates=False,
        )
    except BadRequest as error:
        reason = f"Telegram refused the webhook: {error.message}"
        raise ConfigError("WEBHOOK_URL", reason) from None
    parts = urlsplit(settings.webhook_url)  # the host only: a path may be meant to be private
    log.info(
        "webhook set",
        extra={"host": f"{parts.scheme}://{parts.netloc}", "allowed_updates": ALLOWED_UPDATES},
    )


def webhook_mode(application: AnyApplication) -> bool:
    """Whether the started Application receives updates by webhook (else: long polling)."""
    return application.bot_data.get(WEBHOOK_KEY) is not None


def _close_webhook(application: AnyApplication) -> None:
    """Refuse further webhook requests (503: Telegram sends them again).

    Called before `Application.stop()` processes the update queue's last updates, so that no
    update is acknowledged that would not be processed.
    """
    receiver: WebhookReceiver | None = application.bot_data.get(WEBHOOK_KEY)
    if receiver is not None:
        receiver.close()


async def _drain_accepted_updates(application: AnyApplication) -> None:
    """Handle every update already received before the Application stops.

    Telegram forgets an update once the webhook answered 200 (or getUpdates confirmed it), so
    each one queued must be handled here: `Application.stop()` would hand the last ones to
    tasks it no longer awaits. Bounded, so that a hung handler cannot hold the shutdown forever.
    """
    try:
        await asyncio.wait_for(application.update_queue.join(), DRAIN_SECONDS)
    except TimeoutError:
        log.warning(
            "updates still being handled at shutdown",
            extra={"queued": application.update_queue.qsize()},
        )


async def _close_runtime(application: AnyApplication) -> None:
    application.bot_data.pop(WEBHOOK_KEY, None)
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
    """Run an Application inside the caller's event loop like run_polling.

    Used by tests, benchmarks and `run_forever` in webhook mode; updates come by long polling,
    or by webhook if WEBHOOK_URL is set.
    """
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)  # in webhook mode: setWebhook
        if application.updater is None:  # pragma: no cover - the builder always makes one
            raise RuntimeError("the Application has no updater")
        polling = not webhook_mode(application)
        if polling:  # deleteWebhook (never dropping updates), then getUpdates
            await application.updater.start_polling(
                allowed_updates=list(ALLOWED_UPDATES),
                timeout=timedelta(seconds=poll_timeout),
                poll_interval=0.0,
                error_callback=functools.partial(_polling_failed, application),
            )
        await application.start()
        try:
            yield application
        finally:
            if polling:
                await application.updater.stop()
            _close_webhook(application)  # the webhook stays set: other instances serve it
            await _drain_accepted_updates(application)
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)


def _polling_failed(application: AnyApplication, error: TelegramError) -> None:
    """As run_polling does: a failed poll goes to the error handler (not PTB's traceback)."""
    application.create_task(application.process_error(update=None, error=error))


def run_forever(settings: Settings) -> None:
    """Run the bot until SIGINT/SIGTERM (blocking): long polling, or webhook mode."""
    application = make_application(settings)
    if settings.webhook_url is None:
        application.run_polling(
            allowed_updates=list(ALLOWED_UPDATES),
            poll_interval=0.0,
            timeout=timedelta(seconds=30),
        )
        return
    asyncio.run(_serve_until_signal(application))


async def _serve_until_signal(application: AnyApplication) -> None:
    """Webhook mode: the web server receives updates; stop on SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running(application):
            await stop.wait()
            log.info("stopping")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


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
