"""OPML import and export through FeedService, on SQLite and PostgreSQL, with the feed server."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db.models import Feed
from bot.domain.views import ImportRefusal
from bot.errors import InvalidInputError
from bot.feeds.fetch import AiohttpFetcher
from bot.feeds.opml import MAX_OUTLINES, parse_opml
from bot.services.feeds import FeedService
from bot.services.ingest import IngestService
from bot.services.roles import RoleService
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import HTML_TYPE, FeedServer, rss
from tests.services.support import ACTOR, Sessions, count_rows


def opml(*outlines: str, root: str = "opml") -> bytes:
    """An OPML document whose body holds these outline elements."""
    body = "".join(outlines)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><{root} version="2.0"><head><title>x</title>'
        f"</head><body>{body}</body></{root}>"
    ).encode()


def outline(url: str, title: str = "") -> str:
    return f'<outline type="rss" text="{title}" title="{title}" xmlUrl="{url}"/>'


async def _feeds(sessionmaker: Sessions) -> list[tuple[str, str | None]]:
    async with sessionmaker() as session:
        rows = await session.execute(select(Feed.url, Feed.name).order_by(Feed.url))
        return [(url, name) for url, name in rows]


async def test_import_reports_added_present_and_refused(
    feed_service: FeedService, feeds: FeedServer, sessionmaker: Sessions
) -> None:
    """Feeds in nested folders are checked: added, already present, not a feed, unreachable."""
    feeds.add("/a.xml", rss([{"title": "A", "link": "https://e.org/a"}], title="A"))
    feeds.add("/b.xml", rss([{"title": "B", "link": "https://e.org/b"}], title="B"))
    feeds.add("/page.html", "<!doctype html><html><body>hi</body></html>", HTML_TYPE)
    await feed_service.add_feed(feeds.url("/b.xml"))
    document = opml(
        '<outline text="Folder"><outline text="Inner">',
        outline(feeds.url("/a.xml"), "Amnesty news"),
        "</outline>",
        outline(feeds.url("/b.xml"), "B"),
        "</outline>",
        outline(feeds.url("/page.html"), "A page"),
        outline(feeds.url("/missing.xml"), "Gone"),
    )
    report = await feed_service.import_opml(document, actor=ACTOR)
    assert (
        [(f.url, f.label) for f in report.added],
        report.present,
        [(r.url, r.reason) for r in report.refused],
        await _feeds(sessionmaker),
    ) == (
        [(feeds.url("/a.xml"), "Amnesty news")],
        (feeds.url("/b.xml"),),
        [
            (feeds.url("/page.html"), ImportRefusal.NOT_A_FEED),
            (feeds.url("/missing.xml"), ImportRefusal.UNREACHABLE),
        ],
        [(feeds.url("/a.xml"), "Amnesty news"), (feeds.url("/b.xml"), None)],
    )


async def test_import_refuses_private_addresses_and_bad_urls(
    sessionmaker: Sessions, clock: FakeClock, roles: RoleService, feeds: FeedServer
) -> None:
    """Without ALLOW_PRIVATE_FEED_URLS a 127.0.0.1 feed is refused, like a non-http URL."""
    feeds.add("/a.xml", rss([{"title": "A", "link": "https://e.org/a"}]))
    async with AiohttpFetcher(allow_private=False, timeout=2.0) as fetcher:
        ingest = IngestService(sessionmaker, fetcher, clock, interval_seconds=60)
        service = FeedService(sessionmaker, clock, ingest=ingest, roles=roles)
        report = await service.import_opml(
            opml(outline(feeds.url("/a.xml")), outline("ftp://example.org/feed")), actor=ACTOR
        )
    assert (
        report.added,
        [(r.url, r.reason) for r in report.refused],
        feeds.hits("/a.xml"),
        await count_rows(sessionmaker, Feed),
    ) == (
        (),
        [
            (feeds.url("/a.xml"), ImportRefusal.PRIVATE),
            ("ftp://example.org/feed", ImportRefusal.BAD_URL),
        ],
        0,
        0,
    )


async def test_broken_file_is_refused_whole(
    feed_service: FeedService, feeds: FeedServer, sessionmaker: Sessions
) -> None:
    """A broken file raises before any feed is fetched or stored, even beside a good outline.

    Each kind of broken file and its reason: tests/feeds/test_opml.py.
    """
    feeds.add("/a.xml", rss([{"title": "A", "link": "https://e.org/a"}]))
    good = outline(feeds.url("/a.xml"))
    broken = [
        opml(good, root="rss"),
        opml(good).replace(b"<body>", b"<body><outline text='&undefined;'/>"),
        opml(good, *['<outline text="x"/>'] * MAX_OUTLINES),
        b"<!DOCTYPE o [<!ENTITY e 'x'>]>" + opml(good).split(b"?>", 1)[1],
    ]
    refused = 0
    for content in broken:
        with pytest.raises(InvalidInputError):
            await feed_service.import_opml(content, actor=ACTOR)
        refused += 1
    assert (refused, feeds.hits("/a.xml"), await count_rows(sessionmaker, Feed)) == (4, 0, 0)


async def test_export_then_import_gives_the_same_feeds(
    feed_service: FeedService, feeds: FeedServer, sessionmaker: Sessions
) -> None:
    """Every feed leaves with its name and comes back with it into an empty database."""
    for path in ("/a.xml", "/b.xml", "/c.xml"):
        feeds.add(path, rss([{"title": path, "link": f"https://e.org{path}"}], title=path))
    await feed_service.add_feed(feeds.url("/a.xml"), "Amnesty & friends <news>")
    await feed_service.add_feed(feeds.url("/b.xml"))
    await feed_service.add_feed(feeds.url("/c.xml"), "Climate")
    before = await _feeds(sessionmaker)
    document = await feed_service.export_opml()
    for feed in await feed_service.list_feeds():
        await feed_service.remove_feed(str(feed.id))
    report = await feed_service.import_opml(document, actor=ACTOR)
    assert (len(parse_opml(document)), len(report.added), await _feeds(sessionmaker)) == (
        3,
        3,
        before,
    )
