"""Fleet coordination (bot.services.fleet): the leader lock, fleet-wide send slots, pauses;
and the conversation state service.

Leadership and the budget are PostgreSQL's (skipped with the reason on SQLite, where the one
process always leads); the conversation state runs on both databases.
"""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.services.conversations import TURN_SECONDS, ConversationStateService
from bot.services.fleet import PostgresFleet, SingleProcess
from tests.fakes.clock import FakeClock

Maker = async_sessionmaker[AsyncSession]
# Several instances share PostgreSQL only (SQLite is for one process): these run on it alone.
POSTGRES_ONLY = pytest.mark.parametrize("db_kind", ["postgres"], indirect=True)


def _fleet(engine: AsyncEngine, sessionmaker: Maker, **kwargs: object) -> PostgresFleet:
    options: dict[str, object] = {"rate": 20.0, "heartbeat_seconds": 0.1} | kwargs
    return PostgresFleet(engine, sessionmaker, **options)  # type: ignore[arg-type]


async def _until(condition: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.02)


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_one_leader_and_another_takes_over_when_it_goes(
    db_kind: str, engine: AsyncEngine, sessionmaker: Maker
) -> None:
    """The first instance leads; the second leads once the first lets go; a worker never."""
    first, second = _fleet(engine, sessionmaker), _fleet(engine, sessionmaker)
    worker = _fleet(engine, sessionmaker, lead=False)
    await first.start()
    await second.start()
    await worker.start()
    before = (first.leading, second.leading, worker.leading)
    await first.aclose()
    await _until(lambda: second.leading)
    after = (first.leading, second.leading, worker.leading)
    await second.aclose()
    await worker.aclose()
    assert (before, after) == ((True, False, False), (False, True, False))


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_a_leader_whose_connection_breaks_steps_down(
    db_kind: str, engine: AsyncEngine, sessionmaker: Maker
) -> None:
    """If the connection holding the lock dies and another instance takes the lock, the old
    leader's next heartbeat sees it no longer holds it (its reconnected session is new)."""
    first = _fleet(engine, sessionmaker, heartbeat_seconds=30)
    second = _fleet(engine, sessionmaker, heartbeat_seconds=30)
    await first.start()
    await second.start()
    leading = (first.leading, second.leading)
    connection = first._connection  # the dedicated connection: break it as a network would
    assert connection is not None
    await connection.invalidate()
    await second._try_lead()  # the lock went with the broken connection
    await first._try_lead()
    after = (first.leading, second.leading)
    await first.aclose()
    await second.aclose()
    assert (leading, after) == ((True, False), (False, True))


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_two_instances_share_one_rate(
    db_kind: str, engine: AsyncEngine, sessionmaker: Maker
) -> None:
    """Slots taken by two instances at rate 20 are spread 56 ms apart overall (90 % of the
    rate): never given twice, never more than 20 in a second."""
    fleets = [_fleet(engine, sessionmaker), _fleet(engine, sessionmaker)]
    times: list[float] = []
    for _ in range(10):
        for fleet in fleets:
            wait = await fleet.slot()
            times.append(time.monotonic() + wait)
    times.sort()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    span = times[-1] - times[0]
    for fleet in fleets:
        await fleet.aclose()
    # Each instance maps the database's clock to its own within half a round trip, which a
    # loaded machine stretches to tens of milliseconds: a slot given twice would be ~0 apart.
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert (min(gaps) > 0.015, span > 0.9, busiest <= 20) == (True, True, True), gaps


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_a_pause_reaches_the_other_instance(
    db_kind: str, engine: AsyncEngine, sessionmaker: Maker
) -> None:
    """One instance's 429 pause delays the other's next booked slot by the retry_after."""
    first, second = _fleet(engine, sessionmaker), _fleet(engine, sessionmaker)
    await first.pause(2.0)
    wait = await second.slot()
    await first.aclose()
    await second.aclose()
    assert 1.8 < wait <= 2.05


def test_alone_the_process_leads_and_claims_as_before() -> None:
    """SQLite: always the leader, no shared budget, claims sized by the engine alone."""
    alone = SingleProcess()
    assert (alone.leading, alone.shared, alone.claim_size(200, 0.04)) == (True, False, 200)


async def test_conversation_state_round_trip(sessionmaker: Maker, clock: FakeClock) -> None:
    """A draft and its state come back as saved; no state and no data deletes the row."""
    service = ConversationStateService(sessionmaker, clock)
    draft = {"draft": ("all", "<b>Act</b> now", None)}
    await service.save("broadcast", "1:1", 3, draft)
    saved = await service.load("broadcast", "1:1")
    await service.save("broadcast", "1:1", None, {})
    gone = await service.load("broadcast", "1:1")
    assert saved is not None
    assert (saved.state, saved.user_data, saved.saved_at, gone) == (
        3,
        draft,
        clock.now().timestamp(),
        None,
    )


async def test_the_next_instance_waits_for_the_turn_until_the_state_is_saved(
    sessionmaker: Maker, clock: FakeClock
) -> None:
    """While instance A handles a step (it holds the person's turn), B waits before reading
    the state; A's save ends the turn and B reads the new state."""
    a, b = (
        ConversationStateService(sessionmaker, clock),
        ConversationStateService(sessionmaker, clock),
    )
    await a.save("broadcast", "1:1", 3, {"draft": 1})
    await a.take_turn("broadcast", "1:1", "A")
    waiter = asyncio.create_task(b.wait_turn("broadcast", "1:1", "B"))
    done, _ = await asyncio.wait({waiter}, timeout=0.2)  # A holds the turn: B still waits
    own = await a.wait_turn("broadcast", "1:1", "A")  # A's own turn does not hold A up
    await a.save("broadcast", "1:1", 4, {"draft": 2})
    waited = await asyncio.wait_for(waiter, 5)
    saved = await b.load("broadcast", "1:1")
    assert saved is not None
    # Held up, B would wait TURN_SECONDS (the fake clock never lets the turn lapse).
    assert (done, own < 1, waited >= 0.2, saved.state, saved.user_data) == (
        set(),
        True,
        True,
        4,
        {"draft": 2},
    )


async def test_a_lapsed_or_ended_turn_holds_nobody(sessionmaker: Maker, clock: FakeClock) -> None:
    """A killed instance's turn lapses after TURN_SECONDS; an ended turn (nothing changed)
    keeps the saved conversation; a turn on a person with nothing saved leaves nothing."""
    a, b = (
        ConversationStateService(sessionmaker, clock),
        ConversationStateService(sessionmaker, clock),
    )
    await a.save("broadcast", "1:1", 3, {"draft": 1})
    await a.take_turn("broadcast", "1:1", "A")
    clock.advance(TURN_SECONDS + 1)
    lapsed = await b.wait_turn("broadcast", "1:1", "B")
    await b.take_turn("broadcast", "1:1", "B")
    await b.end_turn("broadcast", "1:1", "B")
    ended = await a.wait_turn("broadcast", "1:1", "A")
    kept = await a.load("broadcast", "1:1")
    await a.take_turn("broadcast", "2:2", "A")
    nothing = await b.load("broadcast", "2:2")
    await a.end_turn("broadcast", "2:2", "A")
    assert kept is not None
    # Held up, a wait would take TURN_SECONDS: a second means it did not wait.
    assert (lapsed < 1, ended < 1, kept.state, nothing) == (True, True, 3, None)


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_a_batch_is_not_sent_on_once_its_lease_may_have_lapsed(
    db_kind: str, engine: AsyncEngine, sessionmaker: Maker
) -> None:
    """A claimed batch holds while a third of its lease is left; a renewal in time extends
    it, a late renewal (after the lease ended: another instance may own the rows) does not."""
    now = [100.0]
    fleet = _fleet(engine, sessionmaker, lease_seconds=3.0, monotonic=lambda: now[0])
    mark = fleet.claim_mark()
    now[0] = 101.5
    fresh = fleet.lease_holds(mark)
    await fleet.renew()  # in time: the lease now ends at 104.5
    now[0] = 103.0
    renewed = fleet.lease_holds(mark)  # 1.5 s left (without the renewal: none)
    now[0] = 103.9
    short = fleet.lease_holds(mark)  # 0.6 s left: under a third of the lease
    now[0] = 105.0
    await fleet.renew()  # too late: renews nothing for this batch
    late = fleet.lease_holds(mark)
    again = fleet.lease_holds(fleet.claim_mark())  # a new claim has its own lease
    assert (fresh, renewed, short, late, again) == (True, True, False, False, True)


@pytest.mark.parametrize(
    "db_kind", ["postgres"], indirect=True
)  # several instances: PostgreSQL only
async def test_slots_missed_by_more_than_an_interval_are_skipped(
    db_kind: str, engine: AsyncEngine, sessionmaker: Maker
) -> None:
    """A booking of 4 slots (rate 20: 0.2 s of sending); a process 3.5 intervals late gets the
    4th at once (the 2nd and 3rd are gone), then books again. At an unpaced rate a booking
    holds 20,000 slots (kept as numbers): a late process gets the next one still due at once."""
    now = [100.0]
    fleet = _fleet(engine, sessionmaker, monotonic=lambda: now[0])
    interval = 1 / (20 * 0.9)
    first = await fleet.slot()
    now[0] += first + 3.5 * interval
    fourth = await fleet.slot()
    fifth = await fleet.slot()  # a new booking, at least the lead ahead
    fast = _fleet(engine, sessionmaker, rate=100_000.0, monotonic=lambda: now[0])
    now[0] += await fast.slot() + 0.1  # half of its 20,000 slots are missed
    late = await fast.slot()
    await fleet.aclose()
    await fast.aclose()
    assert (0 < first <= 0.05, fourth, fifth >= 0.0, late) == (True, 0.0, True, 0.0)
