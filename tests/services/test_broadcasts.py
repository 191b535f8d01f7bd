"""Organiser use-cases on a real database (SQLite; PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import AuditEntry, Broadcast, Delivery
from bot.db.repos import ChatRepo, PostRepo, TopicRepo
from bot.domain.types import DeliveryStatus, ParsedEntry, TopicSpec
from bot.errors import InvalidInputError, NotFoundError, TopicNotFoundError
from bot.services.broadcasts import (
    BroadcastDraft,
    BroadcastService,
    ProgressThrottle,
    split_topic_keys,
    validate_action_url,
)
from tests.fakes.clock import FakeClock

Maker = async_sessionmaker[AsyncSession]
ORGANISER = 777
TOPICS = (
    TopicSpec(slug="stop-torture", name="StopTorture", emoji="✋"),
    TopicSpec(slug="write-for-rights", name="Write for Rights"),
    TopicSpec(slug="indigenous-rights", name="Indigenous rights"),
)
# chat -> slugs it follows; 104 follows both broadcast topics, 105 is inactive.
FOLLOWS = {
    101: ["stop-torture"],
    102: ["write-for-rights"],
    103: ["indigenous-rights"],
    104: ["stop-torture", "write-for-rights"],
    105: ["stop-torture"],
}


@pytest.fixture
async def topic_ids(sessionmaker: Maker, clock: FakeClock) -> dict[str, int]:
    """Three topics, five chats following them (one inactive), by slug."""
    now = clock.now()
    async with sessionmaker.begin() as session:
        repo = TopicRepo(session)
        ids = {spec.slug: (await repo.add(spec, now)).id for spec in TOPICS}
        chats = ChatRepo(session)
        for chat_id, slugs in FOLLOWS.items():
            await chats.ensure(chat_id, "private", now)
            for slug in slugs:
                await chats.subscribe(chat_id, ids[slug], now)
        await chats.set_inactive(105, "blocked", now)
    return ids


@pytest.fixture
def service(sessionmaker: Maker, clock: FakeClock) -> BroadcastService:
    """The service under test."""
    return BroadcastService(sessionmaker, clock, UTC)


async def _draft(service: BroadcastService, *words: str) -> BroadcastDraft:
    audience = await service.audience(list(words))
    return BroadcastDraft(audience=audience, text_html="<b>Act now</b>")


async def _deliveries(sessionmaker: Maker) -> list[tuple[int, int | None]]:
    async with sessionmaker() as session:
        result = await session.execute(
            select(Delivery.chat_id, Delivery.topic_id).order_by(Delivery.chat_id)
        )
        return [(c, t) for c, t in result.all()]


async def _audit(sessionmaker: Maker) -> list[str]:
    async with sessionmaker() as session:
        result = await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))
        return list(result.scalars())


async def test_audience_counts_distinct_active_chats(
    service: BroadcastService, topic_ids: dict[str, int]
) -> None:
    """Two topics reach each active follower once: 101, 102 and 104 (105 is inactive)."""
    audience = await service.audience(["stoptorture", "write", "for", "rights"])
    assert (audience.chats, [t.slug for t in audience.topics]) == (
        3,
        ["stop-torture", "write-for-rights"],
    )


async def test_audience_all_counts_every_active_subscriber(
    service: BroadcastService, topic_ids: dict[str, int]
) -> None:
    """ "all" reaches every active chat with any subscription."""
    audience = await service.audience(["ALL"])
    assert (audience.everyone, audience.chats, audience.topic_ids) == (True, 4, None)


async def test_audience_unknown_topic_suggests(
    service: BroadcastService, topic_ids: dict[str, int]
) -> None:
    """An unknown topic raises TopicNotFoundError with close names."""
    with pytest.raises(TopicNotFoundError) as caught:
        await service.audience(["torture-stop"])
    assert "StopTorture" in caught.value.suggestions


async def test_send_now_fans_out_once_per_chat(
    service: BroadcastService, sessionmaker: Maker, topic_ids: dict[str, int]
) -> None:
    """A chat following both topics gets one delivery, through the lower topic id."""
    draft = await _draft(service, "stop-torture", "write-for-rights")
    view = await service.send_now(draft, actor_id=ORGANISER, actor="@org (777)")
    low = min(topic_ids["stop-torture"], topic_ids["write-for-rights"])
    assert (view.total, await _deliveries(sessionmaker)) == (
        3,
        [
            (101, topic_ids["stop-torture"]),
            (102, topic_ids["write-for-rights"]),
            (104, low),
        ],
    )


async def test_send_now_writes_audit_row(
    service: BroadcastService, sessionmaker: Maker, topic_ids: dict[str, int]
) -> None:
    """Sending records "broadcast.send" in the audit log."""
    await service.send_now(await _draft(service, "all"), actor_id=ORGANISER, actor="777")
    assert await _audit(sessionmaker) == ["broadcast.send"]


async def test_schedule_writes_row_without_deliveries(
    service: BroadcastService, sessionmaker: Maker, clock: FakeClock, topic_ids: dict[str, int]
) -> None:
    """A scheduled broadcast is a row with its time and no deliveries yet."""
    when = clock.now() + timedelta(hours=1)
    view = await service.schedule(
        await _draft(service, "all"), when, actor_id=ORGANISER, actor="777"
    )
    assert (view.status, view.scheduled_for, await _deliveries(sessionmaker)) == (
        "scheduled",
        when,
        [],
    )


async def test_schedule_refuses_past(
    service: BroadcastService, clock: FakeClock, topic_ids: dict[str, int]
) -> None:
    """Scheduling at or before now is refused."""
    with pytest.raises(InvalidInputError):
        await service.schedule(
            await _draft(service, "all"), clock.now(), actor_id=ORGANISER, actor="777"
        )


async def test_fire_due_waits_for_time(
    service: BroadcastService, clock: FakeClock, topic_ids: dict[str, int]
) -> None:
    """Nothing starts before the scheduled time."""
    when = clock.now() + timedelta(minutes=5)
    await service.schedule(await _draft(service, "all"), when, actor_id=ORGANISER, actor="777")
    clock.advance(minutes=4)
    assert await service.fire_due() == []


async def test_fire_due_racing_fans_out_once(
    service: BroadcastService, sessionmaker: Maker, clock: FakeClock, topic_ids: dict[str, int]
) -> None:
    """Two racing firings start the broadcast once and queue one delivery per chat."""
    when = clock.now() + timedelta(minutes=5)
    view = await service.schedule(
        await _draft(service, "all"), when, actor_id=ORGANISER, actor="777"
    )
    clock.advance(minutes=5)
    first, second = await asyncio.gather(service.fire_due(), service.fire_due())
    assert (sorted(first + second), len(await _deliveries(sessionmaker))) == ([view.id], 4)


async def test_cancel_scheduled_stops_it(
    service: BroadcastService, sessionmaker: Maker, clock: FakeClock, topic_ids: dict[str, int]
) -> None:
    """A cancelled broadcast never fans out, and the cancel is audited."""
    when = clock.now() + timedelta(minutes=5)
    view = await service.schedule(
        await _draft(service, "all"), when, actor_id=ORGANISER, actor="777"
    )
    changed = await service.cancel(view.id, actor_id=ORGANISER, actor="777")
    clock.advance(minutes=10)
    assert (changed, await service.fire_due(), await _audit(sessionmaker)) == (
        True,
        [],
        ["broadcast.schedule", "broadcast.cancel"],
    )


async def test_cancel_twice_reports_no_change(
    service: BroadcastService, clock: FakeClock, topic_ids: dict[str, int]
) -> None:
    """Cancelling a broadcast that is no longer scheduled changes nothing."""
    when = clock.now() + timedelta(minutes=5)
    view = await service.schedule(
        await _draft(service, "all"), when, actor_id=ORGANISER, actor="777"
    )
    await service.cancel(view.id, actor_id=ORGANISER, actor="777")
    assert await service.cancel(view.id, actor_id=ORGANISER, actor="777") is False


async def test_cancel_unknown_raises(service: BroadcastService, topic_ids: dict[str, int]) -> None:
    """Cancelling an id no broadcast has raises NotFoundError."""
    with pytest.raises(NotFoundError):
        await service.cancel(999, actor_id=ORGANISER, actor="777")


async def test_finish_if_done_waits_for_pending(
    service: BroadcastService, sessionmaker: Maker, topic_ids: dict[str, int]
) -> None:
    """A broadcast finishes only when none of its deliveries is pending."""
    view = await service.send_now(await _draft(service, "all"), actor_id=ORGANISER, actor="777")
    early = await service.finish_if_done(view.id)
    async with sessionmaker.begin() as session:
        await session.execute(Delivery.__table__.update().values(status=DeliveryStatus.SENT.value))
    done = await service.finish_if_done(view.id)
    assert (early, done is not None and (done.status, done.sent)) == (None, ("done", 4))


async def test_plan_push_finds_post_by_canonical_url(
    service: BroadcastService, sessionmaker: Maker, clock: FakeClock, topic_ids: dict[str, int]
) -> None:
    """/push finds a stored post by its canonical URL and splits topic from intro."""
    entry = ParsedEntry(
        identity="p1", url="https://news.example.org/a", title="A post", summary=""
    )
    async with sessionmaker.begin() as session:
        await PostRepo(session).insert_new(None, [entry], clock.now(), announced=True)  # type: ignore[arg-type]
    plan = await service.plan_push(
        "HTTPS://News.Example.org/a?utm_source=x#top", ["write", "for", "rights", "Please", "act"]
    )
    assert (plan.post.title, plan.audience.topics[0].slug, plan.intro) == (
        "A post",
        "write-for-rights",
        "Please act",
    )


async def test_plan_push_unknown_url_raises(
    service: BroadcastService, topic_ids: dict[str, int]
) -> None:
    """A URL no stored post has raises NotFoundError."""
    with pytest.raises(NotFoundError):
        await service.plan_push("https://nowhere.example.org/x", ["stop-torture"])


async def test_overview_lists_recent_and_scheduled(
    service: BroadcastService, clock: FakeClock, sessionmaker: Maker, topic_ids: dict[str, int]
) -> None:
    """/broadcasts shows sent ones under recent and waiting ones under scheduled."""
    sent = await service.send_now(await _draft(service, "all"), actor_id=ORGANISER, actor="7")
    later = await service.schedule(
        await _draft(service, "stop-torture"),
        clock.now() + timedelta(hours=2),
        actor_id=ORGANISER,
        actor="7",
    )
    recent, scheduled = await service.overview()
    assert ([v.id for v in recent], [(v.id, v.topics) for v in scheduled]) == (
        [sent.id],
        [(later.id, ("✋ StopTorture",))],
    )


def test_throttle_limits_edits_to_interval(clock: FakeClock) -> None:
    """After an edit, the next waits 3 s of clock time; a final edit does not wait."""
    throttle = ProgressThrottle(clock, 3.0)
    throttle.edited(1, "a")
    soon = throttle.should_edit(1, "b")
    final = throttle.should_edit(1, "b", final=True)
    clock.advance(3)
    later = throttle.should_edit(1, "b")
    assert (soon, final, later, throttle.should_edit(1, "a")) == (False, True, True, False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("skip", None),
        (" SKIP ", None),
        ("https://act.example.org/sign?x=1", "https://act.example.org/sign?x=1"),
        ("http://example.org", "http://example.org"),
    ],
)
def test_validate_action_url_accepts(text: str, expected: str | None) -> None:
    """http(s) links with a host are kept; "skip" means no button."""
    assert validate_action_url(text) == expected


@pytest.mark.parametrize(
    "text", ["javascript:alert(1)", "ftp://example.org", "example.org", "https://", "https://a b"]
)
def test_validate_action_url_refuses(text: str) -> None:
    """Anything but an absolute http(s) URL with a host is refused."""
    with pytest.raises(InvalidInputError):
        validate_action_url(text)


def test_split_topic_keys_prefers_longest_names() -> None:
    """Multi-word names are taken whole; commas split explicitly."""
    known = {"write for rights", "stoptorture"}.__contains__
    assert (
        split_topic_keys(["write", "for", "rights", "stoptorture"], known),
        split_topic_keys(["a", "b,", "c"], known),
    ) == (["write for rights", "stoptorture"], ["a b", "c"])


async def test_broadcast_row_keeps_topics(
    service: BroadcastService, sessionmaker: Maker, topic_ids: dict[str, int]
) -> None:
    """The row stores the chosen topic ids and the draft's HTML."""
    view = await service.send_now(
        await _draft(service, "stop-torture"), actor_id=ORGANISER, actor="7"
    )
    async with sessionmaker() as session:
        row = await session.get(Broadcast, view.id)
        count = await session.scalar(select(func.count()).select_from(Broadcast))
    assert row is not None
    assert (row.topic_ids, row.text_html, row.status, count) == (
        [topic_ids["stop-torture"]],
        "<b>Act now</b>",
        "sending",
        1,
    )
