"""ChannelRepo (linked channels and groups) and a channel's pace across a fleet.

The repository runs on both databases; the fleet test on PostgreSQL only (several instances
share PostgreSQL; SQLite is for one process).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.repos import ChannelRepo, ChatRepo, DeliveryRepo, PostRepo, TopicRepo
from bot.domain.types import DeliveryStatus, ParsedEntry, TopicSpec

Maker = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
CHANNEL = -1001234567890


async def _channel_with_posts(sessionmaker: Maker, posts: int) -> list[int]:
    """A channel following one topic with `posts` posts fanned out to it; the topic ids."""
    async with sessionmaker.begin() as session:
        topics = TopicRepo(session)
        first = await topics.add(TopicSpec(slug="alpha", name="Alpha"), NOW)
        second = await topics.add(TopicSpec(slug="beta", name="Beta"), NOW)
        chats = ChatRepo(session)
        await chats.ensure(CHANNEL, "channel", NOW)
        await chats.subscribe(CHANNEL, first.id, NOW)
        entries = [
            ParsedEntry(
                identity=f"c-{n}", url=f"https://news.example.org/c/{n}", title="t", summary="s"
            )
            for n in range(posts)
        ]
        inserted = await PostRepo(session).insert_new(None, entries, NOW, announced=True)  # type: ignore[arg-type]
        for entry in entries:
            await DeliveryRepo(session).fan_out_post(inserted[entry.identity], [first.id], NOW)
        return [first.id, second.id]


async def test_save_find_replace_topics_and_remove(sessionmaker: Maker) -> None:
    """A linked row is created then updated, found by @username in any case; the topic set
    is replaced exactly; removing it leaves the chat."""
    alpha, beta = await _channel_with_posts(sessionmaker, 0)
    async with sessionmaker.begin() as session:
        repo = ChannelRepo(session)
        created = await repo.save(CHANNEL, "Org", "OrgNews", 7, NOW)
        await repo.update_identity(CHANNEL, "Org", "OldName")
        again = await repo.save(CHANNEL, "Org renamed", "OrgNews", 8, NOW)
        await repo.update_identity(-5, "Not linked", None)  # nothing to update
        found = await repo.by_username("orgnews")
        stale = await repo.by_username("OldName")
        changes = await repo.replace_topics(CHANNEL, [beta], NOW)
        same = await repo.replace_topics(CHANNEL, [beta], NOW)
        names = await repo.topic_names([CHANNEL])
        listed = [(row.title, chat.type) for row, chat in await repo.linked()]
        removed = await repo.remove(CHANNEL)
        gone = await repo.get(CHANNEL), await ChatRepo(session).get(CHANNEL) is not None
    assert (
        created,
        again,
        found.title if found else None,
        stale,
        changes,
        same,
        names,
        listed,
        removed,
        gone,
    ) == (
        True,
        False,
        "Org renamed",
        None,
        ([beta], [alpha]),
        ([], []),
        {CHANNEL: ["Beta"]},
        [("Org renamed", "channel")],
        True,
        (None, True),
    )


async def test_health_counts_pending_last_sent_and_recent_failures(sessionmaker: Maker) -> None:
    """Pending deliveries, the latest sent_at, and failures whose last attempt was due in
    the window; older failures do not count."""
    await _channel_with_posts(sessionmaker, 4)
    async with sessionmaker.begin() as session:
        deliveries = DeliveryRepo(session)
        rows = await deliveries.claim_due(NOW, 10)
        ids = sorted(r.id for r in rows)
        await deliveries.mark_sent_many([(ids[0], 1, NOW + timedelta(minutes=5))])
        await deliveries.mark_failed(ids[1], "Bad Request: message is too long")
        await deliveries.reschedule(ids[2], NOW - timedelta(days=2), "old", count_attempt=True)
        await deliveries.mark_failed(ids[2], "old failure")
    async with sessionmaker() as session:
        health = await ChannelRepo(session).health([CHANNEL, -5], NOW - timedelta(hours=24))
    assert health == {CHANNEL: (1, NOW + timedelta(minutes=5), 1)}


async def test_deactivate_reports_the_loss_once(sessionmaker: Maker) -> None:
    """The first deactivation of an active chat says so; a second one does not."""
    await _channel_with_posts(sessionmaker, 0)
    async with sessionmaker.begin() as session:
        chats = ChatRepo(session)
        first = await chats.deactivate(CHANNEL, "the bot was removed from the channel", NOW)
        second = await chats.deactivate(CHANNEL, "Forbidden: bot was kicked", NOW)
        audiences = await chats.audiences([CHANNEL, 1])
        chat = await chats.get(CHANNEL)
    assert (first, second, chat.inactive_reason if chat else None, audiences) == (
        True,
        False,
        "the bot was removed from the channel",
        {CHANNEL: (None, "channel")},
    )


@pytest.mark.slow  # some 150 claim transactions: seconds on a shared machine
@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_two_instances_never_send_a_channel_more_than_20_a_minute(
    db_kind: str, sessionmaker: Maker
) -> None:
    """Two instances take turns at a channel's 25 pending posts, each claiming as soon as
    the other has sent: the fleet-wide rest (3 s after a send to a group or channel) spaces
    the sends, so no 60 seconds hold more than 20 of them."""
    await _channel_with_posts(sessionmaker, 25)
    sends: list[tuple[float, str]] = []
    last = "b"
    second = 0.0
    while len(sends) < 25 and second < 200:
        owner = "a" if last == "b" else "b"  # the instance that did not send last tries
        when = NOW + timedelta(seconds=second)
        async with sessionmaker.begin() as session:
            repo = DeliveryRepo(session)
            rows = await repo.claim_leased(when, 1, owner, 30.0)
            if rows:
                await repo.mark_sent_many([(rows[0].id, 1, when)])
        if rows:
            sends.append((second, owner))
            last = owner
        second += 1.0
    times = [t for t, _ in sends]
    busiest = max(len([t for t in times if start <= t < start + 60]) for start in times)
    async with sessionmaker() as session:
        pending = await DeliveryRepo(session).count(DeliveryStatus.PENDING)
    assert (len(sends), {o for _, o in sends}, busiest, pending) == (25, {"a", "b"}, 20, 0)
