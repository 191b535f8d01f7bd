"""What organisers read: the replies of the broadcast conversation and /broadcasts.

The broadcast itself is rendered by `bot.render.notifications.broadcast_message`, for the preview
and for every delivery alike, so what the organiser previews is what supporters get.
No I/O: the functions take plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from babel import Locale, UnknownLocaleError
from telegram import InlineKeyboardButton
from telegram.constants import MessageLimit

from bot.domain.topics import ACTION_LABEL_MAX
from bot.domain.views import BroadcastView
from bot.render import callback_data as cb
from bot.render.actions import DEFAULT_ACTION_LABEL
from bot.render.i18n import translator
from bot.render.text import (
    TOPIC_CHARS,
    RenderedMessage,
    answer_text,
    counted,
    escape,
    fit,
    format_date,
    quoted_key,
    shorten,
)

CAPTION_LIMIT = 1024


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
        f"I have no post with the link {quoted_key(url)}. /push takes the web address of a "
        "post that came in through one of my feeds: in /latest, each title links to it."
    )


def compose_prompt(topics: Sequence[str], everyone: bool, audience: int) -> RenderedMessage:
    """After /broadcast <topics>: ask for the message."""
    return RenderedMessage(
        f"Broadcast to {_audience_label(topics, everyone)} ({counted(audience, 'chat')} now).\n\n"
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


OWN_LABEL_BUTTON = "Own label…"
NO_ACTION_BUTTON = "No button"


def action_prompt(token: str) -> RenderedMessage:
    """After the link: offer an action button, with the default label, an own one, or none."""
    row = (
        InlineKeyboardButton(
            DEFAULT_ACTION_LABEL,
            callback_data=cb.broadcast_draft_button(cb.BROADCAST_ACTION_DEFAULT, token),
        ),
        InlineKeyboardButton(
            OWN_LABEL_BUTTON,
            callback_data=cb.broadcast_draft_button(cb.BROADCAST_ACTION_OWN, token),
        ),
        InlineKeyboardButton(
            NO_ACTION_BUTTON,
            callback_data=cb.broadcast_draft_button(cb.BROADCAST_ACTION_NONE, token),
        ),
    )
    return RenderedMessage(
        "Add an action button under the message? Supporters press it once they have done "
        "what you ask; each chat counts once, and you see how many did, never who. "
        "/cancel stops.",
        (row,),
    )


def action_choice_pending_message() -> RenderedMessage:
    """Text while the action-button question waits for a button."""
    return RenderedMessage(
        "Choose one of the buttons above: the action button, your own label, or none. "
        "/cancel stops."
    )


def action_label_prompt() -> RenderedMessage:
    """The "Own label…" button was pressed: ask for the label."""
    return RenderedMessage(
        f"Send the label for the button: one line of at most {ACTION_LABEL_MAX} characters, "
        "for example <code>✍️ I wrote my letter</code>. /cancel stops."
    )


def action_label_refused_message(reason: str) -> RenderedMessage:
    """A label the flow cannot use: say why (plain text) and ask again."""
    return RenderedMessage(
        f"That label won't do: {escape(reason)}. Please send another one, or /cancel."
    )


def intro_prompt() -> RenderedMessage:
    """/push without an intro line: ask for one."""
    return RenderedMessage(
        "Send one line to introduce the post, or <code>skip</code>. /cancel stops."
    )


def input_refused_message(reason: str) -> RenderedMessage:
    """An answer the flow cannot use: say why (the reason is plain text)."""
    return RenderedMessage(escape(reason))


def language_name(code: str, language: str) -> str:
    """A language's name in `language` ("French", "français"), from CLDR through Babel."""
    try:
        name = Locale.parse(code).get_display_name(language) or code
    except (ValueError, UnknownLocaleError):
        return code
    return name[:1].upper() + name[1:] if language == "en" else name


def version_prompt(missing: str, written: str, language: str) -> RenderedMessage:
    """After the message: offer to add the other language's version (or skip)."""
    t = translator(language)
    text = t.gettext(
        "Now the <b>{missing}</b> version of the same message, for the chats that read"
        " {missing}: send it as text, or <code>skip</code> and they get the {written} one."
        " /cancel stops."
    ).format(
        missing=escape(language_name(missing, language)),
        written=escape(language_name(written, language)),
    )
    return RenderedMessage(text)


def version_retry_message(language: str) -> RenderedMessage:
    """Something other than text arrived where the other language's version was asked for."""
    t = translator(language)
    return RenderedMessage(
        t.gettext("Please send the other version as text, or <code>skip</code>. /cancel stops.")
    )


def version_heading(version: str, language: str) -> RenderedMessage:
    """Above each version's preview when a broadcast has several: which one follows."""
    t = translator(language)
    name = escape(language_name(version, language))
    return RenderedMessage(t.gettext("👇 The {name} version:").format(name=name))


def audience_languages_line(
    by_language: Sequence[tuple[str, int]], versions: Sequence[str], language: str
) -> str:
    """How many chats read each language, and which version those without theirs get."""
    t = translator(language)
    parts = []
    for code, count in by_language:
        name = language_name(code, language)
        if code in versions:
            parts.append(t.gettext("{name}: {count}").format(name=name, count=t.number(count)))
        else:
            first = language_name(versions[0], language) if versions else name
            parts.append(
                t.gettext("{name}: {count} (they get the {first} version)").format(
                    name=name, count=t.number(count), first=first
                )
            )
    return escape(t.gettext("By language: {parts}.").format(parts=" · ".join(parts)))


def preview_summary_message(
    topics: Sequence[str],
    everyone: bool,
    audience: int,
    token: str,
    *,
    respect_pace: bool = False,
    later: int = 0,
    by_language: Sequence[tuple[str, int]] = (),
    versions: Sequence[str] = (),
    language: str = "en",
) -> RenderedMessage:
    """Below the preview: the audience (now, later, per language) and the buttons.

    The buttons are the pace toggle and Send now / Schedule / Cancel. With `respect_pace`,
    `later` chats get it at their digest time or when their quiet hours end
    (bot.domain.pace); without, everyone gets it now. `versions` are the languages the
    broadcast is written in, the first written first.
    """
    text = (
        "👆 This preview is exactly what supporters will get.\n"
        f"It will go to {counted(audience, 'chat')} "
        f"following {_audience_label(topics, everyone)}. "
        "Send it now, schedule it, or cancel."
    )
    text += "\n" + pace_split_text(audience, later if respect_pace else 0, respect_pace)
    if by_language:
        text += "\n" + audience_languages_line(by_language, versions, language)
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
        (
            InlineKeyboardButton(
                pace_toggle_label(respect_pace),
                callback_data=cb.broadcast_draft_button(cb.BROADCAST_PACE, token),
            ),
        ),
    )
    return RenderedMessage(text, rows)


def pace_split_text(audience: int, later: int, respect_pace: bool) -> str:
    """How many chats get the broadcast now and how many later (digests, quiet hours)."""
    t = translator("en")
    if not respect_pace:
        return t.gettext(
            "Now: all of them (a broadcast ignores digests and quiet hours unless you choose)."
        )
    return t.gettext("Respecting digests and quiet hours: %(now)s now, %(later)s later.") % {
        "now": t.number(audience - later),
        "later": t.number(later),
    }


def pace_toggle_label(respect_pace: bool) -> str:
    """The toggle under the summary."""
    t = translator("en")
    if respect_pace:
        return t.gettext("✅ Respect digests and quiet hours")
    return t.gettext("Respect digests and quiet hours")


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
    return answer_text("This preview is no longer active. Start again with /broadcast.")


def draft_expired_message() -> RenderedMessage:
    """The conversation timed out."""
    return RenderedMessage(
        "Your broadcast draft expired; nothing was sent. /broadcast to start again."
    )


def nothing_to_cancel_message() -> RenderedMessage:
    """/cancel outside a broadcast draft."""
    return RenderedMessage("There is nothing to cancel.")


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
        f"✅ Broadcast #{view.id} finished: {view.sent} of {counted(view.total, 'chat')} "
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
    return RenderedMessage(fit("\n".join(lines)), rows, True)


def broadcast_cancelled_answer(broadcast_id: int, *, changed: bool) -> str:
    """The answer to a "Cancel #N" press (plain text)."""
    if changed:
        return answer_text(f"Broadcast #{broadcast_id} is cancelled.")
    return answer_text(f"Broadcast #{broadcast_id} is no longer scheduled; nothing to cancel.")
