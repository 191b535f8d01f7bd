"""What /mydata says: everything the bot holds about a chat, and how to erase it.

Telegram HTML with every stored value escaped (a chat's inactive reason is an error text from
Telegram; topic names are an admin's), within the message limit. No I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import TypeVar

from bot.domain.pace import PaceInputError, parse_digest, parse_quiet
from bot.domain.privacy import MyDataView
from bot.render.i18n import N_, SOURCE_LANGUAGE, Translator, translator
from bot.render.pace import digest_label, quiet_label
from bot.render.text import RenderedMessage, escape, fit, format_date, shorten

# Topic names listed before "and N more" (a message stays short whatever an admin created).
MYDATA_TOPICS = 30
REASON_CHARS = 120

_CHAT_TYPES = {
    "private": N_("private chat"),
    "group": N_("group"),
    "supergroup": N_("group"),
    "channel": N_("channel"),
}
_ROLES = {
    "supporter": N_("supporter (no special rights)"),
    "organiser": N_("organiser"),
    "admin": N_("admin"),
}

_V = TypeVar("_V")


def _known(t: Translator, names: dict[str, str], value: str) -> str:
    return t.gettext(names[value]) if value in names else value


def _chat_lines(view: MyDataView, tz: tzinfo, t: Translator) -> list[str]:
    lines = [t.gettext("Chat id: %(id)s") % {"id": f"<code>{view.chat_id}</code>"}]
    kind = escape(_known(t, _CHAT_TYPES, view.chat_type))
    lines.append(t.gettext("Type: %(type)s") % {"type": kind})
    if view.created is not None:
        when = format_date(view.created, tz, language=t.language)
        lines.append(t.gettext("First seen: %(date)s") % {"date": when})
    if view.active:
        lines.append(t.gettext("Receiving messages: yes"))
    else:
        reason = escape(shorten(view.inactive_reason or t.gettext("unknown"), REASON_CHARS))
        text = t.gettext("Receiving messages: no (reason recorded: %(reason)s)")
        lines.append(text % {"reason": reason})
    if view.timezone:
        lines.append(t.gettext("Time zone: %(zone)s") % {"zone": escape(view.timezone)})
    if view.digest:
        pace = _stored_setting(parse_digest, digest_label, view.digest, t.language)
        lines.append(t.gettext("Pace: %(pace)s") % {"pace": escape(pace)})
    if view.quiet:
        quiet = _stored_setting(parse_quiet, quiet_label, view.quiet, t.language)
        lines.append(t.gettext("Quiet hours: %(quiet)s") % {"quiet": escape(quiet)})
    return lines


def _stored_setting(
    parse: Callable[[str], _V], label: Callable[[_V, str], str], stored: str, language: str
) -> str:
    """A stored pace setting in words; as stored if it no longer parses (plain text)."""
    try:
        return label(parse(stored), language)
    except PaceInputError:
        return stored


def _topic_lines(view: MyDataView, group: bool, t: Translator) -> list[str]:
    if not view.topics:
        return [t.gettext("Topics followed: none")]
    shown = [escape(name) for name in view.topics[:MYDATA_TOPICS]]
    more = len(view.topics) - len(shown)
    if more > 0:
        shown.append(t.ngettext("and %(n)s more", "and %(n)s more", more))
    text = (
        t.gettext("Topics this group follows (%(count)s): %(names)s")
        if group
        else t.gettext("Topics you follow (%(count)s): %(names)s")
    )
    return [text % {"count": t.number(len(view.topics)), "names": ", ".join(shown)}]


def _delivery_lines(view: MyDataView, group: bool, t: Translator) -> list[str]:
    n = view.deliveries
    line = (
        t.ngettext(
            "Messages sent or queued to this group: %(n)s record",
            "Messages sent or queued to this group: %(n)s records",
            n,
        )
        if group
        else t.ngettext(
            "Messages sent or queued to you: %(n)s record",
            "Messages sent or queued to you: %(n)s records",
            n,
        )
    )
    if view.deliveries:
        line += " " + t.gettext(
            "(%(clicked)s with a link opened, %(acted)s with “I did it” pressed; "
            "never shown to anyone per chat)"
        ) % {"clicked": t.number(view.clicked), "acted": t.number(view.acted)}
    return [
        line,
        t.ngettext(
            "These records are kept for %(n)s day; older ones are added to anonymous totals "
            "per message and deleted.",
            "These records are kept for %(n)s days; older ones are added to anonymous totals "
            "per message and deleted.",
            view.retention_days,
        ),
    ]


def _user_lines(view: MyDataView, tz: tzinfo, t: Translator) -> list[str]:
    user = view.user
    if user is None:
        return []
    name = f"@{escape(user.username)}" if user.username else t.gettext("none stored")
    when = format_date(user.created, tz, language=t.language)
    lines = [
        "",
        t.gettext("<b>About you</b>"),
        t.gettext("Telegram user id: %(id)s") % {"id": f"<code>{user.id}</code>"},
        t.gettext("Username: %(name)s") % {"name": name},
        t.gettext("Role: %(role)s") % {"role": escape(_known(t, _ROLES, user.role))},
        t.gettext("First seen: %(date)s") % {"date": when},
    ]
    if view.audit_entries:
        lines.append(
            t.ngettext(
                "Audit log: %(n)s entry of your actions as organiser or admin",
                "Audit log: %(n)s entries of your actions as organiser or admin",
                view.audit_entries,
            )
        )
    return lines


def mydata_message(
    view: MyDataView, tz: tzinfo, *, group: bool, language: str = SOURCE_LANGUAGE
) -> RenderedMessage:
    """/mydata: the chat's stored record, the person's own (private chats), and how to erase."""
    t = translator(language)
    title = (
        t.gettext("<b>What this bot stores about this group</b>")
        if group
        else t.gettext("<b>What this bot stores about this chat</b>")
    )
    if not view.known and view.user is None:
        return RenderedMessage(f"{title}\n\n" + t.gettext("Nothing. /start to begin."))
    lines = [title, ""]
    lines += _chat_lines(view, tz, t)
    if view.language:
        name = t.language_name(view.language)
        lines.append(t.gettext("Language: %(language)s") % {"language": escape(name)})
    lines += _topic_lines(view, group, t)
    lines += _delivery_lines(view, group, t)
    lines += _user_lines(view, tz, t)
    lines += ["", t.gettext("Nothing else: no names, no chat titles, no phone numbers."), ""]
    if group:
        lines.append(
            t.gettext(
                "To stop: a group admin can send /unsubscribe all; message records are deleted "
                "after the days shown. To see or erase your own data, send /mydata or /forgetme "
                "to me in a private chat."
            )
        )
    else:
        lines.append(t.gettext("To erase all of it at once, send /forgetme."))
    return RenderedMessage(fit("\n".join(lines)))
