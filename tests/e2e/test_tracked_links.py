"""Tracked links end to end: the running bot's web server, a real HTTP client, the fake Bot API.

With PUBLIC_URL set, the "Read and act" button of a post and the "Take action" button of a
broadcast lead to PUBLIC_URL/r/<token>; a GET by a person answers 302 to the original URL and
counts a click on that delivery; HEAD and preview bots are redirected without counting; a token
the bot did not sign is a 404 page. Without PUBLIC_URL the links are plain. The web server
also keeps /healthz and /metrics, on WEB_PORT or its old name HEALTH_PORT.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import AnyApplication, make_application, running
from bot.config import Settings
from bot.db.models import BotState, Delivery
from bot.db.repos import DeliveryRepo, PostRepo
from bot.db.repos.totals import delivery_figures
from bot.db.session import make_engine
from bot.domain.links import LinkSigner, LinkTarget
from bot.domain.types import ParsedEntry
from bot.render import web as web_texts
from bot.runtime import open_runtime
from bot.services.tracking import SECRET_STATE_KEY
from bot.web import Metrics, WebServer
from tests.e2e.conftest import runtime_of
from tests.e2e.test_broadcasts import ACTION, ADMIN, compose, send_now, subscribe_all
from tests.e2e.test_supporters import say, topic_id
from tests.fakes.botapi import BotMessage, FakeBotApi
from tests.fakes.clock import FakeClock

ALICE = 1001
POST_URL = "https://news.example.org/2026/detainees?lang=en"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PREVIEW_BOT = "TelegramBot (like TwitterBot)"
# A post notification's link preview when its topic says nothing (`preview` small).
SMALL_PREVIEW = {"is_disabled": False, "prefer_small_media": True, "show_above_text": False}
SECRET = "a long enough secret for signing links"  # noqa: S105 - a test value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def tracked_bot(bot_settings: Callable[..., Settings], engine: AsyncEngine) -> Callable[..., Any]:
    """Start the bot with its web server on a free port and PUBLIC_URL pointing at it."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[tuple[AnyApplication, str]]:
        port = _free_port()
        values: dict[str, Any] = {
            "web_port": port,
            "public_url": f"http://127.0.0.1:{port}/",
            "admin_ids": [ADMIN],
        }
        values.update(overrides)
        clock = values.pop("clock", None)
        kwargs = {"clock": clock} if clock is not None else {}
        application = make_application(bot_settings(**values), engine=engine, **kwargs)
        async with running(application):
            yield application, f"http://127.0.0.1:{port}"

    return make


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """A real HTTP client that does not follow redirects and looks like a browser."""
    async with httpx.AsyncClient(
        trust_env=False, follow_redirects=False, headers={"User-Agent": BROWSER}, timeout=10
    ) as http:
        yield http


async def deliver_post(app: AnyApplication, api: FakeBotApi, chat_id: int) -> BotMessage:
    """Store a StopTorture post and queue it as ingest does; return the message it becomes."""
    runtime = runtime_of(app)
    now = runtime.clock.now()
    tid = await topic_id(app, "stoptorture")
    entry = ParsedEntry(identity="t1", url=POST_URL, title="Tracked post", summary="About it.")
    async with runtime.sessionmaker.begin() as session:
        inserted = await PostRepo(session).insert_new(None, [entry], now, announced=True)  # type: ignore[arg-type]
        await PostRepo(session).add_topics([(inserted["t1"], tid)])
        await DeliveryRepo(session).fan_out_post(inserted["t1"], [tid], now)
    runtime.wake_delivery()
    return await api.wait_for_message(chat_id, lambda m: "Tracked post" in (m.text or ""))


def button_url(message: BotMessage, text_part: str) -> str:
    """The URL of the button whose text contains `text_part`."""
    return next(b["url"] for row in message.buttons for b in row if text_part in b["text"])


async def delivery_row(app: AnyApplication, chat_id: int) -> Delivery:
    """The one delivery row of a chat."""
    async with runtime_of(app).sessionmaker() as session:
        return (await session.scalars(select(Delivery).where(Delivery.chat_id == chat_id))).one()


async def figures(app: AnyApplication) -> dict[str, int]:
    """The delivery figures over every row (unique clicks, click count, …)."""
    async with runtime_of(app).sessionmaker() as session:
        return dict((await session.execute(select(*delivery_figures()))).one()._asdict())


async def test_post_link_is_tracked_and_only_people_are_counted(
    api: FakeBotApi, tracked_bot: Callable[..., Any], client: httpx.AsyncClient
) -> None:
    """GET counts (first click time kept, later clicks only counted); HEAD and bots do not."""
    clock = FakeClock()
    async with tracked_bot(clock=clock) as (app, base):
        await say(api, ALICE, "/subscribe stoptorture")
        message = await deliver_post(app, api, ALICE)
        link = button_url(message, "Read and act")
        title_links = [e["url"] for e in message.entities if e["type"] == "text_link"]
        (request,) = [
            r for r in api.requests("sendMessage") if "Tracked post" in str(r.params["text"])
        ]
        first_click = clock.advance(60)
        first = await client.get(link)
        clock.advance(60)
        second = await client.get(link)
        head = await client.head(link)
        bot = await client.get(link, headers={"User-Agent": PREVIEW_BOT})
        row = await delivery_row(app, ALICE)
        totals = await figures(app)
    assert (link.startswith(f"{base}/r/"), len(link) - len(f"{base}/r/") < 40) == (True, True)
    assert (title_links, request.params.get("link_preview_options")) == (
        [POST_URL],
        {**SMALL_PREVIEW, "url": POST_URL},
    )
    assert [(r.status_code, r.headers.get("location")) for r in (first, second, head, bot)] == [
        (302, POST_URL)
    ] * 4
    assert (first.headers["referrer-policy"], first.headers["cache-control"]) == (
        "no-referrer",
        "no-store",
    )
    assert (row.clicks, row.first_click_at, totals["clicks"], totals["click_count"]) == (
        2,
        first_click,
        1,
        2,
    )


async def test_broadcast_take_action_is_tracked_and_the_preview_shows_the_original(
    api: FakeBotApi, tracked_bot: Callable[..., Any], client: httpx.AsyncClient
) -> None:
    """The organiser's preview keeps the plain link; each supporter gets a link of their own."""
    async with tracked_bot() as (app, base):
        await subscribe_all(app)
        preview, summary = await compose(api, ADMIN, "/broadcast stoptorture")
        await send_now(api, ADMIN, summary)
        first = await api.wait_for_message(3001, lambda m: bool(m.buttons))
        other = await api.wait_for_message(3003, lambda m: bool(m.buttons))
        link = button_url(first, "Take action")
        answer = await client.get(link)
        row, other_row = await delivery_row(app, 3001), await delivery_row(app, 3003)
    assert button_url(preview, "Take action") == ACTION
    assert (link.startswith(f"{base}/r/"), link != button_url(other, "Take action")) == (
        True,
        True,
    )
    assert (answer.status_code, answer.headers["location"]) == (302, ACTION)
    assert ((row.clicks, row.first_click_at is not None), other_row.clicks) == ((1, True), 0)


async def test_tokens_the_bot_did_not_sign_get_a_404_page_and_count_nothing(
    api: FakeBotApi, tracked_bot: Callable[..., Any], client: httpx.AsyncClient
) -> None:
    """Forged, truncated, altered or foreign tokens, and a signed one for no message: 404."""
    async with tracked_bot() as (app, base):
        await say(api, ALICE, "/subscribe stoptorture")
        message = await deliver_post(app, api, ALICE)
        link = button_url(message, "Read and act")
        token = link.rsplit("/", 1)[1]
        row = await delivery_row(app, ALICE)
        signer = await runtime_of(app).tracking.signer()
        altered = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
        foreign = LinkSigner(b"not the bot's key, 32 bytes long").sign(
            LinkTarget("post", row.post_id or 0, row.id)
        )
        paths = [
            f"/r/{token[:-1]}",
            f"/r/{token[:10]}",
            f"/r/{altered}",
            f"/r/{token}A",
            f"/r/{foreign}",
            f"/r/{signer.sign(LinkTarget('post', 10**9, row.id))}",  # no such post
            f"/r/{signer.sign(LinkTarget('broadcast', row.post_id or 0, row.id))}",
            "/r/",
            "/r/https:%2F%2Fevil.example%2F",
            f"/r/{token}/extra",
        ]
        answers = [await client.get(base + path) for path in paths]
        row_after = await delivery_row(app, ALICE)
    assert [(a.status_code, a.headers.get("location")) for a in answers] == [(404, None)] * len(
        paths
    )
    assert (
        answers[0].headers["content-type"],
        answers[0].text,
        "Traceback" in "".join(a.text for a in answers),
    ) == ("text/html; charset=utf-8", web_texts.LINK_NOT_FOUND_HTML, False)
    assert row_after.clicks == 0


async def test_a_link_still_leads_to_its_page_after_the_delivery_row_is_gone(
    api: FakeBotApi, tracked_bot: Callable[..., Any], client: httpx.AsyncClient
) -> None:
    """Retention or /forgetme deleted the row: the link redirects and counts nothing."""
    async with tracked_bot() as (app, _):
        await say(api, ALICE, "/subscribe stoptorture")
        link = button_url(await deliver_post(app, api, ALICE), "Read and act")
        async with runtime_of(app).sessionmaker.begin() as session:
            await session.execute(delete(Delivery))
        answer = await client.get(link)
        left = await figures(app)
    assert (answer.status_code, answer.headers["location"], left["targeted"]) == (
        302,
        POST_URL,
        0,
    )


async def test_without_public_url_links_are_plain(
    api: FakeBotApi, tracked_bot: Callable[..., Any]
) -> None:
    """No PUBLIC_URL: the button is the post's own URL and the preview is not pinned (its
    size is the topic's: small)."""
    async with tracked_bot(public_url=None) as (app, _):
        await say(api, ALICE, "/subscribe stoptorture")
        message = await deliver_post(app, api, ALICE)
        (request,) = [
            r for r in api.requests("sendMessage") if "Tracked post" in str(r.params["text"])
        ]
        async with runtime_of(app).sessionmaker() as session:
            stored_key = await session.get(BotState, SECRET_STATE_KEY)
    assert (
        button_url(message, "Read and act"),
        request.params.get("link_preview_options"),
        stored_key,
    ) == (POST_URL, SMALL_PREVIEW, None)


async def test_links_sent_before_tracking_was_turned_off_lead_on_and_count_nothing(
    api: FakeBotApi, tracked_bot: Callable[..., Any], client: httpx.AsyncClient
) -> None:
    """PUBLIC_URL emptied (the web server still up for /healthz): an old link still redirects,
    and no click is stored, as docs/PRIVACY.md promises for tracking turned off."""
    async with tracked_bot() as (app, _):
        await say(api, ALICE, "/subscribe stoptorture")
        link = button_url(await deliver_post(app, api, ALICE), "Read and act")
    token = link.rsplit("/", 1)[1]
    async with tracked_bot(public_url=None) as (app, base):
        answer = await client.get(f"{base}/r/{token}")
        row = await delivery_row(app, ALICE)
    assert (answer.status_code, answer.headers["location"], row.clicks, row.first_click_at) == (
        302,
        POST_URL,
        0,
        None,
    )


async def test_the_generated_key_survives_a_restart(
    api: FakeBotApi, tracked_bot: Callable[..., Any], client: httpx.AsyncClient
) -> None:
    """A link sent before a restart still redirects, and counts, after it."""
    async with tracked_bot() as (app, _):
        await say(api, ALICE, "/subscribe stoptorture")
        link = button_url(await deliver_post(app, api, ALICE), "Read and act")
        async with runtime_of(app).sessionmaker() as session:
            stored = await session.get(BotState, SECRET_STATE_KEY)
            key_before = None if stored is None else stored.value
    token = link.rsplit("/", 1)[1]
    async with tracked_bot() as (app, base):
        answer = await client.get(f"{base}/r/{token}")
        row = await delivery_row(app, ALICE)
        async with runtime_of(app).sessionmaker() as session:
            stored = await session.get(BotState, SECRET_STATE_KEY)
            key_after = None if stored is None else stored.value
    assert (answer.status_code, answer.headers["location"], row.clicks) == (302, POST_URL, 1)
    assert (key_before is not None, key_after == key_before) == (True, True)


async def test_link_secret_signs_instead_of_a_stored_key(
    api: FakeBotApi, tracked_bot: Callable[..., Any], client: httpx.AsyncClient
) -> None:
    """With LINK_SECRET the bot stores no key, and tokens verify with that secret."""
    async with tracked_bot(link_secret=SECRET) as (app, base):
        await say(api, ALICE, "/subscribe stoptorture")
        link = button_url(await deliver_post(app, api, ALICE), "Read and act")
        answer = await client.get(link)
        async with runtime_of(app).sessionmaker() as session:
            stored = await session.get(BotState, SECRET_STATE_KEY)
    token = link.removeprefix(f"{base}/r/")
    assert (answer.status_code, stored) == (302, None)
    assert LinkSigner(SECRET.encode()).verify(token) is not None


@pytest.mark.parametrize("setting", ["web_port", "health_port"])
async def test_health_and_metrics_answer_on_web_port_and_its_old_name(
    api: FakeBotApi,
    bot_settings: Callable[..., Settings],
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    setting: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """/healthz and /metrics on the port, whichever name set it; no access log is written."""
    port = _free_port()
    application = make_application(bot_settings(**{setting: port}), engine=engine)
    caplog.set_level(logging.DEBUG, logger="aiohttp")
    async with running(application):
        base = f"http://127.0.0.1:{port}"
        health = await client.get(f"{base}/healthz")
        metrics = await client.get(f"{base}/metrics")
        head = await client.head(f"{base}/healthz")
        missing = await client.get(f"{base}/nothing")
    assert (health.status_code, health.json()["checks"]["database"]) == (200, "ok")
    assert (metrics.status_code, "campaignbot_delivery_queue_depth" in metrics.text) == (
        200,
        True,
    )
    assert (head.status_code, head.content, missing.status_code, missing.text) == (
        200,
        b"",
        404,
        web_texts.NOT_FOUND_TEXT,
    )
    assert health.headers["server"] == "campaignbot"
    assert [r for r in caplog.records if r.name == "aiohttp.access"] == []


async def test_oversized_and_wrong_requests_are_refused(
    api: FakeBotApi, tracked_bot: Callable[..., Any], client: httpx.AsyncClient
) -> None:
    """A body over the limit is 413 (declared or chunked); other methods 405; huge headers 4xx."""
    async with tracked_bot() as (_, base):

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b"x" * 1024

        declared = await client.post(f"{base}/healthz", content=b"x" * 5000)
        chunked = await client.request("GET", f"{base}/r/abc", content=chunks())
        small_post = await client.post(f"{base}/r/abc", content=b"{}")
        put = await client.put(f"{base}/metrics")
        huge_header = await client.get(f"{base}/healthz", headers={"X-Big": "y" * 9000})
        still_up = await client.get(f"{base}/healthz")
    assert [r.status_code for r in (declared, chunked, small_post, put)] == [413, 413, 405, 405]
    assert (400 <= huge_header.status_code < 500, still_up.status_code) == (True, 200)


async def test_a_database_failure_is_a_plain_500_without_a_trace(
    settings_factory: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    """The message lookup fails: the client gets one line, the log the route but not the token."""
    dead = make_engine("postgresql+asyncpg://nobody@127.0.0.1:9/nowhere")
    settings = settings_factory(link_secret=SECRET)
    async with open_runtime(settings, engine=dead, upgrade=False, seed_topics=False) as runtime:
        token = (await runtime.tracking.signer()).sign(LinkTarget("post", 1, 1))
        server = WebServer(runtime, Metrics())
        await server.start(0, "127.0.0.1")
        try:
            async with httpx.AsyncClient(trust_env=False) as http:
                answer = await http.get(f"http://127.0.0.1:{server.port}/r/{token}")
        finally:
            await server.stop()
    assert (answer.status_code, answer.text) == (500, web_texts.SERVER_ERROR_TEXT)
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert ("web request failed" in logged, token in logged) == (True, False)


async def test_a_request_that_takes_too_long_is_answered_503(
    settings_factory: Callable[..., Settings],
) -> None:
    """A database that accepts connections and never answers: the request times out cleanly."""
    hung: list[asyncio.StreamWriter] = []

    async def swallow(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hung.append(writer)  # keep the connection open and say nothing

    silent = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    mute = make_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{port}/nowhere")
    settings = settings_factory(link_secret=SECRET)
    try:
        async with open_runtime(
            settings, engine=mute, upgrade=False, seed_topics=False
        ) as runtime:
            token = (await runtime.tracking.signer()).sign(LinkTarget("post", 1, 1))
            server = WebServer(runtime, Metrics(), request_timeout=0.5)
            await server.start(0, "127.0.0.1")
            try:
                async with httpx.AsyncClient(trust_env=False) as http:
                    answer = await http.get(f"http://127.0.0.1:{server.port}/r/{token}")
            finally:
                await server.stop()
    finally:
        for writer in hung:
            writer.close()
        silent.close()
        await silent.wait_closed()
    assert (answer.status_code, answer.text) == (503, web_texts.TIMEOUT_TEXT)
