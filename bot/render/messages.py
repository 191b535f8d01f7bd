"""Pure rendering of what the bot says: HTML text plus inline buttons.

Every piece of feed or user text is escaped with `html.escape` before it reaches Telegram;
every message stays within Telegram's limits (4096 characters of text after parsing,
64-byte callback data, 100 buttons). No I/O: the functions take plain values.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit

from bot.render import callback_data as cb

SUMMARY_CHARS = 300
TITLE_CHARS = 256
SOURCE_CHARS = 80
TOPIC_CHARS = 64
BUTTON_TEXT_CHARS = 60
PAGE_SIZE = 5


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """Text in Telegram HTML and its inline keyboard."""

    text: str
    buttons: tuple[tuple[InlineKeyboardButton, ...], ...] = ()
    disable_preview: bool = False

    @property
    def reply_markup(self) -> InlineKeyboardMarkup | None:
        """The keyboard as python-telegram-bot's value type."""
        return InlineKeyboardMarkup(self.buttons) if self.buttons else None


@dataclass(frozen=True, slots=True)
class TopicView:
    """A topic as shown to a chat."""

    id: int
    slug: str
    name: str
    emoji: str = ""
    description: str = ""
    subscribed: bool = False


@dataclass(frozen=True, slots=True)
class PostView:
    """A post as shown in a notification or a list."""

    id: int
    title: str
    url: str | None
    summary: str = ""
    published: datetime | None = None
    source: str | None = None
    topics: tuple[TopicView, ...] = field(default_factory=tuple)


def escape(text: str) -> str:
    """Escape text for Telegram HTML (&, <, > and quotes)."""
    return html.escape(text, quote=True)


def shorten(text: str, limit: int) -> str:
    """Cut text at a word boundary to at most `limit` characters, adding '…' when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-–—") + "…"


def _label(topic: TopicView) -> str:
    name = shorten(topic.name, TOPIC_CHARS)
    return f"{topic.emoji} {name}".strip()


def _date(moment: datetime | None, tz: tzinfo) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(tz).strftime("%-d %b %Y")


def _safe_url(url: str | None) -> str | None:
    # Control characters (a NUL ends Telegram's tag parsing) make the URL unusable.
    if url and url.startswith(("https://", "http://")) and len(url) <= 2048 and url.isprintable():
        return url
    return None


def post_notification(post: PostView, topic: TopicView | None, tz: tzinfo) -> RenderedMessage:
    """The message a subscriber gets for a new post.

    Topic emoji and name, the title as a link, a summary cut at a word boundary, date and
    source; buttons "Read and act" (the post's link) and "Unsubscribe from <topic>".
    """
    url = _safe_url(post.url)
    # A title of only spaces or invisible characters would leave Telegram an empty message.
    title = escape(shorten(post.title, TITLE_CHARS)) if visible(post.title) else "Untitled"
    lines = []
    if topic is not None:
        lines.append(f"<b>{escape(_label(topic))}</b>")
    lines.append(f'<a href="{escape(url)}"><b>{title}</b></a>' if url else f"<b>{title}</b>")
    summary = shorten(post.summary, SUMMARY_CHARS)
    if summary:
        lines.extend(["", escape(summary)])
    meta = [m for m in (_date(post.published, tz), post.source) if m]
    if meta:
        lines.extend(["", f"<i>{escape(shorten(' · '.join(meta), SOURCE_CHARS + 20))}</i>"])
    rows: list[tuple[InlineKeyboardButton, ...]] = []
    if url:
        rows.append((InlineKeyboardButton("Read and act", url=url),))
    if topic is not None:
        text = shorten(f"Unsubscribe from {topic.name}", BUTTON_TEXT_CHARS)
        rows.append((InlineKeyboardButton(text, callback_data=cb.topic_off(topic.id)),))
    return RenderedMessage("\n".join(lines), tuple(rows))


def broadcast_message(
    text_html: str, action_url: str | None, topic: TopicView | None
) -> RenderedMessage:
    """An organiser's call to action: their (already safe) HTML and a "Take action" button."""
    rows: list[tuple[InlineKeyboardButton, ...]] = []
    url = _safe_url(action_url)
    if url:
        rows.append((InlineKeyboardButton("Take action", url=url),))
    if topic is not None:
        text = shorten(f"Unsubscribe from {topic.name}", BUTTON_TEXT_CHARS)
        rows.append((InlineKeyboardButton(text, callback_data=cb.topic_off(topic.id)),))
    return RenderedMessage(text_html, tuple(rows))


def topic_picker(
    topics: Sequence[TopicView], intro: str, view: str = cb.VIEW_PICKER
) -> RenderedMessage:
    """Every topic with its description, and a toggle button per topic (✅ when subscribed)."""
    lines = [intro, ""] if intro else []
    for topic in topics:
        mark = "✅ " if topic.subscribed else ""
        line = f"{mark}<b>{escape(_label(topic))}</b>"
        if topic.description:
            line += f" — {escape(shorten(topic.description, 200))}"
        lines.append(line)
    if not topics:
        lines.append("There are no topics yet.")
    rows = tuple(
        (
            InlineKeyboardButton(
                ("✅ " if t.subscribed else "➕ ") + shorten(_label(t), BUTTON_TEXT_CHARS),
                callback_data=cb.topic_toggle(t.id, view),
            ),
        )
        for t in topics[:90]
    )
    return RenderedMessage(_fit("\n".join(lines)), rows)


def latest_page(
    posts: Sequence[PostView],
    *,
    topic: TopicView | None,
    page: int,
    has_next: bool,
    tz: tzinfo,
) -> RenderedMessage:
    """One page of /latest: up to five posts, with ◀ ▶ buttons that edit the same message."""
    heading = f"Latest posts in <b>{escape(_label(topic))}</b>" if topic else "Latest posts"
    lines = [f"{heading} (page {page + 1})", ""]
    if not posts:
        lines.append("Nothing here yet." if page == 0 else "No more posts.")
    for post in posts:
        url = _safe_url(post.url)
        title = escape(shorten(post.title, 150))
        lines.append(f'• <a href="{escape(url)}">{title}</a>' if url else f"• {title}")
        # Shortening also folds whitespace: no line break may split the <i>…</i> below,
        # because _fit cuts long pages at line breaks.
        source = shorten(post.source, SOURCE_CHARS) if post.source else None
        meta = [m for m in (_date(post.published, tz), source) if m]
        summary = shorten(post.summary, 140)
        detail = " · ".join(meta)
        if summary:
            detail = f"{detail} — {summary}" if detail else summary
        if detail:
            lines.append(f"  <i>{escape(detail)}</i>")
    nav: list[InlineKeyboardButton] = []
    topic_id = topic.id if topic else None
    if page > 0:
        nav.append(
            InlineKeyboardButton("◀ Newer", callback_data=cb.latest_page(topic_id, page - 1))
        )
    if has_next:
        nav.append(
            InlineKeyboardButton("Older ▶", callback_data=cb.latest_page(topic_id, page + 1))
        )
    return RenderedMessage(_fit("\n".join(lines)), (tuple(nav),) if nav else (), True)


def _fit(text: str) -> str:
    """Keep a message under Telegram's limit (measured before parsing, which is stricter)."""
    if len(text) <= MessageLimit.MAX_TEXT_LENGTH:
        return text
    cut = text[: MessageLimit.MAX_TEXT_LENGTH - 2]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else ""
    return cut + "\n…"


# -- supporter conversation (bot.handlers.supporters) ------------------------------------------
# Texts for callback-query answers are plain text (Telegram shows them as a toast, ≤200
# characters, no HTML); every other text here is Telegram HTML with all values escaped.

ANSWER_CHARS = 200
KEY_CHARS = 60
PICKER_INTRO = "Tap a topic to follow it; tap it again to stop."
INVALID_BUTTON = "This button is no longer valid."
ADMINS_ONLY = "Only group admins can change which topics this group follows."
SOMETHING_WRONG = "Sorry, something went wrong. Please try again in a moment."

# (command, arguments, what it does) in the order /help lists them.
SUPPORTER_HELP: tuple[tuple[str, str, str], ...] = (
    ("topics", "", "see the campaign topics and choose what to follow"),
    ("subscribe", "<topic>", "follow a topic, e.g. /subscribe write for rights"),
    ("unsubscribe", "<topic>", "stop following a topic; /unsubscribe all stops everything"),
    ("mysubs", "", "the topics you follow, with a button to unsubscribe from each"),
    ("latest", "[topic]", "the latest posts, five at a time"),
    ("forgetme", "", "delete everything the bot stores about you"),
    ("start", "", "the welcome message and topic picker"),
    ("help", "", "this list"),
)


def _quoted_key(key: str) -> str:
    """A user-typed key, shortened and escaped, in quotes."""
    return f"“{escape(shorten(key, KEY_CHARS))}”"


def _plain(text: str) -> str:
    """A callback-query answer: plain text within Telegram's 200 characters."""
    return shorten(text, ANSWER_CHARS)


def welcome_message(
    *,
    group: bool = False,
    subscribed: TopicView | None = None,
    already: bool = False,
    unknown_key: str | None = None,
) -> RenderedMessage:
    """The /start greeting (the topic picker follows as its own message).

    Args:
        group: The chat is a group: say that admins choose its topics.
        subscribed: A topic the deep link just subscribed the chat to.
        already: The chat followed `subscribed` already.
        unknown_key: A deep-link topic that does not exist.
    """
    lines = [
        "👋 <b>Welcome to Campaign Action Bot!</b>",
        "I bring you new posts and calls to action from the human-rights campaigns you choose.",
        "Group admins choose the topics this group follows; /help lists every command."
        if group
        else "Pick your topics below; /help lists every command.",
    ]
    if subscribed is not None:
        name = escape(_label(subscribed))
        lines += [
            "",
            f"✅ You already follow <b>{name}</b>."
            if already
            else f"✅ You now follow <b>{name}</b>: new posts will arrive here.",
        ]
    if unknown_key is not None:
        lines += ["", f"There is no topic {_quoted_key(unknown_key)}; choose one below instead."]
    return RenderedMessage("\n".join(lines))


def picker_message(topics: Sequence[TopicView]) -> RenderedMessage:
    """The topic picker of /start, /topics and /subscribe without a topic."""
    return topic_picker(topics, PICKER_INTRO, cb.VIEW_PICKER)


def help_message(*, group: bool = False) -> RenderedMessage:
    """/help: every supporter command in one message."""
    lines = ["<b>What I can do</b>", ""]
    for command, args, what in SUPPORTER_HELP:
        usage = f"/{command} {escape(args)}".rstrip()
        lines.append(f"{usage} — {escape(what)}")
    lines.append("")
    if group:
        lines.append(
            "In groups, everyone can read; only group admins can change the group's topics. "
            "Use /forgetme in a private chat with me."
        )
    else:
        lines.append("A topic can be written as its name or its slug, in any case.")
    return RenderedMessage("\n".join(lines))


def mysubs_message(topics: Sequence[TopicView], *, group: bool = False) -> RenderedMessage:
    """/mysubs: the followed topics, each with an "Unsubscribe" button (edited in place)."""
    who = "This group follows" if group else "You follow"
    if not topics:
        nobody = "This group follows no topics yet." if group else "You follow no topics yet."
        return RenderedMessage(f"{nobody} Choose some with /topics.")
    lines = [f"<b>{who}:</b>", ""]
    lines += [f"✅ <b>{escape(_label(t))}</b>" for t in topics]
    lines += ["", "Tap a button to unsubscribe."]
    rows = tuple(
        (
            InlineKeyboardButton(
                shorten(f"✖ Unsubscribe from {t.name}", BUTTON_TEXT_CHARS),
                callback_data=cb.topic_toggle(t.id, cb.VIEW_MYSUBS),
            ),
        )
        for t in topics[:90]
    )
    return RenderedMessage(_fit("\n".join(lines)), rows)


def topic_not_found_message(key: str, suggestions: Sequence[str]) -> RenderedMessage:
    """An unknown topic: "No topic called X. Did you mean: …"."""
    if not key.strip():
        return RenderedMessage("Which topic? Try /topics to see them all.")
    text = f"No topic called {_quoted_key(key)}."
    if suggestions:
        names = ", ".join(f"<b>{escape(shorten(s, TOPIC_CHARS))}</b>" for s in suggestions)
        text += f" Did you mean: {names}?"
    else:
        text += " See /topics for the list."
    return RenderedMessage(text)


def subscribed_message(topic: TopicView, *, changed: bool) -> RenderedMessage:
    """After /subscribe."""
    name = escape(_label(topic))
    if not changed:
        return RenderedMessage(f"You already follow <b>{name}</b>.")
    return RenderedMessage(f"✅ You now follow <b>{name}</b>: new posts will arrive here.")


def unsubscribed_message(topic: TopicView, *, changed: bool) -> RenderedMessage:
    """After /unsubscribe <topic>."""
    name = escape(_label(topic))
    if not changed:
        return RenderedMessage(f"You were not following <b>{name}</b>.")
    return RenderedMessage(f"You no longer follow <b>{name}</b>. /topics to follow it again.")


def unsubscribed_all_message(topics: Sequence[TopicView]) -> RenderedMessage:
    """After /unsubscribe all."""
    if not topics:
        return RenderedMessage("You were not following any topic.")
    names = ", ".join(f"<b>{escape(_label(t))}</b>" for t in topics)
    return RenderedMessage(_fit(f"You no longer follow any topic (stopped: {names})."))


def toggle_answer(topic: TopicView) -> str:
    """The callback answer after a picker or /mysubs button (plain text)."""
    if topic.subscribed:
        return _plain(f"✅ You now follow {topic.name}.")
    return _plain(f"You no longer follow {topic.name}.")


def topic_off_answer(topic: TopicView, *, changed: bool) -> str:
    """The callback answer after "Unsubscribe from <topic>" under a post (plain text)."""
    if not changed:
        return _plain(f"You were not following {topic.name}.")
    return _plain(f"You no longer follow {topic.name}. Use /topics to follow it again.")


def forget_prompt() -> RenderedMessage:
    """/forgetme: what will be deleted, with Delete and Cancel buttons."""
    text = (
        "<b>Delete everything the bot stores about you?</b>\n"
        "That is your subscriptions, the record of messages sent to you, "
        "and your Telegram id and @username. This cannot be undone."
    )
    rows = (
        (
            InlineKeyboardButton("Delete everything", callback_data=cb.FORGET_CONFIRM),
            InlineKeyboardButton("Cancel", callback_data=cb.FORGET_CANCEL),
        ),
    )
    return RenderedMessage(text, rows)


def forget_done_message(
    *, chat: bool, subscriptions: int, deliveries: int, user: bool, role: str | None = None
) -> RenderedMessage:
    """After /forgetme was confirmed: what was deleted."""
    if not (chat or user):
        return RenderedMessage("There was nothing stored about you. /start to begin again.")
    deleted = []
    if chat:
        deleted.append(_count(subscriptions, "subscription"))
        deleted.append(
            _count(
                deliveries, "record of a message sent to you", "records of messages sent to you"
            )
        )
        deleted.append("this chat's record")
    if user:
        who = "your Telegram id and @username"
        if role and role != "supporter":
            who += f" (and your {escape(role)} role)"
        deleted.append(who)
    lines = ["<b>Done. Deleted:</b>", *(f"• {item}" for item in deleted)]
    lines += ["", "/start to begin again."]
    return RenderedMessage("\n".join(lines))


def forget_cancelled_message() -> RenderedMessage:
    """After /forgetme was cancelled."""
    return RenderedMessage("Nothing was deleted.")


def forget_in_group_message() -> RenderedMessage:
    """/forgetme in a group: it concerns a person, so it works in a private chat."""
    return RenderedMessage("To delete your data, send /forgetme to me in a private chat.")


def free_text_hint() -> RenderedMessage:
    """A message that is not a command."""
    return RenderedMessage(
        "I only understand commands. Send /help to see them, or /topics to choose topics."
    )


def unknown_command_hint(command: str) -> RenderedMessage:
    """A command the bot does not know."""
    name = escape(shorten(command, KEY_CHARS))
    return RenderedMessage(f"I don't know {name}. Send /help to see what I can do.")


def admins_only_message() -> RenderedMessage:
    """A group member who is not an admin tried to change the group's topics."""
    return RenderedMessage(f"Sorry, {escape(ADMINS_ONLY[0].lower() + ADMINS_ONLY[1:])}")


def group_welcome_message() -> RenderedMessage:
    """Sent when the bot is added to a group."""
    return RenderedMessage(
        "👋 Thanks for adding me! Group admins can choose the topics this group follows with "
        "/topics; /help lists every command."
    )


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


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
