"""Senders: one rendered message to one chat, Telegram's answer mapped to an outcome.

`LeanSender` is the bulk path (one serialisation per message, one pooled aiohttp session, the
answer read for `message_id` only); `TelegramSender` goes through python-telegram-bot. Both map
errors through `classify`, so they give the same `DeliveryOutcome` for the same answer.

The sender uses its own `telegram.Bot` without PTB's rate limiter: the delivery engine paces
bulk sends itself, and the Application's bot (with AIORateLimiter) stays free for replies to
people, so a supporter's /topics is never queued behind a 20,000-chat fan-out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus

import aiohttp
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.domain.types import DeliveryOutcome, OutcomeKind
from bot.render.text import RenderedMessage

# 400 answers that mean "this chat cannot receive messages from us" rather than "bad message".
# A group that forbids the bot text (`not enough rights to send text messages to the chat`)
# counts: every message we send is text or a caption, so retrying each delivery would only
# spend the group's 20-a-minute budget on refusals. The chat comes back when the bot's rights
# change (`my_chat_member`) or anyone uses the bot there (bot/handlers/members.py).
_UNREACHABLE_400 = (
    "chat not found",
    "user not found",
    "have no write access",
    "need administrator rights",  # a channel where the bot may no longer post
    "not enough rights to send text messages",
    "group chat was deactivated",
    "chat_write_forbidden",
    "peer_id_invalid",
)
# 400 answers that refuse one kind of content, e.g. `not enough rights to send photos to the
# chat` in a group that forbids media: the chat still takes text. Checked after the above.
_MEDIA_REFUSED_400 = (
    "not enough rights to send",
    "chat_send_photos_forbidden",
    "chat_send_media_forbidden",
)
# 400 answers refusing a photo given by URL: Telegram could not download it or it is not an
# image (`wrong file identifier/HTTP URL specified`, `failed to get HTTP URL content`, `wrong
# type of the web page content`; the last two are TDLib's WEBPAGE_CURL_FAILED and
# WEBPAGE_MEDIA_EMPTY). The image is at fault, not the chat: the text goes instead, and the
# post's image is not tried again. PTB lower-cases these messages ("Wrong file identifier/http
# url specified"), so they are matched lower-cased.
_IMAGE_REFUSED_400 = (
    "wrong file identifier/http url specified",
    "failed to get http url content",
    "wrong type of the web page content",
    "webpage_curl_failed",
    "webpage_media_empty",
    "image_process_failed",
    "photo_invalid_dimensions",
)
# A paid broadcast (`allow_paid_broadcast`) the bot's Stars balance cannot pay for. Telegram
# answers `400 Bad Request: BALANCE_TOO_LOW` (its error name for a Stars balance too low; the
# fake Bot API reproduces it). The message was not sent: it goes again at the normal pace.
_PAID_REFUSED_400 = ("balance_too_low", "not enough stars", "stars balance")


def retry_seconds(value: int | float | timedelta) -> float:
    """RetryAfter.retry_after as seconds, whether PTB gives an int or a timedelta."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def classify(error: TelegramError) -> DeliveryOutcome:
    """Map a python-telegram-bot exception to a delivery outcome (order matters: subclasses)."""
    message = error.message
    if isinstance(error, RetryAfter):
        return DeliveryOutcome(
            OutcomeKind.RETRY_AFTER, retry_after=retry_seconds(error.retry_after), error=message
        )
    if isinstance(error, ChatMigrated):
        return DeliveryOutcome(OutcomeKind.MIGRATED, new_chat_id=error.new_chat_id, error=message)
    if isinstance(error, Forbidden):
        return DeliveryOutcome(OutcomeKind.UNREACHABLE, error=message)
    if isinstance(error, BadRequest):
        lowered = message.lower()
        if any(marker in lowered for marker in _PAID_REFUSED_400):
            return DeliveryOutcome(OutcomeKind.PAID_REFUSED, error=message)
        if any(marker in lowered for marker in _UNREACHABLE_400):
            return DeliveryOutcome(OutcomeKind.UNREACHABLE, error=message)
        if any(marker in lowered for marker in _MEDIA_REFUSED_400):
            return DeliveryOutcome(OutcomeKind.MEDIA_REFUSED, error=message)
        if any(marker in lowered for marker in _IMAGE_REFUSED_400):
            return DeliveryOutcome(OutcomeKind.IMAGE_REFUSED, error=message)
        return DeliveryOutcome(OutcomeKind.PERMANENT, error=message)
    if isinstance(error, TimedOut | NetworkError):
        return DeliveryOutcome(OutcomeKind.TRANSIENT, error=message or type(error).__name__)
    return DeliveryOutcome(OutcomeKind.TRANSIENT, error=message or type(error).__name__)


class TelegramSender:
    """Sends through a python-telegram-bot `Bot`."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(
        self,
        chat_id: int,
        message: RenderedMessage,
        photo: str | None = None,
        *,
        paid: bool = False,
    ) -> DeliveryOutcome:
        """Send one message; never raises for a Telegram answer."""
        try:
            if photo:
                sent = await self._bot.send_photo(
                    chat_id,
                    photo,
                    caption=message.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=message.reply_markup,
                    allow_paid_broadcast=paid or None,
                )
            else:
                sent = await self._bot.send_message(
                    chat_id,
                    message.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=message.reply_markup,
                    link_preview_options=message.link_preview_options,
                    allow_paid_broadcast=paid or None,
                )
        except TelegramError as error:
            return classify(error)
        return DeliveryOutcome(OutcomeKind.SENT, message_id=sent.message_id)


# ----------------------------------------------------------------------------- the lean path

_HTTP_PHRASES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
_JSON = {"Content-Type": "application/json"}
_CHAT_ID = b'{"chat_id":'


def _error_for(status: int, payload: bytes) -> TelegramError:
    """The exception python-telegram-bot raises for this answer (BaseRequest._request_wrapper).

    Built only on the rare error path, so `classify` maps the lean path's answers to exactly the
    outcomes of the PTB path (same kinds, same error texts).
    """
    try:
        message = f"{HTTPStatus(status).phrase} ({status})"
    except ValueError:
        message = f"Unknown HTTPError ({status})"
    try:
        data = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        data = None
    if isinstance(data, dict):
        message = data.get("description") or message
        parameters = data.get("parameters")
        if isinstance(parameters, dict) and parameters:
            if migrate_to := parameters.get("migrate_to_chat_id"):
                return ChatMigrated(migrate_to)
            if retry_after := parameters.get("retry_after"):
                return RetryAfter(retry_after)
            message += f". The server response contained unknown parameters: {parameters}"
    else:
        message += f". Parsing the server response {payload!r} failed"
    if status == HTTPStatus.FORBIDDEN:
        return Forbidden(message)
    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        return InvalidToken(message)
    if status == HTTPStatus.BAD_REQUEST:
        return BadRequest(message)
    if status == HTTPStatus.CONFLICT:
        return Conflict(message)
    return NetworkError(message)


@dataclass(frozen=True, slots=True)
class _Body:
    """A request body serialised once: everything after `{"chat_id":<id>,`."""

    method: str
    tail: bytes


class LeanSender:
    """Bulk sends without python-telegram-bot's request machinery (docs/ARCHITECTURE.md).

    The body of a post or broadcast is the same for every chat but `chat_id`: it is serialised
    to JSON once per rendered message (and photo, and paid flag) and each request only joins
    the chat id in front. One pooled aiohttp session with HTTP/1.1 keep-alive carries every
    request; a successful answer is read for `result.message_id` alone. Errors are turned into
    the very exceptions python-telegram-bot raises and classified by `classify`, so the
    outcomes are the same as `TelegramSender`'s. Replies to people still go through PTB.

    Args:
        base_url: The bot's API base with the token, e.g. `https://api.telegram.org/bot<token>`
            (`telegram.Bot.base_url`).
        connections: Most connections kept open to the API.
        read_timeout: Seconds to wait for an answer (a timeout is a transient outcome).
        connect_timeout: Seconds to wait for a connection.
    """

    def __init__(
        self,
        base_url: str,
        *,
        connections: int = 64,
        read_timeout: float = 15.0,
        connect_timeout: float = 10.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._connections = connections
        self._timeout = aiohttp.ClientTimeout(
            total=read_timeout + connect_timeout,
            connect=connect_timeout,
            sock_read=read_timeout,
        )
        self._session: aiohttp.ClientSession | None = None
        self._bodies: dict[tuple[RenderedMessage, str | None, bool], _Body] = {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._connections, keepalive_timeout=30, ttl_dns_cache=300
                ),
                timeout=self._timeout,
                trust_env=False,
                json_serialize=json.dumps,
            )
        return self._session

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def body(self, message: RenderedMessage, photo: str | None, paid: bool) -> _Body:
        """The serialised body of `message` without its chat id (cached per message)."""
        key = (message, photo, paid)
        cached = self._bodies.get(key)
        if cached is not None:
            return cached
        fields: dict[str, object]
        markup = message.reply_markup
        if photo:
            method = "sendPhoto"
            fields = {"photo": photo, "caption": message.text, "parse_mode": ParseMode.HTML.value}
        else:
            method = "sendMessage"
            fields = {
                "text": message.text,
                "parse_mode": ParseMode.HTML.value,
                "link_preview_options": message.link_preview_options.to_dict(),
            }
        if markup is not None:
            fields["reply_markup"] = markup.to_dict()
        if paid:
            fields["allow_paid_broadcast"] = True
        encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
        made = _Body(f"{self._base_url}/{method}", b"," + encoded[1:])
        if len(self._bodies) >= 1000:  # tracked links make a message per delivery
            self._bodies.clear()
        self._bodies[key] = made
        return made

    async def send(
        self,
        chat_id: int,
        message: RenderedMessage,
        photo: str | None = None,
        *,
        paid: bool = False,
    ) -> DeliveryOutcome:
        """Send one message; never raises for a Telegram answer or a network error."""
        body = self.body(message, photo, paid)
        data = _CHAT_ID + str(chat_id).encode() + body.tail
        try:
            async with self._client().post(body.method, data=data, headers=_JSON) as response:
                status = response.status
                payload = await response.read()
        except TimeoutError:
            return classify(TimedOut())
        except aiohttp.ClientError as error:
            return classify(NetworkError(f"aiohttp.{error.__class__.__name__}: {error}"))
        if 200 <= status <= 299:
            try:
                message_id = json.loads(payload)["result"]["message_id"]
            except (ValueError, KeyError, TypeError):
                return classify(TelegramError("Invalid server response"))
            return DeliveryOutcome(OutcomeKind.SENT, message_id=int(message_id))
        return classify(_error_for(status, payload))
