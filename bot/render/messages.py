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


# Fixed English names: strftime's %b and %a follow the process locale (LC_TIME), and its
# unpadded day %-d is a glibc extension (Windows and others reject it).
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def format_date(moment: datetime, tz: tzinfo, *, weekday: bool = False, time: bool = False) -> str:
    """A moment as a date in `tz`: "5 Mar 2026", "Thu 5 Mar 2026", "5 Mar 2026 14:30".

    The one place dates are worded, the same on every platform and under every locale.
    """
    local = moment.astimezone(tz)
    text = f"{local.day} {_MONTHS[local.month - 1]} {local.year}"
    if weekday:
        text = f"{_WEEKDAYS[local.weekday()]} {text}"
    if time:
        text = f"{text} {local.hour:02d}:{local.minute:02d}"
    return text


def _date(moment: datetime | None, tz: tzinfo) -> str | None:
    if moment is None:
        return None
    return format_date(moment, tz)


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


def archive_notice(topic: TopicView) -> str:
    """The notice a topic's followers get when it is archived (HTML, sent as a notice)."""
    return (
        f"The topic <b>{escape(_label(topic))}</b> has been archived: you will get no more "
        "posts about it. Send /topics to choose other topics."
    )


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
    ("whoami", "", "your Telegram id and your role with this bot"),
    ("start", "", "the welcome message and topic picker"),
    ("help", "", "this list"),
)
# What a command does when it concerns the group rather than the person asking.
GROUP_HELP = {"mysubs": "the topics this group follows, with a button to unsubscribe from each"}


def _follows(group: bool, adverb: str = "") -> str:
    """The start of a sentence about following: "You now follow" or "This group now follows"."""
    subject, verb = ("This group", "follows") if group else ("You", "follow")
    return " ".join(w for w in (subject, adverb, verb) if w)


def _was_not_following(group: bool) -> str:
    """The start of "You were not following …" or "This group was not following …"."""
    return "This group was not following" if group else "You were not following"


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
        "I bring this group new posts and calls to action from human-rights campaigns."
        if group
        else "I bring you new posts and calls to action from the human-rights campaigns you "
        "choose.",
        "Group admins choose the topics this group follows; /help lists every command."
        if group
        else "Pick your topics below; /help lists every command.",
    ]
    if subscribed is not None:
        name = escape(_label(subscribed))
        lines += [
            "",
            f"✅ {_follows(group, 'already')} <b>{name}</b>."
            if already
            else f"✅ {_follows(group, 'now')} <b>{name}</b>: new posts will arrive here.",
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
        if group:
            what = GROUP_HELP.get(command, what)
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


# The replies below speak of the group when `group` is set: in a group, the group follows.


def subscribed_message(topic: TopicView, *, changed: bool, group: bool = False) -> RenderedMessage:
    """After /subscribe."""
    name = escape(_label(topic))
    if not changed:
        return RenderedMessage(f"{_follows(group, 'already')} <b>{name}</b>.")
    return RenderedMessage(
        f"✅ {_follows(group, 'now')} <b>{name}</b>: new posts will arrive here."
    )


def unsubscribed_message(
    topic: TopicView, *, changed: bool, group: bool = False
) -> RenderedMessage:
    """After /unsubscribe <topic>."""
    name = escape(_label(topic))
    if not changed:
        return RenderedMessage(f"{_was_not_following(group)} <b>{name}</b>.")
    return RenderedMessage(
        f"{_follows(group, 'no longer')} <b>{name}</b>. /topics to follow it again."
    )


def unsubscribed_all_message(
    topics: Sequence[TopicView], *, group: bool = False
) -> RenderedMessage:
    """After /unsubscribe all."""
    if not topics:
        return RenderedMessage(f"{_was_not_following(group)} any topic.")
    names = ", ".join(f"<b>{escape(_label(t))}</b>" for t in topics)
    return RenderedMessage(_fit(f"{_follows(group, 'no longer')} any topic (stopped: {names})."))


def toggle_answer(topic: TopicView, *, group: bool = False) -> str:
    """The callback answer after a picker or /mysubs button (plain text)."""
    if topic.subscribed:
        return _plain(f"✅ {_follows(group, 'now')} {topic.name}.")
    return _plain(f"{_follows(group, 'no longer')} {topic.name}.")


def topic_off_answer(topic: TopicView, *, changed: bool, group: bool = False) -> str:
    """The callback answer after "Unsubscribe from <topic>" under a post (plain text)."""
    if not changed:
        return _plain(f"{_was_not_following(group)} {topic.name}.")
    return _plain(f"{_follows(group, 'no longer')} {topic.name}. Use /topics to follow it again.")


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


# -- organiser broadcasts (bot.handlers.organisers) --------------------------------------------
# The broadcast itself is rendered by `broadcast_message` above, for the preview and for every
# delivery alike, so what the organiser previews is what supporters get.

CAPTION_LIMIT = 1024
INTRO_CHARS = 500


@dataclass(frozen=True, slots=True)
class BroadcastView:
    """A broadcast with its delivery figures, as /broadcasts and progress messages show it.

    `topics` are topic labels; empty with `everyone` for a broadcast to all subscribers.
    `dropped` counts chats that blocked the bot or disappeared before their message went out.
    """

    id: int
    status: str
    topics: tuple[str, ...]
    everyone: bool
    created_at: datetime
    scheduled_for: datetime | None = None
    finished_at: datetime | None = None
    total: int = 0
    pending: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    summary: str = ""
    push: bool = False


def pushed_post_html(
    intro: str | None, post: PostView, topic: TopicView | None, tz: tzinfo
) -> str:
    """The HTML of a re-announced post: the organiser's intro line, then the post.

    The post is shown as a notification shows it; its link becomes the "Take action" button.
    """
    body = post_notification(post, topic, tz).text
    if intro and visible(intro):
        return f"{escape(shorten(intro, INTRO_CHARS))}\n\n{body}"
    return body


def text_limit_error(plain: str, *, caption: bool) -> str | None:
    """Why a message is too long to broadcast (counted after parsing), or None if it fits."""
    limit = CAPTION_LIMIT if caption else MessageLimit.MAX_TEXT_LENGTH
    length = len(plain.strip())
    if length <= limit:
        return None
    what = "A photo caption" if caption else "A message"
    return (
        f"{what} can be at most {limit} characters; yours has {length}. "
        "Please send a shorter one, or /cancel."
    )


def _audience_label(topics: Sequence[str], everyone: bool) -> str:
    if everyone:
        return "<b>all subscribers</b>"
    return ", ".join(f"<b>{escape(shorten(t, TOPIC_CHARS))}</b>" for t in topics) or "—"


def _moment(moment: datetime | None, tz: tzinfo) -> str:
    if moment is None:
        return "—"
    zone = moment.astimezone(tz).tzname() or ""
    return f"{format_date(moment, tz, weekday=True, time=True)} {zone}".strip()


def broadcast_usage_message() -> RenderedMessage:
    """/broadcast without topics."""
    return RenderedMessage(
        "Usage: <code>/broadcast &lt;topic&gt; [&lt;topic&gt; …]</code> or "
        "<code>/broadcast all</code>. /topics lists the topics."
    )


def push_usage_message() -> RenderedMessage:
    """/push without a post URL and a topic."""
    return RenderedMessage(
        "Usage: <code>/push &lt;post URL&gt; &lt;topic&gt; [intro line]</code>, for a post "
        "the bot has stored (see /latest)."
    )


def push_post_not_found_message(url: str) -> RenderedMessage:
    """/push with a URL no stored post has."""
    return RenderedMessage(
        f"I have no post with the link {_quoted_key(url)}. /push takes the web address of a "
        "post that came in through one of my feeds: in /latest, each title links to it."
    )


def compose_prompt(topics: Sequence[str], everyone: bool, audience: int) -> RenderedMessage:
    """After /broadcast <topics>: ask for the message."""
    return RenderedMessage(
        f"Broadcast to {_audience_label(topics, everyone)} ({_count(audience, 'chat')} now).\n\n"
        "Send me the message: text with its formatting, or one photo with a caption. "
        "/cancel stops."
    )


def compose_retry_message() -> RenderedMessage:
    """Something other than text or a photo arrived while composing."""
    return RenderedMessage("Please send text, or one photo with a caption. /cancel stops.")


def link_prompt() -> RenderedMessage:
    """Ask for the "Take action" link."""
    return RenderedMessage(
        "Send a link for the <b>Take action</b> button (http:// or https://), "
        "or <code>skip</code> for no button. /cancel stops."
    )


def intro_prompt() -> RenderedMessage:
    """/push without an intro line: ask for one."""
    return RenderedMessage(
        "Send one line to introduce the post, or <code>skip</code>. /cancel stops."
    )


def input_refused_message(reason: str) -> RenderedMessage:
    """An answer the flow cannot use: say why (the reason is plain text)."""
    return RenderedMessage(escape(reason))


def preview_summary_message(
    topics: Sequence[str], everyone: bool, audience: int, token: str
) -> RenderedMessage:
    """Below the preview: the audience and the Send now / Schedule / Cancel buttons."""
    text = (
        "👆 This preview is exactly what supporters will get.\n"
        f"It will go to {_count(audience, 'chat')} following {_audience_label(topics, everyone)}. "
        "Send it now, schedule it, or cancel."
    )
    rows = (
        (
            InlineKeyboardButton(
                "Send now", callback_data=cb.broadcast_draft_button(cb.BROADCAST_SEND, token)
            ),
            InlineKeyboardButton(
                "Schedule", callback_data=cb.broadcast_draft_button(cb.BROADCAST_SCHEDULE, token)
            ),
            InlineKeyboardButton(
                "Cancel", callback_data=cb.broadcast_draft_button(cb.BROADCAST_DISCARD, token)
            ),
        ),
    )
    return RenderedMessage(text, rows)


def preview_pending_message() -> RenderedMessage:
    """Text while a preview waits for its buttons."""
    return RenderedMessage("Use the buttons under the preview, or /cancel.")


def when_prompt(tz_name: str) -> RenderedMessage:
    """Schedule was pressed: ask for the time."""
    return RenderedMessage(
        "When should it go out? For example “in 2h”, “in 30m”, “18:30”, “tomorrow 09:00” or "
        f"“2026-12-10 09:00” ({escape(tz_name)} time). /cancel stops."
    )


def scheduled_message(view: BroadcastView, tz: tzinfo) -> RenderedMessage:
    """A draft was scheduled."""
    return RenderedMessage(
        f"🗓 Broadcast #{view.id} is scheduled for {escape(_moment(view.scheduled_for, tz))}. "
        "/broadcasts shows it and can cancel it."
    )


def draft_cancelled_message() -> RenderedMessage:
    """The draft was discarded (Cancel or /cancel)."""
    return RenderedMessage("Cancelled. Nothing was sent.")


def draft_stale_answer() -> str:
    """A button under an old preview (plain text)."""
    return _plain("This preview is no longer active. Start again with /broadcast.")


def draft_expired_message() -> RenderedMessage:
    """The conversation timed out."""
    return RenderedMessage(
        "Your broadcast draft expired; nothing was sent. /broadcast to start again."
    )


def nothing_to_cancel_message() -> RenderedMessage:
    """/cancel outside a broadcast draft."""
    return RenderedMessage("There is nothing to cancel.")


PRIVATE_ONLY_ANSWER = "Please use this in a private chat with me."


def private_only_message(bot_username: str | None) -> RenderedMessage:
    """An organiser or admin command in a group or channel: where to use it instead."""
    text = "Please use this command in a private chat with me"
    if not bot_username:
        return RenderedMessage(f"{text}.")
    name = escape(bot_username)
    link = f'<a href="https://t.me/{name}">@{name}</a>'
    return RenderedMessage(f"{text}: {link}.", disable_preview=True)


def progress_message(view: BroadcastView) -> RenderedMessage:
    """The organiser's progress message, edited as the broadcast goes out."""
    done = view.status == "done" or (view.status == "sending" and view.pending == 0)
    head = "✅ Broadcast" if done else "📣 Sending broadcast"
    lines = [
        f"{head} #{view.id} to {_audience_label(view.topics, view.everyone)}",
        f"Sent {view.sent} / {view.total}",
        f"Blocked or gone: {view.dropped} · Failed: {view.failed}",
    ]
    if not done:
        lines.append(f"Waiting: {view.pending}")
    return RenderedMessage("\n".join(lines))


def final_summary_message(view: BroadcastView) -> RenderedMessage:
    """Sent when no delivery of the broadcast is pending any more."""
    return RenderedMessage(
        f"✅ Broadcast #{view.id} finished: {view.sent} of {_count(view.total, 'chat')} "
        f"reached, {view.dropped} blocked or gone, {view.failed} failed."
    )


def _figures_line(view: BroadcastView) -> str:
    if view.status == "scheduled":
        return "waiting"
    if view.status == "cancelled":
        return "cancelled"
    return f"sent {view.sent}/{view.total}, blocked {view.dropped}, failed {view.failed}" + (
        f", waiting {view.pending}" if view.pending else ""
    )


def broadcasts_list_message(
    recent: Sequence[BroadcastView], scheduled: Sequence[BroadcastView], tz: tzinfo
) -> RenderedMessage:
    """/broadcasts: scheduled broadcasts (each with a Cancel button) and the recent ones."""
    lines = ["<b>Scheduled</b>"]
    if not scheduled:
        lines.append("None.")
    for view in scheduled:
        kind = "push" if view.push else "broadcast"
        lines.append(
            f"#{view.id} {kind} to {_audience_label(view.topics, view.everyone)} at "
            f"{escape(_moment(view.scheduled_for, tz))}"
            + (f" — {escape(shorten(view.summary, 60))}" if view.summary else "")
        )
    lines += ["", "<b>Recent</b>"]
    if not recent:
        lines.append("None yet.")
    for view in recent:
        when = view.finished_at or view.scheduled_for or view.created_at
        lines.append(
            f"#{view.id} {escape(view.status)} · {escape(_moment(when, tz))} · "
            f"{_audience_label(view.topics, view.everyone)} · {_figures_line(view)}"
            + (f" — {escape(shorten(view.summary, 60))}" if view.summary else "")
        )
    rows = tuple(
        (InlineKeyboardButton(f"✖ Cancel #{view.id}", callback_data=cb.broadcast_cancel(view.id)),)
        for view in scheduled[:90]
    )
    return RenderedMessage(_fit("\n".join(lines)), rows, True)


def broadcast_cancelled_answer(broadcast_id: int, *, changed: bool) -> str:
    """The answer to a "Cancel #N" press (plain text)."""
    if changed:
        return _plain(f"Broadcast #{broadcast_id} is cancelled.")
    return _plain(f"Broadcast #{broadcast_id} is no longer scheduled; nothing to cancel.")


# -- admin conversation (bot.handlers.admins) -----------------------------------------------------
# Views are plain values the admin service fills in; every value an admin or a feed typed is
# escaped and shortened here, so a 10,000-character argument still gives a short answer.

ADMIN_ARG_CHARS = 80
ERROR_CHARS = 300

# (command, arguments, what it does) for /whoami's list of admin commands and the usage lines.
ADMIN_USAGE: dict[str, str] = {
    "grant": "/grant <user id or @username> organiser|admin",
    "revoke": "/revoke <user id or @username>",
    "addtopic": "/addtopic <slug> <Name>",
    "edittopic": "/edittopic <slug> name|description|emoji <value>",
    "topicrule": "/topicrule <slug> add|remove category|keyword|exclude <text>",
    "archivetopic": "/archivetopic <slug>",
    "topicinfo": "/topicinfo <slug>",
    "addfeed": "/addfeed <url> [name]",
    "pausefeed": "/pausefeed <feed id or url>",
    "resumefeed": "/resumefeed <feed id or url>",
    "removefeed": "/removefeed <feed id or url>",
    "audit": "/audit [n]",
}


@dataclass(frozen=True, slots=True)
class TeamMemberView:
    """An organiser or admin: id, @username if known, role and its source."""

    user_id: int
    username: str | None
    role: str
    source: str  # "ADMIN_IDS" or "granted"


@dataclass(frozen=True, slots=True)
class TopicDetailView:
    """A topic with its rules and figures (/topicinfo and answers to topic changes)."""

    id: int
    slug: str
    name: str
    emoji: str
    description: str
    archived: bool
    rules: tuple[tuple[str, str], ...]  # (kind, value)
    subscribers: int
    active_subscribers: int
    posts_30_days: int


@dataclass(frozen=True, slots=True)
class FeedHealthView:
    """A feed with its health, for /feeds and answers to feed changes."""

    id: int
    url: str
    label: str
    paused: bool
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    next_poll_at: datetime | None


@dataclass(frozen=True, slots=True)
class StatsView:
    """The figures of /stats; `topics` is (label, archived, subscribers)."""

    chats_active: int
    chats_inactive: int
    topics: tuple[tuple[str, bool, int], ...]
    posts_7_days: int
    deliveries_7_days: dict[str, int]
    failure_reasons: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class AuditView:
    """One audit row."""

    at: datetime
    actor: str
    action: str
    target: str


def _arg(text: str) -> str:
    """A value an admin typed, shortened and escaped, in quotes."""
    return f"“{escape(shorten(text, ADMIN_ARG_CHARS))}”"


def _when(moment: datetime | None, tz: tzinfo) -> str:
    if moment is None:
        return "never"
    return format_date(moment, tz, time=True)


def _person(user_id: int, username: str | None) -> str:
    name = f"@{escape(shorten(username, 40))} " if username else ""
    return f"{name}<code>{user_id}</code>"


def usage_message(command: str) -> RenderedMessage:
    """How to write an admin command; nothing was changed."""
    usage = ADMIN_USAGE.get(command, f"/{command}")
    return RenderedMessage(f"Usage: <code>{escape(usage)}</code>\nNothing was changed.")


def admin_error_message(problem: str) -> RenderedMessage:
    """A refused admin change: the reason, and that nothing changed."""
    return RenderedMessage(
        f"Sorry, {escape(shorten(problem, ERROR_CHARS))}.\nNothing was changed."
    )


def whoami_message(user_id: int, role: str, source: str | None) -> RenderedMessage:
    """/whoami: the numeric id (to give an admin) and the role."""
    lines = [f"Your Telegram id is <code>{user_id}</code>.", f"Your role: <b>{escape(role)}</b>"]
    if source == "ADMIN_IDS":
        lines[-1] += " (from ADMIN_IDS, the bot's configuration)."
    elif source:
        lines[-1] += " (granted by an admin)."
    else:
        lines[-1] += ". An admin can give you a role with /grant and this id."
    return RenderedMessage("\n".join(lines))


def whoami_in_group_message() -> RenderedMessage:
    """/whoami in a group: it concerns a person."""
    return RenderedMessage("Send /whoami to me in a private chat.")


def unknown_user_message(key: str) -> RenderedMessage:
    """/grant or /revoke @username for someone the bot has not met."""
    return RenderedMessage(
        f"I don't know {_arg(key)}: I only know people who have talked to me. Ask them to "
        "send /start to me (or /whoami, and use their numeric id).\nNothing was changed."
    )


def role_change_message(
    user_id: int,
    username: str | None,
    role: str,
    previous: str,
    *,
    changed: bool,
    granted: bool,
    admin_ids: bool = False,
) -> RenderedMessage:
    """After /grant or /revoke."""
    who = _person(user_id, username)
    if admin_ids:
        return RenderedMessage(f"{who} is an admin through ADMIN_IDS already; nothing changed.")
    if granted and not changed:
        return RenderedMessage(f"{who} is already {_article(role)}; nothing changed.")
    if not granted and not changed:
        return RenderedMessage(f"{who} has no role to revoke; nothing changed.")
    if granted:
        return RenderedMessage(
            f"✅ {who} is now {_article(role)} (was {escape(previous)}). "
            "Their command menu was updated."
        )
    return RenderedMessage(
        f"✅ {who} is a supporter again (was {escape(previous)}). Their command menu was updated."
    )


def _article(role: str) -> str:
    return f"an <b>{escape(role)}</b>" if role[:1] in "aeiou" else f"a <b>{escape(role)}</b>"


def team_message(members: Sequence[TeamMemberView]) -> RenderedMessage:
    """/team: organisers and admins with ids, @usernames, role and source."""
    if not members:
        return RenderedMessage("There are no organisers or admins yet. Grant a role with /grant.")
    lines = ["<b>Team</b>", ""]
    for member in members:
        source = "ADMIN_IDS" if member.source == "ADMIN_IDS" else "granted"
        lines.append(
            f"• {_person(member.user_id, member.username)} — {escape(member.role)} ({source})"
        )
    return RenderedMessage(_fit("\n".join(lines)))


def topic_detail_message(topic: TopicDetailView, heading: str = "") -> RenderedMessage:
    """/topicinfo, and the answer to each topic change: the topic as it is now."""
    label = escape(shorten(f"{topic.emoji} {topic.name}".strip(), TOPIC_CHARS + 10))
    lines = [heading] if heading else []
    state = " (archived)" if topic.archived else ""
    lines.append(f"<b>{label}</b> — <code>{escape(topic.slug)}</code>{state}")
    if topic.description:
        lines.append(escape(shorten(topic.description, 300)))
    lines.append("")
    for kind, title in (
        ("category", "Categories"),
        ("keyword", "Keywords"),
        ("exclude", "Excluded"),
    ):
        values = [v for k, v in topic.rules if k == kind]
        shown = ", ".join(escape(shorten(v, 100)) for v in values) if values else "none"
        lines.append(f"{title}: {shown}")
    lines += [
        "",
        f"Subscribers: {topic.subscribers} ({topic.active_subscribers} active)",
        f"Posts matched in the last 30 days: {topic.posts_30_days}",
    ]
    return RenderedMessage(_fit("\n".join(lines)))


def rule_change_heading(op: str, kind: str, value: str, *, changed: bool) -> str:
    """The first line of the answer to /topicrule."""
    rule = f"{escape(kind)} {_arg(value)}"
    if op == "add":
        return (
            f"✅ Added the {rule}; it applies to new posts from now on."
            if changed
            else f"The topic has the {rule} already; nothing changed."
        )
    return (
        f"✅ Removed the {rule}; new posts are matched without it."
        if changed
        else f"The topic has no {rule}; nothing changed."
    )


def archived_heading(notified: int, *, changed: bool) -> str:
    """The first line of the answer to /archivetopic."""
    if not changed:
        return "That topic is archived already; nothing changed."
    told = _count(notified, "subscribed chat")
    return (
        f"✅ Archived. It no longer appears in pickers or matches posts; nothing was deleted. "
        f"{told} will be told."
    )


def feed_added_message(feed: FeedHealthView, title: str | None, entries: int) -> RenderedMessage:
    """/addfeed after a successful check."""
    name = escape(shorten(title or feed.label, 150))
    return RenderedMessage(
        f"✅ Added feed #{feed.id}: <b>{name}</b> with {_count(entries, 'entry', 'entries')}.\n"
        f"{escape(shorten(feed.url, 300))}\n"
        "Its current entries are recorded without being announced; new ones will be.",
        disable_preview=True,
    )


def feed_check_failed_message(url: str, error: str) -> RenderedMessage:
    """/addfeed when the feed cannot be read: the exact error; nothing was added."""
    return RenderedMessage(
        f"Could not read {_arg(url)}: {escape(shorten(error, ERROR_CHARS))}\nNothing was added.",
        disable_preview=True,
    )


def feeds_message(feeds: Sequence[FeedHealthView], tz: tzinfo) -> RenderedMessage:
    """/feeds: every feed with its health."""
    if not feeds:
        return RenderedMessage("There are no feeds yet. Add one with /addfeed <url>.")
    lines = ["<b>Feeds</b>", ""]
    for feed in feeds:
        state = "⏸ paused" if feed.paused else ("⚠️ failing" if feed.last_error else "✅ ok")
        lines.append(f"<b>#{feed.id} {escape(shorten(feed.label, 80))}</b> — {state}")
        lines.append(escape(shorten(feed.url, 200)))
        health = [f"last success: {_when(feed.last_success_at, tz)}"]
        if not feed.paused:
            health.append(f"next poll: {_when(feed.next_poll_at, tz)}")
        if feed.consecutive_failures:
            health.append(f"failures: {feed.consecutive_failures}")
        lines.append("<i>" + escape(" · ".join(health)) + "</i>")
        if feed.last_error:
            lines.append(f"last error: {escape(shorten(feed.last_error, 200))}")
        lines.append("")
    return RenderedMessage(_fit("\n".join(lines).rstrip()), disable_preview=True)


def feed_paused_message(feed: FeedHealthView, *, paused: bool, changed: bool) -> RenderedMessage:
    """After /pausefeed or /resumefeed."""
    name = f"#{feed.id} <b>{escape(shorten(feed.label, 80))}</b>"
    if not changed:
        state = "paused" if paused else "not paused"
        return RenderedMessage(f"Feed {name} is {state} already; nothing changed.")
    if paused:
        return RenderedMessage(f"⏸ Paused feed {name}. /resumefeed {feed.id} to poll it again.")
    return RenderedMessage(f"▶️ Resumed feed {name}; it is polled now.")


def feed_remove_prompt(feed: FeedHealthView) -> RenderedMessage:
    """/removefeed: what will be removed, with Remove and Cancel buttons."""
    text = (
        f"Remove feed #{feed.id} <b>{escape(shorten(feed.label, 80))}</b>?\n"
        f"{escape(shorten(feed.url, 300))}\n"
        "It will not be polled any more; its posts already sent stay."
    )
    rows = (
        (
            InlineKeyboardButton("Remove", callback_data=cb.feed_remove(feed.id)),
            InlineKeyboardButton("Cancel", callback_data=cb.FEED_KEEP),
        ),
    )
    return RenderedMessage(text, rows, disable_preview=True)


def feed_removed_message(feed: FeedHealthView) -> RenderedMessage:
    """After the Remove button of /removefeed."""
    return RenderedMessage(
        f"🗑 Removed feed #{feed.id} <b>{escape(shorten(feed.label, 80))}</b>.",
        disable_preview=True,
    )


def feed_kept_message() -> RenderedMessage:
    """After the Cancel button of /removefeed."""
    return RenderedMessage("Nothing was removed.")


def feed_not_found_message(key: str) -> RenderedMessage:
    """A feed id or URL that matches no feed."""
    return RenderedMessage(f"No feed {_arg(key)}. /feeds lists them with their ids.")


def stats_message(stats: StatsView) -> RenderedMessage:
    """/stats: chats, subscriptions per topic, the last 7 days, failures by reason."""
    lines = [
        "<b>Stats</b>",
        "",
        f"Chats: {stats.chats_active} active, {stats.chats_inactive} inactive",
        "",
        "<b>Subscriptions per topic</b>",
    ]
    for label, archived, subscribers in stats.topics:
        mark = " (archived)" if archived else ""
        lines.append(f"• {escape(shorten(label, TOPIC_CHARS + 10))}{mark}: {subscribers}")
    if not stats.topics:
        lines.append("• no topics")
    deliveries = stats.deliveries_7_days
    lines += [
        "",
        "<b>Last 7 days</b>",
        f"Posts: {stats.posts_7_days}",
        f"Deliveries: {sum(deliveries.values())} "
        f"(sent {deliveries.get('sent', 0)}, pending {deliveries.get('pending', 0)}, "
        f"failed {deliveries.get('failed', 0)}, dropped {deliveries.get('dropped', 0)})",
    ]
    if stats.failure_reasons:
        lines += ["", "<b>Delivery failures by reason (7 days)</b>"]
        lines += [
            f"• {escape(shorten(reason or 'unknown', 120))}: {count}"
            for reason, count in stats.failure_reasons
        ]
    return RenderedMessage(_fit("\n".join(lines)))


def audit_message(rows: Sequence[AuditView], tz: tzinfo) -> RenderedMessage:
    """/audit: the latest admin and organiser actions, newest first."""
    if not rows:
        return RenderedMessage("The audit log is empty.")
    lines = [f"<b>Latest {_count(len(rows), 'action')}</b>", ""]
    for row in rows:
        target = f" {escape(shorten(row.target, 80))}" if row.target else ""
        lines.append(
            f"{_when(row.at, tz)} — {escape(shorten(row.actor, 60))}: "
            f"<b>{escape(row.action)}</b>{target}"
        )
    return RenderedMessage(_fit("\n".join(lines)), disable_preview=True)


def feed_failing_message(
    label: str, url: str, error: str | None, since: datetime | None, tz: tzinfo
) -> RenderedMessage:
    """To admins: a feed has failed for a day."""
    return RenderedMessage(
        f"⚠️ The feed <b>{escape(shorten(label, 80))}</b> has failed since "
        f"{_when(since, tz)}.\n{escape(shorten(url, 300))}\n"
        f"Last error: {escape(shorten(error or 'unknown', ERROR_CHARS))}\n"
        "I keep trying and will tell you when it works again. /feeds shows every feed.",
        disable_preview=True,
    )


def feed_recovered_message(label: str, url: str) -> RenderedMessage:
    """To admins: a feed reported as failing works again."""
    return RenderedMessage(
        f"✅ The feed <b>{escape(shorten(label, 80))}</b> works again.\n"
        f"{escape(shorten(url, 300))}",
        disable_preview=True,
    )
