"""A fake Telegram Bot API server for tests and benchmarks (aiohttp, on 127.0.0.1).

The real python-telegram-bot `Bot`/`Application` talks to it over HTTP through `base_url`
(our TELEGRAM_API_URL), so request encoding and PTB's error mapping are exercised for real.

What it reproduces (from the official server's source, tdlib/telegram-bot-api at Bot API 10.0,
its HTML parser in tdlib/td, the Bot API documentation and python-telegram-bot 22.8):
- routing `/bot<token>/<method>` (GET or POST, case-insensitive method names), the 401/404
  answers for bad tokens and unknown methods, query string, form-urlencoded, JSON and
  multipart bodies, and the `{"ok": ..., "result"/"error_code"/"description"/"parameters"}`
  envelope with HTTP status = error_code and a `Retry-After` header on 429;
- parameter names and required parameters checked against the Bot API 10.0 spec
  (`tests/data/telegram/api.min.json`, see the README there);
- getMe, (set|delete)Webhook, getWebhookInfo, getUpdates (offset confirmation, clamps, real
  long polling, 409 conflicts), webhook delivery (see below), (set|get|delete)MyCommands,
  sendMessage, sendPhoto, sendDocument, editMessageText/Caption/ReplyMarkup, deleteMessage,
  answerCallbackQuery, sendChatAction, getChat, getChatMember, (set|get)MyDescription,
  (set|get)MyShortDescription, setMyName;
- inline mode (`inline_mode=True`, off by default as for a new bot): getMe's
  supports_inline_queries, inline_query and chosen_inline_result updates from tests, and
  answerInlineQuery with its results checked against the spec's InlineQueryResult types
  (known fields, required fields, 1-64-byte unique ids, at most 50, message texts through the
  HTML parser, inline keyboards, next_offset <= 64 bytes); the switch_inline_query_chosen_chat
  button's object is checked against SwitchInlineQueryChosenChat;
- TDLib's HTML parser and text finishing (`botapi_html`), the 32768-byte / 4096 / 1024 /
  64-byte / 200 / 32 / 256 / 100 limits and the exact error descriptions for them, blocked,
  deactivated, kicked, unknown and migrated chats, groups that forbid the bot text or photos,
  identical edits and stale callback queries;
- channels (`add_channel`): getChat by id or @username, getChatMember of the bot with a
  channel administrator's `can_post_messages`, sends refused without that right, inline-mode
  buttons refused under channel posts, and my_chat_member updates for a channel from a
  given user (`my_chat_member(..., chat_type="channel", can_post_messages=...)`);
- paid broadcasts: a test switch (`set_stars_balance`) makes sends with allow_paid_broadcast
  fail with `400 Bad Request: BALANCE_TOO_LOW` once the balance is spent;
- flood control: 30 sends/s overall (1000/s with allow_paid_broadcast), 1/s per chat with a
  burst of 3 (a token bucket), 20/min per group, on an injectable monotonic clock.
  Only sendMessage/sendPhoto count; a send that passed validation counts even if it then
  fails with 403 (it reached Telegram).

- webhooks: while a webhook is set, getUpdates answers 409 and pending updates are POSTed to
  its URL as JSON with `X-Telegram-Bot-Api-Secret-Token` (when a secret_token was given), as
  Telegram's WebhookActor does: up to `max_connections` requests at once, one at a time per
  chat (a chat's next update waits until its previous one is acknowledged), an update
  confirmed only by a 2xx answer and otherwise sent again after a growing delay, with
  getWebhookInfo's pending_update_count, last_error_date and last_error_message; setWebhook
  checks secret_token (1-256 characters of A-Z a-z 0-9 _ -) and clamps max_connections to 1-100.
  `webhook_deliveries` logs every POST (when it started and when it was answered).

- documents: a user sends one (`send_document`), the bot asks getFile (20 MB download limit,
  `Bad Request: file is too big`) and downloads it from `/file/bot<token>/<file_path>`;
  sendDocument takes an upload or a known file_id, and `document_content` gives a test the
  bytes of any document the server holds;

What it does not reproduce: Markdown parse modes (answered with a loud 400), automatic
url/mention/hashtag entities in sent messages, HTTPS and the webhook's port and certificate
rules (plain http to any port is accepted), the 1-per-second setWebhook limit, inline messages,
files other than documents and photos (photos cannot be downloaded), link previews, privacy mode in
groups, `bot can't initiate conversation with a user` (every private chat counts as started),
edit and answer rate limits, the server's own throttles (getUpdates 3-second rules, delayed
409s, 310 queued messages per chat, upload pacing), most methods beyond those listed (a
spec-known but unimplemented method answers a 400 that says so). Where the real server would
ignore an unknown parameter, this one rejects it (`strict_params=True`) so that typos fail
tests; the description `unknown parameter "x"` is the fake's own. Descriptions not found in the
official server's source (e.g. `there is no caption in the message to edit`,
`BOT_COMMANDS_TOO_MUCH`) are best guesses.

Tests drive it in-process (`async with FakeBotApi() as api:`, plain methods to inject updates
and failures, async `wait_for_*` helpers that wake on events, no sleeping); benchmarks run
`python -m tests.fakes.botapi --port 8081` and use the JSON control API under `/__control/`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import inspect
import json
import math
import random
import re
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any, Self, TypeVar

from aiohttp import BodyPartReader, ClientError, ClientSession, ClientTimeout, web

from tests.fakes.botapi_html import EmptyTextError, HtmlParseError, fix_text, parse_html, utf16_len

__all__ = [
    "DEFAULT_TOKEN",
    "NOT_MODIFIED",
    "QUERY_TOO_OLD",
    "BotMessage",
    "FakeBotApi",
    "FakeStats",
    "RateLimits",
    "RequestRecord",
    "UploadedFile",
    "WebhookDelivery",
    "main",
]

JSONDict = dict[str, Any]
T = TypeVar("T")

DEFAULT_TOKEN = "123456:TEST-fake-token"  # noqa: S105 - obviously fake, for a local fake
DEFAULT_BOT_USERNAME = "campaign_test_bot"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
SEND_METHODS = frozenset({"sendMessage", "sendPhoto"})
# getFile refuses files over 20 MB ("Bad Request: file is too big").
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# What Telegram answers (after "Bad Request: ") when it cannot use a photo given by URL.
PHOTO_URL_REFUSED = "wrong file identifier/HTTP URL specified"
PHOTO_URL_FAILED = "failed to get HTTP URL content"
PHOTO_URL_NOT_IMAGE = "wrong type of the web page content"
CHAOS_DEFAULT_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "deleteMessage",
        "answerCallbackQuery",
        "sendChatAction",
        "getChat",
        "getChatMember",
    }
)
# Updates a bot gets when it never named allowed_updates (Bot API docs, getUpdates).
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "guest_message",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
        "managed_bot",
    }
)
_BUTTON_TYPES = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
# Inline-mode buttons, which Telegram refuses in channels.
_SWITCH_INLINE = frozenset(
    {"switch_inline_query", "switch_inline_query_current_chat", "switch_inline_query_chosen_chat"}
)
_MEMBER_STATUSES = frozenset(
    {"creator", "administrator", "member", "restricted", "left", "kicked"}
)
# The server's own texts for a missing required parameter, where it has one.
_MISSING_PARAMETER = {
    "chat_id": "chat_id is empty",
    "text": "message text is empty",
    "photo": "there is no photo in the request",
    "user_id": "invalid user_id specified",
    "message_id": "message identifier is not specified",
}
_JSON_PARSE_ERRORS = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "link_preview_options": "can't parse link preview options JSON object",
    "reply_parameters": "can't parse reply parameters JSON object",
}


# ----------------------------------------------------------------------------- data types


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    content_type: str | None = None


@dataclass
class RateLimits:
    """Flood-control settings; `enabled=False` switches all of them off."""

    enabled: bool = True
    overall_per_second: int = 30
    paid_per_second: int = 1000
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    group_per_minute: int = 20


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server answered it; status 0 means no answer was sent."""

    seq: int
    method: str
    params: JSONDict
    status: int
    description: str | None
    result: Any
    parameters: JSONDict | None
    time: float

    @property
    def ok(self) -> bool:
        """Whether the request succeeded."""
        return self.status == 200


@dataclass
class BotMessage:
    """The current state of one message in a chat, as a test sees it."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool = True
    text: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JSONDict] = field(default_factory=list)
    photo: list[JSONDict] | None = None
    document: JSONDict | None = None
    reply_markup: JSONDict | None = None
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    edits: int = 0
    history: list[JSONDict] = field(default_factory=list)
    deleted: bool = False
    sender: JSONDict | None = None

    @property
    def buttons(self) -> list[list[JSONDict]]:
        """The inline keyboard rows, or an empty list."""
        if self.reply_markup is None:
            return []
        return [list(row) for row in self.reply_markup.get("inline_keyboard", [])]

    def content(self) -> JSONDict:
        """The editable part of the message, as compared by the edit methods."""
        return {
            "text": self.text,
            "entities": self.entities,
            "caption": self.caption,
            "caption_entities": self.caption_entities,
            "reply_markup": self.reply_markup,
        }


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an update to the webhook; status 0 means no HTTP answer (`error` says why)."""

    update_id: int
    url: str
    status: int
    error: str | None
    started: float
    answered: float

    @property
    def ok(self) -> bool:
        """Whether the webhook acknowledged the update (any 2xx)."""
        return 200 <= self.status < 300


@dataclass(frozen=True)
class FakeStats:
    """Counters since the server started (or since `reset()`)."""

    requests: int
    sent_messages: int
    too_many_requests: int
    rate_limited: int
    server_errors: int
    timeouts: int
    sent_per_chat: dict[int, int]
    paid_messages: int = 0  # sends with allow_paid_broadcast that were accepted


class ApiError(Exception):
    """An error answer: HTTP status, full description and optional ResponseParameters."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad_request(text: str) -> ApiError:
    return ApiError(400, f"Bad Request: {text}")


def _too_many(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


@dataclass(frozen=True)
class _Described:
    result: Any
    description: str


@dataclass
class _Chat:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    blocked: bool = False
    deactivated: bool = False
    bot_status: str = "member"
    bot_can_send_messages: bool = True  # a group's permissions for the bot (restrict_bot)
    bot_can_send_photos: bool = True
    bot_can_post: bool = True  # a channel administrator's can_post_messages
    migrated_to: int | None = None
    members: dict[int, str] = field(default_factory=dict)
    messages: dict[int, BotMessage] = field(default_factory=dict)
    last_message_id: int = 0

    def to_api(self) -> JSONDict:
        result: JSONDict = {"id": self.id, "type": self.type}
        if self.type == "private":
            result["first_name"] = self.first_name or f"User {self.id}"
            if self.last_name:
                result["last_name"] = self.last_name
        else:
            result["title"] = self.title or f"Chat {self.id}"
        if self.username:
            result["username"] = self.username
        return result


@dataclass
class _CallbackQuery:
    id: str
    created: float
    answered: bool = False
    answer: JSONDict | None = None


@dataclass
class _InlineQuery:
    id: str
    created: float
    user_id: int
    query: str
    answered: bool = False
    answer: JSONDict | None = None


@dataclass
class _Failure:
    status: int
    description: str
    parameters: JSONDict | None
    hold: bool
    remaining: int


@dataclass
class _Chaos:
    rate_5xx: float
    rate_timeout: float
    rate_429: float
    retry_after: int
    methods: frozenset[str] | None
    deliver_on_timeout: bool
    rng: random.Random


class _Window:
    """At most `limit` events in any `period` seconds (a sliding window)."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        while self.times and self.times[0] <= now - self.period:
            self.times.popleft()
        if len(self.times) < self.limit:
            return 0.0
        return self.times[len(self.times) - self.limit] + self.period - now

    def add(self, now: float) -> None:
        self.times.append(now)


class _Bucket:
    """A token bucket: `rate` tokens per second, at most `capacity` saved up."""

    def __init__(self, capacity: int, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = float(capacity)
        self.last = now

    def wait(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


# ----------------------------------------------------------------------------- the spec


@dataclass(frozen=True)
class _Param:
    types: tuple[str, ...]
    required: bool


# The Bot API 10.0 spec, kept in the repository (its README names the source and licence).
SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "telegram" / "api.min.json"


@cache
def _load_spec(path: Path) -> dict[str, tuple[str, dict[str, _Param]]]:
    """Map lower-cased method name -> (real name, parameters); a missing file is an error."""
    data = json.loads(path.read_text(encoding="utf-8"))
    methods: dict[str, tuple[str, dict[str, _Param]]] = {}
    for name, method in data.get("methods", {}).items():
        params = {
            f["name"]: _Param(tuple(f.get("types", ())), bool(f.get("required")))
            for f in method.get("fields", [])
        }
        methods[name.lower()] = (name, params)
    return methods


@cache
def _load_types(path: Path) -> dict[str, dict[str, _Param]]:
    """Map type name -> its fields (name -> _Param), from the same spec file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {
        name: {
            f["name"]: _Param(tuple(f.get("types", ())), bool(f.get("required")))
            for f in kind.get("fields", [])
        }
        for name, kind in data.get("types", {}).items()
    }


@cache
def _inline_result_types(path: Path) -> dict[str, list[str]]:
    """Map an InlineQueryResult's `type` value ("article") -> the spec types that use it."""
    data = json.loads(path.read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {}
    for name, kind in data.get("types", {}).items():
        if "InlineQueryResult" not in kind.get("subtype_of", []):
            continue
        for f in kind.get("fields", []):
            described = f.get("description", "")
            words = described if isinstance(described, str) else " ".join(described)
            match = re.search(r"must be (\w+)", words) if f["name"] == "type" else None
            if match:
                found.setdefault(match.group(1), []).append(name)
    return found


def _check_object(value: Any, fields: dict[str, _Param], what: str, *, strict: bool) -> None:
    """An object parameter: a JSON object with the spec's required fields and no others."""
    if not isinstance(value, dict):
        raise _bad_request(f"can't parse {what} JSON object")
    for name in value:
        if name not in fields and strict:
            raise _bad_request(f'unknown field "{name}" in {what}')
    for name, param in fields.items():
        if param.required and value.get(name) is None:
            raise _bad_request(f'field "{name}" must be specified in {what}')


def _check_chosen_chat(chosen: Any) -> None:
    """A switch_inline_query_chosen_chat button's object (SwitchInlineQueryChosenChat).

    TDLib refuses one that allows no kind of chat; the wording is the fake's.
    """
    fields = _load_types(SPEC_PATH).get("SwitchInlineQueryChosenChat", {})
    _check_object(chosen, fields, "SwitchInlineQueryChosenChat", strict=True)
    if not isinstance(chosen.get("query", ""), str):
        raise _bad_request('field "query" must be of type String')
    allowed = ("allow_user_chats", "allow_bot_chats", "allow_group_chats", "allow_channel_chats")
    if not any(chosen.get(name) is True for name in allowed):
        raise _bad_request("at least one chat type must be allowed")


def _valid_token(token: str) -> bool:
    """Check the token format as the official server's ClientManager does."""
    if not token or token[0] == "0" or len(token) > 80 or "/" in token or ":" not in token:
        return False
    bot_id = token.split(":", 1)[0]
    return bot_id.isascii() and bot_id.isdigit() and 0 < int(bot_id) < 2**54


def _leading_int(value: str) -> int:
    match = re.match(r"\s*([+-]?\d+)", value)
    return int(match.group(1)) if match else 0


def _coerce(name: str, value: Any, types: tuple[str, ...]) -> Any:
    """Turn a form/query string into the value its Bot API type implies."""
    if not isinstance(value, str) or not types:
        return value
    if "String" in types and not ({"Integer", "Float"} & set(types)):
        return value
    if "Integer" in types:
        if re.fullmatch(r"\s*[+-]?\d+\s*", value):
            return int(value)
        return value if "String" in types else _leading_int(value)
    if "Boolean" in types:
        return value.strip().lower() in ("true", "1", "yes")
    if "Float" in types:
        try:
            return float(value)
        except ValueError:
            return 0.0
    try:
        return json.loads(value)
    except ValueError:
        raise _bad_request(
            _JSON_PARSE_ERRORS.get(name, f"can't parse {name} JSON object")
        ) from None


def _clamp(value: Any, low: int, high: int, default: int) -> int:
    if value is None or value == "":
        return default
    number = value if isinstance(value, int) else _leading_int(str(value))
    return max(low, min(high, number))


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return {"size": len(value)}
    return value


def _response(status: int, body: JSONDict, retry_after: int | None = None) -> web.Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        content_type="application/json",
        headers=headers,
    )


def _error_body(error: ApiError) -> JSONDict:
    body: JSONDict = {"ok": False, "error_code": error.status, "description": error.description}
    if error.parameters:
        body["parameters"] = error.parameters
    return body


def _chat_type_for(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= -(10**12) else "group"


def _command_entities(text: str) -> list[JSONDict]:
    """Find bot commands as TDLib's `match_bot_commands` does (offsets in UTF-16 units)."""
    pattern = r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])"
    return [
        {
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group()),
            "type": "bot_command",
        }
        for match in re.finditer(pattern, text)
    ]


# ----------------------------------------------------------------------------- the server


class FakeBotApi:
    """A fake Bot API server. Use `async with FakeBotApi() as api:` and `api.base_url`.

    Every new control or observation method should get a test in tests/test_fake_botapi.py
    and, when benchmarks need it, an entry in `_controls()`.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: bool | RateLimits = True,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        accept_unknown_chats: bool = True,
        strict_params: bool = True,
        spec_path: Path | None = None,
        bot_first_name: str = "Campaign Test Bot",
        bot_username: str = DEFAULT_BOT_USERNAME,
        callback_query_ttl: float | None = None,
        inline_mode: bool = False,
        webhook_retry_seconds: float = 0.1,
        webhook_timeout: float = 10.0,
    ) -> None:
        """Configure the server; nothing listens until `start()`.

        Args:
            token: The only token accepted (others get 401 `Unauthorized`).
            host: Interface to listen on.
            port: TCP port; 0 picks a free one.
            limits: Flood control on/off, or detailed `RateLimits`.
            clock: Monotonic seconds for rate limits, flood windows and the request log.
            wall_clock: Unix time for message dates.
            accept_unknown_chats: Treat never-seen chat ids as existing (see `forget`).
            strict_params: Reject parameter names the Bot API does not define.
            spec_path: The api.min.json to validate against (default: `SPEC_PATH`).
            bot_first_name: The bot's first name in getMe.
            bot_username: The bot's username in getMe.
            callback_query_ttl: Seconds after which an unanswered callback query expires.
            inline_mode: The bot has inline mode on (@BotFather /setinline): getMe says so and
                tests may send inline queries.
            webhook_retry_seconds: Delay before an update the webhook did not acknowledge is
                sent again; it doubles with each failure, up to 20 times this.
            webhook_timeout: Seconds a webhook has to answer a POST.
        """
        if not _valid_token(token):
            raise ValueError(f"malformed token {token!r}")
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSONDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.host = host
        self.port = port
        self.limits = limits if isinstance(limits, RateLimits) else RateLimits(enabled=limits)
        self.clock = clock
        self.wall_clock = wall_clock
        self.accept_unknown_chats = accept_unknown_chats
        self.strict_params = strict_params
        self.callback_query_ttl = callback_query_ttl
        self.inline_mode = inline_mode
        self.webhook_retry_seconds = webhook_retry_seconds
        self.webhook_timeout = webhook_timeout
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_session: Any = None  # aiohttp.ClientSession while started
        self._spec_path = spec_path or SPEC_PATH
        self._spec = _load_spec(self._spec_path)
        self._handlers: dict[str, Callable[[JSONDict], Any]] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._set_description("description"),
            "getMyDescription": self._get_description("description"),
            "setMyShortDescription": self._set_description("short_description"),
            "getMyShortDescription": self._get_description("short_description"),
            "setMyName": self._set_description("name"),
            "getMyName": self._get_description("name"),
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
        }
        self._names = {name.lower(): name for name in self._handlers}
        self._names.update({lower: spec[0] for lower, spec in self._spec.items()})
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self._change = asyncio.Event()
        self._started_url: str | None = None
        # Live connections survive reset(): parked polls and held requests still end later.
        self._poll_generation = 0
        self._poll_abort = POLL_CONFLICT
        self._active_polls = 0
        self._held = 0
        self._init_state()

    def _init_state(self) -> None:
        self._chats: dict[int, _Chat] = {}
        self._forgotten: set[int] = set()
        self._users: dict[int, JSONDict] = {}
        self._updates: list[JSONDict] = []
        self._last_update_id = 100_000
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._webhook: JSONDict | None = None
        self._webhook_secret: str | None = None
        self._webhook_deliveries: list[WebhookDelivery] = []
        self._webhook_inflight: set[int] = set()
        self._webhook_retry: dict[int, tuple[int, float]] = {}  # update_id -> failures, due
        self._webhook_error: tuple[int, str] | None = None
        self._commands: dict[tuple[str, int | None, int | None, str], list[JSONDict]] = {}
        self._descriptions: dict[tuple[str, str], str] = {}
        self._callback_queries: dict[str, _CallbackQuery] = {}
        self._last_callback_id = 4_000_000_000_000_000_000
        self._inline_queries: dict[str, _InlineQuery] = {}
        self._last_inline_id = 7_000_000_000_000_000_000
        self._files: set[str] = set()
        self._last_file = 0
        # Documents' bytes by file_id, and their file_path once getFile gave one.
        self._documents: dict[str, tuple[str, bytes]] = {}
        # Photo URLs Telegram "cannot use": exact URL or a prefix ending in "*" -> description.
        self._refused_photos: dict[str, str] = {}
        self._log: list[RequestRecord] = []
        self._failures: dict[str, deque[_Failure]] = {}
        self._chaos: _Chaos | None = None
        self._flood_until: float | None = None
        self._overall = _Window(self.limits.overall_per_second, 1.0)
        self._paid = _Window(self.limits.paid_per_second, 1.0)
        self._groups: dict[int, _Window] = {}
        self._buckets: dict[int, _Bucket] = {}
        self._sent_total = 0
        self._sent_per_chat: Counter[int] = Counter()
        self._too_many = 0
        self._rate_limited = 0
        self._server_errors = 0
        self._timeouts = 0
        self._paid_messages = 0
        # Paid messages the bot's Stars balance still pays for (None: enough for anything).
        self._stars_for: int | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start listening; `base_url` is valid afterwards."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self.port = int(runner.addresses[0][1])  # the port actually bound when port=0
        self._runner = runner
        self._closing = asyncio.Event()
        self._started_url = f"http://{self.host}:{self.port}"
        self._webhook_session = ClientSession(timeout=ClientTimeout(total=self.webhook_timeout))
        self._webhook_task = asyncio.create_task(self._webhook_loop(), name="fake webhook")

    async def stop(self) -> None:
        """Answer parked requests and stop listening."""
        self._closing.set()
        self._notify()
        task, self._webhook_task = self._webhook_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        session, self._webhook_session = self._webhook_session, None
        if session is not None:
            await session.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """The server root, e.g. `http://127.0.0.1:40123`."""
        if self._started_url is None:
            raise RuntimeError("the fake Bot API server is not started")
        return self._started_url

    @property
    def base_url(self) -> str:
        """The value for PTB's `base_url` / TELEGRAM_API_URL (ends with `/bot`)."""
        return f"{self.url}/bot"

    @property
    def control_url(self) -> str:
        """The root of the JSON control API."""
        return f"{self.url}/__control"

    def reset(self) -> None:
        """Forget all chats, updates, messages, requests, failures and counters."""
        self._init_state()
        self._notify()

    # ------------------------------------------------------------------ HTTP

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.startswith("/__control/"):
            return await self._handle_control(request, path.removeprefix("/__control/"))
        if path.startswith("/file/bot"):
            return self._download(path.removeprefix("/file/bot"))
        if path.startswith("/bot"):
            # The method is after the last '/'; a '/' inside the token makes it malformed.
            token, sep, method = path[4:].rpartition("/")
            if sep:
                return await self._handle_api(request, token, method)
        return _response(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    async def _read_params(self, request: web.Request) -> JSONDict:
        params: JSONDict = dict(request.query)
        if not request.body_exists:
            return params
        if request.content_type == "application/json":
            raw = await request.read()
            if raw.strip():
                try:
                    data = json.loads(raw)
                except ValueError:
                    raise _bad_request("can't parse JSON encoded request") from None
                if not isinstance(data, dict):
                    raise _bad_request("can't parse JSON encoded request")
                params.update({k: v for k, v in data.items() if v is not None})
        elif request.content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    content = bytes(await part.read())
                    params[part.name] = UploadedFile(
                        part.filename, content, part.headers.get("Content-Type")
                    )
                else:
                    params[part.name] = await part.text()
        else:
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        return params

    def _prepare_params(self, method: str, params: JSONDict) -> JSONDict:
        """Coerce types and check names and required parameters against the spec."""
        _, spec = self._spec.get(method.lower(), (method, {}))
        result: JSONDict = {}
        for name, value in params.items():
            if name == "method":
                continue
            if name not in spec and self.strict_params:
                raise _bad_request(f'unknown parameter "{name}"')
            result[name] = _coerce(name, value, spec[name].types if name in spec else ())
        for name, param in spec.items():
            if param.required and result.get(name) is None:
                raise _bad_request(_MISSING_PARAMETER.get(name, f'parameter "{name}" is required'))
        return result

    async def _handle_api(self, request: web.Request, token: str, method: str) -> web.Response:
        name = self._names.get(method.lower())
        params: JSONDict = {}
        status, body, retry_after = 200, {}, None
        try:
            params = await self._read_params(request)
            if not _valid_token(token):
                raise ApiError(401, "Unauthorized: invalid token specified")
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            if name is None:
                raise ApiError(404, "Not Found: method not found")
            hold = self._injected_failure(name)
            if hold == "before":
                await self._hold()
            params = self._prepare_params(name, params)
            handler = self._handlers.get(name)
            if handler is None:
                raise _bad_request(f'method "{name}" is not implemented by the fake Bot API')
            outcome = handler(params)
            if inspect.isawaitable(outcome):
                outcome = await outcome
            if hold == "after":
                await self._hold()
            body = {"ok": True, "result": outcome}
            if isinstance(outcome, _Described):
                body = {"ok": True, "result": outcome.result, "description": outcome.description}
        except ApiError as error:
            status, body = error.status, _error_body(error)
            if error.parameters and "retry_after" in error.parameters:
                retry_after = int(error.parameters["retry_after"])
        except asyncio.CancelledError:
            self._record(name or method, params, 0, "client disconnected", None, None)
            raise
        self._record(
            name or method,
            params,
            status,
            body.get("description"),
            body.get("result"),
            body.get("parameters"),
        )
        return _response(status, body, retry_after)

    def _record(
        self,
        method: str,
        params: JSONDict,
        status: int,
        description: str | None,
        result: Any,
        parameters: JSONDict | None,
    ) -> None:
        shown = {
            k: {"filename": v.filename, "size": len(v.content)}
            if isinstance(v, UploadedFile)
            else v
            for k, v in params.items()
        }
        if status == 429:
            self._too_many += 1
        elif status >= 500:
            self._server_errors += 1
        elif status == 0 and method != "getUpdates":  # a cancelled long poll is normal
            self._timeouts += 1
        self._log.append(
            RequestRecord(
                seq=len(self._log) + 1,
                method=method,
                params=shown,
                status=status,
                description=description,
                result=result,
                parameters=parameters,
                time=self.clock(),
            )
        )
        self._notify()

    async def _hold(self) -> None:
        """Keep a request unanswered until the client gives up or the server stops."""
        self._held += 1
        self._notify()
        try:
            await self._closing.wait()
        finally:
            self._held -= 1
        raise ApiError(500, "Internal Server Error: restart")

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        method: str = "*",
        status: int = 500,
        description: str | None = None,
        count: int = 1,
        *,
        retry_after: int | None = None,
        hold: bool = False,
    ) -> None:
        """Make the next `count` calls of `method` (`*` = any) fail before any other check.

        Args:
            method: Bot API method name, case-insensitive, or `*`.
            status: HTTP status / error_code, e.g. 500, 502, 429, 403, 400.
            description: The description; a status-specific default otherwise.
            count: How many calls fail.
            retry_after: For 429: the retry_after parameter (default 1).
            hold: Instead of answering, hold the request until the client times out.
        """
        parameters = None
        if status == 429:
            retry_after = retry_after or 1
            parameters = {"retry_after": retry_after}
        defaults = {
            400: "Bad Request",
            403: "Forbidden",
            429: f"Too Many Requests: retry after {retry_after}",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        text = description or defaults.get(status, "Internal Server Error")
        failure = _Failure(status, text, parameters, hold, count)
        self._failures.setdefault(method.lower(), deque()).append(failure)

    def chaos(
        self,
        rate_5xx: float = 0.0,
        rate_timeout: float = 0.0,
        rate_429: float = 0.0,
        *,
        seed: int = 0,
        retry_after: int = 1,
        methods: Iterable[str] | None = None,
        deliver_on_timeout: bool = False,
    ) -> None:
        """Fail a random share of calls, reproducibly (a seeded RNG).

        Args:
            rate_5xx: Share answered 500 or 502.
            rate_timeout: Share held unanswered until the client gives up.
            rate_429: Share of sends that start a flood window of `retry_after` seconds.
            seed: RNG seed.
            retry_after: Length of the flood windows in seconds.
            methods: Methods affected (`*` for all); default: sends, edits, deletes,
                callback answers, chat actions, getChat and getChatMember.
            deliver_on_timeout: Perform a held request (e.g. deliver the message) before
                holding it, as when a response is lost after Telegram acted on it.
        """
        self._chaos = _Chaos(
            rate_5xx=rate_5xx,
            rate_timeout=rate_timeout,
            rate_429=rate_429,
            retry_after=retry_after,
            methods=None if methods is None else frozenset(m.lower() for m in methods),
            deliver_on_timeout=deliver_on_timeout,
            rng=random.Random(seed),
        )

    def chaos_off(self) -> None:
        """Stop random failures."""
        self._chaos = None

    def flood(self, retry_after: int, duration: float | None = None) -> None:
        """Answer every send with 429 for `duration` seconds (default `retry_after`)."""
        self._flood_until = self.clock() + (retry_after if duration is None else duration)

    def flood_off(self) -> None:
        """End a flood window early."""
        self._flood_until = None

    def set_limits(self, enabled: bool = True, **settings: float) -> None:
        """Switch flood control on or off, optionally changing `RateLimits` fields."""
        for key, value in settings.items():
            if not hasattr(self.limits, key):
                raise ValueError(f"unknown rate limit setting {key!r}")
            setattr(self.limits, key, type(getattr(self.limits, key))(value))
        self.limits.enabled = enabled
        self._overall = _Window(self.limits.overall_per_second, 1.0)
        self._paid = _Window(self.limits.paid_per_second, 1.0)
        self._groups.clear()
        self._buckets.clear()

    def _chaos_applies(self, method: str) -> bool:
        chaos = self._chaos
        if chaos is None:
            return False
        if chaos.methods is None:
            return method in CHAOS_DEFAULT_METHODS
        return "*" in chaos.methods or method.lower() in chaos.methods

    def _injected_failure(self, method: str) -> str | None:
        """Apply fail_next and chaos; return "before"/"after" to hold the request."""
        for key in (method.lower(), "*"):
            queue = self._failures.get(key)
            if queue:
                failure = queue[0]
                failure.remaining -= 1
                if failure.remaining <= 0:
                    queue.popleft()
                if failure.hold:
                    return "before"
                raise ApiError(failure.status, failure.description, failure.parameters)
        chaos = self._chaos
        if chaos is not None and self._chaos_applies(method):
            roll = chaos.rng.random()
            if roll < chaos.rate_timeout:
                return "after" if chaos.deliver_on_timeout else "before"
            if roll < chaos.rate_timeout + chaos.rate_5xx:
                if chaos.rng.random() < 0.5:
                    raise ApiError(500, "Internal Server Error")
                raise ApiError(502, "Bad Gateway")
        return None

    def _check_flood(self, chat: _Chat, params: JSONDict) -> None:
        """Apply flood windows, chaos 429 bursts and the rate limits to one send."""
        now = self.clock()
        if self._flood_until is not None and now < self._flood_until:
            raise _too_many(max(1, math.ceil(self._flood_until - now)))
        chaos = self._chaos
        if chaos is not None and chaos.rate_429 and chaos.rng.random() < chaos.rate_429:
            self.flood(chaos.retry_after)
            raise _too_many(chaos.retry_after)
        paid = params.get("allow_paid_broadcast") is True
        if paid and self._stars_for is not None and self._stars_for <= 0:
            raise _bad_request("BALANCE_TOO_LOW")
        limits = self.limits
        if not limits.enabled:
            self._pay(paid)
            return
        bucket = self._buckets.get(chat.id)
        if bucket is None:
            bucket = _Bucket(limits.per_chat_burst, limits.per_chat_per_second, now)
            self._buckets[chat.id] = bucket
        waits = [bucket.wait(now)]
        group = None
        if chat.id < 0:
            group = self._groups.setdefault(chat.id, _Window(limits.group_per_minute, 60.0))
            waits.append(group.wait(now))
        overall = self._paid if paid else self._overall
        waits.append(overall.wait(now))
        wait = max(waits)
        if wait > 0:
            self._rate_limited += 1
            raise _too_many(max(1, math.ceil(wait - 1e-9)))
        bucket.take()
        overall.add(now)
        if group is not None:
            group.add(now)
        self._pay(paid)

    def _pay(self, paid: bool) -> None:
        if not paid:
            return
        self._paid_messages += 1
        if self._stars_for is not None:
            self._stars_for -= 1

    def set_stars_balance(self, messages: int | None) -> None:
        """The bot's Stars pay for `messages` more paid sends (None: unlimited).

        Past that, a send with allow_paid_broadcast is answered `400 Bad Request:
        BALANCE_TOO_LOW` and not delivered (Telegram's error name for a Stars balance too low;
        the Bot API facts the fake follows have no exact text for paid broadcasts).
        """
        self._stars_for = messages

    # ------------------------------------------------------------------ chats and users

    def declare_chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        *,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> None:
        """Make a chat known (private for positive ids, group/supergroup for negative ones)."""
        chat = self._ensure_chat(chat_id, chat_type)
        for key, value in (
            ("title", title),
            ("username", username),
            ("first_name", first_name),
            ("last_name", last_name),
        ):
            if value is not None:
                setattr(chat, key, value)

    def _ensure_chat(self, chat_id: int, chat_type: str | None = None) -> _Chat:
        self._forgotten.discard(chat_id)
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = _Chat(chat_id, chat_type or _chat_type_for(chat_id))
            user = self._users.get(chat_id)
            if chat.type == "private" and user is not None:
                chat.first_name = user.get("first_name")
                chat.last_name = user.get("last_name")
                chat.username = user.get("username")
            self._chats[chat_id] = chat
        elif chat_type is not None:
            chat.type = chat_type
        return chat

    def forget(self, chat_id: int) -> None:
        """Make a chat unknown: calls naming it get `chat not found` until it sends an update."""
        self._forgotten.add(chat_id)

    def block(self, chat_id: int, *, notify: bool = False) -> None:
        """The user blocks the bot: sends get 403 `bot was blocked by the user`."""
        self._ensure_chat(chat_id).blocked = True
        if notify:
            self.my_chat_member(chat_id, chat_id, "member", "kicked", apply=False)

    def unblock(self, chat_id: int, *, notify: bool = False) -> None:
        """The user unblocks the bot."""
        self._ensure_chat(chat_id).blocked = False
        if notify:
            self.my_chat_member(chat_id, chat_id, "kicked", "member", apply=False)

    def deactivate(self, chat_id: int) -> None:
        """The user deletes their account: calls get 403 `user is deactivated`."""
        self._ensure_chat(chat_id).deactivated = True

    def kick(self, chat_id: int, *, by_user_id: int | None = None, notify: bool = False) -> None:
        """Remove the bot from a group/supergroup/channel: 403 `bot was kicked from ...`."""
        chat = self._ensure_chat(chat_id)
        old = chat.bot_status
        chat.bot_status = "kicked"
        if notify:
            self.my_chat_member(chat_id, by_user_id or 1, old, "kicked", apply=False)

    def migrate(self, group_id: int, new_chat_id: int, *, notify: bool = False) -> None:
        """Upgrade a group to a supergroup: calls naming the group get 400 + migrate_to_chat_id."""
        group = self._ensure_chat(group_id, "group")
        group.migrated_to = new_chat_id
        supergroup = self._ensure_chat(new_chat_id, "supergroup")
        supergroup.title = supergroup.title or group.title
        supergroup.members.update(group.members)
        supergroup.bot_status = group.bot_status
        if notify:
            for chat, key, value in (
                (group, "migrate_to_chat_id", new_chat_id),
                (supergroup, "migrate_from_chat_id", group_id),
            ):
                chat.last_message_id += 1
                message = {
                    "message_id": chat.last_message_id,
                    "from": self._user(1),
                    "chat": chat.to_api(),
                    "date": int(self.wall_clock()),
                    key: value,
                }
                self.inject_update({"message": message})

    def restrict_bot(
        self, chat_id: int, *, send_messages: bool = True, send_photos: bool = True
    ) -> None:
        """Set what the bot may send in a group: sends it may not make get TDLib's 400.

        `send_messages=False` refuses text (`not enough rights to send text messages to the
        chat`), `send_photos=False` refuses photos (`not enough rights to send photos to the
        chat`). Like TDLib, the check happens before the request reaches the flood limits.
        """
        chat = self._ensure_chat(chat_id)
        chat.bot_can_send_messages = send_messages
        chat.bot_can_send_photos = send_photos

    def refuse_photo_url(self, url: str, description: str = PHOTO_URL_REFUSED) -> None:
        """Refuse sendPhoto with this URL (or any URL starting so, if it ends in "*").

        `description` is the 400 Telegram gives when it cannot use a photo's URL:
        PHOTO_URL_REFUSED (`wrong file identifier/HTTP URL specified`), PHOTO_URL_FAILED
        (`failed to get HTTP URL content`) or PHOTO_URL_NOT_IMAGE (`wrong type of the web page
        content`).
        """
        self._refused_photos[url] = description

    def _photo_url_refusal(self, url: str) -> str | None:
        for rule, description in self._refused_photos.items():
            if url == rule or (rule.endswith("*") and url.startswith(rule[:-1])):
                return description
        return None

    def add_channel(
        self,
        chat_id: int,
        title: str,
        username: str | None = None,
        *,
        bot_status: str = "administrator",
        can_post_messages: bool = True,
    ) -> None:
        """Make a channel known (getChat by id or @username) with the bot's status in it.

        Sends to it need the bot to be its administrator with `can_post_messages` (or its
        creator), else `400 Bad Request: need administrator rights in the channel chat`.
        """
        self.declare_chat(chat_id, "channel", title=title, username=username)
        self.set_member_status(
            chat_id, self.bot_id, bot_status, can_post_messages=can_post_messages
        )

    @staticmethod
    def _check_channel_buttons(chat: _Chat, markup: JSONDict | None) -> None:
        """Buttons that switch to inline mode are refused under a channel's posts.

        Best guess at the description (TDLib refuses them when sending to a channel; the
        exact text is not in the Bot API facts this fake follows).
        """
        if chat.type != "channel" or markup is None:
            return
        for row in markup["inline_keyboard"]:
            for button in row:
                if _SWITCH_INLINE & button.keys():
                    raise _bad_request("BUTTON_TYPE_INVALID")

    @staticmethod
    def _check_rights(chat: _Chat, *, photo: bool) -> None:
        if chat.type == "private":
            return
        if chat.type == "channel":
            if chat.bot_status == "creator" or (
                chat.bot_status == "administrator" and chat.bot_can_post
            ):
                return
            raise _bad_request("need administrator rights in the channel chat")
        if photo and not chat.bot_can_send_photos:
            raise _bad_request("not enough rights to send photos to the chat")
        if not photo and not chat.bot_can_send_messages:
            raise _bad_request("not enough rights to send text messages to the chat")

    def set_member_status(
        self, chat_id: int, user_id: int, status: str, *, can_post_messages: bool = True
    ) -> None:
        """Set what getChatMember reports for a user (or the bot) in a chat.

        Args:
            chat_id: The chat.
            user_id: The user; the bot's own id sets the bot's status.
            status: creator, administrator, member, restricted, left or kicked.
            can_post_messages: For the bot as a channel's administrator: may it post.
        """
        if status not in _MEMBER_STATUSES:
            raise ValueError(f"unknown chat member status {status!r}")
        chat = self._ensure_chat(chat_id)
        if user_id == self.bot_id:
            chat.bot_status = status
            chat.bot_can_post = can_post_messages
        else:
            chat.members[user_id] = status

    def _user(
        self,
        user_id: int,
        *,
        username: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> JSONDict:
        user = self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": "Tester"}
        )
        for key, value in (
            ("username", username),
            ("first_name", first_name),
            ("last_name", last_name),
            ("language_code", language_code),
        ):
            if value is not None:
                user[key] = value
        return dict(user)

    def _chat_id(self, value: Any) -> int:
        if value is None or value == "":
            raise _bad_request("chat_id is empty")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if text.startswith("@"):
            for chat in self._chats.values():
                if chat.username and chat.username.lower() == text[1:].lower():
                    return chat.id
        raise _bad_request("chat not found")

    def _access_chat(self, value: Any) -> _Chat:
        """Resolve chat_id and apply the checks every chat method makes."""
        chat_id = self._chat_id(value)
        chat = self._chats.get(chat_id)
        if chat_id in self._forgotten or (chat is None and not self.accept_unknown_chats):
            raise _bad_request("chat not found")
        if chat is None:
            chat = self._ensure_chat(chat_id)
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.type == "private" and chat.deactivated:
            raise ApiError(403, "Forbidden: user is deactivated")
        if chat.type != "private" and chat.bot_status in ("kicked", "left"):
            verb = "was kicked from" if chat.bot_status == "kicked" else "is not a member of"
            raise ApiError(403, f"Forbidden: bot {verb} the {chat.type} chat")
        return chat

    @staticmethod
    def _check_not_blocked(chat: _Chat) -> None:
        if chat.type == "private" and chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    # ------------------------------------------------------------------ updates

    def inject_update(self, update: JSONDict) -> JSONDict:
        """Queue an update (its update_id is assigned here) and return it."""
        self._last_update_id += 1
        full = {"update_id": self._last_update_id, **update}
        self._updates.append(full)
        self._notify()
        return full

    def send_text(
        self,
        user_id: int,
        text: str,
        chat_id: int | None = None,
        chat_type: str | None = None,
        *,
        username: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        title: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSONDict:
        """A user sends a text message (commands get bot_command entities); return the update.

        Args:
            user_id: The sender.
            text: The text.
            chat_id: The chat (default: the private chat with the user).
            chat_type: private, group, supergroup; inferred from the id when omitted.
            username: The sender's username.
            first_name: The sender's first name (default "Tester").
            last_name: The sender's last name.
            language_code: The sender's language.
            title: The group title.
            reply_to_message_id: A message in the chat this one replies to.
        """
        user = self._user(
            user_id,
            username=username,
            first_name=first_name,
            last_name=last_name,
            language_code=language_code,
        )
        chat = self._ensure_chat(user_id if chat_id is None else chat_id, chat_type)
        if chat.type == "private":
            chat.first_name = user.get("first_name")
            chat.last_name = user.get("last_name")
            chat.username = user.get("username")
        else:
            chat.members.setdefault(user_id, "member")
            if title is not None:
                chat.title = title
        chat.last_message_id += 1
        stored = BotMessage(
            chat_id=chat.id,
            message_id=chat.last_message_id,
            date=int(self.wall_clock()),
            from_bot=False,
            text=text,
            entities=_command_entities(text),
            reply_to_message_id=reply_to_message_id,
            sender=user,
        )
        chat.messages[stored.message_id] = stored
        return self.inject_update({"message": self._message_dict(chat, stored)})

    def send_group_text(self, chat_id: int, user_id: int, text: str, **kwargs: Any) -> JSONDict:
        """A user writes in a group or supergroup; see `send_text`."""
        return self.send_text(user_id, text, chat_id, **kwargs)

    def send_formatted(
        self,
        user_id: int,
        text: str | None = None,
        entities: list[JSONDict] | None = None,
        *,
        photo: bool = False,
        caption: str | None = None,
        caption_entities: list[JSONDict] | None = None,
    ) -> JSONDict:
        """A user sends, in their private chat, text with formatting entities, or a photo.

        With `photo`, the message carries a photo (its file ids are known to the server, so
        the bot may send it on) and the optional caption with its entities; otherwise `text`
        with `entities` (offsets in UTF-16 code units, as Telegram gives them).
        """
        user = self._user(user_id)
        chat = self._ensure_chat(user_id, "private")
        chat.last_message_id += 1
        stored = BotMessage(
            chat_id=chat.id,
            message_id=chat.last_message_id,
            date=int(self.wall_clock()),
            from_bot=False,
            sender=user,
        )
        if photo:
            stored.photo = self._photo_sizes(b"a photo the user took", {})
            stored.caption = caption
            stored.caption_entities = copy.deepcopy(caption_entities or [])
        else:
            stored.text = text or ""
            stored.entities = copy.deepcopy(entities or [])
        chat.messages[stored.message_id] = stored
        return self.inject_update({"message": self._message_dict(chat, stored)})

    def send_document(
        self,
        user_id: int,
        content: bytes,
        file_name: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> JSONDict:
        """A user sends a file (a document message) in their private chat or in `chat_id`."""
        user = self._user(user_id)
        chat = self._ensure_chat(user_id if chat_id is None else chat_id)
        chat.last_message_id += 1
        stored = BotMessage(
            chat_id=chat.id,
            message_id=chat.last_message_id,
            date=int(self.wall_clock()),
            from_bot=False,
            sender=user,
            caption=caption,
            document=self._store_document(content, file_name, mime_type),
        )
        chat.messages[stored.message_id] = stored
        return self.inject_update({"message": self._message_dict(chat, stored)})

    def document_content(self, file_id: str) -> bytes:
        """The bytes of a document the server holds (sent by a user or by the bot)."""
        return self._documents[file_id][1]

    def _store_document(self, content: bytes, file_name: str, mime_type: str | None) -> JSONDict:
        self._last_file += 1
        file_id = f"BQACAgIAAxkBAAFAKEdoc{self._last_file:06d}"
        self._files.add(file_id)
        self._documents[file_id] = (f"documents/file_{self._last_file}", content)
        document: JSONDict = {
            "file_id": file_id,
            "file_unique_id": f"AgADFAKEdoc{self._last_file:06d}",
            "file_name": file_name,
            "file_size": len(content),
        }
        if mime_type:
            document["mime_type"] = mime_type
        return document

    def press_button(
        self,
        user_id: int,
        message_id: int,
        data: str,
        chat_id: int | None = None,
        *,
        username: str | None = None,
        first_name: str | None = None,
    ) -> str:
        """A user presses an inline button under a message; return the callback query id.

        Raises:
            LookupError: If the chat has no such message (a mistake in the test).
        """
        chat = self._chats.get(user_id if chat_id is None else chat_id)
        stored = chat.messages.get(message_id) if chat is not None else None
        if chat is None or stored is None:
            raise LookupError(f"chat {chat_id or user_id} has no message {message_id}")
        user = self._user(user_id, username=username, first_name=first_name)
        message = (
            {"chat": chat.to_api(), "message_id": message_id, "date": 0}
            if stored.deleted
            else self._message_dict(chat, stored)
        )
        self._last_callback_id += 1
        query_id = str(self._last_callback_id)
        self._callback_queries[query_id] = _CallbackQuery(query_id, self.clock())
        self.inject_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": message,
                    "chat_instance": str(abs(chat.id) * 1_000_003 % 10**18),
                    "data": data,
                }
            }
        )
        return query_id

    def inline_query(
        self,
        user_id: int,
        query: str,
        *,
        offset: str = "",
        chat_type: str | None = "sender",
        username: str | None = None,
    ) -> str:
        """A user types `@bot <query>` in some chat; return the inline query id.

        Raises:
            RuntimeError: The bot has no inline mode (Telegram would send it nothing).
            ValueError: A query over Telegram's 256 characters.
        """
        if not self.inline_mode:
            raise RuntimeError("inline mode is off: FakeBotApi(inline_mode=True)")
        if len(query) > 256:
            raise ValueError("an inline query holds at most 256 characters")
        user = self._user(user_id, username=username)
        self._last_inline_id += 1
        query_id = str(self._last_inline_id)
        self._inline_queries[query_id] = _InlineQuery(query_id, self.clock(), user_id, query)
        update: JSONDict = {"id": query_id, "from": user, "query": query, "offset": offset}
        if chat_type is not None:
            update["chat_type"] = chat_type
        self.inject_update({"inline_query": update})
        return query_id

    def choose_inline_result(
        self, user_id: int, query_id: str, result_id: str, *, inline_message_id: str | None = None
    ) -> JSONDict:
        """The user sends one of the results the bot gave to their query; return the update.

        Telegram sends this only with inline feedback on (@BotFather /setinlinefeedback).

        Raises:
            LookupError: The bot gave no result `result_id` to that query (a test mistake).
        """
        query = self._inline_queries.get(query_id)
        answer = query.answer if query is not None else None
        ids = [r.get("id") for r in answer["results"]] if answer is not None else []
        if query is None or query.user_id != user_id or result_id not in ids:
            raise LookupError(f"inline query {query_id} of {user_id} offered no {result_id!r}")
        chosen: JSONDict = {
            "result_id": result_id,
            "from": self._user(user_id),
            "query": query.query,
        }
        if inline_message_id is not None:
            chosen["inline_message_id"] = inline_message_id
        return self.inject_update({"chosen_inline_result": chosen})

    def my_chat_member(
        self,
        chat_id: int,
        user_id: int,
        old_status: str,
        new_status: str,
        *,
        chat_type: str | None = None,
        until_date: int = 0,
        apply: bool = True,
        can_post_messages: bool = True,
        old_can_post_messages: bool = True,
    ) -> JSONDict:
        """Queue a my_chat_member update (the bot's status changed) and return it.

        A private chat going member -> kicked is a block; kicked -> member an unblock.
        With `apply`, the chat's state follows (blocked, or the bot's group status).
        In a channel an administrator's `can_post_messages` (old and new) is part of the
        update; `user_id` is who made the change (the update's `from`).
        """
        chat = self._ensure_chat(chat_id, chat_type)
        if apply:
            if chat.type == "private":
                chat.blocked = new_status == "kicked"
            else:
                chat.bot_status = new_status
                chat.bot_can_post = can_post_messages
        user = self._user(user_id)
        channel = chat.type == "channel"
        return self.inject_update(
            {
                "my_chat_member": {
                    "chat": chat.to_api(),
                    "from": user,
                    "date": int(self.wall_clock()),
                    "old_chat_member": self._member_dict(
                        old_status,
                        self.bot_user,
                        until_date,
                        channel=channel,
                        can_post=old_can_post_messages,
                    ),
                    "new_chat_member": self._member_dict(
                        new_status,
                        self.bot_user,
                        until_date,
                        channel=channel,
                        can_post=can_post_messages,
                    ),
                }
            }
        )

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by getUpdates."""
        return copy.deepcopy(self._updates)

    @property
    def active_polls(self) -> int:
        """How many getUpdates requests are parked waiting for updates."""
        return self._active_polls

    @property
    def held_requests(self) -> int:
        """How many requests are held unanswered (chaos timeouts, `fail_next(hold=True)`)."""
        return self._held

    # ------------------------------------------------------------------ observation

    def requests(self, method: str | None = None) -> list[RequestRecord]:
        """The request log, optionally for one method (case-insensitive)."""
        if method is None:
            return list(self._log)
        return [r for r in self._log if r.method.lower() == method.lower()]

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[BotMessage]:
        """Copies of the messages the bot sent to a chat, in order, with edits applied."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [
            copy.deepcopy(m)
            for m in chat.messages.values()
            if m.from_bot and (include_deleted or not m.deleted)
        ]

    def callback_answer(self, query_id: str) -> JSONDict | None:
        """How the bot answered a callback query (text, show_alert, ...), or None."""
        query = self._callback_queries.get(query_id)
        return dict(query.answer) if query is not None and query.answer is not None else None

    def inline_answer(self, query_id: str) -> JSONDict | None:
        """How the bot answered an inline query (results, cache_time, ...), or None."""
        query = self._inline_queries.get(query_id)
        return copy.deepcopy(query.answer) if query is not None and query.answer else None

    def commands(
        self,
        scope: JSONDict | None = None,
        language_code: str = "",
    ) -> list[JSONDict]:
        """The command list set for a scope (default scope if None) and language."""
        key = self._scope_key(scope or {"type": "default"}, language_code, check=False)
        return copy.deepcopy(self._commands.get(key, []))

    @property
    def stats(self) -> FakeStats:
        """Counters: requests, sent messages, 429s answered, 5xx, timeouts, sends per chat."""
        return FakeStats(
            requests=len(self._log),
            sent_messages=self._sent_total,
            too_many_requests=self._too_many,
            rate_limited=self._rate_limited,
            server_errors=self._server_errors,
            timeouts=self._timeouts,
            sent_per_chat=dict(self._sent_per_chat),
            paid_messages=self._paid_messages,
        )

    def sent_per_chat(self) -> dict[int, int]:
        """How many messages were sent to each chat (duplicates show up as counts > 1)."""
        return dict(self._sent_per_chat)

    def _notify(self) -> None:
        event, self._change = self._change, asyncio.Event()
        event.set()

    async def _wait_change(self, timeout: float) -> None:
        event = self._change
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def wait_until(
        self, predicate: Callable[[], T | None], timeout: float = 5.0, what: str = "a condition"
    ) -> T:
        """Wait until `predicate()` is truthy (re-checked on every server event); return it.

        Raises:
            TimeoutError: After `timeout` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"fake Bot API: no {what} within {timeout} s")
            await self._wait_change(remaining)

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[BotMessage], bool] | None = None,
        timeout: float = 5.0,
    ) -> BotMessage:
        """Wait for the first current bot message in a chat that matches `predicate`."""

        def find() -> BotMessage | None:
            for message in self.messages(chat_id):
                if predicate is None or predicate(message):
                    return message
            return None

        return await self.wait_until(find, timeout, f"matching message in chat {chat_id}")

    async def wait_for_requests(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[RequestRecord], bool] | None = None,
    ) -> list[RequestRecord]:
        """Wait until `count` answered requests of `method` (matching `predicate`) are logged."""

        def enough() -> list[RequestRecord]:
            found = [r for r in self.requests(method) if predicate is None or predicate(r)]
            return found if len(found) >= count else []

        return await self.wait_until(enough, timeout, f"{count} {method} request(s)")

    async def wait_for_sent(self, total: int, timeout: float = 5.0) -> int:
        """Wait until at least `total` messages were sent in all; return the count."""
        return await self.wait_until(
            lambda: self._sent_total if self._sent_total >= total else 0,
            timeout,
            f"{total} sent messages",
        )

    async def wait_for_poller(self, timeout: float = 5.0) -> None:
        """Wait until a getUpdates long poll is parked on the server."""
        await self.wait_until(lambda: self._active_polls > 0, timeout, "parked getUpdates")

    async def wait_for_callback_answer(self, query_id: str, timeout: float = 5.0) -> JSONDict:
        """Wait until the bot answers a callback query; return the answer's parameters."""
        return await self.wait_until(
            lambda: self.callback_answer(query_id), timeout, f"answer to query {query_id}"
        )

    async def wait_for_inline_answer(self, query_id: str, timeout: float = 5.0) -> JSONDict:
        """Wait until the bot answers an inline query; return the answer's parameters."""
        return await self.wait_until(
            lambda: self.inline_answer(query_id), timeout, f"answer to inline query {query_id}"
        )

    # ------------------------------------------------------------------ method handlers

    @staticmethod
    def _true(params: JSONDict) -> bool:
        return True

    def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": self.inline_mode,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _confirm_updates(self, offset: int) -> None:
        if offset < 0:
            self._updates = self._updates[offset:]
        elif offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        allowed = self._allowed_updates
        self._updates = [u for u in self._updates if any(k in allowed for k in u)]

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        limit = _clamp(params.get("limit"), 1, 100, 100)
        timeout = _clamp(params.get("timeout"), 0, 50, 0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
        self._poll_generation += 1
        self._poll_abort = POLL_CONFLICT
        generation = self._poll_generation
        self._notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._active_polls += 1
        self._notify()
        try:
            while True:
                if generation != self._poll_generation:
                    raise ApiError(409, self._poll_abort)
                self._confirm_updates(_clamp(params.get("offset"), -(2**31), 2**31, 0))
                if self._updates or timeout == 0 or self._closing.is_set():
                    return copy.deepcopy(self._updates[:limit])
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return []
                await self._wait_change(remaining)
        finally:
            self._active_polls -= 1
            self._notify()

    def _set_webhook(self, params: JSONDict) -> _Described:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        secret = params.get("secret_token")
        secret = None if secret in (None, "") else str(secret)
        if secret is not None and len(secret) > 256:
            raise _bad_request("secret token is too long")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]+", secret):
            raise _bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        webhook: JSONDict = {
            "url": url,
            "max_connections": _clamp(params.get("max_connections"), 1, 100, 40),
        }
        for key in ("allowed_updates", "ip_address"):
            if key in params:
                webhook[key] = params[key]
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
        if self._webhook == webhook and self._webhook_secret == secret:
            return _Described(True, "Webhook is already set")
        self._webhook = webhook
        self._webhook_secret = secret
        self._webhook_error = None
        self._poll_generation += 1
        self._poll_abort = "Conflict: terminated by setWebhook request"
        self._notify()
        return _Described(True, "Webhook was set")

    def _delete_webhook(self, params: JSONDict) -> _Described:
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        if self._webhook is None:
            return _Described(True, "Webhook is already deleted")
        self._webhook = None
        self._webhook_secret = None
        self._webhook_error = None
        return _Described(True, "Webhook was deleted")

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        info: JSONDict = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook is not None:
            info.update(self._webhook)
            if self._webhook_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    # ------------------------------------------------------------------ webhook delivery

    @staticmethod
    def _update_chat(update: JSONDict) -> int:
        """The chat (or user) an update belongs to, for per-chat ordering; else its own id."""
        for key, value in update.items():
            if key == "update_id" or not isinstance(value, dict):
                continue
            for holder in (value, value.get("message")):
                if isinstance(holder, dict):
                    chat = holder.get("chat")
                    if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                        return int(chat["id"])
            sender = value.get("from")
            if isinstance(sender, dict) and isinstance(sender.get("id"), int):
                return int(sender["id"])
        return -int(update["update_id"])

    def _webhook_ready(self, now: float) -> tuple[list[JSONDict], float | None]:
        """Updates to POST now (in order, one per chat, within max_connections) and the time
        the next retry falls due."""
        assert self._webhook is not None
        allowed = self._allowed_updates
        self._updates = [u for u in self._updates if any(k in allowed for k in u)]
        free = int(self._webhook["max_connections"]) - len(self._webhook_inflight)
        busy: set[int] = set()
        ready: list[JSONDict] = []
        next_due: float | None = None
        for update in self._updates:
            chat = self._update_chat(update)
            if chat in busy:
                continue  # an earlier update of this chat goes first
            busy.add(chat)
            update_id = update["update_id"]
            if update_id in self._webhook_inflight:
                continue
            _, due = self._webhook_retry.get(update_id, (0, now))
            if due > now:
                next_due = due if next_due is None else min(next_due, due)
                continue
            if len(ready) >= free:
                break
            ready.append(update)
        return ready, next_due

    async def _webhook_loop(self) -> None:
        """While a webhook is set, POST pending updates to it (Telegram's WebhookActor)."""
        loop = asyncio.get_running_loop()
        posts: set[asyncio.Task[None]] = set()
        try:
            while not self._closing.is_set():
                wait: float = 3600.0
                if self._webhook is not None:
                    ready, next_due = self._webhook_ready(loop.time())
                    url, secret = str(self._webhook["url"]), self._webhook_secret
                    for update in ready:
                        self._webhook_inflight.add(update["update_id"])
                        task = asyncio.create_task(self._post_update(update, url, secret))
                        posts.add(task)
                        task.add_done_callback(posts.discard)
                    if next_due is not None:
                        wait = max(0.0, next_due - loop.time())
                await self._wait_change(wait)
        finally:
            for task in list(posts):
                task.cancel()
            await asyncio.gather(*posts, return_exceptions=True)

    async def _post_update(self, update: JSONDict, url: str, secret: str | None) -> None:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        update_id = int(update["update_id"])
        started = self.clock()
        status, error = 0, None
        try:
            if self._webhook_session is None:
                raise ClientError("the fake server is stopping")
            async with self._webhook_session.post(
                url, data=json.dumps(update).encode(), headers=headers
            ) as response:
                await response.read()
                status = response.status
                if not 200 <= status < 300:
                    error = f"Wrong response from the webhook: {status} {response.reason}"
        except (ClientError, TimeoutError, OSError) as failure:
            error = f"Connection failed: {type(failure).__name__}"
        finally:
            self._webhook_inflight.discard(update_id)
        answered = self.clock()
        self._webhook_deliveries.append(
            WebhookDelivery(update_id, url, status, error, started, answered)
        )
        if error is None:
            self._updates = [u for u in self._updates if u["update_id"] != update_id]
            self._webhook_retry.pop(update_id, None)
        else:
            failures = self._webhook_retry.get(update_id, (0, 0.0))[0] + 1
            delay = self.webhook_retry_seconds * min(2 ** (failures - 1), 20)
            due = asyncio.get_running_loop().time() + delay
            self._webhook_retry[update_id] = (failures, due)
            self._webhook_error = (int(self.wall_clock()), error)
        self._notify()

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every POST to the webhook so far, in the order they were answered."""
        return list(self._webhook_deliveries)

    async def wait_for_webhook_deliveries(
        self,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[WebhookDelivery], bool] | None = None,
    ) -> list[WebhookDelivery]:
        """Wait until `count` webhook POSTs (matching `predicate`) were answered; return them."""

        def enough() -> list[WebhookDelivery]:
            found = [d for d in self._webhook_deliveries if predicate is None or predicate(d)]
            return found if len(found) >= count else []

        return await self.wait_until(enough, timeout, f"{count} webhook POST(s)")

    def _scope_key(
        self, scope: Any, language_code: Any, *, check: bool = True
    ) -> tuple[str, int | None, int | None, str]:
        language = str(language_code or "")
        if check and language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad_request("invalid language code specified")
        if scope is None:
            return ("default", None, None, language)
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
            raise _bad_request("can't parse BotCommandScope JSON object")
        kind = str(scope["type"])
        chat_id = user_id = None
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat_id = self._access_chat(scope.get("chat_id")).id if check else scope.get("chat_id")
        if kind == "chat_member":
            user_id = _clamp(scope.get("user_id"), 0, 2**53, 0)
            if check and user_id <= 0:
                raise _bad_request("invalid user_id specified")
        return (kind, chat_id, user_id, language)

    def _set_my_commands(self, params: JSONDict) -> bool:
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        raw = params.get("commands")
        if not isinstance(raw, list):
            raise _bad_request("can't parse commands JSON object")
        commands = []
        for item in raw:
            if not isinstance(item, dict):
                raise _bad_request("can't parse BotCommand JSON object")
            command = str(item.get("command", "")).strip().removeprefix("/")
            description = str(item.get("description", "")).strip()
            if not command:
                raise _bad_request("command must be non-empty")
            if len(command) > 32:
                raise _bad_request("command length must not exceed 32")
            if not description:
                raise _bad_request("command description must be non-empty")
            if len(description) > 256:
                raise _bad_request("command description length must not exceed 256")
            commands.append({"command": command, "description": description})
        if len(commands) > 100:
            raise _bad_request("BOT_COMMANDS_TOO_MUCH")
        if any(not re.fullmatch(r"[a-z0-9_]+", c["command"]) for c in commands):
            raise _bad_request("BOT_COMMAND_INVALID")
        if commands:
            self._commands[key] = commands
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: JSONDict) -> bool:
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        self._commands.pop(key, None)
        return True

    def _set_description(self, name: str) -> Callable[[JSONDict], bool]:
        # Accepted without length checks: the server's texts for those are not on record.
        def handler(params: JSONDict) -> bool:
            text = str(params.get(name) or "")
            self._descriptions[(name, str(params.get("language_code") or ""))] = text
            return True

        return handler

    def _get_description(self, name: str) -> Callable[[JSONDict], JSONDict]:
        def handler(params: JSONDict) -> JSONDict:
            language = str(params.get("language_code") or "")
            text = self._descriptions.get((name, language), self._descriptions.get((name, ""), ""))
            return {name: text}

        return handler

    # .................................................................. formatting

    @staticmethod
    def _parse_text(text: str, parse_mode: Any, entities: Any) -> tuple[str, list[JSONDict]]:
        """Client.cpp's get_formatted_text: raw size limit, then the parse mode."""
        if len(text.encode("utf-8", "surrogatepass")) > 1 << 15:
            raise _bad_request("text is too long")
        mode = str(parse_mode or "").lower()
        if mode == "html":
            try:
                return parse_html(text)
            except HtmlParseError as error:
                raise _bad_request(f"can't parse entities: {error.message}") from None
        if mode in ("markdown", "markdownv2"):
            raise _bad_request(f"parse_mode {parse_mode} is not emulated by the fake Bot API")
        if mode not in ("", "none"):
            raise _bad_request("unsupported parse_mode")
        if entities is None:
            return text, []
        if not isinstance(entities, list) or not all(
            isinstance(e, dict) and {"type", "offset", "length"} <= e.keys() for e in entities
        ):
            raise _bad_request("can't parse entities JSON object")
        return text, entities

    def _finish_text(
        self, parsed: tuple[str, list[JSONDict]], limit: int, too_long: str, *, allow_empty: bool
    ) -> tuple[str, list[JSONDict]]:
        """TDLib's fix_formatted_text and the length limit of the message content."""
        try:
            text, entities = fix_text(*parsed)
        except EmptyTextError:
            if allow_empty:
                return "", []
            raise _bad_request("text must be non-empty") from None
        if len(text) > limit:
            raise _bad_request(too_long)
        for entity in entities:  # text mentions carry the user as the server knows them
            if entity["type"] == "text_mention" and entity["user"]["id"] in self._users:
                entity["user"] = dict(self._users[entity["user"]["id"]])
        return text, entities

    @staticmethod
    def _parse_markup(raw: Any, *, inline_only: bool) -> JSONDict | None:
        """Parse reply_markup; return the inline keyboard to echo (other kinds: None)."""
        if raw is None or raw == "":
            return None
        if not isinstance(raw, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in raw:
            if inline_only:
                raise _bad_request("inline keyboard expected")
            if not {"keyboard", "remove_keyboard", "force_reply"} & raw.keys():
                raise _bad_request("can't parse reply keyboard markup JSON object")
            return None
        rows = raw["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad_request('field "inline_keyboard" must be of type Array')
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _bad_request("can't parse inline keyboard button JSON object")
                if not _BUTTON_TYPES & button.keys():
                    raise _bad_request("text buttons are unallowed in the inline keyboard")
                if not button["text"]:
                    raise _bad_request("inline keyboard button text must be non-empty")
                if "switch_inline_query_chosen_chat" in button:
                    _check_chosen_chat(button["switch_inline_query_chosen_chat"])
        markup = {"inline_keyboard": [[dict(b) for b in row] for row in rows]}
        return markup if any(markup["inline_keyboard"]) else None

    @staticmethod
    def _check_markup_limits(markup: JSONDict | None) -> None:
        """The Telegram server's own checks: button counts and callback_data size."""
        if markup is None:
            return
        rows = markup["inline_keyboard"]
        if sum(len(row) for row in rows) > 100 or any(len(row) > 8 for row in rows):
            raise _bad_request("reply markup is too long")
        for row in rows:
            for button in row:
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                        raise _bad_request("BUTTON_DATA_INVALID")

    # .................................................................. messages

    def _message_dict(self, chat: _Chat, message: BotMessage) -> JSONDict:
        result: JSONDict = {
            "message_id": message.message_id,
            "from": self.bot_user if message.from_bot else message.sender,
            "chat": chat.to_api(),
            "date": message.date,
        }
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        if message.reply_to_message_id is not None:
            replied = chat.messages.get(message.reply_to_message_id)
            if replied is not None and not replied.deleted:
                inner = self._message_dict(chat, replied)
                inner.pop("reply_to_message", None)
                result["reply_to_message"] = inner
        if message.text is not None:
            result["text"] = message.text
            if message.entities:
                result["entities"] = copy.deepcopy(message.entities)
        if message.photo is not None:
            result["photo"] = copy.deepcopy(message.photo)
            if message.caption:
                result["caption"] = message.caption
                if message.caption_entities:
                    result["caption_entities"] = copy.deepcopy(message.caption_entities)
        if message.document is not None:
            result["document"] = copy.deepcopy(message.document)
            if message.caption and message.photo is None:
                result["caption"] = message.caption
        if message.reply_markup is not None:
            result["reply_markup"] = copy.deepcopy(message.reply_markup)
        return result

    def _reply_target(self, chat: _Chat, raw: Any) -> int | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise _bad_request("can't parse reply parameters JSON object")
        message_id = _clamp(raw.get("message_id"), 0, 2**31, 0)
        target = chat.messages.get(message_id)
        if target is None or target.deleted:
            if raw.get("allow_sending_without_reply") is True:
                return None
            raise _bad_request("message to be replied not found")
        return message_id

    def _deliver(self, chat: _Chat, message: BotMessage) -> JSONDict:
        chat.messages[message.message_id] = message
        self._sent_total += 1
        self._sent_per_chat[chat.id] += 1
        self._notify()
        return self._message_dict(chat, message)

    def _send_message(self, params: JSONDict) -> JSONDict:
        text = params.get("text")
        if not text:
            raise _bad_request("message text is empty")
        parsed = self._parse_text(str(text), params.get("parse_mode"), params.get("entities"))
        markup = self._parse_markup(params.get("reply_markup"), inline_only=False)
        chat = self._access_chat(params.get("chat_id"))
        final_text, entities = self._finish_text(
            parsed, 4096, "message is too long", allow_empty=False
        )
        reply_to = self._reply_target(chat, params.get("reply_parameters"))
        self._check_markup_limits(markup)
        self._check_rights(chat, photo=False)
        self._check_channel_buttons(chat, markup)
        # A send to a blocked user still reaches Telegram, so it counts toward the limits.
        self._check_flood(chat, params)
        self._check_not_blocked(chat)
        chat.last_message_id += 1
        message = BotMessage(
            chat_id=chat.id,
            message_id=chat.last_message_id,
            date=int(self.wall_clock()),
            text=final_text,
            entities=entities,
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return self._deliver(chat, message)

    def _photo_sizes(self, photo: Any, params: JSONDict) -> list[JSONDict]:
        if isinstance(photo, str) and photo.startswith("attach://"):
            photo = params.get(photo.removeprefix("attach://"))
        if photo is None or photo == "":
            raise _bad_request("there is no photo in the request")
        if isinstance(photo, str):
            is_url = photo.startswith(("http://", "https://"))
            if not is_url and photo not in self._files:
                raise _bad_request(PHOTO_URL_REFUSED)
            refusal = self._photo_url_refusal(photo) if is_url else None
            if refusal is not None:
                raise _bad_request(refusal)
        self._last_file += 1
        sizes = []
        for index, (width, height) in enumerate(((90, 60), (320, 213), (800, 533))):
            file_id = f"AgACAgIAAxkBAAFAKE{self._last_file:06d}x{index}"
            self._files.add(file_id)
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"AQADFAKE{self._last_file:06d}x{index}",
                    "width": width,
                    "height": height,
                    "file_size": width * height // 8,
                }
            )
        return sizes

    def _send_photo(self, params: JSONDict) -> JSONDict:
        photo = params.get("photo")
        caption = params.get("caption")
        parsed = self._parse_text(
            str(caption or ""), params.get("parse_mode"), params.get("caption_entities")
        )
        markup = self._parse_markup(params.get("reply_markup"), inline_only=False)
        chat = self._access_chat(params.get("chat_id"))
        if photo is None or photo == "":
            raise _bad_request("there is no photo in the request")
        final_caption, entities = self._finish_text(
            parsed, 1024, "message caption is too long", allow_empty=True
        )
        reply_to = self._reply_target(chat, params.get("reply_parameters"))
        self._check_markup_limits(markup)
        sizes = self._photo_sizes(photo, params)
        self._check_rights(chat, photo=True)
        self._check_channel_buttons(chat, markup)
        self._check_flood(chat, params)
        self._check_not_blocked(chat)
        chat.last_message_id += 1
        message = BotMessage(
            chat_id=chat.id,
            message_id=chat.last_message_id,
            date=int(self.wall_clock()),
            photo=sizes,
            caption=final_caption or None,
            caption_entities=entities,
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return self._deliver(chat, message)

    def _send_document(self, params: JSONDict) -> JSONDict:
        document = params.get("document")
        caption = params.get("caption")
        parsed = self._parse_text(
            str(caption or ""), params.get("parse_mode"), params.get("caption_entities")
        )
        markup = self._parse_markup(params.get("reply_markup"), inline_only=False)
        chat = self._access_chat(params.get("chat_id"))
        if isinstance(document, str) and document.startswith("attach://"):
            document = params.get(document.removeprefix("attach://"))
        if document is None or document == "":
            raise _bad_request("there is no document in the request")
        final_caption, entities = self._finish_text(
            parsed, 1024, "message caption is too long", allow_empty=True
        )
        reply_to = self._reply_target(chat, params.get("reply_parameters"))
        self._check_markup_limits(markup)
        if isinstance(document, UploadedFile):
            if not document.content:
                raise _bad_request("file must be non-empty")
            stored = self._store_document(
                document.content, document.filename, document.content_type
            )
        elif isinstance(document, str) and document in self._documents:
            old = next(
                (
                    m.document
                    for c in self._chats.values()
                    for m in c.messages.values()
                    if m.document is not None and m.document["file_id"] == document
                ),
                {"file_id": document, "file_unique_id": "AgADFAKEknown", "file_size": 0},
            )
            stored = copy.deepcopy(old)
        else:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        self._check_rights(chat, photo=False)
        self._check_not_blocked(chat)
        chat.last_message_id += 1
        message = BotMessage(
            chat_id=chat.id,
            message_id=chat.last_message_id,
            date=int(self.wall_clock()),
            document=stored,
            caption=final_caption or None,
            caption_entities=entities,
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return self._deliver(chat, message)

    def _get_file(self, params: JSONDict) -> JSONDict:
        file_id = str(params.get("file_id") or "")
        if file_id not in self._documents:
            # The official server's text for an unknown or photo file id (best guess for photos).
            raise _bad_request("wrong file_id or the file is temporarily unavailable")
        file_path, content = self._documents[file_id]
        if len(content) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"AgADFAKE{file_id[-6:]}",
            "file_size": len(content),
            "file_path": file_path,
        }

    def _download(self, tail: str) -> web.Response:
        """GET /file/bot<token>/<file_path>: the bytes of a file getFile gave a path for."""
        token, _, file_path = tail.partition("/")
        if token != self.token:
            return web.Response(status=401, text="Unauthorized")
        for stored_path, content in self._documents.values():
            if stored_path == file_path:
                return web.Response(body=content, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    def _edit_target(self, params: JSONDict) -> tuple[_Chat, BotMessage]:
        if params.get("inline_message_id"):
            raise _bad_request("inline messages are not emulated by the fake Bot API")
        if params.get("chat_id") in (None, ""):
            raise _bad_request("chat_id is empty")
        message_id = _clamp(params.get("message_id"), 0, 2**31, 0)
        if message_id <= 0:
            raise _bad_request("message identifier is not specified")
        chat = self._access_chat(params.get("chat_id"))
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise _bad_request("message to edit not found")
        if not message.from_bot:
            raise _bad_request("message can't be edited")
        return chat, message

    def _apply_edit(self, chat: _Chat, message: BotMessage, changes: JSONDict) -> JSONDict:
        before = message.content()
        after = {**before, **changes}
        if after == before:
            raise ApiError(400, NOT_MODIFIED)
        message.history.append(copy.deepcopy(before))
        for key, value in changes.items():
            setattr(message, key, value)
        message.edits += 1
        message.edit_date = int(self.wall_clock())
        self._notify()
        return self._message_dict(chat, message)

    def _edit_message_text(self, params: JSONDict) -> JSONDict:
        text = params.get("text")
        if not text:
            raise _bad_request("message text is empty")
        parsed = self._parse_text(str(text), params.get("parse_mode"), params.get("entities"))
        markup = self._parse_markup(params.get("reply_markup"), inline_only=True)
        chat, message = self._edit_target(params)
        if message.text is None:
            raise _bad_request("there is no text in the message to edit")
        final_text, entities = self._finish_text(
            parsed, 4096, "message is too long", allow_empty=False
        )
        self._check_markup_limits(markup)
        changes = {"text": final_text, "entities": entities, "reply_markup": markup}
        return self._apply_edit(chat, message, changes)

    def _edit_message_caption(self, params: JSONDict) -> JSONDict:
        caption = params.get("caption")
        parsed = self._parse_text(
            str(caption or ""), params.get("parse_mode"), params.get("caption_entities")
        )
        markup = self._parse_markup(params.get("reply_markup"), inline_only=True)
        chat, message = self._edit_target(params)
        if message.photo is None:
            raise _bad_request("there is no caption in the message to edit")
        final_caption, entities = self._finish_text(
            parsed, 1024, "message caption is too long", allow_empty=True
        )
        self._check_markup_limits(markup)
        changes = {
            "caption": final_caption or None,
            "caption_entities": entities,
            "reply_markup": markup,
        }
        return self._apply_edit(chat, message, changes)

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        markup = self._parse_markup(params.get("reply_markup"), inline_only=True)
        chat, message = self._edit_target(params)
        self._check_markup_limits(markup)
        return self._apply_edit(chat, message, {"reply_markup": markup})

    def _delete_message(self, params: JSONDict) -> bool:
        message_id = _clamp(params.get("message_id"), 0, 2**31, 0)
        if message_id <= 0:
            raise _bad_request("message identifier is not specified")
        chat = self._access_chat(params.get("chat_id"))
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise _bad_request("message to delete not found")
        message.deleted = True
        self._notify()
        return True

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if not query_id:
            raise _bad_request('parameter "callback_query_id" is required')
        text = str(params.get("text") or "")
        if len(text) > 200:
            raise _bad_request("message is too long")
        query = self._callback_queries.get(query_id)
        expired = (
            query is not None
            and self.callback_query_ttl is not None
            and self.clock() - query.created > self.callback_query_ttl
        )
        if query is None or query.answered or expired:
            raise ApiError(400, QUERY_TOO_OLD)
        query.answered = True
        keys = ("text", "show_alert", "url", "cache_time")
        query.answer = {key: params[key] for key in keys if key in params}
        self._notify()
        return True

    def _answer_inline_query(self, params: JSONDict) -> bool:
        """answerInlineQuery. Descriptions in capitals are Telegram's own error names (as
        the Bot API passes them on); the others are the fake's wording."""
        query = self._inline_queries.get(str(params.get("inline_query_id") or ""))
        results = params.get("results")
        if not isinstance(results, list):
            raise _bad_request("can't parse results JSON object")
        if len(results) > 50:
            raise _bad_request("RESULTS_TOO_MUCH")
        next_offset = params.get("next_offset", "")
        if not isinstance(next_offset, str) or len(next_offset.encode()) > 64:
            raise _bad_request("NEXT_OFFSET_INVALID")
        cache_time = params.get("cache_time", 300)
        if not isinstance(cache_time, int) or cache_time < 0:
            raise _bad_request('field "cache_time" must be a non-negative Integer')
        checked = [self._inline_result(result) for result in results]
        ids = [r["id"] for r in checked]
        if len(set(ids)) != len(ids):
            raise _bad_request("RESULT_ID_DUPLICATE")
        if params.get("button") is not None:
            fields = _load_types(self._spec_path).get("InlineQueryResultsButton", {})
            _check_object(params["button"], fields, "InlineQueryResultsButton", strict=True)
        expired = (
            query is not None
            and self.callback_query_ttl is not None
            and self.clock() - query.created > self.callback_query_ttl
        )
        if query is None or query.answered or expired:
            raise ApiError(400, QUERY_TOO_OLD)
        query.answered = True
        query.answer = {
            "results": checked,
            "cache_time": cache_time,
            "is_personal": bool(params.get("is_personal", False)),
            "next_offset": next_offset,
        }
        if "button" in params:
            query.answer["button"] = params["button"]
        self._notify()
        return True

    def _inline_result(self, result: Any) -> JSONDict:
        """One InlineQueryResult, checked; its message text parsed as Telegram would."""
        if not isinstance(result, dict):
            raise _bad_request("can't parse InlineQueryResult JSON object")
        kinds = _inline_result_types(self._spec_path).get(str(result.get("type")))
        if not kinds:
            raise _bad_request("RESULT_TYPE_INVALID")
        types = _load_types(self._spec_path)
        errors: list[ApiError] = []
        for kind in kinds:  # e.g. "photo": InlineQueryResultPhoto or ...CachedPhoto
            try:
                _check_object(result, types[kind], kind, strict=self.strict_params)
            except ApiError as error:
                errors.append(error)
        if len(errors) == len(kinds):
            raise errors[0]
        result_id = result.get("id")
        if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= 64:
            raise _bad_request("RESULT_ID_INVALID")
        if result.get("type") == "article" and not str(result.get("title") or "").strip():
            raise _bad_request("ARTICLE_TITLE_EMPTY")
        checked = copy.deepcopy(result)
        markup = self._parse_markup(result.get("reply_markup"), inline_only=True)
        self._check_markup_limits(markup)
        content = result.get("input_message_content")
        if isinstance(content, dict) and "message_text" in content:
            text_fields = types.get("InputTextMessageContent", {})
            _check_object(content, text_fields, "InputTextMessageContent", strict=True)
            if not isinstance(content["message_text"], str) or not content["message_text"]:
                raise _bad_request("MESSAGE_EMPTY")
            parsed = self._parse_text(
                content["message_text"], content.get("parse_mode"), content.get("entities")
            )
            text, entities = self._finish_text(parsed, 4096, "MESSAGE_TOO_LONG", allow_empty=False)
            checked["input_message_content"] = {"text": text, "entities": entities}
        elif content is not None and not isinstance(content, dict):
            raise _bad_request("can't parse InputMessageContent JSON object")
        return checked

    def _send_chat_action(self, params: JSONDict) -> bool:
        chat = self._access_chat(params.get("chat_id"))
        if not params.get("action"):
            raise _bad_request("wrong parameter action in request")
        self._check_not_blocked(chat)
        return True

    def _get_chat(self, params: JSONDict) -> JSONDict:
        chat = self._access_chat(params.get("chat_id"))
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    def _member_dict(
        self,
        status: str,
        user: JSONDict,
        until_date: int = 0,
        *,
        channel: bool = False,
        can_post: bool = True,
    ) -> JSONDict:
        result: JSONDict = {"status": status, "user": dict(user)}
        if status == "creator":
            result["is_anonymous"] = False
        elif status == "administrator" and channel:
            # A channel's administrator rights: posting and editing are channel-only fields,
            # pinning and topics belong to groups.
            result.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": True,
                    "can_edit_stories": True,
                    "can_delete_stories": True,
                    "can_post_messages": can_post,
                    "can_edit_messages": can_post,
                }
            )
        elif status == "administrator":
            result.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": True,
                    "can_edit_stories": True,
                    "can_delete_stories": True,
                    "can_pin_messages": True,
                    "can_manage_topics": False,
                }
            )
        elif status == "restricted":
            result.update(
                {
                    "is_member": True,
                    "until_date": until_date,
                    **dict.fromkeys(
                        (
                            "can_send_messages",
                            "can_send_audios",
                            "can_send_documents",
                            "can_send_photos",
                            "can_send_videos",
                            "can_send_video_notes",
                            "can_send_voice_notes",
                            "can_send_polls",
                            "can_send_other_messages",
                            "can_add_web_page_previews",
                            "can_react_to_messages",
                            "can_edit_tag",
                            "can_change_info",
                            "can_invite_users",
                            "can_pin_messages",
                            "can_manage_topics",
                        ),
                        False,
                    ),
                }
            )
        elif status == "kicked":
            result["until_date"] = until_date
        return result

    def _get_chat_member(self, params: JSONDict) -> JSONDict:
        chat = self._access_chat(params.get("chat_id"))
        user_id = _clamp(params.get("user_id"), 0, 2**53, 0)
        if user_id <= 0:
            raise _bad_request("invalid user_id specified")
        if user_id == self.bot_id:
            return self._member_dict(
                chat.bot_status,
                self.bot_user,
                channel=chat.type == "channel",
                can_post=chat.bot_can_post,
            )
        if chat.type == "private":
            status = "member" if user_id == chat.id else "left"
        else:
            status = chat.members.get(user_id, "left")
        return self._member_dict(status, self._user(user_id))

    # ------------------------------------------------------------------ control API

    def _controls(self) -> dict[str, Callable[..., Any]]:
        return {
            "reset": self.reset,
            "stats": lambda: self.stats,
            "requests": lambda method=None: self.requests(method),
            "messages": self.messages,
            "sent_per_chat": self.sent_per_chat,
            "declare_chat": self.declare_chat,
            "forget": self.forget,
            "block": self.block,
            "unblock": self.unblock,
            "deactivate": self.deactivate,
            "kick": self.kick,
            "migrate": self.migrate,
            "set_member_status": self.set_member_status,
            "add_channel": self.add_channel,
            "restrict_bot": self.restrict_bot,
            "set_accept_unknown_chats": self._set_accept_unknown_chats,
            "set_limits": self.set_limits,
            "fail_next": self.fail_next,
            "chaos": self.chaos,
            "chaos_off": self.chaos_off,
            "flood": self.flood,
            "flood_off": self.flood_off,
            "set_stars_balance": self.set_stars_balance,
            "inject_update": self.inject_update,
            "send_text": self.send_text,
            "press_button": self.press_button,
            "inline_query": self.inline_query,
            "choose_inline_result": self.choose_inline_result,
            "inline_answer": self.inline_answer,
            "my_chat_member": self.my_chat_member,
            "callback_answer": self.callback_answer,
            "wait_for_requests": self.wait_for_requests,
            "wait_for_sent": self.wait_for_sent,
            "wait_for_message": self.wait_for_message,
            "webhook_deliveries": lambda: self.webhook_deliveries,
        }

    def _set_accept_unknown_chats(self, enabled: bool = True) -> None:
        self.accept_unknown_chats = enabled

    async def _handle_control(self, request: web.Request, name: str) -> web.Response:
        control = self._controls().get(name)
        if control is None:
            return _response(404, {"ok": False, "description": f"unknown control {name!r}"})
        kwargs: JSONDict = {}
        for key, value in request.query.items():
            try:
                kwargs[key] = json.loads(value)
            except ValueError:
                kwargs[key] = value
        if request.body_exists:
            try:
                body = await request.json()
            except ValueError:
                return _response(400, {"ok": False, "description": "body must be a JSON object"})
            if not isinstance(body, dict):
                return _response(400, {"ok": False, "description": "body must be a JSON object"})
            kwargs.update(body)
        try:
            result = control(**kwargs)
            if inspect.isawaitable(result):
                result = await result
        except (TypeError, ValueError, LookupError, TimeoutError) as error:
            return _response(400, {"ok": False, "description": f"{type(error).__name__}: {error}"})
        return _response(200, {"ok": True, "result": _jsonable(result)})


# ----------------------------------------------------------------------------- standalone


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.botapi", description="Run the fake Telegram Bot API server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--no-limits", action="store_true", help="switch flood control off")
    parser.add_argument(
        "--strict-chats", action="store_true", help="unknown chat ids get `chat not found`"
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    api = FakeBotApi(
        token=args.token,
        host=args.host,
        port=args.port,
        limits=not args.no_limits,
        accept_unknown_chats=not args.strict_chats,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with api:
        sys.stdout.write(f"{api.base_url}\ntoken={api.token}\n")
        sys.stdout.flush()
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Run the server until SIGINT/SIGTERM; print the base URL, then the token."""
    asyncio.run(_serve(_parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
