"""What /mydata says: everything the bot holds about a chat, and how to erase it.

Telegram HTML with every stored value escaped (a chat's inactive reason is an error text from
Telegram; topic names are an admin's), within the message limit. No I/O.
"""

from __future__ import annotations

from datetime import tzinfo

from bot.domain.privacy import MyDataView
from bot.render.text import RenderedMessage, counted, escape, fit, format_date, shorten

# Topic names listed before "and N more" (a message stays short whatever an admin created).
MYDATA_TOPICS = 30
REASON_CHARS = 120

_CHAT_TYPES = {
    "private": "private chat",
    "group": "group",
    "supergroup": "group",
    "channel": "channel",
}
_ROLES = {"supporter": "supporter (no special rights)", "organiser": "organiser", "admin": "admin"}


def _chat_lines(view: MyDataView, tz: tzinfo) -> list[str]:
    lines = [f"Chat id: <code>{view.chat_id}</code>"]
    lines.append(f"Type: {escape(_CHAT_TYPES.get(view.chat_type, view.chat_type))}")
    if view.created is not None:
        lines.append(f"First seen: {format_date(view.created, tz)}")
    if view.active:
        lines.append("Receiving messages: yes")
    else:
        reason = escape(shorten(view.inactive_reason or "unknown", REASON_CHARS))
        lines.append(f"Receiving messages: no (reason recorded: {reason})")
    if view.language:
        lines.append(f"Language: {escape(view.language)}")
    if view.timezone:
        lines.append(f"Time zone: {escape(view.timezone)}")
    return lines


def _topic_lines(view: MyDataView, group: bool) -> list[str]:
    if not view.topics:
        return ["Topics followed: none"]
    shown = [escape(name) for name in view.topics[:MYDATA_TOPICS]]
    more = len(view.topics) - len(shown)
    if more > 0:
        shown.append(f"and {more} more")
    who = "this group follows" if group else "you follow"
    return [f"Topics {who} ({len(view.topics)}): {', '.join(shown)}"]


def _delivery_lines(view: MyDataView, group: bool) -> list[str]:
    to = "this group" if group else "you"
    records = counted(view.deliveries, "record", "records")
    line = f"Messages sent or queued to {to}: {records}"
    if view.deliveries:
        line += (
            f" ({view.clicked} with a link opened, {view.acted} with “I did it” pressed; "
            "never shown to anyone per chat)"
        )
    return [
        line,
        f"These records are kept for {counted(view.retention_days, 'day')}; older ones are "
        "added to anonymous totals per message and deleted.",
    ]


def _user_lines(view: MyDataView, tz: tzinfo) -> list[str]:
    user = view.user
    if user is None:
        return []
    name = f"@{escape(user.username)}" if user.username else "none stored"
    lines = [
        "",
        "<b>About you</b>",
        f"Telegram user id: <code>{user.id}</code>",
        f"Username: {name}",
        f"Role: {escape(_ROLES.get(user.role, user.role))}",
        f"First seen: {format_date(user.created, tz)}",
    ]
    if view.audit_entries:
        lines.append(
            f"Audit log: {counted(view.audit_entries, 'entry', 'entries')} of your actions "
            "as organiser or admin"
        )
    return lines


def mydata_message(view: MyDataView, tz: tzinfo, *, group: bool) -> RenderedMessage:
    """/mydata: the chat's stored record, the person's own (private chats), and how to erase."""
    what = "this group" if group else "this chat"
    title = f"<b>What this bot stores about {what}</b>"
    if not view.known and view.user is None:
        return RenderedMessage(f"{title}\n\nNothing. /start to begin.")
    lines = [title, ""]
    lines += _chat_lines(view, tz)
    lines += _topic_lines(view, group)
    lines += _delivery_lines(view, group)
    lines += _user_lines(view, tz)
    lines += ["", "Nothing else: no names, no chat titles, no phone numbers.", ""]
    if group:
        lines.append(
            "To stop: a group admin can send /unsubscribe all; message records are deleted "
            "after the days shown. To see or erase your own data, send /mydata or /forgetme "
            "to me in a private chat."
        )
    else:
        lines.append("To erase all of it at once, send /forgetme.")
    return RenderedMessage(fit("\n".join(lines)))
