"""The lean bulk path and the python-telegram-bot path give the same outcome for every answer.

Both senders talk real HTTP to the fake Bot API; each case makes the fake answer the same way
twice (once per sender) and compares the `DeliveryOutcome`s (the message id aside, which the
fake numbers per chat). Also: the lean path's request bodies are the PTB path's parameters.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from telegram import Bot, InlineKeyboardButton

from bot.domain.types import DeliveryOutcome, OutcomeKind
from bot.render.text import RenderedMessage
from bot.sender import LeanSender, TelegramSender
from tests.fakes.botapi import (
    PHOTO_URL_FAILED,
    PHOTO_URL_NOT_IMAGE,
    PHOTO_URL_REFUSED,
    FakeBotApi,
)

MESSAGE = RenderedMessage(
    "<b>Act now</b> &amp; sign",
    ((InlineKeyboardButton("Read more", url="https://campaign.example.org/a"),),),
    disable_preview=True,
)
PHOTO = "https://campaign.example.org/p.jpg"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(limits=False) as server:
        yield server


@pytest.fixture
async def senders(api: FakeBotApi) -> AsyncIterator[tuple[TelegramSender, LeanSender]]:
    async with Bot(api.token, base_url=api.base_url) as bot:
        lean = LeanSender(bot.base_url)
        try:
            yield TelegramSender(bot), lean
        finally:
            await lean.aclose()


Setup = Callable[[FakeBotApi, int], None]


def _fail(status: int, description: str | None = None, retry_after: int | None = None) -> Setup:
    def setup(api: FakeBotApi, chat_id: int) -> None:
        api.fail_next("*", status, description, retry_after=retry_after)

    return setup


CASES: dict[str, tuple[int, Setup, OutcomeKind]] = {
    "sent": (501, lambda api, chat: None, OutcomeKind.SENT),
    "flood 429": (502, _fail(429, retry_after=7), OutcomeKind.RETRY_AFTER),
    "blocked 403": (503, lambda api, chat: api.block(chat), OutcomeKind.UNREACHABLE),
    "deactivated 403": (504, lambda api, chat: api.deactivate(chat), OutcomeKind.UNREACHABLE),
    "chat not found": (505, lambda api, chat: api.forget(chat), OutcomeKind.UNREACHABLE),
    "migrated group": (
        -506,
        lambda api, chat: api.migrate(chat, -1000000000506),
        OutcomeKind.MIGRATED,
    ),
    "photos refused": (
        -507,
        lambda api, chat: api.restrict_bot(chat, send_photos=False),
        OutcomeKind.MEDIA_REFUSED,
    ),
    "text refused": (
        -508,
        lambda api, chat: api.restrict_bot(chat, send_messages=False),
        OutcomeKind.UNREACHABLE,
    ),
    "500": (509, _fail(500), OutcomeKind.TRANSIENT),
    "502": (510, _fail(502), OutcomeKind.TRANSIENT),
    "other 400": (511, _fail(400, "Bad Request: can't parse entities"), OutcomeKind.PERMANENT),
    "balance too low": (
        512,
        lambda api, chat: api.set_stars_balance(0),
        OutcomeKind.PAID_REFUSED,
    ),
    "image URL refused": (
        513,
        lambda api, chat: api.refuse_photo_url(PHOTO, PHOTO_URL_REFUSED),
        OutcomeKind.IMAGE_REFUSED,
    ),
    "image URL not fetched": (
        514,
        lambda api, chat: api.refuse_photo_url(PHOTO, PHOTO_URL_FAILED),
        OutcomeKind.IMAGE_REFUSED,
    ),
    "image URL not an image": (
        515,
        lambda api, chat: api.refuse_photo_url(PHOTO, PHOTO_URL_NOT_IMAGE),
        OutcomeKind.IMAGE_REFUSED,
    ),
}
PHOTO_CASES = frozenset(
    {"photos refused", "image URL refused", "image URL not fetched", "image URL not an image"}
)


@pytest.mark.parametrize("case", list(CASES))
async def test_both_paths_give_the_same_outcome(
    api: FakeBotApi, senders: tuple[TelegramSender, LeanSender], case: str
) -> None:
    chat_id, setup, kind = CASES[case]
    api.declare_chat(chat_id, "private" if chat_id > 0 else "group")
    photo = PHOTO if case in PHOTO_CASES else None
    paid = case == "balance too low"
    outcomes: list[DeliveryOutcome] = []
    for sender in senders:
        setup(api, chat_id)
        send: Callable[..., Awaitable[DeliveryOutcome]] = sender.send
        outcomes.append(await send(chat_id, MESSAGE, photo, paid=paid))
    ptb, lean = outcomes
    assert ptb.kind is kind, ptb
    assert lean.kind is ptb.kind
    assert (lean.retry_after, lean.new_chat_id, lean.error) == (
        ptb.retry_after,
        ptb.new_chat_id,
        ptb.error,
    )
    assert (lean.message_id is None) == (ptb.message_id is None)


async def test_timeout_is_transient_on_both_paths(api: FakeBotApi) -> None:
    api.declare_chat(520, "private")
    async with Bot(api.token, base_url=api.base_url) as bot:
        lean = LeanSender(bot.base_url, read_timeout=0.3)
        try:
            api.fail_next("*", 500, hold=True)
            outcome = await lean.send(520, MESSAGE)
        finally:
            await lean.aclose()
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert outcome.error == "Timed out"


async def test_refused_connection_is_transient() -> None:
    lean = LeanSender("http://127.0.0.1:9/bot123:abc", connect_timeout=1.0)
    try:
        outcome = await lean.send(1, MESSAGE)
    finally:
        await lean.aclose()
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert str(outcome.error).startswith("aiohttp.")


@pytest.mark.parametrize("photo", [None, PHOTO])
async def test_lean_requests_carry_what_the_ptb_path_sends(
    api: FakeBotApi, senders: tuple[TelegramSender, LeanSender], photo: str | None
) -> None:
    ptb, lean = senders
    api.declare_chat(530, "private")
    api.declare_chat(531, "private")
    assert (await ptb.send(530, MESSAGE, photo, paid=True)).kind is OutcomeKind.SENT
    assert (await lean.send(531, MESSAGE, photo, paid=True)).kind is OutcomeKind.SENT
    first, second = (api.messages(chat)[0] for chat in (530, 531))
    assert first.content() == second.content()
    assert first.buttons == second.buttons
    method = "sendPhoto" if photo else "sendMessage"
    params = [r.params for r in api.requests(method)]
    assert [p.get("allow_paid_broadcast") for p in params] == [True, True]
    assert api.stats.paid_messages == 2


@pytest.mark.parametrize(
    ("size", "disabled", "expected"),
    [
        (None, True, {"is_disabled": True}),
        ("small", False, {"is_disabled": False, "prefer_small_media": True}),
        ("large", False, {"is_disabled": False, "prefer_large_media": True}),
    ],
)
async def test_both_paths_send_the_same_link_preview_options(
    api: FakeBotApi,
    senders: tuple[TelegramSender, LeanSender],
    size: str | None,
    disabled: bool,
    expected: dict[str, bool],
) -> None:
    """A topic's preview (off, small, large) reaches Telegram alike through either sender."""
    message = RenderedMessage(
        '<a href="https://campaign.example.org/a">Act</a>',
        disable_preview=disabled,
        preview_size=size,
    )
    for chat, sender in zip((540, 541), senders, strict=True):
        api.declare_chat(chat, "private")
        assert (await sender.send(chat, message)).kind is OutcomeKind.SENT
    sent = [_as_dict(r.params["link_preview_options"]) for r in api.requests("sendMessage")]
    assert len(sent) == 2
    assert sent[0] == sent[1]
    assert {k: v for k, v in sent[0].items() if v} == {k: v for k, v in expected.items() if v}
    assert sent[0].get("is_disabled", False) is disabled
    if size == "small":
        assert sent[0]["show_above_text"] is False


def _as_dict(value: object) -> dict[str, object]:
    """A JSON object parameter as the fake recorded it (decoded, or as the text sent)."""
    decoded = json.loads(value) if isinstance(value, str) else value
    assert isinstance(decoded, dict)
    return decoded


async def test_a_message_is_serialised_once_and_only_chat_id_varies(
    senders: tuple[TelegramSender, LeanSender],
) -> None:
    _, lean = senders
    body = lean.body(MESSAGE, None, False)
    assert lean.body(MESSAGE, None, False) is body  # cached: serialised once
    requests = [b'{"chat_id":%d%b' % (chat, body.tail) for chat in (1, 2, -100)]
    decoded = [json.loads(r) for r in requests]
    assert [d.pop("chat_id") for d in decoded] == [1, 2, -100]
    assert decoded[0] == decoded[1] == decoded[2]
    assert decoded[0]["parse_mode"] == "HTML"
    assert "allow_paid_broadcast" not in decoded[0]
    assert json.loads(b"{" + lean.body(MESSAGE, None, True).tail[1:])["allow_paid_broadcast"]
