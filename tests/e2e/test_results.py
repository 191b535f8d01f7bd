"""Results for organisers end to end: /results in chat, the scheduled reports, /stats growth.

A real broadcast goes out through the organiser's dialogue and the fake Bot API; clicks are
then marked on its delivery rows (the tracked-link flow is another part's) and event
counters added through TotalsRepo. Time is the injected FakeClock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.app import AnyApplication, make_application, running
from bot.config import Settings
from bot.db.models import Broadcast, Delivery
from bot.db.repos import BroadcastRepo, TopicRepo, TotalsRepo
from bot.db.session import make_sessionmaker
from tests.e2e.conftest import runtime_of
from tests.e2e.test_broadcasts import (
    ADMIN,
    ORGANISER,
    SUPPORTER,
    compose,
    grant_organiser,
    send_now,
    subscribe_all,
)
from tests.e2e.test_supporters import say
from tests.fakes.botapi import BotMessage, FakeBotApi
from tests.fakes.clock import FakeClock

GROUP = -1001234567890
# 3001 follows StopTorture, 3002 Write for Rights, 3003 both (reached through StopTorture).
FOLLOWS = {
    3001: ["stoptorture"],
    3002: ["write-for-rights"],
    3003: ["stoptorture", "write-for-rights"],
}


@pytest.fixture
def results_app(bot_settings: Callable[..., Settings], engine: Any) -> Callable[..., Any]:
    """Start the bot with ADMIN in ADMIN_IDS, on the given clock."""

    def make(clock: FakeClock) -> Any:
        return running(
            make_application(bot_settings(admin_ids=[ADMIN]), engine=engine, clock=clock)
        )

    return make


async def broadcast(api: FakeBotApi, app: AnyApplication, user: int) -> int:
    """`user` broadcasts to both topics; wait until it finished; its id."""
    await subscribe_all(app, FOLLOWS)
    _, summary = await compose(api, user, "/broadcast stoptorture write for rights")
    await send_now(api, user, summary)
    await api.wait_for_message(user, lambda m: "finished" in (m.text or ""))
    async with runtime_of(app).sessionmaker() as session:
        return int((await session.execute(select(Broadcast.id))).scalar_one())


async def click(app: AnyApplication, broadcast_id: int, chat_id: int, times: int = 1) -> None:
    """Mark clicks on one delivery, as the tracked-link server does."""
    runtime = runtime_of(app)
    async with runtime.sessionmaker.begin() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.broadcast_id == broadcast_id, Delivery.chat_id == chat_id)
            .values(clicks=Delivery.clicks + times, first_click_at=runtime.clock.now())
        )


def reports(api: FakeBotApi, chat_id: int) -> list[BotMessage]:
    """The results reports in a chat (current, not deleted)."""
    return [m for m in api.messages(chat_id) if "after sending" in (m.text or "")]


def block(text: str, heading: str) -> list[str]:
    """The figure lines under a heading line of a results message."""
    lines = text.splitlines()
    start = lines.index(heading) + 1
    return lines[start : start + 11]


async def test_results_in_chat_per_topic_and_total(
    api: FakeBotApi, results_app: Callable[..., Any]
) -> None:
    """An organiser's /results lists the broadcast; /results <id> shows exact figures."""
    async with results_app(FakeClock()) as app:
        await grant_organiser(app, ORGANISER)
        broadcast_id = await broadcast(api, app, ORGANISER)
        await click(app, broadcast_id, 3001, times=3)
        async with runtime_of(app).sessionmaker.begin() as session:
            await TotalsRepo(session).add("broadcast", broadcast_id, None, shares=2, joins=1)
        (listing,) = await say(api, ORGANISER, "/results")
        (details,) = await say(api, ORGANISER, f"/results {broadcast_id}")
    row = next(line for line in (listing.text or "").splitlines() if line.startswith("   1 "))
    assert row.split()[2:5] == ["3", "33.3%", "0.0%"]
    text = details.text or ""
    assert text.splitlines()[0] == f"📊 Results of broadcast #{broadcast_id}"
    assert block(text, "✋ StopTorture")[:5] == [
        "Targeted                2",
        "Sent                    2",
        "Failed                  0",
        "Blocked or gone         0",
        "Unique clicks           1  50.0%",
    ]
    assert block(text, "Total") == [
        "Targeted                3",
        "Sent                    3",
        "Failed                  0",
        "Blocked or gone         0",
        "Unique clicks           1  33.3%",
        "Clicks (all)            3",
        "Actions                 0  0.0%",
        "Actions per click    0.00",
        "Shares                  2",
        "New via shares          1",
        "Unsubscribed            0",
    ]


async def test_french_organiser_reads_topic_names_in_french(
    api: FakeBotApi, results_app: Callable[..., Any]
) -> None:
    """An organiser reading French sees the topics' French names in /results, /broadcasts and
    the scheduled report; an English organiser still sees the English names."""
    clock = FakeClock()
    async with results_app(clock) as app:
        await grant_organiser(app, ORGANISER)
        broadcast_id = await broadcast(api, app, ORGANISER)
        (english,) = await say(api, ORGANISER, f"/results {broadcast_id}")
        await say(api, ORGANISER, "/language fr")
        (details,) = await say(api, ORGANISER, f"/results {broadcast_id}")
        (listing,) = await say(api, ORGANISER, "/broadcasts")
        clock.advance(hours=1)
        report = await api.wait_for_message(
            ORGANISER,
            lambda m: m.message_id > listing.message_id and "✋" in (m.text or ""),
        )
    assert "✉️ Write for Rights" in (english.text or "")
    text = details.text or ""
    assert "✉️ Écrire pour les droits" in text
    assert "Write for Rights" not in text
    assert "✋ Halte à la torture" in text
    assert "Écrire pour les droits" in (listing.text or "")
    assert "Write for Rights" not in (listing.text or "")
    assert "✉️ Écrire pour les droits" in (report.text or "")
    assert "Write for Rights" not in (report.text or "")


async def test_results_refused_and_bad_input(
    api: FakeBotApi, results_app: Callable[..., Any]
) -> None:
    """A supporter is refused; a group is sent to the private chat; bad and unknown keys are
    answered clearly.
    """
    async with results_app(FakeClock()):
        (refused,) = await say(api, SUPPORTER, "/results")
        (in_group,) = await say(api, ADMIN, "/results", chat_id=GROUP)
        (bad,) = await say(api, ADMIN, "/results last week")
        (unknown,) = await say(api, ADMIN, "/results 999")
        (no_post,) = await say(api, ADMIN, "/results https://nowhere.example.org/a")
        (empty,) = await say(api, ADMIN, "/results")
    assert refused.text == "Sorry, only organisers and admins can do that."
    assert "private chat" in (in_group.text or "")
    assert (bad.text or "").startswith("Usage: /results for the latest messages")
    assert unknown.text == "There is no broadcast #999. /results lists the latest ones."
    assert (no_post.text or "").startswith("I have no post with the link “https://nowhere.")
    assert "None sent yet." in (empty.text or "")


async def test_scheduled_reports_once_each_and_across_a_restart(
    api: FakeBotApi, results_app: Callable[..., Any]
) -> None:
    """One hour after sending the organiser gets a report; after a restart none is repeated;
    at 24 hours the same message is edited with the new figures. A notice gets none.
    """
    clock = FakeClock()
    async with results_app(clock) as app:
        broadcast_id = await broadcast(api, app, ADMIN)
        runtime = runtime_of(app)
        async with runtime.sessionmaker.begin() as session:
            topic = await TopicRepo(session).by_key("stoptorture")
            assert topic is not None
            await BroadcastRepo(session).queue_notice(0, "Archived", topic.id, clock.now())
        clock.advance(hours=1)
        first = await api.wait_for_message(ADMIN, lambda m: "after sending" in (m.text or ""))
        first_text = first.text or ""
    clock.advance(hours=2)
    async with results_app(clock) as app:
        await click(app, broadcast_id, 3002)
        await say(api, ADMIN, "/results")  # the restarted bot has run its jobs meanwhile
        clock.advance(hours=21)
        edited = await api.wait_for_message(
            ADMIN,
            lambda m: (
                m.message_id == first.message_id and "24 hours after sending" in (m.text or "")
            ),
        )
        async with runtime_of(app).sessionmaker() as session:
            rows = (await session.execute(select(Broadcast).order_by(Broadcast.id))).scalars()
            stages = [(b.kind, b.results_stage, b.results_message_id) for b in rows]
    assert first_text.splitlines()[0] == (
        "⏱ 1 hour after sending; this message is updated at 24 hours."
    )
    assert "Unique clicks           0  0.0%" in first_text
    assert "Unique clicks           1  33.3%" in (edited.text or "")
    assert (len(reports(api, ADMIN)), edited.edits) == (1, 1)
    assert stages == [("broadcast", 2, first.message_id), ("notice", 0, None)]


async def test_report_sent_anew_when_the_first_is_gone(
    api: FakeBotApi, results_app: Callable[..., Any], engine: Any
) -> None:
    """The organiser deleted the one-hour report: the 24-hour one comes as a new message."""
    clock = FakeClock()
    async with results_app(clock) as app:
        broadcast_id = await broadcast(api, app, ADMIN)
        clock.advance(hours=1)
        first = await api.wait_for_message(ADMIN, lambda m: "after sending" in (m.text or ""))
        # The organiser deletes it (the deleteMessage request has the same effect).
        sender = runtime_of(app).sender_bot
        assert sender is not None
        assert await sender.delete_message(ADMIN, first.message_id)
        clock.advance(hours=23)
        second = await api.wait_for_message(
            ADMIN, lambda m: "24 hours after sending" in (m.text or "")
        )
    # The bot has stopped, its jobs finished: the new message is the one remembered.
    async with make_sessionmaker(engine)() as session:
        row = await session.get(Broadcast, broadcast_id)
        assert row is not None
        remembered = row.results_message_id
    assert (second.message_id != first.message_id, remembered) == (True, second.message_id)
    assert len(reports(api, ADMIN)) == 1


async def test_stats_shows_growth_per_topic(
    api: FakeBotApi, results_app: Callable[..., Any]
) -> None:
    """/stats has a table of subscriptions gained and lost per topic and week."""
    clock = FakeClock(datetime(2026, 11, 26, 9, tzinfo=UTC))
    async with results_app(clock) as app:
        async with runtime_of(app).sessionmaker.begin() as session:
            topic = await TopicRepo(session).by_key("stoptorture")
            assert topic is not None
            totals = TotalsRepo(session)
            await totals.add_growth(topic.id, date(2026, 11, 10), joined=5, left=2)
            await totals.add_growth(topic.id, date(2026, 11, 24), joined=1)
        (reply,) = await say(api, ADMIN, "/stats")
    lines = (reply.text or "").splitlines()
    start = lines.index("Subscribers per week (new/lost, weeks from Monday, last 4)")
    assert lines[start + 1 : start + 3] == [
        " " * 16 + "   02/11   09/11   16/11   23/11",
        "✋ StopTorture".ljust(16) + "   +0/-0   +5/-2   +0/-0   +1/-0",
    ]
