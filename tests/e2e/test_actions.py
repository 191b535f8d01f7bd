"""The action button, unsubscribe crediting and topic growth end to end (issue 9).

The whole bot runs against the fake Bot API: organisers add the button in the broadcast flow,
admins give topics a label, supporters press it; what they read comes from the fake server,
the counters from the bot's own database through its runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import AnyApplication, make_application, running
from bot.config import Settings
from bot.db.models import Broadcast, Delivery
from bot.db.repos import DeliveryRepo, TotalsRepo
from bot.render.text import INVALID_BUTTON
from tests.e2e.conftest import all_marked_sent, runtime_of
from tests.e2e.test_broadcasts import (
    ADMIN,
    choose_action,
    compose,
    rows,
    send_now,
    subscribe_all,
)
from tests.e2e.test_supporters import button_data, press, press_and_wait_edit, say, topic_id
from tests.fakes.botapi import BotMessage, FakeBotApi
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import FeedServer, rss

DEFAULT = "✅ I did it"
LETTER = "✍️ I wrote my letter"


@pytest.fixture
def action_app(bot_settings: Callable[..., Settings], engine: Any) -> Callable[..., Any]:
    """Start the bot with ADMIN as an ADMIN_IDS admin (optionally on a given clock)."""

    def make(clock: FakeClock | None = None) -> Any:
        kwargs: dict[str, Any] = {"clock": clock} if clock is not None else {}
        return running(make_application(bot_settings(admin_ids=[ADMIN]), engine=engine, **kwargs))

    return make


def texts(message: BotMessage) -> list[str]:
    """The texts of a message's buttons, row by row."""
    return [b["text"] for row in message.buttons for b in row]


async def broadcast_id(app: AnyApplication) -> int:
    """The id of the newest broadcast."""
    async with runtime_of(app).sessionmaker() as session:
        newest = await session.scalars(select(Broadcast.id).order_by(Broadcast.id.desc()))
        return int(newest.first() or 0)


async def deliver(
    api: FakeBotApi, app: AnyApplication, command: str, chats: list[int], **flow: Any
) -> tuple[BotMessage, dict[int, BotMessage]]:
    """Compose and send a broadcast as ADMIN; return the preview and each chat's message."""
    before = {c: len(api.messages(c)) for c in chats}
    preview, summary = await compose(api, ADMIN, command, **flow)
    await send_now(api, ADMIN, summary)
    delivered = {c: await next_message(api, c, before[c]) for c in chats}
    sent_id = await broadcast_id(app)
    await all_marked_sent(app, sent_id)
    # The organiser's "finished" summary comes with a later progress tick: wait for it, so a
    # next broadcast's dialogue does not take it for one of its own replies.
    await api.wait_until(
        lambda: any(
            (m.text or "").startswith(f"✅ Broadcast #{sent_id} finished")
            for m in api.messages(ADMIN)
        ),
        what="the finished summary",
    )
    return preview, delivered


async def next_message(api: FakeBotApi, chat_id: int, seen: int) -> BotMessage:
    """The first message a chat gets after the `seen` it had."""
    messages = await api.wait_until(
        lambda: api.messages(chat_id)[seen:] or None, what=f"a message to {chat_id}"
    )
    return messages[0]


async def unsubscribes(app: AnyApplication, kind: str, message_id: int) -> int:
    """The unsubscribes credited to a message, over its topics."""
    async with runtime_of(app).sessionmaker() as session:
        per_topic = await TotalsRepo(session).for_message(kind, message_id)
    return sum(c["unsubscribes"] for c in per_topic.values())


# -- the broadcast flow -----------------------------------------------------------------------


async def test_default_label_is_previewed_and_delivered(
    api: FakeBotApi, action_app: Callable[..., Any]
) -> None:
    """ "✅ I did it" puts the button under the preview and under every delivered message,
    with data naming the broadcast, not the chat."""
    async with action_app() as app:
        await subscribe_all(app)
        preview, delivered = await deliver(
            api, app, "/broadcast write-for-rights", [3002, 3003], action=DEFAULT
        )
        bid = await broadcast_id(app)
        (row,) = await rows(app, Broadcast)
        assert (
            texts(preview),
            texts(delivered[3002]),
            button_data(delivered[3002], DEFAULT),
            button_data(delivered[3003], DEFAULT),
            row.action_label,
        ) == (
            ["Take action", DEFAULT, "Unsubscribe from Write for Rights"],
            ["Take action", DEFAULT, "Unsubscribe from Write for Rights"],
            f"act:b:{bid}",
            f"act:b:{bid}",
            DEFAULT,
        )


async def test_own_label_is_asked_again_until_valid(
    api: FakeBotApi, action_app: Callable[..., Any]
) -> None:
    """ "Own label…": a label over 40 characters and one of two lines are refused with the
    reason and nothing is stored; a valid one (trimmed) is previewed and delivered."""
    async with action_app() as app:
        await subscribe_all(app)
        await say(api, ADMIN, "/broadcast stoptorture")
        await say(api, ADMIN, "Write to the minister today")
        (prompt,) = await say(api, ADMIN, "skip")
        await press(api, ADMIN, prompt, button_data(prompt, "Own label"))
        await api.wait_for_message(ADMIN, lambda m: "label for the button" in (m.text or ""))
        (too_long,) = await say(api, ADMIN, "x" * 41)
        (two_lines,) = await say(api, ADMIN, "I wrote\nmy letter")
        stored = await rows(app, Broadcast)
        preview, summary = await say(api, ADMIN, f"  {LETTER}  ", replies=2)
        await send_now(api, ADMIN, summary)
        delivered = await api.wait_for_message(3001)
        assert (
            too_long.text,
            two_lines.text,
            stored,
            texts(preview),
            texts(delivered),
            (await rows(app, Broadcast))[0].action_label,
        ) == (
            "That label won't do: an action label is at most 40 characters, not 41. "
            "Please send another one, or /cancel.",
            "That label won't do: an action label is 1-40 characters on one line. "
            "Please send another one, or /cancel.",
            [],
            [LETTER, "Unsubscribe from StopTorture"],
            [LETTER, "Unsubscribe from StopTorture"],
            LETTER,
        )


async def test_text_at_the_action_step_asks_for_a_button(
    api: FakeBotApi, action_app: Callable[..., Any]
) -> None:
    """Text instead of a choice is answered with what to do; the choice stays open."""
    async with action_app():
        await say(api, ADMIN, "/broadcast all")
        await say(api, ADMIN, "Act")
        (prompt,) = await say(api, ADMIN, "skip")
        (hint,) = await say(api, ADMIN, "yes please")
        preview, _ = await choose_action(api, ADMIN, prompt, "No button")
        assert (
            texts(prompt),
            (hint.text or "").startswith("Choose one of the buttons above"),
            preview.text,
        ) == ([DEFAULT, "Own label…", "No button"], True, "Act")


# -- pressing the button ----------------------------------------------------------------------


async def test_press_counts_once_with_the_running_total_and_forgeries_change_nothing(
    api: FakeBotApi, action_app: Callable[..., Any]
) -> None:
    """First press: the running total (folded totals included, thousands separated); again:
    already counted; data for another message, another chat's press, or the right data on
    another message: "no longer valid", and nothing is recorded."""
    async with action_app() as app:
        await subscribe_all(app)
        _, delivered = await deliver(
            api, app, "/broadcast stoptorture write for rights", [3001, 3002, 3003], action=DEFAULT
        )
        bid = await broadcast_id(app)
        data = f"act:b:{bid}"
        first, _ = await press(api, 3001, delivered[3001], data)
        second, _ = await press(api, 3002, delivered[3002], data)
        again, _ = await press(api, 3001, delivered[3001], data)
        (help_3003,) = await say(api, 3003, "/help")
        (help_3004,) = await say(api, 3004, "/help")
        forged = [
            (await press(api, 3003, delivered[3003], f"act:b:{bid + 1}"))[0],  # other message
            (await press(api, 3003, help_3003, data))[0],  # right data, another message
            (await press(api, 3004, help_3004, data))[0],  # a chat that never got it
            (await press(api, 3003, delivered[3003], "act:b:x"))[0],  # garbled
        ]
        runtime = runtime_of(app)
        async with runtime.sessionmaker() as session:
            acted_before = await DeliveryRepo(session).count_acted("broadcast", bid)
        async with runtime.sessionmaker.begin() as session:
            # 1,283 actions of delivery rows the retention job folded away.
            await TotalsRepo(session).add("broadcast", bid, None, actions=1283)
        third, _ = await press(api, 3003, delivered[3003], data)
        assert (
            first.get("text"),
            second.get("text"),
            again.get("text"),
            [f.get("text") for f in forged],
            acted_before,
            third.get("text"),
            await runtime.actions.total("broadcast", bid),
        ) == (
            "Counted, thank you! You're the first.",
            "Counted, thank you! You and 1 other did it.",
            "Already counted, thank you.",
            [INVALID_BUTTON] * 4,
            2,
            "Counted, thank you! You and 1,285 others did it.",
            1286,
        )


# -- topics -------------------------------------------------------------------------------------


async def test_topic_labels_from_toml_and_edittopic_reach_post_notifications(
    api: FakeBotApi, action_app: Callable[..., Any], feeds: FeedServer
) -> None:
    """Write for Rights has its label from the bundled topics file; StopTorture gets one with
    /edittopic. New posts of both carry their button (pressing counts); after
    "/edittopic … action off" the next post has none."""
    async with action_app() as app:
        runtime = runtime_of(app)
        await say(api, 3001, "/subscribe write for rights")
        await say(api, 3001, "/subscribe stoptorture")
        (edited,) = await say(api, ADMIN, "/edittopic stoptorture action 🕯 I lit a candle")
        old = {"title": "Office news", "link": "https://news.example.org/office", "guid": "old"}
        feeds.add("/feed.xml", rss([old]))
        feed = await runtime.feeds.add_feed(feeds.url("/feed.xml"))
        await runtime.ingest.poll_feed(feed.id)  # primes the feed
        letters = {"title": "Letters of hope for Write for Rights", "link": "https://e.org/1"}
        torture = {"title": "Torture survivors speak", "link": "https://e.org/2"}
        feeds.add("/feed.xml", rss([letters, torture, old]))
        await runtime.ingest.poll_feed(feed.id)
        letter_post = await api.wait_for_message(3001, lambda m: "Letters" in (m.text or ""))
        torture_post = await api.wait_for_message(3001, lambda m: "survivors" in (m.text or ""))
        answer, _ = await press(api, 3001, letter_post, button_data(letter_post, LETTER))
        (off,) = await say(api, ADMIN, "/edittopic stoptorture action off")
        later = {"title": "Torture trial opens", "link": "https://e.org/3"}
        feeds.add("/feed.xml", rss([later, letters, torture, old]))
        await runtime.ingest.poll_feed(feed.id)
        later_post = await api.wait_for_message(3001, lambda m: "trial" in (m.text or ""))
        assert (
            "Action button: 🕯 I lit a candle" in (edited.text or ""),
            texts(letter_post),
            texts(torture_post),
            button_data(letter_post, LETTER).startswith("act:p:"),
            answer.get("text"),
            "Action button: none" in (off.text or ""),
            texts(later_post),
        ) == (
            True,
            ["Read and act", LETTER, "Unsubscribe from Write for Rights"],
            ["Read and act", "🕯 I lit a candle", "Unsubscribe from StopTorture"],
            True,
            "Counted, thank you! You're the first.",
            True,
            ["Read and act", "Unsubscribe from StopTorture"],
        )


async def test_edittopic_action_refuses_a_bad_label(
    api: FakeBotApi, action_app: Callable[..., Any]
) -> None:
    """A label over 40 characters is refused and the topic keeps its label."""
    async with action_app():
        (reply,) = await say(api, ADMIN, "/edittopic write-for-rights action " + "x" * 41)
        (info,) = await say(api, ADMIN, "/topicinfo write-for-rights")
        assert (reply.text, f"Action button: {LETTER}" in (info.text or "")) == (
            "Sorry, an action label is at most 40 characters, not 41.\nNothing was changed.",
            True,
        )


# -- unsubscribes and growth ------------------------------------------------------------------


async def test_unsubscribe_is_credited_to_the_latest_message_within_48_hours(
    api: FakeBotApi, action_app: Callable[..., Any]
) -> None:
    """#1 goes to everyone at t0, #2 to StopTorture an hour later. At t0+47 h the button under
    #2 and "/unsubscribe all" (two topics, one credit) credit #2; at t0+49 h an unsubscribe of
    a chat whose last message is #1 (49 h old) credits nothing."""
    clock = FakeClock()
    async with action_app(clock) as app:
        await subscribe_all(app)
        await deliver(api, app, "/broadcast all", [3001, 3002, 3003, 3004])
        first = await broadcast_id(app)
        clock.advance(hours=1)
        _, second_messages = await deliver(api, app, "/broadcast stoptorture", [3001, 3003])
        second = await broadcast_id(app)
        clock.advance(hours=46)
        message = second_messages[3001]
        answer, _ = await press(api, 3001, message, button_data(message, "Unsubscribe"))
        await say(api, 3003, "/unsubscribe all")
        clock.advance(hours=2)
        await say(api, 3002, "/unsubscribe write for rights")
        assert (
            str(answer.get("text")).startswith("You no longer follow StopTorture"),
            await unsubscribes(app, "broadcast", second),
            await unsubscribes(app, "broadcast", first),
        ) == (True, 2, 0)


async def test_growth_counts_subscriptions_made_and_removed(
    api: FakeBotApi, action_app: Callable[..., Any]
) -> None:
    """Subscribing counts joined (not twice), unsubscribing and /forgetme count left, per topic
    in this week's row; nothing is credited to a message when the chat got none."""
    clock = FakeClock()
    async with action_app(clock) as app:
        st, wfr = await topic_id(app, "stoptorture"), await topic_id(app, "write-for-rights")
        await say(api, 3001, "/subscribe stoptorture")
        await say(api, 3001, "/subscribe stoptorture")
        await say(api, 3001, "/subscribe write for rights")
        await say(api, 3001, "/unsubscribe stoptorture")
        await say(api, 3002, "/subscribe write for rights")
        (prompt,) = await say(api, 3002, "/forgetme")
        await press_and_wait_edit(api, 3002, prompt, button_data(prompt, "Delete"))
        async with runtime_of(app).sessionmaker() as session:
            growth = await TotalsRepo(session).growth_since(clock.now().date())
            deliveries = (await session.execute(select(Delivery.id))).all()
        week = date(2026, 11, 23)
        assert (growth, deliveries) == ([(st, week, 1, 1), (wfr, week, 2, 1)], [])
