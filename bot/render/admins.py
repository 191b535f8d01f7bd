"""What admins read: the replies of bot.handlers.admins and the feed-health reports of the jobs.

Views are plain values the admin service fills in; every value an admin or a feed typed is
escaped and shortened here, so a 10,000-character argument still gives a short answer.
No I/O: the functions take plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from telegram import InlineKeyboardButton

from bot.domain.views import AuditView, FeedHealthView, StatsView, TeamMemberView, TopicDetailView
from bot.render import callback_data as cb
from bot.render.i18n import N_, SOURCE_LANGUAGE, translator
from bot.render.text import (
    TOPIC_CHARS,
    RenderedMessage,
    counted,
    escape,
    fit,
    format_date,
    shorten,
)

ADMIN_ARG_CHARS = 80
ERROR_CHARS = 300

# (command, arguments, what it does) for /whoami's list of admin commands and the usage lines.
ADMIN_USAGE: dict[str, str] = {
    "grant": "/grant <user id or @username> organiser|admin",
    "revoke": "/revoke <user id or @username>",
    "addtopic": "/addtopic <slug> <Name>",
    "edittopic": "/edittopic <slug> name|description|emoji|action <value>",
    "topicrule": "/topicrule <slug> add|remove category|keyword|exclude <text>",
    "archivetopic": "/archivetopic <slug>",
    "topicinfo": "/topicinfo <slug>",
    "addfeed": "/addfeed <url> [name]",
    "pausefeed": "/pausefeed <feed id or url>",
    "resumefeed": "/resumefeed <feed id or url>",
    "removefeed": "/removefeed <feed id or url>",
    "audit": "/audit [n]",
}


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
    return RenderedMessage(fit("\n".join(lines)))


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
    action = escape(topic.action_label) if topic.action_label else "none"
    lines.append(f"Action button: {action}")
    lines += [
        "",
        f"Subscribers: {topic.subscribers} ({topic.active_subscribers} active)",
        f"Posts matched in the last 30 days: {topic.posts_30_days}",
    ]
    return RenderedMessage(fit("\n".join(lines)))


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
    told = counted(notified, "subscribed chat")
    return (
        f"✅ Archived. It no longer appears in pickers or matches posts; nothing was deleted. "
        f"{told} will be told."
    )


def feed_added_message(feed: FeedHealthView, title: str | None, entries: int) -> RenderedMessage:
    """/addfeed after a successful check."""
    name = escape(shorten(title or feed.label, 150))
    return RenderedMessage(
        f"✅ Added feed #{feed.id}: <b>{name}</b> with {counted(entries, 'entry', 'entries')}.\n"
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
    return RenderedMessage(fit("\n".join(lines).rstrip()), disable_preview=True)


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
    lines += growth_lines(stats)
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
    return RenderedMessage(fit("\n".join(lines)))


GROWTH_TOPIC_CHARS = 16


def growth_lines(stats: StatsView) -> list[str]:
    """/stats: subscriptions gained and lost per topic and week, as a small `<pre>` table."""
    weeks = stats.growth_weeks
    if not weeks:
        return []
    lines = ["", f"<b>Subscribers per week</b> (new/lost, weeks from Monday, last {len(weeks)})"]
    if not stats.growth:
        lines.append("No subscription changes in these weeks.")
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


def audit_message(rows: Sequence[AuditView], tz: tzinfo) -> RenderedMessage:
    """/audit: the latest admin and organiser actions, newest first."""
    if not rows:
        return RenderedMessage("The audit log is empty.")
    lines = [f"<b>Latest {counted(len(rows), 'action')}</b>", ""]
    for row in rows:
        target = f" {escape(shorten(row.target, 80))}" if row.target else ""
        lines.append(
            f"{_when(row.at, tz)} — {escape(shorten(row.actor, 60))}: "
            f"<b>{escape(row.action)}</b>{target}"
        )
    return RenderedMessage(fit("\n".join(lines)), disable_preview=True)


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
