"""What admins read about linked channels and groups: /channel, /channels and the bot's notes.

Titles and @usernames come from Telegram (a channel's public data) and topic names from
admins: all are escaped and shortened here. No I/O: the functions take plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from bot.domain.channels import CHANNEL, ChannelView
from bot.render.i18n import SOURCE_LANGUAGE, translator
from bot.render.text import RenderedMessage, escape, fit, format_date, quoted_key, shorten

L = SOURCE_LANGUAGE
TITLE_CHARS = 80
REASON_CHARS = 200


def _name(title: str, username: str | None, chat_id: int) -> str:
    """How admins recognise a chat: "<b>Title</b> (@name)", or the @name or id alone."""
    shown = f"<b>{escape(shorten(title, TITLE_CHARS))}</b>" if title.strip() else ""
    handle = f"@{escape(username)}" if username else f"<code>{chat_id}</code>"
    return f"{shown} ({handle})" if shown else handle


def _ref(username: str | None, chat_id: int) -> str:
    """What to write after /channel for this chat: @name, else its id."""
    return f"@{username}" if username else str(chat_id)


def channel_added_message(
    title: str, username: str | None, chat_id: int, chat_type: str, language: str = L
) -> RenderedMessage:
    """To the admin who made the bot an administrator of a channel (or added it to a group)."""
    t = translator(language)
    text = t.gettext(
        "I was added to %(chat)s. Link it to topics with %(command)s and I will post their "
        "new posts and broadcasts there."
    )
    topics = escape(t.gettext("<topic…>"))
    command = f"<code>/channel {escape(_ref(username, chat_id))} {topics}</code>"
    lines = [text % {"chat": _name(title, username, chat_id), "command": command}]
    if chat_type == CHANNEL:
        lines.append(t.gettext("I need the right to post messages there."))
    return RenderedMessage("\n".join(lines))


def channel_linked_message(
    channel: ChannelView, *, created: bool, language: str = L
) -> RenderedMessage:
    """After /channel: the chat and the topics it now follows."""
    t = translator(language)
    name = _name(channel.title, channel.username, channel.chat_id)
    if created:
        head = t.gettext("Linked %(chat)s.") % {"chat": name}
    else:
        head = t.gettext("Updated %(chat)s.") % {"chat": name}
    topics = ", ".join(f"<b>{escape(shorten(n, TITLE_CHARS))}</b>" for n in channel.topics)
    body = t.gettext(
        "New posts and broadcasts of these topics will be posted there: %(topics)s."
    ) % {"topics": topics}
    off = t.gettext("To stop: %(command)s") % {
        "command": f"<code>/channel {escape(_ref(channel.username, channel.chat_id))} off</code>"
    }
    return RenderedMessage("\n".join([head, body, off]))


def channel_unlinked_message(channel: ChannelView, language: str = L) -> RenderedMessage:
    """After /channel … off."""
    text = translator(language).gettext(
        "Unlinked %(chat)s: nothing more will be posted there, and what was waiting was dropped."
    )
    name = _name(channel.title, channel.username, channel.chat_id)
    return RenderedMessage(text % {"chat": name})


def channel_not_linked_message(ref: str | int, language: str = L) -> RenderedMessage:
    """/channel … off for a chat that is not linked."""
    text = translator(language).gettext(
        "%(chat)s is not linked. /channels lists the linked channels and groups.\n"
        "Nothing was changed."
    )
    return RenderedMessage(text % {"chat": quoted_key(str(ref), language)})


def channel_unknown_message(ref: str | int, language: str = L) -> RenderedMessage:
    """/channel for a chat Telegram does not know (or the bot cannot see)."""
    text = translator(language).gettext(
        "I can't find the chat %(chat)s. Add me to the channel as an administrator first, "
        "then write its @username or its id (-100…).\nNothing was changed."
    )
    return RenderedMessage(text % {"chat": quoted_key(str(ref), language)})


def channel_wrong_type_message(ref: str | int, language: str = L) -> RenderedMessage:
    """/channel for a person's chat (or a bot's)."""
    text = translator(language).gettext(
        "%(chat)s is not a channel or a group.\nNothing was changed."
    )
    return RenderedMessage(text % {"chat": quoted_key(str(ref), language)})


def channel_not_admin_message(
    title: str, username: str | None, chat_id: int, chat_type: str, language: str = L
) -> RenderedMessage:
    """/channel for a chat where the bot may not post."""
    t = translator(language)
    name = _name(title, username, chat_id)
    if chat_type == CHANNEL:
        text = t.gettext(
            "I am not an administrator allowed to post messages in %(chat)s. Make me an "
            "administrator with the right to post messages, then try again.\n"
            "Nothing was changed."
        )
    else:
        text = t.gettext(
            "I am not a member of %(chat)s who may write there. Add me to the group, "
            "then try again.\nNothing was changed."
        )
    return RenderedMessage(text % {"chat": name})


def channel_lost_message(channel: ChannelView, reason: str, language: str = L) -> RenderedMessage:
    """To every admin, once, when the bot can no longer post in a linked chat."""
    t = translator(language)
    text = t.gettext(
        "I can no longer post in %(chat)s: %(reason)s.\nMake me an administrator who may post "
        "there again and I will resume; or unlink it with %(command)s."
    )
    command = f"<code>/channel {escape(_ref(channel.username, channel.chat_id))} off</code>"
    return RenderedMessage(
        text
        % {
            "chat": _name(channel.title, channel.username, channel.chat_id),
            "reason": escape(shorten(reason, REASON_CHARS)),
            "command": command,
        }
    )


def channel_restored_message(channel: ChannelView, language: str = L) -> RenderedMessage:
    """To every admin when the bot may post again in a linked chat it had lost."""
    text = translator(language).gettext(
        "I can post in %(chat)s again: new posts of its topics will be posted there."
    )
    return RenderedMessage(
        text % {"chat": _name(channel.title, channel.username, channel.chat_id)}
    )


def _when(moment: datetime | None, tz: tzinfo, language: str) -> str:
    if moment is None:
        return translator(language).gettext("never")
    return format_date(moment, tz, time=True, language=language)


def channels_message(
    channels: Sequence[ChannelView], tz: tzinfo, language: str = L
) -> RenderedMessage:
    """/channels: each linked channel or group with its topics and health."""
    t = translator(language)
    if not channels:
        text = t.gettext(
            "No channel or group is linked yet. Make me an administrator of your channel, "
            "then link it with %(command)s."
        )
        command = f"<code>/channel @name {escape(t.gettext('<topic…>'))}</code>"
        return RenderedMessage(text % {"command": command})
    lines = [t.gettext("<b>Linked channels and groups</b>"), ""]
    for channel in channels:
        kind = t.gettext("channel") if channel.chat_type == CHANNEL else t.gettext("group")
        lines.append(f"{_name(channel.title, channel.username, channel.chat_id)} — {kind}")
        topics = ", ".join(escape(shorten(n, TITLE_CHARS)) for n in channel.topics) or "–"
        lines.append(t.gettext("Topics: %(topics)s") % {"topics": topics})
        if channel.active:
            state = t.gettext("✅ active")
        else:
            reason = escape(shorten(channel.inactive_reason or "", REASON_CHARS))
            state = t.gettext("⛔ inactive: %(reason)s") % {"reason": reason}
        health = [
            state,
            t.ngettext("%(n)s pending", "%(n)s pending", channel.pending),
            t.gettext("last sent: %(when)s") % {"when": _when(channel.last_sent_at, tz, language)},
            t.ngettext("%(n)s failure in 24 h", "%(n)s failures in 24 h", channel.failures_24h),
        ]
        lines.append("<i>" + " · ".join(health) + "</i>")
        lines.append("")
    return RenderedMessage(fit("\n".join(lines).rstrip()), disable_preview=True)
