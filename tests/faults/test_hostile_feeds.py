"""Hostile feeds in one poll cycle: hanging, redirect loops, 50 MiB, invalid XML, billion laughs,
wrong charsets. The cycle ends, the healthy feed is announced, every bad feed has a readable
error, and memory stays bounded. (The real-world corpus is tests/services/test_corpus_poll.py.)"""

from __future__ import annotations

import time

import psutil
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Delivery, Feed, Post
from bot.domain.clock import SystemClock
from bot.feeds.fetch import AiohttpFetcher
from bot.services.feeds import FeedService
from bot.services.ingest import IngestService
from bot.services.roles import RoleService
from tests.fakes.feedserver import FeedServer, rss
from tests.faults.conftest import seed_fan_out

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        f' <!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">\n'.encode()
        for n in range(1, 10)
    )
    + b']>\n<rss version="2.0"><channel><title>&lol9;</title>'
    b"<item><title>&lol9;</title><guid>l1</guid></item></channel></rss>"
)


async def test_hostile_feeds_cycle_ends_with_readable_errors(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await seed_fan_out(sessionmaker, 3)  # topic "faults" with 3 subscribers
    clock = SystemClock()
    healthy = rss([{"title": "Faults campaign update", "guid": "ok-1", "link": "https://e.org/1"}])
    latin1 = rss([{"title": "Café faults", "guid": "c-1"}]).encode("latin-1")
    async with (
        FeedServer() as srv,
        AiohttpFetcher(allow_private=True, timeout=1.5, total_timeout=3) as fetcher,
    ):
        ingest = IngestService(sessionmaker, fetcher, clock, interval_seconds=300)
        roles = RoleService(sessionmaker, clock)
        feed_service = FeedService(
            sessionmaker, clock, ingest=ingest, roles=roles, allow_private_urls=True
        )
        srv.add("/healthy.xml", healthy)
        srv.add("/hang.xml", healthy)
        srv.hang("/hang.xml")
        srv.redirect("/loop-a.xml", srv.url("/loop-b.xml"))
        srv.redirect("/loop-b.xml", srv.url("/loop-a.xml"))
        srv.huge("/huge.xml", 50 * 1024 * 1024)
        srv.add("/lenient.xml", b"<rss><channel><item><title>broken</title>\x00\x01 <<<")
        srv.add("/invalid.xml", b"\x00\x01 this is <<< not {{ XML at all", content_type="text/xml")
        srv.add("/laughs.xml", LAUGHS)
        srv.add("/latin1-says-utf8.xml", latin1)
        srv.add("/says-utf16.xml", healthy, content_type="application/rss+xml; charset=utf-16")
        bad = ["/hang.xml", "/loop-a.xml", "/huge.xml", "/invalid.xml"]
        survivable = ["/lenient.xml", "/laughs.xml", "/latin1-says-utf8.xml", "/says-utf16.xml"]
        for path in ["/healthy.xml", *bad, *survivable]:
            await feed_service.add_feed(srv.url(path))
        async with sessionmaker.begin() as session:
            await session.execute(update(Feed).values(primed=True))  # announce at once
        rss_before = psutil.Process().memory_info().rss
        started = time.monotonic()
        summary = await ingest.poll_due()
        elapsed = time.monotonic() - started
        growth = psutil.Process().memory_info().rss - rss_before
    async with sessionmaker() as session:
        feeds = {f.url.rsplit("/", 1)[1]: f for f in (await session.scalars(select(Feed))).all()}
        deliveries = (await session.scalars(select(Delivery))).all()
    errors = {name: feeds[name.lstrip("/")].last_error for name in bad}
    assert len(summary.outcomes) == 9
    assert elapsed < 30
    assert feeds["healthy.xml"].last_error is None
    assert len([d for d in deliveries if d.post_id is not None]) >= 3 + 3  # seed + healthy post
    assert all(isinstance(e, str) and 0 < len(e) <= 500 for e in errors.values()), errors
    assert all("Traceback" not in e for e in errors.values() if e)
    # Lenient XML, entity bombs and wrong charsets: parsed (entities never expanded) or a
    # readable error, never a crash.
    for name in survivable:
        feed = feeds[name.lstrip("/")]
        assert feed.last_polled_at is not None
        assert feed.last_error is None or len(feed.last_error) <= 500
    async with sessionmaker() as session:
        titles = (await session.scalars(select(Post.title))).all()
    assert max(len(t) for t in titles) < 10_000
    assert growth < 200 * 1024 * 1024, growth
