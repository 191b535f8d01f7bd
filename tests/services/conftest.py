"""Fixtures of the service tests: the local feed server, the real fetcher and the services.

Every service runs on the real database of the `sessionmaker` fixture (SQLite, and PostgreSQL
when TEST_DATABASE_URL is set) with the fake clock; ADMIN_IDS holds `support.ADMIN_ID`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.domain.topics import default_topics_text, parse_topics_toml
from bot.feeds.fetch import AiohttpFetcher
from bot.services.feeds import FeedService
from bot.services.ingest import IngestService
from bot.services.reports import ReportService
from bot.services.roles import RoleService
from bot.services.topics import TopicService
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import FeedServer
from tests.services.support import ADMIN_ID, Sessions


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    """A local feed server."""
    async with FeedServer() as server:
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[AiohttpFetcher]:
    """The real fetcher, allowed to reach the loopback feed server."""
    async with AiohttpFetcher(allow_private=True, timeout=2.0) as real:
        yield real


@pytest.fixture
def ingest(sessionmaker: Sessions, fetcher: AiohttpFetcher, clock: FakeClock) -> IngestService:
    """The polling service with a pinned jitter."""
    return IngestService(sessionmaker, fetcher, clock, interval_seconds=60, rng=lambda: 0.0)


@pytest.fixture
async def topics(sessionmaker: Sessions, clock: FakeClock) -> TopicService:
    """The topic use-cases, with the bundled topics loaded."""
    service = TopicService(sessionmaker, clock)
    await service.import_topics(parse_topics_toml(default_topics_text()))
    return service


@pytest.fixture
def roles(sessionmaker: Sessions, clock: FakeClock) -> RoleService:
    """The role use-cases, with ADMIN_ID in ADMIN_IDS."""
    return RoleService(sessionmaker, clock, [ADMIN_ID])


@pytest.fixture
def feed_service(
    sessionmaker: Sessions, clock: FakeClock, ingest: IngestService, roles: RoleService
) -> FeedService:
    """The feed use-cases, allowed to add the loopback feed server's URLs."""
    return FeedService(sessionmaker, clock, ingest=ingest, roles=roles, allow_private_urls=True)


@pytest.fixture
def reports(sessionmaker: Sessions, clock: FakeClock) -> ReportService:
    """The admins' figures."""
    return ReportService(sessionmaker, clock)
