"""SSRF at the service level (tests/feeds/test_fetch.py covers the fetcher itself): the feed
service refuses private feed URLs unless ALLOW_PRIVATE_FEED_URLS, and a poll whose feed
redirects (or resolves) to a private address records a readable refusal instead of fetching it."""

from __future__ import annotations

import pytest
from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Feed
from bot.domain.clock import SystemClock
from bot.errors import FeedRefusedError
from bot.feeds.fetch import AiohttpFetcher
from bot.services.feeds import FeedService
from bot.services.ingest import IngestService
from bot.services.roles import RoleService
from tests.fakes.routing import routed_connector

PRIVATE = [
    "http://127.0.0.1/feed.xml",
    "http://localhost:8080/feed.xml",
    "http://10.1.2.3/rss",
    "http://192.168.0.1/rss",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/feed",
    "http://[fd00::1]/feed",
]


def _feed_service(
    sessionmaker: async_sessionmaker[AsyncSession], fetcher: AiohttpFetcher, *, allow_private: bool
) -> FeedService:
    clock = SystemClock()
    return FeedService(
        sessionmaker,
        clock,
        ingest=IngestService(sessionmaker, fetcher, clock, interval_seconds=300),
        roles=RoleService(sessionmaker, clock),
        allow_private_urls=allow_private,
    )


@pytest.mark.parametrize("url", PRIVATE)
async def test_catalog_refuses_private_feed_urls(
    sessionmaker: async_sessionmaker[AsyncSession], url: str
) -> None:
    async with AiohttpFetcher(allow_private=False) as fetcher:
        feed_service = _feed_service(sessionmaker, fetcher, allow_private=False)
        with pytest.raises(FeedRefusedError):
            await feed_service.add_feed(url)


async def test_catalog_accepts_private_urls_when_allowed(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with AiohttpFetcher(allow_private=True) as fetcher:
        feed_service = _feed_service(sessionmaker, fetcher, allow_private=True)
        info = await feed_service.add_feed("http://127.0.0.1:9/feed.xml")
    assert info.url.startswith("http://127.0.0.1")


@pytest.mark.parametrize(
    "location", ["http://127.0.0.1:9/x", "http://169.254.169.254/latest/", "http://[::1]/x"]
)
async def test_poll_refuses_a_redirect_to_a_private_address(
    sessionmaker: async_sessionmaker[AsyncSession], location: str
) -> None:
    """A public-looking feed answers 302 to a private address: refused, recorded, not fetched."""
    requested: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        requested.append(str(request.url))
        return web.Response(status=302, headers={"Location": location})

    runner = web.ServerRunner(web.Server(handler))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fetcher = AiohttpFetcher(
        allow_private=False,
        connector=routed_connector(runner.addresses[0][1]),
        resolve=_public_resolver,
    )
    async with fetcher:
        await _feed_service(sessionmaker, fetcher, allow_private=False).add_feed(
            "http://feeds.example.org/rss"
        )
        ingest = IngestService(sessionmaker, fetcher, SystemClock(), interval_seconds=300)
        summary = await ingest.poll_due()
    async with sessionmaker() as session:
        feed = (await session.scalars(select(Feed))).one()
    await runner.cleanup()
    assert [o.status for o in summary.outcomes] == ["error"]
    assert requested == ["http://feeds.example.org/rss"]
    assert 0 < len(feed.last_error or "") < 500


async def test_poll_refuses_a_name_that_resolves_to_loopback(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """DNS rebinding shape: the name looks public, its address is loopback."""
    async with AiohttpFetcher(
        allow_private=False, resolve=_loopback_resolver, timeout=2
    ) as fetcher:
        await _feed_service(sessionmaker, fetcher, allow_private=False).add_feed(
            "http://rebind.example.org/rss"
        )
        async with sessionmaker.begin() as session:
            await session.execute(update(Feed).values(primed=True))
        ingest = IngestService(sessionmaker, fetcher, SystemClock(), interval_seconds=300)
        summary = await ingest.poll_due()
    assert [o.status for o in summary.outcomes] == ["error"]
    assert summary.outcomes[0].error is not None


async def _public_resolver(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


async def _loopback_resolver(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]
