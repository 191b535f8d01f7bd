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

from bot.domain.delivery_policy import PaidEstimate
from bot.domain.topics import ACTION_LABEL_MAX
from bot.domain.views import BroadcastView
from bot.render import callback_data as cb
from bot.render.actions import DEFAULT_ACTION_LABEL
from bot.render.i18n import N_, SOURCE_LANGUAGE, Translator, translator
from bot.render.text import (
    TOPIC_CHARS,
    RenderedMessage,
    answer_text,
    escape,
    fit,
    format_date,
    quoted_key,
    shorten,
)

CAPTION_LIMIT = 1024
L = SOURCE_LANGUAGE  # the default of every `language` argument below


def text_limit_error(plain: str, *, caption: bool, language: str = L) -> str | None:
    """Why a message is too long to broadcast (counted after parsing), or None if it fits."""
    limit = CAPTION_LIMIT if caption else MessageLimit.MAX_TEXT_LENGTH
    length = len(plain.strip())
    if length <= limit:
        return None
    t = translator(language)
    text = (
        t.gettext(
            "A photo caption can be at most %(limit)s characters; yours has %(length)s. "
            "Please send a shorter one, or /cancel."
        )
        if caption
        else t.gettext(
            "A message can be at most %(limit)s characters; yours has %(length)s. "
            "Please send a shorter one, or /cancel."
        )
    )
    return text % {"limit": limit, "length": length}


def _audience_label(topics: Sequence[str], everyone: bool, t: Translator) -> str:
    if everyone:
        return t.gettext("<b>all subscribers</b>")
    return ", ".join(f"<b>{escape(shorten(name, TOPIC_CHARS))}</b>" for name in topics) or "—"


def _chats(t: Translator, n: int) -> str:
    return t.ngettext("%(n)s chat", "%(n)s chats", n)


def _moment(moment: datetime | None, tz: tzinfo, language: str = L) -> str:
    if moment is None:
        return "—"
    zone = moment.astimezone(tz).tzname() or ""
    return f"{format_date(moment, tz, weekday=True, time=True, language=language)} {zone}".strip()


def broadcast_usage_message(language: str = L) -> RenderedMessage:
    """/broadcast without topics."""
    return RenderedMessage(
        translator(language).gettext(
            "Usage: <code>/broadcast &lt;topic&gt; [&lt;topic&gt; …]</code> or "
            "<code>/broadcast all</code>. /topics lists the topics."
        )
    )


def push_usage_message(language: str = L) -> RenderedMessage:
    """/push without a post URL and a topic."""
    return RenderedMessage(
        translator(language).gettext(
            "Usage: <code>/push &lt;post URL&gt; &lt;topic&gt; [intro line]</code>, for a post "
            "the bot has stored (see /latest)."
        )
    )


def push_post_not_found_message(url: str, language: str = L) -> RenderedMessage:
    """/push with a URL no stored post has."""
    text = translator(language).gettext(
        "I have no post with the link %(link)s. /push takes the web address of a "
        "post that came in through one of my feeds: in /latest, each title links to it."
    )
    return RenderedMessage(text % {"link": quoted_key(url, language)})


def compose_prompt(
    topics: Sequence[str], everyone: bool, audience: int, language: str = L
) -> RenderedMessage:
    """After /broadcast <topics>: ask for the message."""
    t = translator(language)
    first = t.gettext("Broadcast to %(audience)s (%(chats)s now).") % {
        "audience": _audience_label(topics, everyone, t),
        "chats": _chats(t, audience),
    }
    second = t.gettext(
        "Send me the message: text with its formatting, or one photo with a caption. "
        "/cancel stops."
    )
    return RenderedMessage(f"{first}\n\n{second}")


def compose_retry_message(language: str = L) -> RenderedMessage:
    """Something other than text or a photo arrived while composing."""
    return RenderedMessage(
        translator(language).gettext(
            "Please send text, or one photo with a caption. /cancel stops."
        )
    )


def link_prompt(language: str = L) -> RenderedMessage:
    """Ask for the "Take action" link."""
    return RenderedMessage(
        translator(language).gettext(
            "Send a link for the <b>Take action</b> button (http:// or https://), "
            "or <code>skip</code> for no button. /cancel stops."
        )
    )


OWN_LABEL_BUTTON = N_("Own label…")
NO_ACTION_BUTTON = N_("No button")


def action_prompt(token: str, language: str = L) -> RenderedMessage:
    """After the link: offer an action button, with the default label, an own one, or none."""
    t = translator(language)
    row = (
        InlineKeyboardButton(
            t.gettext(DEFAULT_ACTION_LABEL),
            callback_data=cb.broadcast_draft_button(cb.BROADCAST_ACTION_DEFAULT, token),
        ),
        InlineKeyboardButton(
            t.gettext(OWN_LABEL_BUTTON),
            callback_data=cb.broadcast_draft_button(cb.BROADCAST_ACTION_OWN, token),
        ),
        InlineKeyboardButton(
            t.gettext(NO_ACTION_BUTTON),
            callback_data=cb.broadcast_draft_button(cb.BROADCAST_ACTION_NONE, token),
        ),
    )
    return RenderedMessage(
        t.gettext(
            "Add an action button under the message? Supporters press it once they have done "
            "what you ask; each chat counts once, and you see how many did, never who. "
            "/cancel stops."
        ),
        (row,),
    )


def action_choice_pending_message(language: str = L) -> RenderedMessage:
    """Text while the action-button question waits for a button."""
    return RenderedMessage(
        translator(language).gettext(
            "Choose one of the buttons above: the action button, your own label, or none. "
            "/cancel stops."
        )
    )


def action_label_prompt(language: str = L) -> RenderedMessage:
    """The "Own label…" button was pressed: ask for the label."""
    text = translator(language).gettext(
        "Send the label for the button: one line of at most %(max)s characters, "
        "for example <code>✍️ I wrote my letter</code>. /cancel stops."
    )
    return RenderedMessage(text % {"max": ACTION_LABEL_MAX})


def action_label_refused_message(reason: str, language: str = L) -> RenderedMessage:
    """A label the flow cannot use: say why (plain text) and ask again."""
    text = translator(language).gettext(
        "That label won't do: %(reason)s. Please send another one, or /cancel."
    )
    return RenderedMessage(text % {"reason": escape(reason)})


def intro_prompt(language: str = L) -> RenderedMessage:
    """/push without an intro line: ask for one."""
    return RenderedMessage(
        translator(language).gettext(
            "Send one line to introduce the post, or <code>skip</code>. /cancel stops."
        )
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


# "The French version" as a whole: French makes the adjective agree (« la version française »),
# which a language's name (« français ») alone cannot.
_VERSIONS = {"en": N_("the English version"), "fr": N_("the French version")}
_VERSION_HEADINGS = {"en": N_("👇 The English version:"), "fr": N_("👇 The French version:")}


def _version(code: str, t: Translator) -> str:
    """A version by name: "the French version", « la version française » (else the name)."""
    if code in _VERSIONS:
        return t.gettext(_VERSIONS[code])
    return language_name(code, t.language)


def version_prompt(missing: str, written: str, language: str) -> RenderedMessage:
    """After the message: offer to add the other language's version (or skip)."""
    t = translator(language)
    text = t.gettext(
        "Now <b>{missing_version}</b> of the same message, for the chats that read"
        " {missing}: send it as text, or <code>skip</code> and they get {written_version}."
        " /cancel stops."
    ).format(
        missing_version=escape(_version(missing, t)),
        missing=escape(language_name(missing, language)),
        written_version=escape(_version(written, t)),
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
    if version in _VERSION_HEADINGS:
        return RenderedMessage(t.gettext(_VERSION_HEADINGS[version]))
    return RenderedMessage(f"👇 {escape(language_name(version, language))}:")


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
            first = _version(versions[0], t) if versions else name
            parts.append(
                t.gettext("{name}: {count} (they get {first_version})").format(
                    name=name, count=t.number(count), first_version=first
                )
            )
    return escape(t.gettext("By language: {parts}.").format(parts=" · ".join(parts)))


def duration_text(seconds: float, language: str = L) -> str:
    """A rough duration: "under a minute", "12 min", "3 h 05 min"."""
    t = translator(language)
    minutes = round(seconds / 60)
    if minutes < 1:
        return t.gettext("under a minute")
    if minutes < 60:
        return t.gettext("%(minutes)s min") % {"minutes": minutes}
    return t.gettext("%(hours)s h %(minutes)s min") % {
        "hours": minutes // 60,
        "minutes": f"{minutes % 60:02d}",
    }


def stars_text(stars: float, language: str = L) -> str:
    """Stars as Telegram counts them (tenths), e.g. "1,940 Stars", "0.5 Stars"."""
    t = translator(language)
    shown = t.decimal(stars, "#,##0" if stars == int(stars) else "#,##0.0")
    if stars == 1:
        return t.gettext("%(stars)s Star") % {"stars": shown}
    return t.gettext("%(stars)s Stars") % {"stars": shown}


def paid_choice_text(estimate: PaidEstimate, paid: bool, language: str = L) -> str:
    """The pace lines of the preview summary: the cost in Stars and the time saved."""
    t = translator(language)
    normal = duration_text(estimate.normal_seconds, language)
    fast = duration_text(estimate.paid_seconds, language)
    stars = stars_text(estimate.stars, language)
    if paid:
        return t.gettext(
            "⚡ <b>Fast (paid)</b>: up to 1,000 messages a second, about %(fast)s instead of "
            "%(normal)s. Costs up to <b>%(stars)s</b> from the bot's balance (0.1 Star per "
            "message above the free 30 a second)."
        ) % {"fast": fast, "normal": normal, "stars": stars}
    return t.gettext(
        "Pace: normal, about %(normal)s. Fast (paid) would take about %(fast)s (saves "
        "%(saved)s) for up to %(stars)s."
    ) % {
        "normal": normal,
        "fast": fast,
        "saved": duration_text(estimate.saved_seconds, language),
        "stars": stars,
    }


def preview_summary_message(
    topics: Sequence[str],
    everyone: bool,
    audience: int,
    token: str,
    language: str = L,
    *,
    respect_pace: bool = False,
    later: int = 0,
    by_language: Sequence[tuple[str, int]] = (),
    versions: Sequence[str] = (),
    paid_offer: PaidEstimate | None = None,
    paid: bool = False,
) -> RenderedMessage:
    """Below the preview: the audience (now, later, per language) and the buttons.

    The buttons are the pace toggle and Send now / Schedule / Cancel. With `respect_pace`,
    `later` chats get it at their digest time or when their quiet hours end
    (bot.domain.pace); without, everyone gets it now. `versions` are the languages the
    broadcast is written in, the first written first. With `paid_offer`
    (ALLOW_PAID_BROADCAST) it also shows the pace, the cost in Stars and the time saved, and a
    button that switches the draft between normal and fast (paid).
    """
    t = translator(language)
    text = (
        t.gettext("👆 This preview is exactly what supporters will get.")
        + "\n"
        + t.gettext(
            "It will go to %(chats)s following %(audience)s. Send it now, schedule it, or cancel."
        )
        % {"chats": _chats(t, audience), "audience": _audience_label(topics, everyone, t)}
    )
    text += "\n" + pace_split_text(audience, later if respect_pace else 0, respect_pace, language)
    if by_language:
        text += "\n" + audience_languages_line(by_language, versions, language)
    if paid_offer is not None:
        text += "\n" + paid_choice_text(paid_offer, paid, language)
    rows: tuple[tuple[InlineKeyboardButton, ...], ...] = (
        (
            InlineKeyboardButton(
                t.gettext("Send now"),
                callback_data=cb.broadcast_draft_button(cb.BROADCAST_SEND, token),
            ),
            InlineKeyboardButton(
                t.gettext("Schedule"),
                callback_data=cb.broadcast_draft_button(cb.BROADCAST_SCHEDULE, token),
            ),
            InlineKeyboardButton(
                t.gettext("Cancel"),
                callback_data=cb.broadcast_draft_button(cb.BROADCAST_DISCARD, token),
            ),
        ),
        (
            InlineKeyboardButton(
                pace_toggle_label(respect_pace, language),
                callback_data=cb.broadcast_draft_button(cb.BROADCAST_PACE, token),
            ),
        ),
    )
    if paid_offer is not None:
        label = t.gettext("🐢 Normal pace (free)") if paid else t.gettext("⚡ Fast (paid)")
        toggle = InlineKeyboardButton(
            label, callback_data=cb.broadcast_draft_button(cb.BROADCAST_PAID, token)
        )
        rows = (*rows, (toggle,))
    return RenderedMessage(text, rows)


def pace_split_text(audience: int, later: int, respect_pace: bool, language: str = L) -> str:
    """How many chats get the broadcast now and how many later (digests, quiet hours)."""
    t = translator(language)
    if not respect_pace:
        return t.gettext(
            "Now: all of them (a broadcast ignores digests and quiet hours unless you choose)."
        )
    return t.gettext("Respecting digests and quiet hours: %(now)s now, %(later)s later.") % {
        "now": t.number(audience - later),
        "later": t.number(later),
    }


def pace_toggle_label(respect_pace: bool, language: str = L) -> str:
    """The toggle under the summary."""
    t = translator(language)
    if respect_pace:
        return t.gettext("✅ Respect digests and quiet hours")
    return t.gettext("Respect digests and quiet hours")


def paid_switched_answer(paid: bool, language: str = L) -> str:
    """Toast after the pace button."""
    t = translator(language)
    return answer_text(
        t.gettext("Fast (paid) chosen.") if paid else t.gettext("Normal pace chosen.")
    )


def paid_not_allowed_answer(language: str = L) -> str:
    """Toast when paid broadcasts are switched off (ALLOW_PAID_BROADCAST)."""
    return answer_text(
        translator(language).gettext("Paid broadcasts are switched off for this bot.")
    )


def paid_refused_message(view: BroadcastView, language: str = L) -> RenderedMessage:
    """Telegram refused to charge the Stars of a paid broadcast: it goes on at normal pace."""
    t = translator(language)
    return RenderedMessage(
        t.gettext(
            "⚠️ Broadcast #%(id)s: Telegram refused the paid broadcast (the bot's Stars balance "
            "is too low). It goes on at the normal pace; nothing is lost or sent twice. "
            "Sent so far: %(sent)s / %(total)s."
        )
        % {"id": view.id, "sent": t.number(view.sent), "total": t.number(view.total)}
    )


def preview_pending_message(language: str = L) -> RenderedMessage:
    """Text while a preview waits for its buttons."""
    return RenderedMessage(
        translator(language).gettext("Use the buttons under the preview, or /cancel.")
    )


def when_prompt(tz_name: str, language: str = L) -> RenderedMessage:
    """Schedule was pressed: ask for the time."""
    text = translator(language).gettext(
        "When should it go out? For example “in 2h”, “in 30m”, “18:30”, “tomorrow 09:00” or "
        "“2026-12-10 09:00” (%(zone)s time). /cancel stops."
    )
    return RenderedMessage(text % {"zone": escape(tz_name)})


def scheduled_message(view: BroadcastView, tz: tzinfo, language: str = L) -> RenderedMessage:
    """A draft was scheduled."""
    text = translator(language).gettext(
        "🗓 Broadcast #%(id)s is scheduled for %(when)s. /broadcasts shows it and can cancel it."
    )
    when = escape(_moment(view.scheduled_for, tz, language))
    return RenderedMessage(text % {"id": view.id, "when": when})


def sending_answer(language: str = L) -> str:
    """The answer to Send now."""
    return translator(language).gettext("Sending.")


def draft_cancelled_message(language: str = L) -> RenderedMessage:
    """The draft was discarded (Cancel or /cancel)."""
    return RenderedMessage(translator(language).gettext("Cancelled. Nothing was sent."))


def draft_stale_answer(language: str = L) -> str:
    """A button under an old preview (plain text)."""
    return answer_text(
        translator(language).gettext(
            "This preview is no longer active. Start again with /broadcast."
        )
    )


def draft_expired_message(language: str = L) -> RenderedMessage:
    """The conversation timed out."""
    return RenderedMessage(
        translator(language).gettext(
            "Your broadcast draft expired; nothing was sent. /broadcast to start again."
        )
    )


def nothing_to_cancel_message(language: str = L) -> RenderedMessage:
    """/cancel outside a broadcast draft."""
    return RenderedMessage(translator(language).gettext("There is nothing to cancel."))


def progress_message(view: BroadcastView, language: str = L) -> RenderedMessage:
    """The organiser's progress message, edited as the broadcast goes out."""
    t = translator(language)
    done = view.status == "done" or (view.status == "sending" and view.pending == 0)
    values: dict[str, object] = {
        "id": view.id,
        "audience": _audience_label(view.topics, view.everyone, t),
    }
    head = (
        t.gettext("✅ Broadcast #%(id)s to %(audience)s")
        if done
        else t.gettext("📣 Sending broadcast #%(id)s to %(audience)s")
    )
    lines = [
        head % values,
        t.gettext("Sent %(sent)s / %(total)s") % {"sent": view.sent, "total": view.total},
        t.gettext("Blocked or gone: %(dropped)s · Failed: %(failed)s")
        % {"dropped": view.dropped, "failed": view.failed},
    ]
    if not done:
        lines.append(t.gettext("Waiting: %(pending)s") % {"pending": view.pending})
    if view.paid_refused:
        lines.append(t.gettext("Pace: normal (paid broadcast refused: Stars balance too low)"))
    elif view.paid:
        lines.append(t.gettext("Pace: ⚡ fast (paid)"))
    return RenderedMessage("\n".join(lines))


def final_summary_message(view: BroadcastView, language: str = L) -> RenderedMessage:
    """Sent when no delivery of the broadcast is pending any more."""
    t = translator(language)
    text = t.gettext(
        "✅ Broadcast #%(id)s finished: %(sent)s of %(chats)s reached, "
        "%(dropped)s blocked or gone, %(failed)s failed."
    )
    return RenderedMessage(
        text
        % {
            "id": view.id,
            "sent": view.sent,
            "chats": _chats(t, view.total),
            "dropped": view.dropped,
            "failed": view.failed,
        }
    )


def _figures_line(view: BroadcastView, t: Translator) -> str:
    if view.status == "scheduled":
        return t.gettext("waiting")
    if view.status == "cancelled":
        return t.gettext("cancelled")
    values = {
        "sent": view.sent,
        "total": view.total,
        "dropped": view.dropped,
        "failed": view.failed,
        "pending": view.pending,
    }
    if view.pending:
        return (
            t.gettext(
                "sent %(sent)s/%(total)s, blocked %(dropped)s, failed %(failed)s, "
                "waiting %(pending)s"
            )
            % values
        )
    return t.gettext("sent %(sent)s/%(total)s, blocked %(dropped)s, failed %(failed)s") % values


_STATUSES = {
    "scheduled": N_("scheduled"),
    "sending": N_("sending"),
    "done": N_("done"),
    "cancelled": N_("cancelled"),
}


def broadcasts_list_message(
    recent: Sequence[BroadcastView],
    scheduled: Sequence[BroadcastView],
    tz: tzinfo,
    language: str = L,
) -> RenderedMessage:
    """/broadcasts: scheduled broadcasts (each with a Cancel button) and the recent ones."""
    t = translator(language)
    lines = [t.gettext("<b>Scheduled</b>")]
    if not scheduled:
        lines.append(t.gettext("None."))
    for view in scheduled:
        text = (
            t.gettext("#%(id)s push to %(audience)s at %(when)s")
            if view.push
            else t.gettext("#%(id)s broadcast to %(audience)s at %(when)s")
        )
        lines.append(
            text
            % {
                "id": view.id,
                "audience": _audience_label(view.topics, view.everyone, t),
                "when": escape(_moment(view.scheduled_for, tz, language)),
            }
            + (f" — {escape(shorten(view.summary, 60))}" if view.summary else "")
        )
    lines += ["", t.gettext("<b>Recent</b>")]
    if not recent:
        lines.append(t.gettext("None yet."))
    for view in recent:
        when = view.finished_at or view.scheduled_for or view.created_at
        status = t.gettext(_STATUSES[view.status]) if view.status in _STATUSES else view.status
        lines.append(
            f"#{view.id} {escape(status)} · {escape(_moment(when, tz, language))} · "
            f"{_audience_label(view.topics, view.everyone, t)} · {_figures_line(view, t)}"
            + (f" — {escape(shorten(view.summary, 60))}" if view.summary else "")
        )
    cancel = t.gettext("✖ Cancel #%(id)s")
    rows = tuple(
        (
            InlineKeyboardButton(
                cancel % {"id": view.id}, callback_data=cb.broadcast_cancel(view.id)
            ),
        )
        for view in scheduled[:90]
    )
    return RenderedMessage(fit("\n".join(lines)), rows, True)


def broadcast_cancelled_answer(broadcast_id: int, *, changed: bool, language: str = L) -> str:
    """The answer to a "Cancel #N" press (plain text)."""
    t = translator(language)
    if changed:
        return answer_text(t.gettext("Broadcast #%(id)s is cancelled.") % {"id": broadcast_id})
    text = t.gettext("Broadcast #%(id)s is no longer scheduled; nothing to cancel.")
    return answer_text(text % {"id": broadcast_id})
