"""PaceRepo on SQLite and PostgreSQL: settings, held deliveries and the digests outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Chat, Delivery, DigestMessage
from bot.db.repos import ChatRepo, DeliveryRepo, PostRepo, TopicRepo
from bot.db.repos.pace import DeliveryPace, PaceRepo
from bot.domain.types import DeliveryStatus, ParsedEntry, TopicSpec

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


async def _seed(sessionmaker: Sessions, chats: tuple[int, ...] = (1, 2), posts: int = 2) -> int:
    """Chats following one topic and `posts` posts fanned out to them; returns the topic id."""
    async with sessionmaker.begin() as session:
        topic = await TopicRepo(session).add(TopicSpec(slug="t", name="T"), NOW)
        for chat_id in chats:
            await ChatRepo(session).ensure(chat_id, "private", NOW)
            await ChatRepo(session).subscribe(chat_id, topic.id, NOW)
        for n in range(posts):
            moment = NOW + timedelta(minutes=n)
            entry = ParsedEntry(
                identity=f"p{n}",
                url=f"https://x.example/{n}",
                title=f"P{n}",
                summary="",
                published=moment,
            )
            ids = await PostRepo(session).insert_new(None, [entry], moment, announced=True)  # type: ignore[arg-type]
            await DeliveryRepo(session).fan_out_post(ids[entry.identity], [topic.id], NOW)
        return topic.id


async def _ids(sessionmaker: Sessions, chat_id: int) -> list[int]:
    async with sessionmaker() as session:
        result = await session.execute(
            select(Delivery.id).where(Delivery.chat_id == chat_id).order_by(Delivery.id)
        )
        return list(result.scalars())


async def test_settings_are_stored_read_and_checked(sessionmaker: Sessions) -> None:
    """set_settings writes only known settings; settings_of lists chats that have any."""
    await _seed(sessionmaker, posts=0)
    async with sessionmaker.begin() as session:
        repo = PaceRepo(session)
        assert await repo.set_settings(1, NOW, digest="daily 18:00", timezone="Europe/Paris")
        assert not await repo.set_settings(99, NOW, quiet="22:00-08:00")
        with pytest.raises(ValueError, match="pace settings"):
            await repo.set_settings(1, NOW, language="fr")
    async with sessionmaker() as session:
        found = await PaceRepo(session).settings_of([1, 2, 99])
        total, paced = await PaceRepo(session).audience_settings(None)
        none_total, _ = await PaceRepo(session).audience_settings([12345])
    assert found == {1: ("Europe/Paris", "daily 18:00", None)}
    assert (total, paced, none_total) == (2, found, 0)


async def test_held_deliveries_and_their_reset(sessionmaker: Sessions) -> None:
    """set_paced holds rows; held_count counts them; reset_held gives them back, due now."""
    await _seed(sessionmaker)
    ids = await _ids(sessionmaker, 1)
    later = NOW + timedelta(hours=6)
    async with sessionmaker.begin() as session:
        repo = PaceRepo(session)
        await repo.set_paced(
            [(ids[0], DeliveryPace.DIGEST, later), (ids[1], DeliveryPace.PACED, later)]
        )
        await repo.set_paced([])
    async with sessionmaker() as session:
        held = await PaceRepo(session).held_count(1)
        claimable = await DeliveryRepo(session).claim_due(later, 10)
    async with sessionmaker.begin() as session:
        reset = await PaceRepo(session).reset_held(1, NOW)
    async with sessionmaker() as session:
        after = await PaceRepo(session).held_count(1)
        rows = (
            (await session.execute(select(Delivery).where(Delivery.id.in_(ids)))).scalars().all()
        )
    # The digest-held row is never claimed on its own; the quiet-held one is, once due.
    assert held == 2
    assert ids[0] not in {d.id for d in claimable}
    assert ids[1] in {d.id for d in claimable}
    assert (reset, after) == (2, 0)
    assert {(r.pace, r.next_attempt_at) for r in rows} == {(0, NOW)}


async def test_digest_build_claim_items_and_finish(sessionmaker: Sessions) -> None:
    """A digest takes the chat's due held posts once; it closes together with its posts."""
    await _seed(sessionmaker)
    ids = await _ids(sessionmaker, 1)
    due = NOW + timedelta(hours=6)
    async with sessionmaker.begin() as session:
        repo = PaceRepo(session)
        await repo.set_paced([(i, DeliveryPace.DIGEST, due) for i in ids])
        assert await repo.chats_with_due_digest(NOW, 10) == []
        assert await repo.build_digest(1, NOW) is None
    async with sessionmaker.begin() as session:
        repo = PaceRepo(session)
        assert await repo.chats_with_due_digest(due, 10) == [1]
        digest_id = await repo.build_digest(1, due)
        assert digest_id is not None
        assert await repo.build_digest(1, due) is None  # nothing left: no second digest
    async with sessionmaker() as session:
        repo = PaceRepo(session)
        claimed = await repo.claim_digests(due, 10)
        excluded = await repo.claim_digests(due, 10, exclude=[digest_id])
        items = await repo.digest_items(digest_id)
    assert ([d.id for d in claimed], excluded) == ([digest_id], [])
    assert [post.title for post, _source, _topic in items] == ["P1", "P0"]  # newest first
    async with sessionmaker.begin() as session:
        repo = PaceRepo(session)
        await repo.mark_part_sent(digest_id, 1)
        await repo.reschedule_digest(
            digest_id, due + timedelta(seconds=4), "5xx", count_attempt=True
        )
    async with sessionmaker.begin() as session:
        closed = await PaceRepo(session).finish_digest(digest_id, DeliveryStatus.SENT, due)
    async with sessionmaker() as session:
        digest = await session.get(DigestMessage, digest_id)
        statuses = set(
            (await session.execute(select(Delivery.status).where(Delivery.id.in_(ids)))).scalars()
        )
    assert digest is not None
    assert (closed, digest.status, digest.parts_sent, digest.attempts, digest.sent_at) == (
        2,
        "sent",
        1,
        2,
        due,
    )
    assert statuses == {"sent"}


async def test_digests_of_unreachable_and_migrated_chats(sessionmaker: Sessions) -> None:
    """Dropping a chat's digests and moving a migrated group's digests to its new id."""
    await _seed(sessionmaker, chats=(1, -5))
    due = NOW + timedelta(hours=1)
    digests = {}
    for chat_id in (1, -5):
        async with sessionmaker.begin() as session:
            repo = PaceRepo(session)
            ids = await _ids(sessionmaker, chat_id)
            await repo.set_paced([(i, DeliveryPace.DIGEST, NOW) for i in ids])
            digests[chat_id] = await repo.build_digest(chat_id, due)
    async with sessionmaker.begin() as session:
        session.add(Chat(id=-1005, type="supergroup", active=True, created_at=NOW, updated_at=NOW))
        await session.flush()
        repo = PaceRepo(session)
        dropped = await repo.drop_digests_for_chat(1, "blocked")
        await repo.set_settings(-5, NOW, quiet="22:00-08:00", timezone="America/Halifax")
        await repo.move_digests(-5, -1005)
    async with sessionmaker() as session:
        rows = {d.id: d for d in (await session.execute(select(DigestMessage))).scalars()}
        moved = await PaceRepo(session).settings_of([-1005])
    assert dropped == 1
    assert (rows[digests[1] or 0].status, rows[digests[-5] or 0].chat_id) == ("dropped", -1005)
    assert moved == {-1005: ("America/Halifax", None, "22:00-08:00")}


async def test_finished_digests_are_deleted_after_the_cutoff(sessionmaker: Sessions) -> None:
    """Retention deletes finished digests created before the cut-off, never pending ones."""
    await _seed(sessionmaker, chats=(1, 2))
    made = {}
    for chat_id in (1, 2):
        async with sessionmaker.begin() as session:
            repo = PaceRepo(session)
            ids = await _ids(sessionmaker, chat_id)
            await repo.set_paced([(i, DeliveryPace.DIGEST, NOW) for i in ids])
            made[chat_id] = await repo.build_digest(chat_id, NOW)
    async with sessionmaker.begin() as session:
        await PaceRepo(session).finish_digest(made[1] or 0, DeliveryStatus.SENT, NOW)
    async with sessionmaker.begin() as session:
        early = await PaceRepo(session).delete_finished_digests(NOW)
        deleted = await PaceRepo(session).delete_finished_digests(NOW + timedelta(days=1))
    async with sessionmaker() as session:
        left = list((await session.execute(select(DigestMessage.id))).scalars())
    assert (early, deleted, left) == (0, 1, [made[2]])
