"""The whole fleet at once (issue 12): three webhook instances, a 10,000-chat fan-out, a kill.

Three `campaignbot run` processes (tests/prefork.py) in webhook mode behind the round-robin
balancer, on one PostgreSQL, against the fake Bot API in this test's process, which POSTs
updates to the balancer with the secret header as Telegram does. An organiser's /broadcast
dialogue is spread over the instances; the broadcast goes to 10,000 chats; midway the leader is
SIGKILLed and one 429 is answered. What arrives is counted at the fake server, whose request
log has each answer's time.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.config import async_database_url
from bot.db.session import make_engine, make_sessionmaker
from tests.e2e.test_broadcasts import compose, send_now
from tests.e2e.test_fleet import (
    ADMIN,
    CRASH_BOUND,
    _busiest_second,
    _env,
    _pending,
    _sent_times,
    _stop,
    fleet_api,
)
from tests.e2e.test_webhook import PATH, SECRET, _free_port
from tests.fakes.balancer import Balancer
from tests.fakes.botapi import FakeBotApi
from tests.fakes.feedserver import FeedServer
from tests.faults.conftest import FIRST_CHAT, seed_followers
from tests.prefork import BotProcess, start_bot

pytestmark = pytest.mark.slow

CHATS = 10_000
RATE = 1000  # Settings' maximum; the fleet books 90 % of it, so 10,000 sends take ~11 s
RETRY_AFTER = 3
# At the full rate the sends take ~11 s; on a starved machine (measured at a load of 15 on 2
# cores: ~50 sends/s) they take minutes. The rate is a ceiling, not a promise: the waits and
# the test's timeout allow that.
SLOW = 400


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Bot API for a fleet (no flood limits, no garbage-collector pauses)."""
    async with fleet_api() as server:
        yield server


async def _seed(url: str, chats: int) -> str:
    engine = make_engine(async_database_url(url))
    slug = await seed_followers(make_sessionmaker(engine), chats)
    await engine.dispose()
    return slug


async def _leader(client: httpx.AsyncClient, ports: list[int]) -> int:
    """The index of the one instance whose /healthz says it leads."""
    leading = []
    for index, port in enumerate(ports):
        answer = await client.get(f"http://127.0.0.1:{port}/healthz")
        if answer.json()["checks"]["leader"]:
            leading.append(index)
    (leader,) = leading
    return leader


@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_three_webhook_instances_fan_out_to_10000_chats_despite_killing_the_leader(
    api: FakeBotApi, db_kind: str, database_url: str, engine: object, tmp_path: Path
) -> None:
    """Three webhook instances behind one URL: the organiser's dialogue, spread over all
    three, sends a broadcast to 10,000 chats; the leader is SIGKILLed midway and one 429 is
    answered. Every chat gets it, duplicates stay within one instance's crash bound, no
    one-second window at the server holds more than the rate, nobody sends during the
    flood wait, another instance polls the feeds within 30 s and the organiser gets the
    final summary."""
    slug = await _seed(database_url, CHATS)
    ports = [_free_port() for _ in range(3)]
    async with (
        FeedServer() as feeds,
        Balancer([f"http://127.0.0.1:{port}" for port in ports]) as balancer,
        httpx.AsyncClient(trust_env=False, timeout=10) as client,
    ):
        feeds.hang("/feed.xml")  # a poll stays in flight: a second poller shows as a second hit
        env = _env(
            api,
            database_url,
            SEND_RATE_PER_SECOND=str(RATE),
            ADMIN_IDS=str(ADMIN),
            WEBHOOK_URL=f"{balancer.url}{PATH}",
            WEBHOOK_SECRET=SECRET,
            FEED_URLS=feeds.url("/feed.xml"),
            ALLOW_PRIVATE_FEED_URLS="true",
            POLL_INTERVAL_SECONDS="1",
            FEED_TIMEOUT_SECONDS="120",
            # Leases renewed every 3.3 s: on a starved machine (the load of a shared 2-core
            # box) renewals of a 3 s lease came late, and rows sent but not yet marked
            # passed to other instances and repeated beyond the crash bound.
            FLEET_LEASE_SECONDS="10",
        )
        instances: list[BotProcess] = []
        for port in ports:
            instances.append(await start_bot(env | {"WEB_PORT": str(port)}, "run", cwd=tmp_path))
        # setWebhook is each instance's last start-up step; the leader polls the feed.
        await api.wait_until(
            lambda: len(api.requests("setWebhook")) >= 3, timeout=60, what="three instances up"
        )
        await feeds.wait_for_hits("/feed.xml", 1, timeout=30)
        leader = await _leader(client, ports)

        # The dialogue: five updates, round robin over the three instances.
        _, summary = await compose(api, ADMIN, f"/broadcast {slug}", text="Act now for the fleet")
        await send_now(api, ADMIN, summary)
        dialogue = dict(balancer.taken)

        await api.wait_for_sent(CHATS // 4, timeout=SLOW)
        instances[leader].send_signal(signal.SIGKILL)
        killed_at, killed = time.monotonic(), api.clock()
        await asyncio.wait_for(instances[leader].wait(), 30)
        await feeds.wait_for_hits("/feed.xml", 2, timeout=40)
        took_over = time.monotonic() - killed_at

        await api.wait_for_sent(CHATS // 2, timeout=SLOW)
        api.fail_next("sendMessage", 429, retry_after=RETRY_AFTER)
        (flood,) = await api.wait_for_requests(
            "sendMessage", predicate=lambda r: r.status == 429, timeout=10
        )
        # The final summary comes when no delivery is pending (the new leader sends it).
        await api.wait_for_sent(CHATS, timeout=SLOW)
        final = await api.wait_for_message(
            ADMIN, lambda m: "finished" in (m.text or ""), timeout=60
        )
        feeds.release("/feed.xml")
        survivors = [p for i, p in enumerate(instances) if i != leader]
        statuses = await _stop(*survivors)
        logs = [p.output()[1] for p in survivors]

    counts = api.sent_per_chat()
    supporters = range(FIRST_CHAT, FIRST_CHAT + CHATS)
    lost = sum(1 for chat in supporters if counts.get(chat, 0) == 0)
    duplicates = sum(counts[chat] - 1 for chat in supporters if counts.get(chat, 0) > 1)
    times = _sent_times(api)
    # For a failure's message: when each repeated chat's sends came, counted from the kill
    # (a repeat of the killed instance's sends in flight starts just before it), and what the
    # survivors logged.
    firsts: dict[int, float] = {}
    repeats: list[tuple[float, float]] = []
    for record in api.requests("sendMessage"):
        chat = int(record.params["chat_id"])
        if record.ok and chat in supporters and counts[chat] > 1:
            when = round(record.time - killed, 1)
            if chat in firsts:
                repeats.append((firsts[chat], when))
            else:
                firsts[chat] = when
    warnings = sorted({line[20:100] for log in logs for line in log.splitlines()})
    busiest = _busiest_second(times)
    # The pause reaches the others with their next booking (0.2 s of slots) after the flooded
    # instance has recorded it: within a second, and then holds until retry_after.
    during = [t for t in times if flood.time + 1.0 < t < flood.time + RETRY_AFTER - 0.1]
    assert (
        sorted(dialogue) == sorted(balancer.upstreams),
        statuses,
        lost,
        duplicates <= CRASH_BOUND,
        busiest <= RATE,
        during,
        took_over < 30,
        f"finished: {CHATS} of {CHATS:,} chats reached, 0 blocked" in (final.text or ""),
    ) == (True, [0, 0], 0, True, True, [], True, True), (
        dialogue,
        duplicates,
        busiest,
        took_over,
        round(flood.time - killed, 1),
        sorted(repeats),
        warnings,
    )
    assert await _pending(database_url) == 0
