"""The real poller takes every file of the feed corpus (tests/data/corpus) in one cycle.

Each file is served over HTTP by the local feed server. Nothing may escape the cycle: each feed
ends healthy or with a readable error recorded.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Feed, Post
from bot.feeds.fetch import AiohttpFetcher
from bot.services.feeds import FeedService
from bot.services.ingest import IngestService
from bot.services.roles import RoleService
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import FeedServer
from tests.feeds.test_corpus import CORPUS, _corpus_files

_TYPES = {".xml": "application/xml", ".rdf": "application/rdf+xml", ".json": "application/json"}


async def test_corpus_cycle_records_every_feed(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """One poll cycle over all corpus files: no exception, every feed has a success or an error."""
    files = _corpus_files()
    async with FeedServer() as server, AiohttpFetcher(allow_private=True, timeout=5) as fetcher:
        ingest = IngestService(sessionmaker, fetcher, clock, interval_seconds=300, concurrency=16)
        roles = RoleService(sessionmaker, clock)
        feed_service = FeedService(
            sessionmaker, clock, ingest=ingest, roles=roles, allow_private_urls=True
        )
        for index, path in enumerate(files):
            route = f"/corpus/{index}{path.suffix}"
            server.add(route, path.read_bytes(), content_type=_TYPES.get(path.suffix, "text/xml"))
            await feed_service.add_feed(server.url(route))
        summary = await ingest.poll_due()
    async with sessionmaker() as session:
        feeds = list((await session.execute(select(Feed))).scalars())
        posts = len(list((await session.execute(select(Post.id))).scalars()))
    unrecorded = [f.url for f in feeds if f.last_success_at is None and not f.last_error]
    unexpected = [f.last_error for f in feeds if f.last_error and "unexpected" in f.last_error]
    assert (summary.feeds_polled, unrecorded, unexpected, posts > 500) == (
        len(files),
        [],
        [],
        True,
    )


def test_corpus_files_are_found() -> None:
    """The sweep covers the whole corpus (both folders)."""
    folders = {Path(p).relative_to(CORPUS).parts[0] for p in _corpus_files()}
    assert folders == {"feedparser-tests", "real-feeds"}
