"""What organisers read: the replies of the broadcast conversation and /broadcasts.

The broadcast itself is rendered by `bot.render.notifications.broadcast_message`, for the preview
and for every delivery alike, so what the organiser previews is what supporters get.
No I/O: the functions take plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from telegram import InlineKeyboardButton
from telegram.constants import MessageLimit

from bot.domain.delivery_policy import PaidEstimate
from bot.domain.topics import ACTION_LABEL_MAX
from bot.domain.views import BroadcastView
from bot.render import callback_data as cb
from bot.render.actions import DEFAULT_ACTION_LABEL
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


def duration_text(seconds: float) -> str:
    """A rough duration: "under a minute", "12 min", "3 h 05 min"."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def stars_text(stars: float) -> str:
    """Stars as Telegram counts them (tenths), e.g. "1,940 Stars", "0.5 Stars"."""
    shown = f"{stars:,.0f}" if stars == int(stars) else f"{stars:,.1f}"
    return f"{shown} Star" if stars == 1 else f"{shown} Stars"


def paid_choice_text(estimate: PaidEstimate, paid: bool) -> str:
    """The pace lines of the preview summary: the cost in Stars and the time saved."""
    normal = duration_text(estimate.normal_seconds)
    fast = duration_text(estimate.paid_seconds)
    if paid:
        return (
            f"⚡ <b>Fast (paid)</b>: up to 1,000 messages a second, about {fast} instead of "
            f"{normal}. Costs up to <b>{stars_text(estimate.stars)}</b> from the bot's balance "
            "(0.1 Star per message above the free 30 a second)."
        )
    return (
        f"Pace: normal, about {normal}. Fast (paid) would take about {fast} "
        f"(saves {duration_text(estimate.saved_seconds)}) for up to "
        f"{stars_text(estimate.stars)}."
    )


def preview_summary_message(
    topics: Sequence[str],
    everyone: bool,
    audience: int,
    token: str,
    *,
    paid_offer: PaidEstimate | None = None,
    paid: bool = False,
) -> RenderedMessage:
    """Below the preview: the audience and the Send now / Schedule / Cancel buttons.

    With `paid_offer` (ALLOW_PAID_BROADCAST) it also shows the pace, the cost in Stars and
    the time saved, and a button that switches the draft between normal and fast (paid).
    """
    text = (
        "👆 This preview is exactly what supporters will get.\n"
        f"It will go to {counted(audience, 'chat')} "
        f"following {_audience_label(topics, everyone)}. "
        "Send it now, schedule it, or cancel."
    )
    if paid_offer is not None:
        text += "\n" + paid_choice_text(paid_offer, paid)
    rows: tuple[tuple[InlineKeyboardButton, ...], ...] = (
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
    if paid_offer is not None:
        label = "🐢 Normal pace (free)" if paid else "⚡ Fast (paid)"
        toggle = InlineKeyboardButton(
            label, callback_data=cb.broadcast_draft_button(cb.BROADCAST_PAID, token)
        )
        rows = (*rows, (toggle,))
    return RenderedMessage(text, rows)


def paid_switched_answer(paid: bool) -> str:
    """Toast after the pace button."""
    return answer_text("Fast (paid) chosen." if paid else "Normal pace chosen.")


def paid_not_allowed_answer() -> str:
    """Toast when paid broadcasts are switched off (ALLOW_PAID_BROADCAST)."""
    return answer_text("Paid broadcasts are switched off for this bot.")


def paid_refused_message(view: BroadcastView) -> RenderedMessage:
    """Telegram refused to charge the Stars of a paid broadcast: it goes on at normal pace."""
    return RenderedMessage(
        f"⚠️ Broadcast #{view.id}: Telegram refused the paid broadcast (the bot's Stars balance "
        "is too low). It goes on at the normal pace; nothing is lost or sent twice. "
        f"Sent so far: {view.sent} / {view.total}."
    )


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
    if view.paid_refused:
        lines.append("Pace: normal (paid broadcast refused: Stars balance too low)")
    elif view.paid:
        lines.append("Pace: ⚡ fast (paid)")
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
