"""WebhookReceiver (bot/web/webhook.py) on its own: what reaches the update queue, and when.

Served here by a bare aiohttp app and called by a real HTTP client; the whole bot in webhook
mode is tested in tests/e2e/test_webhook.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from telegram import Bot, Update

from bot.db.session import make_engine
from bot.render import web as texts
from bot.runtime import open_runtime
from bot.web import Metrics, WebServer
from bot.web.webhook import SECRET_HEADER, WebhookReceiver

SECRET = "right_secret-1"  # noqa: S105 - a test value
UPDATE = {
    "update_id": 42,
    "message": {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": 1001, "type": "private"},
        "text": "hello",
    },
}


@pytest.fixture
async def served() -> AsyncIterator[tuple[WebhookReceiver, asyncio.Queue[object], str, Metrics]]:
    queue: asyncio.Queue[object] = asyncio.Queue()
    metrics = Metrics()
    receiver = WebhookReceiver("/hook", SECRET, Bot("123456:TEST-not-used"), queue, metrics)

    async def handle(request: web.Request) -> web.Response:
        return await receiver.receive(request, await request.read())

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield receiver, queue, f"http://127.0.0.1:{runner.addresses[0][1]}/hook", metrics
    finally:
        await runner.cleanup()


def _count(metrics: Metrics, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "campaignbot_webhook_requests_total", {"outcome": outcome}
    )
    return value or 0.0


async def test_an_update_with_the_secret_is_queued_as_a_ptb_update(served: Any) -> None:
    """With the secret: 200 at once, and the queue holds the parsed Update."""
    _, queue, url, metrics = served
    async with httpx.AsyncClient(trust_env=False) as http:
        answer = await http.post(url, json=UPDATE, headers={SECRET_HEADER: SECRET})
    update = queue.get_nowait()
    assert (answer.status_code, answer.text) == (200, texts.WEBHOOK_ACCEPTED_TEXT)
    assert isinstance(update, Update)
    assert (update.update_id, update.effective_chat and update.effective_chat.id) == (42, 1001)
    assert _count(metrics, "accepted") == 1


async def test_a_closed_receiver_answers_503_and_queues_nothing(served: Any) -> None:
    """While the bot stops, updates are refused (Telegram sends them again), not dropped."""
    receiver, queue, url, metrics = served
    receiver.close()
    async with httpx.AsyncClient(trust_env=False) as http:
        answer = await http.post(url, json=UPDATE, headers={SECRET_HEADER: SECRET})
        forged = await http.post(url, json=UPDATE, headers={SECRET_HEADER: "x"})
    assert (answer.status_code, forged.status_code, queue.qsize()) == (503, 403, 0)
    assert (_count(metrics, "closing"), _count(metrics, "forbidden")) == (1, 1)


async def test_a_body_sent_too_slowly_is_answered_503(settings_factory: Any) -> None:
    """The web server's timeout covers reading the webhook's body: a client that stops
    half-way gets 503 after it, and nothing is queued."""
    dead = make_engine("postgresql+asyncpg://nobody@127.0.0.1:9/nowhere")  # never used here
    settings = settings_factory(link_secret="a long enough secret for links")  # noqa: S106
    queue: asyncio.Queue[object] = asyncio.Queue()
    receiver = WebhookReceiver("/hook", SECRET, Bot("123456:TEST-not-used"), queue)
    async with open_runtime(settings, engine=dead, upgrade=False, seed_topics=False) as runtime:
        server = WebServer(runtime, Metrics(), request_timeout=0.3, webhook=receiver)
        await server.start(0, "127.0.0.1")
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(
                b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"{SECRET_HEADER}: {SECRET}\r\nContent-Length: 1000\r\n\r\n".encode()
                + b'{"update_id": 1, '
            )
            await writer.drain()
            try:
                answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                answer += await asyncio.wait_for(reader.read(len(texts.TIMEOUT_TEXT)), 5)
            finally:
                writer.close()
                await writer.wait_closed()
        finally:
            await server.stop()
    assert answer.startswith(b"HTTP/1.1 503")
    assert answer.endswith(texts.TIMEOUT_TEXT.encode())
    assert queue.qsize() == 0
