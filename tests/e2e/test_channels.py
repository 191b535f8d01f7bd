"""Channels and groups as targets, end to end: the whole bot against the fake Bot API.

An admin makes the bot an administrator of the organisation's channel, is told how to link
it, links it with /channel, and matched posts reach it through the outbox with link buttons
only; removal or demotion makes it inactive and every admin is told once; /channels shows
its health. Tests wait on the fake server's events and read the database through the bot's
own runtime.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import AnyApplication, make_application, running
from bot.config import Settings
from bot.db.models import AuditEntry, Chat, Delivery, LinkedChannel, Subscription
from bot.domain.types import Actor, Role
from bot.handlers.guards import REFUSAL
from tests.e2e.conftest import runtime_of
from tests.fakes.botapi import BotMessage, FakeBotApi, RateLimits
from tests.fakes.feedserver import FeedServer, rss

ADMIN = 7101
SECOND_ADMIN = 7102
SUPPORTER = 7103
CHANNEL = -1001234567890
OTHER_CHANNEL = -1009876543210
GROUP = -4001
TITLE = "Amnesty Test <Channel>"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The fake Bot API with inline mode on, so supporters' messages carry a Share button."""
    async with FakeBotApi(limits=RateLimits(per_chat_burst=30), inline_mode=True) as server:
        yield server


@pytest.fixture
async def app(bot_settings: Callable[..., Settings], engine: Any) -> AsyncIterator[AnyApplication]:
    """The whole bot with ADMIN in ADMIN_IDS and SECOND_ADMIN granted the admin role."""
    application = make_application(bot_settings(admin_ids=[ADMIN]), engine=engine)
    async with running(application):
        await runtime_of(application).roles.grant(Actor(None, "test"), str(SECOND_ADMIN), "admin")
        yield application


async def ask(api: FakeBotApi, user_id: int, text: str) -> str:
    """Send `text` in the user's private chat and return the text of the bot's next message."""
    before = len(api.messages(user_id))
    api.send_text(user_id, text)
    messages = await api.wait_until(
        lambda: api.messages(user_id)[before:] or None, what=f"a reply to {text[:30]!r}"
    )
    return messages[0].text or ""


async def count(app: AnyApplication, model: Any, *where: Any) -> int:
    """How many rows of `model` match."""
    async with runtime_of(app).sessionmaker() as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(stmt)).scalar_one())


async def chat_row(app: AnyApplication, chat_id: int) -> Chat | None:
    async with runtime_of(app).sessionmaker() as session:
        return await session.get(Chat, chat_id)


async def link(api: FakeBotApi, chat_id: int = CHANNEL, username: str = "amnestytest") -> str:
    """The channel exists with the bot as a posting administrator; ADMIN links it."""
    api.add_channel(chat_id, TITLE, username)
    return await ask(api, ADMIN, f"/channel @{username} stoptorture")


async def post_torture(app: AnyApplication, feeds: FeedServer, guid: str = "p1") -> None:
    """A feed whose new post matches StopTorture, polled once (primed, then the new item)."""
    runtime = runtime_of(app)
    old = {"title": "Office news", "link": "https://news.example.org/office", "guid": "old"}
    known = [f for f in await runtime.feeds.list_feeds() if f.url == feeds.url("/feed.xml")]
    if known:
        feed = known[0]
    else:
        feeds.add("/feed.xml", rss([old]))
        feed = await runtime.feeds.add_feed(feeds.url("/feed.xml"))
        await runtime.ingest.poll_feed(feed.id)
    new = {
        "title": "Survivors of torture speak out",
        "link": f"https://news.example.org/{guid}",
        "guid": guid,
    }
    feeds.add("/feed.xml", rss([new, old]))
    await runtime.ingest.poll_feed(feed.id)


def button_kinds(message: BotMessage) -> list[str]:
    """The kind of each button under a message: url, callback_data, switch_inline…"""
    kinds = []
    for row in message.buttons:
        for button in row:
            kinds.extend(k for k in button if k != "text")
    return kinds


# -- the bot is added ---------------------------------------------------------------------------


async def test_only_an_admin_who_adds_the_bot_to_a_channel_is_told(
    api: FakeBotApi, app: AnyApplication
) -> None:
    """A supporter making the bot an administrator gets no message and nothing is stored;
    an admin doing it is told in private how to link the channel, with the command (and so
    is an admin who adds the bot to a group).

    The channel's updates are handled in order, so once the admin's later change is answered
    the supporter's was handled too.
    """
    api.declare_chat(CHANNEL, "channel", title=TITLE, username="amnestytest")
    api.my_chat_member(CHANNEL, SUPPORTER, "left", "administrator", chat_type="channel")
    api.my_chat_member(CHANNEL, SUPPORTER, "administrator", "left", chat_type="channel")
    api.my_chat_member(CHANNEL, ADMIN, "left", "administrator", chat_type="channel")
    told = await api.wait_for_message(ADMIN, lambda m: "I was added" in (m.text or ""))
    api.declare_chat(GROUP, "group", title="Local group")
    api.my_chat_member(GROUP, ADMIN, "left", "member", chat_type="group")
    group = await api.wait_for_message(ADMIN, lambda m: f"/channel {GROUP}" in (m.text or ""))
    assert (
        "Amnesty Test <Channel>" in (told.text or ""),
        "/channel @amnestytest" in (told.text or ""),
        "Local group" in (group.text or ""),
        api.messages(SUPPORTER),
        api.messages(SECOND_ADMIN),
        await chat_row(app, CHANNEL),
    ) == (True, True, True, [], [], None)


# -- /channel -----------------------------------------------------------------------------------


async def test_channel_links_and_a_matched_post_arrives_once_with_link_buttons_only(
    api: FakeBotApi, app: AnyApplication, feeds: FeedServer
) -> None:
    """/channel links the chat to the topic; the post reaches it once, with "Read and act"
    only, while a supporter gets Share, the action button and Unsubscribe; /channels then
    lists it with its topics and health."""
    runtime = runtime_of(app)
    await runtime.topics.edit_topic(Actor(ADMIN, "admin"), "stoptorture", "action", "I wrote")
    await ask(api, SUPPORTER, "/subscribe stoptorture")
    empty = await ask(api, ADMIN, "/channels")
    reply = await link(api)
    await post_torture(app, feeds)
    posted = await api.wait_for_message(CHANNEL, lambda m: "Survivors" in (m.text or ""))
    private = await api.wait_for_message(SUPPORTER, lambda m: "Survivors" in (m.text or ""))
    await post_torture(app, feeds)  # polled again: nothing new
    runtime.wake_delivery()
    row = await chat_row(app, CHANNEL)
    listing = ""
    for _ in range(50):  # the sent mark is committed just after Telegram answers
        listing = await ask(api, ADMIN, "/channels")
        if "last sent: never" not in listing:
            break
    health = (
        "Amnesty Test <Channel> (@amnestytest) — channel" in listing,
        "Topics: StopTorture" in listing,
        "✅ active · 0 pending · last sent: " in listing and "never" not in listing,
        "0 failures in 24 h" in listing,
    )
    assert (
        "No channel" in empty,
        health,
        ("Linked" in reply, "StopTorture" in reply),
        button_kinds(posted),
        sorted(set(button_kinds(private))),
        len([m for m in api.messages(CHANNEL) if "Survivors" in (m.text or "")]),
        (row.type, row.language, row.digest, row.quiet, row.active) if row else None,
        await count(app, LinkedChannel, LinkedChannel.chat_id == CHANNEL),
        await count(app, AuditEntry, AuditEntry.action == "channel.link"),
    ) == (
        True,
        (True, True, True, True),
        (True, True),
        ["url"],
        ["callback_data", "switch_inline_query_chosen_chat", "url"],
        1,
        ("channel", "en", None, None, True),
        1,
        1,
    )


async def test_channel_again_replaces_the_topics_and_off_unlinks(
    api: FakeBotApi, app: AnyApplication
) -> None:
    """A second /channel replaces the set of topics; `off` removes them and the link."""
    await link(api)
    reply = await ask(api, ADMIN, "/channel @amnestytest write-for-rights, indigenous rights")
    runtime = runtime_of(app)
    topics = sorted(t.slug for t in await runtime.subscriptions.chat_topics(CHANNEL))
    off = await ask(api, ADMIN, "/channel @AmnestyTest off")
    assert (
        "Updated" in reply,
        topics,
        "Unlinked" in off,
        await count(app, Subscription, Subscription.chat_id == CHANNEL),
        await count(app, LinkedChannel),
        await count(app, AuditEntry, AuditEntry.action == "channel.unlink"),
    ) == (True, ["indigenous-rights", "write-for-rights"], True, 0, 0, 1)


BAD_ARGUMENTS = (
    ("/channel", "Usage"),
    ("/channel @amnestytest", "Usage"),
    ("/channel amnestytest stoptorture", "Usage"),
    (f"/channel {SUPPORTER} stoptorture", "Usage"),
    ("/channel @nosuchchannel stoptorture", "I can't find the chat"),
    ("/channel @someperson stoptorture", "not a channel or a group"),
    ("/channel @amnestytest nosuchtopic", "No topic called"),
    ("/channel @readonlychan stoptorture", "not an administrator allowed to post"),
    ("/channel @nobody off", "is not linked"),
)


async def test_bad_channel_arguments_are_answered_and_change_nothing(
    api: FakeBotApi, app: AnyApplication
) -> None:
    """No topics, a malformed or unknown chat, a person, an unknown topic, a channel where
    the bot may not post, unlinking what is not linked: each a clear answer, nothing linked.
    Then a channel without @username links by its -100… id. An admin's /help lists /channel
    and /channels, a supporter's does not."""
    api.add_channel(CHANNEL, TITLE, "amnestytest")
    api.add_channel(OTHER_CHANNEL, "Read only", "readonlychan", can_post_messages=False)
    api.send_text(SUPPORTER, "/start", username="someperson")
    await api.wait_for_message(SUPPORTER)
    help_texts = [await ask(api, ADMIN, "/help"), await ask(api, SUPPORTER, "/help")]
    answers = [expected in await ask(api, ADMIN, command) for command, expected in BAD_ARGUMENTS]
    unchanged = (
        await count(app, LinkedChannel),
        await count(app, Subscription, Subscription.chat_id < 0),
    )
    api.add_channel(CHANNEL - 1, "No username")
    by_id = await ask(api, ADMIN, f"/channel {CHANNEL - 1} StopTorture")
    listed = [("/channel " in t, "/channels — " in t) for t in help_texts]
    assert (answers, unchanged, "Linked" in by_id, listed) == (
        [True] * len(BAD_ARGUMENTS),
        (0, 0),
        True,
        [(True, True), (False, False)],
    )


async def test_non_admin_cannot_use_channel_or_channels(
    api: FakeBotApi, app: AnyApplication
) -> None:
    """A supporter (and an organiser) is refused; nothing is linked."""
    api.add_channel(CHANNEL, TITLE, "amnestytest")
    await runtime_of(app).roles.grant(Actor(None, "test"), str(SUPPORTER + 10), "organiser")
    refused = [
        await ask(api, SUPPORTER, "/channel @amnestytest stoptorture"),
        await ask(api, SUPPORTER + 10, "/channel @amnestytest stoptorture"),
        await ask(api, SUPPORTER, "/channels"),
    ]
    assert (refused, await count(app, LinkedChannel)) == ([REFUSAL[Role.ADMIN]] * 3, 0)


# -- lost ---------------------------------------------------------------------------------------


def told(api: FakeBotApi, admin: int, words: str) -> int:
    """How many messages to an admin contain `words`."""
    return len([m for m in api.messages(admin) if words in (m.text or "")])


async def test_demoted_or_removed_channel_is_inactive_and_every_admin_told_once(
    api: FakeBotApi, app: AnyApplication
) -> None:
    """Demoted (no right to post): inactive, both admins told; promoted again: active, both
    told; removed: inactive again, told once more, the later "left" update tells nobody."""
    await link(api)
    api.my_chat_member(
        CHANNEL,
        ADMIN,
        "administrator",
        "administrator",
        chat_type="channel",
        can_post_messages=False,
    )
    await api.wait_for_message(SECOND_ADMIN, lambda m: "no longer post" in (m.text or ""))
    demoted = await chat_row(app, CHANNEL)
    api.my_chat_member(CHANNEL, ADMIN, "administrator", "administrator", chat_type="channel")
    await api.wait_for_message(SECOND_ADMIN, lambda m: "I can post in" in (m.text or ""))
    promoted = await chat_row(app, CHANNEL)
    api.kick(CHANNEL, by_user_id=ADMIN, notify=True)
    api.my_chat_member(CHANNEL, ADMIN, "kicked", "left", chat_type="channel")
    api.my_chat_member(CHANNEL, ADMIN, "left", "administrator", chat_type="channel")
    for admin in (ADMIN, SECOND_ADMIN):
        await api.wait_until(
            lambda a=admin: told(api, a, "I can post in") == 2 or None, what="second return"
        )
    removed_reasons = [
        m.text for m in api.messages(ADMIN) if "removed from the channel" in (m.text or "")
    ]
    assert (
        (demoted.active, demoted.inactive_reason) if demoted else None,
        promoted.active if promoted else None,
        [told(api, a, "no longer post") for a in (ADMIN, SECOND_ADMIN)],
        len(removed_reasons),
    ) == ((False, "the bot may no longer post in the channel"), True, [2, 2], 1)


async def test_send_refused_makes_the_channel_inactive_and_admins_told_once(
    api: FakeBotApi, app: AnyApplication, feeds: FeedServer
) -> None:
    """The bot was removed without an update: the 403 of a send makes the channel inactive,
    nothing stays pending for it, and each admin is told once. A linked group from which the
    bot is removed is reported the same way (through my_chat_member)."""
    await link(api)
    api.kick(CHANNEL)  # no my_chat_member update
    await post_torture(app, feeds, guid="p1")
    for admin in (ADMIN, SECOND_ADMIN):
        await api.wait_for_message(admin, lambda m: "no longer post" in (m.text or ""))
    row = await chat_row(app, CHANNEL)
    api.declare_chat(GROUP, "group", title="Local group")
    api.set_member_status(GROUP, api.bot_id, "member")
    linked_group = await ask(api, ADMIN, f"/channel {GROUP} stoptorture")
    api.kick(GROUP, by_user_id=ADMIN, notify=True)
    group_note = await api.wait_for_message(
        SECOND_ADMIN, lambda m: "no longer post in Local group" in (m.text or "")
    )
    assert (
        row.active if row else None,
        [told(api, a, "no longer post in Amnesty") for a in (ADMIN, SECOND_ADMIN)],
        await count(app, Delivery, Delivery.chat_id == CHANNEL, Delivery.status == "pending"),
        "Linked" in linked_group,
        "removed from the group" in (group_note.text or ""),
    ) == (False, [1, 1], 0, True, True)
