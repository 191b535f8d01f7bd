"""What admins read: the replies of bot.handlers.admins and the feed-health reports of the jobs.

Views are plain values the admin service fills in; every value an admin or a feed typed is
escaped and shortened here, so a 10,000-character argument still gives a short answer.
No I/O: the functions take plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from telegram import InlineKeyboardButton

from bot.domain.schedule import format_interval
from bot.domain.views import (
    AuditView,
    FeedHealthView,
    FeedImportView,
    ImportRefusal,
    StatsView,
    TeamMemberView,
    TopicDetailView,
)
from bot.render import callback_data as cb
from bot.render.i18n import N_, SOURCE_LANGUAGE, Translator, translator
from bot.render.text import (
    TOPIC_CHARS,
    RenderedMessage,
    escape,
    fit,
    format_date,
    shorten,
)

ADMIN_ARG_CHARS = 80
ERROR_CHARS = 300
L = SOURCE_LANGUAGE  # the default of every `language` argument below

# (command, arguments, what it does) for /whoami's list of admin commands and the usage lines.
ADMIN_USAGE: dict[str, str] = {
    "grant": N_("/grant <user id or @username> organiser|admin"),
    "revoke": N_("/revoke <user id or @username>"),
    "addtopic": N_("/addtopic <slug> <Name>"),
    "edittopic": N_(
        "/edittopic <slug> name|description|name:fr|description:fr|emoji|action <value>, "
        "urgent on|off, preview off|small|large"
    ),
    "topicrule": N_("/topicrule <slug> add|remove category|country|type|keyword|exclude <text>"),
    "archivetopic": N_("/archivetopic <slug>"),
    "topicinfo": N_("/topicinfo <slug>"),
    "addfeed": N_("/addfeed <url> [name]"),
    "pausefeed": N_("/pausefeed <feed id or url>"),
    "resumefeed": N_("/resumefeed <feed id or url>"),
    "feedlanguage": N_("/feedlanguage <feed id or url> en|fr|other|auto"),
    "feedinterval": N_("/feedinterval <feed id or url> 15m|2h|1d|auto"),
    "removefeed": N_("/removefeed <feed id or url>"),
    "channel": N_("/channel <@name or id> <topic…> (or: /channel <@name or id> off)"),
    "audit": "/audit [n]",
}


def _arg(text: str, language: str = L) -> str:
    """A value an admin typed, shortened and escaped, in quotes (“…” or « … »)."""
    value = escape(shorten(text, ADMIN_ARG_CHARS))
    return f"«\u00a0{value}\u00a0»" if language == "fr" else f"“{value}”"


def _when(moment: datetime | None, tz: tzinfo, language: str = L) -> str:
    if moment is None:
        return translator(language).gettext("never")
    return format_date(moment, tz, time=True, language=language)


def _person(user_id: int, username: str | None) -> str:
    name = f"@{escape(shorten(username, 40))} " if username else ""
    return f"{name}<code>{user_id}</code>"


def usage_message(command: str, language: str = L) -> RenderedMessage:
    """How to write an admin command; nothing was changed."""
    t = translator(language)
    usage = t.gettext(ADMIN_USAGE[command]) if command in ADMIN_USAGE else f"/{command}"
    text = t.gettext("Usage: %(usage)s\nNothing was changed.")
    return RenderedMessage(text % {"usage": f"<code>{escape(usage)}</code>"})


def admin_error_message(problem: str, language: str = L) -> RenderedMessage:
    """A refused admin change: the reason, and that nothing changed."""
    text = translator(language).gettext("Sorry, %(problem)s.\nNothing was changed.")
    return RenderedMessage(text % {"problem": escape(shorten(problem, ERROR_CHARS))})


_ROLE_NAMES = {"supporter": N_("supporter"), "organiser": N_("organiser"), "admin": N_("admin")}


def whoami_message(
    user_id: int, role: str, source: str | None, language: str = SOURCE_LANGUAGE
) -> RenderedMessage:
    """/whoami: the numeric id (to give an admin) and the role."""
    t = translator(language)
    name = f"<b>{escape(t.gettext(_ROLE_NAMES[role]) if role in _ROLE_NAMES else role)}</b>"
    values = {"role": name}
    if source == "ADMIN_IDS":
        second = t.gettext("Your role: %(role)s (from ADMIN_IDS, the bot's configuration).")
    elif source:
        second = t.gettext("Your role: %(role)s (granted by an admin).")
    else:
        second = t.gettext(
            "Your role: %(role)s. An admin can give you a role with /grant and this id."
        )
    first = t.gettext("Your Telegram id is %(id)s.") % {"id": f"<code>{user_id}</code>"}
    return RenderedMessage("\n".join([first, second % values]))


def whoami_in_group_message(language: str = SOURCE_LANGUAGE) -> RenderedMessage:
    """/whoami in a group: it concerns a person."""
    return RenderedMessage(translator(language).gettext("Send /whoami to me in a private chat."))


def unknown_user_message(key: str, language: str = L) -> RenderedMessage:
    """/grant or /revoke @username for someone the bot has not met."""
    text = translator(language).gettext(
        "I don't know %(who)s: I only know people who have talked to me. Ask them to "
        "send /start to me (or /whoami, and use their numeric id).\nNothing was changed."
    )
    return RenderedMessage(text % {"who": _arg(key, language)})


def role_change_message(
    user_id: int,
    username: str | None,
    role: str,
    previous: str,
    *,
    changed: bool,
    granted: bool,
    admin_ids: bool = False,
    language: str = L,
) -> RenderedMessage:
    """After /grant or /revoke."""
    t = translator(language)
    values = {
        "who": _person(user_id, username),
        "role": f"<b>{escape(_role_name(t, role))}</b>",
        "previous": escape(_role_name(t, previous)),
    }
    if admin_ids:
        text = t.gettext("%(who)s is an admin through ADMIN_IDS already; nothing changed.")
    elif granted and not changed:
        text = (
            t.gettext("%(who)s is already an %(role)s; nothing changed.")
            if role[:1] in "aeiou"
            else t.gettext("%(who)s is already a %(role)s; nothing changed.")
        )
    elif not granted and not changed:
        text = t.gettext("%(who)s has no role to revoke; nothing changed.")
    elif granted:
        text = (
            t.gettext(
                "✅ %(who)s is now an %(role)s (was %(previous)s). Their command menu was updated."
            )
            if role[:1] in "aeiou"
            else t.gettext(
                "✅ %(who)s is now a %(role)s (was %(previous)s). Their command menu was updated."
            )
        )
    else:
        text = t.gettext(
            "✅ %(who)s is a supporter again (was %(previous)s). Their command menu was updated."
        )
    return RenderedMessage(text % values)


def _role_name(t: Translator, role: str) -> str:
    return t.gettext(_ROLE_NAMES[role]) if role in _ROLE_NAMES else role


def team_message(members: Sequence[TeamMemberView], language: str = L) -> RenderedMessage:
    """/team: organisers and admins with ids, @usernames, role and source."""
    t = translator(language)
    if not members:
        return RenderedMessage(
            t.gettext("There are no organisers or admins yet. Grant a role with /grant.")
        )
    lines = [t.gettext("<b>Team</b>"), ""]
    for member in members:
        source = "ADMIN_IDS" if member.source == "ADMIN_IDS" else t.gettext("granted")
        role = escape(_role_name(t, member.role))
        lines.append(f"• {_person(member.user_id, member.username)} — {role} ({source})")
    return RenderedMessage(fit("\n".join(lines)))


_RULE_TITLES = (
    ("category", N_("Categories: %(values)s")),
    ("country", N_("Countries: %(values)s")),
    ("type", N_("Types: %(values)s")),
    ("keyword", N_("Keywords: %(values)s")),
    ("exclude", N_("Excluded: %(values)s")),
)


# /topicinfo: whether the topic is urgent, and its link preview setting.
URGENT_LINES = {
    True: N_("Urgent: yes (its posts and broadcasts go first, through digests and quiet hours)"),
    False: N_("Urgent: no"),
}
PREVIEW_NAMES = {
    "off": N_("off"),
    "small": N_("small image"),
    "large": N_("large image"),
}


def topic_detail_message(
    topic: TopicDetailView, heading: str = "", language: str = L
) -> RenderedMessage:
    """/topicinfo, and the answer to each topic change: the topic as it is now."""
    t = translator(language)
    label = escape(shorten(f"{topic.emoji} {topic.name}".strip(), TOPIC_CHARS + 10))
    lines = [heading] if heading else []
    state = " " + t.gettext("(archived)") if topic.archived else ""
    lines.append(f"<b>{label}</b> — <code>{escape(topic.slug)}</code>{state}")
    if topic.description:
        lines.append(escape(shorten(topic.description, 300)))
    lines.append(topic_french_line(topic.name_fr, topic.description_fr))
    lines.append("")
    none = t.gettext("none")
    for kind, title in _RULE_TITLES:
        values = [v for k, v in topic.rules if k == kind]
        shown = ", ".join(escape(shorten(v, 100)) for v in values) if values else none
        lines.append(t.gettext(title) % {"values": shown})
    action = escape(topic.action_label) if topic.action_label else none
    lines.append(t.gettext("Action button: %(label)s") % {"label": action})
    lines.append(t.gettext(URGENT_LINES[topic.urgent]))
    preview = t.gettext(PREVIEW_NAMES.get(topic.preview, PREVIEW_NAMES["small"]))
    lines.append(t.gettext("Link preview: %(preview)s") % {"preview": preview})
    lines += [
        "",
        t.gettext("Subscribers: %(all)s (%(active)s active)")
        % {"all": topic.subscribers, "active": topic.active_subscribers},
        t.gettext("Posts matched in the last 30 days: %(posts)s") % {"posts": topic.posts_30_days},
    ]
    return RenderedMessage(fit("\n".join(lines)))


def topic_french_line(name_fr: str, description_fr: str, language: str = L) -> str:
    """The topic's French name and description, as /topicinfo shows them."""
    t = translator(language)
    name = escape(shorten(name_fr, TOPIC_CHARS + 10)) if name_fr else t.gettext("none")
    line = t.gettext("French: {name}").format(name=name)
    if description_fr:
        line += f" — {escape(shorten(description_fr, 300))}"
    return line


_RULE_KINDS = {
    "category": N_("category"),
    "country": N_("country"),
    "type": N_("type"),
    "keyword": N_("keyword"),
    "exclude": N_("exclude"),
}


def topic_created_heading(language: str = L) -> str:
    """The first line of the answer to /addtopic."""
    return translator(language).gettext("✅ Topic created. Add matching rules with /topicrule.")


_FIELDS = {
    "name": N_("name"),
    "description": N_("description"),
    "name:fr": N_("French name"),
    "description:fr": N_("French description"),
    "emoji": N_("emoji"),
    "action": N_("action"),
    "urgent": N_("urgency"),
    "preview": N_("link preview"),
}


def topic_changed_heading(field: str, language: str = L) -> str:
    """The first line of the answer to /edittopic."""
    t = translator(language)
    name = t.gettext(_FIELDS[field]) if field in _FIELDS else field
    return t.gettext("✅ Changed the %(field)s.") % {"field": escape(name)}


def rule_change_heading(
    op: str, kind: str, value: str, *, changed: bool, language: str = L
) -> str:
    """The first line of the answer to /topicrule."""
    t = translator(language)
    name = t.gettext(_RULE_KINDS[kind]) if kind in _RULE_KINDS else kind
    values = {"rule": f"{escape(name)} {_arg(value, language)}"}
    if op == "add":
        text = (
            t.gettext("✅ Added the %(rule)s; it applies to new posts from now on.")
            if changed
            else t.gettext("The topic has the %(rule)s already; nothing changed.")
        )
    else:
        text = (
            t.gettext("✅ Removed the %(rule)s; new posts are matched without it.")
            if changed
            else t.gettext("The topic has no %(rule)s; nothing changed.")
        )
    return text % values


def archived_heading(notified: int, *, changed: bool, language: str = L) -> str:
    """The first line of the answer to /archivetopic."""
    t = translator(language)
    if not changed:
        return t.gettext("That topic is archived already; nothing changed.")
    return t.ngettext(
        "✅ Archived. It no longer appears in pickers or matches posts; nothing was deleted. "
        "%(n)s subscribed chat will be told.",
        "✅ Archived. It no longer appears in pickers or matches posts; nothing was deleted. "
        "%(n)s subscribed chats will be told.",
        notified,
    )


def feed_added_message(
    feed: FeedHealthView, title: str | None, entries: int, language: str = L
) -> RenderedMessage:
    """/addfeed after a successful check."""
    t = translator(language)
    bold = f"<b>{escape(shorten(title or feed.label, 150))}</b>"
    first = t.ngettext(
        "✅ Added feed #%(id)s: %(name)s with %(n)s entry.",
        "✅ Added feed #%(id)s: %(name)s with %(n)s entries.",
        entries,
        id=feed.id,
        name=bold,
    )
    last = t.gettext("Its current entries are recorded without being announced; new ones will be.")
    return RenderedMessage(
        f"{first}\n{escape(shorten(feed.url, 300))}\n{last}", disable_preview=True
    )


def feed_check_failed_message(url: str, error: str, language: str = L) -> RenderedMessage:
    """/addfeed when the feed cannot be read: the exact error; nothing was added."""
    text = translator(language).gettext("Could not read %(url)s: %(error)s\nNothing was added.")
    return RenderedMessage(
        text % {"url": _arg(url, language), "error": escape(shorten(error, ERROR_CHARS))},
        disable_preview=True,
    )


def feeds_message(
    feeds: Sequence[FeedHealthView], tz: tzinfo, language: str = L
) -> RenderedMessage:
    """/feeds: every feed with its health."""
    t = translator(language)
    if not feeds:
        return RenderedMessage(t.gettext("There are no feeds yet. Add one with /addfeed <url>."))
    lines = [t.gettext("<b>Feeds</b>"), ""]
    for feed in feeds:
        state = (
            t.gettext("⏸ paused")
            if feed.paused
            else (t.gettext("⚠️ failing") if feed.last_error else t.gettext("✅ ok"))
        )
        lines.append(f"<b>#{feed.id} {escape(shorten(feed.label, 80))}</b> — {state}")
        lines.append(escape(shorten(feed.url, 200)))
        health = [
            t.gettext("last success: %(when)s")
            % {"when": _when(feed.last_success_at, tz, language)}
        ]
        if not feed.paused:
            health.append(
                t.gettext("next poll: %(when)s") % {"when": _when(feed.next_poll_at, tz, language)}
            )
        if feed.consecutive_failures:
            health.append(t.gettext("failures: %(n)s") % {"n": feed.consecutive_failures})
        health.append(
            feed_language_label(feed.language, fixed=feed.language_fixed, language=language)
        )
        health.append(feed_interval_label(feed, language))
        lines.append("<i>" + escape(" · ".join(health)) + "</i>")
        if feed.last_error:
            error = escape(shorten(feed.last_error, 200))
            lines.append(t.gettext("last error: %(error)s") % {"error": error})
        lines.append("")
    return RenderedMessage(fit("\n".join(lines).rstrip()), disable_preview=True)


def feed_paused_message(
    feed: FeedHealthView, *, paused: bool, changed: bool, language: str = L
) -> RenderedMessage:
    """After /pausefeed or /resumefeed."""
    t = translator(language)
    values = {"name": f"#{feed.id} <b>{escape(shorten(feed.label, 80))}</b>", "id": feed.id}
    if not changed:
        text = (
            t.gettext("Feed %(name)s is paused already; nothing changed.")
            if paused
            else t.gettext("Feed %(name)s is not paused already; nothing changed.")
        )
    elif paused:
        text = t.gettext("⏸ Paused feed %(name)s. /resumefeed %(id)s to poll it again.")
    else:
        text = t.gettext("▶️ Resumed feed %(name)s; it is polled now.")
    return RenderedMessage(text % values)


def feed_language_label(feed_language: str | None, *, fixed: bool, language: str = L) -> str:
    """A feed's language as /feeds shows it: "language: fr (set by an admin)"."""
    t = translator(language)
    shown = feed_language or t.gettext("not known yet")
    how = t.gettext("set by an admin") if fixed else t.gettext("from the feed")
    return t.gettext("language: {language} ({how})").format(language=shown, how=how)


def feed_language_message(
    feed: FeedHealthView, *, changed: bool, language: str = L
) -> RenderedMessage:
    """After /feedlanguage."""
    t = translator(language)
    name = f"#{feed.id} <b>{escape(shorten(feed.label, 80))}</b>"
    label = escape(
        feed_language_label(feed.language, fixed=feed.language_fixed, language=language)
    )
    if not changed:
        return RenderedMessage(
            t.gettext("Feed {name}: {label} already; nothing changed.").format(
                name=name, label=label
            )
        )
    if feed.language_fixed:
        text = t.gettext("🌐 Feed {name}: {label}. Its new posts count as this language.")
    else:
        text = t.gettext("🌐 Feed {name}: the next poll reads the language from the feed.")
    return RenderedMessage(text.format(name=name, label=label))


def feed_interval_label(feed: FeedHealthView, language: str = L) -> str:
    """How often a feed is polled and why, as /feeds shows it: "every 15m (set by an admin)"."""
    t = translator(language)
    every = format_interval(feed.effective_interval_seconds)
    if feed.interval_seconds is not None:
        return t.gettext("every %(every)s (set by an admin)") % {"every": every}
    if feed.min_interval_seconds is not None:
        return t.gettext("every %(every)s (the feed asks for %(ask)s)") % {
            "every": every,
            "ask": format_interval(feed.min_interval_seconds),
        }
    return t.gettext("every %(every)s") % {"every": every}


def feed_interval_message(
    feed: FeedHealthView, *, changed: bool, language: str = L
) -> RenderedMessage:
    """After /feedinterval."""
    t = translator(language)
    text = t.gettext("⏱ Feed #%(id)s %(name)s is polled %(how)s.") % {
        "id": feed.id,
        "name": f"<b>{escape(shorten(feed.label, 80))}</b>",
        "how": escape(feed_interval_label(feed, language)),
    }
    if not changed:
        text += "\n" + t.gettext("It was already; nothing changed.")
    return RenderedMessage(text)


_REFUSAL_REASONS = {
    ImportRefusal.BAD_URL: N_("not a feed address"),
    ImportRefusal.PRIVATE: N_("private address"),
    ImportRefusal.UNREACHABLE: N_("unreachable"),
    ImportRefusal.NOT_A_FEED: N_("not a feed"),
}
# Lines shown per list of an import report; the rest are counted.
IMPORT_LIST_LINES = 15


def _cut_list(lines: list[str], t: Translator) -> list[str]:
    """At most IMPORT_LIST_LINES lines, then "… and N more"."""
    if len(lines) <= IMPORT_LIST_LINES:
        return lines
    rest = len(lines) - IMPORT_LIST_LINES
    more = t.ngettext("… and %(n)s more", "… and %(n)s more", rest)
    return [*lines[:IMPORT_LIST_LINES], more]


def feed_import_message(report: FeedImportView, language: str = L) -> RenderedMessage:
    """An imported OPML file: the counts, then the feeds added, present and refused."""
    t = translator(language)
    counts = ", ".join(
        (
            t.ngettext("%(n)s added", "%(n)s added", len(report.added)),
            t.ngettext("%(n)s already present", "%(n)s already present", len(report.present)),
            t.ngettext("%(n)s refused", "%(n)s refused", len(report.refused)),
        )
    )
    lines = [t.gettext("📥 <b>Feeds imported</b>: %(counts)s.") % {"counts": counts}]
    if report.added:
        lines += ["", t.gettext("<b>Added</b>")]
        lines += _cut_list(
            [
                f"#{f.id} {escape(shorten(f.label, 60))} — {escape(shorten(f.url, 120))}"
                for f in report.added
            ],
            t,
        )
    if report.present:
        lines += ["", t.gettext("<b>Already present</b>")]
        lines += _cut_list([escape(shorten(url, 150)) for url in report.present], t)
    if report.refused:
        lines += ["", t.gettext("<b>Refused</b>")]
        lines += _cut_list(
            [
                f"{escape(shorten(r.url, 120))} — {t.gettext(_REFUSAL_REASONS[r.reason])} "
                f"<i>({escape(shorten(r.detail, 100))})</i>"
                for r in report.refused
            ],
            t,
        )
    if report.added:
        lines += [
            "",
            t.gettext(
                "Their current entries are recorded without being announced; new ones will be."
            ),
        ]
    return RenderedMessage(fit("\n".join(lines)), disable_preview=True)


def opml_refused_message(problem: str, language: str = L) -> RenderedMessage:
    """A file that is not a usable OPML file: the reason; nothing was imported."""
    text = translator(language).gettext("Sorry, %(problem)s.\nNothing was imported.")
    return RenderedMessage(text % {"problem": escape(shorten(problem, ERROR_CHARS))})


def opml_download_failed_message(language: str = L) -> RenderedMessage:
    """Telegram would not hand over the file (too big to download, or gone)."""
    return RenderedMessage(
        translator(language).gettext(
            "Sorry, I could not download that file from Telegram.\nNothing was imported."
        )
    )


def import_admins_only_message(language: str = L) -> RenderedMessage:
    """Someone who is not an admin sent a feed list (an .opml file)."""
    return RenderedMessage(
        translator(language).gettext(
            "Only admins can import feeds. /help shows what you can do here."
        )
    )


def feeds_export_caption(count: int, language: str = L) -> str:
    """The caption of /exportfeeds' document."""
    return translator(language).ngettext(
        "%(n)s feed, as an OPML file: send it back to me to import it.",
        "%(n)s feeds, as an OPML file: send it back to me to import them.",
        count,
    )


def feed_remove_prompt(feed: FeedHealthView, language: str = L) -> RenderedMessage:
    """/removefeed: what will be removed, with Remove and Cancel buttons."""
    t = translator(language)
    first = t.gettext("Remove feed #%(id)s %(name)s?") % {
        "id": feed.id,
        "name": f"<b>{escape(shorten(feed.label, 80))}</b>",
    }
    last = t.gettext("It will not be polled any more; its posts already sent stay.")
    text = f"{first}\n{escape(shorten(feed.url, 300))}\n{last}"
    rows = (
        (
            InlineKeyboardButton(t.gettext("Remove"), callback_data=cb.feed_remove(feed.id)),
            InlineKeyboardButton(t.gettext("Cancel"), callback_data=cb.FEED_KEEP),
        ),
    )
    return RenderedMessage(text, rows, disable_preview=True)


def feed_removed_message(feed: FeedHealthView, language: str = L) -> RenderedMessage:
    """After the Remove button of /removefeed."""
    text = translator(language).gettext("🗑 Removed feed #%(id)s %(name)s.")
    return RenderedMessage(
        text % {"id": feed.id, "name": f"<b>{escape(shorten(feed.label, 80))}</b>"},
        disable_preview=True,
    )


def feed_removed_answer(language: str = L) -> str:
    """The answer to the Remove button."""
    return translator(language).gettext("Removed.")


def feed_kept_message(language: str = L) -> RenderedMessage:
    """After the Cancel button of /removefeed."""
    return RenderedMessage(translator(language).gettext("Nothing was removed."))


def feed_not_found_message(key: str, language: str = L) -> RenderedMessage:
    """A feed id or URL that matches no feed."""
    text = translator(language).gettext("No feed %(key)s. /feeds lists them with their ids.")
    return RenderedMessage(text % {"key": _arg(key, language)})


def stats_message(stats: StatsView, language: str = L) -> RenderedMessage:
    """/stats: chats, subscriptions per topic, the last 7 days, failures by reason."""
    t = translator(language)
    lines = [
        t.gettext("<b>Stats</b>"),
        "",
        t.gettext("Chats: %(active)s active, %(inactive)s inactive")
        % {"active": stats.chats_active, "inactive": stats.chats_inactive},
        "",
        t.gettext("<b>Subscriptions per topic</b>"),
    ]
    archived_mark = " " + t.gettext("(archived)")
    for label, archived, subscribers in stats.topics:
        mark = archived_mark if archived else ""
        lines.append(f"• {escape(shorten(label, TOPIC_CHARS + 10))}{mark}: {subscribers}")
    if not stats.topics:
        lines.append("• " + t.gettext("no topics"))
    lines += growth_lines(stats, language)
    deliveries = stats.deliveries_7_days
    lines += [
        "",
        t.gettext("<b>Last 7 days</b>"),
        t.gettext("Posts: %(posts)s") % {"posts": stats.posts_7_days},
        t.gettext(
            "Deliveries: %(all)s (sent %(sent)s, pending %(pending)s, failed %(failed)s, "
            "dropped %(dropped)s)"
        )
        % {
            "all": sum(deliveries.values()),
            "sent": deliveries.get("sent", 0),
            "pending": deliveries.get("pending", 0),
            "failed": deliveries.get("failed", 0),
            "dropped": deliveries.get("dropped", 0),
        },
    ]
    if stats.failure_reasons:
        lines += ["", t.gettext("<b>Delivery failures by reason (7 days)</b>")]
        unknown = t.gettext("unknown")
        lines += [
            f"• {escape(shorten(reason or unknown, 120))}: {count}"
            for reason, count in stats.failure_reasons
        ]
    return RenderedMessage(fit("\n".join(lines)))


GROWTH_TOPIC_CHARS = 16


def growth_lines(stats: StatsView, language: str = L) -> list[str]:
    """/stats: subscriptions gained and lost per topic and week, as a small `<pre>` table."""
    t = translator(language)
    weeks = stats.growth_weeks
    if not weeks:
        return []
    lines = [
        "",
        t.gettext("<b>Subscribers per week</b> (new/lost, weeks from Monday, last %(weeks)s)")
        % {"weeks": len(weeks)},
    ]
    if not stats.growth:
        lines.append(t.gettext("No subscription changes in these weeks."))
        return lines
    head = f"{'':<{GROWTH_TOPIC_CHARS}}" + "".join(
        f"{f'{w.day:02d}/{w.month:02d}':>8}" for w in weeks
    )
    rows = [head]
    for growth in stats.growth:
        by_week = {week: (joined, left) for week, joined, left in growth.weeks}
        cells = "".join(
            f"{f'+{by_week.get(w, (0, 0))[0]}/-{by_week.get(w, (0, 0))[1]}':>8}" for w in weeks
        )
        name = escape(shorten(growth.topic, GROWTH_TOPIC_CHARS).ljust(GROWTH_TOPIC_CHARS))
        rows.append(f"{name}{cells}")
    lines.append("<pre>" + "\n".join(rows) + "</pre>")
    return lines


def audit_message(rows: Sequence[AuditView], tz: tzinfo, language: str = L) -> RenderedMessage:
    """/audit: the latest admin and organiser actions, newest first."""
    t = translator(language)
    if not rows:
        return RenderedMessage(t.gettext("The audit log is empty."))
    heading = t.ngettext("<b>Latest %(n)s action</b>", "<b>Latest %(n)s actions</b>", len(rows))
    lines = [heading, ""]
    for row in rows:
        target = f" {escape(shorten(row.target, 80))}" if row.target else ""
        lines.append(
            f"{_when(row.at, tz, language)} — {escape(shorten(row.actor, 60))}: "
            f"<b>{escape(row.action)}</b>{target}"
        )
    return RenderedMessage(fit("\n".join(lines)), disable_preview=True)


def feed_failing_message(
    label: str,
    url: str,
    error: str | None,
    since: datetime | None,
    tz: tzinfo,
    language: str = L,
) -> RenderedMessage:
    """To admins: a feed has failed for a day."""
    t = translator(language)
    first = t.gettext("⚠️ The feed %(name)s has failed since %(when)s.") % {
        "name": f"<b>{escape(shorten(label, 80))}</b>",
        "when": _when(since, tz, language),
    }
    error_line = t.gettext("Last error: %(error)s") % {
        "error": escape(shorten(error or t.gettext("unknown"), ERROR_CHARS))
    }
    last = t.gettext(
        "I keep trying and will tell you when it works again. /feeds shows every feed."
    )
    return RenderedMessage(
        f"{first}\n{escape(shorten(url, 300))}\n{error_line}\n{last}", disable_preview=True
    )


def feed_recovered_message(label: str, url: str, language: str = L) -> RenderedMessage:
    """To admins: a feed reported as failing works again."""
    text = translator(language).gettext("✅ The feed %(name)s works again.") % {
        "name": f"<b>{escape(shorten(label, 80))}</b>"
    }
    return RenderedMessage(f"{text}\n{escape(shorten(url, 300))}", disable_preview=True)
