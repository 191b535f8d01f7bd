"""The runtime: every service of the bot, built once from `Settings` and closed in one place.

Owns the order in which the pieces are made (database engine and migrations, the topics file on
first start, the feed fetcher, the services, and, for a running bot, the bulk-sending `Bot` and
the delivery engine with its task) and how they are closed. Hooks (metrics, waking the delivery
engine, yielding to people) are passed to constructors here, never assigned afterwards.

Sits below the Telegram handlers, jobs and the web server, which take a `Runtime` and call its
services; above the services, which know nothing of it. Must not: import `telegram.ext` or the
handlers, or open anything at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.db import migrate
from bot.db.session import make_engine, make_sessionmaker
from bot.domain.clock import Clock, SystemClock
from bot.domain.topics import default_topics_text, parse_topics_toml
from bot.domain.types import OutcomeKind, PollOutcome, TopicSpec
from bot.errors import ConfigError, InvalidInputError
from bot.feeds.fetch import AiohttpFetcher, ImageGuard
from bot.render.channels import channel_lost_message
from bot.sender import LeanSender
from bot.services.actions import ActionService
from bot.services.broadcasts import BroadcastService, ProgressThrottle
from bot.services.channels import ChannelService
from bot.services.conversations import ConversationStateService
from bot.services.delivery import DeliveryEngine
from bot.services.feeds import FeedService
from bot.services.fleet import Coordination, PostgresFleet, SingleProcess
from bot.services.ingest import IngestService
from bot.services.pace import PaceService
from bot.services.privacy import PrivacyService
from bot.services.reports import ReportService
from bot.services.results import ResultsService
from bot.services.roles import RoleService
from bot.services.sharing import SharingService
from bot.services.status import StatusService
from bot.services.subscriptions import SubscriptionService
from bot.services.topics import TopicService
from bot.services.tracking import TrackingService

log = logging.getLogger(__name__)

# Progress messages of a running broadcast are edited at most this often.
PROGRESS_EDIT_SECONDS = 3.0


@dataclass(frozen=True, kw_only=True)
class DeliveryWiring:
    """What a running bot adds to its runtime: the delivery engine's hooks and options.

    Attributes:
        yield_to: Says whether people's updates are being handled (bulk sends then wait).
        on_outcome: Called with each send's outcome and latency (metrics).
        on_poll_outcome: Called with each feed poll's outcome (metrics).
        options: Keyword arguments for `DeliveryEngine` (tests and benchmarks tune them);
            a `rate` here replaces SEND_RATE_PER_SECOND for the engine and the fleet budget
            (the benchmark measures the engine's ceiling above Settings' limit of 1000).
        lead: Whether this process may lead the fleet and run the jobs (False: a worker).
    """

    yield_to: Callable[[], bool] | None = None
    on_outcome: Callable[[OutcomeKind, float], None] | None = None
    on_poll_outcome: Callable[[PollOutcome], None] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    lead: bool = True


@dataclass(kw_only=True)
class Runtime:
    """Everything the bot's use-cases need, built once per process by `build_runtime`.

    `delivery` and `sender_bot` exist only in a running bot (`build_runtime(..., wiring=...)`);
    command-line runtimes send nothing to Telegram.
    """

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    fetcher: AiohttpFetcher
    ingest: IngestService
    subscriptions: SubscriptionService
    roles: RoleService
    topics: TopicService
    feeds: FeedService
    reports: ReportService
    results: ResultsService
    broadcasts: BroadcastService
    progress: ProgressThrottle
    status: StatusService
    privacy: PrivacyService
    actions: ActionService
    tracking: TrackingService
    sharing: SharingService
    pace: PaceService
    conversations: ConversationStateService
    channels: ChannelService
    delivery: DeliveryEngine | None = None
    sender_bot: Bot | None = None
    # Several instances on PostgreSQL: claims, the leader, the shared rate (services/fleet.py).
    fleet: Coordination = field(default_factory=SingleProcess)
    # The bulk path's HTTP client (bot.sender.LeanSender), closed with the runtime.
    sender: LeanSender | None = None
    _delivery_task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    @property
    def leading(self) -> bool:
        """Whether this process runs the jobs: always alone, the leader in a fleet."""
        return self.fleet.leading

    def wake_delivery(self) -> None:
        """Tell the delivery engine (if this runtime has one) that deliveries are waiting."""
        if self.delivery is not None:
            self.delivery.wake()

    @property
    def delivery_running(self) -> bool:
        """Whether the delivery engine's task is alive."""
        task = self._delivery_task
        return self.delivery is not None and task is not None and not task.done()

    @property
    def delivery_task(self) -> asyncio.Task[None] | None:
        """The delivery engine's task, once started."""
        return self._delivery_task

    def start_delivery(self) -> None:
        """Start the delivery engine's task (a running bot only)."""
        if self.delivery is None:
            raise RuntimeError("this runtime has no delivery engine")
        if self._delivery_task is None:
            self._delivery_task = asyncio.create_task(self.delivery.run(), name="delivery")

    async def stop_delivery(self) -> None:
        """Stop the engine after the sends in flight finish, and wait for its task."""
        if self.delivery is not None:
            await self.delivery.stop()
        task, self._delivery_task = self._delivery_task, None
        if task is not None:
            await task

    async def aclose(self) -> None:
        """Cancel the delivery task if it still runs, then close Telegram, HTTP and database."""
        task, self._delivery_task = self._delivery_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self.fleet.aclose()  # gives back claims and the leader lock
            if self.sender is not None:
                await self.sender.aclose()
            if self.sender_bot is not None:
                await self.sender_bot.shutdown()
            await self.fetcher.aclose()
        finally:
            await self.engine.dispose()


def _lost_chat_reporter(
    channels: ChannelService, sender: LeanSender
) -> Callable[[int, str], Awaitable[None]]:
    """The delivery engine's `on_chat_lost`: tell every admin about a lost linked chat.

    The engine calls it once per loss (its conditional UPDATE made the chat inactive); an
    unlinked group or channel is nobody's report. Sent on the bulk path, outside the pacing
    (a handful of private messages).
    """

    async def report(chat_id: int, reason: str) -> None:
        lost = await channels.lost_report(chat_id, reason)
        if lost is None:
            return
        for admin_id, language in lost.recipients:
            message = channel_lost_message(lost.channel, lost.reason, language)
            outcome = await sender.send(admin_id, message)
            if outcome.kind is not OutcomeKind.SENT:
                log.warning(
                    "lost channel not reported",
                    extra={"user_id": admin_id, "error": outcome.error},
                )
        log.info(
            "lost channel reported", extra={"chat_id": chat_id, "admins": len(lost.recipients)}
        )

    return report


@functools.cache
def _bundled_topic_specs() -> tuple[TopicSpec, ...]:
    """The bundled topics file, parsed once per process (its specs are frozen)."""
    return tuple(parse_topics_toml(default_topics_text(), source="bundled topics"))


def load_topic_specs(settings: Settings) -> list[TopicSpec]:
    """The topics file: TOPICS_FILE if set, else the bundled default.

    Raises:
        ConfigError: TOPICS_FILE cannot be read or is invalid.
    """
    if settings.topics_file is None:
        return list(_bundled_topic_specs())
    path = Path(settings.topics_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError("TOPICS_FILE", f"cannot read {path}: {error.strerror}") from None
    try:
        return parse_topics_toml(text, source=str(path))
    except InvalidInputError as error:
        raise ConfigError("TOPICS_FILE", str(error)) from None


def skip_sniffio_probe() -> None:
    """Make httpcore's per-request `import sniffio` cheap when sniffio is not installed.

    httpcore imports sniffio on every request to learn the async library; when it is absent
    (anyio 4 no longer needs it) each failed import scans sys.path, about a third of the CPU
    of a bulk send (docs/PERFORMANCE.md). Marking the missing module as absent in sys.modules
    fails that import at once; nothing changes when sniffio is installed.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def make_sender_bot(settings: Settings) -> Bot:
    """A Bot for bulk sends: no PTB rate limiter (the engine paces), its own connection pool."""
    skip_sniffio_probe()
    request = HTTPXRequest(
        connection_pool_size=64,
        read_timeout=15.0,
        write_timeout=15.0,
        connect_timeout=10.0,
        pool_timeout=10.0,
        httpx_kwargs={"trust_env": False},
    )
    return Bot(settings.require_token(), base_url=settings.telegram_api_url, request=request)


async def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: AsyncEngine | None = None,
    fetcher: AiohttpFetcher | None = None,
    upgrade: bool = True,
    seed_topics: bool = True,
    wiring: DeliveryWiring | None = None,
) -> Runtime:
    """Create the engine, migrate, seed the topics on first start and make every service.

    With `wiring` (a running bot) the bulk-sending `Bot` is initialised and the delivery
    engine built with those hooks; its task starts with `Runtime.start_delivery()`.
    Whatever was opened is closed again if a later step fails.

    Raises:
        ConfigError: TOPICS_FILE cannot be read or is invalid.
    """
    skip_sniffio_probe()
    specs = load_topic_specs(settings) if seed_topics else []
    engine = engine or make_engine(settings.async_database_url)
    clock = clock or SystemClock()
    fetcher = fetcher or AiohttpFetcher(
        allow_private=settings.allow_private_feed_urls,
        max_bytes=settings.feed_max_bytes,
        timeout=settings.feed_timeout_seconds,
    )
    sender_bot: Bot | None = None
    fleet: Coordination = SingleProcess()
    sender: LeanSender | None = None
    try:
        sessionmaker = make_sessionmaker(engine)
        topics = TopicService(sessionmaker, clock)
        if upgrade or seed_topics:
            async with migrate.startup_lock(engine):  # instances starting together take turns
                if upgrade:
                    await migrate.upgrade(engine)
                if seed_topics:
                    result = await topics.seed_topics_once(specs)
                    if result is not None:
                        log.info("topics loaded", extra={"topics_created": len(result.created)})
        secret = settings.link_secret
        tracking = TrackingService(
            sessionmaker,
            clock,
            public_url=settings.public_url,
            secret=None if secret is None else secret.get_secret_value(),
        )
        subscriptions = SubscriptionService(sessionmaker, clock, settings.default_language)
        sharing = SharingService(sessionmaker, clock, subscriptions)
        roles = RoleService(sessionmaker, clock, settings.admin_ids)
        channels = ChannelService(
            sessionmaker, clock, roles, default_language=settings.default_language
        )
        delivery: DeliveryEngine | None = None
        options = dict(wiring.options) if wiring is not None else {}
        rate = float(options.pop("rate", settings.send_rate_per_second))
        if wiring is not None and settings.is_postgresql:
            fleet = PostgresFleet(
                engine,
                sessionmaker,
                rate=rate,
                lease_seconds=settings.fleet_lease_seconds,
                heartbeat_seconds=settings.fleet_heartbeat_seconds,
                lead=wiring.lead,
                clock=clock.now,
            )
        if wiring is not None:
            # With PUBLIC_URL, the link key is read (or made) now: every delivery needs it.
            links = await tracking.tracked_links()
            sender_bot = make_sender_bot(settings)
            await sender_bot.initialize()
            await sharing.load_key()
            # A Share button only where it works: with inline mode on (@BotFather /setinline).
            inline = bool(sender_bot.bot.supports_inline_queries)
            # Bulk sends take the lean path; the sender Bot above stays for getMe and the like.
            sender = LeanSender(sender_bot.base_url)
            delivery = DeliveryEngine(
                sessionmaker,
                sender,
                clock,
                rate=rate,
                tz=settings.timezone,
                yield_to=wiring.yield_to,
                on_outcome=wiring.on_outcome,
                links=links,
                share_query=sharing.share_query if inline else None,
                default_language=settings.default_language,
                fleet=fleet,
                on_chat_lost=_lost_chat_reporter(channels, sender),
                **options,
            )
            await fleet.start()
        ingest = IngestService(
            sessionmaker,
            fetcher,
            clock,
            interval_seconds=settings.poll_interval_seconds,
            concurrency=settings.feed_concurrency,
            on_new_deliveries=delivery.wake if delivery is not None else None,
            on_poll_outcome=wiring.on_poll_outcome if wiring is not None else None,
            retention_days=settings.retention_days,
            twin_window=timedelta(minutes=settings.twin_window_minutes),
            default_language=settings.default_language,
            images=ImageGuard(allow_private=settings.allow_private_feed_urls),
        )
        return Runtime(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            clock=clock,
            fetcher=fetcher,
            ingest=ingest,
            subscriptions=subscriptions,
            roles=roles,
            topics=topics,
            feeds=FeedService(
                sessionmaker,
                clock,
                ingest=ingest,
                roles=roles,
                allow_private_urls=settings.allow_private_feed_urls,
                poll_interval_seconds=settings.poll_interval_seconds,
            ),
            reports=ReportService(sessionmaker, clock, settings.timezone),
            results=ResultsService(
                sessionmaker, clock, default_language=settings.default_language
            ),
            broadcasts=BroadcastService(
                sessionmaker, clock, settings.timezone, default_language=settings.default_language
            ),
            progress=ProgressThrottle(clock, PROGRESS_EDIT_SECONDS),
            status=StatusService(sessionmaker),
            privacy=PrivacyService(sessionmaker, clock, settings.retention_days),
            actions=ActionService(sessionmaker, clock),
            tracking=tracking,
            sharing=sharing,
            pace=PaceService(
                sessionmaker,
                clock,
                settings.timezone,
                default_language=settings.default_language,
                on_change=delivery.wake if delivery is not None else None,
            ),
            conversations=ConversationStateService(sessionmaker, clock),
            channels=channels,
            delivery=delivery,
            sender_bot=sender_bot,
            fleet=fleet,
            sender=sender,
        )
    except BaseException:
        try:
            if sender is not None:
                await sender.aclose()
            await fleet.aclose()
            if sender_bot is not None:
                await sender_bot.shutdown()
            await fetcher.aclose()
        finally:
            await engine.dispose()
        raise


@asynccontextmanager
async def open_runtime(settings: Settings, **kwargs: Any) -> AsyncIterator[Runtime]:
    """`build_runtime` as an async context manager that closes what it opened."""
    runtime = await build_runtime(settings, **kwargs)
    try:
        yield runtime
    finally:
        await runtime.aclose()
