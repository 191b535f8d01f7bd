"""What supporters read: the replies of bot.handlers.supporters and the group welcome.

The topic picker, /latest pages, /help, /mysubs, subscription changes and /forgetme. Texts for
callback-query answers are plain text (see `answer_text`); every other text here is Telegram
HTML with all values escaped. No I/O: the functions take plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from telegram import InlineKeyboardButton

from bot.domain.matching import normalise_key
from bot.domain.views import PostView, TopicView
from bot.render import callback_data as cb
from bot.render.text import (
    BUTTON_TEXT_CHARS,
    KEY_CHARS,
    SOURCE_CHARS,
    RenderedMessage,
    answer_text,
    counted,
    escape,
    fit,
    optional_date,
    quoted_key,
    safe_url,
    shorten,
    topic_label,
)

PICKER_INTRO = "Tap a topic to follow it; tap it again to stop."
ADMINS_ONLY = "Only group admins can change which topics this group follows."

# (command, arguments, what it does) in the order /help lists them.
SUPPORTER_HELP: tuple[tuple[str, str, str], ...] = (
    ("topics", "", "see the campaign topics and choose what to follow"),
    ("subscribe", "<topic>", "follow a topic, e.g. /subscribe write for rights"),
    ("unsubscribe", "<topic>", "stop following a topic; /unsubscribe all stops everything"),
    ("mysubs", "", "the topics you follow, with a button to unsubscribe from each"),
    ("latest", "[topic]", "the latest posts, five at a time"),
    ("search", "<words>", "find posts by words in their title or summary"),
    ("settings", "", "digest, quiet hours, time zone and language, with buttons"),
    ("digest", "off|daily 18:00|weekly mon 09:00", "get posts together once a day or week"),
    ("quiet", "22:00-08:00|off", "hold messages during the night"),
    ("timezone", "<zone or city>", "your time zone, e.g. /timezone Montréal"),
    ("mydata", "", "see everything the bot stores about you"),
    ("forgetme", "", "delete everything the bot stores about you"),
    ("whoami", "", "your Telegram id and your role with this bot"),
    ("start", "", "the welcome message and topic picker"),
    ("help", "", "this list"),
)
# What a command does when it concerns the group rather than the person asking.
GROUP_HELP = {
    "mysubs": "the topics this group follows, with a button to unsubscribe from each",
    "mydata": "see everything the bot stores about this group",
}


def _follows(group: bool, adverb: str = "") -> str:
    """The start of a sentence about following: "You now follow" or "This group now follows"."""
    subject, verb = ("This group", "follows") if group else ("You", "follow")
    return " ".join(w for w in (subject, adverb, verb) if w)


def _was_not_following(group: bool) -> str:
    """The start of "You were not following …" or "This group was not following …"."""
    return "This group was not following" if group else "You were not following"


def topic_picker(
    topics: Sequence[TopicView], intro: str, view: str = cb.VIEW_PICKER
) -> RenderedMessage:
    """Every topic with its description, and a toggle button per topic (✅ when subscribed)."""
    lines = [intro, ""] if intro else []
    for topic in topics:
        mark = "✅ " if topic.subscribed else ""
        line = f"{mark}<b>{escape(topic_label(topic))}</b>"
        if topic.description:
            line += f" — {escape(shorten(topic.description, 200))}"
        lines.append(line)
    if not topics:
        lines.append("There are no topics yet.")
    rows = tuple(
        (
            InlineKeyboardButton(
                ("✅ " if t.subscribed else "➕ ") + shorten(topic_label(t), BUTTON_TEXT_CHARS),
                callback_data=cb.topic_toggle(t.id, view),
            ),
        )
        for t in topics[:90]
    )
    return RenderedMessage(fit("\n".join(lines)), rows)


def post_list_lines(posts: Sequence[PostView], tz: tzinfo) -> list[str]:
    """Two lines per post, as /latest and /search list them.

    The title as a link, then date, source and the start of the summary in italics.
    """
    lines: list[str] = []
    for post in posts:
        url = safe_url(post.url)
        title = escape(shorten(post.title, 150))
        lines.append(f'• <a href="{escape(url)}">{title}</a>' if url else f"• {title}")
        # Shortening also folds whitespace: no line break may split the <i>…</i> below,
        # because fit cuts long pages at line breaks.
        source = shorten(post.source, SOURCE_CHARS) if post.source else None
        meta = [m for m in (optional_date(post.published, tz), source) if m]
        summary = shorten(post.summary, 140)
        detail = " · ".join(meta)
        if summary:
            detail = f"{detail} — {summary}" if detail else summary
        if detail:
            lines.append(f"  <i>{escape(detail)}</i>")
    return lines


def latest_page(
    posts: Sequence[PostView],
    *,
    topic: TopicView | None,
    page: int,
    has_next: bool,
    tz: tzinfo,
    language: str | None = None,
) -> RenderedMessage:
    """One page of /latest: up to five posts, with ◀ ▶ buttons that edit the same message.

    The topic is named in the chat's `language`.
    """
    topic = topic.in_language(language) if topic is not None else None
    heading = f"Latest posts in <b>{escape(topic_label(topic))}</b>" if topic else "Latest posts"
    lines = [f"{heading} (page {page + 1})", ""]
    if not posts:
        lines.append("Nothing here yet." if page == 0 else "No more posts.")
    lines.extend(post_list_lines(posts, tz))
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
    return RenderedMessage(fit("\n".join(lines)), (tuple(nav),) if nav else (), True)


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
        name = escape(topic_label(subscribed))
        lines += [
            "",
            f"✅ {_follows(group, 'already')} <b>{name}</b>."
            if already
            else f"✅ {_follows(group, 'now')} <b>{name}</b>: new posts will arrive here.",
        ]
    if unknown_key is not None:
        lines += ["", f"There is no topic {quoted_key(unknown_key)}; choose one below instead."]
    return RenderedMessage("\n".join(lines))


def picker_message(topics: Sequence[TopicView], language: str | None = None) -> RenderedMessage:
    """The topic picker of /start, /topics and /subscribe without a topic.

    Topic names and descriptions are in the chat's `language` (English where none is set),
    in the alphabetical order of those names.
    """
    shown = sorted((t.in_language(language) for t in topics), key=lambda t: normalise_key(t.name))
    return topic_picker(shown, PICKER_INTRO, cb.VIEW_PICKER)


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


def mysubs_message(
    topics: Sequence[TopicView], *, group: bool = False, language: str | None = None
) -> RenderedMessage:
    """/mysubs: the followed topics, each with an "Unsubscribe" button (edited in place).

    Topic names are in the chat's `language`.
    """
    topics = [t.in_language(language) for t in topics]
    who = "This group follows" if group else "You follow"
    if not topics:
        nobody = "This group follows no topics yet." if group else "You follow no topics yet."
        return RenderedMessage(f"{nobody} Choose some with /topics.")
    lines = [f"<b>{who}:</b>", ""]
    lines += [f"✅ <b>{escape(topic_label(t))}</b>" for t in topics]
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
    return RenderedMessage(fit("\n".join(lines)), rows)


# The replies below speak of the group when `group` is set: in a group, the group follows.


def subscribed_message(
    topic: TopicView, *, changed: bool, group: bool = False, language: str | None = None
) -> RenderedMessage:
    """After /subscribe (the topic named in the chat's `language`)."""
    name = escape(topic_label(topic.in_language(language)))
    if not changed:
        return RenderedMessage(f"{_follows(group, 'already')} <b>{name}</b>.")
    return RenderedMessage(
        f"✅ {_follows(group, 'now')} <b>{name}</b>: new posts will arrive here."
    )


def unsubscribed_message(
    topic: TopicView, *, changed: bool, group: bool = False, language: str | None = None
) -> RenderedMessage:
    """After /unsubscribe <topic> (the topic named in the chat's `language`)."""
    name = escape(topic_label(topic.in_language(language)))
    if not changed:
        return RenderedMessage(f"{_was_not_following(group)} <b>{name}</b>.")
    return RenderedMessage(
        f"{_follows(group, 'no longer')} <b>{name}</b>. /topics to follow it again."
    )


def unsubscribed_all_message(
    topics: Sequence[TopicView], *, group: bool = False, language: str | None = None
) -> RenderedMessage:
    """After /unsubscribe all (topic names in the chat's `language`)."""
    topics = [t.in_language(language) for t in topics]
    if not topics:
        return RenderedMessage(f"{_was_not_following(group)} any topic.")
    names = ", ".join(f"<b>{escape(topic_label(t))}</b>" for t in topics)
    return RenderedMessage(fit(f"{_follows(group, 'no longer')} any topic (stopped: {names})."))


def toggle_answer(topic: TopicView, *, group: bool = False, language: str | None = None) -> str:
    """The callback answer after a picker or /mysubs button (plain text)."""
    topic = topic.in_language(language)
    if topic.subscribed:
        return answer_text(f"✅ {_follows(group, 'now')} {topic.name}.")
    return answer_text(f"{_follows(group, 'no longer')} {topic.name}.")


def topic_off_answer(
    topic: TopicView, *, changed: bool, group: bool = False, language: str | None = None
) -> str:
    """The callback answer after "Unsubscribe from <topic>" under a post (plain text)."""
    topic = topic.in_language(language)
    if not changed:
        return answer_text(f"{_was_not_following(group)} {topic.name}.")
    return answer_text(
        f"{_follows(group, 'no longer')} {topic.name}. Use /topics to follow it again."
    )


def forget_prompt() -> RenderedMessage:
    """/forgetme: what will be deleted, with Delete and Cancel buttons."""
    text = (
        "<b>Delete everything the bot stores about you?</b>\n"
        "That is your subscriptions, the record of messages sent to you (with any link "
        "opened or action pressed), and your Telegram id and @username. Campaign figures "
        "keep only anonymous totals. This cannot be undone."
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
        deleted.append(counted(subscriptions, "subscription"))
        deleted.append(
            counted(
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
