"""Pace end to end: /settings and its buttons, /digest, /quiet, /timezone, bad input, groups."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.app import AnyApplication, make_application, running
from bot.config import Settings
from bot.db.models import Broadcast
from bot.db.repos import DeliveryRepo, PostRepo
from bot.domain.types import ParsedEntry
from bot.render import callback_data as cb
from bot.render.text import INVALID_BUTTON
from tests.e2e.conftest import runtime_of
from tests.e2e.test_broadcasts import ADMIN, compose, send_now, subscribe_all
from tests.e2e.test_supporters import (
    button_data,
    button_texts,
    handled,
    press,
    press_and_wait_edit,
    say,
)
from tests.fakes.botapi import BotMessage, FakeBotApi
from tests.fakes.clock import FakeClock

ALICE = 1001
BOB = 1002
GROUP = -1001234567890


def _data(message: BotMessage) -> list[str]:
    return [str(b.get("callback_data")) for row in message.buttons for b in row]


async def _stored(app: AnyApplication, chat_id: int) -> tuple[str | None, ...]:
    view = await runtime_of(app).pace.settings(chat_id)
    return (
        view.timezone,
        view.digest.code() if view.digest else None,
        view.quiet.code() if view.quiet else None,
    )


async def test_settings_buttons_edit_the_message_in_place(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """/settings shows everything; each button changes one setting and edits the same message."""
    (settings,) = await say(api, ALICE, "/settings")
    assert "Language: English" in (settings.text or "")
    assert "Pace: instant" in (settings.text or "")
    assert "Time zone: UTC" in (settings.text or "")
    answer, after_digest = await press_and_wait_edit(
        api, ALICE, settings, cb.pace_digest("daily 18:00")
    )
    assert answer.get("text") == "Saved."
    assert "daily digest at 18:00" in (after_digest.text or "")
    assert "✅ Daily 18:00" in str(after_digest.buttons)
    _, after_quiet = await press_and_wait_edit(
        api, ALICE, after_digest, cb.pace_quiet("22:00-08:00")
    )
    assert "Quiet hours: 22:00–08:00" in (after_quiet.text or "")
    _, zones = await press_and_wait_edit(api, ALICE, after_quiet, cb.PACE_ZONES)
    assert cb.pace_zone(0) in _data(zones)
    _, back = await press_and_wait_edit(api, ALICE, zones, cb.pace_zone(0))
    assert "Time zone: America/Toronto" in (back.text or "")
    # One message all along: /settings' reply, edited four times.
    assert len(api.messages(ALICE)) == 1
    assert back.message_id == settings.message_id
    assert await _stored(bot_app, ALICE) == ("America/Toronto", "daily 18:00", "22:00-08:00")


async def test_settings_language_buttons_switch_and_edit_in_place(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """/settings offers the languages as buttons (as /language does); pressing Français sets the
    chat's language and edits the same /settings message, now in French, with its buttons."""
    (settings,) = await say(api, ALICE, "/settings")
    assert button_texts(settings)[:2] == ["✅ English", "Français"]
    answer, edited = await press_and_wait_edit(api, ALICE, settings, cb.language("fr"))
    assert answer.get("text") == "Langue changée."
    assert edited.message_id == settings.message_id
    assert len(api.messages(ALICE)) == 1
    assert "Vos réglages" in (edited.text or "")
    assert "Langue\u00a0: Français" in (edited.text or "")
    assert button_texts(edited)[:2] == ["English", "✅ Français"]
    assert cb.PACE_ZONES in _data(edited)
    assert (await runtime_of(bot_app).pace.settings(ALICE)).language == "fr"
    _, back = await press_and_wait_edit(api, ALICE, edited, cb.language("en"))
    assert "Your settings" in (back.text or "")
    assert (await runtime_of(bot_app).pace.settings(ALICE)).language == "en"


async def test_settings_language_button_in_a_group_is_for_admins(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """A member's press on /settings' Français is refused and changes nothing; an admin's works."""
    api.set_member_status(GROUP, BOB, "member")
    (settings,) = await say(api, BOB, "/settings", chat_id=GROUP)
    answer, _ = await press(api, BOB, settings, cb.language("fr"))
    assert "Only group admins" in str(answer.get("text"))
    assert (await runtime_of(bot_app).pace.settings(GROUP)).language == "en"
    api.set_member_status(GROUP, BOB, "administrator")
    _, edited = await press_and_wait_edit(api, BOB, settings, cb.language("fr"))
    assert "Réglages de ce groupe" in (edited.text or "")
    assert (await runtime_of(bot_app).pace.settings(GROUP)).language == "fr"


async def test_commands_set_and_bad_input_changes_nothing(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """/digest, /quiet, /timezone with good and bad arguments."""
    (ok,) = await say(api, ALICE, "/digest weekly mon 09:00")
    assert "weekly digest on Monday at 09:00" in (ok.text or "")
    (ok_quiet,) = await say(api, ALICE, "/quiet 23:00-07:00")
    assert "23:00–07:00" in (ok_quiet.text or "")
    (ok_zone,) = await say(api, ALICE, "/timezone Montréal")
    assert "America/Toronto" in (ok_zone.text or "")
    before = await _stored(bot_app, ALICE)
    (bad_digest,) = await say(api, ALICE, "/digest hourly")
    (bad_quiet,) = await say(api, ALICE, "/quiet 25:00-08:00")
    (bad_zone,) = await say(api, ALICE, "/timezone Mars/Olympus <b>")
    assert "/digest daily 18:00" in (bad_digest.text or "")
    assert "/quiet 22:00-08:00" in (bad_quiet.text or "")
    assert "do not know that time zone" in (bad_zone.text or "")
    assert (
        await _stored(bot_app, ALICE)
        == before
        == (
            "America/Toronto",
            "weekly mon 09:00",
            "23:00-07:00",
        )
    )
    (off,) = await say(api, ALICE, "/digest off")
    assert "Digest off" in (off.text or "")
    (zones,) = await say(api, ALICE, "/timezone")
    assert "✅ America/Toronto" in str(zones.buttons)


async def test_forged_pace_button_changes_nothing(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """A pace press whose data is not on the message is refused."""
    (settings,) = await say(api, ALICE, "/settings")
    answer, _ = await press(api, ALICE, settings, cb.pace_zone(7))
    assert answer.get("text") == INVALID_BUTTON
    assert await _stored(bot_app, ALICE) == ("UTC", None, None)


async def test_in_a_group_only_admins_change_settings(
    api: FakeBotApi, bot_app: AnyApplication
) -> None:
    """A group member may look at /settings but not change them; an admin may."""
    (refused,) = await say(api, BOB, "/digest daily 18:00", chat_id=GROUP)
    assert "Only group admins" in (refused.text or "")
    (settings,) = await say(api, BOB, "/settings", chat_id=GROUP)
    answer, _ = await press(api, BOB, settings, cb.pace_digest("daily 18:00"))
    assert "Only group admins" in str(answer.get("text"))
    api.set_member_status(GROUP, BOB, "administrator")
    (ok,) = await say(api, BOB, "/quiet 22:00-08:00", chat_id=GROUP)
    await handled(api, bot_app)
    assert "22:00–08:00" in (ok.text or "")
    assert await _stored(bot_app, GROUP) == ("UTC", None, "22:00-08:00")


async def test_broadcast_respecting_pace_reaches_quiet_chats_later(
    api: FakeBotApi,
    bot_settings: Callable[..., Settings],
    engine: Any,
) -> None:
    """The organiser turns on "respect digests and quiet hours": the summary, edited in place,
    says 1 now and 1 later; the quiet chat gets nothing now, the other chat gets it."""
    clock = FakeClock(datetime(2026, 11, 25, 4, tzinfo=UTC))  # 23:00 in Montréal
    app_cm = running(make_application(bot_settings(admin_ids=[ADMIN]), engine=engine, clock=clock))
    async with app_cm as app:
        await subscribe_all(app, {3001: ["stoptorture"], 3002: ["stoptorture"]})
        await runtime_of(app).pace.set_timezone(3001, "America/Toronto")
        await runtime_of(app).pace.set_quiet(3001, "22:00-08:00")
        _, summary = await compose(api, ADMIN, "/broadcast stoptorture")
        assert "Now: all of them" in (summary.text or "")
        _answer, toggled = await press_and_wait_edit(
            api, ADMIN, summary, button_data(summary, "Respect digests and quiet hours")
        )
        assert "1 now, 1 later" in (toggled.text or "")
        assert "✅ Respect digests and quiet hours" in str(toggled.buttons)
        await send_now(api, ADMIN, toggled)
        await api.wait_until(lambda: api.messages(3002) or None, what="the broadcast now")
        async with runtime_of(app).sessionmaker() as session:
            respect = (await session.execute(select(Broadcast.respect_pace))).scalars().all()
        assert (respect, api.messages(3001)) == ([True], [])


async def test_the_running_bot_sends_a_daily_digest_at_its_time(
    api: FakeBotApi,
    bot_settings: Callable[..., Settings],
    engine: Any,
) -> None:
    """The whole bot on a fake clock: a post waits; at 18:00 Paris one digest arrives."""
    clock = FakeClock(datetime(2026, 11, 24, 9, tzinfo=UTC))
    async with running(make_application(bot_settings(), engine=engine, clock=clock)) as app:
        runtime = runtime_of(app)
        await subscribe_all(app, {ALICE: ["stoptorture"]})
        await say(api, ALICE, "/timezone Europe/Paris")
        await say(api, ALICE, "/digest daily 18:00")
        topic = next(t for t in await runtime.topics.list_topics() if t.slug == "stoptorture")
        async with runtime.sessionmaker.begin() as session:
            entry = ParsedEntry(
                identity="x1",
                url="https://news.example.org/x1",
                title="Detainees freed",
                summary="",
                published=clock.now(),
            )
            ids = await PostRepo(session).insert_new(None, [entry], clock.now(), announced=True)  # type: ignore[arg-type]
            await DeliveryRepo(session).fan_out_post(ids["x1"], [topic.id], clock.now())
        runtime.wake_delivery()
        await api.wait_until(
            lambda: (runtime.delivery is not None and runtime.delivery.stats.held >= 1) or None,
            what="the post held for the digest",
        )
        before = len(api.messages(ALICE))
        clock.current = datetime(2026, 11, 24, 17, tzinfo=UTC)
        runtime.wake_delivery()
        (digest,) = await api.wait_until(
            lambda: api.messages(ALICE)[before:] or None, what="the digest"
        )
    assert "Your daily digest: 1 new post" in (digest.text or "")
    assert "Detainees freed" in (digest.text or "")
