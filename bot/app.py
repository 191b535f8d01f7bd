"""Composition root: builds everything from a `Settings` object (STYLE.md habit 1).

`open_runtime()` makes the database engine (after migrating it), the fetcher and the
services; `make_application()` wraps a runtime in the python-telegram-bot Application with
its jobs. Importing this module opens nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.db import migrate
from bot.db.session import make_engine, make_sessionmaker
from bot.domain.clock import Clock, SystemClock
from bot.domain.topics import default_topics_text, parse_topics_toml
from bot.domain.types import TopicSpec
from bot.errors import ConfigError, InvalidInputError
from bot.feeds.fetch import HttpxFetcher
from bot.handlers.updates import PerChatUpdateProcessor
from bot.sender import TelegramSender
from bot.services.catalog import CatalogService
from bot.services.delivery import DeliveryEngine
from bot.services.ingest import IngestService

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything the bot's use-cases need, built once per process."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    fetcher: HttpxFetcher
    clock: Clock
    catalog: CatalogService
    ingest: IngestService
    delivery: DeliveryEngine | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    async def aclose(self) -> None:
        """Close the HTTP client and the database pool."""
        await self.fetcher.aclose()
        await self.engine.dispose()


def load_topic_specs(settings: Settings) -> list[TopicSpec]:
    """The topics file: TOPICS_FILE if set, else the bundled default.

    Raises:
        ConfigError: TOPICS_FILE cannot be read or is invalid.
    """
    if settings.topics_file is None:
        return parse_topics_toml(default_topics_text(), source="bundled topics")
    path = Path(settings.topics_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError("TOPICS_FILE", f"cannot read {path}: {error.strerror}") from None
    try:
        return parse_topics_toml(text, source=str(path))
    except InvalidInputError as error:
        raise ConfigError("TOPICS_FILE", str(error)) from None


async def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: AsyncEngine | None = None,
    fetcher: HttpxFetcher | None = None,
    upgrade: bool = True,
    seed_topics: bool = True,
) -> Runtime:
    """Create engine, migrate, seed the topics on first start and make the services."""
    _skip_sniffio_probe()
    specs = load_topic_specs(settings) if seed_topics else []
    engine = engine or make_engine(settings.async_database_url)
    try:
        if upgrade:
            await migrate.upgrade(engine)
        sessionmaker = make_sessionmaker(engine)
        clock = clock or SystemClock()
        fetcher = fetcher or HttpxFetcher(
            allow_private=settings.allow_private_feed_urls,
            max_bytes=settings.feed_max_bytes,
            timeout=settings.feed_timeout_seconds,
        )
        catalog = CatalogService(
            sessionmaker, clock, allow_private_urls=settings.allow_private_feed_urls
        )
        if seed_topics:
            result = await catalog.seed_topics_once(specs)
            if result is not None:
                log.info("topics loaded", extra={"topics_created": len(result.created)})
        ingest = IngestService(
            sessionmaker,
            fetcher,
            clock,
            interval_seconds=settings.poll_interval_seconds,
            concurrency=settings.feed_concurrency,
        )
    except BaseException:
        await engine.dispose()
        raise
    return Runtime(settings, engine, sessionmaker, fetcher, clock, catalog, ingest)


@asynccontextmanager
async def open_runtime(settings: Settings, **kwargs: Any) -> AsyncIterator[Runtime]:
    """`build_runtime` as an async context manager that closes what it opened."""
    runtime = await build_runtime(settings, **kwargs)
    try:
        yield runtime
    finally:
        await runtime.aclose()


AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def _skip_sniffio_probe() -> None:
    """Make httpcore's per-request `import sniffio` cheap when sniffio is not installed.

    httpcore imports sniffio on every request to learn the async library; when it is absent
    (anyio 4 no longer needs it) each failed import scans sys.path, about a third of the CPU
    of a bulk send (docs/PERFORMANCE.md). Marking the missing module as absent in sys.modules
    fails that import at once; nothing changes when sniffio is installed.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def _sender_bot(settings: Settings) -> Bot:
    """A Bot for bulk sends: no PTB rate limiter (the engine paces), its own connection pool."""
    _skip_sniffio_probe()
    request = HTTPXRequest(
        connection_pool_size=64,
        read_timeout=15.0,
        write_timeout=15.0,
        connect_timeout=10.0,
        pool_timeout=10.0,
        httpx_kwargs={"trust_env": False},
    )
    return Bot(settings.require_token(), base_url=settings.telegram_api_url, request=request)


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
    from bot import jobs
    from bot.handlers import register_handlers
    from bot.handlers.admins import install_team_menus
    from bot.handlers.menus import install_menus
    from bot.handlers.organisers import start_broadcast_jobs

    async def on_startup(application: AnyApplication) -> None:
        runtime = await build_runtime(settings, **runtime_kwargs)
        application.bot_data["runtime"] = runtime
        try:
            sender_bot = _sender_bot(settings)
            await sender_bot.initialize()
            runtime.extras["sender_bot"] = sender_bot
            runtime.delivery = DeliveryEngine(
                runtime.sessionmaker,
                TelegramSender(sender_bot),
                runtime.clock,
                rate=settings.send_rate_per_second,
                tz=settings.timezone,
                **(delivery_options or {}),
            )
            runtime.ingest.on_new_deliveries = runtime.delivery.wake
            processor = application.update_processor
            runtime.delivery.yield_to = lambda: processor.current_concurrent_updates > 0
            await runtime.catalog.ensure_feeds(settings.feed_urls)
            await install_menus(application.bot)
            await install_team_menus(application.bot, runtime)
            runtime.extras["delivery_task"] = asyncio.create_task(
                runtime.delivery.run(), name="delivery"
            )
            jobs.schedule_jobs(application, runtime)
            if settings.health_port is not None:  # /healthz and /metrics (bot/health.py)
                from bot.health import start_health

                runtime.extras["health"] = await start_health(runtime, settings.health_port)
            # Broadcast tick and progress; timers for scheduled broadcasts kept in the database.
            await start_broadcast_jobs(application, runtime)
        except BaseException:
            await _close_runtime(application)
            raise
        log.info("bot started", extra={"poll_interval": settings.poll_interval_seconds})

    async def on_stop(application: AnyApplication) -> None:
        runtime: Runtime | None = application.bot_data.get("runtime")
        if runtime is not None and runtime.delivery is not None:
            await runtime.delivery.stop()  # finishes the sends in flight
            task = runtime.extras.pop("delivery_task", None)
            if task is not None:
                await task

    async def on_shutdown(application: AnyApplication) -> None:
        await _close_runtime(application)

    application = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(settings.telegram_api_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.timezone))
        .rate_limiter(AIORateLimiter(max_retries=2))
        .concurrent_updates(PerChatUpdateProcessor(64))  # chats in parallel, each in order
        .post_init(on_startup)
        .post_stop(on_stop)
        .post_shutdown(on_shutdown)
        .get_updates_http_version("1.1")
        .http_version("1.1")
        .build()
    )
    register_handlers(application)
    return application


async def _close_runtime(application: AnyApplication) -> None:
    runtime: Runtime | None = application.bot_data.pop("runtime", None)
    if runtime is None:
        return
    health = runtime.extras.pop("health", None)
    if health is not None:
        await health.stop()
    task = runtime.extras.pop("delivery_task", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    sender_bot = runtime.extras.pop("sender_bot", None)
    if sender_bot is not None:
        await sender_bot.shutdown()
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
