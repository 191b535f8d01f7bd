"""Several instances on one PostgreSQL, as real processes (issue 12).

`campaignbot run` and `campaignbot worker` run as separate processes (forked from a parent
that has imported the bot, tests/prefork.py) against the fake Bot API server in this test's
process; what arrives is counted at the server, whose request log has each answer's time.
PostgreSQL tests are skipped with the reason on SQLite-only runs; on SQLite a second instance
must be refused.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from bot.app import make_application, running
from bot.config import Settings, async_database_url
from bot.db.repos import DeliveryRepo
from bot.db.session import make_engine, make_sessionmaker
from bot.domain.types import DeliveryStatus
from bot.handlers import organisers, shared_conversation
from tests.e2e.conftest import runtime_of
from tests.e2e.test_broadcasts import choose_action, send_now
from tests.e2e.test_supporters import say
from tests.fakes.botapi import FakeBotApi
from tests.fakes.feedserver import FeedServer
from tests.faults.conftest import FIRST_CHAT, seed_fan_out
from tests.prefork import BotProcess, run_bot, start_bot

pytestmark = pytest.mark.slow

# Several instances share PostgreSQL only (SQLite is for one process): these run on it alone.
POSTGRES_ONLY = pytest.mark.parametrize("db_kind", ["postgres"], indirect=True)
# DeliveryEngine.crash_bound with defaults: what one killed instance can repeat.
CRASH_BOUND = 8 + 32
ADMIN = 2001


@asynccontextmanager
async def fleet_api() -> AsyncIterator[FakeBotApi]:
    """The fake Bot API without flood limits: the fleet's own pacing is what is measured.

    The server records each request's time when it handles it, so a pause of this process
    would bunch the times it records: the cyclic garbage collector (a full collection over
    thousands of request records takes a tenth of a second) stays off while it runs.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        async with FakeBotApi(limits=False) as server:
            yield server
    finally:
        gc.enable()
        gc.unfreeze()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Bot API for a fleet (`fleet_api`)."""
    async with fleet_api() as server:
        yield server


def _env(api: FakeBotApi, url: str, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_URL": api.base_url,
        "DATABASE_URL": url,
        "POLL_INTERVAL_SECONDS": "300",
        "SEND_RATE_PER_SECOND": "100",
        "FLEET_LEASE_SECONDS": "3",
        "FLEET_HEARTBEAT_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    return env | extra


async def _queue_fan_out(url: str, chats: int) -> None:
    engine = make_engine(async_database_url(url))
    await seed_fan_out(make_sessionmaker(engine), chats)
    await engine.dispose()


async def _pending(url: str) -> int:
    engine = make_engine(async_database_url(url))
    async with make_sessionmaker(engine)() as session:
        count = await DeliveryRepo(session).count(DeliveryStatus.PENDING)
    await engine.dispose()
    return count


async def _stop(*processes: BotProcess) -> list[int]:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    return [await asyncio.wait_for(p.wait(), 60) for p in processes]


def _busiest_second(times: list[float]) -> int:
    """The most sends in any one-second window (as Telegram counts: the last second)."""
    times = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


async def _start_workers(
    api: FakeBotApi, env: dict[str, str], count: int, tmp_path: Path
) -> list[BotProcess]:
    """Start `count` workers and wait until each is up (its engine asked getMe twice: the
    start-up check and the sending Bot), so start-up CPU does not overlap the sending."""
    before = len(api.requests("getMe"))
    workers = [await start_bot(env, "worker", cwd=tmp_path) for _ in range(count)]
    await api.wait_until(
        lambda: len(api.requests("getMe")) >= before + 2 * count, timeout=60, what="workers up"
    )
    return workers


async def _wait_all_served(api: FakeBotApi, chats: int) -> None:
    """Wait until every chat has its message.

    The cheap total first: the per-chat count costs O(sends) at every server event, which would
    stall the fake server (in this test's event loop) and bunch the times it records.
    """
    await api.wait_for_sent(chats, timeout=120)
    await api.wait_until(
        lambda: len(api.sent_per_chat()) >= chats, timeout=60, what="every chat served"
    )


def _sent_times(api: FakeBotApi) -> list[float]:
    return [r.time for r in api.requests("sendMessage") if r.ok]


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_three_workers_share_a_fan_out_at_the_fleet_rate_despite_a_kill(
    api: FakeBotApi, db_kind: str, database_url: str, engine: object, tmp_path: Path
) -> None:
    """Three workers at SEND_RATE_PER_SECOND=100 fan out to 2,000 chats together; one is
    SIGKILLed midway: every chat gets the message, duplicates stay within one instance's
    crash bound, and no one-second window at the server holds more than 100 sends."""
    chats = 2000
    workers = await _start_workers(api, _env(api, database_url), 3, tmp_path)
    await _queue_fan_out(database_url, chats)
    await api.wait_for_sent(chats // 4, timeout=60)
    workers[0].send_signal(signal.SIGKILL)
    await asyncio.wait_for(workers[0].wait(), 30)
    await _wait_all_served(api, chats)
    statuses = await _stop(*workers[1:])
    counts = api.sent_per_chat()
    lost = sum(1 for chat in range(FIRST_CHAT, FIRST_CHAT + chats) if counts.get(chat, 0) == 0)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    busiest = _busiest_second(_sent_times(api))
    assert (statuses, lost, duplicates <= CRASH_BOUND, busiest <= 100) == (
        [0, 0],
        0,
        True,
        True,
    ), (duplicates, busiest)
    assert await _pending(database_url) == 0


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_a_worker_serves_healthz(
    api: FakeBotApi, db_kind: str, database_url: str, engine: object, tmp_path: Path
) -> None:
    """With WEB_PORT a worker answers /healthz (healthy: it sends and is not the poller)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    (worker,) = await _start_workers(api, _env(api, database_url, WEB_PORT=str(port)), 1, tmp_path)
    async with httpx.AsyncClient(trust_env=False) as client:
        async with asyncio.timeout(30):
            while True:
                try:
                    answer = await client.get(f"http://127.0.0.1:{port}/healthz")
                    break
                except httpx.ConnectError:  # the server starts just after getMe
                    await asyncio.sleep(0.1)
    (status,) = await _stop(worker)
    assert (answer.status_code, answer.json()["checks"]["leader"], status) == (200, False, 0)


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_one_429_pauses_every_instance(
    api: FakeBotApi, db_kind: str, database_url: str, engine: object, tmp_path: Path
) -> None:
    """A flood wait answered to one instance holds all three for its retry_after."""
    chats = 900
    env = _env(api, database_url)
    workers = await _start_workers(api, env, 3, tmp_path)
    await _queue_fan_out(database_url, chats)
    await api.wait_for_sent(200, timeout=60)
    api.fail_next("sendMessage", 429, retry_after=3)
    (flood,) = await api.wait_for_requests(
        "sendMessage", predicate=lambda r: r.status == 429, timeout=10
    )
    await _wait_all_served(api, chats)
    statuses = await _stop(*workers)
    # The pause reaches the others with their next booking (slots for 0.2 s) after the
    # flooded instance has recorded it: within a second, and then holds until retry_after.
    during = [t for t in _sent_times(api) if flood.time + 1.0 < t < flood.time + 2.9]
    after = [t for t in _sent_times(api) if t >= flood.time + 2.9]
    busiest = _busiest_second(_sent_times(api))
    assert (statuses, during, len(after) > 0, busiest <= 100) == ([0, 0, 0], [], True, True), (
        [round(t - flood.time, 3) for t in _sent_times(api) if abs(t - flood.time) < 4],
        busiest,
    )


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_another_instance_polls_within_30_s_of_the_leader_dying(
    api: FakeBotApi, db_kind: str, database_url: str, engine: object, tmp_path: Path
) -> None:
    """Only the leader polls feeds; SIGKILL it and the other instance polls within 30 s.

    The feed hangs, so a poll stays in flight and the feed stays due: a second instance
    polling too would show as a second request.
    """
    async with FeedServer() as feeds:
        feeds.hang("/feed.xml")
        env = _env(
            api,
            database_url,
            FEED_URLS=feeds.url("/feed.xml"),
            ALLOW_PRIVATE_FEED_URLS="true",
            POLL_INTERVAL_SECONDS="1",
            FEED_TIMEOUT_SECONDS="120",
        )
        leader = await start_bot(env, "run", cwd=tmp_path)
        await feeds.wait_for_hits("/feed.xml", 1, timeout=60)
        menus = len(api.requests("setMyCommands"))
        other = await start_bot(env, "run", cwd=tmp_path)
        await api.wait_until(
            lambda: len(api.requests("setMyCommands")) > menus, timeout=60, what="second start"
        )
        await asyncio.sleep(3)  # three poll ticks and heartbeats: the follower must not poll
        polls_while_led = feeds.hits("/feed.xml")
        leader.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        await asyncio.wait_for(leader.wait(), 30)
        await feeds.wait_for_hits("/feed.xml", 2, timeout=40)
        took_over = time.monotonic() - killed_at
        feeds.release("/feed.xml")
        (status,) = await _stop(other)
    assert (polls_while_led, took_over < 30, status) == (1, True, 0)


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_a_broadcast_draft_survives_switching_instance(
    api: FakeBotApi, db_kind: str, database_url: str, engine: object, tmp_path: Path
) -> None:
    """The organiser starts /broadcast on A, writes the text on B, finishes on A again."""
    await _queue_fan_out(database_url, 3)  # three supporters following a topic
    env = _env(api, database_url, ADMIN_IDS=str(ADMIN))

    async def instance() -> BotProcess:
        process = await start_bot(env, "run", cwd=tmp_path)
        await api.wait_for_poller(timeout=60)
        return process

    first = await instance()
    await say(api, ADMIN, "/broadcast all")
    await _stop(first)
    second = await instance()
    before = len(api.messages(ADMIN))
    api.send_formatted(ADMIN, "Act now for the fleet")
    await api.wait_until(lambda: len(api.messages(ADMIN)) > before, what="link prompt")
    await _stop(second)
    third = await instance()
    (prompt,) = await say(api, ADMIN, "https://act.example.org/fleet")
    _preview, summary = await choose_action(api, ADMIN, prompt, "No button")
    await send_now(api, ADMIN, summary)
    supporters = range(FIRST_CHAT, FIRST_CHAT + 3)
    await api.wait_until(
        lambda: (
            all(
                any("Act now for the fleet" in (m.text or "") for m in api.messages(chat))
                for chat in supporters
            )
            or None
        ),
        timeout=30,
        what="the broadcast at every supporter",
    )
    (status,) = await _stop(third)
    assert status == 0


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
@pytest.mark.parametrize("elsewhere", [False, True], ids=["alone", "continued-elsewhere"])
async def test_a_stale_timer_does_not_expire_a_draft_continued_elsewhere(
    api: FakeBotApi,
    db_kind: str,
    bot_settings: Callable[..., Settings],
    engine: object,
    monkeypatch: pytest.MonkeyPatch,
    elsewhere: bool,
) -> None:
    """The draft's timeout (2 s here) tells the organiser it expired, unless a later step was
    saved by another instance meanwhile: then this instance's timer is stale and stays quiet."""
    monkeypatch.setattr(organisers, "CONVERSATION_TIMEOUT", 2)
    monkeypatch.setattr(shared_conversation, "CONVERSATION_TIMEOUT", 2)
    settings = bot_settings(admin_ids=[ADMIN])
    async with running(make_application(settings, engine=engine)) as app:
        await say(api, ADMIN, "/broadcast all")
        if elsewhere:
            await asyncio.sleep(1)  # another instance takes the next step a second later
            service = runtime_of(app).conversations
            key = f"{ADMIN}:{ADMIN}"
            saved = await service.load(organisers.CONVERSATION_NAME, key)
            assert saved is not None
            await service.save(organisers.CONVERSATION_NAME, key, saved.state, saved.user_data)
            await asyncio.sleep(2)  # past this instance's timer: nothing may arrive
        else:
            await api.wait_until(
                lambda: any("expired" in (m.text or "") for m in api.messages(ADMIN)),
                timeout=10,
                what="the expiry notice",
            )
        expired = any("expired" in (m.text or "") for m in api.messages(ADMIN))
    assert expired is not elsewhere


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)  # the file lock is SQLite's
async def test_a_second_instance_on_one_sqlite_file_is_refused(
    api: FakeBotApi, db_kind: str, database_url: str, tmp_path: Path
) -> None:
    """SQLite is for one process: a second `run` (and any `worker`) stops with one line; after
    a kill -9 of the first, a new one starts."""
    env = _env(api, database_url)
    first = await start_bot(env, "run", cwd=tmp_path)
    await api.wait_for_poller(timeout=60)
    second = await run_bot(env, "run", cwd=tmp_path)
    worker = await run_bot(env, "worker", cwd=tmp_path)
    first.send_signal(signal.SIGKILL)
    await asyncio.wait_for(first.wait(), 30)
    polls = len(api.requests("getUpdates"))
    greetings = len(api.requests("getMe"))
    again = await start_bot(env, "run", cwd=tmp_path)
    # The killed bot's long poll may still be logged after its death: wait for the new bot's
    # own getMe too (sent once its SIGTERM handling is in place), then for its polling (a
    # long poll is logged when it ends: a parked one is counted by `active_polls`).
    await api.wait_until(
        lambda: (
            len(api.requests("getMe")) > greetings
            and (len(api.requests("getUpdates")) > polls or api.active_polls > 0)
        ),
        timeout=60,
        what="restart",
    )
    (status,) = await _stop(again)
    status2, out2, err2 = second
    status3, _, err3 = worker
    assert (status2, out2, len(err2.strip().splitlines()), status3, status) == (2, "", 1, 2, 0)
    assert "already running" in err2
    assert "needs PostgreSQL" in err3
