"""Hostile content and input against the running bot.

Feed side: titles and summaries with script tags, broken HTML, 100 KB of text, zero-width and
RTL characters and emoji go through poll -> fan-out -> engine -> the fake server's HTML check,
which must accept every message. Chat side: 10,000-character arguments, unknown commands,
forged and replayed callback data get a clear answer, no crash and no change.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import make_application, running
from bot.config import Settings
from bot.db.models import Feed, Subscription
from tests.fakes.botapi import FakeBotApi
from tests.fakes.feedserver import FeedServer, rss
from tests.faults.conftest import FIRST_CHAT, seed_fan_out

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

NASTY = [
    {"title": "<script>alert(1)</script> faults", "description": "<script>x()</script><b>ok"},
    {"title": "Broken <b><i>faults</b> <a href='javascript:x'>", "description": "<p><div></p>"},
    {"title": "Long faults " + "word " * 20_000, "description": "text " * 20_000},
    {
        "title": "Zero\u200bwidth\u200d faults \u202eRTL\u202c",
        "description": "\u2066isolate\u2069",
    },
    {"title": "Emoji faults ✊🏽🌍🔥 & <3", "description": "👩‍👩‍👧 <3 & &amp; &lt;"},
    {"title": "Entities faults &amp; &lt;tag&gt; &#0; &#x110000;", "description": "&bogus;"},
]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(limits=False) as server:
        yield server


def _settings(api: FakeBotApi, database_url: str, **extra: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        telegram_bot_token=api.token,
        telegram_api_url=api.base_url,
        database_url=database_url,
        allow_private_feed_urls=True,
        poll_interval_seconds=1,
        send_rate_per_second=200,
        **extra,
    )


async def test_hostile_feed_content_is_delivered_as_valid_html(
    api: FakeBotApi, database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await seed_fan_out(sessionmaker, 2)
    items = [
        {**item, "guid": f"n-{n}", "link": f"https://e.org/{n}"} for n, item in enumerate(NASTY)
    ]
    async with FeedServer() as feeds:
        feeds.add("/nasty.xml", rss(items))
        application = make_application(_settings(api, database_url))
        async with running(application):
            runtime = application.bot_data["runtime"]
            await runtime.feeds.add_feed(feeds.url("/nasty.xml"))
            async with sessionmaker.begin() as session:
                await session.execute(update(Feed).values(primed=True))
            expected = 2 + 2 * len(NASTY)  # the seeded post plus every nasty one, per chat
            await api.wait_for_sent(expected, timeout=60)
    sends = api.requests("sendMessage")
    rejected = [r.description for r in sends if r.status == 400]
    assert (rejected, api.stats.sent_messages) == ([], expected)
    assert all(len(api.messages(FIRST_CHAT)[i].text or "") <= 4096 for i in range(expected // 2))


async def test_hostile_input_gets_clear_answers_and_changes_nothing(
    api: FakeBotApi, database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user = 777_001
    application = make_application(_settings(api, database_url))
    async with running(application):
        api.send_text(user, "/start")
        await api.wait_for_message(user, timeout=10)
        async with sessionmaker() as session:
            before = await session.scalar(select(func.count()).select_from(Subscription))
        inputs = [
            "/subscribe " + "x" * 10_000,
            "/unsubscribe " + "🔥" * 5_000,
            "/latest " + "<script>" * 1_000,
            "/frobnicate now",
            "/" + "a" * 300,
        ]
        for text in inputs:
            seen = len(api.messages(user))
            api.send_text(user, text)
            await api.wait_until(lambda n=seen: len(api.messages(user)) > n, timeout=10)
        picker = api.messages(user)[0]
        forged = ["t:tog:999999:p", "t:tog:1:zz", "zz:top", "t:off:-1", "l:pg:0:99999999", ""]
        answers = []
        for data in forged:
            query = api.press_button(user, picker.message_id, data)
            answers.append(await api.wait_for_callback_answer(query, timeout=10))
        good = next(
            (b["callback_data"] for row in picker.buttons for b in row if "callback_data" in b),
            None,
        )
        if good is not None:  # replaying a genuine button twice is a toggle, never an error
            for _ in range(2):
                query = api.press_button(user, picker.message_id, good)
                answers.append(await api.wait_for_callback_answer(query, timeout=10))
        async with sessionmaker() as session:
            after = await session.scalar(select(func.count()).select_from(Subscription))
        replies = api.messages(user)
    bad_requests = [r for r in api.requests() if r.status == 400]
    assert bad_requests == []
    assert len(replies) >= 1 + len(inputs)
    assert all(len(m.text or m.caption or "") > 0 for m in replies)
    assert before == after
    assert len(answers) == len(forged) + (2 if good is not None else 0)
