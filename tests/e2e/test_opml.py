"""Feed lists in chat, end to end: /exportfeeds, an admin's OPML file, /feedinterval.

The whole bot runs against the fake Bot API (documents: getFile, the file download and
sendDocument) and the local feed server, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import AnyApplication, make_application, running
from bot.config import Settings
from bot.db.models import Feed
from bot.feeds.opml import parse_opml
from tests.e2e.conftest import runtime_of
from tests.fakes.botapi import BotMessage, FakeBotApi
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import FeedServer, rss

ADMIN = 7101
SUPPORTER = 7103
# The service tests run every case on both databases; here SQLite is enough for the wording.
SQLITE_ONLY = pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
BROKEN = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>'


@pytest.fixture
async def app(bot_settings: Callable[..., Settings], engine: Any) -> AsyncIterator[AnyApplication]:
    """The whole bot with ADMIN in ADMIN_IDS, on a fake clock (30 November 2026)."""
    clock = FakeClock()
    clock.current = clock.current.replace(month=11, day=30)
    application = make_application(bot_settings(admin_ids=[ADMIN]), engine=engine, clock=clock)
    async with running(application):
        yield application


async def next_message(api: FakeBotApi, user_id: int, send: Callable[[], object]) -> BotMessage:
    """Do `send` (a user's message) and return the bot's next message in that chat."""
    before = len(api.messages(user_id))
    send()
    messages = await api.wait_until(
        lambda: api.messages(user_id)[before:] or None, what="the bot's answer"
    )
    return messages[0]


async def stored_feeds(application: AnyApplication) -> list[tuple[str, str | None]]:
    async with runtime_of(application).sessionmaker() as session:
        rows = await session.execute(select(Feed.url, Feed.name).order_by(Feed.url))
        return [(url, name) for url, name in rows]


async def test_export_then_import_in_chat_gives_the_same_feeds(
    api: FakeBotApi, app: AnyApplication, feeds: FeedServer
) -> None:
    """/exportfeeds sends an OPML file; sent back into an empty bot it restores the feeds."""
    runtime = runtime_of(app)
    for path in ("/a.xml", "/b.xml"):
        feeds.add(path, rss([{"title": path, "link": f"https://e.org{path}"}], title=path))
    await runtime.feeds.add_feed(feeds.url("/a.xml"), "Amnesty <news> & views")
    await runtime.feeds.add_feed(feeds.url("/b.xml"), "Climate")  # named: the poller runs
    before = await stored_feeds(app)
    exported = await next_message(api, ADMIN, lambda: api.send_text(ADMIN, "/exportfeeds"))
    assert exported.document is not None
    content = api.document_content(exported.document["file_id"])
    for feed in await runtime.feeds.list_feeds():
        await runtime.feeds.remove_feed(str(feed.id))
    report = await next_message(
        api,
        ADMIN,
        lambda: api.send_document(ADMIN, content, exported.document["file_name"]),  # type: ignore[index]
    )
    assert (
        exported.document["file_name"],
        len(parse_opml(content)),
        (report.text or "").splitlines()[0],
        await stored_feeds(app),
    ) == (
        "campaignbot-feeds-2026-11-30.opml",
        2,
        "📥 Feeds imported: 2 added, 0 already present, 0 refused.",
        before,
    )


@SQLITE_ONLY
async def test_admin_file_report_names_refused_feeds(
    api: FakeBotApi, app: AnyApplication, feeds: FeedServer
) -> None:
    """Any file name works for an admin; the report lists each refusal with its reason."""
    feeds.add("/a.xml", rss([{"title": "A", "link": "https://e.org/a"}]))
    document = (
        '<opml version="2.0"><body><outline text="News">'
        f'<outline text="A" xmlUrl="{feeds.url("/a.xml")}"/>'
        f'<outline text="Gone" xmlUrl="{feeds.url("/gone.xml")}"/>'
        "</outline></body></opml>"
    ).encode()
    report = await next_message(
        api, ADMIN, lambda: api.send_document(ADMIN, document, "feeds.txt")
    )
    text = report.text or ""
    assert (
        text.splitlines()[0],
        f"{feeds.url('/gone.xml')} — unreachable" in text,
        await stored_feeds(app),
    ) == (
        "📥 Feeds imported: 1 added, 0 already present, 1 refused.",
        True,
        [(feeds.url("/a.xml"), "A")],
    )


@SQLITE_ONLY
async def test_broken_file_is_refused_with_its_reason(
    api: FakeBotApi, app: AnyApplication
) -> None:
    """A file declaring entities is refused whole, in the admin's words."""
    reply = await next_message(api, ADMIN, lambda: api.send_document(ADMIN, BROKEN, "feeds.opml"))
    assert (reply.text, await stored_feeds(app)) == (
        "Sorry, the file declares XML entities or a DTD, which OPML never needs.\n"
        "Nothing was imported.",
        [],
    )


async def test_supporter_file_changes_nothing(
    api: FakeBotApi, app: AnyApplication, feeds: FeedServer
) -> None:
    """A supporter's .opml gets a polite no and nothing is fetched; other files, the hint."""
    feeds.add("/a.xml", rss([{"title": "A", "link": "https://e.org/a"}]))
    document = f'<opml><body><outline xmlUrl="{feeds.url("/a.xml")}"/></body></opml>'.encode()
    opml_reply = await next_message(
        api, SUPPORTER, lambda: api.send_document(SUPPORTER, document, "feeds.opml")
    )
    other_reply = await next_message(
        api, SUPPORTER, lambda: api.send_document(SUPPORTER, b"%PDF-1.4", "flyer.pdf")
    )
    assert (
        opml_reply.text,
        "/help" in (other_reply.text or ""),
        feeds.hits("/a.xml"),
        api.requests("getFile"),
        await stored_feeds(app),
    ) == ("Only admins can import feeds. /help shows what you can do here.", True, 0, [], [])


@SQLITE_ONLY
async def test_feedinterval_sets_shows_and_refuses(api: FakeBotApi, app: AnyApplication) -> None:
    """/feedinterval 1 15m is shown by /feeds; 15x, 0m and 9d are refused, changing nothing."""
    await runtime_of(app).feeds.add_feed("https://news.example.org/feed.xml", "News")

    async def ask(text: str) -> str:
        reply = await next_message(api, ADMIN, lambda: api.send_text(ADMIN, text))
        return reply.text or ""

    bad = [await ask(f"/feedinterval 1 {value}") for value in ("15x", "0m", "9d")]
    unchanged = (await runtime_of(app).feeds.find_feed("1")).interval_seconds
    set_ = await ask("/feedinterval 1 15m")
    listed = await ask("/feeds")
    assert (
        {b.splitlines()[-1] for b in bad},
        unchanged,
        set_,
        "every 15m (set by an admin)" in listed,
    ) == (
        {"Nothing was changed."},
        None,
        "⏱ Feed #1 News is polled every 15m (set by an admin).",
        True,
    )
