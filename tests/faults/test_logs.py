"""With LOG_FORMAT=json every line `campaignbot run` writes is one JSON object, and no line
holds the bot token, error paths included (a failing feed, a 500 from the Bot API)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.botapi import FakeBotApi
from tests.fakes.feedserver import FeedServer
from tests.prefork import start_bot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(limits=False) as server:
        yield server


async def test_json_logs_are_one_object_per_line_and_never_hold_the_token(
    api: FakeBotApi, database_url: str, engine: object, tmp_path: Path
) -> None:
    async with FeedServer() as feeds:
        feeds.error("/broken.xml", 500)
        feeds.add("/bad.xml", b"<rss><channel><item><title>x</ti")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_URL": api.base_url,
            "DATABASE_URL": database_url,
            "POLL_INTERVAL_SECONDS": "1",
            "ALLOW_PRIVATE_FEED_URLS": "true",
            "FEED_URLS": f"{feeds.url('/broken.xml')},{feeds.url('/bad.xml')}",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "DEBUG",
        }
        process = await start_bot(env, "run", cwd=tmp_path)  # a real process (tests/prefork.py)
        await api.wait_for_poller(timeout=30)
        api.fail_next("sendMessage", 500, count=2)
        api.send_text(4242, "/start")
        api.send_text(4242, "/help " + "x" * 5000)
        async with asyncio.timeout(30):  # the feed server has no events to wait on
            while not (feeds.hits("/bad.xml") and feeds.hits("/broken.xml")):
                await asyncio.sleep(0.1)
        await api.wait_for_requests("sendMessage", count=2, timeout=30)
        await asyncio.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
        out, err = process.output()
    lines = [line for line in (out + err).splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # raises on any non-JSON line
    secret = api.token.split(":", 1)[1]
    assert process.returncode == 0
    assert [line for line in lines if secret in line or api.token in line] == []
    assert all(isinstance(r, dict) and {"time", "level", "event"} <= r.keys() for r in records)
    assert any(r["event"] == "feed poll failed" for r in records)
