"""Urgent topics, link previews and post images, from the feed to the fake Bot API.

The real poller (local feed server), the real delivery engine and both senders against the
fake Bot API, a real database (SQLite and PostgreSQL), the fake clock: the engine's sleeps
advance it, so pacing costs no real time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot.db.models import Broadcast, Delivery, Post
from bot.db.repos import BroadcastRepo, ChatRepo, DeliveryRepo, TopicRepo
from bot.domain.priority import DeliveryPriority
from bot.domain.types import CLI_ACTOR, TopicSpec
from bot.feeds.fetch import AiohttpFetcher, ImageGuard
from bot.sender import LeanSender, TelegramSender
from bot.services.delivery import DeliveryEngine, Sender
from bot.services.feeds import FeedService
from bot.services.ingest import IngestService
from bot.services.pace import PaceService
from bot.services.topics import TopicService
from tests.fakes.botapi import PHOTO_URL_NOT_IMAGE, FakeBotApi
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import FeedServer, rss

Sessions = async_sessionmaker[AsyncSession]
IMAGE = "https://images.example.org/2026/11/vigil.jpg"
OLD = {"title": "A bake sale", "link": "https://news.example.org/bake", "guid": "old"}
ORDINARY = {
    "title": "Write for Rights letters arrive",
    "link": "https://news.example.org/letters",
    "guid": "ordinary",
    "categories": ["Write for Rights"],
}
URGENT = {
    "title": "Urgent Action: stop the torture of a detained journalist",
    "link": "https://news.example.org/ua",
    "guid": "urgent",
    "categories": ["StopTorture"],
}

pytestmark = pytest.mark.usefixtures("topics")  # the bundled topics, in every test


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Bot API (its rate limits off: the engine's pacing runs on the fake clock)."""
    async with FakeBotApi() as server:
        server.set_limits(enabled=False)
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(api.token, base_url=api.base_url) as real:
        yield real


@pytest.fixture
async def lean(bot: Bot) -> AsyncIterator[LeanSender]:
    sender = LeanSender(bot.base_url)
    try:
        yield sender
    finally:
        await sender.aclose()


@pytest.fixture(params=["lean", "ptb"])
def sender(request: pytest.FixtureRequest, bot: Bot, lean: LeanSender) -> Sender:
    """The lean bulk path, or the python-telegram-bot path: both must behave alike."""
    return lean if request.param == "lean" else TelegramSender(bot)


def _engine(
    sessionmaker: Sessions, sender: Sender, clock: FakeClock, **options: object
) -> DeliveryEngine:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    kwargs: dict[str, object] = {
        "rate": 1000,
        "tz": UTC,
        "rng": lambda: 0.0,
        "sleep": sleep,
        "monotonic": lambda: clock.now().timestamp(),
    }
    kwargs.update(options)
    return DeliveryEngine(sessionmaker, sender, clock, **kwargs)  # type: ignore[arg-type]


async def _follow(
    sessionmaker: Sessions, clock: FakeClock, chat_ids: list[int], *slugs: str
) -> None:
    async with sessionmaker.begin() as session:
        chats, topics = ChatRepo(session), TopicRepo(session)
        for chat_id in chat_ids:
            await chats.ensure(chat_id, "private", clock.now())
            for slug in slugs:
                topic = await topics.by_key(slug)
                assert topic is not None
                await chats.subscribe(chat_id, topic.id, clock.now())


async def _prime(feeds: FeedServer, feed_service: FeedService, ingest: IngestService) -> None:
    """A feed whose first poll is done (its entries seen, nothing announced)."""
    feeds.add("/feed.xml", rss([OLD]), etag='"v1"')
    await feed_service.add_feed(feeds.url("/feed.xml"))
    await ingest.poll_due()


async def _publish(
    feeds: FeedServer, ingest: IngestService, clock: FakeClock, *items: dict[str, object]
) -> None:
    """The feed's next version carries `items`; poll it."""
    feeds.add("/feed.xml", rss([*items, OLD]), etag=f'"v{len(items) + 1}"')
    clock.advance(61)
    await ingest.poll_due()


def _sent_titles(api: FakeBotApi) -> list[str]:
    """The first line after the topic of every accepted send, in the order the fake saw them."""
    titles = []
    for record in api.requests():
        if record.method in ("sendMessage", "sendPhoto") and record.ok:
            text = str(record.params.get("text") or record.params.get("caption"))
            titles.append("urgent" if "Urgent Action" in text else "ordinary")
    return titles


# -- urgent topics ---------------------------------------------------------------------------


async def test_urgent_post_goes_before_a_backlog_and_through_digest_and_quiet_hours(
    api: FakeBotApi,
    lean: LeanSender,
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    topics: TopicService,
    clock: FakeClock,
    sessionmaker: Sessions,
) -> None:
    """A topic marked urgent: its post is queued at URGENT and sent before the ordinary post
    published in the same poll (which comes first in the feed and in the outbox), at once to a
    chat with a daily digest and to one inside its quiet hours, which hold the ordinary one."""
    await topics.edit_topic(CLI_ACTOR, "stoptorture", "urgent", "on")
    instant = list(range(2001, 2011))
    await _follow(sessionmaker, clock, [*instant, 1001, 1002], "stoptorture", "write-for-rights")
    pace = PaceService(sessionmaker, clock, UTC)
    await pace.set_digest(1001, "daily 18:00")
    await pace.set_quiet(1002, "08:00-10:00")  # the clock reads 09:00 UTC
    await _prime(feeds, feed_service, ingest)
    await _publish(feeds, ingest, clock, ORDINARY, URGENT)
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Post.identity, Delivery.priority).join(Post, Post.id == Delivery.post_id)
        )
        priorities: dict[str, int] = {identity: p for identity, p in rows.all()}  # noqa: C416
    await _engine(sessionmaker, lean, clock, batch_size=4).drain_all()
    held = [m.text for c in (1001, 1002) for m in api.messages(c) if "Write for" in (m.text or "")]
    assert priorities == {"ordinary": DeliveryPriority.POST, "urgent": DeliveryPriority.URGENT}
    assert _sent_titles(api) == ["urgent"] * 12 + ["ordinary"] * 10
    assert held == []


async def test_edittopic_urgent_and_preview_are_validated_and_shown(topics: TopicService) -> None:
    """/edittopic urgent on|off and preview off|small|large change the topic; anything else
    is refused and changes nothing."""
    on = await topics.edit_topic(CLI_ACTOR, "stoptorture", "urgent", "ON")
    large = await topics.edit_topic(CLI_ACTOR, "stoptorture", "preview", "large")
    refused = []
    for field, value in (("urgent", "maybe"), ("preview", "huge")):
        try:
            await topics.edit_topic(CLI_ACTOR, "stoptorture", field, value)
        except Exception as error:
            refused.append(type(error).__name__)
    after = await topics.topic_info("stoptorture")
    off = await topics.edit_topic(CLI_ACTOR, "stoptorture", "urgent", "off")
    assert (on.urgent, large.preview, refused, after.urgent, after.preview, off.urgent) == (
        True,
        "large",
        ["InvalidInputError", "InvalidInputError"],
        True,
        "large",
        False,
    )


async def test_broadcast_to_an_urgent_topic_is_urgent(
    sessionmaker: Sessions, clock: FakeClock, topics: TopicService
) -> None:
    """A broadcast whose audience includes an urgent topic is queued at URGENT; others at
    BROADCAST (a broadcast to everyone names no urgent topic)."""
    await topics.edit_topic(CLI_ACTOR, "stoptorture", "urgent", "on")
    await _follow(sessionmaker, clock, [3001], "stoptorture", "write-for-rights")
    found = []
    async with sessionmaker.begin() as session:
        topic_repo, repo = TopicRepo(session), BroadcastRepo(session)
        torture = await topic_repo.by_key("stoptorture")
        letters = await topic_repo.by_key("write-for-rights")
        assert torture is not None
        assert letters is not None
        for audience in ([letters.id, torture.id], [letters.id], None):
            broadcast = await repo.add(
                Broadcast(
                    created_by=1,
                    topic_ids=audience,
                    text_html="Act now",
                    status="sending",
                    created_at=clock.now(),
                    started_at=clock.now(),
                )
            )
            await repo.fan_out(broadcast.id, audience, clock.now())
            result = await session.execute(
                select(Delivery.priority).where(Delivery.broadcast_id == broadcast.id)
            )
            found.append(result.scalar_one())
    assert found == [
        DeliveryPriority.URGENT,
        DeliveryPriority.BROADCAST,
        DeliveryPriority.BROADCAST,
    ]


# -- link previews --------------------------------------------------------------------------


async def test_each_topic_preview_reaches_telegram_as_link_preview_options(
    api: FakeBotApi,
    lean: LeanSender,
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: Sessions,
) -> None:
    """Three topics matching one post, previews off, small and large: each chat's message
    carries its topic's LinkPreviewOptions."""
    async with sessionmaker.begin() as session:
        repo = TopicRepo(session)
        for slug, preview in (("pv-off", "off"), ("pv-small", "small"), ("pv-large", "large")):
            spec = TopicSpec(slug=slug, name=slug.upper(), categories=("Vigil",), preview=preview)
            await repo.add(spec, clock.now())
    for chat_id, slug in ((4001, "pv-off"), (4002, "pv-small"), (4003, "pv-large")):
        await _follow(sessionmaker, clock, [chat_id], slug)
    await _prime(feeds, feed_service, ingest)
    vigil = {"title": "Vigil", "link": "https://news.example.org/v", "categories": ["Vigil"]}
    await _publish(feeds, ingest, clock, vigil)
    await _engine(sessionmaker, lean, clock).drain_all()
    options = {}
    for record in api.requests("sendMessage"):
        value = record.params["link_preview_options"]
        decoded = json.loads(value) if isinstance(value, str) else value
        options[int(record.params["chat_id"])] = {k: v for k, v in decoded.items() if v}
    assert options == {
        4001: {"is_disabled": True},
        4002: {"prefer_small_media": True},
        4003: {"prefer_large_media": True},
    }


# -- images ---------------------------------------------------------------------------------


async def test_image_post_is_a_photo_with_a_caption_within_1024(
    api: FakeBotApi,
    sender: Sender,
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: Sessions,
) -> None:
    """A post with an image goes as sendPhoto by URL; its caption (valid HTML: the fake parses
    it like Telegram) fits in 1,024 characters, the long summary shortened."""
    await _follow(sessionmaker, clock, [5001], "stoptorture")
    await _prime(feeds, feed_service, ingest)
    # The feed's HTML says "&amp;" and "&lt;must&gt;": the text reads "& abuse <must> end."
    summary = "Torture &amp; abuse &lt;must&gt; end. " * 200
    long = {**URGENT, "image": IMAGE, "description": summary}
    await _publish(feeds, ingest, clock, long)
    await _engine(sessionmaker, sender, clock).drain_all()
    (message,) = api.messages(5001)
    caption = message.caption or ""
    assert (message.photo is not None, message.text) == (True, None)
    assert 200 < len(caption) <= 1024
    assert "Torture & abuse <must> end." in caption  # escaped, so shown as written
    assert "…" in caption
    assert api.requests("sendPhoto")[0].params["photo"] == IMAGE


async def test_refused_image_is_tried_once_then_every_chat_gets_text(
    api: FakeBotApi,
    sender: Sender,
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: Sessions,
) -> None:
    """Telegram refuses the image: the fake sees one sendPhoto for the post across six chats,
    every chat gets the text at once, the post is marked, and a later delivery of it (a new
    engine: a restart) goes straight to text."""
    chats = list(range(6001, 6007))
    await _follow(sessionmaker, clock, chats, "stoptorture")
    api.refuse_photo_url(IMAGE, PHOTO_URL_NOT_IMAGE)
    await _prime(feeds, feed_service, ingest)
    await _publish(feeds, ingest, clock, {**URGENT, "image": IMAGE})
    await _engine(sessionmaker, sender, clock).drain_all()
    async with sessionmaker() as session:
        post = (await session.execute(select(Post).where(Post.identity == "urgent"))).scalar_one()
        refused = post.image_refused
    # A chat joins later and the post is queued for it: no new try of the image.
    await _follow(sessionmaker, clock, [6007], "stoptorture")
    async with sessionmaker.begin() as session:
        topic = await TopicRepo(session).by_key("stoptorture")
        assert topic is not None
        await DeliveryRepo(session).fan_out_post(post.id, [topic.id], clock.now())
    await _engine(sessionmaker, sender, clock).drain_all()
    texts = {c: [(m.photo, bool(m.text)) for m in api.messages(c)] for c in [*chats, 6007]}
    assert (len(api.requests("sendPhoto")), refused) == (1, True)
    assert texts == {c: [(None, True)] for c in [*chats, 6007]}
    assert not api.requests("sendPhoto")[0].ok


async def test_private_image_urls_are_dropped_at_ingest(
    feeds: FeedServer,
    feed_service: FeedService,
    fetcher: AiohttpFetcher,
    clock: FakeClock,
    sessionmaker: Sessions,
) -> None:
    """Literal non-public addresses and localhost never keep their image; a host name that
    resolves to a private address neither (ALLOW_PRIVATE_FEED_URLS off); a public one does."""
    addresses = {"cdn.example.org": ["93.184.216.34"], "intranet.example.org": ["10.1.2.3"]}
    looked_up: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return addresses[host]

    guard = ImageGuard(allow_private=False, resolve=resolve)
    ingest = IngestService(
        sessionmaker, fetcher, clock, interval_seconds=60, rng=lambda: 0.0, images=guard
    )
    images = {
        "public": "https://cdn.example.org/a.jpg",
        "public-again": "https://cdn.example.org/b.jpg",
        "resolves-private": "https://intranet.example.org/a.jpg",
        "literal-private": "http://192.168.1.20/a.jpg",
        "literal-loopback": "http://[::1]/a.jpg",
        "localhost": "http://localhost:8080/a.jpg",
        "not-http": "ftp://cdn.example.org/a.jpg",
    }
    items = [
        {"title": key, "link": f"https://news.example.org/{key}", "guid": key, "image": url}
        for key, url in images.items()
    ]
    feeds.add("/feed.xml", rss(items))
    await feed_service.add_feed(feeds.url("/feed.xml"))
    await ingest.poll_due()  # the first poll stores the entries (announcing none)
    async with sessionmaker() as session:
        rows = await session.execute(select(Post.identity, Post.image_url))
        kept = {identity: url for identity, url in rows.all() if url}
    assert kept == {"public": images["public"], "public-again": images["public-again"]}
    assert sorted(looked_up) == ["cdn.example.org", "intranet.example.org"]  # once per host
