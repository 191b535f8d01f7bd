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
from bot.render.text import RenderedMessage, escape, format_date, quoted_key, shorten

NO_RATE = "–"
NO_TOPIC = "Without a topic"
TOTAL = "total"
# The figure labels of a results table (left column), and their width.
LABEL_WIDTH = 18
VALUE_WIDTH = 7
LIST_TITLE_CHARS = 24
URL_CHARS = 300
SCHEDULED_STAGES = {1: "1 hour", 2: "24 hours"}
# Room kept for the closing lines when topics are added to a message.
_RESERVE = 200


def percent(value: float | None) -> str:
    """A rate as a percentage with one decimal ("31.6%"), or "–" when undefined."""
    return NO_RATE if value is None else f"{value * 100:.1f}%"


def ratio(value: float | None) -> str:
    """Actions per click with two decimals ("0.58"), or "–" when there were no clicks."""
    return NO_RATE if value is None else f"{value:.2f}"


def figures_table(figures: Figures) -> str:
    """One message's (or topic's) figures as a `<pre>` block, one figure a line."""
    rows = [
        ("Targeted", str(figures.targeted), ""),
        ("Sent", str(figures.sent), ""),
        ("Failed", str(figures.failed), ""),
        ("Blocked or gone", str(figures.blocked), ""),
        ("Unique clicks", str(figures.clicks), percent(figures.click_rate)),
        ("Clicks (all)", str(figures.click_count), ""),
        ("Actions", str(figures.actions), percent(figures.action_rate)),
        ("Actions per click", ratio(figures.actions_per_click), ""),
        ("Shares", str(figures.shares), ""),
        ("New via shares", str(figures.joins), ""),
        ("Unsubscribed", str(figures.unsubscribes), ""),
    ]
    lines = [
        f"{label:<{LABEL_WIDTH}}{value:>{VALUE_WIDTH}}" + (f"  {extra}" if extra else "")
        for label, value, extra in rows
    ]
    return "<pre>" + "\n".join(lines) + "</pre>"


def _kind_label(view: ResultsView) -> str:
    return f"broadcast #{view.id}" if view.kind == "broadcast" else "post"


def _heading(view: ResultsView, tz: tzinfo) -> list[str]:
    title = escape(shorten(view.title, 200))
    when = format_date(view.at, tz, weekday=True, time=True)
    lines = [
        f"📊 <b>Results of {_kind_label(view)}</b>",
        f"“{title}” · {escape(when)}",
    ]
    if view.url:
        lines.append(f"Link: {escape(shorten(view.url, URL_CHARS))}")
    return lines


def results_message(
    view: ResultsView, tz: tzinfo, *, heading: str | None = None
) -> RenderedMessage:
    """One message's results: per topic (when it went to more than one), then in total."""
    lines = _heading(view, tz)
    if heading:
        lines.insert(0, heading)
    named = [(label, f) for label, f in view.topics]
    if len(named) == 1:
        lines.append(f"Topic: {escape(shorten(named[0][0] or NO_TOPIC, 64))}")
    text = "\n".join(lines)
    if len(named) > 1:
        text += "\n\n<b>Per topic</b>"
        for index, (label, figures) in enumerate(named):
            block = f"\n{escape(shorten(label or NO_TOPIC, 64))}\n{figures_table(figures)}"
            if len(text) + len(block) > MessageLimit.MAX_TEXT_LENGTH - 2 * _RESERVE - 600:
                text += f"\n… and {len(named) - index} more topics (see the export)"
                break
            text += block
    text += f"\n\n<b>Total</b>\n{figures_table(view.total)}"
    text += "\n\nRates are per message sent. Figures count chats, never say which ones."
    return RenderedMessage(text, disable_preview=True)


def scheduled_results_message(view: ResultsView, stage: int, tz: tzinfo) -> RenderedMessage:
    """The report to the organiser who sent a broadcast, 1 hour and (edited) 24 hours after."""
    after = SCHEDULED_STAGES.get(stage, "")
    heading = f"⏱ <b>{after} after sending</b>" + (
        " (updated)" if stage > 1 else "; this message is updated at 24 hours."
    )
    return results_message(view, tz, heading=heading)


def _list_rows(views: Sequence[ResultsView], tz: tzinfo, *, ids: bool) -> list[str]:
    head = f"{'#':>4} " if ids else ""
    rows = [f"{head}{'date':<6} {'sent':>5} {'click':>6} {'act':>6}  title"]
    for view in views:
        local = view.at.astimezone(tz)
        day = f"{local.day:>2}/{local.month:02d}"
        key = f"{view.id:>4} " if ids else ""
        total = view.total
        rows.append(
            f"{key}{day:<6} {total.sent:>5} {percent(total.click_rate):>6} "
            f"{percent(total.action_rate):>6}  {escape(shorten(view.title, LIST_TITLE_CHARS))}"
        )
    return rows


def results_list_message(
    broadcasts: Sequence[ResultsView], posts: Sequence[ResultsView], tz: tzinfo
) -> RenderedMessage:
    """/results without an argument: the latest broadcasts and posts in one short table."""
    lines = ["📊 <b>Latest results</b> (click and action rates per message sent)", ""]
    lines.append("<b>Broadcasts</b>")
    if broadcasts:
        lines.append("<pre>" + "\n".join(_list_rows(broadcasts, tz, ids=True)) + "</pre>")
    else:
        lines.append("None sent yet.")
    lines.append("<b>Posts</b>")
    if posts:
        lines.append("<pre>" + "\n".join(_list_rows(posts, tz, ids=False)) + "</pre>")
    else:
        lines.append("None delivered yet.")
    lines += [
        "",
        "Details: <code>/results &lt;broadcast id&gt;</code> or "
        "<code>/results &lt;post URL&gt;</code>.",
    ]
    return RenderedMessage("\n".join(lines), disable_preview=True)


def results_usage_message() -> RenderedMessage:
    """/results with an argument that is neither a broadcast id nor a link."""
    return RenderedMessage(
        "Usage: <code>/results</code> for the latest messages, "
        "<code>/results &lt;broadcast id&gt;</code> (as /broadcasts shows it) or "
        "<code>/results &lt;post URL&gt;</code>."
    )


def results_not_found_message(kind: str, key: str) -> RenderedMessage:
    """/results naming a broadcast or post the bot does not have."""
    if kind == "broadcast":
        return RenderedMessage(
            f"There is no broadcast #{escape(shorten(key, 20))}. /results lists the latest ones."
        )
    return RenderedMessage(
        f"I have no post with the link {quoted_key(key)}. /results lists the latest posts; "
        "/latest links each post's title to its address."
    )


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
