"""The delivery engine's render cache never outlives a change: a backlog half sent when a topic
is renamed or a post edited shows the new text in the rest of its messages.

Real services (ingest from the local feed server, admin edits, broadcasts), a real database,
the real PTB Bot against the fake Bot API.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot.db.models import Delivery
from bot.db.repos import ChatRepo, TopicRepo
from bot.domain.links import LinkSigner, LinkTarget, TrackedLinks
from bot.domain.types import Actor
from bot.sender import TelegramSender
from bot.services.broadcasts import BroadcastDraft, BroadcastService
from bot.services.delivery import DeliveryEngine
from bot.services.feeds import FeedService
from bot.services.ingest import IngestService
from bot.services.topics import TopicService
from tests.fakes.botapi import FakeBotApi
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import FeedServer, rss

Sessions = async_sessionmaker[AsyncSession]
ADMIN = Actor.of(9001, "boss")
CHATS = [1001, 1002, 1003, 1004]
FIRST_BATCH = 2
POST = {
    "title": "Detainees describe torture in secret prisons",
    "link": "https://news.example.org/2026/11/detainees",
    "guid": "post-100",
    "description": "Survivors speak out.",
    "categories": ["StopTorture"],
    "pubDate": datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
}


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Telegram Bot API (limits off: the engine's pacing is not under test)."""
    async with FakeBotApi(limits=False) as server:
        yield server


@pytest.fixture
async def delivery(
    api: FakeBotApi, sessionmaker: Sessions, clock: FakeClock
) -> AsyncIterator[DeliveryEngine]:
    """A delivery engine that claims two deliveries a pass, paced on the fake clock."""

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    async with Bot(api.token, base_url=api.base_url) as bot:
        yield DeliveryEngine(
            sessionmaker,
            TelegramSender(bot),
            clock,
            rate=1000,
            tz=UTC,
            batch_size=FIRST_BATCH,
            rng=lambda: 0.0,
            sleep=sleep,
            monotonic=lambda: clock.now().timestamp(),
        )


async def _subscribe(sessionmaker: Sessions, clock: FakeClock, slug: str) -> None:
    async with sessionmaker.begin() as session:
        topic = await TopicRepo(session).by_key(slug)
        assert topic is not None
        for chat_id in CHATS:
            await ChatRepo(session).ensure(chat_id, "private", clock.now())
            await ChatRepo(session).subscribe(chat_id, topic.id, clock.now())


async def _announce_post(
    feeds: FeedServer, feed_service: FeedService, ingest: IngestService, clock: FakeClock
) -> None:
    """Prime a feed, then publish POST in it: one pending delivery per subscribed chat."""
    feeds.add("/feed.xml", rss([]), etag='"v1"')
    await feed_service.add_feed(feeds.url("/feed.xml"))
    await ingest.poll_due()
    clock.advance(61)
    feeds.add("/feed.xml", rss([POST]), etag='"v2"')
    summary = await ingest.poll_due()
    assert summary.deliveries_new == len(CHATS)
    clock.advance(61)


async def _send_first_batch(engine: DeliveryEngine, api: FakeBotApi) -> None:
    """One pass of the engine: the first two chats get their message, two stay pending."""
    await engine.drain_once()
    await api.wait_for_requests("sendMessage", count=FIRST_BATCH)


def _received(api: FakeBotApi) -> list[tuple[str, list[str]]]:
    """Per chat in order: the message's first line (the topic) and its button labels."""
    received = []
    for chat_id in CHATS:
        (message,) = api.messages(chat_id)
        labels = [button["text"] for row in message.buttons for button in row]
        received.append(((message.text or "").splitlines()[0], labels))
    return received


@pytest.mark.usefixtures("topics")
async def test_post_edited_mid_backlog_shows_new_title(
    api: FakeBotApi,
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    delivery: DeliveryEngine,
    sessionmaker: Sessions,
    clock: FakeClock,
) -> None:
    """After a feed edits a post, the deliveries still pending show the new title."""
    await _subscribe(sessionmaker, clock, "stoptorture")
    await _announce_post(feeds, feed_service, ingest, clock)
    await _send_first_batch(delivery, api)
    feeds.add("/feed.xml", rss([dict(POST, title="UPDATED: torture in secret prisons")]))
    await ingest.poll_due()
    await delivery.drain_all()
    titles = [(api.messages(c)[0].text or "").splitlines()[1] for c in CHATS]  # under the topic
    assert titles == [POST["title"]] * FIRST_BATCH + ["UPDATED: torture in secret prisons"] * 2


async def test_topic_renamed_mid_backlog_shows_new_name(
    api: FakeBotApi,
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    topics: TopicService,
    delivery: DeliveryEngine,
    sessionmaker: Sessions,
    clock: FakeClock,
) -> None:
    """After /edittopic renames the topic, the pending notifications name it the new way."""
    await _subscribe(sessionmaker, clock, "stoptorture")
    await _announce_post(feeds, feed_service, ingest, clock)
    await _send_first_batch(delivery, api)
    await topics.edit_topic(ADMIN, "stoptorture", "name", "Stop Torture Now")
    await delivery.drain_all()
    old = ("✋ StopTorture", ["Read and act", "Unsubscribe from StopTorture"])
    new = ("✋ Stop Torture Now", ["Read and act", "Unsubscribe from Stop Torture Now"])
    assert _received(api) == [old] * FIRST_BATCH + [new] * 2


async def test_topic_action_label_set_mid_backlog_reaches_the_rest(
    api: FakeBotApi,
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    topics: TopicService,
    delivery: DeliveryEngine,
    sessionmaker: Sessions,
    clock: FakeClock,
) -> None:
    """A label given to the topic mid backlog puts the action button under the rest, with
    data naming the post (the same for every chat)."""
    await _subscribe(sessionmaker, clock, "stoptorture")
    await _announce_post(feeds, feed_service, ingest, clock)
    await _send_first_batch(delivery, api)
    await topics.edit_topic(ADMIN, "stoptorture", "action", "🕯 I lit a candle")
    await delivery.drain_all()
    old = ("✋ StopTorture", ["Read and act", "Unsubscribe from StopTorture"])
    new = ("✋ StopTorture", ["Read and act", "🕯 I lit a candle", "Unsubscribe from StopTorture"])
    data = {
        button.get("callback_data")
        for chat_id in CHATS[FIRST_BATCH:]
        for row in api.messages(chat_id)[0].buttons
        for button in row
        if button["text"].startswith("🕯")
    }
    assert (_received(api), len(data), data.pop().startswith("act:p:")) == (
        [old] * FIRST_BATCH + [new] * 2,
        1,
        True,
    )


async def test_topic_renamed_mid_broadcast_shows_new_name(
    api: FakeBotApi,
    topics: TopicService,
    delivery: DeliveryEngine,
    sessionmaker: Sessions,
    clock: FakeClock,
) -> None:
    """A broadcast half sent when its topic is renamed offers "Unsubscribe" by the new name."""
    await _subscribe(sessionmaker, clock, "stoptorture")
    broadcasts = BroadcastService(sessionmaker, clock, UTC)
    audience = await broadcasts.audience(["stoptorture"])
    await broadcasts.send_now(
        BroadcastDraft(audience=audience, text_html="Write to the minister today."),
        actor_id=ADMIN.user_id or 0,
        actor=ADMIN.name,
    )
    await _send_first_batch(delivery, api)
    await topics.edit_topic(ADMIN, "stoptorture", "name", "Stop Torture Now")
    await delivery.drain_all()
    assert [labels for _, labels in _received(api)] == [
        ["Unsubscribe from StopTorture"]
    ] * FIRST_BATCH + [["Unsubscribe from Stop Torture Now"]] * 2


@pytest.mark.usefixtures("topics")
async def test_tracked_links_vary_per_delivery_and_the_message_renders_once(
    api: FakeBotApi,
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    sessionmaker: Sessions,
    clock: FakeClock,
) -> None:
    """With tracked links each chat's "Read and act" names its own delivery; one render."""
    signer = LinkSigner(b"k" * 32)
    async with Bot(api.token, base_url=api.base_url) as bot:
        engine = DeliveryEngine(
            sessionmaker,
            TelegramSender(bot),
            clock,
            rate=1000,
            tz=UTC,
            links=TrackedLinks("https://bot.example.org", signer),
        )
        await _subscribe(sessionmaker, clock, "stoptorture")
        await _announce_post(feeds, feed_service, ingest, clock)
        await engine.drain_all()
    async with sessionmaker() as session:
        rows = {d.chat_id: d for d in (await session.scalars(select(Delivery))).all()}
    targets = []
    for chat_id in CHATS:
        (message,) = api.messages(chat_id)
        url = next(b["url"] for row in message.buttons for b in row if "url" in b)
        targets.append(signer.verify(url.removeprefix("https://bot.example.org/r/")))
    assert targets == [LinkTarget("post", rows[c].post_id or 0, rows[c].id) for c in CHATS]
    assert len(engine._render_cache) == 1
