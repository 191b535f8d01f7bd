"""Fleet storage: leased claims, the shared send budget (PostgreSQL) and conversation state.

Claims and the budget are what several instances on one PostgreSQL share, so they run on
PostgreSQL only (skipped with the reason on SQLite, where one process keeps today's claims);
conversation state runs on both databases.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db.models import Chat, Delivery, Subscription
from bot.db.repos import DeliveryRepo, FleetRepo, PostRepo, TopicRepo
from bot.db.repos.deliveries import DIGEST_HELD
from bot.domain.types import DeliveryStatus, ParsedEntry, TopicSpec

Maker = async_sessionmaker[AsyncSession]
# Several instances share PostgreSQL only (SQLite is for one process): these run on it alone.
POSTGRES_ONLY = pytest.mark.parametrize("db_kind", ["postgres"], indirect=True)
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


async def _seed(sessionmaker: Maker, chats: list[int], posts: int = 1) -> list[int]:
    """`chats` follow one topic; `posts` posts are fanned out to them. Returns the post ids."""
    async with sessionmaker.begin() as session:
        topic = await TopicRepo(session).add(
            TopicSpec(slug="fleet", name="Fleet", keywords=("fleet",)), NOW
        )
        await session.execute(
            insert(Chat),
            [
                {"id": c, "type": "private", "active": True, "created_at": NOW, "updated_at": NOW}
                for c in chats
            ],
        )
        await session.execute(
            insert(Subscription),
            [{"chat_id": c, "topic_id": topic.id, "created_at": NOW} for c in chats],
        )
        ids = []
        for n in range(posts):
            entry = ParsedEntry(
                identity=f"fleet-{n}", url=f"https://news.example.org/{n}", title="t", summary="s"
            )
            inserted = await PostRepo(session).insert_new(None, [entry], NOW, announced=True)  # type: ignore[arg-type]
            await DeliveryRepo(session).fan_out_post(inserted[f"fleet-{n}"], [topic.id], NOW)
            ids.append(inserted[f"fleet-{n}"])
        return ids


async def _claim(
    sessionmaker: Maker,
    owner: str,
    when: datetime,
    limit: int = 100,
    lease: float = 30.0,
    exclude: tuple[int, ...] = (),
) -> list[tuple[int, int]]:
    async with sessionmaker.begin() as session:
        rows = await DeliveryRepo(session).claim_leased(when, limit, owner, lease, exclude)
        return [(row.id, row.chat_id) for row in rows]


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_two_instances_claim_disjoint_rows_in_claim_order(
    db_kind: str, sessionmaker: Maker
) -> None:
    """Each pending delivery goes to one instance; each batch comes in the index's order."""
    await _seed(sessionmaker, list(range(1, 11)))
    first = await _claim(sessionmaker, "a", NOW, limit=4)
    second = await _claim(sessionmaker, "b", NOW)
    again = await _claim(sessionmaker, "a", NOW, exclude=tuple(i for i, _ in first))
    ids = [i for i, _ in first]
    assert (
        ids == sorted(ids),
        len(first),
        len(second),
        set(ids) & {i for i, _ in second},
        again,
    ) == (True, 4, 6, set(), [])


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_an_expired_lease_passes_to_another_instance(
    db_kind: str, sessionmaker: Maker
) -> None:
    """A dead instance's claims stay its own until the lease ends, then anyone takes them."""
    await _seed(sessionmaker, [1, 2, 3])
    taken = await _claim(sessionmaker, "dead", NOW, lease=10)
    during = await _claim(sessionmaker, "alive", NOW + timedelta(seconds=9))
    after = await _claim(sessionmaker, "alive", NOW + timedelta(seconds=11))
    assert (len(taken), during, sorted(after)) == (3, [], sorted(taken))


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_a_chat_held_or_just_sent_by_another_instance_waits(
    db_kind: str, sessionmaker: Maker
) -> None:
    """Per-chat limits hold fleet-wide: no second message to a chat another instance holds
    or sent to less than a second ago (a group: three seconds)."""
    await _seed(sessionmaker, [1, -5], posts=2)
    a = await _claim(sessionmaker, "a", NOW, limit=1)  # chat -5, first post (lowest id)
    held = await _claim(sessionmaker, "b", NOW)
    async with sessionmaker.begin() as session:
        await DeliveryRepo(session).mark_sent_many([(a[0][0], 7, NOW)])
    in_flight = tuple(i for i, _ in held)
    resting = await _claim(sessionmaker, "b", NOW + timedelta(seconds=2), exclude=in_flight)
    rested = await _claim(sessionmaker, "b", NOW + timedelta(seconds=4), exclude=in_flight)
    assert (
        [c for _, c in a],
        [c for _, c in held],
        resting,
        [c for _, c in rested],
    ) == ([-5], [1, 1], [], [-5])


@POSTGRES_ONLY
async def test_a_post_held_for_a_digest_is_not_claimed_alone(
    db_kind: str, sessionmaker: Maker
) -> None:
    """A due post held for its chat's digest leaves only inside the digest, never by itself."""
    await _seed(sessionmaker, [1, 2])
    async with sessionmaker.begin() as session:
        await session.execute(
            update(Delivery).where(Delivery.chat_id == 2).values(pace=DIGEST_HELD)
        )
    taken = await _claim(sessionmaker, "a", NOW + timedelta(seconds=1))
    assert [c for _, c in taken] == [1]


@POSTGRES_ONLY
async def test_the_leased_claim_plan_is_bounded_by_the_batch_without_statistics(
    db_kind: str, engine: AsyncEngine, sessionmaker: Maker
) -> None:
    """Whatever the statistics (none after a fresh fan-out), the claim walks
    ix_deliveries_pending in order, checks each candidate's chat through a chat_id index and
    leases by primary key: no sort, no bitmap of the pending range, no scan of the table."""
    await _seed(sessionmaker, list(range(1, 301)))
    captured: list[tuple[str, object]] = []

    def capture(*args: object) -> None:
        captured.append((str(args[2]), args[3]))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        await _claim(sessionmaker, "a", NOW, limit=10, exclude=(1, 2))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    lock, lock_params = next(c for c in captured if "pg_advisory_xact_lock" in c[0])
    claim, claim_params = next(c for c in captured if "UPDATE deliveries" in c[0])
    async with engine.connect() as conn:
        await conn.exec_driver_sql(lock, lock_params)  # type: ignore[arg-type]
        rows = await conn.exec_driver_sql("EXPLAIN " + claim, claim_params)  # type: ignore[arg-type]
        plan = " | ".join(str(row[0]) for row in rows)
        await conn.rollback()
    assert (
        "Index Scan using ix_deliveries_pending" in plan,
        "Index Scan using pk_deliveries" in plan,
        "Index Scan using uq_deliveries_chat_id" in plan,
        any(word in plan for word in ("Sort", "Bitmap", "Seq Scan", "Hash")),
    ) == (True, True, True, False), plan


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_release_claims_gives_back_only_the_pending_rows(
    db_kind: str, sessionmaker: Maker
) -> None:
    """A clean stop hands its pending claims to the others at once."""
    await _seed(sessionmaker, [1, 2, 3])
    taken = await _claim(sessionmaker, "a", NOW)
    async with sessionmaker.begin() as session:
        await DeliveryRepo(session).mark_sent_many([(taken[0][0], 1, NOW)])
        released = await DeliveryRepo(session).release_claims("a")
    after = await _claim(sessionmaker, "b", NOW + timedelta(seconds=5))
    async with sessionmaker() as session:
        pending = await DeliveryRepo(session).count(DeliveryStatus.PENDING)
    assert (released, len(after), pending) == (2, 2, 2)


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_renewing_extends_only_live_claims_of_the_owner(
    db_kind: str, sessionmaker: Maker
) -> None:
    """A running instance keeps what it holds; an expired lease (maybe taken) is not renewed."""
    await _seed(sessionmaker, [1, 2, 3])
    await _claim(sessionmaker, "a", NOW, limit=2, lease=10)
    await _claim(sessionmaker, "b", NOW, lease=1)
    async with sessionmaker.begin() as session:
        renewed_a = await DeliveryRepo(session).renew_claims("a", NOW + timedelta(seconds=5), 10)
        renewed_b = await DeliveryRepo(session).renew_claims("b", NOW + timedelta(seconds=5), 10)
    taken = await _claim(sessionmaker, "c", NOW + timedelta(seconds=12))
    later = await _claim(sessionmaker, "c", NOW + timedelta(seconds=16))
    assert (renewed_a, renewed_b, len(taken), len(later)) == (2, 0, 1, 3)


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_renewing_skips_rows_being_marked_instead_of_waiting_for_them(
    db_kind: str, sessionmaker: Maker
) -> None:
    """A row another transaction holds (the instance's own flush marking it sent) is not
    waited for: waiting in another lock order than the flush's deadlocked."""
    await _seed(sessionmaker, [1, 2, 3])
    claimed = await _claim(sessionmaker, "a", NOW, lease=10)
    async with sessionmaker.begin() as flushing:
        await flushing.execute(
            update(Delivery)
            .where(Delivery.id == claimed[0][0])
            .values(status=DeliveryStatus.SENT.value, sent_at=NOW)
        )
        async with sessionmaker.begin() as session:
            renewed = await asyncio.wait_for(
                DeliveryRepo(session).renew_claims("a", NOW + timedelta(seconds=5), 10), 5
            )
    assert (len(claimed), renewed) == (3, 2)


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_grants_book_consecutive_slots_for_the_whole_fleet(
    db_kind: str, sessionmaker: Maker
) -> None:
    """Two bookings of five slots 0.1 s apart: the second starts where the first ends."""
    async with sessionmaker.begin() as session:
        one = await FleetRepo(session).grant(5, 0.1, lead=0.02)
    async with sessionmaker.begin() as session:
        two = await FleetRepo(session).grant(5, 0.1, lead=0.02)
    first, second = one.first_at - one.now, two.first_at - one.now
    assert (0 < first <= 0.02, abs(second - first - 0.5) < 0.001, one.paused_for) == (
        True,
        True,
        0.0,
    )


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_a_pause_holds_every_later_grant(db_kind: str, sessionmaker: Maker) -> None:
    """A 429's pause moves the fleet's next slot past it; a shorter pause never shortens it."""
    async with sessionmaker.begin() as session:
        await FleetRepo(session).pause(3)
        await FleetRepo(session).pause(1)
        paused = await FleetRepo(session).paused_for()
    async with sessionmaker.begin() as session:
        grant = await FleetRepo(session).grant(1, 0.1)
    first = grant.first_at - grant.now
    assert (2.5 < paused <= 3, 2.5 < first <= 3, 2.5 < grant.paused_for <= 3) == (
        True,
        True,
        True,
    )


async def test_conversation_state_round_trip(sessionmaker: Maker) -> None:
    """A value is stored, replaced, listed and deleted (both databases)."""
    repo_now = NOW
    async with sessionmaker.begin() as session:
        repo = FleetRepo(session)
        await repo.save_state("broadcast", "1:1", "one", repo_now)
        await repo.save_state("broadcast", "1:1", "two", repo_now)
        await repo.save_state("broadcast", "2:2", "other", repo_now)
        await repo.save_state("other", "1:1", "elsewhere", repo_now)
    async with sessionmaker.begin() as session:
        repo = FleetRepo(session)
        one = await repo.load_state("broadcast", "1:1")
        await repo.save_state("broadcast", "2:2", None, repo_now)
        listed = await repo.load_states("broadcast")
        missing = await repo.load_state("broadcast", "3:3")
    assert (one, listed, missing) == ("two", {"1:1": "two"}, None)


async def test_a_turn_only_row_holds_no_conversation(sessionmaker: Maker) -> None:
    """A turn taken on a key with nothing saved is seen by `turn` but not by the loads; its
    end removes the row, a save ends a turn and keeps the value (both databases)."""
    until = NOW + timedelta(seconds=10)
    async with sessionmaker.begin() as session:
        repo = FleetRepo(session)
        await repo.take_turn("broadcast", "1:1", "a", NOW, until)
        await repo.save_state("broadcast", "2:2", "kept", NOW)
        await repo.take_turn("broadcast", "2:2", "b", NOW, until)
    async with sessionmaker.begin() as session:
        repo = FleetRepo(session)
        held = (await repo.turn("broadcast", "1:1"), await repo.turn("broadcast", "2:2"))
        loaded = (await repo.load_state("broadcast", "1:1"), await repo.load_states("broadcast"))
        await repo.end_turn("broadcast", "1:1", "someone else")  # not theirs: no change
        await repo.save_state("broadcast", "2:2", "next", NOW)
    async with sessionmaker.begin() as session:
        repo = FleetRepo(session)
        still = await repo.turn("broadcast", "1:1")
        await repo.end_turn("broadcast", "1:1", "a")
    async with sessionmaker.begin() as session:
        repo = FleetRepo(session)
        after = (await repo.turn("broadcast", "1:1"), await repo.turn("broadcast", "2:2"))
        values = await repo.load_states("broadcast")
    assert held == (("a", until), ("b", until))
    assert (loaded, still, after, values) == (
        (None, {"2:2": "kept"}),
        ("a", until),
        (None, None),
        {"2:2": "next"},
    )
