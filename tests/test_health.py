"""The health endpoint over real HTTP: /healthz, /metrics moving with deliveries, 503 reasons."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import make_application, running
from bot.config import Settings
from bot.db.repos import ChatRepo, DeliveryRepo, PostRepo, TopicRepo
from bot.db.session import make_engine, make_sessionmaker
from bot.domain.types import ParsedEntry, TopicSpec
from bot.health import HealthServer, Metrics
from bot.runtime import DeliveryWiring, open_runtime
from bot.services.fleet import PostgresFleet
from bot.web.health import HealthChecks
from tests.fakes.botapi import FakeBotApi
from tests.fakes.clock import FakeClock


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _queue_post(engine: AsyncEngine, chats: int) -> None:
    sessionmaker = make_sessionmaker(engine)
    now = datetime.now(UTC)
    async with sessionmaker.begin() as session:
        topic = await TopicRepo(session).add(
            TopicSpec(slug="health", name="Health", keywords=("health",)), now
        )
        chat_repo = ChatRepo(session)
        for chat_id in range(7000, 7000 + chats):
            await chat_repo.ensure(chat_id, "private", now)
            await chat_repo.subscribe(chat_id, topic.id, now)
        entry = ParsedEntry(identity="h-1", url="https://e.example.org/h", title="H", summary="")
        inserted = await PostRepo(session).insert_new(None, [entry], now, announced=True)  # type: ignore[arg-type]
        await DeliveryRepo(session).fan_out_post(inserted["h-1"], [topic.id], now)


def _sample(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
async def api() -> Any:
    async with FakeBotApi(limits=False) as server:
        yield server


async def test_health_endpoint_answers_and_metrics_move_after_deliveries(
    api: FakeBotApi, database_url: str, engine: AsyncEngine
) -> None:
    port = _free_port()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        telegram_bot_token=api.token,
        telegram_api_url=api.base_url,
        database_url=database_url,
        poll_interval_seconds=60,
        send_rate_per_second=200,
        health_port=port,
    )
    application = make_application(settings)
    async with running(application), httpx.AsyncClient(trust_env=False) as client:
        health = await client.get(f"http://127.0.0.1:{port}/healthz")
        before = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        await _queue_post(engine, 5)
        application.bot_data["runtime"].delivery.wake()
        await api.wait_for_sent(5, timeout=20)
        await api.wait_until(
            lambda: application.bot_data["runtime"].delivery.stats.sent >= 5, timeout=10
        )
        after = await client.get(f"http://127.0.0.1:{port}/metrics")
        missing = await client.get(f"http://127.0.0.1:{port}/nothing")
    assert (health.status_code, health.json()["status"], health.json()["checks"]["database"]) == (
        200,
        "ok",
        "ok",
    )
    assert after.headers["content-type"].startswith("text/plain")
    assert (
        _sample(before, 'campaignbot_deliveries_total{outcome="sent"}'),
        _sample(after.text, 'campaignbot_deliveries_total{outcome="sent"}'),
        _sample(after.text, "campaignbot_send_seconds_count"),
        _sample(after.text, "campaignbot_delivery_queue_depth"),
        missing.status_code,
    ) == (0.0, 5.0, 5.0, 0.0, 404)


async def test_healthz_is_503_with_reasons_when_the_database_is_unreachable(
    settings_factory: Any,
) -> None:
    """A runtime whose database does not answer (and with no delivery engine) is unhealthy."""
    dead = make_engine("postgresql+asyncpg://nobody@127.0.0.1:9/nowhere")
    settings = settings_factory(poll_interval_seconds=60)
    async with open_runtime(settings, engine=dead, upgrade=False, seed_topics=False) as runtime:
        server = HealthServer(runtime, Metrics())
        await server.start(0, "127.0.0.1")
        try:
            async with httpx.AsyncClient(trust_env=False) as client:
                answer = await client.get(f"http://127.0.0.1:{server.port}/healthz")
                metrics = await client.get(f"http://127.0.0.1:{server.port}/metrics")
        finally:
            await server.stop()
    body = answer.json()
    assert (answer.status_code, body["status"], body["checks"]["database"]) == (
        503,
        "unhealthy",
        "error",
    )
    assert any(r.startswith("database:") for r in body["reasons"])
    assert any(r.startswith("delivery:") for r in body["reasons"])
    assert metrics.status_code == 200


class _HeldSleep:
    """The engine's sleep: short waits pass (really), a long one is held until released."""

    def __init__(self) -> None:
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        if seconds < 1:
            await asyncio.sleep(seconds)
            return
        self.holding.set()
        await self.release.wait()


@contextlib.asynccontextmanager
async def _engine_in_flood_wait(
    api: FakeBotApi,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> AsyncIterator[str]:
    """A running engine told by a 429 to wait 300 s, now waiting; yields the /healthz URL."""
    now = clock.now()
    async with sessionmaker.begin() as session:
        topic = await TopicRepo(session).add(TopicSpec(slug="flood", name="Flood"), now)
        for chat_id in (7001, 7002):
            await ChatRepo(session).ensure(chat_id, "private", now)
            await ChatRepo(session).subscribe(chat_id, topic.id, now)
        entry = ParsedEntry(identity="f-1", url="https://e.example.org/f", title="F", summary="")
        inserted = await PostRepo(session).insert_new(None, [entry], now, announced=True)  # type: ignore[arg-type]
        await DeliveryRepo(session).fan_out_post(inserted["f-1"], [topic.id], now)
    api.fail_next("sendMessage", 429, retry_after=300)
    sleep = _HeldSleep()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        telegram_bot_token=api.token,
        telegram_api_url=api.base_url,
        poll_interval_seconds=60,
        send_rate_per_second=1000,
    )
    wiring = DeliveryWiring(
        options={
            "batch_size": 1,  # the second chat is claimed after the first one's 429
            "sleep": sleep,
            "monotonic": lambda: clock.now().timestamp(),
        }
    )
    async with open_runtime(
        settings, engine=engine, clock=clock, upgrade=False, seed_topics=False, wiring=wiring
    ) as runtime:
        runtime.start_delivery()
        server = HealthServer(runtime, Metrics())
        await server.start(0, "127.0.0.1")
        try:
            await asyncio.wait_for(sleep.holding.wait(), timeout=10)
            yield f"http://127.0.0.1:{server.port}/healthz"
        finally:
            sleep.release.set()
            await runtime.stop_delivery()
            await server.stop()


async def test_healthz_stays_ok_through_a_flood_wait_longer_than_the_liveness_window(
    api: FakeBotApi,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """130 s into a 300 s flood wait the engine is alive and says how long it still waits."""
    async with _engine_in_flood_wait(api, engine, sessionmaker, clock) as url:
        clock.advance(130)
        async with httpx.AsyncClient(trust_env=False) as client:
            answer = await client.get(url)
    body = answer.json()
    assert (answer.status_code, body["status"], body["checks"].get("delivery_paused_seconds")) == (
        200,
        "ok",
        170.0,
    )


async def test_healthz_reports_an_engine_stuck_past_the_end_of_its_wait(
    api: FakeBotApi,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """A wait that overruns its end by more than 120 s is a stuck engine again."""
    async with _engine_in_flood_wait(api, engine, sessionmaker, clock) as url:
        clock.advance(300 + 130)
        async with httpx.AsyncClient(trust_env=False) as client:
            answer = await client.get(url)
    assert (answer.status_code, answer.json()["reasons"]) == (
        503,
        ["delivery: the engine loop is stuck for 130 s"],
    )


@pytest.mark.parametrize("db_kind", ["postgres"], indirect=True)  # alone, a process always leads
async def test_a_follower_is_healthy_without_polling_and_a_new_leader_counts_from_takeover(
    api: FakeBotApi,
    db_kind: str,
    database_url: str,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Several instances on PostgreSQL: only the leader polls, so a follower's /healthz does not
    call it late; once it leads, its first poll is due counted from the takeover."""
    leader = PostgresFleet(engine, sessionmaker, rate=25, heartbeat_seconds=0.1)
    await leader.start()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        telegram_bot_token=api.token,
        telegram_api_url=api.base_url,
        database_url=database_url,
        poll_interval_seconds=1,
        fleet_heartbeat_seconds=0.1,
    )
    async with open_runtime(
        settings, upgrade=False, seed_topics=False, wiring=DeliveryWiring()
    ) as runtime:
        runtime.start_delivery()
        checks = HealthChecks(runtime, Metrics())
        checks.started_at -= 10  # started long ago: past 3 poll intervals without a poll
        follower = await checks.check()
        await leader.aclose()
        async with asyncio.timeout(10):
            while not runtime.leading:
                await asyncio.sleep(0.05)
        new_leader = await checks.check()
        await runtime.stop_delivery()
    assert (follower.healthy, follower.checks["leader"]) == (True, False), follower.reasons
    assert (new_leader.healthy, new_leader.checks["leader"]) == (True, True)
