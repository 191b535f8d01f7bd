"""Privacy end to end: /mydata, /forgetme and the daily retention job in the running bot.

The bot runs against the fake Bot API on SQLite and PostgreSQL. Delivery rows with click and
action marks are written straight into the bot's database (the tracked links and the action
button that make them in production are other features, tested with them); everything else
goes through chat as a supporter would do it, or through the bot's own JobQueue.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.app import AnyApplication, make_application, running
from bot.config import Settings
from bot.db.models import AuditEntry, Chat, Delivery, Post, User
from bot.db.repos import ChatRepo, TopicRepo
from bot.domain.types import Actor
from bot.jobs import RETENTION_JOB
from tests.db.privacy_seed import DAYS, figures, is_old, seed, totals
from tests.e2e.conftest import runtime_of
from tests.e2e.test_supporters import button_data, press_and_wait_edit, say
from tests.fakes.botapi import FakeBotApi
from tests.fakes.clock import FakeClock

ALICE = 1001
NBSP = "\u00a0"
BOB = 1002
ADMIN = 9001
GROUP = -1001234567890


@pytest.fixture
async def clocked_app(
    bot_settings: Callable[..., Settings], engine: Any
) -> AsyncIterator[tuple[AnyApplication, FakeClock]]:
    """The whole bot on the fake clock, with RETENTION_DAYS=90 and one admin."""
    clock = FakeClock()
    settings = bot_settings(retention_days=DAYS, admin_ids=[ADMIN])
    application = make_application(settings, engine=engine, clock=clock)
    async with running(application):
        yield application, clock


async def _deliveries_for(
    app: AnyApplication, chat_id: int, marks: list[tuple[str, int, bool]]
) -> None:
    """Store one delivery row per (status, clicks, acted) for `chat_id`, each of its own post."""
    runtime = runtime_of(app)
    now = runtime.clock.now()
    async with runtime.sessionmaker.begin() as session:
        topic = await TopicRepo(session).by_key("stoptorture")
        assert topic is not None
        await ChatRepo(session).ensure(chat_id, "private" if chat_id > 0 else "supergroup", now)
        for n, (status, clicks, acted) in enumerate(marks):
            post = Post(
                identity=f"{chat_id}-{n}",
                url=f"https://example.org/{chat_id}/{n}",
                title=f"Post {n}",
                first_seen_at=now,
                updated_at=now,
                announced=True,
            )
            session.add(post)
            await session.flush()
            session.add(
                Delivery(
                    chat_id=chat_id,
                    post_id=post.id,
                    topic_id=topic.id,
                    status=status,
                    # A pending row waits for a retry tomorrow: the running bot's engine would
                    # otherwise send it mid-test (it then counts as sent, not as stored).
                    next_attempt_at=now + timedelta(days=1) if status == "pending" else now,
                    created_at=now,
                    clicks=clicks,
                    first_click_at=now if clicks else None,
                    acted_at=now if acted else None,
                )
            )


# -- /mydata --------------------------------------------------------------------------------------


async def test_mydata_shows_the_chats_record_and_counts(
    api: FakeBotApi, clocked_app: tuple[AnyApplication, FakeClock]
) -> None:
    """A supporter with a subscription and three message records sees all of it, counted."""
    app, _ = clocked_app
    await say(api, ALICE, "/subscribe stoptorture", username="Alice")
    await _deliveries_for(
        app, ALICE, [("sent", 2, True), ("sent", 1, False), ("failed", 0, False)]
    )

    (reply,) = await say(api, ALICE, "/mydata", username="Alice")

    text = reply.text or ""
    for expected in (
        "What this bot stores about this chat",
        f"Chat id: {ALICE}",
        "Type: private chat",
        "Receiving messages: yes",
        "Topics you follow (1): ✋ StopTorture",
        "Messages sent or queued to you: 3 records (2 with a link opened, 1 with “I did it”",
        f"kept for {DAYS} days",
        f"Telegram user id: {ALICE}",
        "Username: @alice",
        "Role: supporter",
        "/forgetme",
    ):
        assert expected in text, (expected, text)


async def test_mydata_shows_the_chats_language_and_time_zone_once_chosen(
    api: FakeBotApi, clocked_app: tuple[AnyApplication, FakeClock]
) -> None:
    """The chat's language and time zone are part of its record: not shown while empty (a
    Telegram app that says no language, no /timezone), shown once stored, in the chat's
    language (migration 0006's columns)."""
    await say(api, ALICE, "/subscribe stoptorture", language_code=None)
    (before,) = await say(api, ALICE, "/mydata", language_code=None)
    await say(api, ALICE, "/language fr", language_code=None)
    await say(api, ALICE, "/timezone Europe/Paris", language_code=None)
    (after,) = await say(api, ALICE, "/mydata", language_code=None)
    labels = ("Language", "Time", "Langue", "Fuseau")
    shown = [
        [line for line in (m.text or "").splitlines() if line.startswith(labels)]
        for m in (before, after)
    ]
    assert shown == [[], [f"Fuseau horaire{NBSP}: Europe/Paris", f"Langue{NBSP}: français"]]


async def test_mydata_shows_the_pace_settings_once_chosen(
    api: FakeBotApi, clocked_app: tuple[AnyApplication, FakeClock]
) -> None:
    """A digest and quiet hours are stored about the chat: /mydata says so, in words."""
    await say(api, ALICE, "/subscribe stoptorture")
    (before,) = await say(api, ALICE, "/mydata")
    await say(api, ALICE, "/digest weekly mon 09:00")
    await say(api, ALICE, "/quiet 22:00-08:00")
    (after,) = await say(api, ALICE, "/mydata")
    shown = [
        [line for line in (m.text or "").splitlines() if line.startswith(("Pace", "Quiet"))]
        for m in (before, after)
    ]
    assert shown == [
        [],
        ["Pace: weekly digest on Monday at 09:00", "Quiet hours: 22:00–08:00"],
    ]


async def test_mydata_in_a_group_speaks_of_the_group_only(
    api: FakeBotApi, clocked_app: tuple[AnyApplication, FakeClock]
) -> None:
    """In a group, /mydata shows the group's record and nothing about the member who asked."""
    app, _ = clocked_app
    await _deliveries_for(app, GROUP, [("sent", 0, False)])

    (reply,) = await say(api, BOB, "/mydata", chat_id=GROUP, username="bob")

    text = reply.text or ""
    assert "What this bot stores about this group" in text
    assert "Messages sent or queued to this group: 1 record (0 with a link opened" in text
    assert (str(BOB) in text, "@bob" in text, "About you" in text) == (False, False, False)


async def test_mydata_is_in_help_and_menus(
    api: FakeBotApi, clocked_app: tuple[AnyApplication, FakeClock]
) -> None:
    """/help lists /mydata, and so do the private and group command menus."""
    (help_text,) = await say(api, ALICE, "/help")
    menus = api.requests("setMyCommands")
    listed = [[c["command"] for c in r.params["commands"]] for r in menus]
    assert "/mydata" in (help_text.text or "")
    assert listed
    assert all("mydata" in commands for commands in listed)


# -- /forgetme ------------------------------------------------------------------------------------


async def test_forgetme_removes_the_chats_marks_and_keeps_the_totals(
    api: FakeBotApi, clocked_app: tuple[AnyApplication, FakeClock]
) -> None:
    """After /forgetme, Alice's delivery rows (clicks, actions) are gone, the campaign
    figures are the same, and the audit log names her by id, never by @username."""
    app, _ = clocked_app
    runtime = runtime_of(app)
    await say(api, ALICE, "/subscribe stoptorture", username="Alice")
    await runtime.roles.grant(Actor.of(ADMIN, "boss"), "@alice", "organiser")
    await _deliveries_for(
        app, ALICE, [("sent", 2, True), ("sent", 1, False), ("pending", 0, False)]
    )
    await _deliveries_for(app, BOB, [("sent", 1, True)])
    async with runtime.sessionmaker() as session:
        expected = await figures(session)
        bob_before = await figures(session, Delivery.chat_id == BOB)
    # Alice's pending row is dropped when she is forgotten: it then counts as blocked.
    for values in expected.values():
        if values == {"targeted": 1}:
            values["blocked"] = 1

    (prompt,) = await say(api, ALICE, "/forgetme", username="Alice")
    _, done = await press_and_wait_edit(api, ALICE, prompt, button_data(prompt, "Delete"))

    async with runtime.sessionmaker() as session:
        left = await figures(session)
        folded = await totals(session)
        rows = (await session.get(Chat, ALICE), await session.get(User, ALICE))
        audit = (
            await session.execute(
                select(AuditEntry.actor, AuditEntry.target).where(
                    AuditEntry.action == "role.grant"
                )
            )
        ).all()
    assert "3 records of messages sent to you" in (done.text or "")
    assert rows == (None, None)
    assert left == bob_before
    # Bob's rows are still live; Alice's are in the totals: together, the same figures.
    assert {k: v for k, v in expected.items() if k not in bob_before} == folded
    assert [tuple(a) for a in audit] == [(f"@boss ({ADMIN})", str(ALICE))]


# -- the retention job ----------------------------------------------------------------------------


async def test_retention_job_folds_old_rows_and_logs_counts_only(
    clocked_app: tuple[AnyApplication, FakeClock], caplog: pytest.LogCaptureFixture
) -> None:
    """The JobQueue's daily job folds rows older than RETENTION_DAYS into the same totals,
    trims old posts, and logs one line of counts with no chat id in it."""
    app, clock = clocked_app
    runtime = runtime_of(app)
    async with runtime.sessionmaker.begin() as session:
        seeded = await seed(session, clock.now())
        # The running bot's engine would send a due pending row in the middle of the test (it
        # would then count as sent and old): pending rows here wait for a retry tomorrow.
        await session.execute(
            update(Delivery)
            .where(Delivery.status == "pending")
            .values(next_attempt_at=clock.now() + timedelta(days=1))
        )
    async with runtime.sessionmaker() as session:
        expected = await figures(session, is_old(seeded.cutoff))
    assert app.job_queue is not None
    (job,) = app.job_queue.get_jobs_by_name(RETENTION_JOB)
    interval = job.trigger.interval  # type: ignore[attr-defined]

    with caplog.at_level(logging.INFO, logger="bot.jobs"):
        await job.run(app)

    async with runtime.sessionmaker() as session:
        folded = await totals(session)
        post = await session.get(Post, seeded.old_post)
    (line,) = [r for r in caplog.records if r.getMessage() == "retention applied"]
    standard = {*vars(logging.makeLogRecord({})), "message", "asctime"}
    extras = {k: v for k, v in vars(line).items() if k not in standard}
    assert (interval, folded, post and post.summary) == (timedelta(days=1), expected, "")
    # The whole line: counts and the setting, no chat id (nothing else is logged).
    assert extras == {
        "job": RETENTION_JOB,
        "retention_days": DAYS,
        "deliveries_folded": 13,
        "posts_trimmed": 1,
        "batches": 2,
    }
