"""Admins end to end: the whole bot against the fake Bot API, as admins and others see it.

ADMIN is in ADMIN_IDS; ORGANISER is granted in the database before each test that needs one;
SUPPORTER has no role. Tests wait on the fake server's events, never sleep, and read the
database through the bot's own runtime.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import AnyApplication, make_application, running
from bot.config import Settings
from bot.db.models import AuditEntry, Broadcast, Chat, Delivery, Feed, Topic, TopicRule, User
from bot.domain.types import Actor, Role
from bot.handlers.guards import REFUSAL
from bot.handlers.menus import ADMIN_COMMANDS, ORGANISER_COMMANDS, SUPPORTER_COMMANDS
from bot.jobs import FEED_HEALTH_JOB
from bot.render import callback_data as cb
from bot.render import text as render
from tests.e2e.conftest import runtime_of
from tests.fakes.botapi import BotMessage, FakeBotApi
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import FeedServer, rss

ADMIN = 7001
ORGANISER = 7002
SUPPORTER = 7003
NEWCOMER = 7004
REFUSED = REFUSAL[Role.ADMIN]


@pytest.fixture
async def admin_app(
    bot_settings: Callable[..., Settings], engine: Any
) -> AsyncIterator[AnyApplication]:
    """The whole bot with ADMIN in ADMIN_IDS and ORGANISER granted the organiser role."""
    application = make_application(bot_settings(admin_ids=[ADMIN]), engine=engine)
    async with running(application):
        await runtime_of(application).roles.grant(Actor(None, "test"), str(ORGANISER), "organiser")
        yield application


async def say(api: FakeBotApi, user_id: int, text: str, **sender: Any) -> BotMessage:
    """Send `text` in the user's private chat and return the bot's next message there."""
    before = len(api.messages(user_id))
    api.send_text(user_id, text, **sender)
    messages = await api.wait_until(
        lambda: api.messages(user_id)[before:] or None, what=f"a reply to {text[:30]!r}"
    )
    return messages[0]


async def ask(api: FakeBotApi, user_id: int, text: str, **sender: Any) -> str:
    """Send `text` as the user and return the text of the bot's next message."""
    return (await say(api, user_id, text, **sender)).text or ""


async def press(api: FakeBotApi, user_id: int, message: BotMessage, data: str) -> dict[str, Any]:
    """Press a button with `data` under `message`; return the bot's callback answer."""
    query_id = api.press_button(user_id, message.message_id, data, chat_id=message.chat_id)
    await api.wait_for_requests(
        "answerCallbackQuery", predicate=lambda r: r.params.get("callback_query_id") == query_id
    )
    return api.callback_answer(query_id) or {}


async def count(app: AnyApplication, model: Any, *where: Any) -> int:
    """How many rows of `model` match."""
    async with runtime_of(app).sessionmaker() as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(stmt)).scalar_one())


async def snapshot(app: AnyApplication) -> tuple[Any, ...]:
    """Everything an admin command could change, to compare before and after."""
    async with runtime_of(app).sessionmaker() as session:
        topics = (
            await session.execute(
                select(Topic.slug, Topic.name, Topic.description, Topic.emoji, Topic.archived)
            )
        ).all()
        rules = (await session.execute(select(TopicRule.topic_id, TopicRule.value))).all()
        feeds = (await session.execute(select(Feed.url, Feed.paused))).all()
        roles = (
            await session.execute(select(User.id, User.role).where(User.role != "supporter"))
        ).all()
        audit = (await session.execute(select(func.count()).select_from(AuditEntry))).scalar()
    return (sorted(topics), sorted(rules), sorted(feeds), sorted(roles), audit)


async def add_feed(app: AnyApplication, feeds: FeedServer, path: str = "/feed.xml") -> int:
    """Serve a small feed and add it through the feed service; returns its id."""
    feeds.add(path, rss([{"title": "Old news", "link": "https://news.example.org/0"}]))
    info = await runtime_of(app).feeds.add_feed(feeds.url(path), "Amnesty news")
    return info.id


async def last_audit(app: AnyApplication) -> tuple[str, str, int | None]:
    """(action, target, actor_id) of the newest audit row."""
    rows = await runtime_of(app).reports.audit(1)
    async with runtime_of(app).sessionmaker() as session:
        actor_id = (
            (await session.execute(select(AuditEntry.actor_id).order_by(AuditEntry.id.desc())))
            .scalars()
            .first()
        )
    return rows[0].action, rows[0].target, actor_id


# -- role checks ------------------------------------------------------------------------------

ADMIN_COMMAND_LINES = [
    "/grant 7004 admin",
    "/revoke 7002",
    "/team",
    "/addtopic climate Climate justice",
    "/edittopic stoptorture name Torture never",
    "/topicrule stoptorture add keyword waterboarding",
    "/archivetopic stoptorture",
    "/topicinfo stoptorture",
    "/addfeed http://127.0.0.1:9/feed.xml",
    "/feeds",
    "/pausefeed 1",
    "/resumefeed 1",
    "/removefeed 1",
    "/feedinterval 1 15m",
    "/exportfeeds",
    "/stats",
    "/audit",
]


@pytest.mark.parametrize("line", ADMIN_COMMAND_LINES)
async def test_admin_command_refused_for_supporter_and_organiser(
    api: FakeBotApi, admin_app: AnyApplication, feeds: FeedServer, line: str
) -> None:
    """A supporter and an organiser are refused every admin command; nothing changes."""
    await add_feed(admin_app, feeds)
    before = await snapshot(admin_app)
    replies = [await ask(api, user, line) for user in (SUPPORTER, ORGANISER)]
    assert (replies, await snapshot(admin_app)) == ([REFUSED, REFUSED], before)


GROUP = -1009876543210
STAFF_COMMAND_LINES = [
    *ADMIN_COMMAND_LINES,
    "/broadcast all",
    "/push https://news.example.org/0 stoptorture",
    "/broadcasts",
    "/cancel",
]


async def group_replies(api: FakeBotApi, user_id: int, text: str) -> list[BotMessage]:
    """Send `text` as the user in GROUP; return every bot message it caused there.

    A /help sent after it proves it was handled (one chat's updates are handled in order).
    """
    before = len(api.messages(GROUP))
    api.send_text(user_id, text, chat_id=GROUP)
    api.send_text(user_id, "/help", chat_id=GROUP)
    messages = await api.wait_until(
        lambda: (
            api.messages(GROUP)[before:]
            if any(
                (m.text or "").startswith("What I can do") for m in api.messages(GROUP)[before:]
            )
            else None
        ),
        what=f"the replies to {text[:30]!r}",
    )
    return messages[:-1]


@pytest.mark.parametrize("line", STAFF_COMMAND_LINES)
async def test_staff_command_in_group_points_to_private_chat(
    api: FakeBotApi, admin_app: AnyApplication, feeds: FeedServer, line: str
) -> None:
    """An admin's organiser or admin command in a group only gets a link to the private chat."""
    await add_feed(admin_app, feeds)
    before = await snapshot(admin_app)
    replies = await group_replies(api, ADMIN, line)
    links = [e.get("url") for m in replies for e in m.entities if e["type"] == "text_link"]
    assert (
        [m.text for m in replies],
        links,
        await snapshot(admin_app),
    ) == (
        ["Please use this command in a private chat with me: @campaign_test_bot."],
        ["https://t.me/campaign_test_bot"],
        before,
    )


@pytest.mark.parametrize("kind", ["remove", "keep"])
async def test_replayed_admin_button_refused_for_supporter(
    api: FakeBotApi, admin_app: AnyApplication, feeds: FeedServer, kind: str
) -> None:
    """A supporter pressing an admin button's data (replayed) is refused; the feed stays."""
    feed_id = await add_feed(admin_app, feeds)
    prompt = await say(api, ADMIN, f"/removefeed {feed_id}")
    data = cb.feed_remove(feed_id) if kind == "remove" else cb.FEED_KEEP
    own = await say(api, SUPPORTER, "/whoami")
    answer = await press(api, SUPPORTER, own, data)
    edits = [m.edits for m in api.messages(ADMIN) if m.message_id == prompt.message_id]
    assert (answer.get("text"), await count(admin_app, Feed), edits) == (REFUSED, 1, [0])


async def test_forged_removefeed_button_changes_nothing(
    api: FakeBotApi, admin_app: AnyApplication, feeds: FeedServer
) -> None:
    """Remove-button data for another feed, pressed on a /removefeed prompt, removes nothing."""
    first = await add_feed(admin_app, feeds)
    second = await add_feed(admin_app, feeds, "/other.xml")
    prompt = await say(api, ADMIN, f"/removefeed {first}")
    answer = await press(api, ADMIN, prompt, cb.feed_remove(second))
    edits = [m.edits for m in api.messages(ADMIN) if m.message_id == prompt.message_id]
    assert (answer.get("text"), await count(admin_app, Feed), edits) == (
        render.INVALID_BUTTON,
        2,
        [0],
    )


async def test_admin_may_use_admin_commands(api: FakeBotApi, admin_app: AnyApplication) -> None:
    """An ADMIN_IDS admin gets answers, not refusals (here /team and /stats)."""
    team, stats = await ask(api, ADMIN, "/team"), await ask(api, ADMIN, "/stats")
    assert (team.startswith("Team"), stats.startswith("Stats")) == (True, True)


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (SUPPORTER, "supporter"),
        (ORGANISER, "organiser (granted"),
        (ADMIN, "admin (from ADMIN_IDS"),
    ],
)
async def test_whoami_tells_id_and_role(
    api: FakeBotApi, admin_app: AnyApplication, user: int, expected: str
) -> None:
    """/whoami answers the numeric id and the role with its source."""
    reply = await ask(api, user, "/whoami")
    assert (
        f"Your Telegram id is {user}." in reply,
        f"Your role: {expected}" in reply,
    ) == (
        True,
        True,
    )


# -- roles ------------------------------------------------------------------------------------


async def test_grant_by_id_gives_role_and_menu(api: FakeBotApi, admin_app: AnyApplication) -> None:
    """/grant <id> admin stores the role, writes an audit row and sets their scoped menu."""
    reply = await ask(api, ADMIN, f"/grant {NEWCOMER} admin")
    menu = [c["command"] for c in api.commands({"type": "chat", "chat_id": NEWCOMER})]
    assert (
        reply.startswith(f"✅ {NEWCOMER} is now an admin"),
        await count(admin_app, User, User.id == NEWCOMER, User.role == "admin"),
        await last_audit(admin_app),
        menu,
    ) == (
        True,
        1,
        ("role.grant", str(NEWCOMER), ADMIN),
        [c.command for c in SUPPORTER_COMMANDS + ORGANISER_COMMANDS + ADMIN_COMMANDS],
    )


async def test_grant_by_username(api: FakeBotApi, admin_app: AnyApplication) -> None:
    """/grant @Username organiser works for someone who has talked to the bot."""
    await say(api, NEWCOMER, "/whoami", username="Newcomer_Ngo")
    await say(api, ADMIN, "/grant @newcomer_ngo organiser")
    assert await count(admin_app, User, User.id == NEWCOMER, User.role == "organiser") == 1


async def test_grant_unknown_username_says_how_to_fix(
    api: FakeBotApi, admin_app: AnyApplication
) -> None:
    """/grant @nobody says the bot does not know them and to ask them to /start the bot."""
    before = await snapshot(admin_app)
    reply = await ask(api, ADMIN, "/grant @nobody admin")
    assert ("I don't know “@nobody”" in reply, "/start" in reply) == (True, True)
    assert await snapshot(admin_app) == before


async def test_revoke_makes_supporter_and_deletes_menu(
    api: FakeBotApi, admin_app: AnyApplication
) -> None:
    """/revoke <id> makes them a supporter, writes an audit row and deletes their menu."""
    await say(api, ADMIN, f"/grant {NEWCOMER} organiser")
    await say(api, ADMIN, f"/revoke {NEWCOMER}")
    assert (
        await count(admin_app, User, User.id == NEWCOMER, User.role == "supporter"),
        await last_audit(admin_app),
        api.commands({"type": "chat", "chat_id": NEWCOMER}),
    ) == (1, ("role.revoke", str(NEWCOMER), ADMIN), [])


async def test_revoke_admin_ids_admin_refused(api: FakeBotApi, admin_app: AnyApplication) -> None:
    """Revoking an ADMIN_IDS admin is refused with the reason; nothing changes."""
    before = await snapshot(admin_app)
    reply = await ask(api, ADMIN, f"/revoke {ADMIN}")
    assert ("ADMIN_IDS" in reply, await snapshot(admin_app)) == (True, before)


async def test_team_lists_roles_and_sources(api: FakeBotApi, admin_app: AnyApplication) -> None:
    """/team lists the ADMIN_IDS admin and the granted organiser with their sources."""
    await say(api, ORGANISER, "/whoami", username="Org_One")
    reply = await ask(api, ADMIN, "/team")
    assert reply.splitlines()[2:] == [
        f"• {ADMIN} — admin (ADMIN_IDS)",
        f"• @org_one {ORGANISER} — organiser (granted)",
    ]


async def test_staff_menus_installed_at_start(api: FakeBotApi, admin_app: AnyApplication) -> None:
    """At start the ADMIN_IDS admin and the granted organiser get their scoped menus."""
    admin_menu = [c["command"] for c in api.commands({"type": "chat", "chat_id": ADMIN})]
    assert admin_menu == [
        c.command for c in SUPPORTER_COMMANDS + ORGANISER_COMMANDS + ADMIN_COMMANDS
    ]


# -- topics -----------------------------------------------------------------------------------


async def test_addtopic_creates_topic(api: FakeBotApi, admin_app: AnyApplication) -> None:
    """/addtopic climate Climate justice creates the topic and an audit row."""
    await say(api, ADMIN, "/addtopic climate Climate justice")
    assert (
        await count(admin_app, Topic, Topic.slug == "climate", Topic.name == "Climate justice"),
        await last_audit(admin_app),
    ) == (1, ("topic.add", "climate", ADMIN))


async def test_addtopic_bad_slug_changes_nothing(
    api: FakeBotApi, admin_app: AnyApplication
) -> None:
    """An invalid slug is refused with the reason; nothing changes."""
    before = await snapshot(admin_app)
    reply = await ask(api, ADMIN, "/addtopic Climate_Justice Climate")
    assert (reply.startswith("Sorry, slug"), await snapshot(admin_app)) == (True, before)


async def test_edittopic_changes_field(api: FakeBotApi, admin_app: AnyApplication) -> None:
    """/edittopic <slug> description <text> changes it and writes an audit row."""
    await say(api, ADMIN, "/edittopic stoptorture description No torture, anywhere.")
    assert (
        await count(admin_app, Topic, Topic.description == "No torture, anywhere."),
        await last_audit(admin_app),
    ) == (1, ("topic.edit.description", "stoptorture", ADMIN))


async def test_edittopic_urgent_and_preview_show_in_the_answer(
    api: FakeBotApi, admin_app: AnyApplication
) -> None:
    """/edittopic <slug> urgent on and preview large change the topic, and the answer (the
    topic as /topicinfo shows it) says so; a bad value is refused and changes nothing."""
    urgent = await ask(api, ADMIN, "/edittopic stoptorture urgent on")
    large = await ask(api, ADMIN, "/edittopic stoptorture preview large")
    refused = await ask(api, ADMIN, "/edittopic stoptorture preview huge")
    assert "Urgent: yes" in urgent
    assert "Link preview: large image" in large
    assert refused.startswith("Sorry, the link preview is off, small or large")
    assert (
        await count(admin_app, Topic, Topic.urgent.is_(True), Topic.preview == "large"),
        await last_audit(admin_app),
    ) == (1, ("topic.edit.preview", "stoptorture", ADMIN))


async def test_topicrule_add_and_remove(api: FakeBotApi, admin_app: AnyApplication) -> None:
    """/topicrule add then remove a keyword: the rule comes and goes, each with an audit row."""
    await say(api, ADMIN, "/topicrule stoptorture add keyword sleep deprivation")
    added = await count(admin_app, TopicRule, TopicRule.value == "sleep deprivation")
    await say(api, ADMIN, "/topicrule StopTorture remove keyword Sleep Deprivation")
    assert (
        added,
        await count(admin_app, TopicRule, TopicRule.value == "sleep deprivation"),
        await last_audit(admin_app),
    ) == (1, 0, ("topic.rule.remove", "stoptorture", ADMIN))


async def test_topicrule_adds_country_and_type_rules(
    api: FakeBotApi, admin_app: AnyApplication
) -> None:
    """/topicrule … add country Sudan and … add type Urgent Action (issue 11): the answer names
    the rule's kind, /topicinfo lists them, and they are stored with their kinds."""
    added = await ask(api, ADMIN, "/topicrule stoptorture add country Sudan")
    await say(api, ADMIN, "/topicrule stoptorture add type Urgent Action")
    info = await ask(api, ADMIN, "/topicinfo stoptorture")
    refused = await ask(api, ADMIN, "/topicrule stoptorture add region Europe")
    assert (
        "Added the country “Sudan”" in added,
        "Countries: Sudan" in info,
        "Types: Urgent Action" in info,
        "category, country, type, keyword or exclude" in refused,
        await count(admin_app, TopicRule, TopicRule.kind == "country", TopicRule.value == "Sudan"),
        await count(admin_app, TopicRule, TopicRule.kind == "type"),
        await count(admin_app, TopicRule, TopicRule.value == "Europe"),
    ) == (True, True, True, True, 1, 1, 0)


async def test_archivetopic_hides_topic_and_tells_subscribers(
    api: FakeBotApi, admin_app: AnyApplication
) -> None:
    """/archivetopic archives (nothing deleted) and each subscriber gets a notice."""
    await say(api, SUPPORTER, "/subscribe stoptorture")
    await say(api, ADMIN, "/archivetopic stoptorture")
    notice = await api.wait_for_message(SUPPORTER, lambda m: "archived" in (m.text or ""))
    picker = await say(api, SUPPORTER, "/topics")
    assert (
        await count(admin_app, Topic, Topic.slug == "stoptorture", Topic.archived.is_(True)),
        notice.buttons,
        any("StopTorture" in b["text"] for row in picker.buttons for b in row),
        await last_audit(admin_app),
    ) == (1, [], False, ("topic.archive", "stoptorture", ADMIN))


async def test_topicinfo_shows_rules_and_figures(
    api: FakeBotApi, admin_app: AnyApplication
) -> None:
    """/topicinfo shows the rules, the subscriber count and posts matched in 30 days."""
    await say(api, SUPPORTER, "/subscribe write for rights")
    reply = await ask(api, ADMIN, "/topicinfo write-for-rights")
    assert (
        "Categories: Write for Rights" in reply,
        "Subscribers: 1 (1 active)" in reply,
        "Posts matched in the last 30 days: 0" in reply,
    ) == (True, True, True)


async def test_rule_added_in_chat_matches_next_post(
    api: FakeBotApi, admin_app: AnyApplication, feeds: FeedServer
) -> None:
    """A keyword added with /topicrule makes the next post with it reach subscribers;
    a post before the rule did not."""
    runtime = runtime_of(admin_app)
    await say(api, SUPPORTER, "/subscribe write for rights")
    old = {"title": "Office news", "link": "https://news.example.org/office", "guid": "old"}
    feeds.add("/feed.xml", rss([old]))
    feed = await runtime.feeds.add_feed(feeds.url("/feed.xml"))
    await runtime.ingest.poll_feed(feed.id)  # primes the feed
    before = {"title": "Postcards from the office", "link": "https://news.example.org/p1"}
    feeds.add("/feed.xml", rss([before, old]))
    await runtime.ingest.poll_feed(feed.id)  # no topic matches "postcards" yet
    await say(api, ADMIN, "/topicrule write-for-rights add keyword postcards")
    after = {"title": "Send postcards this winter", "link": "https://news.example.org/p2"}
    feeds.add("/feed.xml", rss([after, before, old]))
    await api.wait_for_message(SUPPORTER, lambda m: "Send postcards" in (m.text or ""), timeout=15)
    received = [m.text or "" for m in api.messages(SUPPORTER) if "ostcards" in (m.text or "")]
    assert [("Send postcards" in t) for t in received] == [True]


# -- feeds ------------------------------------------------------------------------------------


async def test_addfeed_answers_title_and_entry_count(
    api: FakeBotApi, admin_app: AnyApplication, feeds: FeedServer
) -> None:
    """/addfeed on a working feed answers its title and entry count and adds it."""
    items = [{"title": f"Post {n}", "link": f"https://news.example.org/{n}"} for n in range(3)]
    feeds.add("/news.xml", rss(items, title="Amnesty & Friends"))
    reply = await ask(api, ADMIN, f"/addfeed {feeds.url('/news.xml')} Our news")
    assert (
        reply.splitlines()[0],
        await count(admin_app, Feed, Feed.name == "Our news"),
        (await last_audit(admin_app))[0],
    ) == ("✅ Added feed #1: Amnesty & Friends with 3 entries.", 1, "feed.add")


async def test_addfeed_broken_url_answers_error_adds_nothing(
    api: FakeBotApi, admin_app: AnyApplication, feeds: FeedServer
) -> None:
    """/addfeed of a URL answering 404 says the error and adds nothing."""
    feeds.error("/gone.xml", 404)
    reply = await ask(api, ADMIN, f"/addfeed {feeds.url('/gone.xml')}")
    assert (
        reply.startswith("Could not read"),
        "404" in reply,
        reply.endswith("Nothing was added."),
        await count(admin_app, Feed),
    ) == (True, True, True, 0)


async def test_feeds_shows_health(
    api: FakeBotApi, admin_app: AnyApplication, feeds: FeedServer
) -> None:
    """/feeds shows each feed with its failures and last error."""
    feeds.error("/bad.xml", 500)
    info = await runtime_of(admin_app).feeds.add_feed(feeds.url("/bad.xml"), "Broken")
    await runtime_of(admin_app).ingest.poll_feed(info.id)
    reply = await ask(api, ADMIN, "/feeds")
    assert (
        f"#{info.id} Broken — ⚠️ failing" in reply,
        "failures: 1" in reply,
        "last error: " in reply,
    ) == (True, True, True)


async def test_pause_and_resume_feed(
    api: FakeBotApi, admin_app: AnyApplication, feeds: FeedServer
) -> None:
    """/pausefeed pauses and /resumefeed resumes, each with an audit row."""
    feed_id = await add_feed(admin_app, feeds)
    await say(api, ADMIN, f"/pausefeed {feed_id}")
    paused = await count(admin_app, Feed, Feed.paused.is_(True))
    await say(api, ADMIN, f"/resumefeed {feeds.url('/feed.xml')}")
    assert (paused, await count(admin_app, Feed, Feed.paused.is_(True))) == (1, 0)
    assert (await last_audit(admin_app))[0] == "feed.resume"


async def test_removefeed_confirm_removes(
    api: FakeBotApi, admin_app: AnyApplication, feeds: FeedServer
) -> None:
    """/removefeed asks first; the Remove button removes the feed and edits the message."""
    feed_id = await add_feed(admin_app, feeds)
    prompt = await say(api, ADMIN, f"/removefeed {feed_id}")
    asked = await count(admin_app, Feed)
    await press(api, ADMIN, prompt, cb.feed_remove(feed_id))
    edited = await api.wait_for_message(
        ADMIN, lambda m: m.message_id == prompt.message_id and m.edits > 0
    )
    assert (asked, await count(admin_app, Feed), (edited.text or "").startswith("🗑 Removed")) == (
        1,
        0,
        True,
    )


async def test_removefeed_cancel_keeps(
    api: FakeBotApi, admin_app: AnyApplication, feeds: FeedServer
) -> None:
    """The Cancel button of /removefeed keeps the feed."""
    feed_id = await add_feed(admin_app, feeds)
    prompt = await say(api, ADMIN, f"/removefeed {feed_id}")
    await press(api, ADMIN, prompt, cb.FEED_KEEP)
    edited = await api.wait_for_message(
        ADMIN, lambda m: m.message_id == prompt.message_id and m.edits > 0
    )
    assert (edited.text, await count(admin_app, Feed)) == ("Nothing was removed.", 1)


# -- figures ----------------------------------------------------------------------------------


async def test_stats_figures(api: FakeBotApi, admin_app: AnyApplication) -> None:
    """/stats counts chats, subscriptions per topic, and failed deliveries by reason."""
    runtime = runtime_of(admin_app)
    await say(api, SUPPORTER, "/subscribe stoptorture")
    now = runtime.clock.now()
    async with runtime.sessionmaker.begin() as session:
        session.add(
            Chat(id=NEWCOMER, type="private", active=False, created_at=now, updated_at=now)
        )
        broadcast = Broadcast(created_by=ADMIN, status="done", created_at=now)
        session.add(broadcast)
        await session.flush()
        session.add(
            Delivery(
                chat_id=NEWCOMER,
                broadcast_id=broadcast.id,
                status="dropped",
                next_attempt_at=now,
                created_at=now,
                last_error="Forbidden: bot was blocked by the user",
            )
        )
    reply = await ask(api, ADMIN, "/stats")
    lines = reply.splitlines()
    assert (
        lines[2],
        "• ✋ StopTorture: 1" in lines,
        lines[-6:],
    ) == (
        "Chats: 2 active, 1 inactive",
        True,
        [
            "Last 7 days",
            "Posts: 0",
            "Deliveries: 1 (sent 0, pending 0, failed 0, dropped 1)",
            "",
            "Delivery failures by reason (7 days)",
            "• Forbidden: bot was blocked by the user: 1",
        ],
    )


async def test_audit_lists_actions(api: FakeBotApi, admin_app: AnyApplication) -> None:
    """/audit 2 lists the two latest actions, newest first, with who did them."""
    await say(api, ADMIN, "/addtopic climate Climate justice")
    await say(api, ADMIN, "/topicrule climate add keyword climate")
    reply = await ask(api, ADMIN, "/audit 2")
    lines = reply.splitlines()
    assert (lines[0], "topic.rule.add climate" in lines[2], "topic.add climate" in lines[3]) == (
        "Latest 2 actions",
        True,
        True,
    )


@pytest.mark.parametrize(
    "line",
    ["/grant", "/grant 7004 king", "/topicrule stoptorture add", "/audit lots", "/edittopic x"],
)
async def test_wrong_arguments_get_usage_and_change_nothing(
    api: FakeBotApi, admin_app: AnyApplication, line: str
) -> None:
    """Wrong arguments get a usage line (or the reason) and change nothing."""
    before = await snapshot(admin_app)
    reply = await ask(api, ADMIN, line)
    assert (reply.endswith("Nothing was changed."), await snapshot(admin_app)) == (
        True,
        before,
    )


@pytest.mark.parametrize("command", ["addtopic x", "topicinfo", "addfeed", "grant", "audit"])
async def test_huge_argument_is_answered_briefly(
    api: FakeBotApi, admin_app: AnyApplication, command: str
) -> None:
    """A 10,000-character argument gets a short escaped answer and changes nothing."""
    before = await snapshot(admin_app)
    reply = await ask(api, ADMIN, f"/{command} " + "<b>" * 2500)
    assert (len(reply) < 1000, await snapshot(admin_app)) == (True, before)


# -- feed health ------------------------------------------------------------------------------


async def test_failing_feed_reported_once_then_recovery(
    api: FakeBotApi, bot_settings: Callable[..., Settings], engine: Any, feeds: FeedServer
) -> None:
    """The health job reports a feed failing for 24 h once, then its recovery once."""
    clock = FakeClock()
    application = make_application(bot_settings(admin_ids=[ADMIN]), clock=clock)
    async with running(application):
        runtime = runtime_of(application)
        feeds.error("/feed.xml", 503)
        info = await runtime.feeds.add_feed(feeds.url("/feed.xml"), "Flaky")
        await runtime.ingest.poll_feed(info.id)
        clock.advance(hours=25)
        (job,) = application.job_queue.get_jobs_by_name(FEED_HEALTH_JOB)  # type: ignore[union-attr]
        await job.run(application)
        await job.run(application)
        feeds.add("/feed.xml", rss([{"title": "Back", "link": "https://news.example.org/b"}]))
        await runtime.ingest.poll_feed(info.id)
        await job.run(application)
        await job.run(application)
        texts = [m.text or "" for m in api.messages(ADMIN)]
    assert (
        [t.startswith("⚠️ The feed Flaky has failed") for t in texts],
        [t.startswith("✅ The feed Flaky works again") for t in texts],
    ) == ([True, False], [False, True])
