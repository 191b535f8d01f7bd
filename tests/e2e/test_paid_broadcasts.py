"""Paid broadcasts end to end (ALLOW_PAID_BROADCAST): the cost in the preview, the paid sends,
and the fall back to the normal pace when the Stars balance runs out.

The whole bot against the fake Bot API, which answers `400 Bad Request: BALANCE_TOO_LOW` to
sends with allow_paid_broadcast once its test switch `set_stars_balance` is spent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.app import make_application, running
from bot.config import Settings
from bot.db.models import AuditEntry, Broadcast
from tests.e2e.test_broadcasts import ADMIN, FOLLOWS, compose, rows, send_now, subscribe_all
from tests.e2e.test_supporters import button_data, button_texts, press_and_wait_edit
from tests.fakes.botapi import FakeBotApi

FAST = "Fast (paid)"


@pytest.fixture
def paid_app(bot_settings: Callable[..., Settings], engine: Any) -> Callable[..., Any]:
    """Start the bot with ADMIN as an admin; paid broadcasts allowed unless told otherwise."""

    def make(allow: bool = True) -> Any:
        settings = bot_settings(admin_ids=[ADMIN], allow_paid_broadcast=allow)
        return running(make_application(settings, engine=engine))

    return make


def _paid_sends(api: FakeBotApi, chats: set[int]) -> list[bool]:
    """For each accepted send to `chats`, whether it carried allow_paid_broadcast."""
    return [
        r.params.get("allow_paid_broadcast") is True
        for r in api.requests("sendMessage")
        if r.ok and r.params.get("chat_id") in chats
    ]


async def test_without_the_setting_there_is_no_paid_choice(
    api: FakeBotApi, paid_app: Callable[..., Any]
) -> None:
    async with paid_app(allow=False) as app:
        await subscribe_all(app)
        _, summary = await compose(api, ADMIN, "/broadcast all")
        assert not any(FAST in b for b in button_texts(summary))
        assert "Stars" not in (summary.text or "")


async def test_fast_paid_shows_the_cost_and_sends_with_allow_paid_broadcast(
    api: FakeBotApi, paid_app: Callable[..., Any]
) -> None:
    async with paid_app() as app:
        await subscribe_all(app)
        _, summary = await compose(api, ADMIN, "/broadcast all")
        # 4 chats: 0.1 Star for each message above the free 30 a second -> up to 0.4 Stars.
        assert "Fast (paid) would take about under a minute" in (summary.text or "")
        assert "0.4 Stars" in (summary.text or "")
        answer, chosen = await press_and_wait_edit(api, ADMIN, summary, button_data(summary, FAST))
        assert answer.get("text") == "Fast (paid) chosen."
        assert "⚡ Fast (paid)" in (chosen.text or "")
        assert "Costs up to 0.4 Stars" in (chosen.text or "")
        assert any("Normal pace" in b for b in button_texts(chosen))
        await send_now(api, ADMIN, chosen)
        chats = set(FOLLOWS)
        await api.wait_until(
            lambda: all(api.sent_per_chat().get(c) == 1 for c in chats) or None,
            what="every chat served",
        )
        assert _paid_sends(api, chats) == [True] * len(chats)
        assert api.stats.paid_messages == len(chats)
        (broadcast,) = await rows(app, Broadcast)
        (audit,) = [a for a in await rows(app, AuditEntry) if a.action == "broadcast.send"]
        assert (broadcast.paid, broadcast.paid_stopped_at, audit.detail["paid"]) == (
            True,
            None,
            True,
        )


async def test_normal_pace_chosen_back_sends_unpaid(
    api: FakeBotApi, paid_app: Callable[..., Any]
) -> None:
    async with paid_app() as app:
        await subscribe_all(app)
        _, summary = await compose(api, ADMIN, "/broadcast all")
        _, chosen = await press_and_wait_edit(api, ADMIN, summary, button_data(summary, FAST))
        _, back = await press_and_wait_edit(api, ADMIN, chosen, button_data(chosen, "Normal"))
        assert "Pace: normal" in (back.text or "")
        await send_now(api, ADMIN, back)
        chats = set(FOLLOWS)
        await api.wait_until(
            lambda: all(api.sent_per_chat().get(c) == 1 for c in chats) or None,
            what="every chat served",
        )
        assert _paid_sends(api, chats) == [False] * len(chats)
        (broadcast,) = await rows(app, Broadcast)
        assert broadcast.paid is False


async def test_balance_too_low_falls_back_to_normal_pace_and_tells_the_organiser(
    api: FakeBotApi, paid_app: Callable[..., Any]
) -> None:
    """The balance pays for 5 messages: the rest go at the normal pace, each chat gets one."""
    follows = {4000 + n: ["stoptorture"] for n in range(40)}
    api.set_stars_balance(5)
    async with paid_app() as app:
        await subscribe_all(app, follows)
        _, summary = await compose(api, ADMIN, "/broadcast stoptorture")
        _, chosen = await press_and_wait_edit(api, ADMIN, summary, button_data(summary, FAST))
        await send_now(api, ADMIN, chosen)
        told = await api.wait_for_message(
            ADMIN, lambda m: "refused the paid broadcast" in (m.text or ""), timeout=20
        )
        chats = set(follows)
        await api.wait_until(
            lambda: all(api.sent_per_chat().get(c) == 1 for c in chats) or None,
            what="every chat served",
            timeout=20,
        )
        assert "goes on at the normal pace" in (told.text or "")
        assert {c: api.sent_per_chat().get(c) for c in chats} == dict.fromkeys(chats, 1)
        sends = _paid_sends(api, chats)
        assert (sends.count(True), sends.count(False)) == (5, 35)
        refused = [
            r
            for r in api.requests("sendMessage")
            if r.status == 400 and r.params.get("chat_id") in chats
        ]
        assert refused
        assert {r.description for r in refused} == {"Bad Request: BALANCE_TOO_LOW"}
        (broadcast,) = await rows(app, Broadcast)
        assert (broadcast.paid, broadcast.paid_stopped_at is not None) == (False, True)
        # Told once, however many sends were refused.
        await api.wait_until(lambda: broadcast_done(api) or None, what="the final summary")
        notes = [m for m in api.messages(ADMIN) if "refused the paid" in (m.text or "")]
        assert len(notes) == 1


def broadcast_done(api: FakeBotApi) -> bool:
    return any("finished" in (m.text or "") for m in api.messages(ADMIN))
