"""The delivery engine over real HTTP: the fake Bot API, a real database.

Every test that builds its engine through `engine_factory` (or takes `sender`) runs twice: with
the lean bulk path (`LeanSender`, what the bot uses) and with the python-telegram-bot path
(`TelegramSender`): both must give the same outcomes for every error kind.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Bot

from bot.db.models import Broadcast, Chat, Delivery, Subscription
from bot.db.repos import BroadcastRepo, ChatRepo, DeliveryRepo, PostRepo, TopicRepo
from bot.domain.types import DeliveryStatus, ParsedEntry, TopicSpec
from bot.sender import LeanSender, TelegramSender
from bot.services.delivery import DeliveryEngine, Sender
from bot.services.fleet import PostgresFleet
from tests.fakes.botapi import FakeBotApi
from tests.fakes.clock import FakeClock


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Telegram Bot API, with Telegram's limits on."""
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    """A real python-telegram-bot Bot pointed at the fake server."""
    async with Bot(api.token, base_url=api.base_url) as real:
        yield real


@pytest.fixture(params=["lean", "ptb"])
async def sender(request: pytest.FixtureRequest, bot: Bot) -> AsyncIterator[Sender]:
    """The lean bulk path, or the python-telegram-bot path, to the fake server."""
    if request.param == "ptb":
        yield TelegramSender(bot)
        return
    lean = LeanSender(bot.base_url)
    try:
        yield lean
    finally:
        await lean.aclose()


@pytest.fixture
def engine_factory(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: Sender,
    clock: FakeClock,
    api: FakeBotApi,
) -> object:
    """Build a DeliveryEngine whose pacing follows the fake clock (server limits off)."""
    api.set_limits(enabled=False)

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    def make(**kwargs: object) -> DeliveryEngine:
        options: dict[str, object] = {"rate": 1000, "tz": UTC, "rng": lambda: 0.0, "sleep": sleep}
        options.update(kwargs)
        return DeliveryEngine(
            sessionmaker,
            sender,
            clock,
            monotonic=lambda: clock.now().timestamp(),
            **options,  # type: ignore[arg-type]
        )

    return make


async def _fan_out(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    chat_ids: list[int],
    title: str = "Detainees describe <torture> & abuse",
) -> int:
    """Subscribe chats to one topic and queue one new post for them; returns the post id."""
    now = clock.now()
    async with sessionmaker.begin() as session:
        topics = TopicRepo(session)
        topic = await topics.by_slug("stoptorture") or await topics.add(
            TopicSpec(slug="stoptorture", name="StopTorture", emoji="✋"), now
        )
        chats = ChatRepo(session)
        for chat_id in chat_ids:
            await chats.ensure(chat_id, "private" if chat_id > 0 else "group", now)
            await chats.subscribe(chat_id, topic.id, now)
        entry = ParsedEntry(
            identity=f"id-{title}",
            url=f"https://news.example.org/p?id={abs(hash(title))}",
            title=title,
            summary="Survivors speak out.",
        )
        inserted = await PostRepo(session).insert_new(None, [entry], now, announced=True)  # type: ignore[arg-type]
        post_id = inserted[entry.identity]
        await DeliveryRepo(session).fan_out_post(post_id, [topic.id], now)
        return post_id


async def _broadcast(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    text_html: str = "<b>Write a letter</b> today",
    photo: str | None = None,
) -> int:
    """Record a sending broadcast to every subscribed chat and fan it out; returns its id."""
    now = clock.now()
    async with sessionmaker.begin() as session:
        repo = BroadcastRepo(session)
        broadcast = await repo.add(
            Broadcast(
                created_by=1,
                topic_ids=None,
                text_html=text_html,
                photo=photo,
                status="sending",
                created_at=now,
                started_at=now,
            )
        )
        await repo.fan_out(broadcast.id, None, now)
        return broadcast.id


async def _statuses(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    async with sessionmaker() as session:
        rows = await session.execute(select(Delivery.chat_id, Delivery.status))
        return dict(rows.all())


async def test_every_subscribed_chat_gets_exactly_one_message(
    api: FakeBotApi,
    engine_factory: object,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """A fan-out to 50 chats sends one message to each and marks each delivery sent."""
    chats = list(range(1001, 1051))
    await _fan_out(sessionmaker, clock, chats)
    engine = engine_factory()  # type: ignore[operator]
    await engine.drain_all()
    statuses = await _statuses(sessionmaker)
    assert (api.sent_per_chat(), set(statuses.values())) == (dict.fromkeys(chats, 1), {"sent"})


async def test_message_is_escaped_html_with_buttons(
    api: FakeBotApi,
    engine_factory: object,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """Feed text with < and & arrives intact, with the Read and act and Unsubscribe buttons."""
    await _fan_out(sessionmaker, clock, [1001])
    await engine_factory().drain_all()  # type: ignore[operator]
    message = api.messages(1001)[0]
    labels = [button["text"] for row in message.buttons for button in row]
    assert ("<torture> & abuse" in (message.text or ""), labels) == (
        True,
        ["Read and act", "Unsubscribe from StopTorture"],
    )


async def test_blocked_chat_becomes_inactive_and_loses_pending(
    api: FakeBotApi,
    engine_factory: object,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """403 blocked: the chat is marked inactive and its other pending deliveries are dropped."""
    await _fan_out(sessionmaker, clock, [1001, 1002], title="first")
    await _fan_out(sessionmaker, clock, [1001, 1002], title="second")
    api.block(1002)
    await engine_factory().drain_all()  # type: ignore[operator]
    async with sessionmaker() as session:
        chat = await session.get(Chat, 1002)
        assert chat is not None
        dropped = await DeliveryRepo(session).count(DeliveryStatus.DROPPED)
    delivered = {chat_id: len(api.messages(chat_id)) for chat_id in (1001, 1002)}
    assert (chat.active, "blocked" in (chat.inactive_reason or ""), dropped, delivered) == (
        False,
        True,
        2,
        {1001: 2, 1002: 0},
    )


@pytest.mark.parametrize("failure", ["not_found", "deactivated", "kicked"])
async def test_unreachable_chats_become_inactive(
    api: FakeBotApi,
    engine_factory: object,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    failure: str,
) -> None:
    """Chat not found, deactivated and kicked all make the chat inactive."""
    chat_id = -500 if failure == "kicked" else 1500
    await _fan_out(sessionmaker, clock, [chat_id])
    if failure == "not_found":
        api.forget(chat_id)
        api.accept_unknown_chats = False
    elif failure == "deactivated":
        api.deactivate(chat_id)
    else:
        api.kick(chat_id)
    await engine_factory().drain_all()  # type: ignore[operator]
    async with sessionmaker() as session:
        chat = await session.get(Chat, chat_id)
        assert chat is not None
    assert (chat.active, (await _statuses(sessionmaker))[chat_id]) == (False, "dropped")


async def test_flood_wait_pauses_and_retries(
    api: FakeBotApi,
    engine_factory: object,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """A 429 reschedules the delivery after retry_after without counting an attempt."""
    await _fan_out(sessionmaker, clock, [1001])
    api.fail_next("sendMessage", 429, retry_after=7)
    engine = engine_factory()  # type: ignore[operator]
    await engine.drain_once()
    await engine.stop()
    async with sessionmaker() as session:
        row = (await session.execute(select(Delivery))).scalar_one()
    paused = engine.pacer.paused_for()
    wait = (row.next_attempt_at - clock.now()).total_seconds()
    clock.advance(8)
    await engine_factory().drain_all()  # type: ignore[operator]
    assert (row.status, row.attempts, wait, paused, len(api.messages(1001))) == (
        "pending",
        0,
        7.0,
        7.0,
        1,
    )


async def test_server_errors_are_retried_with_backoff(
    api: FakeBotApi,
    engine_factory: object,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """5xx answers are retried later (2 s, then 4 s) and the message finally goes out once."""
    await _fan_out(sessionmaker, clock, [1001])
    api.fail_next("sendMessage", 502, count=2)
    engine = engine_factory()  # type: ignore[operator]
    delays = []
    for _ in range(2):
        await engine.drain_once()
        await engine.stop()
        async with sessionmaker() as session:
            row = (await session.execute(select(Delivery))).scalar_one()
        delays.append((row.next_attempt_at - clock.now()).total_seconds())
        clock.current = row.next_attempt_at
        engine = engine_factory()  # type: ignore[operator]
    await engine.drain_all()
    assert (delays, api.sent_per_chat(), await _statuses(sessionmaker)) == (
        [2.0, 4.0],
        {1001: 1},
        {1001: "sent"},
    )


async def test_gives_up_after_max_attempts(
    api: FakeBotApi,
    engine_factory: object,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """After max_attempts transient failures the delivery is failed, keeping the error."""
    await _fan_out(sessionmaker, clock, [1001])
    api.fail_next("sendMessage", 500, count=3)
    for _ in range(3):
        engine = engine_factory(max_attempts=3)  # type: ignore[operator]
        await engine.drain_once()
        await engine.stop()
        clock.advance(3600)
    async with sessionmaker() as session:
        row = (await session.execute(select(Delivery))).scalar_one()
    assert (
        row.status,
        row.attempts,
        "internal server error" in (row.last_error or "").lower(),
    ) == ("failed", 3, True)


async def test_migrated_group_moves_and_gets_the_message(
    api: FakeBotApi,
    engine_factory: object,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """A group upgraded to a supergroup keeps its subscriptions and gets the message there."""
    await _fan_out(sessionmaker, clock, [-42])
    api.migrate(-42, -100042)
    await engine_factory().drain_all()  # type: ignore[operator]
    async with sessionmaker() as session:
        subscribed = list((await session.execute(select(Subscription.chat_id))).scalars())
        old = await session.get(Chat, -42)
    assert (subscribed, old, len(api.messages(-100042)), await _statuses(sessionmaker)) == (
        [-100042],
        None,
        1,
        {-100042: "sent"},
    )


async def test_unsendable_message_fails_without_retry(
    api: FakeBotApi,
    engine_factory: object,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """A 400 that is not about the chat (e.g. a bad message) fails at once."""
    await _fan_out(sessionmaker, clock, [1001])
    api.fail_next("sendMessage", 400, description="Bad Request: message is too long")
    await engine_factory().drain_all()  # type: ignore[operator]
    async with sessionmaker() as session:
        row = (await session.execute(select(Delivery))).scalar_one()
    assert (row.status, row.attempts) == ("failed", 1)


async def test_paced_sending_provokes_no_429(
    api: FakeBotApi,
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: Sender,
    clock: FakeClock,
) -> None:
    """At 25 messages a second on the real clock, the fake server's 30/s limit is never hit."""
    chats = list(range(2001, 2041))
    await _fan_out(sessionmaker, clock, chats)
    engine = DeliveryEngine(sessionmaker, sender, clock, rate=25, tz=UTC)
    await engine.drain_all()
    assert (api.stats.too_many_requests, len(api.sent_per_chat())) == (0, 40)


PHOTO = "https://campaign.example.org/poster.jpg"


async def test_group_refusing_photos_gets_the_broadcast_as_text(
    api: FakeBotApi,
    engine_factory: object,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """A group that forbids photos gets a photo broadcast as text and stays active."""
    await _fan_out(sessionmaker, clock, [-42])
    await _broadcast(sessionmaker, clock, photo=PHOTO)
    api.restrict_bot(-42, send_photos=False)
    # A group takes one message per 3 s; a slow rate keeps the engine's idle passes few.
    await engine_factory(rate=5).drain_all()  # type: ignore[operator]
    async with sessionmaker() as session:
        chat = await session.get(Chat, -42)
        assert chat is not None
        sent = await DeliveryRepo(session).count(DeliveryStatus.SENT)
    broadcasts = [(m.photo, m.text) for m in api.messages(-42) if "letter" in (m.text or "")]
    assert (chat.active, sent, broadcasts) == (True, 2, [(None, "Write a letter today")])


async def test_photo_refusal_never_drops_other_deliveries(
    api: FakeBotApi,
    engine_factory: object,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """Even when the text retry also fails, only that delivery fails; the chat stays active."""
    await _fan_out(sessionmaker, clock, [-42], title="first")
    broadcast_id = await _broadcast(sessionmaker, clock, photo=PHOTO)
    await _fan_out(sessionmaker, clock, [-42], title="second")
    api.restrict_bot(-42, send_photos=False)
    # Broadcasts go first: this fails the broadcast's text retry, not a post.
    api.fail_next("sendMessage", 400, description="Bad Request: message is too long")
    await engine_factory(rate=5).drain_all()  # type: ignore[operator]
    async with sessionmaker() as session:
        chat = await session.get(Chat, -42)
        assert chat is not None
        rows = await session.execute(
            select(Delivery.broadcast_id, Delivery.status).order_by(Delivery.id)
        )
    assert (chat.active, [tuple(r) for r in rows.all()]) == (
        True,
        [(None, "sent"), (broadcast_id, "failed"), (None, "sent")],
    )


async def test_group_refusing_text_becomes_inactive(
    api: FakeBotApi,
    engine_factory: object,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """A group where the bot may not send text at all is unreachable: inactive, pending dropped."""
    await _fan_out(sessionmaker, clock, [-42], title="first")
    await _fan_out(sessionmaker, clock, [-42], title="second")
    api.restrict_bot(-42, send_messages=False)
    await engine_factory(rate=5).drain_all()  # type: ignore[operator]
    async with sessionmaker() as session:
        chat = await session.get(Chat, -42)
        assert chat is not None
        dropped = await DeliveryRepo(session).count(DeliveryStatus.DROPPED)
    assert (chat.active, chat.inactive_reason, dropped) == (
        False,
        "Not enough rights to send text messages to the chat",
        2,
    )


async def test_broadcast_goes_out_before_a_backlog_of_posts(
    api: FakeBotApi,
    engine_factory: object,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """A broadcast queued after three posts' deliveries reaches every chat before the posts."""
    chats = list(range(1001, 1011))
    for title in ("first", "second", "third"):
        await _fan_out(sessionmaker, clock, chats, title=title)
    await _broadcast(sessionmaker, clock, text_html="Write a letter today")
    await engine_factory(rate=50, batch_size=4).drain_all()  # type: ignore[operator]
    order = ["letter" in str(r.params["text"]) for r in api.requests("sendMessage") if r.ok]
    assert order == [True] * 10 + [False] * 30


async def test_claim_reads_pending_deliveries_in_index_order(
    engine: AsyncEngine, db_kind: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The claim query walks its index in order instead of sorting the backlog."""
    captured: list[tuple[str, object]] = []

    def capture(*args: object) -> None:
        statement, parameters = args[2], args[3]
        if "FROM deliveries" in str(statement):
            captured.append((str(statement), parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with sessionmaker() as session:
            await DeliveryRepo(session).claim_due(FakeClock().now(), 200)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    statement, parameters = captured[0]
    async with engine.connect() as conn:
        if db_kind == "sqlite":
            rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)  # type: ignore[arg-type]
            plan = " | ".join(str(row[-1]) for row in rows)
        else:  # an empty table: make the planner show the index path it would take at scale
            await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = await conn.exec_driver_sql("EXPLAIN " + statement, parameters)  # type: ignore[arg-type]
            plan = " | ".join(str(row[0]) for row in rows)
    sorts = "Sort" in plan or "TEMP B-TREE" in plan
    # PostgreSQL has the pending rows' partial index too (the leased claim's, migration 0014).
    index = "ix_deliveries_claim" if db_kind == "sqlite" else "ix_deliveries_pending"
    assert (index in plan, sorts) == (True, False), plan


@pytest.mark.parametrize("db_kind", ["postgres"], indirect=True)  # a shared fleet: PostgreSQL
async def test_a_fleet_engine_claims_ahead_without_sending_anything_twice(
    api: FakeBotApi,
    engine_factory: object,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    """On a shared fleet the next batch is claimed while the current one sends; the rows of
    the current batch not started yet (this instance's live leases) are not claimed again."""
    chats = list(range(1001, 1061))
    await _fan_out(sessionmaker, clock, chats)
    fleet = PostgresFleet(engine, sessionmaker, rate=1000.0, lead=False)
    delivery = engine_factory(fleet=fleet, batch_size=20, concurrency=2)  # type: ignore[operator]
    try:
        await delivery.drain_all()
    finally:
        await fleet.aclose()
    async with sessionmaker() as session:
        pending = await DeliveryRepo(session).count(DeliveryStatus.PENDING)
    assert (api.sent_per_chat(), pending, delivery.stats.claimed_ahead >= 2) == (
        dict.fromkeys(chats, 1),
        0,
        True,
    )
