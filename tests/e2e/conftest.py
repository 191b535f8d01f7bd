"""End-to-end harness: the real Application over real HTTP against the fake Bot API server,
a real database and a local feed server. Nothing of the bot's own code is replaced.

`bot_app` starts the whole bot (long polling, poller job, delivery engine) inside the test's
event loop with POLL_INTERVAL_SECONDS=1; tests talk to it as users do through `api`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import AnyApplication, make_application, running
from bot.config import Settings
from bot.db.models import Delivery
from bot.runtime import Runtime
from tests.fakes.botapi import FakeBotApi, RateLimits
from tests.fakes.feedserver import FeedServer


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Telegram Bot API server, with a per-chat burst that fits a dialogue.

    The fake's default bucket (3 messages, then 1 a second) makes every organiser dialogue
    wait out a 429 of about 1.1 s per step, which is most of the suite's wall time and no
    test's subject. The overall and group limits stay on; the dialogue under the strict
    per-chat limit has its own test (test_broadcasts.py).
    """
    async with FakeBotApi(limits=RateLimits(per_chat_burst=30)) as server:
        yield server


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    """A local feed server."""
    async with FeedServer() as server:
        yield server


@pytest.fixture
def bot_settings(api: FakeBotApi, database_url: str) -> Callable[..., Settings]:
    """Settings for a bot that talks to the fake server and the test database."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "telegram_bot_token": api.token,
            "telegram_api_url": api.base_url,
            "database_url": database_url,
            "allow_private_feed_urls": True,
            "poll_interval_seconds": 1,
            "send_rate_per_second": 25,
            "admin_ids": [],
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
async def bot_app(
    bot_settings: Callable[..., Settings], engine: Any
) -> AsyncIterator[AnyApplication]:
    """The whole bot, running: long polling, poller job and delivery engine.

    It runs on the test's engine (`build_runtime`'s `engine`), which has compiled the bot's
    SQL in earlier tests already.
    """
    application = make_application(bot_settings(), engine=engine)
    async with running(application):
        yield application


def runtime_of(application: AnyApplication) -> Runtime:
    """The bot's runtime (services, database) for assertions."""
    runtime: Runtime = application.bot_data["runtime"]
    return runtime


async def all_marked_sent(application: AnyApplication, broadcast_id: int) -> None:
    """Wait until every delivery of a broadcast is recorded as sent (marks are committed in
    small groups just after Telegram answers, so a message can arrive before its mark).

    The database has no event to await: this re-reads it every 10 ms, for at most 5 s.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5.0
    while True:
        async with runtime_of(application).sessionmaker() as session:
            pending = await session.scalar(
                select(func.count()).where(
                    Delivery.broadcast_id == broadcast_id, Delivery.status == "pending"
                )
            )
        if pending == 0:
            return
        if loop.time() > deadline:
            raise TimeoutError(f"{pending} deliveries of broadcast {broadcast_id} not marked sent")
        await asyncio.sleep(0.01)
