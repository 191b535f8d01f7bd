"""TrackingService: one generated key per installation, LINK_SECRET instead, a damaged key."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Delivery
from bot.db.repos import StateRepo
from bot.domain.links import LinkTarget
from bot.errors import ConfigError
from bot.services.tracking import SECRET_STATE_KEY, TrackingService
from tests.fakes.clock import FakeClock
from tests.faults.conftest import seed_fan_out

Sessions = async_sessionmaker[AsyncSession]
TARGET = LinkTarget("post", 1, 1)


def service(sessionmaker: Sessions, secret: str | None = None) -> TrackingService:
    return TrackingService(
        sessionmaker, FakeClock(), public_url="https://bot.example.org", secret=secret
    )


async def test_services_starting_together_share_one_generated_key(sessionmaker: Sessions) -> None:
    """Two processes (two services) asking at once end up signing alike."""
    first, second = service(sessionmaker), service(sessionmaker)
    signers = await asyncio.gather(first.signer(), second.signer(), first.signer())
    tokens = {signer.sign(TARGET) for signer in signers}
    async with sessionmaker() as session:
        stored = await StateRepo(session).get(SECRET_STATE_KEY)
    assert (len(tokens), stored is not None and len(stored) >= 43) == (1, True)


async def test_link_secret_is_used_and_nothing_is_stored(sessionmaker: Sessions) -> None:
    with_secret = service(sessionmaker, "sixteen chars or more")
    generated = service(sessionmaker)
    token = (await with_secret.signer()).sign(TARGET)
    async with sessionmaker() as session:
        stored = await StateRepo(session).get(SECRET_STATE_KEY)
    assert (stored, (await generated.signer()).verify(token)) == (None, None)


async def test_a_damaged_stored_key_is_a_config_error_naming_link_secret(
    sessionmaker: Sessions,
) -> None:
    async with sessionmaker.begin() as session:
        await StateRepo(session).set(SECRET_STATE_KEY, "too-short")
    with pytest.raises(ConfigError) as caught:
        await service(sessionmaker).signer()
    assert (caught.value.variable, "too-short" in str(caught.value)) == ("LINK_SECRET", False)


async def test_follow_counts_only_when_told(sessionmaker: Sessions) -> None:
    """The redirect target is the same either way; only a counted follow adds a click."""
    post_id = await seed_fan_out(sessionmaker, 1)
    tracking = service(sessionmaker)
    links = await tracking.tracked_links()
    assert links is not None
    async with sessionmaker() as session:
        delivery_id = (await session.scalars(select(Delivery.id))).one()
    token = links.url_for("post", post_id, delivery_id).rsplit("/", 1)[1]
    urls = [
        await tracking.follow(token, count=False),
        await tracking.follow(token, count=True),
        await tracking.follow(token + "x", count=True),
    ]
    async with sessionmaker() as session:
        clicks = (await session.scalars(select(Delivery.clicks))).one()
    assert (urls, clicks) == (["https://news.example.org/fault"] * 2 + [None], 1)


async def test_no_public_url_means_no_tracked_links(sessionmaker: Sessions) -> None:
    tracking = TrackingService(sessionmaker, FakeClock(), public_url=None, secret=None)
    assert await tracking.tracked_links() is None
