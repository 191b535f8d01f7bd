"""What every rendered message is made of: the message type, escaping, shortening, dates, limits.

Also the few replies that several audiences get alike (an invalid button, an unknown topic,
a staff command used in a group). The audience modules (`notifications`, `supporters`,
`organisers`, `admins`) build their messages from these.

Every piece of feed or user text is escaped with `html.escape` before it reaches Telegram;
every message stays within Telegram's limits (4096 characters of text after parsing,
64-byte callback data, 100 buttons). No I/O: the functions take plain values.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import MessageLimit

from bot.domain.topics import PREVIEW_LARGE, PREVIEW_SMALL
from bot.domain.views import TopicView
from bot.errors import InvalidInputError
from bot.render.i18n import N_, SOURCE_LANGUAGE, translator

SOURCE_CHARS = 80
TOPIC_CHARS = 64
BUTTON_TEXT_CHARS = 60
# Texts for callback-query answers are plain text (Telegram shows them as a toast, ≤200
# characters, no HTML); every other text is Telegram HTML with all values escaped.
ANSWER_CHARS = 200
KEY_CHARS = 60


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """Text in Telegram HTML and its inline keyboard."""

    text: str
    buttons: tuple[tuple[InlineKeyboardButton, ...], ...] = ()
    disable_preview: bool = False
    # The URL Telegram's link preview shows (None: the first link of the text).
    preview_url: str | None = None
    # The preview's image: "small" (below the text) or "large"; None lets Telegram choose.
    preview_size: str | None = None

    @property
    def reply_markup(self) -> InlineKeyboardMarkup | None:
        """The keyboard as python-telegram-bot's value type."""
        return InlineKeyboardMarkup(self.buttons) if self.buttons else None

    @property
    def link_preview_options(self) -> LinkPreviewOptions:
        """What both senders pass as `link_preview_options` when the message is text.

        Off → `is_disabled`; small → `prefer_small_media`, below the text; large →
        `prefer_large_media`. A photo's caption has no link preview.
        """
        if self.disable_preview:
            return LinkPreviewOptions(is_disabled=True, url=self.preview_url)
        if self.preview_size == PREVIEW_SMALL:
            return LinkPreviewOptions(
                is_disabled=False,
                url=self.preview_url,
                prefer_small_media=True,
                show_above_text=False,
            )
        if self.preview_size == PREVIEW_LARGE:
            return LinkPreviewOptions(
                is_disabled=False, url=self.preview_url, prefer_large_media=True
            )
        return LinkPreviewOptions(is_disabled=False, url=self.preview_url)


def escape(text: str) -> str:
    """Escape text for Telegram HTML (&, <, > and quotes)."""
    return html.escape(text, quote=True)


# Whitespace that folds; no-break spaces (U+00A0, U+2007, U+202F) stay as they are.
_FOLDABLE = re.compile(r"[^\S\u00a0\u2007\u202f]+")


def shorten(text: str, limit: int) -> str:
    """Cut text at a word boundary to at most `limit` characters, adding '…' when cut.

    Runs of whitespace fold into one space, except no-break spaces (French typography's
    « » and the space before ! ? : ; keep theirs).
    """
    text = _FOLDABLE.sub(" ", text).strip(" ")
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-–—") + "…"


def topic_label(topic: TopicView) -> str:
    """A topic's emoji and name, the name shortened (plain text: escape it)."""
    name = shorten(topic.name, TOPIC_CHARS)
    return f"{topic.emoji} {name}".strip()


# Fixed English names: strftime's %b and %a follow the process locale (LC_TIME), and its
# unpadded day %-d is a glibc extension (Windows and others reject it).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# Other languages' dates come from Babel (CLDR): "5 mars 2026", "jeu. 5 mars 2026 14:30".
_PATTERNS = {
    (False, False): "d MMMM y",
    (True, False): "EEE d MMMM y",
    (False, True): "d MMMM y HH:mm",
    (True, True): "EEE d MMMM y HH:mm",
}


def format_date(
    moment: datetime,
    tz: tzinfo,
    *,
    weekday: bool = False,
    time: bool = False,
    language: str = SOURCE_LANGUAGE,
) -> str:
    """A moment as a date in `tz`: "5 Mar 2026", "Thu 5 Mar 2026", "5 Mar 2026 14:30".

    The one place dates are worded, the same on every platform and under every locale;
    in French (Babel): "5 mars 2026", "jeu. 5 mars 2026 14:30".
    """
    if language != SOURCE_LANGUAGE:
        return translator(language).datetime(moment, tz, _PATTERNS[weekday, time])
    local = moment.astimezone(tz)
    text = f"{local.day} {_MONTHS[local.month - 1]} {local.year}"
    if weekday:
        text = f"{_WEEKDAYS[local.weekday()]} {text}"
    if time:
        text = f"{text} {local.hour:02d}:{local.minute:02d}"
    return text


def optional_date(
    moment: datetime | None, tz: tzinfo, language: str = SOURCE_LANGUAGE
) -> str | None:
    """`format_date` of a moment that may be unknown (then None)."""
    if moment is None:
        return None
    return format_date(moment, tz, language=language)


def safe_url(url: str | None) -> str | None:
    """The URL if Telegram can use it as a link or a button, else None."""
    # Control characters (a NUL ends Telegram's tag parsing) make the URL unusable.
    if url and url.startswith(("https://", "http://")) and len(url) <= 2048 and url.isprintable():
        return url
    return None


def fit(text: str) -> str:
    """Keep a message under Telegram's limit (measured before parsing, which is stricter)."""
    if len(text) <= MessageLimit.MAX_TEXT_LENGTH:
        return text
    cut = text[: MessageLimit.MAX_TEXT_LENGTH - 2]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else ""
    return cut + "\n…"


def caption_length(html_text: str) -> int:
    """The length Telegram counts of a caption or text: after parsing, in UTF-16 code units.

    For the bot's own HTML (tags it wrote, every other `<` escaped): tags removed, entities
    decoded, leading and trailing whitespace trimmed. Telegram counts code points; UTF-16
    units are never fewer, so a text within the limit by this count is within it there.
    """
    plain = html.unescape(_TAG.sub("", html_text)).strip()
    return len(plain.encode("utf-16-le")) // 2


_TAG = re.compile(r"<[^>]*>")


def counted(n: int, one: str, many: str | None = None) -> str:
    """A number with its noun: "1 chat", "2 chats", "3 entries" (given `many`)."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def answer_text(text: str) -> str:
    """A callback-query answer: plain text within Telegram's 200 characters."""
    return shorten(text, ANSWER_CHARS)


def quoted_key(key: str, language: str = SOURCE_LANGUAGE) -> str:
    """A user-typed key, shortened and escaped, in quotes (“…” or « … »)."""
    text = escape(shorten(key, KEY_CHARS))
    if language == "fr":
        return f"«\u00a0{text}\u00a0»"
    return f"“{text}”"


# Characters Telegram treats as blank although they are letters or symbols to Unicode.
_BLANK_LOOKALIKES = frozenset("\u115f\u1160\u2800\u3164\uffa0")


def visible(text: str) -> bool:
    """Whether `text` has a character that shows (not a space, control or format character)."""
    return any(
        not char.isspace()
        and char not in _BLANK_LOOKALIKES
        and unicodedata.category(char) not in ("Cc", "Cf", "Zs", "Zl", "Zp")
        for char in text
    )


# -- replies several audiences share ------------------------------------------------------------

# English texts marked for the catalogs; the functions below give them in a chat's language.
INVALID_BUTTON = N_("This button is no longer valid.")
SOMETHING_WRONG = N_("Sorry, something went wrong. Please try again in a moment.")
PRIVATE_ONLY_ANSWER = N_("Please use this in a private chat with me.")


# A command or button of a role the sender does not hold, by the role it needs.
REFUSALS = {
    "organiser": N_("Sorry, only organisers and admins can do that."),
    "admin": N_("Sorry, only admins can do that."),
}
NOT_ALLOWED = N_("Sorry, you are not allowed to do that.")


def refusal(needed: str, language: str = SOURCE_LANGUAGE) -> str:
    """Why a staff command or button was refused (`needed`: the role it takes)."""
    return translator(language).gettext(REFUSALS.get(needed, NOT_ALLOWED))


def reason(error: InvalidInputError, language: str = SOURCE_LANGUAGE) -> str:
    """Why an input was refused, in `language` (plain text: escape it for HTML).

    A reason raised with `InvalidInputError.worded` is a catalog message; any other reads as
    raised (English).
    """
    if error.template is None:
        return str(error)
    text = translator(language).gettext(error.template)
    return text % error.values if error.values else text


def invalid_button(language: str = SOURCE_LANGUAGE) -> str:
    """The answer to a button that is stale, forged or no longer on its message."""
    return translator(language).gettext(INVALID_BUTTON)


def something_wrong(language: str = SOURCE_LANGUAGE) -> str:
    """The apology for an unexpected error."""
    return translator(language).gettext(SOMETHING_WRONG)


def private_only_answer(language: str = SOURCE_LANGUAGE) -> str:
    """A staff button pressed in a group (a callback answer)."""
    return translator(language).gettext(PRIVATE_ONLY_ANSWER)


def topic_not_found_message(
    key: str, suggestions: Sequence[str], language: str = SOURCE_LANGUAGE
) -> RenderedMessage:
    """An unknown topic: "No topic called X. Did you mean: …"."""
    t = translator(language)
    if not key.strip():
        return RenderedMessage(t.gettext("Which topic? Try /topics to see them all."))
    text = t.gettext("No topic called %(key)s.") % {"key": quoted_key(key, language)}
    if suggestions:
        names = ", ".join(f"<b>{escape(shorten(s, TOPIC_CHARS))}</b>" for s in suggestions)
        text += " " + t.gettext("Did you mean: %(names)s?") % {"names": names}
    else:
        text += " " + t.gettext("See /topics for the list.")
    return RenderedMessage(text)


def private_only_message(
    bot_username: str | None, language: str = SOURCE_LANGUAGE
) -> RenderedMessage:
    """An organiser or admin command in a group or channel: where to use it instead."""
    t = translator(language)
    if not bot_username:
        return RenderedMessage(t.gettext("Please use this command in a private chat with me."))
    name = escape(bot_username)
    link = f'<a href="https://t.me/{name}">@{name}</a>'
    text = t.gettext("Please use this command in a private chat with me: %(link)s.")
    return RenderedMessage(text % {"link": link}, disable_preview=True)
