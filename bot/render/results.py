"""What organisers read about results: /results, the scheduled reports and the export's rows.

Figures are aggregates (counts of chats), never who did what. Tables are monospace (`<pre>`),
every title and topic name escaped and shortened; a rate whose denominator is 0 shows "–".
No I/O: the functions take plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from telegram.constants import MessageLimit

from bot.domain.views import FIGURES, Figures, ResultsView
from bot.render.i18n import N_, SOURCE_LANGUAGE, Translator, translator
from bot.render.text import RenderedMessage, escape, format_date, quoted_key, shorten

NO_RATE = "–"
NO_TOPIC = N_("Without a topic")
TOTAL = "total"
# The figure labels of a results table (left column), and their least width.
LABEL_WIDTH = 18
VALUE_WIDTH = 7
LIST_TITLE_CHARS = 24
URL_CHARS = 300
# Room kept for the closing lines when topics are added to a message.
_RESERVE = 200


def percent(value: float | None, language: str = SOURCE_LANGUAGE) -> str:
    """A rate as a percentage with one decimal ("31.6%", « 31,6 % »), or "–" when undefined."""
    if value is None:
        return NO_RATE
    if language == SOURCE_LANGUAGE:
        return f"{value * 100:.1f}%"
    return translator(language).percent(value)


def ratio(value: float | None, language: str = SOURCE_LANGUAGE) -> str:
    """Actions per click with two decimals ("0.58", « 0,58 »), or "–" when there were no clicks."""
    if value is None:
        return NO_RATE
    if language == SOURCE_LANGUAGE:
        return f"{value:.2f}"
    return translator(language).decimal(value, "0.00")


def figures_table(figures: Figures, language: str = SOURCE_LANGUAGE) -> str:
    """One message's (or topic's) figures as a `<pre>` block, one figure a line."""
    t = translator(language)
    rows = [
        (t.gettext("Targeted"), str(figures.targeted), ""),
        (t.gettext("Sent"), str(figures.sent), ""),
        (t.gettext("Failed"), str(figures.failed), ""),
        (t.gettext("Blocked or gone"), str(figures.blocked), ""),
        (t.gettext("Unique clicks"), str(figures.clicks), percent(figures.click_rate, language)),
        (t.gettext("Clicks (all)"), str(figures.click_count), ""),
        (t.gettext("Actions"), str(figures.actions), percent(figures.action_rate, language)),
        (t.gettext("Actions per click"), ratio(figures.actions_per_click, language), ""),
        (t.gettext("Shares"), str(figures.shares), ""),
        (t.gettext("New via shares"), str(figures.joins), ""),
        (t.gettext("Unsubscribed"), str(figures.unsubscribes), ""),
    ]
    width = max(LABEL_WIDTH, *(len(label) + 1 for label, _, _ in rows))
    lines = [
        f"{label:<{width}}{value:>{VALUE_WIDTH}}" + (f"  {extra}" if extra else "")
        for label, value, extra in rows
    ]
    return "<pre>" + "\n".join(lines) + "</pre>"


def _heading(view: ResultsView, tz: tzinfo, t: Translator) -> list[str]:
    title = escape(shorten(view.title, 200))
    when = format_date(view.at, tz, weekday=True, time=True, language=t.language)
    heading = (
        t.gettext("📊 <b>Results of broadcast #%(id)s</b>") % {"id": view.id}
        if view.kind == "broadcast"
        else t.gettext("📊 <b>Results of post</b>")
    )
    quoted = f"«\u00a0{title}\u00a0»" if t.language == "fr" else f"“{title}”"
    lines = [heading, f"{quoted} · {escape(when)}"]
    if view.url:
        lines.append(t.gettext("Link: %(url)s") % {"url": escape(shorten(view.url, URL_CHARS))})
    return lines


def results_message(
    view: ResultsView,
    tz: tzinfo,
    *,
    heading: str | None = None,
    language: str = SOURCE_LANGUAGE,
) -> RenderedMessage:
    """One message's results: per topic (when it went to more than one), then in total."""
    t = translator(language)
    no_topic = t.gettext(NO_TOPIC)
    lines = _heading(view, tz, t)
    if heading:
        lines.insert(0, heading)
    named = [(label, f) for label, f in view.topics]
    if len(named) == 1:
        name = escape(shorten(named[0][0] or no_topic, 64))
        lines.append(t.gettext("Topic: %(topic)s") % {"topic": name})
    text = "\n".join(lines)
    if len(named) > 1:
        text += "\n\n" + t.gettext("<b>Per topic</b>")
        for index, (label, figures) in enumerate(named):
            table = figures_table(figures, language)
            block = f"\n{escape(shorten(label or no_topic, 64))}\n{table}"
            if len(text) + len(block) > MessageLimit.MAX_TEXT_LENGTH - 2 * _RESERVE - 600:
                text += "\n" + t.ngettext(
                    "… and %(n)s more topic (see the export)",
                    "… and %(n)s more topics (see the export)",
                    len(named) - index,
                )
                break
            text += block
    text += "\n\n" + t.gettext("<b>Total</b>") + f"\n{figures_table(view.total, language)}"
    text += "\n\n" + t.gettext(
        "Rates are per message sent. Figures count chats, never say which ones."
    )
    return RenderedMessage(text, disable_preview=True)


def scheduled_results_message(
    view: ResultsView, stage: int, tz: tzinfo, language: str = SOURCE_LANGUAGE
) -> RenderedMessage:
    """The report to the organiser who sent a broadcast, 1 hour and (edited) 24 hours after."""
    t = translator(language)
    if stage > 1:
        heading = t.gettext("⏱ <b>24 hours after sending</b> (updated)")
    else:
        heading = t.gettext("⏱ <b>1 hour after sending</b>; this message is updated at 24 hours.")
    return results_message(view, tz, heading=heading, language=language)


def _list_rows(views: Sequence[ResultsView], tz: tzinfo, *, ids: bool, t: Translator) -> list[str]:
    head = f"{'#':>4} " if ids else ""
    # TRANSLATORS: column heads of a monospace table: at most 6, 5, 6 and 6 characters.
    date, sent, click, act = (
        t.gettext("date"),
        t.gettext("sent"),
        t.gettext("click"),
        t.gettext("act"),
    )
    title = t.gettext("title")
    rows = [f"{head}{date:<6} {sent:>5} {click:>6} {act:>6}  {title}"]
    for view in views:
        local = view.at.astimezone(tz)
        day = f"{local.day:>2}/{local.month:02d}"
        key = f"{view.id:>4} " if ids else ""
        total = view.total
        clicks, actions = (
            percent(total.click_rate, t.language),
            percent(total.action_rate, t.language),
        )
        rows.append(
            f"{key}{day:<6} {total.sent:>5} {clicks:>6} "
            f"{actions:>6}  {escape(shorten(view.title, LIST_TITLE_CHARS))}"
        )
    return rows


def results_list_message(
    broadcasts: Sequence[ResultsView],
    posts: Sequence[ResultsView],
    tz: tzinfo,
    language: str = SOURCE_LANGUAGE,
) -> RenderedMessage:
    """/results without an argument: the latest broadcasts and posts in one short table."""
    t = translator(language)
    lines = [
        t.gettext("📊 <b>Latest results</b> (click and action rates per message sent)"),
        "",
    ]
    lines.append(t.gettext("<b>Broadcasts</b>"))
    if broadcasts:
        rows = _list_rows(broadcasts, tz, ids=True, t=t)
        lines.append("<pre>" + "\n".join(rows) + "</pre>")
    else:
        lines.append(t.gettext("None sent yet."))
    lines.append(t.gettext("<b>Posts</b>"))
    if posts:
        lines.append("<pre>" + "\n".join(_list_rows(posts, tz, ids=False, t=t)) + "</pre>")
    else:
        lines.append(t.gettext("None delivered yet."))
    lines += [
        "",
        t.gettext(
            "Details: <code>/results &lt;broadcast id&gt;</code> or "
            "<code>/results &lt;post URL&gt;</code>."
        ),
    ]
    return RenderedMessage("\n".join(lines), disable_preview=True)


def results_usage_message(language: str = SOURCE_LANGUAGE) -> RenderedMessage:
    """/results with an argument that is neither a broadcast id nor a link."""
    return RenderedMessage(
        translator(language).gettext(
            "Usage: <code>/results</code> for the latest messages, "
            "<code>/results &lt;broadcast id&gt;</code> (as /broadcasts shows it) or "
            "<code>/results &lt;post URL&gt;</code>."
        )
    )


def results_not_found_message(
    kind: str, key: str, language: str = SOURCE_LANGUAGE
) -> RenderedMessage:
    """/results naming a broadcast or post the bot does not have."""
    t = translator(language)
    if kind == "broadcast":
        text = t.gettext("There is no broadcast #%(id)s. /results lists the latest ones.")
        return RenderedMessage(text % {"id": escape(shorten(key, 20))})
    text = t.gettext(
        "I have no post with the link %(link)s. /results lists the latest posts; "
        "/latest links each post's title to its address."
    )
    return RenderedMessage(text % {"link": quoted_key(key, language)})


# -- export ------------------------------------------------------------------------------------

EXPORT_FIELDS = (
    "kind",
    "id",
    "title",
    "date",
    "topic",
    *FIGURES,
    "click_rate",
    "action_rate",
    "actions_per_click",
)


# A cell starting with one of these is a formula to spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> object:
    """A CSV cell: None as empty; text a spreadsheet would run as a formula gets a "'".

    A feed's or an organiser's title must not become a formula in the organisation's sheet.
    """
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def export_rows(views: Sequence[ResultsView], tz: tzinfo) -> list[dict[str, object]]:
    """One row per message and topic, then the message's "total" row.

    Rates are rounded to 4 decimals, None when undefined. No row names a chat.
    """
    rows: list[dict[str, object]] = []
    for view in views:
        date = view.at.astimezone(tz).isoformat(timespec="seconds")
        parts = [(label or NO_TOPIC, figures) for label, figures in view.topics]
        for topic, figures in [*parts, (TOTAL, view.total)]:
            row: dict[str, object] = {
                "kind": view.kind,
                "id": view.id,
                "title": view.title,
                "date": date,
                "topic": topic,
            }
            row.update({name: getattr(figures, name) for name in FIGURES})
            row["click_rate"] = _rounded(figures.click_rate)
            row["action_rate"] = _rounded(figures.action_rate)
            row["actions_per_click"] = _rounded(figures.actions_per_click)
            rows.append(row)
    return rows
