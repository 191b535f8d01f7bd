"""Tests of the fake Bot API server, driven by the real python-telegram-bot Bot over HTTP."""

from __future__ import annotations

import asyncio
import functools
import ssl
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    SwitchInlineQueryChosenChat,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from tests.fakes.botapi import NOT_MODIFIED, QUERY_TOO_OLD, FakeBotApi
from tests.fakes.botapi_html import HtmlParseError, fix_text, parse_html
from tests.fakes.clock import FakeClock

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parents[1]
USER = 1001
GROUP = -4001
SUPERGROUP = -1001234567890


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def _request(**kwargs: Any) -> HTTPXRequest:
    # trust_env off: httpx would send loopback traffic through HTTP(S)_PROXY/ALL_PROXY too.
    # One shared SSL context: building one per client costs ~35 ms (we only speak http://).
    return HTTPXRequest(httpx_kwargs={"trust_env": False, "verify": _ssl_context()}, **kwargs)


def _some(value: T | None) -> T:
    assert value is not None
    return value


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _button(data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("go", callback_data=data)]])


def _last_description(api: FakeBotApi, method: str) -> str | None:
    return api.requests(method)[-1].description


@pytest.fixture
async def api(clock: FakeClock) -> AsyncIterator[FakeBotApi]:
    """A fake server whose rate-limit clock is the test's FakeClock."""
    async with FakeBotApi(clock=lambda: clock.now().timestamp()) as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    """A real PTB Bot pointed at the fake server."""
    async with Bot(
        api.token, base_url=api.base_url, request=_request(), get_updates_request=_request()
    ) as client:
        yield client


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client for raw requests."""
    async with aiohttp.ClientSession() as session:
        yield session


async def _raw(
    http: aiohttp.ClientSession, url: str, method: str = "POST", **kwargs: Any
) -> tuple[int, dict[str, Any], str | None]:
    async with http.request(method, url, **kwargs) as response:
        return response.status, await response.json(), response.headers.get("Retry-After")


# ---------------------------------------------------------------- routing and encoding


async def test_get_me_returns_the_fake_bot(bot: Bot) -> None:
    """getMe answers a bot user with a username."""
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "campaign_test_bot")


async def test_unknown_method_is_404_method_not_found(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    """An unknown method gets the server's 404 body."""
    status, body, _ = await _raw(http, f"{api.base_url}{api.token}/fooBar")
    assert (status, body) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )


async def test_unknown_method_raises_endpoint_not_found_in_ptb(bot: Bot) -> None:
    """PTB maps the 404 of do_api_request to EndPointNotFound."""
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("fooBar")


@pytest.mark.parametrize("token", ["0123:abc", "no-colon", "12/3:abc", "1:" + "a" * 80])
async def test_malformed_token_is_401_invalid_token(
    api: FakeBotApi, http: aiohttp.ClientSession, token: str
) -> None:
    """A malformed token gets 401 `invalid token specified`."""
    status, body, _ = await _raw(http, f"{api.url}/bot{token}/getMe")
    assert (status, body["description"]) == (401, "Unauthorized: invalid token specified")


async def test_wrong_token_is_rejected_as_invalid_token(api: FakeBotApi) -> None:
    """A well-formed but different token makes PTB raise InvalidToken on initialize."""
    other = Bot("654321:other-token", base_url=api.base_url, request=_request())
    with pytest.raises(InvalidToken):
        await other.initialize()
    await other.shutdown()


async def test_other_paths_are_plain_404(api: FakeBotApi, http: aiohttp.ClientSession) -> None:
    """A path outside /bot<token>/<method> gets `Not Found`."""
    status, body, _ = await _raw(http, f"{api.url}/something")
    assert (status, body["description"]) == (404, "Not Found")


async def test_method_names_are_case_insensitive(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    """SENDMESSAGE works like sendMessage."""
    url = f"{api.base_url}{api.token}/SENDMESSAGE"
    status, body, _ = await _raw(http, url, data={"chat_id": "5", "text": "hi"})
    assert (status, body["result"]["text"]) == (200, "hi")


async def test_get_with_query_string_is_accepted(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    """Parameters may come in the query string of a GET."""
    url = f"{api.base_url}{api.token}/sendMessage"
    status, body, _ = await _raw(http, url, "GET", params={"chat_id": "5", "text": "q"})
    assert (status, body["result"]["chat"]["id"]) == (200, 5)


async def test_json_body_is_accepted(api: FakeBotApi, http: aiohttp.ClientSession) -> None:
    """A JSON body with nested objects works."""
    payload = {
        "chat_id": 5,
        "text": "j",
        "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]},
    }
    url = f"{api.base_url}{api.token}/sendMessage"
    _, body, _ = await _raw(http, url, json=payload)
    assert body["result"]["reply_markup"] == payload["reply_markup"]


async def test_missing_required_parameter_is_named(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    """A missing required parameter gets `parameter "<name>" is required`."""
    _, body, _ = await _raw(http, f"{api.base_url}{api.token}/answerCallbackQuery")
    assert body["description"] == 'Bad Request: parameter "callback_query_id" is required'


async def test_unknown_parameter_is_rejected(api: FakeBotApi, http: aiohttp.ClientSession) -> None:
    """A parameter name the spec does not define is refused."""
    url = f"{api.base_url}{api.token}/sendMessage"
    _, body, _ = await _raw(http, url, data={"chat_id": "5", "text": "x", "txet": "y"})
    assert body["description"] == 'Bad Request: unknown parameter "txet"'


async def test_unknown_parameter_is_ignored_when_not_strict(http: aiohttp.ClientSession) -> None:
    """With strict_params off, an unknown parameter is ignored, as the real server does."""
    async with FakeBotApi(strict_params=False) as server:
        url = f"{server.base_url}{server.token}/sendMessage"
        status, body, _ = await _raw(http, url, data={"chat_id": "5", "text": "x", "txet": "y"})
    assert (status, body["result"]["text"]) == (200, "x")


def test_missing_spec_file_is_an_error(tmp_path: Path) -> None:
    """A spec file that is not there stops the fake at once: it never runs unchecked."""
    with pytest.raises(FileNotFoundError):
        FakeBotApi(spec_path=tmp_path / "api.min.json")


async def test_spec_method_without_handler_is_named_as_the_spec_spells_it(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    """A method the spec knows but the fake lacks gets a 400 naming it in its real spelling."""
    status, body, _ = await _raw(http, f"{api.base_url}{api.token}/senddice", data={"chat_id": 5})
    assert (status, body["description"]) == (
        400,
        'Bad Request: method "sendDice" is not implemented by the fake Bot API',
    )


async def test_429_carries_retry_after_parameter_and_header(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    """A 429 has parameters.retry_after and the Retry-After header."""
    api.flood(7)
    url = f"{api.base_url}{api.token}/sendMessage"
    status, body, header = await _raw(http, url, data={"chat_id": "5", "text": "x"})
    assert (status, body, header) == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
        "7",
    )


# ---------------------------------------------------------------- sending and HTML


async def test_send_message_returns_entities_from_html(bot: Bot) -> None:
    """Valid HTML comes back as plain text with matching entities."""
    message = await bot.send_message(
        USER, '<b>Act</b> now: <a href="https://example.org/x">sign</a>', parse_mode="HTML"
    )
    actual = [(e.type, e.offset, e.length, e.url) for e in message.entities]
    assert (message.text, actual) == (
        "Act now: sign",
        [("bold", 0, 3, None), ("text_link", 9, 4, "https://example.org/x")],
    )


async def test_sent_message_state_is_observable(api: FakeBotApi, bot: Bot) -> None:
    """messages() shows text, entities and keyboard of what the bot sent."""
    await bot.send_message(USER, "<i>hi</i>", parse_mode="HTML", reply_markup=_button("d1"))
    [message] = api.messages(USER)
    assert (message.text, message.entities, message.buttons) == (
        "hi",
        [{"offset": 0, "length": 2, "type": "italic"}],
        [[{"text": "go", "callback_data": "d1"}]],
    )


async def test_message_is_from_the_bot_in_the_right_chat(bot: Bot) -> None:
    """The returned Message has the bot as sender and the private chat."""
    message = await bot.send_message(USER, "x")
    sender = _some(message.from_user)
    assert (sender.id, message.chat.id, message.chat.type) == (123456, USER, "private")


def _entity(offset: int, length: int, kind: str, **extra: Any) -> dict[str, Any]:
    return {"offset": offset, "length": length, "type": kind, **extra}


HTML_OK = [
    ("<b>bold</b> <i>it</i>", "bold it", [_entity(0, 4, "bold"), _entity(5, 2, "italic")]),
    ("<B>x</B><EM>y</EM>", "xy", [_entity(0, 1, "bold"), _entity(1, 1, "italic")]),
    ("&lt;&gt;&amp;&quot;", '<>&"', []),
    ("&#65;&#x42;&#67 &#0;", "ABC &#0;", []),
    ("AT&T &nbsp; &copy &#12345678;", "AT&T &nbsp; &copy &#12345678;", []),
    ("a > b", "a > b", []),
    ("<b></b>x", "x", []),
    ("🏟 <b>x</b>", "🏟 x", [_entity(3, 1, "bold")]),
    ("<u>u</u><del>d</del>", "ud", [_entity(0, 1, "underline"), _entity(1, 1, "strikethrough")]),
    ('<code class="language-py">c</code>', "c", [_entity(0, 1, "code")]),
    (
        '<pre><code class="language-python">p</code></pre>',
        "p",
        [_entity(0, 1, "pre", language="python")],
    ),
    ('<span class="tg-spoiler">s</span>', "s", [_entity(0, 1, "spoiler")]),
    ("<blockquote expandable>q</blockquote>", "q", [_entity(0, 1, "expandable_blockquote")]),
    (
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        "👍",
        [_entity(0, 2, "custom_emoji", custom_emoji_id="5368324170671202286")],
    ),
    (
        '<a href="tg://user?id=123456789">u</a>',
        "u",
        [_entity(0, 1, "text_mention", user={"id": 123456789, "is_bot": False, "first_name": ""})],
    ),
    ('<a href="x.org" title="t">l</a>', "l", [_entity(0, 1, "text_link", url="http://x.org/")]),
    ("<a>telegram.org </a>", "telegram.org ", []),
    ("<i>a</>", "a", [_entity(0, 1, "italic")]),
]


@pytest.mark.parametrize(("html", "text", "entities"), HTML_OK)
def test_parse_html_accepts(html: str, text: str, entities: list[dict[str, Any]]) -> None:
    """TDLib's parser turns valid HTML into text and Bot API entities."""
    assert parse_html(html) == (text, entities)


@pytest.mark.parametrize(
    ("html", "url"),
    [
        ('<a href="http://www.example.com/">l</a>', "http://www.example.com/"),
        ("<a href=telegram.org>l</a>", "http://telegram.org/"),
        ("<a href='telegram.org?&lt;'>l</a>", "http://telegram.org/?<"),
        ("<a>https://telegram.org/a?b#c</a>", "https://telegram.org/a?b#c"),
    ],
)
def test_parse_html_normalises_link_urls(html: str, url: str) -> None:
    """Link targets are checked and normalised as TDLib does."""
    assert parse_html(html)[1][0]["url"] == url


HTML_ERRORS = [
    ("Hello<br>", 'Unsupported start tag "br" at byte offset 5'),
    ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
    ("<b/>", 'Unsupported start tag "b/" at byte offset 0'),
    ("a < b", 'Unsupported start tag "" at byte offset 2'),
    ("é<br>", 'Unsupported start tag "br" at byte offset 2'),
    ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
    ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
    ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
    ("x</b>", "Unexpected end tag at byte offset 1"),
    ("<b>x</b", "Unclosed end tag at byte offset 4"),
    ("<a href", 'Unclosed start tag "a" at byte offset 0'),
    ("<a href='x>y</a>", "Unclosed start tag at byte offset 0"),
    ("<i =x>y</i>", 'Empty attribute name in the tag "i" at byte offset 0'),
    ("<i a=x,>y</i>", "Unexpected end of name token at byte offset 5"),
    ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
    (
        "&#xD800;",
        (
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        ),
    ),
]


@pytest.mark.parametrize(("html", "message"), HTML_ERRORS)
def test_parse_html_rejects(html: str, message: str) -> None:
    """Invalid HTML fails with TDLib's exact message and UTF-8 byte offset."""
    with pytest.raises(HtmlParseError) as caught:
        parse_html(html)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("html", "text", "spans"),
    [
        ("  \n<b>x</b> \n ", "x", [(0, 1, "bold")]),
        ("<b>a</b><b>b</b>", "ab", [(0, 2, "bold")]),
        ("<code>x<b>y</b></code>", "xy", [(0, 2, "code")]),
        ("<b>a<code>x</code>b</b>", "axb", [(0, 1, "bold"), (1, 1, "code"), (2, 1, "bold")]),
        ("<pre><code>q</code></pre>", "q", [(0, 1, "pre")]),
        ("a<b> </b>b", "a b", []),
    ],
)
def test_fix_text_finishes_like_tdlib(html: str, text: str, spans: list[tuple[int, ...]]) -> None:
    """Trimming, whitespace-only entities, merging and code nesting follow TDLib."""
    plain, entities = fix_text(*parse_html(html))
    assert (plain, [(e["offset"], e["length"], e["type"]) for e in entities]) == (text, spans)


async def test_html_error_reaches_ptb_as_bad_request(api: FakeBotApi, bot: Bot) -> None:
    """A parse error is 400 `can't parse entities: ...` with the byte offset."""
    with pytest.raises(BadRequest):
        await bot.send_message(USER, "Hello<br>", parse_mode="HTML")
    assert _last_description(api, "sendMessage") == (
        'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 5'
    )


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("x" * 32769, "Bad Request: text is too long"),
        ("é" * 4097, "Bad Request: message is too long"),
        ("<b> </b>\n", "Bad Request: text must be non-empty"),
        ("   ", "Bad Request: text must be non-empty"),
    ],
)
async def test_text_limits(api: FakeBotApi, bot: Bot, text: str, description: str) -> None:
    """Raw size, parsed length and emptiness give the server's descriptions."""
    with pytest.raises(BadRequest):
        await bot.send_message(USER, text, parse_mode="HTML")
    assert _last_description(api, "sendMessage") == description


async def test_empty_text_is_message_text_is_empty(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    """An empty text parameter gets `message text is empty`."""
    url = f"{api.base_url}{api.token}/sendMessage"
    _, body, _ = await _raw(http, url, data={"chat_id": "5", "text": ""})
    assert body["description"] == "Bad Request: message text is empty"


async def test_4096_characters_after_trimming_are_accepted(bot: Bot) -> None:
    """The limit counts code points after tags are removed and whitespace trimmed."""
    message = await bot.send_message(USER, "  <b>" + "🏟" * 4096 + "</b>\n", parse_mode="HTML")
    assert len(_some(message.text)) == 4096


async def test_callback_data_of_64_bytes_is_accepted(bot: Bot) -> None:
    """callback_data of 64 UTF-8 bytes (32 Cyrillic letters) passes."""
    message = await bot.send_message(USER, "x", reply_markup=_button("ж" * 32))
    assert _some(message.reply_markup).inline_keyboard[0][0].callback_data == "ж" * 32


async def test_callback_data_over_64_bytes_is_button_data_invalid(
    api: FakeBotApi, bot: Bot
) -> None:
    """callback_data of 65 bytes gets BUTTON_DATA_INVALID."""
    with pytest.raises(BadRequest):
        await bot.send_message(USER, "x", reply_markup=_button("ж" * 32 + "a"))
    assert _last_description(api, "sendMessage") == "Bad Request: BUTTON_DATA_INVALID"


@pytest.mark.parametrize(("rows", "per_row"), [(1, 9), (13, 8)])
async def test_too_many_buttons_is_reply_markup_too_long(
    api: FakeBotApi, bot: Bot, rows: int, per_row: int
) -> None:
    """More than 8 buttons in a row or 100 in all gets `reply markup is too long`."""
    keyboard = [
        [InlineKeyboardButton(str(i), callback_data=str(i)) for i in range(per_row)]
        for _ in range(rows)
    ]
    with pytest.raises(BadRequest):
        await bot.send_message(USER, "x", reply_markup=InlineKeyboardMarkup(keyboard))
    assert _last_description(api, "sendMessage") == "Bad Request: reply markup is too long"


async def test_send_photo_upload_with_caption(bot: Bot) -> None:
    """A multipart photo upload comes back as PhotoSizes with the parsed caption."""
    message = await bot.send_photo(USER, b"\x89PNG fake", caption="<b>c</b>", parse_mode="HTML")
    assert (len(message.photo), message.caption, message.caption_entities[0].type) == (
        3,
        "c",
        "bold",
    )


async def test_send_photo_by_url_is_accepted(api: FakeBotApi, bot: Bot) -> None:
    """A photo given as an HTTP URL is accepted and stored."""
    await bot.send_photo(USER, "https://example.org/p.jpg")
    assert api.messages(USER)[0].photo is not None


async def test_send_photo_unknown_file_id_is_rejected(api: FakeBotApi, bot: Bot) -> None:
    """A file_id the server never issued is refused."""
    with pytest.raises(BadRequest):
        await bot.send_photo(USER, "AgAC-not-a-real-id")
    assert _last_description(api, "sendPhoto") == (
        "Bad Request: wrong file identifier/HTTP URL specified"
    )


async def test_caption_over_1024_is_rejected(api: FakeBotApi, bot: Bot) -> None:
    """A caption over 1024 characters gets `message caption is too long`."""
    with pytest.raises(BadRequest):
        await bot.send_photo(USER, "https://example.org/p.jpg", caption="c" * 1025)
    assert _last_description(api, "sendPhoto") == "Bad Request: message caption is too long"


# ---------------------------------------------------------------- edits and deletes


async def test_edit_missing_message_is_not_found(api: FakeBotApi, bot: Bot) -> None:
    """Editing a message that does not exist gets `message to edit not found`."""
    with pytest.raises(BadRequest):
        await bot.edit_message_text("new", chat_id=USER, message_id=99)
    assert _last_description(api, "editMessageText") == "Bad Request: message to edit not found"


async def test_identical_edit_is_not_modified(api: FakeBotApi, bot: Bot) -> None:
    """An edit that changes nothing gets the full `message is not modified` description."""
    sent = await bot.send_message(USER, "<b>same</b>", parse_mode="HTML")
    with pytest.raises(BadRequest):
        await bot.edit_message_text(
            "<b>same</b>", chat_id=USER, message_id=sent.message_id, parse_mode="HTML"
        )
    assert _last_description(api, "editMessageText") == NOT_MODIFIED


async def test_edit_updates_the_stored_message(api: FakeBotApi, bot: Bot) -> None:
    """An edit replaces text and keyboard and is counted."""
    sent = await bot.send_message(USER, "old", reply_markup=_button("a"))
    edited = await bot.edit_message_text("new", chat_id=USER, message_id=sent.message_id)
    [stored] = api.messages(USER)
    assert isinstance(edited, Message)
    assert (stored.text, stored.reply_markup, stored.edits, edited.edit_date is not None) == (
        "new",
        None,
        1,
        True,
    )


async def test_edit_reply_markup_changes_the_keyboard(api: FakeBotApi, bot: Bot) -> None:
    """editMessageReplyMarkup swaps the keyboard."""
    sent = await bot.send_message(USER, "x", reply_markup=_button("a"))
    await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=_button("b"))
    assert api.messages(USER)[0].buttons == [[{"text": "go", "callback_data": "b"}]]


async def test_delete_message_then_again_is_not_found(api: FakeBotApi, bot: Bot) -> None:
    """A deleted message disappears; deleting it again gets `message to delete not found`."""
    sent = await bot.send_message(USER, "x")
    await bot.delete_message(USER, sent.message_id)
    with pytest.raises(BadRequest):
        await bot.delete_message(USER, sent.message_id)
    assert (api.messages(USER), _last_description(api, "deleteMessage")) == (
        [],
        "Bad Request: message to delete not found",
    )


# ---------------------------------------------------------------- callback queries


async def test_pressed_button_arrives_as_callback_query(api: FakeBotApi, bot: Bot) -> None:
    """press_button queues a callback_query referencing the bot's message."""
    sent = await bot.send_message(USER, "x", reply_markup=_button("vote:1"))
    query_id = api.press_button(USER, sent.message_id, "vote:1")
    [update] = await bot.get_updates()
    query = _some(update.callback_query)
    assert (query.id, query.data, _some(query.message).message_id, query.from_user.id) == (
        query_id,
        "vote:1",
        sent.message_id,
        USER,
    )


async def test_callback_query_is_answered_once(api: FakeBotApi, bot: Bot) -> None:
    """The first answer succeeds and is recorded; a second gets `query is too old`."""
    sent = await bot.send_message(USER, "x", reply_markup=_button("a"))
    query_id = api.press_button(USER, sent.message_id, "a")
    await bot.answer_callback_query(query_id, text="Done")
    with pytest.raises(BadRequest):
        await bot.answer_callback_query(query_id)
    assert (api.callback_answer(query_id), _last_description(api, "answerCallbackQuery")) == (
        {"text": "Done"},
        QUERY_TOO_OLD,
    )


async def test_unknown_callback_query_is_too_old(api: FakeBotApi, bot: Bot) -> None:
    """An id the server never issued gets `query is too old ...`."""
    with pytest.raises(BadRequest):
        await bot.answer_callback_query("12345")
    assert _last_description(api, "answerCallbackQuery") == QUERY_TOO_OLD


async def test_callback_answer_over_200_characters_is_rejected(api: FakeBotApi, bot: Bot) -> None:
    """An answer text over 200 characters is refused."""
    sent = await bot.send_message(USER, "x", reply_markup=_button("a"))
    query_id = api.press_button(USER, sent.message_id, "a")
    with pytest.raises(BadRequest):
        await bot.answer_callback_query(query_id, text="t" * 201)
    assert _last_description(api, "answerCallbackQuery") == "Bad Request: message is too long"


async def test_callback_query_expires_with_ttl(clock: FakeClock) -> None:
    """With callback_query_ttl, an answer after the TTL is too old."""
    async with FakeBotApi(clock=lambda: clock.now().timestamp(), callback_query_ttl=15) as server:
        server.send_text(USER, "hi")
        query_id = server.press_button(USER, 1, "a")
        clock.advance(seconds=16)
        async with Bot(server.token, base_url=server.base_url, request=_request()) as client:
            with pytest.raises(BadRequest):
                await client.answer_callback_query(query_id)
        assert _last_description(server, "answerCallbackQuery") == QUERY_TOO_OLD


def test_press_button_on_missing_message_is_a_test_error() -> None:
    """Pressing a button under a message that does not exist raises LookupError."""
    server = FakeBotApi()
    with pytest.raises(LookupError):
        server.press_button(USER, 42, "a")


# ---------------------------------------------------------------- chat states


async def test_blocked_user_is_forbidden(api: FakeBotApi, bot: Bot) -> None:
    """Sending to a user who blocked the bot raises Forbidden with the server text."""
    api.block(USER)
    with pytest.raises(Forbidden) as caught:
        await bot.send_message(USER, "x")
    assert caught.value.message == "Forbidden: bot was blocked by the user"


async def test_unblocked_user_gets_messages_again(api: FakeBotApi, bot: Bot) -> None:
    """unblock() undoes block()."""
    api.block(USER)
    api.unblock(USER)
    assert (await bot.send_message(USER, "x")).text == "x"


async def test_deactivated_user_is_forbidden(api: FakeBotApi, bot: Bot) -> None:
    """A deleted account gives 403 `user is deactivated`."""
    api.deactivate(USER)
    with pytest.raises(Forbidden) as caught:
        await bot.send_message(USER, "x")
    assert caught.value.message == "Forbidden: user is deactivated"


@pytest.mark.parametrize(("chat_id", "kind"), [(GROUP, "group"), (SUPERGROUP, "supergroup")])
async def test_kicked_bot_is_forbidden(api: FakeBotApi, bot: Bot, chat_id: int, kind: str) -> None:
    """A bot removed from a group gets `bot was kicked from the <kind> chat`."""
    api.kick(chat_id)
    with pytest.raises(Forbidden) as caught:
        await bot.send_message(chat_id, "x")
    assert caught.value.message == f"Forbidden: bot was kicked from the {kind} chat"


async def test_unknown_chat_is_not_found_when_strict() -> None:
    """With accept_unknown_chats=False an undeclared chat is `chat not found`."""
    async with (
        FakeBotApi(accept_unknown_chats=False) as server,
        Bot(server.token, base_url=server.base_url, request=_request()) as client,
    ):
        with pytest.raises(BadRequest):
            await client.send_message(777, "x")
        assert _last_description(server, "sendMessage") == "Bad Request: chat not found"


async def test_chat_that_sent_an_update_is_known_when_strict() -> None:
    """A chat becomes known by sending an update."""
    async with (
        FakeBotApi(accept_unknown_chats=False) as server,
        Bot(server.token, base_url=server.base_url, request=_request()) as client,
    ):
        server.send_text(777, "/start")
        assert (await client.send_message(777, "hello")).chat.id == 777


async def test_forgotten_chat_is_not_found(api: FakeBotApi, bot: Bot) -> None:
    """forget() makes one chat unknown even when unknown chats are accepted."""
    api.forget(USER)
    with pytest.raises(BadRequest):
        await bot.send_message(USER, "x")
    assert _last_description(api, "sendMessage") == "Bad Request: chat not found"


async def test_block_with_notify_queues_my_chat_member(api: FakeBotApi, bot: Bot) -> None:
    """block(notify=True) also queues the member -> kicked update."""
    api.block(USER, notify=True)
    [update] = await bot.get_updates()
    change = _some(update.my_chat_member)
    assert (change.chat.id, change.new_chat_member.status) == (USER, "kicked")


async def test_migrate_with_notify_queues_service_messages(api: FakeBotApi, bot: Bot) -> None:
    """migrate(notify=True) queues migrate_to/migrate_from service messages."""
    api.migrate(GROUP, SUPERGROUP, notify=True)
    messages = [_some(u.message) for u in await bot.get_updates()]
    assert [(m.chat.id, m.migrate_to_chat_id, m.migrate_from_chat_id) for m in messages] == [
        (GROUP, SUPERGROUP, None),
        (SUPERGROUP, None, GROUP),
    ]


async def test_bot_that_left_a_group_is_not_a_member(api: FakeBotApi, bot: Bot) -> None:
    """A my_chat_member update to `left` makes sends fail with `bot is not a member`."""
    api.my_chat_member(SUPERGROUP, USER, "member", "left")
    with pytest.raises(Forbidden) as caught:
        await bot.send_message(SUPERGROUP, "x")
    assert caught.value.message == "Forbidden: bot is not a member of the supergroup chat"


async def test_migrated_group_raises_chat_migrated(api: FakeBotApi, bot: Bot) -> None:
    """A group upgraded to a supergroup gives ChatMigrated with the new id."""
    api.migrate(GROUP, SUPERGROUP)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(GROUP, "x")
    assert caught.value.new_chat_id == SUPERGROUP


async def test_my_chat_member_block_update_is_parsed_and_applied(
    api: FakeBotApi, bot: Bot
) -> None:
    """A member -> kicked my_chat_member update reaches PTB and blocks sends."""
    api.my_chat_member(USER, USER, "member", "kicked")
    [update] = await bot.get_updates()
    change = _some(update.my_chat_member)
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "x")
    assert (change.old_chat_member.status, type(change.new_chat_member)) == (
        "member",
        ChatMemberBanned,
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("creator", ChatMemberOwner),
        ("administrator", ChatMemberAdministrator),
        ("member", ChatMemberMember),
    ],
)
async def test_get_chat_member_reports_the_set_status(
    api: FakeBotApi, bot: Bot, status: str, expected: type
) -> None:
    """set_member_status controls what getChatMember returns."""
    api.set_member_status(GROUP, USER, status)
    member = await bot.get_chat_member(GROUP, USER)
    assert (type(member), member.user.id) == (expected, USER)


async def test_get_chat_member_of_a_stranger_is_left(bot: Bot) -> None:
    """A user never seen in a group is `left`."""
    assert isinstance(await bot.get_chat_member(GROUP, USER), ChatMemberLeft)


async def test_get_chat_returns_full_info(api: FakeBotApi, bot: Bot) -> None:
    """getChat returns a ChatFullInfo PTB can read."""
    api.send_text(USER, "hi", first_name="Ada", username="ada")
    chat = await bot.get_chat(USER)
    assert (chat.id, chat.type, chat.first_name, chat.username) == (USER, "private", "Ada", "ada")


# ---------------------------------------------------------------- getUpdates


async def test_get_updates_returns_text_with_command_entity(api: FakeBotApi, bot: Bot) -> None:
    """An injected command arrives with a bot_command entity."""
    api.send_text(USER, "/subscribe climate")
    [update] = await bot.get_updates()
    message = _some(update.message)
    entity = message.entities[0]
    assert (message.text, entity.type, entity.offset, entity.length) == (
        "/subscribe climate",
        "bot_command",
        0,
        10,
    )


async def test_group_message_arrives_with_group_chat(api: FakeBotApi, bot: Bot) -> None:
    """send_group_text delivers a message from a user in a group."""
    api.send_group_text(GROUP, USER, "hello all", title="Team")
    [update] = await bot.get_updates()
    message = _some(update.message)
    chat = message.chat
    assert (chat.id, chat.type, chat.title, _some(message.from_user).id) == (
        GROUP,
        "group",
        "Team",
        USER,
    )


async def test_update_ids_increase(api: FakeBotApi) -> None:
    """Each injected update gets a higher update_id."""
    first = api.send_text(USER, "a")["update_id"]
    second = api.send_text(USER, "b")["update_id"]
    assert second == first + 1


async def test_offset_confirms_updates(api: FakeBotApi, bot: Bot) -> None:
    """Calling getUpdates with a higher offset drops confirmed updates."""
    last = api.send_text(USER, "a")["update_id"]
    await bot.get_updates(offset=last + 1)
    assert api.pending_updates == []


@pytest.mark.parametrize(("limit", "expected"), [(1000, 100), (0, 1), (7, 7)])
async def test_limit_is_clamped(api: FakeBotApi, bot: Bot, limit: int, expected: int) -> None:
    """limit is clamped to 1..100."""
    for i in range(150):
        api.send_text(USER, f"m{i}")
    assert len(await bot.get_updates(limit=limit)) == expected


async def test_long_poll_returns_as_soon_as_an_update_arrives(api: FakeBotApi, bot: Bot) -> None:
    """A parked getUpdates(timeout=30) answers right after an update is injected."""
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_for_poller()
    api.send_text(USER, "wake up")
    updates = await asyncio.wait_for(poll, 5)
    assert [_some(u.message).text for u in updates] == ["wake up"]


async def test_client_disconnect_mid_poll_loses_nothing(api: FakeBotApi, bot: Bot) -> None:
    """A long poll cancelled by the client is tolerated and the next poll gets the update."""
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_for_poller()
    poll.cancel()
    with pytest.raises(asyncio.CancelledError):
        await poll
    await api.wait_until(lambda: api.active_polls == 0, what="the poll to end")
    api.send_text(USER, "still here")
    assert [_some(u.message).text for u in await bot.get_updates()] == ["still here"]


async def test_second_poll_terminates_the_first_with_conflict(api: FakeBotApi, bot: Bot) -> None:
    """A parallel getUpdates ends the parked one with 409 Conflict."""
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_for_poller()
    await bot.get_updates(timeout=0)
    with pytest.raises(Conflict):
        await first


async def test_set_webhook_terminates_a_parked_poll(api: FakeBotApi, bot: Bot) -> None:
    """setWebhook ends a parked getUpdates with `terminated by setWebhook request`."""
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_for_poller()
    await bot.set_webhook("https://example.org/hook")
    with pytest.raises(Conflict):
        await poll
    assert _last_description(api, "getUpdates") == "Conflict: terminated by setWebhook request"


async def test_stopping_the_server_releases_a_parked_poll() -> None:
    """stop() answers a parked long poll at once with no updates."""
    server = FakeBotApi()
    await server.start()
    async with Bot(server.token, base_url=server.base_url, request=_request()) as client:
        poll = asyncio.create_task(client.get_updates(timeout=30))
        await server.wait_for_poller()
        await server.stop()
        assert await asyncio.wait_for(poll, 5) == ()


async def test_negative_offset_keeps_only_the_latest_updates(api: FakeBotApi, bot: Bot) -> None:
    """offset=-1 forgets all but the last update."""
    for text in ("a", "b", "c"):
        api.send_text(USER, text)
    assert [_some(u.message).text for u in await bot.get_updates(offset=-1)] == ["c"]


async def test_allowed_updates_filters_delivery(api: FakeBotApi, bot: Bot) -> None:
    """Update types outside allowed_updates are not delivered."""
    api.send_text(USER, "text")
    api.my_chat_member(USER, USER, "member", "kicked")
    updates = await bot.get_updates(allowed_updates=["my_chat_member"])
    assert [u.my_chat_member is not None for u in updates] == [True]


async def test_get_updates_while_webhook_is_set_is_conflict(bot: Bot) -> None:
    """getUpdates with an active webhook gets 409."""
    await bot.set_webhook("https://example.org/hook")
    with pytest.raises(Conflict):
        await bot.get_updates()


async def test_delete_webhook_descriptions(api: FakeBotApi, http: aiohttp.ClientSession) -> None:
    """deleteWebhook says `was deleted`, then `is already deleted`."""
    base = f"{api.base_url}{api.token}"
    await _raw(http, f"{base}/setWebhook", data={"url": "https://example.org/h"})
    descriptions = [
        (await _raw(http, f"{base}/deleteWebhook"))[1]["description"],
        (await _raw(http, f"{base}/deleteWebhook"))[1]["description"],
    ]
    assert descriptions == ["Webhook was deleted", "Webhook is already deleted"]


class _Receiver:
    """A webhook endpoint for the fake to POST to: records requests, answers from a script."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.gates: dict[int, asyncio.Event] = {}  # chat id -> answer only once set
        self.arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append((dict(request.headers), body))
        self.arrived.set()
        chat = body.get("message", {}).get("chat", {}).get("id")
        gate = self.gates.get(chat)
        if gate is not None:
            await gate.wait()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    async def __aenter__(self) -> _Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for gate in self.gates.values():
            gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def texts(self) -> list[str]:
        return [body["message"]["text"] for _, body in self.received if "message" in body]


async def test_webhook_gets_updates_with_the_secret_header(api: FakeBotApi, bot: Bot) -> None:
    """A set webhook receives pending and new updates as JSON POSTs with the secret header;
    types outside allowed_updates are not sent; acknowledged updates are no longer pending."""
    api.send_text(USER, "before")
    async with _Receiver() as receiver:
        await bot.set_webhook(
            receiver.url,
            secret_token="abc_DEF-123",  # noqa: S106 - a test value
            allowed_updates=["message"],
        )
        api.my_chat_member(USER, USER, "member", "kicked")
        api.send_text(USER, "after")
        await api.wait_for_webhook_deliveries(2)
        info = await bot.get_webhook_info()
    assert receiver.texts() == ["before", "after"]
    headers = [h for h, _ in receiver.received]
    assert {h["X-Telegram-Bot-Api-Secret-Token"] for h in headers} == {"abc_DEF-123"}
    assert {h["Content-Type"] for h in headers} == {"application/json"}
    assert (info.pending_update_count, info.max_connections, info.allowed_updates) == (
        0,
        40,
        ("message",),
    )
    assert api.pending_updates == []


async def test_webhook_retries_until_acknowledged(api: FakeBotApi, bot: Bot) -> None:
    """An update answered with a non-2xx is sent again until a 2xx; getWebhookInfo tells the
    last error."""
    async with _Receiver(statuses=[403, 500]) as receiver:
        await bot.set_webhook(receiver.url)
        api.send_text(USER, "hello")
        await api.wait_for_webhook_deliveries(predicate=lambda d: d.ok)
        info = await bot.get_webhook_info()
    assert [d.status for d in api.webhook_deliveries] == [403, 500, 200]
    assert receiver.texts() == ["hello"] * 3
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.pending_update_count == 0


async def test_webhook_keeps_each_chat_in_order(api: FakeBotApi, bot: Bot) -> None:
    """A chat's next update waits until its previous one is acknowledged; other chats go on."""
    async with _Receiver() as receiver:
        receiver.gates[USER] = asyncio.Event()
        await bot.set_webhook(receiver.url)
        api.send_text(USER, "a1")
        api.send_text(USER, "a2")
        api.send_text(USER + 1, "b1")
        await api.wait_until(lambda: len(receiver.received) == 2 or None, what="a1 and b1")
        assert sorted(receiver.texts()) == ["a1", "b1"]  # a2 waits behind a1
        receiver.gates[USER].set()
        await api.wait_for_webhook_deliveries(3)
    assert receiver.texts()[2] == "a2"


async def test_webhook_max_connections_bounds_parallel_posts() -> None:
    """With max_connections=1 a second chat's update is POSTed only after the first's answer."""
    async with FakeBotApi() as server, _Receiver() as receiver:  # a real clock: times compared
        receiver.gates[USER] = asyncio.Event()
        async with Bot(server.token, base_url=server.base_url, request=_request()) as client:
            await client.set_webhook(receiver.url, max_connections=1)
        server.send_text(USER, "a1")
        server.send_text(USER + 1, "b1")
        await receiver.arrived.wait()
        receiver.gates[USER].set()
        first, second = await server.wait_for_webhook_deliveries(2)
    assert receiver.texts() == ["a1", "b1"]
    assert second.started >= first.answered


async def test_set_webhook_checks_the_secret_and_says_when_already_set(
    http: aiohttp.ClientSession, api: FakeBotApi
) -> None:
    """secret_token: 1-256 of A-Z a-z 0-9 _ -; the same settings again are `already set`."""
    base = f"{api.base_url}{api.token}/setWebhook"
    url = "http://127.0.0.1:9/hook"  # nothing listens there; no update is pending
    answers = [
        (await _raw(http, base, data={"url": url, "secret_token": "x" * 257}))[1],
        (await _raw(http, base, data={"url": url, "secret_token": "a b"}))[1],
        (await _raw(http, base, data={"url": url, "secret_token": "ok"}))[1],
        (await _raw(http, base, data={"url": url, "secret_token": "ok"}))[1],
        (await _raw(http, base, data={"url": url, "secret_token": "other"}))[1],
    ]
    assert [a["description"] for a in answers] == [
        "Bad Request: secret token is too long",
        "Bad Request: secret token contains unallowed characters",
        "Webhook was set",
        "Webhook is already set",
        "Webhook was set",
    ]


async def test_real_application_polls_and_replies(api: FakeBotApi) -> None:
    """A PTB Application polling the fake answers an injected /start, then stops cleanly."""

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_html("<b>Welcome</b>")

    app = (
        ApplicationBuilder()
        .token(api.token)
        .base_url(api.base_url)
        .request(_request())
        .get_updates_request(_request())
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        api.send_text(USER, "/start")
        reply = await api.wait_for_message(USER)
        await app.updater.stop()
        await app.stop()
    assert (reply.text, reply.entities) == (
        "Welcome",
        [{"offset": 0, "length": 7, "type": "bold"}],
    )


# ---------------------------------------------------------------- commands and profile


async def test_commands_round_trip_per_scope(bot: Bot) -> None:
    """Commands set for a chat scope are read back there and not in the default scope."""
    scope = BotCommandScopeChat(USER)
    await bot.set_my_commands([BotCommand("start", "Start")], scope=scope)
    scoped = [c.command for c in await bot.get_my_commands(scope=scope)]
    assert (scoped, await bot.get_my_commands()) == (["start"], ())


async def test_delete_my_commands_empties_the_scope(bot: Bot) -> None:
    """deleteMyCommands removes the list."""
    await bot.set_my_commands([BotCommand("help", "Help")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


@pytest.mark.parametrize(
    ("commands", "description"),
    [
        ([("Start", "x")], "Bad Request: BOT_COMMAND_INVALID"),
        ([("a" * 33, "x")], "Bad Request: command length must not exceed 32"),
        ([("a", "")], "Bad Request: command description must be non-empty"),
        ([("a", "d" * 257)], "Bad Request: command description length must not exceed 256"),
        ([(f"c{i}", "x") for i in range(101)], "Bad Request: BOT_COMMANDS_TOO_MUCH"),
    ],
)
async def test_invalid_commands_are_rejected(
    api: FakeBotApi, bot: Bot, commands: list[tuple[str, str]], description: str
) -> None:
    """setMyCommands validates names, lengths and count with the server's texts."""
    with pytest.raises(BadRequest):
        await bot.set_my_commands(commands)
    assert _last_description(api, "setMyCommands") == description


async def test_descriptions_are_accepted(bot: Bot) -> None:
    """setMyDescription and setMyShortDescription succeed and read back."""
    await bot.set_my_description("Long text")
    await bot.set_my_short_description("Short")
    got = (await bot.get_my_description()).description
    assert (got, (await bot.get_my_short_description()).short_description) == (
        "Long text",
        "Short",
    )


# ---------------------------------------------------------------- rate limits


async def test_fourth_message_in_a_second_to_one_chat_is_429(api: FakeBotApi, bot: Bot) -> None:
    """Three messages in one second to a chat pass; the fourth gets RetryAfter(1)."""
    for i in range(3):
        await bot.send_message(USER, str(i))
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "3")
    assert (_seconds(caught.value.retry_after), api.stats.too_many_requests) == (1.0, 1)


async def test_chat_limit_recovers_after_a_second(
    api: FakeBotApi, bot: Bot, clock: FakeClock
) -> None:
    """After the clock moves a second the chat may send again."""
    for i in range(3):
        await bot.send_message(USER, str(i))
    clock.advance(seconds=1)
    assert (await bot.send_message(USER, "later")).text == "later"


async def test_31st_message_in_a_second_is_429(api: FakeBotApi, bot: Bot) -> None:
    """30 messages per second overall pass; the 31st gets RetryAfter."""
    for chat in range(1, 31):
        await bot.send_message(chat, "x")
    with pytest.raises(RetryAfter):
        await bot.send_message(31, "x")
    assert api.stats.sent_messages == 30


async def test_paid_broadcast_uses_the_1000_per_second_limit(api: FakeBotApi, bot: Bot) -> None:
    """With allow_paid_broadcast, 40 messages in one second pass."""
    for chat in range(1, 41):
        await bot.send_message(chat, "x", allow_paid_broadcast=True)
    assert (api.stats.sent_messages, api.stats.too_many_requests) == (40, 0)


async def test_21st_message_in_a_minute_to_a_group_is_429(
    api: FakeBotApi, bot: Bot, clock: FakeClock
) -> None:
    """20 messages a minute to a group pass; the 21st waits for the window to slide."""
    for i in range(20):
        await bot.send_message(GROUP, str(i))
        clock.advance(seconds=1)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(GROUP, "too many")
    assert _seconds(caught.value.retry_after) == 40.0


async def test_limits_can_be_switched_off(api: FakeBotApi, bot: Bot) -> None:
    """With limits off, ten messages in the same second to one chat pass."""
    api.set_limits(False)
    for i in range(10):
        await bot.send_message(USER, str(i))
    assert api.sent_per_chat() == {USER: 10}


# ---------------------------------------------------------------- failure injection


async def test_fail_next_500_then_recovers(api: FakeBotApi, bot: Bot) -> None:
    """fail_next makes one call fail with NetworkError; the next one succeeds."""
    api.fail_next("sendMessage", 500)
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(USER, "x")
    second = await bot.send_message(USER, "x")
    assert (caught.value.message, second.text, api.stats.server_errors) == (
        "Internal Server Error",
        "x",
        1,
    )


async def test_fail_next_502_is_network_error(api: FakeBotApi, bot: Bot) -> None:
    """A 502 reaches PTB as NetworkError (not BadRequest)."""
    api.fail_next("sendMessage", 502)
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(USER, "x")
    assert (type(caught.value), caught.value.message) == (NetworkError, "Bad Gateway")


async def test_flood_window_gives_retry_after_until_it_ends(
    api: FakeBotApi, bot: Bot, clock: FakeClock
) -> None:
    """flood(5) answers sends with RetryAfter(5) until the clock passes the window."""
    api.flood(5)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "x")
    clock.advance(seconds=5)
    assert (_seconds(caught.value.retry_after), (await bot.send_message(USER, "y")).text) == (
        5.0,
        "y",
    )


async def test_fail_next_hold_times_out_once(api: FakeBotApi) -> None:
    """fail_next(hold=True) holds one request until the client gives up."""
    api.fail_next("sendMessage", hold=True)
    async with Bot(api.token, base_url=api.base_url, request=_request(read_timeout=0.1)) as client:
        with pytest.raises(TimedOut):
            await client.send_message(USER, "x")
        assert (await client.send_message(USER, "y")).text == "y"


async def test_fail_next_any_method_with_429(api: FakeBotApi, bot: Bot) -> None:
    """fail_next("*", 429, retry_after=3) gives RetryAfter(3) on the next call of any method."""
    api.fail_next("*", 429, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.get_chat(USER)
    assert _seconds(caught.value.retry_after) == 3.0


async def test_chaos_is_reproducible_with_a_seed(http: aiohttp.ClientSession) -> None:
    """The same seed gives the same sequence of 200, 500 and 502 answers."""
    runs = []
    for _ in range(2):
        async with FakeBotApi(limits=False) as server:
            server.chaos(rate_5xx=0.5, seed=42)
            url = f"{server.base_url}{server.token}/sendMessage"
            data = {"chat_id": "5", "text": "x"}
            runs.append([(await _raw(http, url, data=data))[0] for _ in range(20)])
    assert set(runs[0]) == {200, 500, 502}
    assert runs[1] == runs[0]


async def test_chaos_timeout_makes_ptb_time_out(api: FakeBotApi) -> None:
    """A held request ends in TimedOut and the server lets go when the client leaves."""
    api.chaos(rate_timeout=1.0)
    async with Bot(api.token, base_url=api.base_url, request=_request(read_timeout=0.2)) as client:
        with pytest.raises(TimedOut):
            await client.send_message(USER, "x")
    await api.wait_until(lambda: api.held_requests == 0, what="held requests to end")
    assert (api.messages(USER), api.stats.timeouts) == ([], 1)


async def test_chaos_timeout_after_delivery_delivers(api: FakeBotApi) -> None:
    """deliver_on_timeout performs the send although the client times out."""
    api.chaos(rate_timeout=1.0, deliver_on_timeout=True)
    async with Bot(api.token, base_url=api.base_url, request=_request(read_timeout=0.2)) as client:
        with pytest.raises(TimedOut):
            await client.send_message(USER, "x")
    assert [m.text for m in api.messages(USER)] == ["x"]


# ---------------------------------------------------------------- observation


async def test_wait_for_message_wakes_on_send(api: FakeBotApi, bot: Bot) -> None:
    """wait_for_message returns once the matching message is sent."""
    waiter = asyncio.create_task(api.wait_for_message(USER, lambda m: m.text == "b"))
    await bot.send_message(USER, "a")
    await bot.send_message(USER, "b")
    assert (await waiter).text == "b"


async def test_wait_for_message_times_out(api: FakeBotApi) -> None:
    """wait_for_message raises TimeoutError when nothing comes."""
    with pytest.raises(TimeoutError):
        await api.wait_for_message(USER, timeout=0.05)


async def test_wait_for_requests_counts_calls(api: FakeBotApi, bot: Bot) -> None:
    """wait_for_requests returns the logged requests once enough arrived."""
    waiter = asyncio.create_task(api.wait_for_requests("sendMessage", 2))
    await bot.send_message(USER, "a")
    await bot.send_message(USER + 1, "b")
    assert [r.params["chat_id"] for r in await waiter] == [USER, USER + 1]


async def test_wait_for_sent_counts_all_chats(api: FakeBotApi, bot: Bot) -> None:
    """wait_for_sent returns once the total number of sent messages is reached."""
    waiter = asyncio.create_task(api.wait_for_sent(2))
    await bot.send_message(USER, "a")
    await bot.send_message(USER + 1, "b")
    assert await waiter == 2


async def test_messages_include_deleted_on_request(api: FakeBotApi, bot: Bot) -> None:
    """Deleted messages are hidden unless include_deleted is set."""
    sent = await bot.send_message(USER, "x")
    await bot.delete_message(USER, sent.message_id)
    assert [m.deleted for m in api.messages(USER, include_deleted=True)] == [True]


async def test_request_log_records_failures(api: FakeBotApi, bot: Bot) -> None:
    """The request log has the status and description of every answer."""
    api.block(USER)
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "x")
    record = api.requests("sendMessage")[-1]
    assert (record.status, record.description, record.ok) == (
        403,
        "Forbidden: bot was blocked by the user",
        False,
    )


# ---------------------------------------------------------------- control API and CLI


async def test_control_api_blocks_a_chat(
    api: FakeBotApi, bot: Bot, http: aiohttp.ClientSession
) -> None:
    """POST /__control/block has the same effect as api.block()."""
    await _raw(http, f"{api.control_url}/block", json={"chat_id": USER})
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "x")


async def test_control_api_reports_stats(
    api: FakeBotApi, bot: Bot, http: aiohttp.ClientSession
) -> None:
    """GET /__control/stats returns the counters as JSON."""
    await bot.send_message(USER, "x")
    _, body, _ = await _raw(http, f"{api.control_url}/stats", "GET")
    stats = body["result"]
    assert (stats["sent_messages"], stats["too_many_requests"], stats["sent_per_chat"]) == (
        1,
        0,
        {str(USER): 1},
    )


async def test_control_api_injects_updates(
    api: FakeBotApi, bot: Bot, http: aiohttp.ClientSession
) -> None:
    """POST /__control/send_text queues an update for getUpdates."""
    await _raw(http, f"{api.control_url}/send_text", json={"user_id": USER, "text": "/help"})
    [update] = await bot.get_updates()
    assert _some(update.message).text == "/help"


async def test_control_api_unknown_name_is_404(
    api: FakeBotApi, http: aiohttp.ClientSession
) -> None:
    """An unknown control name is a 404."""
    status, _, _ = await _raw(http, f"{api.control_url}/nope")
    assert status == 404


async def test_standalone_server_prints_its_base_url(http: aiohttp.ClientSession) -> None:
    """`python -m tests.fakes.botapi` prints a base URL that serves getMe."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.botapi",
        "--port",
        "0",
        "--no-limits",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        base_url = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        _, body, _ = await _raw(http, f"{base_url}123456:TEST-fake-token/getMe")
    finally:
        process.terminate()
        await process.wait()
    assert (base_url.endswith("/bot"), body["result"]["username"]) == (True, "campaign_test_bot")


# ---------------------------------------------------------------- inline mode


def _article(
    result_id: str = "r1", text: str = "<b>hi</b>", **kwargs: Any
) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        result_id,
        kwargs.pop("title", "Title"),
        InputTextMessageContent(text, parse_mode="HTML"),
        **kwargs,
    )


async def test_inline_mode_is_off_unless_asked(api: FakeBotApi, bot: Bot) -> None:
    """A new bot has no inline mode: getMe says so and no inline query can be sent to it."""
    me = await bot.get_me()
    with pytest.raises(RuntimeError, match="inline mode is off"):
        api.inline_query(USER, "x")
    assert me.supports_inline_queries is False


async def test_answer_inline_query_is_recorded_parsed(api: FakeBotApi, bot: Bot) -> None:
    """The answer's results are kept with their message text parsed as Telegram does."""
    api.inline_mode = True
    query_id = api.inline_query(USER, "words", offset="2")
    update = (await bot.get_updates())[-1]
    await bot.answer_inline_query(query_id, [_article()], cache_time=30, next_offset="3")
    answer = _some(api.inline_answer(query_id))
    inline = _some(update.inline_query)
    assert (
        (inline.query, inline.offset, inline.chat_type),
        answer["cache_time"],
        answer["next_offset"],
        answer["results"][0]["input_message_content"],
    ) == (
        ("words", "2", "sender"),
        30,
        "3",
        {"text": "hi", "entities": [{"type": "bold", "offset": 0, "length": 2}]},
    )


@pytest.mark.parametrize(
    ("results", "description"),
    [
        ([_article("same"), _article("same")], "Bad Request: RESULT_ID_DUPLICATE"),
        ([_article("x" * 65)], "Bad Request: RESULT_ID_INVALID"),
        ([_article(str(n)) for n in range(51)], "Bad Request: RESULTS_TOO_MUCH"),
        ([_article(title=" ")], "Bad Request: ARTICLE_TITLE_EMPTY"),
        ([_article(text="<b>open")], "Bad Request: can't parse entities"),
    ],
    ids=["duplicate-id", "long-id", "too-many", "empty-title", "bad-html"],
)
async def test_answer_inline_query_refuses_what_telegram_refuses(
    api: FakeBotApi, bot: Bot, results: list[Any], description: str
) -> None:
    """Bad results are refused with Telegram's error, and the query stays unanswered."""
    api.inline_mode = True
    query_id = api.inline_query(USER, "q")
    with pytest.raises(BadRequest):
        await bot.answer_inline_query(query_id, results)
    assert (
        _some(_last_description(api, "answerInlineQuery")).startswith(description),
        api.inline_answer(query_id),
    ) == (True, None)


async def test_inline_query_is_answered_once(api: FakeBotApi, bot: Bot) -> None:
    """A second answer, or an answer to an unknown query, is "query is too old"."""
    api.inline_mode = True
    query_id = api.inline_query(USER, "q")
    await bot.answer_inline_query(query_id, [_article()])
    for target in (query_id, "42"):
        with pytest.raises(BadRequest):
            await bot.answer_inline_query(target, [_article()])
    assert _last_description(api, "answerInlineQuery") == QUERY_TOO_OLD


async def test_chosen_inline_result_names_an_offered_result(api: FakeBotApi, bot: Bot) -> None:
    """A user can choose only a result the bot offered; the update carries id and query."""
    api.inline_mode = True
    query_id = api.inline_query(USER, "q")
    await bot.answer_inline_query(query_id, [_article("r1")])
    with pytest.raises(LookupError):
        api.choose_inline_result(USER, query_id, "r2")
    api.choose_inline_result(USER, query_id, "r1")
    chosen = _some((await bot.get_updates())[-1].chosen_inline_result)
    assert (chosen.result_id, chosen.query, chosen.from_user.id) == ("r1", "q", USER)


async def test_switch_inline_chosen_chat_button_needs_an_allowed_chat(
    api: FakeBotApi, bot: Bot
) -> None:
    """A chosen-chat button that allows no kind of chat is refused; one that does is kept."""

    def markup(**allowed: bool) -> InlineKeyboardMarkup:
        chosen = SwitchInlineQueryChosenChat(query="q", **allowed)
        button = InlineKeyboardButton("Share", switch_inline_query_chosen_chat=chosen)
        return InlineKeyboardMarkup([[button]])

    with pytest.raises(BadRequest):
        await bot.send_message(USER, "x", reply_markup=markup())
    sent = await bot.send_message(USER, "x", reply_markup=markup(allow_group_chats=True))
    button = _some(sent.reply_markup).inline_keyboard[0][0]
    assert _some(button.switch_inline_query_chosen_chat).allow_group_chats is True


# -- documents ------------------------------------------------------------------------------


async def test_user_document_is_downloaded_through_get_file(api: FakeBotApi) -> None:
    """getFile gives a file_path; /file/bot<token>/<path> serves the bytes a user sent."""
    update = api.send_document(USER, b"<opml/>", "feeds.opml", mime_type="text/x-opml")
    document = update["message"]["document"]
    file_url = api.base_url.removesuffix("/bot") + "/file/bot"
    async with Bot(
        api.token, base_url=api.base_url, base_file_url=file_url, request=_request()
    ) as client:
        telegram_file = await client.get_file(document["file_id"])
        content = bytes(await telegram_file.download_as_bytearray())
        with pytest.raises(BadRequest, match="rong file_id or the file"):
            await client.get_file("no-such-file")
    assert (document["file_name"], document["mime_type"], content) == (
        "feeds.opml",
        "text/x-opml",
        b"<opml/>",
    )


async def test_send_document_upload_is_kept(api: FakeBotApi, bot: Bot) -> None:
    """An uploaded document arrives with its name, caption and bytes; empty ones are refused."""
    message = await bot.send_document(
        USER, b"hello", filename="a.opml", caption="<i>two</i>", parse_mode="HTML"
    )
    with pytest.raises(BadRequest):
        await bot.send_document(USER, b"", filename="empty.opml")
    assert message.document is not None
    stored = api.messages(USER)[-1]
    assert (
        message.document.file_name,
        message.caption,
        api.document_content(message.document.file_id),
        stored.document == message.document.to_dict(),
    ) == ("a.opml", "two", b"hello", True)


async def test_get_file_refuses_files_over_20_mb(api: FakeBotApi, bot: Bot) -> None:
    """The download limit of the official server."""
    update = api.send_document(USER, b"x" * (20 * 1024 * 1024 + 1), "big.opml")
    with pytest.raises(BadRequest, match="ile is too big"):
        await bot.get_file(update["message"]["document"]["file_id"])


# -- channels -------------------------------------------------------------------------------------

CHANNEL = -1001234567890


async def test_channel_by_username_and_the_bots_posting_right(api: FakeBotApi, bot: Bot) -> None:
    """getChat by @username gives a channel; getChatMember of the bot its can_post_messages."""
    api.add_channel(CHANNEL, "Org News", "orgnews")
    chat = await bot.get_chat("@OrgNews")
    member = await bot.get_chat_member(CHANNEL, api.bot_id)
    api.set_member_status(CHANNEL, api.bot_id, "administrator", can_post_messages=False)
    demoted = await bot.get_chat_member(CHANNEL, api.bot_id)
    assert (
        (chat.id, chat.type, chat.title, chat.username),
        (member.status, getattr(member, "can_post_messages", None)),
        getattr(demoted, "can_post_messages", None),
    ) == ((CHANNEL, "channel", "Org News", "orgnews"), ("administrator", True), False)


async def test_channel_refuses_posts_without_the_right_and_inline_buttons(
    api: FakeBotApi, bot: Bot
) -> None:
    """Without can_post_messages a send is refused; an inline-mode button always is."""
    api.add_channel(CHANNEL, "Org News", "orgnews", can_post_messages=False)
    with pytest.raises(BadRequest) as no_right:
        await bot.send_message(CHANNEL, "x")
    api.set_member_status(CHANNEL, api.bot_id, "administrator")
    share = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "Share",
                    switch_inline_query_chosen_chat=SwitchInlineQueryChosenChat(
                        "q", allow_user_chats=True
                    ),
                )
            ]
        ]
    )
    with pytest.raises(BadRequest) as inline:
        await bot.send_message(CHANNEL, "x", reply_markup=share)
    link = InlineKeyboardMarkup([[InlineKeyboardButton("Read", url="https://example.org")]])
    sent = await bot.send_message(CHANNEL, "x", reply_markup=link)
    assert (no_right.value.message, inline.value.message, sent.chat.type) == (
        "Need administrator rights in the channel chat",
        "Button_type_invalid",
        "channel",
    )


async def test_my_chat_member_for_a_channel_names_who_and_the_right(
    api: FakeBotApi, bot: Bot
) -> None:
    """A channel's my_chat_member update comes from the given user with can_post_messages."""
    api.declare_chat(CHANNEL, "channel", title="Org News", username="orgnews")
    api.my_chat_member(
        CHANNEL, 42, "administrator", "administrator", chat_type="channel", can_post_messages=False
    )
    updates = await bot.get_updates()
    change = updates[-1].my_chat_member
    assert change is not None
    with pytest.raises(BadRequest):
        await bot.send_message(CHANNEL, "x")
    assert (
        change.chat.type,
        change.from_user.id,
        getattr(change.old_chat_member, "can_post_messages", None),
        getattr(change.new_chat_member, "can_post_messages", None),
    ) == ("channel", 42, True, False)
