"""Supporters end to end: the whole bot against the fake Bot API, as users see it.

Each test talks to the running bot through `api` (send_text, press_button, my_chat_member) and
waits on the fake server's events; database state is read through the bot's own runtime.
One chat's updates are handled in order, so a reply to a later update in the same chat proves
an earlier one was handled; across chats, `handled` waits until the bot has handled everything.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.app import AnyApplication
from bot.db.models import Chat, User
from bot.db.repos import DeliveryRepo, PostRepo
from bot.domain.types import ParsedEntry
from bot.handlers.menus import GROUP_COMMANDS, SUPPORTER_COMMANDS
from bot.render import supporters as render
from bot.render.text import INVALID_BUTTON, SOMETHING_WRONG
from bot.services.subscriptions import SubscriptionService
from tests.e2e.conftest import runtime_of
from tests.fakes.botapi import POLL_CONFLICT, BotMessage, FakeBotApi
from tests.fakes.feedserver import FeedServer, rss

ALICE = 1001
BOB = 1002
CAROL = 1003
GROUP = -1001234567890


def service_of(app: AnyApplication) -> SubscriptionService:
    """A SubscriptionService on the bot's database, for reading state."""
    runtime = runtime_of(app)
    return SubscriptionService(runtime.sessionmaker, runtime.clock)


async def followed(app: AnyApplication, chat_id: int) -> list[str]:
    """Slugs of the topics a chat follows."""
    return [t.slug for t in await service_of(app).chat_topics(chat_id)]


async def topic_id(app: AnyApplication, slug: str) -> int:
    """The id of a bundled topic."""
    topics = await runtime_of(app).topics.list_topics()
    return next(t.id for t in topics if t.slug == slug)


async def label(app: AnyApplication, slug: str) -> str:
    """A topic as messages name it: its emoji (if any) and its name."""
    topic = next(t for t in await runtime_of(app).topics.list_topics() if t.slug == slug)
    return f"{topic.emoji} {topic.name}".strip()


async def say(
    api: FakeBotApi,
    user_id: int,
    text: str,
    replies: int = 1,
    chat_id: int | None = None,
    **sender: Any,
) -> list[BotMessage]:
    """Send `text` as the user and return the bot's next `replies` messages in that chat."""
    chat = user_id if chat_id is None else chat_id
    before = len(api.messages(chat))
    api.send_text(user_id, text, chat_id=chat_id, **sender)
    return await api.wait_until(
        lambda: (
            api.messages(chat)[before:] if len(api.messages(chat)) >= before + replies else None
        ),
        what=f"{replies} reply(s) to {text[:30]!r}",
    )


async def press(
    api: FakeBotApi, user_id: int, message: BotMessage, data: str
) -> tuple[dict[str, object], BotMessage]:
    """Press a button under `message`; return the bot's answer and the message afterwards."""
    query_id = api.press_button(user_id, message.message_id, data, chat_id=message.chat_id)
    # Not wait_for_callback_answer: an answer without text is an empty dict, which it ignores.
    await api.wait_for_requests(
        "answerCallbackQuery", predicate=lambda r: r.params.get("callback_query_id") == query_id
    )
    answer = api.callback_answer(query_id) or {}
    current = next(m for m in api.messages(message.chat_id) if m.message_id == message.message_id)
    return answer, current


async def press_and_wait_edit(
    api: FakeBotApi, user_id: int, message: BotMessage, data: str
) -> tuple[dict[str, object], BotMessage]:
    """Press a button and wait until the bot has edited that message."""
    edits = message.edits
    answer, _ = await press(api, user_id, message, data)
    current = await api.wait_for_message(
        message.chat_id, lambda m: m.message_id == message.message_id and m.edits > edits
    )
    return answer, current


async def handled(api: FakeBotApi, app: AnyApplication) -> None:
    """Wait until the bot has fetched every update sent so far and finished handling them.

    For updates with no visible answer. The fake server drops an update once getUpdates
    confirms it, which PTB does after queueing it; the queue is joined once each is handled.
    """
    await api.wait_until(lambda: not api.pending_updates or None, what="every update fetched")
    await app.update_queue.join()


def button_data(message: BotMessage, text_part: str) -> str:
    """The callback data of the button whose text contains `text_part`."""
    return next(
        b["callback_data"] for row in message.buttons for b in row if text_part in b["text"]
    )


def button_texts(message: BotMessage) -> list[str]:
    """The texts of every button under a message."""
    return [b["text"] for row in message.buttons for b in row]


# -- /start and the picker --------------------------------------------------------------------


async def test_start_sends_welcome_then_picker(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """/start greets in a few lines and then shows one toggle button per topic."""
    welcome, picker = await say(api, ALICE, "/start", replies=2)
    assert (
        welcome.text.startswith("👋 Welcome"),
        len(welcome.text.splitlines()),
        [t.startswith("➕ ") for t in button_texts(picker)],
    ) == (True, 3, [True] * 3)


async def test_picker_button_subscribes_and_edits_in_place(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """A new user presses a topic in the /start picker: subscribed, ✅ in the same message."""
    _, picker = await say(api, ALICE, "/start", replies=2)
    answer, edited = await press_and_wait_edit(
        api, ALICE, picker, button_data(picker, "Write for Rights")
    )
    ticked = [t for t in button_texts(edited) if t.startswith("✅")]
    assert (
        answer.get("text"),
        [("Write for Rights" in t) for t in ticked],
        len(api.messages(ALICE)),
        await followed(bot_app, ALICE),
    ) == ("✅ You now follow Write for Rights.", [True], 2, ["write-for-rights"])


async def test_picker_button_pressed_again_unsubscribes(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """Pressing a followed topic in the picker stops following it."""
    (picker,) = await say(api, ALICE, "/topics")
    _, picker = await press_and_wait_edit(api, ALICE, picker, button_data(picker, "StopTorture"))
    answer, _ = await press_and_wait_edit(api, ALICE, picker, button_data(picker, "StopTorture"))
    assert (answer.get("text"), await followed(bot_app, ALICE)) == (
        "You no longer follow StopTorture.",
        [],
    )


async def test_deep_link_subscribes_at_once(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """`/start sub-write-for-rights` subscribes and says so in the welcome."""
    welcome, _ = await say(api, ALICE, "/start sub-write-for-rights", replies=2)
    expected = f"✅ You now follow {await label(bot_app, 'write-for-rights')}: new posts"
    assert (
        welcome.text.splitlines()[-1].startswith(expected),
        await followed(bot_app, ALICE),
    ) == (True, ["write-for-rights"])


async def test_unknown_deep_link_says_so_and_shows_picker(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """`/start sub-nope` says there is no such topic and still shows the picker."""
    welcome, picker = await say(api, ALICE, "/start sub-nope", replies=2)
    assert (
        "There is no topic “nope”" in welcome.text,
        len(picker.buttons),
        await followed(bot_app, ALICE),
    ) == (True, 3, [])


# -- /subscribe, /unsubscribe, /mysubs ----------------------------------------------------------


@pytest.mark.parametrize("name", ["write for rights", "WriteForRights", "#write-for-rights"])
async def test_subscribe_accepts_forgiving_names(
    api: FakeBotApi, bot_app: AnyApplication, name: str
) -> None:
    """/subscribe matches the topic whatever the case, spacing or punctuation."""
    (reply,) = await say(api, ALICE, f"/subscribe {name}")
    name = await label(bot_app, "write-for-rights")
    assert (reply.text, await followed(bot_app, ALICE)) == (
        f"✅ You now follow {name}: new posts will arrive here.",
        ["write-for-rights"],
    )


async def test_subscribe_unknown_topic_suggests(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """An unknown topic gets "No topic called X. Did you mean: …"."""
    (reply,) = await say(api, ALICE, "/subscribe write for right")
    assert reply.text == "No topic called “write for right”. Did you mean: Write for Rights?"


async def test_subscribe_without_topic_shows_picker(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """/subscribe alone shows the topic picker."""
    (reply,) = await say(api, ALICE, "/subscribe")
    assert (reply.text.startswith(render.PICKER_INTRO), len(reply.buttons)) == (True, 3)


async def test_hostile_long_argument_is_answered_escaped(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """A 10,000-character argument with HTML gets a short answer showing it literally."""
    (reply,) = await say(api, ALICE, "/subscribe <b>&amp;</b>" + "x" * 10_000)
    assert (reply.text.startswith("No topic called “<b>&amp;</b>xxx"), len(reply.text) < 200) == (
        True,
        True,
    )


async def test_unsubscribe_all(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """/unsubscribe all stops every subscription."""
    await say(api, ALICE, "/subscribe stoptorture")
    await say(api, ALICE, "/subscribe indigenous rights")
    (reply,) = await say(api, ALICE, "/unsubscribe all")
    assert (
        reply.text.startswith("You no longer follow any topic"),
        await followed(bot_app, ALICE),
    ) == (True, [])


async def test_unsubscribe_by_name(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """/unsubscribe <topic> stops that one subscription."""
    await say(api, ALICE, "/subscribe stoptorture")
    (reply,) = await say(api, ALICE, "/unsubscribe Stop Torture")
    name = await label(bot_app, "stoptorture")
    assert (reply.text, await followed(bot_app, ALICE)) == (
        f"You no longer follow {name}. /topics to follow it again.",
        [],
    )


async def test_mysubs_button_unsubscribes_in_place(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """/mysubs lists the topics; its button unsubscribes and the list is edited in place."""
    await say(api, ALICE, "/subscribe stoptorture")
    (mysubs,) = await say(api, ALICE, "/mysubs")
    before = button_texts(mysubs)
    answer, edited = await press_and_wait_edit(api, ALICE, mysubs, button_data(mysubs, "Stop"))
    assert (before, answer.get("text"), edited.text, await followed(bot_app, ALICE)) == (
        ["✖ Unsubscribe from StopTorture"],
        "You no longer follow StopTorture.",
        "You follow no topics yet. Choose some with /topics.",
        [],
    )


async def test_unsubscribe_button_under_a_post(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """The "Unsubscribe from <topic>" button under a delivered post unsubscribes the chat."""
    await say(api, ALICE, "/subscribe stoptorture")
    post = await _deliver_post(bot_app, api, ALICE, "stoptorture")
    answer, after = await press(api, ALICE, post, button_data(post, "Unsubscribe"))
    assert (answer.get("text"), after.text == post.text, await followed(bot_app, ALICE)) == (
        "You no longer follow StopTorture. Use /topics to follow it again.",
        True,
        [],
    )


async def _deliver_post(
    app: AnyApplication, api: FakeBotApi, chat_id: int, slug: str
) -> BotMessage:
    """Store a post of a topic and queue it as ingest does; return the message it becomes."""
    runtime = runtime_of(app)
    now = runtime.clock.now()
    tid = await topic_id(app, slug)
    entry = ParsedEntry(
        identity="p1", url="https://news.example.org/p1", title="A post", summary="About it."
    )
    async with runtime.sessionmaker.begin() as session:
        inserted = await PostRepo(session).insert_new(None, [entry], now, announced=True)  # type: ignore[arg-type]
        await PostRepo(session).add_topics([(inserted["p1"], tid)])
        await DeliveryRepo(session).fan_out_post(inserted["p1"], [tid], now)
    assert runtime.delivery is not None
    runtime.delivery.wake()
    return await api.wait_for_message(
        chat_id,
        lambda m: "A post" in (m.text or ""),
    )


# -- /latest --------------------------------------------------------------------------------------


async def test_latest_pages_in_the_same_message(
    api: FakeBotApi, bot_app: AnyApplication, feeds: FeedServer
) -> None:
    """/latest shows five posts; ▶ and ◀ edit the same message to the next and back."""
    runtime = runtime_of(bot_app)
    items = [
        {
            "title": f"Action {n}",
            "link": f"https://news.example.org/{n}",
            "guid": f"g{n}",
            "pubDate": datetime(2026, 11, n + 1, 8, 0, tzinfo=UTC),
        }
        for n in range(7)
    ]
    feeds.add("/news.xml", rss(items))
    feed = await runtime.feeds.add_feed(feeds.url("/news.xml"), "Amnesty news")
    await runtime.ingest.poll_feed(feed.id)
    (latest,) = await say(api, ALICE, "/latest")
    first = (latest.text.count("• "), button_texts(latest))
    _, older = await press_and_wait_edit(api, ALICE, latest, button_data(latest, "Older"))
    second = (older.text.count("• "), button_texts(older))
    _, newer = await press_and_wait_edit(api, ALICE, older, button_data(older, "Newer"))
    assert (first, second, newer.text == latest.text, len(api.messages(ALICE))) == (
        (5, ["Older ▶"]),
        (2, ["◀ Newer"]),
        True,
        1,
    )


async def test_latest_unknown_topic_suggests(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """/latest with an unknown topic answers like /subscribe does."""
    (reply,) = await say(api, ALICE, "/latest tortur")
    assert reply.text == "No topic called “tortur”. Did you mean: StopTorture?"


# -- /help, menus, hints --------------------------------------------------------------------------


async def test_help_lists_every_menu_command(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """/help names every command of the supporter menu, in one message."""
    (reply,) = await say(api, ALICE, "/help")
    assert [f"/{c.command}" in reply.text for c in SUPPORTER_COMMANDS] == [True] * len(
        SUPPORTER_COMMANDS
    )


async def test_menus_installed_at_start(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """setMyCommands ran at start for private chats and for groups."""
    installed = (
        [c["command"] for c in api.commands({"type": "all_private_chats"})],
        [c["command"] for c in api.commands({"type": "all_group_chats"})],
    )
    assert installed == (
        [c.command for c in SUPPORTER_COMMANDS],
        [c.command for c in GROUP_COMMANDS],
    )


async def test_free_text_gets_a_hint(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """A private message that is not a command points to /help."""
    (reply,) = await say(api, ALICE, "hello, can you help?")
    assert reply.text == render.free_text_hint().text


async def test_unknown_command_gets_a_hint(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """A command the bot does not know gets a short hint."""
    (reply,) = await say(api, ALICE, "/frobnicate now")
    assert reply.text == "I don't know /frobnicate. Send /help to see what I can do."


# -- invalid buttons ------------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["t:tog:999999:p", "garbage", "t:off:1\n"])
async def test_forged_button_gets_notice_and_changes_nothing(
    api: FakeBotApi, bot_app: AnyApplication, data: str
) -> None:
    """A press with data that is not on the message is refused and changes nothing."""
    (picker,) = await say(api, ALICE, "/topics")
    answer, after = await press(api, ALICE, picker, data)
    assert (answer.get("text"), after.edits, await followed(bot_app, ALICE)) == (
        INVALID_BUTTON,
        0,
        [],
    )


async def test_stale_picker_button_gets_notice(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """A button of a keyboard that was edited since (a stale press) is refused."""
    (picker,) = await say(api, ALICE, "/topics")
    data = button_data(picker, "StopTorture")
    (mysubs,) = await say(api, ALICE, "/mysubs")  # a message without that button
    answer, _ = await press(api, ALICE, mysubs, data)
    assert (answer.get("text"), await followed(bot_app, ALICE)) == (INVALID_BUTTON, [])


# -- /forgetme ------------------------------------------------------------------------------------


async def test_forgetme_confirm_deletes_everything(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """/forgetme then "Delete everything" removes the chat, its subscriptions and the user."""
    await say(api, ALICE, "/subscribe stoptorture", username="Alice")
    (prompt,) = await say(api, ALICE, "/forgetme")
    _, done = await press_and_wait_edit(api, ALICE, prompt, button_data(prompt, "Delete"))
    async with runtime_of(bot_app).sessionmaker() as session:
        rows = (await session.get(Chat, ALICE), await session.get(User, ALICE))
    assert (done.text.splitlines()[:2], done.buttons, rows, await followed(bot_app, ALICE)) == (
        ["Done. Deleted:", "• 1 subscription"],
        [],
        (None, None),
        [],
    )


async def test_forgetme_cancel_keeps_everything(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """/forgetme then "Cancel" deletes nothing."""
    await say(api, ALICE, "/subscribe stoptorture")
    (prompt,) = await say(api, ALICE, "/forgetme")
    _, done = await press_and_wait_edit(api, ALICE, prompt, button_data(prompt, "Cancel"))
    assert (done.text, await followed(bot_app, ALICE)) == (
        "Nothing was deleted.",
        ["stoptorture"],
    )


# -- groups ---------------------------------------------------------------------------------------


async def test_group_member_cannot_subscribe_the_group(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """In a group, a member who is not an admin gets a polite refusal."""
    (reply,) = await say(api, BOB, "/subscribe stoptorture", chat_id=GROUP)
    assert (reply.text, await followed(bot_app, GROUP)) == (
        "Sorry, only group admins can change which topics this group follows.",
        [],
    )


async def test_group_admin_can_subscribe_the_group(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """In a group, an administrator changes the group's subscriptions."""
    api.set_member_status(GROUP, CAROL, "administrator")
    (reply,) = await say(api, CAROL, "/subscribe@campaign_test_bot stoptorture", chat_id=GROUP)
    name = await label(bot_app, "stoptorture")
    assert (reply.text, await followed(bot_app, GROUP)) == (
        f"✅ This group now follows {name}: new posts will arrive here.",
        ["stoptorture"],
    )


async def test_group_member_button_is_refused(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """A non-admin pressing the group's picker changes nothing and is told why."""
    (picker,) = await say(api, BOB, "/topics@campaign_test_bot", chat_id=GROUP)
    answer, _ = await press(api, BOB, picker, button_data(picker, "StopTorture"))
    assert (answer.get("text"), await followed(bot_app, GROUP)) == (render.ADMINS_ONLY, [])


async def test_group_member_can_read_latest(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """Reading is open to everyone in a group."""
    (reply,) = await say(api, BOB, "/latest@campaign_test_bot", chat_id=GROUP)
    assert reply.text.startswith("Latest posts")


@pytest.mark.parametrize(
    ("before", "command", "expected"),
    [
        ([], "/subscribe stoptorture", "✅ This group now follows ✋ StopTorture: new posts"),
        (["/subscribe stoptorture"], "/subscribe stoptorture", "This group already follows"),
        ([], "/unsubscribe stoptorture", "This group was not following ✋ StopTorture."),
        (["/subscribe stoptorture"], "/unsubscribe stoptorture", "This group no longer follows"),
        ([], "/unsubscribe all", "This group was not following any topic."),
        (["/subscribe stoptorture"], "/unsubscribe all", "This group no longer follows any"),
        ([], "/mysubs", "This group follows no topics yet."),
        (["/subscribe stoptorture"], "/mysubs", "This group follows:"),
        ([], "/start sub-stoptorture", "👋 Welcome to Campaign Action Bot!"),
    ],
)
async def test_group_replies_speak_of_the_group(
    api: FakeBotApi, bot_app: AnyApplication, before: list[str], command: str, expected: str
) -> None:
    """In a group, replies about subscriptions speak of the group, never of "you"."""
    api.set_member_status(GROUP, CAROL, "administrator")
    for line in before:
        await say(api, CAROL, line, chat_id=GROUP)
    replies = await say(api, CAROL, command, chat_id=GROUP)
    text = replies[0].text or ""
    assert (text.startswith(expected), [w for w in ("You ", "you ") if w in text]) == (True, [])


async def test_group_deep_link_says_the_group_follows(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """`/start sub-stoptorture` from a group admin says the group now follows the topic."""
    api.set_member_status(GROUP, CAROL, "administrator")
    welcome, _ = await say(api, CAROL, "/start sub-stoptorture", replies=2, chat_id=GROUP)
    assert welcome.text.splitlines()[-1] == (
        "✅ This group now follows ✋ StopTorture: new posts will arrive here."
    )


@pytest.mark.parametrize("twice", [False, True])
async def test_group_unsubscribe_button_under_a_post_speaks_of_the_group(
    api: FakeBotApi, bot_app: AnyApplication, twice: bool
) -> None:
    """ "Unsubscribe from <topic>" under a post in a group answers about the group."""
    api.set_member_status(GROUP, CAROL, "administrator")
    await say(api, CAROL, "/subscribe stoptorture", chat_id=GROUP)
    post = await _deliver_post(bot_app, api, GROUP, "stoptorture")
    data = button_data(post, "Unsubscribe")
    answer, _ = await press(api, CAROL, post, data)
    if twice:
        answer, _ = await press(api, CAROL, post, data)
    assert answer.get("text") == (
        "This group was not following StopTorture."
        if twice
        else "This group no longer follows StopTorture. Use /topics to follow it again."
    )


async def test_group_help_speaks_of_the_group(api: FakeBotApi, bot_app: AnyApplication) -> None:
    """/help in a group describes /mysubs as the group's topics."""
    (reply,) = await say(api, BOB, "/help", chat_id=GROUP)
    line = next(t for t in reply.text.splitlines() if t.startswith("/mysubs"))
    assert (
        line == "/mysubs — the topics this group follows, with a button to unsubscribe from each"
    )


# -- reachability ---------------------------------------------------------------------------------


async def test_blocking_marks_chat_inactive_and_unblocking_active(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """my_chat_member kicked makes the chat inactive; member again makes it active."""
    await say(api, ALICE, "/subscribe stoptorture")
    states = []
    for old, new in (("member", "kicked"), ("kicked", "member")):
        api.my_chat_member(ALICE, ALICE, old, new)
        await handled(api, bot_app)
        async with runtime_of(bot_app).sessionmaker() as session:
            chat = await session.get(Chat, ALICE)
            states.append(chat.active if chat else None)
    assert states == [False, True]


# -- the key flow ---------------------------------------------------------------------------------


async def test_new_post_reaches_only_its_subscribers(
    api: FakeBotApi, bot_app: AnyApplication, feeds: FeedServer
) -> None:
    """A new user subscribes via /start and a button; a new StopTorture post reaches them once
    with its title and link, and a user following another topic gets nothing."""
    runtime = runtime_of(bot_app)
    _, picker = await say(api, ALICE, "/start", replies=2)
    await press_and_wait_edit(api, ALICE, picker, button_data(picker, "StopTorture"))
    await say(api, BOB, "/subscribe indigenous rights")
    old = {"title": "Office news", "link": "https://news.example.org/office", "guid": "old"}
    feeds.add("/feed.xml", rss([old]))
    feed = await runtime.feeds.add_feed(feeds.url("/feed.xml"))
    await runtime.ingest.poll_feed(feed.id)  # primes the feed: old entries are not announced
    alice_before, bob_before = len(api.messages(ALICE)), len(api.messages(BOB))
    new = {
        "title": "Detainees describe torture in secret prisons",
        "link": "https://news.example.org/2026/detainees",
        "guid": "new",
        "categories": ["StopTorture"],
    }
    feeds.add("/feed.xml", rss([new, old]))
    message = await api.wait_for_message(
        ALICE, lambda m: "Detainees describe torture" in (m.text or ""), timeout=15
    )
    links = [e.get("url") for e in message.entities if e["type"] == "text_link"]
    assert (
        links,
        len(api.messages(ALICE)) - alice_before,
        len(api.messages(BOB)) - bob_before,
    ) == (["https://news.example.org/2026/detainees"], 1, 0)


async def test_group_admin_button_subscribes_the_group(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """A group admin pressing the picker changes the group's subscriptions."""
    api.set_member_status(GROUP, CAROL, "creator")
    (picker,) = await say(api, BOB, "/topics", chat_id=GROUP)
    answer, _ = await press_and_wait_edit(api, CAROL, picker, button_data(picker, "StopTorture"))
    assert (answer.get("text"), await followed(bot_app, GROUP)) == (
        "✅ This group now follows StopTorture.",
        ["stoptorture"],
    )


# -- failures -------------------------------------------------------------------------------------


async def test_failure_in_a_handler_gets_an_apology_not_a_traceback(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """When a handler fails (here getChatMember), the user gets one short apology."""
    api.fail_next("getChatMember", 400, "Bad Request: chat not found")
    (reply,) = await say(api, BOB, "/subscribe stoptorture", chat_id=GROUP)
    assert (reply.text, await followed(bot_app, GROUP)) == (SOMETHING_WRONG, [])


async def test_a_failure_in_a_private_chat_is_logged_without_naming_the_person(
    api: FakeBotApi, bot_app: AnyApplication, caplog: pytest.LogCaptureFixture
) -> None:
    """The error line says which update failed and how, not whose chat it was."""
    api.fail_next("sendMessage", 400, "Bad Request: message is too long")
    with caplog.at_level(logging.ERROR, logger="bot.handlers.errors"):
        (reply,) = await say(api, ALICE, "/topics")
    (line,) = [r for r in caplog.records if r.getMessage() == "update handling failed"]
    logged = {key: getattr(line, key, None) for key in ("update_kind", "chat_type", "chat_id")}
    assert (reply.text, logged, hasattr(line, "user_id")) == (
        SOMETHING_WRONG,
        {"update_kind": "message", "chat_type": "private", "chat_id": None},
        False,
    )


async def test_a_failure_in_a_group_is_logged_with_the_group(
    api: FakeBotApi, bot_app: AnyApplication, caplog: pytest.LogCaptureFixture
) -> None:
    """A group's id is no person's: the operator can find the group that failed."""
    api.fail_next("getChatMember", 400, "Bad Request: chat not found")
    with caplog.at_level(logging.ERROR, logger="bot.handlers.errors"):
        await say(api, BOB, "/subscribe stoptorture", chat_id=GROUP)
    (line,) = [r for r in caplog.records if r.getMessage() == "update handling failed"]
    assert (line.chat_id, line.chat_type, hasattr(line, "user_id")) == (GROUP, "supergroup", False)


async def test_a_second_poller_is_one_warning_not_a_traceback(
    api: FakeBotApi, bot_app: AnyApplication, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram's 409 Conflict to a long poll (another process polls with this token) is one
    warning a minute naming the way out, never a traceback; the bot goes on answering."""
    api.fail_next("getUpdates", 409, POLL_CONFLICT, count=2)
    with caplog.at_level(logging.WARNING, logger="bot.handlers.errors"):
        await api.wait_until(
            lambda: sum(r.status == 409 for r in api.requests("getUpdates")) == 2,
            timeout=30,
            what="two refused polls",
        )
        (picker,) = await say(api, ALICE, "/topics")
    logged = [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records]
    assert (bool(button_data(picker, "StopTorture")), logged) == (
        True,
        [
            (
                "WARNING",
                "another process is polling Telegram for this bot's updates; to run several "
                "instances, give each WEBHOOK_URL",
                None,
            )
        ],
    )


async def test_button_whose_message_vanished_acts_without_an_apology(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """A picker press whose message is gone by the time of the edit subscribes, no apology."""
    (picker,) = await say(api, ALICE, "/topics")
    api.fail_next("editMessageText", 400, "Bad Request: message to edit not found")
    await press(api, ALICE, picker, button_data(picker, "StopTorture"))
    await handled(api, bot_app)
    assert ([m.text for m in api.messages(ALICE)[1:]], await followed(bot_app, ALICE)) == (
        [],
        ["stoptorture"],
    )
