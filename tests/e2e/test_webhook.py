"""Webhook mode end to end: the whole bot with WEBHOOK_URL set, the fake Bot API POSTing updates.

At start the bot calls setWebhook (its URL and secret, the update types it handles,
max_connections, never dropping pending updates) and never polls; the fake then delivers
updates to the bot's web server with the secret header, as Telegram does. The route refuses
requests without the secret (403) and bodies that are no update (400), answers at once while
handlers run, and keeps each chat's order. Without WEBHOOK_URL the bot long-polls as before.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from bot.app import AnyApplication, make_application, running
from bot.config import Settings
from bot.errors import ConfigError
from bot.handlers import ALLOWED_UPDATES
from bot.render import web as web_texts
from bot.web.webhook import MAX_UPDATE_BYTES, SECRET_HEADER
from tests.e2e.test_broadcasts import FOLLOWS, compose, send_now, subscribe_all
from tests.e2e.test_supporters import followed, say
from tests.fakes.balancer import Balancer
from tests.fakes.botapi import FakeBotApi, WebhookDelivery

ADMIN = 2001
ALICE = 1001
EVE = 6666
SECRET = "s3cret_for-the-webhook_0123456789"  # noqa: S105 - a test value
PATH = "/telegram/hook"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def webhook_bot(bot_settings: Callable[..., Settings], engine: Any) -> Callable[..., Any]:
    """Start the bot in webhook mode on a free port; yields the app and the webhook's URL."""
    port = _free_port()

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[tuple[AnyApplication, str]]:
        url = f"http://127.0.0.1:{port}{PATH}"
        values: dict[str, Any] = {
            "web_port": port,
            "webhook_url": url,
            "webhook_secret": SECRET,
            "admin_ids": [ADMIN],
        }
        values.update(overrides)
        application = make_application(bot_settings(**values), engine=engine)
        async with running(application):
            yield application, url

    return make


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """A real HTTP client for requests Telegram would not make."""
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        yield http


def command_update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    """A private-chat command update as Telegram would POST it."""
    command = text.split()[0]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Eve"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Eve"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }


def delivered(api: FakeBotApi, update_id: int) -> WebhookDelivery | None:
    """The webhook's acknowledgement of one update, if there is one yet."""
    return next((d for d in api.webhook_deliveries if d.update_id == update_id and d.ok), None)


async def test_webhook_mode_sets_the_webhook_and_answers_start(
    api: FakeBotApi, webhook_bot: Callable[..., Any]
) -> None:
    """setWebhook gets the URL, the secret, the handled update types, max_connections and no
    drop; /start arrives by POST with the secret and is answered; nothing polls; the stop
    leaves the webhook in place."""
    async with webhook_bot() as (_, url):
        (welcome,) = await say(api, ALICE, "/start")
        (set_webhook,) = api.requests("setWebhook")
        assert set_webhook.ok
        assert set_webhook.params == {
            "url": url,
            "secret_token": SECRET,
            "allowed_updates": list(ALLOWED_UPDATES),
            "max_connections": 40,
            "drop_pending_updates": False,
        }
        assert (api.requests("getUpdates"), api.requests("deleteWebhook")) == ([], [])
        (post,) = api.webhook_deliveries
        assert (post.url, post.status) == (url, 200)
        assert "Welcome" in (welcome.text or "")
    assert api.requests("deleteWebhook") == []  # stopping leaves it for other instances


async def test_max_connections_setting_reaches_set_webhook(
    api: FakeBotApi, webhook_bot: Callable[..., Any]
) -> None:
    """WEBHOOK_MAX_CONNECTIONS is passed on."""
    async with webhook_bot(webhook_max_connections=7):
        (set_webhook,) = api.requests("setWebhook")
        assert set_webhook.params["max_connections"] == 7


async def test_broadcast_flow_in_webhook_mode(
    api: FakeBotApi, webhook_bot: Callable[..., Any]
) -> None:
    """An organiser's /broadcast dialogue (messages and button presses by webhook) sends."""
    async with webhook_bot() as (app, _):
        await subscribe_all(app)
        _, summary = await compose(api, ADMIN, "/broadcast stoptorture write for rights")
        await send_now(api, ADMIN, summary)
        for chat_id in (3001, 3002, 3003):
            await api.wait_for_message(chat_id, lambda m: "Act now" in (m.text or ""))
        assert {c: api.sent_per_chat().get(c, 0) for c in FOLLOWS} == {
            3001: 1,
            3002: 1,
            3003: 1,
            3004: 0,
        }
        assert all(d.ok for d in api.webhook_deliveries)


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET[:-1], SECRET + "x"])
async def test_request_without_the_secret_is_refused_and_not_handled(
    api: FakeBotApi,
    webhook_bot: Callable[..., Any],
    client: httpx.AsyncClient,
    secret: str | None,
) -> None:
    """Without the secret header, or with another value: 403, and the update is never run."""
    async with webhook_bot() as (_, url):
        headers = {} if secret is None else {SECRET_HEADER: secret}
        forged = await client.post(url, json=command_update(1, EVE, "/help"), headers=headers)
        assert (forged.status_code, forged.text) == (403, web_texts.WEBHOOK_FORBIDDEN_TEXT)
        # The chat's next genuine update is handled after anything queued before it.
        welcome, _picker = await say(api, EVE, "/start", replies=2)
        assert "Welcome" in (welcome.text or "")
        texts = [m.text or "" for m in api.messages(EVE)]
        assert not [t for t in texts if "What I can do" in t]  # no answer to the forged /help
        assert len(texts) == 2


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"message": {}}', "application/json"),
        (b'{"update_id": "7"}', "application/json"),
        (b"", "application/json"),
        (b'{"update_id": 5, "message": {"chat": 1}}', "application/json"),
    ],
)
async def test_a_body_that_is_no_update_gets_400(
    api: FakeBotApi,
    webhook_bot: Callable[..., Any],
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
) -> None:
    """Bad JSON or JSON that is no update: 400 with a one-line text, no traceback; the bot
    goes on answering."""
    async with webhook_bot() as (_, url):
        headers = {SECRET_HEADER: SECRET, "Content-Type": content_type}
        answer = await client.post(url, content=body, headers=headers)
        assert (answer.status_code, answer.text) == (400, web_texts.WEBHOOK_BAD_UPDATE_TEXT)
        (reply,) = await say(api, ALICE, "/start")
        assert "Welcome" in (reply.text or "")
    assert not [r for r in caplog.records if r.exc_info]
    assert SECRET not in caplog.text


async def test_size_limit_and_other_methods(
    webhook_bot: Callable[..., Any], client: httpx.AsyncClient
) -> None:
    """An update up to MAX_UPDATE_BYTES is taken, a larger body is 413; GET on the path is
    the plain 404 of any unknown page, and other routes still take no body."""
    async with webhook_bot() as (_, url):
        headers = {SECRET_HEADER: SECRET}
        big = command_update(2, EVE, "/help " + "x" * 60_000)
        taken = await client.post(url, json=big, headers=headers)
        too_big = await client.post(url, content=b"x" * (MAX_UPDATE_BYTES + 1), headers=headers)
        get = await client.get(url)
        health_post = await client.post(url.replace(PATH, "/healthz"), content=b"x" * 5000)
        assert (taken.status_code, too_big.status_code, get.status_code) == (200, 413, 404)
        assert health_post.status_code == 413


async def test_answers_do_not_wait_for_slow_handlers(
    api: FakeBotApi, webhook_bot: Callable[..., Any]
) -> None:
    """The webhook acknowledges an update before its handler replies: the handler's reply is
    held up by a 429 (retry after 1 s) while the POST was answered at once."""
    async with webhook_bot():
        api.fail_next("sendMessage", 429, retry_after=1)
        update = api.send_text(ALICE, "/help")
        reply = await api.wait_for_message(ALICE, timeout=10)
        post = delivered(api, update["update_id"])
        assert post is not None
        (answered_reply,) = [
            r for r in api.requests("sendMessage") if r.ok and r.params["chat_id"] == ALICE
        ]
        # The POST was answered, then the reply came a retry (1 s) later.
        assert answered_reply.time - post.answered >= 0.9
        assert reply.text


async def test_each_chat_keeps_its_order(api: FakeBotApi, webhook_bot: Callable[..., Any]) -> None:
    """Alternating /subscribe and /unsubscribe of one chat, delivered faster than handled (the
    first reply waits out a 429), run in order: every step changes something."""
    steps = ["/subscribe stoptorture", "/unsubscribe stoptorture"] * 3 + ["/subscribe stoptorture"]
    async with webhook_bot() as (app, _):
        api.fail_next("sendMessage", 429, retry_after=1)
        for text in steps:
            api.send_text(ALICE, text)
        api.send_text(ALICE + 1, "/subscribe stoptorture")  # another chat, meanwhile
        replies = await api.wait_until(
            lambda: api.messages(ALICE) if len(api.messages(ALICE)) == len(steps) else None,
            timeout=15,
            what="a reply to every step",
        )
        kinds = ["no longer" in (m.text or "") for m in replies]
        assert kinds == [False, True] * 3 + [False]
        assert all("already" not in (m.text or "") for m in replies)
        assert await followed(app, ALICE) == ["stoptorture"]
        await api.wait_for_message(ALICE + 1)


async def test_updates_sent_while_the_bot_is_down_arrive_after_restart(
    api: FakeBotApi, webhook_bot: Callable[..., Any]
) -> None:
    """Stopping keeps the webhook; Telegram retries what the stopped bot could not take, and
    the restarted bot answers it (pending updates are never dropped)."""
    async with webhook_bot():
        await say(api, ALICE, "/start")
    update = api.send_text(ALICE, "/help")
    await api.wait_for_webhook_deliveries(predicate=lambda d: not d.ok)
    async with webhook_bot():
        await api.wait_until(lambda: delivered(api, update["update_id"]), timeout=10)
        await api.wait_until(lambda: len(api.messages(ALICE)) == 2 or None, what="help reply")
    assert [r.params["drop_pending_updates"] for r in api.requests("setWebhook")] == [False] * 2


async def test_polling_mode_removes_a_webhook_without_dropping_updates(
    api: FakeBotApi, bot_settings: Callable[..., Settings], engine: Any
) -> None:
    """Without WEBHOOK_URL the bot long-polls as before: deleteWebhook without dropping (an
    update waiting for the old webhook is still answered), then getUpdates asking for the
    same update types as the webhook."""
    old = f"http://127.0.0.1:{_free_port()}/old"  # nothing listens: POSTs to it fail
    async with httpx.AsyncClient(trust_env=False) as http:
        answer = await http.post(f"{api.base_url}{api.token}/setWebhook", data={"url": old})
        assert answer.json()["ok"] is True
    update = api.send_text(ALICE, "/start")
    async with running(make_application(bot_settings(), engine=engine)):
        await api.wait_for_message(ALICE)
        (delete,) = api.requests("deleteWebhook")
        polls = await api.wait_for_requests("getUpdates")
        assert "drop_pending_updates" not in delete.params
        assert polls[0].params["allowed_updates"] == list(ALLOWED_UPDATES)
    assert update["update_id"] not in [u["update_id"] for u in api.pending_updates]


async def test_a_webhook_telegram_refuses_is_a_configuration_error(
    api: FakeBotApi, bot_settings: Callable[..., Settings], engine: Any
) -> None:
    """setWebhook refused (e.g. a port Telegram does not call): the start fails with a
    ConfigError naming WEBHOOK_URL and Telegram's reason, and nothing keeps running."""
    reason = "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
    api.fail_next("setWebhook", 400, reason)
    port = _free_port()
    settings = bot_settings(
        web_port=port,
        webhook_url=f"https://127.0.0.1:{port}{PATH}",
        webhook_secret=SECRET,
    )
    application = make_application(settings, engine=engine)
    with pytest.raises(ConfigError) as refused:
        async with running(application):
            pass
    assert refused.value.variable == "WEBHOOK_URL"
    assert "only on ports 80, 88, 443 or 8443" in refused.value.message
    async with httpx.AsyncClient(trust_env=False) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/healthz")  # the web server was stopped


# SQLite is for one process: several instances need PostgreSQL, so this runs on it alone.
@pytest.mark.parametrize("db_kind", ["postgres"], indirect=True)
async def test_two_instances_behind_one_webhook_url_share_the_updates(
    api: FakeBotApi,
    bot_settings: Callable[..., Settings],
    engine: Any,
) -> None:
    """Two instances on one PostgreSQL behind a round-robin proxy (as docs/DEPLOYING.md sets
    up): both set the same webhook, both take updates, and when one stops the other answers
    everything (the proxy skips the refused connection)."""
    ports = [_free_port(), _free_port()]
    async with Balancer([f"http://127.0.0.1:{port}" for port in ports]) as balancer:
        url = f"{balancer.url}{PATH}"

        def instance(port: int, **kwargs: Any) -> AnyApplication:
            settings = bot_settings(web_port=port, webhook_url=url, webhook_secret=SECRET)
            return make_application(settings, **kwargs)

        async with running(instance(ports[0], engine=engine)):
            async with running(instance(ports[1])):
                for chat_id in range(5001, 5007):
                    api.send_text(chat_id, "/start")
                for chat_id in range(5001, 5007):
                    await api.wait_for_message(chat_id, timeout=10)
                assert sorted(balancer.taken.values()) == [3, 3]
            for chat_id in (5101, 5102):  # the second instance is gone: one of these is
                api.send_text(chat_id, "/start")  # sent its way, refused, and goes on
                await api.wait_for_message(chat_id, timeout=10)
        descriptions = [r.description for r in api.requests("setWebhook")]
        assert descriptions == ["Webhook was set", "Webhook is already set"]
        assert dict(balancer.refused) == {f"http://127.0.0.1:{ports[1]}": 1}
        assert all(d.ok for d in api.webhook_deliveries)
