"""AdminService on SQLite and PostgreSQL, with a fake clock and the local feed server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import AuditEntry, Delivery, Feed, Topic, TopicRule, User
from bot.db.repos import ChatRepo, TopicRepo, UserRepo
from bot.domain.topics import default_topics_text, parse_topics_toml
from bot.domain.types import Role
from bot.errors import AlreadyExistsError, InvalidInputError, NotFoundError, TopicNotFoundError
from bot.feeds.fetch import HttpxFetcher
from bot.services.admin import Actor, AdminService, Identity, parse_audit_limit
from bot.services.catalog import CatalogService
from bot.services.ingest import IngestService
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import FeedServer, rss

ADMIN_ID = 9001
ACTOR = Actor.of(ADMIN_ID, "boss")
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    """A local feed server."""
    async with FeedServer() as server:
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[HttpxFetcher]:
    """The real fetcher, allowed to reach the loopback feed server."""
    async with HttpxFetcher(allow_private=True, timeout=2.0) as real:
        yield real


@pytest.fixture
async def catalog(sessionmaker: Sessions, clock: FakeClock) -> CatalogService:
    """The catalogue with the bundled topics."""
    service = CatalogService(sessionmaker, clock, allow_private_urls=True)
    await service.import_topics(parse_topics_toml(default_topics_text()))
    return service


@pytest.fixture
def ingest(sessionmaker: Sessions, fetcher: HttpxFetcher, clock: FakeClock) -> IngestService:
    """The polling service with a pinned jitter."""
    return IngestService(sessionmaker, fetcher, clock, interval_seconds=60, rng=lambda: 0.0)


@pytest.fixture
def admin(
    sessionmaker: Sessions, clock: FakeClock, catalog: CatalogService, ingest: IngestService
) -> AdminService:
    """The admin service with ADMIN_ID in ADMIN_IDS."""
    return AdminService(sessionmaker, clock, [ADMIN_ID], catalog=catalog, ingest=ingest)


async def _count(sessionmaker: Sessions, model: Any, *where: Any) -> int:
    async with sessionmaker() as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(stmt)).scalar_one())


async def _actions(sessionmaker: Sessions) -> list[str]:
    async with sessionmaker() as session:
        result = await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))
        return [a for a in result.scalars() if a != "topics.import"]


async def _remember(sessionmaker: Sessions, clock: FakeClock, user_id: int, name: str) -> None:
    async with sessionmaker.begin() as session:
        await UserRepo(session).upsert(user_id, name, clock.now())


# -- roles ------------------------------------------------------------------------------------


async def test_grant_by_id_creates_row_and_audits(
    admin: AdminService, sessionmaker: Sessions
) -> None:
    """Granting by id to an unknown user creates their row with the role and an audit row."""
    change = await admin.grant(ACTOR, "555", "organiser")
    assert (
        change.changed,
        await admin.whoami(555),
        await _count(sessionmaker, User, User.granted_by == ADMIN_ID),
        await _actions(sessionmaker),
    ) == (True, Identity(555, Role.ORGANISER, "granted"), 1, ["role.grant"])


async def test_grant_by_username_is_case_insensitive(
    admin: AdminService, sessionmaker: Sessions, clock: FakeClock
) -> None:
    """@Username resolves to the user who last used it, whatever the case."""
    await _remember(sessionmaker, clock, 556, "Ana_Org")
    change = await admin.grant(ACTOR, "@ANA_ORG", "admin")
    assert (change.user_id, change.username, (await admin.whoami(556)).role) == (
        556,
        "ana_org",
        Role.ADMIN,
    )


async def test_grant_unknown_username_raises(admin: AdminService) -> None:
    """An @username nobody has used with the bot is NotFoundError."""
    with pytest.raises(NotFoundError):
        await admin.grant(ACTOR, "@ghost", "admin")


@pytest.mark.parametrize(("target", "role"), [("abc", "admin"), ("555", "king"), ("-5", "admin")])
async def test_grant_bad_input_raises(admin: AdminService, target: str, role: str) -> None:
    """A target that is no id or @username, or a role that is not one, is refused."""
    with pytest.raises(InvalidInputError):
        await admin.grant(ACTOR, target, role)


async def test_grant_same_role_twice_is_one_change(
    admin: AdminService, sessionmaker: Sessions
) -> None:
    """Granting a role someone has already changes nothing and writes no second audit row."""
    await admin.grant(ACTOR, "555", "admin")
    again = await admin.grant(ACTOR, "555", "admin")
    assert (again.changed, await _actions(sessionmaker)) == (False, ["role.grant"])


async def test_grant_to_admin_ids_admin_is_harmless(
    admin: AdminService, sessionmaker: Sessions
) -> None:
    """Granting to an ADMIN_IDS admin (e.g. oneself) changes nothing."""
    change = await admin.grant(ACTOR, str(ADMIN_ID), "organiser")
    assert (change.admin_ids, change.changed, await _count(sessionmaker, User)) == (True, False, 0)


async def test_revoke_makes_supporter_and_audits(
    admin: AdminService, sessionmaker: Sessions
) -> None:
    """Revoking a granted admin makes them a supporter again, with an audit row."""
    await admin.grant(ACTOR, "555", "admin")
    change = await admin.revoke(ACTOR, "555")
    assert (change.previous, (await admin.whoami(555)).role, await _actions(sessionmaker)) == (
        Role.ADMIN,
        Role.SUPPORTER,
        ["role.grant", "role.revoke"],
    )


async def test_revoke_admin_ids_admin_refused(admin: AdminService, sessionmaker: Sessions) -> None:
    """An ADMIN_IDS admin cannot be revoked in chat; the reason names ADMIN_IDS."""
    with pytest.raises(InvalidInputError, match="ADMIN_IDS"):
        await admin.revoke(ACTOR, str(ADMIN_ID))


async def test_team_lists_admin_ids_then_grants(
    admin: AdminService, sessionmaker: Sessions, clock: FakeClock
) -> None:
    """The team: ADMIN_IDS admins, then granted admins, then organisers."""
    await _remember(sessionmaker, clock, 600, "org")
    await admin.grant(ACTOR, "600", "organiser")
    await admin.grant(ACTOR, "700", "admin")
    team = [(m.user_id, m.username, m.role, m.source) for m in await admin.team()]
    assert team == [
        (ADMIN_ID, None, "admin", "ADMIN_IDS"),
        (700, None, "admin", "granted"),
        (600, "org", "organiser", "granted"),
    ]


# -- topics -----------------------------------------------------------------------------------


async def test_add_topic_creates_and_audits(admin: AdminService, sessionmaker: Sessions) -> None:
    """A new topic is stored with its slug and name, and audited."""
    detail = await admin.add_topic(ACTOR, "climate", "Climate  justice")
    assert (detail.slug, detail.name, detail.rules, await _actions(sessionmaker)) == (
        "climate",
        "Climate justice",
        (),
        ["topic.add"],
    )


@pytest.mark.parametrize(("slug", "name"), [("stoptorture", "Other"), ("other", "stop torture")])
async def test_add_topic_taken_slug_or_name_refused(
    admin: AdminService, slug: str, name: str
) -> None:
    """A slug or name another topic has (forgivingly) is refused."""
    with pytest.raises(AlreadyExistsError):
        await admin.add_topic(ACTOR, slug, name)


async def test_edit_topic_name_taken_refused(admin: AdminService) -> None:
    """Renaming a topic to another topic's name is refused."""
    with pytest.raises(InvalidInputError, match="taken"):
        await admin.edit_topic(ACTOR, "stoptorture", "name", "Write for rights")


async def test_edit_topic_clears_emoji(admin: AdminService, sessionmaker: Sessions) -> None:
    """'-' clears the emoji."""
    detail = await admin.edit_topic(ACTOR, "stoptorture", "emoji", "-")
    assert (detail.emoji, await _actions(sessionmaker)) == ("", ["topic.edit.emoji"])


async def test_change_rule_add_is_idempotent(admin: AdminService, sessionmaker: Sessions) -> None:
    """Adding a rule twice (any case) stores it once and audits once."""
    first = await admin.change_rule(ACTOR, "stoptorture", "add", "keyword", "Sleep Deprivation")
    second = await admin.change_rule(ACTOR, "StopTorture", "add", "KEYWORD", "sleep deprivation")
    assert (
        first.changed,
        second.changed,
        await _count(sessionmaker, TopicRule, TopicRule.value_key == "sleep deprivation"),
        await _actions(sessionmaker),
    ) == (True, False, 1, ["topic.rule.add"])


@pytest.mark.parametrize(
    ("op", "kind", "value"),
    [
        ("add", "keyword", "a*"),
        ("add", "colour", "x"),
        ("drop", "keyword", "x"),
        ("add", "keyword", "x" * 101),
    ],
)
async def test_change_rule_bad_input_refused(
    admin: AdminService, op: str, kind: str, value: str
) -> None:
    """Unknown operations or kinds and rules a topics file would refuse are refused."""
    with pytest.raises(InvalidInputError):
        await admin.change_rule(ACTOR, "stoptorture", op, kind, value)


async def test_change_rule_changes_matching(admin: AdminService, sessionmaker: Sessions) -> None:
    """The matcher's rules include a rule right after it is added."""
    await admin.change_rule(ACTOR, "indigenous-rights", "add", "exclude", "first nations bank")
    async with sessionmaker() as session:
        rules = {r.slug: r for r in await TopicRepo(session).matching_rules()}
    assert "first nations bank" in rules["indigenous-rights"].excludes


async def test_archive_topic_queues_notice_for_active_subscribers(
    admin: AdminService, sessionmaker: Sessions, clock: FakeClock
) -> None:
    """Archiving queues one notice per active subscribed chat and hides the topic."""
    async with sessionmaker.begin() as session:
        chats, topic = ChatRepo(session), await TopicRepo(session).by_key("stoptorture")
        assert topic is not None
        for chat_id in (1, 2, 3):
            await chats.ensure(chat_id, "private", clock.now())
            await chats.subscribe(chat_id, topic.id, clock.now())
        await chats.set_inactive(3, "blocked", clock.now())
    result = await admin.archive_topic(ACTOR, "stoptorture")
    async with sessionmaker() as session:
        visible = [t.slug for t in await TopicRepo(session).all()]
    assert (
        result.notified,
        await _count(sessionmaker, Delivery, Delivery.topic_id.is_(None)),
        "stoptorture" in visible,
        await _count(sessionmaker, Topic),
    ) == (2, 2, False, 3)


async def test_archive_twice_notifies_once(admin: AdminService, sessionmaker: Sessions) -> None:
    """A second archive changes nothing and writes no second audit row."""
    await admin.archive_topic(ACTOR, "stoptorture")
    again = await admin.archive_topic(ACTOR, "stoptorture")
    assert (again.changed, await _actions(sessionmaker)) == (False, ["topic.archive"])


async def test_topic_info_unknown_raises(admin: AdminService) -> None:
    """An unknown topic is TopicNotFoundError."""
    with pytest.raises(TopicNotFoundError):
        await admin.topic_info("nope")


# -- feeds and health -------------------------------------------------------------------------


async def test_add_feed_checks_then_adds(
    admin: AdminService, feeds: FeedServer, sessionmaker: Sessions
) -> None:
    """A readable feed is added with its entry count; adding it again is refused."""
    feeds.add("/f.xml", rss([{"title": "A", "link": "https://e.org/a"}], title="T"))
    added = await admin.add_feed(ACTOR, feeds.url("/f.xml"))
    with pytest.raises(AlreadyExistsError):
        await admin.add_feed(ACTOR, feeds.url("/f.xml"))
    assert (added.title, added.entries, await _count(sessionmaker, Feed)) == ("T", 1, 1)


async def test_pause_twice_changes_once(
    admin: AdminService, catalog: CatalogService, sessionmaker: Sessions
) -> None:
    """Pausing a paused feed is no change and no second audit row."""
    feed = await catalog.add_feed("https://news.example.org/feed.xml")
    await admin.set_feed_paused(ACTOR, str(feed.id), True)
    _, changed = await admin.set_feed_paused(ACTOR, str(feed.id), True)
    assert (changed, await _actions(sessionmaker)) == (False, ["feed.add", "feed.pause"])


async def _failing_feed(
    admin: AdminService, catalog: CatalogService, ingest: IngestService, feeds: FeedServer
) -> int:
    feeds.error("/f.xml", 503)
    feed = await catalog.add_feed(feeds.url("/f.xml"), "Flaky")
    await ingest.poll_feed(feed.id)
    return feed.id


async def test_failing_feed_not_reported_before_24_hours(
    admin: AdminService,
    catalog: CatalogService,
    ingest: IngestService,
    feeds: FeedServer,
    clock: FakeClock,
) -> None:
    """A feed failing for 23 hours is not reported yet."""
    await _failing_feed(admin, catalog, ingest, feeds)
    clock.advance(hours=23)
    assert (await admin.feed_health_report()).failing == ()


async def test_failing_feed_reported_once(
    admin: AdminService,
    catalog: CatalogService,
    ingest: IngestService,
    feeds: FeedServer,
    clock: FakeClock,
) -> None:
    """After 24 hours the feed is reported to every admin once, not on the next run."""
    await admin.grant(ACTOR, "800", "admin")
    feed_id = await _failing_feed(admin, catalog, ingest, feeds)
    clock.advance(hours=24)
    first = await admin.feed_health_report()
    second = await admin.feed_health_report()
    assert (
        [(f.id, f.label, f.last_error is not None) for f in first.failing],
        first.recipients,
        second.failing,
    ) == ([(feed_id, "Flaky", True)], (ADMIN_ID, 800), ())


async def test_recovery_reported_once(
    admin: AdminService,
    catalog: CatalogService,
    ingest: IngestService,
    feeds: FeedServer,
    clock: FakeClock,
) -> None:
    """A reported feed that works again is reported recovered once."""
    feed_id = await _failing_feed(admin, catalog, ingest, feeds)
    clock.advance(hours=25)
    await admin.feed_health_report()
    feeds.add("/f.xml", rss([{"title": "A", "link": "https://e.org/a"}]))
    await ingest.poll_feed(feed_id)
    first = await admin.feed_health_report()
    second = await admin.feed_health_report()
    assert ([f.id for f in first.recovered], second.recovered) == ([feed_id], ())


async def test_paused_failing_feed_not_reported(
    admin: AdminService,
    catalog: CatalogService,
    ingest: IngestService,
    feeds: FeedServer,
    clock: FakeClock,
) -> None:
    """An admin-paused feed is not reported as failing."""
    feed_id = await _failing_feed(admin, catalog, ingest, feeds)
    await admin.set_feed_paused(ACTOR, str(feed_id), True)
    clock.advance(hours=48)
    assert (await admin.feed_health_report()).failing == ()


# -- figures ----------------------------------------------------------------------------------


async def test_stats_counts_chats_and_subscriptions(
    admin: AdminService, sessionmaker: Sessions, clock: FakeClock
) -> None:
    """Stats count active and inactive chats and subscribers per topic."""
    async with sessionmaker.begin() as session:
        chats, topic = ChatRepo(session), await TopicRepo(session).by_key("stoptorture")
        assert topic is not None
        for chat_id in (1, 2):
            await chats.ensure(chat_id, "private", clock.now())
            await chats.subscribe(chat_id, topic.id, clock.now())
        await chats.set_inactive(2, "blocked", clock.now())
    stats = await admin.stats()
    per_topic = {label: n for label, _, n in stats.topics}
    assert (stats.chats_active, stats.chats_inactive, per_topic["✋ StopTorture"]) == (1, 1, 2)


async def test_audit_newest_first_and_capped(admin: AdminService) -> None:
    """Audit rows come newest first, at most the number asked for."""
    await admin.add_topic(ACTOR, "one", "One")
    await admin.add_topic(ACTOR, "two", "Two")
    rows = await admin.audit(2)
    assert [(r.action, r.target, r.actor) for r in rows] == [
        ("topic.add", "two", "@boss (9001)"),
        ("topic.add", "one", "@boss (9001)"),
    ]


@pytest.mark.parametrize(("text", "expected"), [("", 20), ("5", 5), ("1000", 100)])
def test_parse_audit_limit(text: str, expected: int) -> None:
    """/audit's n defaults to 20 and is capped at 100."""
    assert parse_audit_limit(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "lots", "٣"])
def test_parse_audit_limit_refuses(text: str) -> None:
    """n must be a positive whole number in ASCII digits."""
    with pytest.raises(InvalidInputError):
        parse_audit_limit(text)
