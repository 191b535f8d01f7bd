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
from bot.render.i18n import (
    LANGUAGE_NAMES,
    N_,
    SOURCE_LANGUAGE,
    Translator,
    elide_de,
    translator,
)
from bot.render.text import (
    BUTTON_TEXT_CHARS,
    KEY_CHARS,
    SOURCE_CHARS,
    RenderedMessage,
    answer_text,
    escape,
    fit,
    optional_date,
    quoted_key,
    safe_url,
    shorten,
    topic_label,
)

PICKER_INTRO = N_("Tap a topic to follow it; tap it again to stop.")
ADMINS_ONLY = N_("Only group admins can change which topics this group follows.")

# (command, arguments, what it does) in the order /help lists them.
SUPPORTER_HELP: tuple[tuple[str, str, str], ...] = (
    ("topics", "", N_("see the campaign topics and choose what to follow")),
    ("subscribe", N_("<topic>"), N_("follow a topic, e.g. /subscribe write for rights")),
    (
        "unsubscribe",
        N_("<topic>"),
        N_("stop following a topic; /unsubscribe all stops everything"),
    ),
    ("mysubs", "", N_("the topics you follow, with a button to unsubscribe from each")),
    ("latest", N_("[topic]"), N_("the latest posts, five at a time")),
    ("search", N_("<words>"), N_("find posts by words in their title or summary")),
    ("settings", "", N_("digest, quiet hours, time zone and language, with buttons")),
    (
        "digest",
        N_("off|daily 18:00|weekly mon 09:00"),
        N_("get posts together once a day or week"),
    ),
    ("quiet", N_("22:00-08:00|off"), N_("hold messages during the night")),
    ("timezone", N_("<zone or city>"), N_("your time zone, e.g. /timezone Montréal")),
    ("language", N_("[en|fr]"), N_("choose the language I write in (English or French)")),
    ("mydata", "", N_("see everything the bot stores about you")),
    ("forgetme", "", N_("delete everything the bot stores about you")),
    ("whoami", "", N_("your Telegram id and your role with this bot")),
    ("start", "", N_("the welcome message and topic picker")),
    ("help", "", N_("this list")),
)
# What a command does when it concerns the group rather than the person asking.
GROUP_HELP = {
    "mysubs": N_("the topics this group follows, with a button to unsubscribe from each"),
    "mydata": N_("see everything the bot stores about this group"),
    "language": N_("choose the language I write in here (group admins)"),
}


# The roles /forgetme may delete, as catalog messages.
_ROLE_NAMES = {"organiser": N_("organiser"), "admin": N_("admin")}


def _now_follows(t: Translator, group: bool, name: str) -> str:
    """The sentence after a subscription: "✅ You now follow X: …" (or "This group …")."""
    text = (
        t.gettext("✅ This group now follows %(name)s: new posts will arrive here.")
        if group
        else t.gettext("✅ You now follow %(name)s: new posts will arrive here.")
    )
    return text % {"name": name}


def _already_follows(t: Translator, group: bool, name: str) -> str:
    text = (
        t.gettext("This group already follows %(name)s.")
        if group
        else t.gettext("You already follow %(name)s.")
    )
    return text % {"name": name}


def _no_longer_follows(t: Translator, group: bool, name: str) -> str:
    text = (
        t.gettext("This group no longer follows %(name)s.")
        if group
        else t.gettext("You no longer follow %(name)s.")
    )
    return text % {"name": name}


def _was_not_following(t: Translator, group: bool, name: str) -> str:
    text = (
        t.gettext("This group was not following %(name)s.")
        if group
        else t.gettext("You were not following %(name)s.")
    )
    return text % {"name": name}


def topic_picker(
    topics: Sequence[TopicView],
    intro: str,
    view: str = cb.VIEW_PICKER,
    language: str = SOURCE_LANGUAGE,
) -> RenderedMessage:
    """Every topic with its description, and a toggle button per topic (✅ when subscribed).

    `intro` is already in the chat's language.
    """
    lines = [intro, ""] if intro else []
    for topic in topics:
        mark = "✅ " if topic.subscribed else ""
        line = f"{mark}<b>{escape(topic_label(topic))}</b>"
        if topic.description:
            line += f" — {escape(shorten(topic.description, 200))}"
        lines.append(line)
    if not topics:
        lines.append(translator(language).gettext("There are no topics yet."))
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


def post_list_lines(
    posts: Sequence[PostView], tz: tzinfo, language: str = SOURCE_LANGUAGE
) -> list[str]:
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
        meta = [m for m in (optional_date(post.published, tz, language), source) if m]
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
    language: str = SOURCE_LANGUAGE,
) -> RenderedMessage:
    """One page of /latest: up to five posts, with ◀ ▶ buttons that edit the same message.

    The topic is named in the chat's `language`.
    """
    t = translator(language)
    topic = topic.in_language(language) if topic is not None else None
    values = {"page": t.number(page + 1)}
    if topic:
        values["topic"] = f"<b>{escape(topic_label(topic))}</b>"
        heading = t.gettext("Latest posts in %(topic)s (page %(page)s)") % values
    else:
        heading = t.gettext("Latest posts (page %(page)s)") % values
    lines = [heading, ""]
    if not posts:
        lines.append(t.gettext("Nothing here yet.") if page == 0 else t.gettext("No more posts."))
    lines.extend(post_list_lines(posts, tz, language))
    nav: list[InlineKeyboardButton] = []
    topic_id = topic.id if topic else None
    if page > 0:
        nav.append(
            InlineKeyboardButton(
                t.gettext("◀ Newer"), callback_data=cb.latest_page(topic_id, page - 1)
            )
        )
    if has_next:
        nav.append(
            InlineKeyboardButton(
                t.gettext("Older ▶"), callback_data=cb.latest_page(topic_id, page + 1)
            )
        )
    return RenderedMessage(fit("\n".join(lines)), (tuple(nav),) if nav else (), True)


def welcome_message(
    *,
    group: bool = False,
    subscribed: TopicView | None = None,
    already: bool = False,
    unknown_key: str | None = None,
    language: str = SOURCE_LANGUAGE,
) -> RenderedMessage:
    """The /start greeting (the topic picker follows as its own message).

    Args:
        group: The chat is a group: say that admins choose its topics.
        subscribed: A topic the deep link just subscribed the chat to.
        already: The chat followed `subscribed` already.
        unknown_key: A deep-link topic that does not exist.
        language: The chat's language.
    """
    t = translator(language)
    lines = [
        t.gettext("👋 <b>Welcome to Campaign Action Bot!</b>"),
        t.gettext("I bring this group new posts and calls to action from human-rights campaigns.")
        if group
        else t.gettext(
            "I bring you new posts and calls to action from the human-rights campaigns you choose."
        ),
        t.gettext("Group admins choose the topics this group follows; /help lists every command.")
        if group
        else t.gettext("Pick your topics below; /help lists every command."),
    ]
    if subscribed is not None:
        name = f"<b>{escape(topic_label(subscribed))}</b>"
        lines += [
            "",
            "✅ " + _already_follows(t, group, name) if already else _now_follows(t, group, name),
        ]
    if unknown_key is not None:
        text = t.gettext("There is no topic %(key)s; choose one below instead.")
        lines += ["", text % {"key": quoted_key(unknown_key, language)}]
    return RenderedMessage("\n".join(lines))


def picker_message(
    topics: Sequence[TopicView], language: str = SOURCE_LANGUAGE
) -> RenderedMessage:
    """The topic picker of /start, /topics and /subscribe without a topic.

    Topic names and descriptions are in the chat's `language`, in the alphabetical order of
    those names.
    """
    shown = sorted((t.in_language(language) for t in topics), key=lambda t: normalise_key(t.name))
    intro = translator(language).gettext(PICKER_INTRO)
    return topic_picker(shown, intro, cb.VIEW_PICKER, language)


def help_message(
    *,
    group: bool = False,
    language: str = SOURCE_LANGUAGE,
    staff: Sequence[tuple[str, str]] = (),
) -> RenderedMessage:
    """/help: every supporter command in one message.

    `staff`: (command, description) of the organiser and admin commands the reader may use
    (their command menu's entries), listed after the supporter commands.
    """
    t = translator(language)
    lines = [t.gettext("<b>What I can do</b>"), ""]
    for command, args, what in SUPPORTER_HELP:
        if group:
            what = GROUP_HELP.get(command, what)
        usage = f"/{command} {escape(t.gettext(args)) if args else ''}".rstrip()
        lines.append(f"{usage} — {escape(t.gettext(what))}")
    lines.append("")
    if group:
        lines.append(
            t.gettext(
                "In groups, everyone can read; only group admins can change the group's topics. "
                "Use /forgetme in a private chat with me."
            )
        )
    else:
        lines.append(t.gettext("A topic can be written as its name or its slug, in any case."))
    if staff:
        lines.extend(["", t.gettext("<b>For organisers and admins</b>")])
        lines.extend(f"/{command} — {escape(t.gettext(what))}" for command, what in staff)
    return RenderedMessage(fit("\n".join(lines)))


def mysubs_message(
    topics: Sequence[TopicView], *, group: bool = False, language: str = SOURCE_LANGUAGE
) -> RenderedMessage:
    """/mysubs: the followed topics, each with an "Unsubscribe" button (edited in place)."""
    t = translator(language)
    topics = [topic.in_language(language) for topic in topics]
    if not topics:
        return RenderedMessage(
            t.gettext("This group follows no topics yet. Choose some with /topics.")
            if group
            else t.gettext("You follow no topics yet. Choose some with /topics.")
        )
    who = t.gettext("<b>This group follows:</b>") if group else t.gettext("<b>You follow:</b>")
    lines = [who, ""]
    lines += [f"✅ <b>{escape(topic_label(topic))}</b>" for topic in topics]
    lines += ["", t.gettext("Tap a button to unsubscribe.")]
    unsubscribe = t.gettext("✖ Unsubscribe from %(topic)s")
    rows = tuple(
        (
            InlineKeyboardButton(
                shorten(
                    elide_de(unsubscribe % {"topic": topic.name}, topic.name, language),
                    BUTTON_TEXT_CHARS,
                ),
                callback_data=cb.topic_toggle(topic.id, cb.VIEW_MYSUBS),
            ),
        )
        for topic in topics[:90]
    )
    return RenderedMessage(fit("\n".join(lines)), rows)


# The replies below speak of the group when `group` is set: in a group, the group follows.


def subscribed_message(
    topic: TopicView, *, changed: bool, group: bool = False, language: str = SOURCE_LANGUAGE
) -> RenderedMessage:
    """After /subscribe."""
    t = translator(language)
    name = f"<b>{escape(topic_label(topic.in_language(language)))}</b>"
    if not changed:
        return RenderedMessage(_already_follows(t, group, name))
    return RenderedMessage(_now_follows(t, group, name))


def unsubscribed_message(
    topic: TopicView, *, changed: bool, group: bool = False, language: str = SOURCE_LANGUAGE
) -> RenderedMessage:
    """After /unsubscribe <topic>."""
    t = translator(language)
    name = f"<b>{escape(topic_label(topic.in_language(language)))}</b>"
    if not changed:
        return RenderedMessage(_was_not_following(t, group, name))
    return RenderedMessage(
        _no_longer_follows(t, group, name) + " " + t.gettext("/topics to follow it again.")
    )


def unsubscribed_all_message(
    topics: Sequence[TopicView], *, group: bool = False, language: str = SOURCE_LANGUAGE
) -> RenderedMessage:
    """After /unsubscribe all."""
    t = translator(language)
    topics = [topic.in_language(language) for topic in topics]
    if not topics:
        return RenderedMessage(
            t.gettext("This group was not following any topic.")
            if group
            else t.gettext("You were not following any topic.")
        )
    names = ", ".join(f"<b>{escape(topic_label(topic))}</b>" for topic in topics)
    text = (
        t.gettext("This group no longer follows any topic (stopped: %(names)s).")
        if group
        else t.gettext("You no longer follow any topic (stopped: %(names)s).")
    )
    return RenderedMessage(fit(text % {"names": names}))


def toggle_answer(
    topic: TopicView, *, group: bool = False, language: str = SOURCE_LANGUAGE
) -> str:
    """The callback answer after a picker or /mysubs button (plain text)."""
    t = translator(language)
    topic = topic.in_language(language)
    if topic.subscribed:
        text = (
            t.gettext("✅ This group now follows %(name)s.")
            if group
            else t.gettext("✅ You now follow %(name)s.")
        )
        return answer_text(text % {"name": topic.name})
    return answer_text(_no_longer_follows(t, group, topic.name))


def topic_off_answer(
    topic: TopicView, *, changed: bool, group: bool = False, language: str = SOURCE_LANGUAGE
) -> str:
    """The callback answer after "Unsubscribe from <topic>" under a post (plain text)."""
    t = translator(language)
    topic = topic.in_language(language)
    if not changed:
        return answer_text(_was_not_following(t, group, topic.name))
    return answer_text(
        _no_longer_follows(t, group, topic.name)
        + " "
        + t.gettext("Use /topics to follow it again.")
    )


def forget_prompt(language: str = SOURCE_LANGUAGE) -> RenderedMessage:
    """/forgetme: what will be deleted, with Delete and Cancel buttons."""
    t = translator(language)
    text = (
        t.gettext("<b>Delete everything the bot stores about you?</b>")
        + "\n"
        + t.gettext(
            "That is your subscriptions, the record of messages sent to you (with any link "
            "opened or action pressed), and your Telegram id and @username. Campaign figures "
            "keep only anonymous totals. This cannot be undone."
        )
    )
    rows = (
        (
            InlineKeyboardButton(t.gettext("Delete everything"), callback_data=cb.FORGET_CONFIRM),
            InlineKeyboardButton(t.gettext("Cancel"), callback_data=cb.FORGET_CANCEL),
        ),
    )
    return RenderedMessage(text, rows)


def forget_deleted_answer(language: str = SOURCE_LANGUAGE) -> str:
    """The callback answer once /forgetme deleted something."""
    return translator(language).gettext("Deleted.")


def forget_done_message(
    *,
    chat: bool,
    subscriptions: int,
    deliveries: int,
    user: bool,
    role: str | None = None,
    language: str = SOURCE_LANGUAGE,
) -> RenderedMessage:
    """After /forgetme was confirmed: what was deleted."""
    t = translator(language)
    if not (chat or user):
        return RenderedMessage(
            t.gettext("There was nothing stored about you. /start to begin again.")
        )
    deleted = []
    if chat:
        deleted.append(t.ngettext("%(n)s subscription", "%(n)s subscriptions", subscriptions))
        deleted.append(
            t.ngettext(
                "%(n)s record of a message sent to you",
                "%(n)s records of messages sent to you",
                deliveries,
            )
        )
        deleted.append(t.gettext("this chat's record"))
    if user:
        who = t.gettext("your Telegram id and @username")
        if role and role != "supporter":
            name = t.gettext(_ROLE_NAMES[role]) if role in _ROLE_NAMES else role
            who += " " + t.gettext("(and your %(role)s role)") % {"role": escape(name)}
        deleted.append(who)
    lines = [t.gettext("<b>Done. Deleted:</b>"), *(f"• {item}" for item in deleted)]
    lines += ["", t.gettext("/start to begin again.")]
    return RenderedMessage("\n".join(lines))


def forget_cancelled_message(language: str = SOURCE_LANGUAGE) -> RenderedMessage:
    """After /forgetme was cancelled."""
    return RenderedMessage(translator(language).gettext("Nothing was deleted."))


def forget_in_group_message(language: str = SOURCE_LANGUAGE) -> RenderedMessage:
    """/forgetme in a group: it concerns a person, so it works in a private chat."""
    return RenderedMessage(
        translator(language).gettext(
            "To delete your data, send /forgetme to me in a private chat."
        )
    )


def free_text_hint(language: str = SOURCE_LANGUAGE) -> RenderedMessage:
    """A message that is not a command."""
    return RenderedMessage(
        translator(language).gettext(
            "I only understand commands. Send /help to see them, or /topics to choose topics."
        )
    )


def unknown_command_hint(command: str, language: str = SOURCE_LANGUAGE) -> RenderedMessage:
    """A command the bot does not know."""
    name = escape(shorten(command, KEY_CHARS))
    text = translator(language).gettext(
        "I don't know %(command)s. Send /help to see what I can do."
    )
    return RenderedMessage(text % {"command": name})


def admins_only_answer(language: str = SOURCE_LANGUAGE) -> str:
    """A group member who is not an admin pressed a topic button (a callback answer)."""
    return translator(language).gettext(ADMINS_ONLY)


def admins_only_message(language: str = SOURCE_LANGUAGE) -> RenderedMessage:
    """A group member who is not an admin tried to change the group's topics."""
    return RenderedMessage(
        escape(
            translator(language).gettext(
                "Sorry, only group admins can change which topics this group follows."
            )
        )
    )


def group_welcome_message(language: str = SOURCE_LANGUAGE) -> RenderedMessage:
    """Sent when the bot is added to a group."""
    return RenderedMessage(
        translator(language).gettext(
            "👋 Thanks for adding me! Group admins can choose the topics this group follows with "
            "/topics; /help lists every command."
        )
    )


# -- /language ------------------------------------------------------------------------------------


def language_prompt(current: str, *, group: bool = False) -> RenderedMessage:
    """/language: the chat's language and a button per language (✅ on the current one)."""
    t = translator(current)
    text = (
        t.gettext("This group reads me in <b>%(language)s</b>. Choose another language:")
        if group
        else t.gettext("I write to you in <b>%(language)s</b>. Choose another language:")
    )
    row = tuple(
        InlineKeyboardButton(
            ("✅ " if code == current else "") + name, callback_data=cb.language(code)
        )
        for code, name in LANGUAGE_NAMES.items()
    )
    return RenderedMessage(text % {"language": t.language_name(current)}, (row,))


def language_set_message(language: str, *, group: bool = False) -> RenderedMessage:
    """After /language <code> or a language button: confirmed in the new language."""
    t = translator(language)
    text = (
        t.gettext("Done: this group now reads me in %(language)s.")
        if group
        else t.gettext("Done: I now write to you in %(language)s.")
    )
    return RenderedMessage(text % {"language": t.language_name(language)})


def language_set_answer(language: str) -> str:
    """The callback answer to a language button (in the new language)."""
    return answer_text(translator(language).gettext("Language changed."))


def unknown_language_message(value: str, language: str = SOURCE_LANGUAGE) -> RenderedMessage:
    """/language with a value that is not a language the bot speaks."""
    text = translator(language).gettext(
        "I don't speak %(value)s. Send /language en for English or /language fr for French."
    )
    return RenderedMessage(text % {"value": quoted_key(value, language)})


def language_admins_only(language: str = SOURCE_LANGUAGE) -> str:
    """A group member who is not an admin tried to change the group's language (plain text)."""
    return translator(language).gettext("Only group admins can change this group's language.")
