"""TelegramSender: sends one rendered message and maps python-telegram-bot errors to outcomes.

The sender uses its own `telegram.Bot` without PTB's rate limiter: the delivery engine paces
bulk sends itself, and the Application's bot (with AIORateLimiter) stays free for replies to
people, so a supporter's /topics is never queued behind a 20,000-chat fan-out.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
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
        if any(marker in lowered for marker in _UNREACHABLE_400):
            return DeliveryOutcome(OutcomeKind.UNREACHABLE, error=message)
        if any(marker in lowered for marker in _MEDIA_REFUSED_400):
            return DeliveryOutcome(OutcomeKind.MEDIA_REFUSED, error=message)
        return DeliveryOutcome(OutcomeKind.PERMANENT, error=message)
    if isinstance(error, TimedOut | NetworkError):
        return DeliveryOutcome(OutcomeKind.TRANSIENT, error=message or type(error).__name__)
    return DeliveryOutcome(OutcomeKind.TRANSIENT, error=message or type(error).__name__)


class TelegramSender:
    """Sends through a python-telegram-bot `Bot`."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(
        self, chat_id: int, message: RenderedMessage, photo: str | None = None
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
                )
            else:
                sent = await self._bot.send_message(
                    chat_id,
                    message.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=message.reply_markup,
                    link_preview_options=LinkPreviewOptions(
                        is_disabled=message.disable_preview, url=message.preview_url
                    ),
                )
        except TelegramError as error:
            return classify(error)
        return DeliveryOutcome(OutcomeKind.SENT, message_id=sent.message_id)
