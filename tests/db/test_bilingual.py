"""Storage of the bilingual work (issue 10), on SQLite and PostgreSQL.

ChatRepo.language / set_language, TopicRepo.set_french and look-ups by French name,
FeedRepo.languages, PostRepo.twin_candidates / set_twin, DeliveryRepo.fan_out_post_held /
fan_out_twin, BroadcastRepo.audience_by_language.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Delivery, Post
from bot.db.repos import BroadcastRepo, ChatRepo, DeliveryRepo, FeedRepo, PostRepo, TopicRepo
from bot.domain.languages import TwinCandidate
from bot.domain.types import ParsedEntry, TopicSpec

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
LATER = NOW + timedelta(minutes=30)


async def _chats(session: AsyncSession, languages: dict[int, str | None]) -> None:
    chats = ChatRepo(session)
    for chat_id, language in languages.items():
        await chats.ensure(chat_id, "private", NOW)
        await chats.set_language(chat_id, language, NOW)


async def _post(
    session: AsyncSession, feed_id: int, identity: str, language: str | None, topic_id: int
) -> int:
    posts = PostRepo(session)
    entry = ParsedEntry(identity, f"https://example.org/{identity}", identity, "")
    ids = await posts.insert_new(feed_id, [entry], NOW, announced=True, language=language)
    await posts.add_topics([(ids[identity], topic_id)])
    return ids[identity]


async def _due(session: AsyncSession, post_id: int) -> dict[int, datetime]:
    result = await session.execute(
        select(Delivery.chat_id, Delivery.next_attempt_at).where(Delivery.post_id == post_id)
    )
    return {int(c): when for c, when in result.all()}


async def test_chat_language_is_set_and_read(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """set_language writes a chat's language (None clears it); unknown chats are False."""
    async with sessionmaker.begin() as session:
        await _chats(session, {1: "fr", 2: None})
        chats = ChatRepo(session)
        assert await chats.set_language(99, "fr", NOW) is False
    async with sessionmaker() as session:
        chats = ChatRepo(session)
        assert [await chats.language(i) for i in (1, 2, 99)] == ["fr", None, None]


async def test_topics_are_found_by_their_french_name(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """by_key matches the French name forgivingly; set_french("") clears it."""
    async with sessionmaker.begin() as session:
        topics = TopicRepo(session)
        added = await topics.add(
            TopicSpec(slug="stoptorture", name="StopTorture", name_fr="Halte à la torture"), NOW
        )
        found = await topics.by_key("halte-a-la-TORTURE")
        assert found is not None
        assert found.id == added.id
        topics.set_french(added, "", "")
        await session.flush()
        assert await topics.by_key("Halte à la torture") is None
        assert (added.name_fr, added.name_fr_key, added.description_fr) == (None, None, None)


async def test_feed_languages_leave_out_paused_and_unknown_feeds(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The languages the organisation publishes in: active feeds with a known language."""
    async with sessionmaker.begin() as session:
        feeds = FeedRepo(session)
        en = await feeds.add("https://example.org/en", None, NOW)
        fr = await feeds.add("https://example.org/fr", None, NOW)
        unknown = await feeds.add("https://example.org/x", None, NOW)
        en.language, fr.language, fr.paused, unknown.language = "en", "fr", True, None
        await session.flush()
        assert await feeds.languages() == {"en"}


async def test_twin_candidates_are_recent_unpaired_posts_of_other_languages(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Candidates: another feed, another language, announced, recent, not yet paired."""
    async with sessionmaker.begin() as session:
        feeds = FeedRepo(session)
        en = await feeds.add("https://example.org/en", None, NOW)
        fr = await feeds.add("https://example.org/fr", None, NOW)
        topic = await TopicRepo(session).add(TopicSpec(slug="t", name="T"), NOW)
        english = await _post(session, en.id, "en-1", "en", topic.id)
        paired = await _post(session, en.id, "en-2", "en", topic.id)
        french_twin = await _post(session, fr.id, "fr-2", "fr", topic.id)
        await PostRepo(session).set_twin(french_twin, paired)
        await _post(session, fr.id, "fr-0", "fr", topic.id)  # same language as the asker
        old = await _post(session, en.id, "en-old", "en", topic.id)
        (await session.get(Post, old)).first_seen_at = NOW - timedelta(hours=2)  # type: ignore[union-attr]
        await session.flush()
        found = await PostRepo(session).twin_candidates(
            "fr", ("en", "fr"), fr.id, NOW - timedelta(minutes=30)
        )
        assert found == {english: TwinCandidate(frozenset({topic.id}), None, NOW)}
        # From the English feed's side, nothing: the French posts are its own feed's language
        # or paired already, and a post's own feed is never a twin source.
        assert await PostRepo(session).twin_candidates("en", ("en",), en.id, NOW) == {}


async def test_held_fan_out_and_twin_reach_each_chat_once_in_its_language(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """English post: English chats now, French chats held; the French twin withdraws the
    held rows, reaches the French chats, and leaves out the chats that have the first post."""
    async with sessionmaker.begin() as session:
        await _chats(session, {1: "en", 2: "fr", 3: None, 4: "fr"})
        feeds = FeedRepo(session)
        en = await feeds.add("https://example.org/en", None, NOW)
        fr = await feeds.add("https://example.org/fr", None, NOW)
        topic = await TopicRepo(session).add(TopicSpec(slug="t", name="T"), NOW)
        chats = ChatRepo(session)
        for chat_id in (1, 2, 3, 4):
            await chats.subscribe(chat_id, topic.id, NOW)
        first = await _post(session, en.id, "en-1", "en", topic.id)
        deliveries = DeliveryRepo(session)
        created = await deliveries.fan_out_post_held(first, [topic.id], NOW, {"fr"}, LATER)
        assert created == 4
        assert await _due(session, first) == {1: NOW, 2: LATER, 3: NOW, 4: LATER}
        # Chat 4's held delivery has come due and is being sent: it keeps the first post.
        await session.execute(
            Delivery.__table__.update()  # type: ignore[attr-defined]
            .where(Delivery.post_id == first, Delivery.chat_id == 4)
            .values(next_attempt_at=NOW)
        )
        twin = await _post(session, fr.id, "fr-1", "fr", topic.id)
        created = await deliveries.fan_out_twin(twin, first, [topic.id], "fr", NOW)
        assert created == 1
        assert await _due(session, first) == {1: NOW, 3: NOW, 4: NOW}
        assert await _due(session, twin) == {2: NOW}


async def test_held_fan_out_and_twin_read_the_default_language_for_chats_without_one(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """DEFAULT_LANGUAGE=fr: a chat with no language stored reads French, so an English post
    holds it for the French twin, which then reaches it (and not the English chat)."""
    async with sessionmaker.begin() as session:
        await _chats(session, {1: "en", 2: "fr", 3: None})
        feeds = FeedRepo(session)
        en = await feeds.add("https://example.org/en", None, NOW)
        fr = await feeds.add("https://example.org/fr", None, NOW)
        topic = await TopicRepo(session).add(TopicSpec(slug="t", name="T"), NOW)
        chats = ChatRepo(session)
        for chat_id in (1, 2, 3):
            await chats.subscribe(chat_id, topic.id, NOW)
        first = await _post(session, en.id, "en-1", "en", topic.id)
        deliveries = DeliveryRepo(session)
        created = await deliveries.fan_out_post_held(
            first, [topic.id], NOW, {"fr"}, LATER, default_language="fr"
        )
        assert created == 3
        assert await _due(session, first) == {1: NOW, 2: LATER, 3: LATER}
        twin = await _post(session, fr.id, "fr-1", "fr", topic.id)
        created = await deliveries.fan_out_twin(
            twin, first, [topic.id], "fr", NOW, default_language="fr"
        )
        assert created == 2
        assert await _due(session, first) == {1: NOW}
        assert await _due(session, twin) == {2: NOW, 3: NOW}


async def test_audience_by_language_counts_each_chat_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Chats of a broadcast per reading language; no language counts as English."""
    async with sessionmaker.begin() as session:
        await _chats(session, {1: "en", 2: "fr", 3: None, 4: "de", 5: "fr"})
        topics = TopicRepo(session)
        a = await topics.add(TopicSpec(slug="a", name="A"), NOW)
        b = await topics.add(TopicSpec(slug="b", name="B"), NOW)
        chats = ChatRepo(session)
        for chat_id in (1, 2, 3, 4):
            await chats.subscribe(chat_id, a.id, NOW)
            await chats.subscribe(chat_id, b.id, NOW)
        repo = BroadcastRepo(session)
        assert await repo.audience_by_language([a.id, b.id]) == {"en": 3, "fr": 1}
        assert await repo.audience_by_language(None) == {"en": 3, "fr": 1}
        assert await repo.audience_by_language([]) == {}
        # DEFAULT_LANGUAGE=fr: chats with no language (or one the organisation does not
        # write in) count as French.
        assert await repo.audience_by_language([a.id, b.id], "fr") == {"en": 1, "fr": 3}


async def test_twin_pairing_is_serialised_until_commit(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A second transaction pairing twins waits until the first commits, then sees its post
    (PostgreSQL: the advisory lock; SQLite: BEGIN IMMEDIATE)."""
    async with sessionmaker.begin() as session:
        feeds = FeedRepo(session)
        en = await feeds.add("https://example.org/en", None, NOW)
        fr = await feeds.add("https://example.org/fr", None, NOW)
        topic = await TopicRepo(session).add(TopicSpec(slug="t", name="T"), NOW)
        en_id, fr_id, topic_id = en.id, fr.id, topic.id
    first_committed = asyncio.Event()

    async def second() -> dict[int, TwinCandidate]:
        async with sessionmaker.begin() as session:
            await PostRepo(session).lock_twin_pairing()
            assert first_committed.is_set()
            return await PostRepo(session).twin_candidates("fr", ("en", "fr"), fr_id, NOW)

    async with sessionmaker.begin() as session:
        await PostRepo(session).lock_twin_pairing()
        english = await _post(session, en_id, "en-1", "en", topic_id)
        waiting = asyncio.create_task(second())
        done, _ = await asyncio.wait({waiting}, timeout=0.3)
        assert not done  # blocked behind this transaction
        first_committed.set()
    assert await waiting == {english: TwinCandidate(frozenset({topic_id}), None, NOW)}
