"""Pace texts: the digest message, /settings, /digest, /quiet, /timezone replies. Pure.

Every text goes through `translator(language).gettext` (English msgids) so the catalogs can
take them; every feed string is escaped. A digest is split into several messages only where
Telegram's 4,096-character limit (counted after parsing, in UTF-16 code units) forces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton
from telegram.constants import MessageLimit

from bot.domain.pace import (
    TIMEZONE_CHOICES,
    WEEKDAYS,
    Digest,
    PaceInputError,
    QuietHours,
    SettingsView,
)
from bot.domain.views import PostView, TopicView
from bot.render import callback_data as cb
from bot.render.i18n import translator
from bot.render.text import RenderedMessage, escape, safe_url, shorten, topic_label, visible

DIGEST_ITEMS = 30  # posts listed in one digest; the rest are counted ("…and N more")
DIGEST_TITLE_CHARS = 150
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}

# Presets offered as buttons (any other time: the commands).
DIGEST_PRESETS = ("off", "daily 08:00", "daily 18:00", "weekly mon 09:00")
QUIET_PRESETS = ("off", "22:00-08:00", "23:00-07:00")


def _units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One post of a digest and the followed topic it came under (None: no topic)."""

    post: PostView
    topic: TopicView | None


def _weekday_name(language: str, weekday: int) -> str:
    t = translator(language)
    names = (
        t.gettext("Monday"),
        t.gettext("Tuesday"),
        t.gettext("Wednesday"),
        t.gettext("Thursday"),
        t.gettext("Friday"),
        t.gettext("Saturday"),
        t.gettext("Sunday"),
    )
    return names[weekday]


def digest_label(digest: Digest | None, language: str) -> str:
    """The pace in words: instant, a daily or a weekly digest (plain text)."""
    t = translator(language)
    if digest is None:
        return t.gettext("instant (each post as it comes)")
    clock = digest.at.strftime("%H:%M")
    if digest.weekday is None:
        return t.gettext("daily digest at %(time)s") % {"time": clock}
    return t.gettext("weekly digest on %(day)s at %(time)s") % {
        "day": _weekday_name(language, digest.weekday),
        "time": clock,
    }


def quiet_label(quiet: QuietHours | None, language: str) -> str:
    """The quiet hours in words, or none (plain text)."""
    if quiet is None:
        return translator(language).gettext("none")
    return f"{quiet.start.strftime('%H:%M')}–{quiet.end.strftime('%H:%M')}"


def digest_messages(
    items: Sequence[DigestItem], language: str, *, weekly: bool = False
) -> list[RenderedMessage]:
    """The digest: posts grouped by topic, newest first, titles as links; [] if no items.

    Groups come in the order of their newest post; at most DIGEST_ITEMS posts are listed and
    the rest counted, with /latest. Split into several messages only past Telegram's limit.
    """
    if not items:
        return []
    t = translator(language)
    shown = list(items[:DIGEST_ITEMS])
    more = len(items) - len(shown)
    header = (
        t.ngettext(
            "📰 Your weekly digest: %(n)s new post",
            "📰 Your weekly digest: %(n)s new posts",
            len(items),
        )
        if weekly
        else t.ngettext(
            "📰 Your daily digest: %(n)s new post",
            "📰 Your daily digest: %(n)s new posts",
            len(items),
        )
    )
    groups: dict[int, tuple[TopicView | None, list[PostView]]] = {}
    for item in shown:
        key = item.topic.id if item.topic is not None else 0
        groups.setdefault(key, (item.topic, []))[1].append(item.post)
    # (html, plain) lines
    lines: list[tuple[str, str]] = [(f"<b>{escape(header)}</b>", header)]
    for topic, posts in groups.values():
        name = topic_label(topic) if topic is not None else t.gettext("Other posts")
        lines.append(("", ""))
        lines.append((f"<b>{escape(name)}</b>", name))
        for post in posts:
            title = shorten(post.title, DIGEST_TITLE_CHARS) if visible(post.title) else "…"
            url = safe_url(post.url)
            link = f'<a href="{escape(url)}">{escape(title)}</a>' if url else escape(title)
            lines.append((f"• {link}", f"• {title}"))
    if more:
        tail = t.ngettext("…and %(n)s more: see /latest", "…and %(n)s more: see /latest", more)
        lines.extend([("", ""), (escape(tail), tail)])
    return [
        RenderedMessage("\n".join(part).strip("\n"), disable_preview=True)
        for part in _split(lines, MessageLimit.MAX_TEXT_LENGTH)
    ]


def _split(lines: Sequence[tuple[str, str]], limit: int) -> list[list[str]]:
    """Group lines into parts whose visible text stays within `limit`."""
    parts: list[list[str]] = [[]]
    size = 0
    for html_line, plain in lines:
        cost = _units(plain) + 1
        if parts[-1] and size + cost > limit:
            parts.append([])
            size = 0
        if not parts[-1] and not html_line:
            continue  # no part starts with a blank line
        parts[-1].append(html_line)
        size += cost
    return [part for part in parts if part]


# -- settings ------------------------------------------------------------------------------------


def settings_message(view: SettingsView, *, group: bool = False) -> RenderedMessage:
    """One message with the chat's settings and buttons for all of them (edited in place)."""
    t = translator(view.language)
    title = t.gettext("⚙️ Settings of this group") if group else t.gettext("⚙️ Your settings")
    lines = [
        f"<b>{escape(title)}</b>",
        "",
        escape(
            t.gettext("Language: %(language)s")
            % {"language": LANGUAGE_NAMES.get(view.language, view.language)}
        ),
        escape(t.gettext("Pace: %(pace)s") % {"pace": digest_label(view.digest, view.language)}),
        escape(
            t.gettext("Quiet hours: %(quiet)s") % {"quiet": quiet_label(view.quiet, view.language)}
        ),
        escape(t.gettext("Time zone: %(zone)s") % {"zone": view.timezone}),
    ]
    if view.held:
        lines.append(
            escape(
                t.ngettext(
                    "%(n)s message waits for your digest or the end of your quiet hours.",
                    "%(n)s messages wait for your digest or the end of your quiet hours.",
                    view.held,
                )
            )
        )
    lines.extend(
        [
            "",
            escape(
                t.gettext(
                    "Other times: /digest daily 07:30, /digest weekly fri 17:00, "
                    "/quiet 21:00-07:00, /timezone Vancouver. Language: /language."
                )
            ),
        ]
    )
    current_digest = view.digest.code() if view.digest else "off"
    current_quiet = view.quiet.code() if view.quiet else "off"
    digest_row = tuple(
        InlineKeyboardButton(
            _mark(_preset_digest_label(code, view.language), code == current_digest),
            callback_data=cb.pace_digest(code),
        )
        for code in DIGEST_PRESETS
    )
    quiet_row = tuple(
        InlineKeyboardButton(
            _mark(_preset_quiet_label(code, view.language), code == current_quiet),
            callback_data=cb.pace_quiet(code),
        )
        for code in QUIET_PRESETS
    )
    zone_row = (
        InlineKeyboardButton(
            t.gettext("🕐 Time zone: %(zone)s") % {"zone": view.timezone},
            callback_data=cb.PACE_ZONES,
        ),
    )
    # The same buttons as /language's (same callback data, same handler), which edits this
    # message in place in the new language when pressed here (see `is_settings_keyboard`).
    language_row = tuple(
        InlineKeyboardButton(_mark(name, code == view.language), callback_data=cb.language(code))
        for code, name in LANGUAGE_NAMES.items()
    )
    return RenderedMessage(
        "\n".join(lines),
        (language_row, digest_row[:2], digest_row[2:], quiet_row, zone_row),
    )


def is_settings_keyboard(callback_data: list[str]) -> bool:
    """Whether a message whose buttons carry `callback_data` is a /settings message."""
    return cb.PACE_ZONES in callback_data


def _mark(label: str, current: bool) -> str:
    return f"✅ {label}" if current else label


def _preset_digest_label(code: str, language: str) -> str:
    t = translator(language)
    if code == "off":
        return t.gettext("Instant")
    words = code.split()
    if words[0] == "daily":
        return t.gettext("Daily %(time)s") % {"time": words[1]}
    day = _weekday_name(language, WEEKDAYS.index(words[1]))
    return t.gettext("Weekly %(day)s %(time)s") % {"day": day, "time": words[2]}


def _preset_quiet_label(code: str, language: str) -> str:
    if code == "off":
        return translator(language).gettext("No quiet hours")
    start, end = code.split("-")
    return translator(language).gettext("Quiet %(start)s–%(end)s") % {"start": start, "end": end}


def zones_message(current: str, language: str) -> RenderedMessage:
    """The time-zone picker (from /timezone without argument, or /settings)."""
    t = translator(language)
    text = "\n".join(
        [
            f"<b>{escape(t.gettext('🕐 Time zone'))}</b>",
            "",
            escape(t.gettext("Now: %(zone)s") % {"zone": current}),
            escape(
                t.gettext(
                    "Pick one, or send /timezone with a zone name or a city "
                    "(Montréal, Halifax, Winnipeg, Vancouver, Paris…)."
                )
            ),
        ]
    )
    buttons = [
        InlineKeyboardButton(_mark(name, name == current), callback_data=cb.pace_zone(i))
        for i, name in enumerate(TIMEZONE_CHOICES)
    ]
    rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
    back = (InlineKeyboardButton(t.gettext("◀ Settings"), callback_data=cb.PACE_HOME),)
    return RenderedMessage(text, (*rows, back))


def digest_set_message(digest: Digest | None, language: str) -> RenderedMessage:
    """The answer to /digest."""
    t = translator(language)
    if digest is None:
        return RenderedMessage(
            escape(t.gettext("Digest off: each post comes as it is published."))
        )
    return RenderedMessage(
        escape(
            t.gettext("Done: %(pace)s. Posts wait for it; nothing is sent when nothing is new.")
            % {"pace": digest_label(digest, language)}
        )
    )


def quiet_set_message(quiet: QuietHours | None, language: str) -> RenderedMessage:
    """The answer to /quiet."""
    t = translator(language)
    if quiet is None:
        return RenderedMessage(escape(t.gettext("Quiet hours off.")))
    return RenderedMessage(
        escape(
            t.gettext("Quiet hours: %(quiet)s. Messages that come then wait until they end.")
            % {"quiet": quiet_label(quiet, language)}
        )
    )


def timezone_set_message(zone: str, language: str) -> RenderedMessage:
    """The answer to /timezone <zone>."""
    t = translator(language)
    return RenderedMessage(escape(t.gettext("Time zone: %(zone)s.") % {"zone": zone}))


def pace_error_message(error: PaceInputError, language: str) -> RenderedMessage:
    """A /digest, /quiet or /timezone argument we do not understand: what is expected."""
    t = translator(language)
    if error.what == "digest":
        text = t.gettext(
            "I did not understand that. Try /digest daily 18:00, /digest weekly mon 09:00 "
            "or /digest off."
        )
    elif error.what == "quiet":
        text = t.gettext(
            "I did not understand that. Try /quiet 22:00-08:00 (start and end differ) "
            "or /quiet off."
        )
    else:
        text = t.gettext(
            "I do not know that time zone. Send a zone name such as America/Toronto or "
            "Europe/Paris, or a city such as Montréal, or /timezone alone for a list."
        )
    return RenderedMessage(escape(text))


def settings_answer(language: str) -> str:
    """The toast after a settings button."""
    return translator(language).gettext("Saved.")


def admins_only_answer(language: str) -> str:
    """A group member who is not a group admin pressed or typed a settings change."""
    return translator(language).gettext("Only group admins can change this group's settings.")
