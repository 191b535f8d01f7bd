"""Organiser broadcasts end to end: the whole bot against the fake Bot API, as organisers see it.

Organisers talk to the running bot through `api` (send_text, send_formatted, press_button);
supporters are subscribed through the bot's own service; what arrives is read at the fake
server, the rows through the bot's runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.app import AnyApplication, make_application, running
from bot.config import Settings
from bot.db.models import AuditEntry, Broadcast, Delivery, User
from bot.db.repos import PostRepo, UserRepo
from bot.domain.types import ParsedEntry
from bot.services.subscriptions import SubscriptionService
from tests.e2e.conftest import runtime_of
from tests.e2e.test_supporters import button_data, press, say
from tests.fakes.botapi import BotMessage, FakeBotApi
from tests.fakes.clock import FakeClock

ADMIN = 2001
ORGANISER = 2002
SUPPORTER = 2003
# Subscribers: 3001 follows StopTorture, 3002 Write for Rights, 3003 both, 3004 neither topic.
FOLLOWS = {
    3001: ["stoptorture"],
    3002: ["write-for-rights"],
    3003: ["stoptorture", "write-for-rights"],
    3004: ["indigenous-rights"],
}
ACTION = "https://act.example.org/sign?petition=1&ref=bot"


@pytest.fixture
def organiser_app(bot_settings: Callable[..., Settings], engine: Any) -> Callable[..., Any]:
    """Start the bot with ADMIN as an ADMIN_IDS admin (optionally on a given clock)."""

    def make(clock: FakeClock | None = None) -> Any:
        kwargs = {"clock": clock} if clock is not None else {}
        return running(make_application(bot_settings(admin_ids=[ADMIN]), engine=engine, **kwargs))

    return make


async def subscribe_all(app: AnyApplication, follows: dict[int, list[str]] = FOLLOWS) -> None:
    """Subscribe the supporter chats to their topics."""
    runtime = runtime_of(app)
    service = SubscriptionService(runtime.sessionmaker, runtime.clock)
    for chat_id, slugs in follows.items():
        for slug in slugs:
            await service.subscribe(chat_id, slug, chat_type="private")


async def grant_organiser(app: AnyApplication, user_id: int) -> None:
    """Make a user an organiser in the users table (as /grant would)."""
    runtime = runtime_of(app)
    async with runtime.sessionmaker.begin() as session:
        await UserRepo(session).upsert(user_id, None, runtime.clock.now())
        await session.execute(update(User).where(User.id == user_id).values(role="organiser"))


NO_BUTTON = "No button"


async def compose(
    api: FakeBotApi,
    user: int,
    command: str,
    link: str = ACTION,
    action: str = NO_BUTTON,
    label: str | None = None,
    **message: Any,
) -> tuple[BotMessage, BotMessage]:
    """Run /broadcast up to the preview; return the preview and the summary with buttons.

    `action` is the button pressed at the action-button step ("No button", "✅ I did it" or
    "Own label…", then `label` is sent as the label).
    """
    await say(api, user, command)
    before = len(api.messages(user))
    if message.get("photo"):
        api.send_formatted(user, **message)
    else:
        api.send_formatted(user, message.get("text", "Act now"), message.get("entities"))
    await api.wait_until(lambda: len(api.messages(user)) > before, what="link prompt")
    (prompt,) = await say(api, user, link)
    return await choose_action(api, user, prompt, action, label)


async def choose_action(
    api: FakeBotApi, user: int, prompt: BotMessage, action: str, label: str | None = None
) -> tuple[BotMessage, BotMessage]:
    """Press `action` under the action-button question (and send `label`); return the
    preview and the summary.
    """
    before = len(api.messages(user))
    await press(api, user, prompt, button_data(prompt, action))
    if label is not None:
        await api.wait_until(lambda: len(api.messages(user)) > before, what="label prompt")
        preview, summary = await say(api, user, label, replies=2)
        return preview, summary
    preview, summary = await api.wait_until(
        lambda: api.messages(user)[before:] if len(api.messages(user)) >= before + 2 else None,
        what="preview and summary",
    )
    return preview, summary


async def send_now(api: FakeBotApi, user: int, summary: BotMessage) -> dict[str, object]:
    """Press Send now under the summary and return the answer."""
    answer, _ = await press(api, user, summary, button_data(summary, "Send now"))
    return answer


async def schedule(api: FakeBotApi, user: int, command: str, when: str = "in 2h") -> BotMessage:
    """Run `command` up to the preview, press Schedule, answer `when`; return the reply."""
    _, summary = await compose(api, user, command)
    before = len(api.messages(user))
    await press(api, user, summary, button_data(summary, "Schedule"))
    await api.wait_until(
        lambda: any("When should" in (m.text or "") for m in api.messages(user)[before:]) or None,
        what="the question when",
    )
    (reply,) = await say(api, user, when)
    return reply


def shown(message: BotMessage) -> tuple[Any, ...]:
    """What a reader sees: text or caption with their entities, photo or not, and buttons."""
    return (
        message.text,
        message.entities,
        message.caption,
        message.caption_entities,
        message.photo is not None,
        message.buttons,
    )


async def rows(app: AnyApplication, model: Any) -> list[Any]:
    """Every row of a table."""
    async with runtime_of(app).sessionmaker() as session:
        return list((await session.execute(select(model))).scalars())


async def test_supporter_broadcast_is_refused_and_writes_nothing(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """A supporter's /broadcast gets the refusal and no draft or row is created."""
    async with organiser_app() as app:
        (reply,) = await say(api, SUPPORTER, "/broadcast all")
        (after,) = await say(api, SUPPORTER, "Buy now!")
        assert (
            reply.text,
            after.text.startswith("I only understand"),
            await rows(app, Broadcast),
        ) == (
            "Sorry, only organisers and admins can do that.",
            True,
            [],
        )


async def test_broadcast_to_two_topics_reaches_each_chat_once(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """A granted organiser's broadcast to two topics reaches 3001-3003 once each, not 3004."""
    async with organiser_app() as app:
        await subscribe_all(app)
        await grant_organiser(app, ORGANISER)
        _, summary = await compose(api, ORGANISER, "/broadcast stoptorture write for rights")
        await send_now(api, ORGANISER, summary)
        await api.wait_for_sent(3 + 5)  # 3 deliveries + the organiser's 5 replies
        for chat_id in (3001, 3002, 3003):
            await api.wait_for_message(chat_id)
        assert {c: api.sent_per_chat().get(c, 0) for c in FOLLOWS} == {
            3001: 1,
            3002: 1,
            3003: 1,
            3004: 0,
        }


async def test_dialogue_under_strict_per_chat_limit_completes(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """Under the fake's default per-chat bucket (3 messages, then 1 a second) the organiser's
    replies run into 429s; the bot waits them out and the broadcast reaches each follower once.
    """
    api.set_limits(per_chat_burst=3, per_chat_per_second=1.0)
    async with organiser_app() as app:
        await subscribe_all(app)
        _, summary = await compose(api, ADMIN, "/broadcast stoptorture write for rights")
        await send_now(api, ADMIN, summary)
        for chat_id in (3001, 3002, 3003):
            await api.wait_for_message(chat_id)
        assert api.stats.too_many_requests > 0
        assert {c: api.sent_per_chat().get(c, 0) for c in FOLLOWS} == {
            3001: 1,
            3002: 1,
            3003: 1,
            3004: 0,
        }


async def test_preview_equals_delivered_message(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """Formatting (bold, italic, spoiler, quoted link, code) and buttons arrive as previewed."""
    text = 'Act now: write today! <not a tag> & "quoted" see here code'
    entities = [
        {"type": "bold", "offset": 0, "length": 7},
        {"type": "italic", "offset": 9, "length": 5},
        {"type": "spoiler", "offset": 15, "length": 5},
        {
            "type": "text_link",
            "offset": text.index("here"),
            "length": 4,
            "url": 'https://e.org/?a=1&b="2"',
        },
        {"type": "code", "offset": text.index("code"), "length": 4},
    ]
    async with organiser_app() as app:
        await subscribe_all(app)
        preview, summary = await compose(
            api, ADMIN, "/broadcast stoptorture write-for-rights", text=text, entities=entities
        )
        await send_now(api, ADMIN, summary)
        delivered = await api.wait_for_message(3003)
        assert (shown(delivered), delivered.entities, delivered.text) == (
            shown(preview),
            entities,
            text,
        )


async def test_photo_broadcast_sends_photo_with_caption(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """A photo with a formatted caption is delivered as a photo with that caption."""
    async with organiser_app() as app:
        await subscribe_all(app)
        preview, summary = await compose(
            api,
            ADMIN,
            "/broadcast stoptorture",
            photo=True,
            caption="Sign the petition",
            caption_entities=[{"type": "bold", "offset": 0, "length": 4}],
        )
        await send_now(api, ADMIN, summary)
        delivered = await api.wait_for_message(3001)
        assert (shown(delivered), delivered.caption_entities) == (
            shown(preview),
            [{"type": "bold", "offset": 0, "length": 4}],
        )


async def test_skip_link_sends_no_take_action_button(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """ "skip" leaves only the Unsubscribe button under the message."""
    async with organiser_app() as app:
        await subscribe_all(app)
        _, summary = await compose(api, ADMIN, "/broadcast write-for-rights", link="skip")
        await send_now(api, ADMIN, summary)
        delivered = await api.wait_for_message(3002)
        assert [b["text"] for row in delivered.buttons for b in row] == [
            "Unsubscribe from Write for Rights"
        ]


async def test_invalid_link_is_asked_again(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """A link that is not http(s) is refused and the question stays open."""
    async with organiser_app() as app:
        await subscribe_all(app)
        await say(api, ADMIN, "/broadcast all")
        await say(api, ADMIN, "Act")
        (refusal,) = await say(api, ADMIN, "javascript:alert(1)")
        assert (refusal.text.startswith("That is not a link"), await rows(app, Broadcast)) == (
            True,
            [],
        )


async def test_cancel_button_discards_draft(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """Cancel under the preview sends nothing and writes no row."""
    async with organiser_app() as app:
        await subscribe_all(app)
        _, summary = await compose(api, ADMIN, "/broadcast all")
        await press(api, ADMIN, summary, button_data(summary, "Cancel"))
        (after,) = await say(api, ADMIN, "/broadcasts")
        assert (await rows(app, Broadcast), api.sent_per_chat().get(3001, 0)) == ([], 0)
        assert "None yet." in (after.text or "")


async def test_slash_cancel_leaves_flow_mid_compose(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """/cancel while composing ends the flow: the next text is not taken as the message."""
    async with organiser_app():
        await say(api, ADMIN, "/broadcast all")
        (cancelled,) = await say(api, ADMIN, "/cancel")
        (after,) = await say(api, ADMIN, "hello")
        assert (cancelled.text, after.text.startswith("I only understand")) == (
            "Cancelled. Nothing was sent.",
            True,
        )


async def test_unknown_topic_answers_with_suggestions(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """An unknown topic gets "No topic called …" with close names."""
    async with organiser_app():
        (reply,) = await say(api, ADMIN, "/broadcast torture")
        assert (reply.text or "").startswith(
            "No topic called “torture”. Did you mean: StopTorture"
        )


async def test_long_text_is_refused(api: FakeBotApi, organiser_app: Callable[..., Any]) -> None:
    """A text over 4096 characters is refused with its length."""
    async with organiser_app():
        await say(api, ADMIN, "/broadcast all")
        api.send_formatted(ADMIN, "x" * 4097)
        reply = await api.wait_for_message(ADMIN, lambda m: "at most 4096" in (m.text or ""))
        assert "4097" in (reply.text or "")


async def test_replayed_send_button_from_supporter_is_refused(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """A supporter pressing a broadcast button's data gets the refusal; nothing is sent."""
    async with organiser_app() as app:
        await subscribe_all(app)
        _, summary = await compose(api, ADMIN, "/broadcast all")
        data = button_data(summary, "Send now")
        (hello,) = await say(api, SUPPORTER, "/help")
        answer, _ = await press(api, SUPPORTER, hello, data)
        assert (answer.get("text"), await rows(app, Broadcast)) == (
            "Sorry, only organisers and admins can do that.",
            [],
        )


async def test_scheduled_broadcast_survives_restart(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """Scheduled "in 1m", the bot restarts, time passes: the broadcast goes out once."""
    clock = FakeClock()
    async with organiser_app(clock) as app:
        await subscribe_all(app)
        _, summary = await compose(api, ADMIN, "/broadcast stoptorture")
        await press(api, ADMIN, summary, button_data(summary, "Schedule"))
        await api.wait_for_message(ADMIN, lambda m: "When should it go out" in (m.text or ""))
        (scheduled,) = await say(api, ADMIN, "in 1m")
    clock.advance(minutes=2)
    async with organiser_app(clock) as app:
        await api.wait_for_message(3003)
        await api.wait_for_message(ADMIN, lambda m: "finished" in (m.text or ""))
        (row,) = await rows(app, Broadcast)
        assert (
            "is scheduled for" in (scheduled.text or ""),
            row.status,
            {c: api.sent_per_chat().get(c, 0) for c in (3001, 3003)},
        ) == (True, "done", {3001: 1, 3003: 1})


async def test_progress_edits_are_rate_limited(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """With no injected time passing, the progress message is edited only at start and end."""
    clock = FakeClock()
    async with organiser_app(clock) as app:
        await subscribe_all(app, {chat_id: ["stoptorture"] for chat_id in range(4000, 4040)})
        _, summary = await compose(api, ADMIN, "/broadcast stoptorture")
        await send_now(api, ADMIN, summary)
        await api.wait_for_message(ADMIN, lambda m: "finished" in (m.text or ""), timeout=10)
        edits = [
            r
            for r in api.requests("editMessageText")
            if r.ok and r.params.get("message_id") == summary.message_id
        ]
        progress = next(m for m in api.messages(ADMIN) if m.message_id == summary.message_id)
        assert (len(edits), (progress.text or "").splitlines()[1]) == (2, "Sent 40 / 40")
        assert runtime_of(app).clock.now() == clock.now()


async def test_push_reannounces_stored_post(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """/push with an intro re-announces a stored post to a topic's followers."""
    async with organiser_app() as app:
        await subscribe_all(app)
        runtime = runtime_of(app)
        entry = ParsedEntry(
            identity="p1",
            url="https://news.example.org/urgent",
            title="Urgent action",
            summary="Act.",
        )
        async with runtime.sessionmaker.begin() as session:
            await PostRepo(session).insert_new(None, [entry], runtime.clock.now(), announced=True)  # type: ignore[arg-type]
        preview, summary = await say(
            api,
            ADMIN,
            "/push https://news.example.org/urgent?utm_medium=x write for rights Please share",
            replies=2,
        )
        await send_now(api, ADMIN, summary)
        delivered = await api.wait_for_message(3002)
        assert (
            shown(delivered) == shown(preview),
            (delivered.text or "").splitlines()[0],
            "Urgent action" in (delivered.text or ""),
        ) == (True, "Please share", True)


async def test_push_unknown_url_answers_clearly(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """/push with a URL no stored post has says so."""
    async with organiser_app():
        (reply,) = await say(api, ADMIN, "/push https://nowhere.example.org/x stoptorture")
        assert reply.text == (
            "I have no post with the link “https://nowhere.example.org/x”. /push takes the web "
            "address of a post that came in through one of my feeds: in /latest, each title "
            "links to it."
        )


async def test_broadcasts_lists_and_cancels_scheduled(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """/broadcasts shows a scheduled broadcast; its Cancel button cancels it, with an audit row."""
    async with organiser_app() as app:
        await subscribe_all(app)
        _, summary = await compose(api, ADMIN, "/broadcast all")
        await press(api, ADMIN, summary, button_data(summary, "Schedule"))
        await api.wait_for_message(ADMIN, lambda m: "When should it go out" in (m.text or ""))
        await say(api, ADMIN, "in 2h")
        (listing,) = await say(api, ADMIN, "/broadcasts")
        answer, _ = await press(api, ADMIN, listing, button_data(listing, "Cancel #"))
        (row,) = await rows(app, Broadcast)
        actions = [a.action for a in await rows(app, AuditEntry) if "broadcast" in a.action]
        assert (answer.get("text"), row.status, actions) == (
            f"Broadcast #{row.id} is cancelled.",
            "cancelled",
            ["broadcast.schedule", "broadcast.cancel"],
        )


async def test_forged_cancel_button_changes_nothing(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """A Cancel button's data for a broadcast not on the pressed list cancels nothing."""
    async with organiser_app() as app:
        await subscribe_all(app)
        await schedule(api, ADMIN, "/broadcast all")
        (listing,) = await say(api, ADMIN, "/broadcasts")
        await schedule(api, ADMIN, "/broadcast all")
        newest = max(b.id for b in await rows(app, Broadcast))
        answer, _ = await press(api, ADMIN, listing, f"b:stop:{newest}")
        statuses = [b.status for b in await rows(app, Broadcast)]
        assert (answer.get("text"), statuses) == (
            "This button is no longer valid.",
            ["scheduled", "scheduled"],
        )


async def test_forged_send_button_on_another_message_sends_nothing(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """The draft's Send now data pressed under the preview (not the summary) sends nothing."""
    async with organiser_app() as app:
        await subscribe_all(app)
        preview, summary = await compose(api, ADMIN, "/broadcast all")
        answer, _ = await press(api, ADMIN, preview, button_data(summary, "Send now"))
        assert (answer.get("text"), await rows(app, Broadcast)) == (
            "This button is no longer valid.",
            [],
        )


async def test_supporter_cancel_says_nothing_to_cancel(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """A supporter's /cancel is told there is nothing to cancel, not that they lack a role."""
    async with organiser_app():
        (reply,) = await say(api, SUPPORTER, "/cancel")
        assert reply.text == "There is nothing to cancel."


async def test_send_now_writes_audit_and_deliveries(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """Send now leaves a broadcast.send audit row naming the admin and one delivery per chat."""
    async with organiser_app() as app:
        await subscribe_all(app)
        _, summary = await compose(api, ADMIN, "/broadcast all")
        await send_now(api, ADMIN, summary)
        (audit,) = [a for a in await rows(app, AuditEntry) if "broadcast" in a.action]
        deliveries = await rows(app, Delivery)
        assert (audit.action, audit.actor_id, sorted(d.chat_id for d in deliveries)) == (
            "broadcast.send",
            ADMIN,
            sorted(FOLLOWS),
        )


async def test_scheduled_time_in_past_is_refused(
    api: FakeBotApi, organiser_app: Callable[..., Any]
) -> None:
    """A time that has passed is refused and the question stays open."""
    clock = FakeClock()
    async with organiser_app(clock) as app:
        await subscribe_all(app)
        _, summary = await compose(api, ADMIN, "/broadcast all")
        await press(api, ADMIN, summary, button_data(summary, "Schedule"))
        await api.wait_for_message(ADMIN, lambda m: "When should it go out" in (m.text or ""))
        past = (clock.now() - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
        (refusal,) = await say(api, ADMIN, past)
        assert (refusal.text, await rows(app, Broadcast)) == (
            "That time has already passed; choose a time in the future.",
            [],
        )


# -- a revoked organiser ----------------------------------------------------------------------

REFUSED = "Sorry, only organisers and admins can do that."


async def _next_reply(api: FakeBotApi, user: int, send: Callable[[], object]) -> BotMessage:
    """Do `send` (something the user sends) and return the bot's next message to them."""
    before = len(api.messages(user))
    send()
    messages = await api.wait_until(lambda: api.messages(user)[before:] or None, what="a reply")
    return messages[0]


async def _draft_until(api: FakeBotApi, app: AnyApplication, step: str) -> None:
    """Walk ORGANISER's draft up to the point where `step` is the next thing they do."""
    if step == "intro":
        runtime = runtime_of(app)
        entry = ParsedEntry(identity="p1", url="https://news.example.org/u", title="U", summary="")
        async with runtime.sessionmaker.begin() as session:
            await PostRepo(session).insert_new(None, [entry], runtime.clock.now(), announced=True)  # type: ignore[arg-type]
        await say(api, ORGANISER, "/push https://news.example.org/u stoptorture")
        return
    await say(api, ORGANISER, "/broadcast all")
    if step in ("text", "photo"):
        return
    await say(api, ORGANISER, "Act now")
    if step in ("link", "skip"):
        return
    (prompt,) = await say(api, ORGANISER, ACTION)
    if step == "action":
        return
    if step == "label":
        await press(api, ORGANISER, prompt, button_data(prompt, "Own label"))
        await api.wait_for_message(ORGANISER, lambda m: "label for the button" in (m.text or ""))
        return
    _, summary = await choose_action(api, ORGANISER, prompt, NO_BUTTON)
    if step in ("send", "schedule"):
        return
    await press(api, ORGANISER, summary, button_data(summary, "Schedule"))
    await api.wait_for_message(ORGANISER, lambda m: "When should it go out" in (m.text or ""))


async def _take_step(api: FakeBotApi, step: str) -> str:
    """ORGANISER does `step`; returns the bot's answer (a reply or a button's toast)."""
    if step in ("send", "schedule", "action"):
        summary = api.messages(ORGANISER)[-1]
        label = {"send": "Send now", "schedule": "Schedule", "action": "I did it"}[step]
        answer, _ = await press(api, ORGANISER, summary, button_data(summary, label))
        return str(answer.get("text"))
    sends: dict[str, Callable[[], object]] = {
        "text": lambda: api.send_formatted(ORGANISER, "Act now"),
        "photo": lambda: api.send_formatted(ORGANISER, photo=True, caption="Act"),
        "link": lambda: api.send_text(ORGANISER, ACTION),
        "skip": lambda: api.send_text(ORGANISER, "skip"),
        "intro": lambda: api.send_text(ORGANISER, "Please share"),
        "label": lambda: api.send_text(ORGANISER, "✍️ I wrote my letter"),
        "when": lambda: api.send_text(ORGANISER, "in 2h"),
    }
    return (await _next_reply(api, ORGANISER, sends[step])).text or ""


@pytest.mark.parametrize(
    "step",
    ["text", "photo", "link", "skip", "action", "label", "intro", "send", "schedule", "when"],
)
async def test_organiser_revoked_mid_draft_is_refused_at_the_next_step(
    api: FakeBotApi, organiser_app: Callable[..., Any], step: str
) -> None:
    """An organiser revoked during a draft is refused at their next step; nothing is stored."""
    async with organiser_app() as app:
        await subscribe_all(app)
        await grant_organiser(app, ORGANISER)
        await _draft_until(api, app, step)
        await say(api, ADMIN, f"/revoke {ORGANISER}")
        answer = await _take_step(api, step)
        (after,) = await say(api, ORGANISER, "hello")
        assert (
            answer,
            (after.text or "").startswith("I only understand"),
            await rows(app, Broadcast),
            await rows(app, Delivery),
        ) == (REFUSED, True, [], [])
