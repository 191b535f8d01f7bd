"""Rendering of results: the figures table, rates shown as "–" without sends, escaping, the
list, the scheduled report's heading, the long message kept valid, and the export rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from telegram.constants import MessageLimit

from bot.domain.views import Figures, ResultsView
from bot.render import results as render
from tests.fakes.botapi_html import parse_html

AT = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)
SOME = Figures(
    targeted=40,
    sent=38,
    failed=1,
    blocked=1,
    clicks=12,
    click_count=20,
    actions=7,
    shares=3,
    joins=1,
    unsubscribes=2,
)


def test_figures_table_lines_and_rates() -> None:
    """Each figure on its line, rates per message sent; nothing sent -> "–"."""
    assert render.figures_table(SOME).splitlines() == [
        "<pre>Targeted               40",
        "Sent                   38",
        "Failed                  1",
        "Blocked or gone         1",
        "Unique clicks          12  31.6%",
        "Clicks (all)           20",
        "Actions                 7  18.4%",
        "Actions per click    0.58",
        "Shares                  3",
        "New via shares          1",
        "Unsubscribed            2</pre>",
    ]
    empty = render.figures_table(Figures()).splitlines()
    assert (empty[4], empty[6], empty[7]) == (
        "Unique clicks           0  –",
        "Actions                 0  –",
        "Actions per click       –",
    )


def test_results_message_escapes_and_shows_topics_then_total() -> None:
    """Titles and topic names are escaped; topics come first, the total last."""
    view = ResultsView(
        kind="post",
        id=3,
        title="<b>Free</b> & fair",
        at=AT,
        total=SOME,
        topics=(("A <topic>", SOME), (None, Figures())),
        url="https://e.org/?a=1&b=<2>",
    )
    message = render.results_message(view, UTC)
    text, _ = parse_html(message.text)
    assert text.splitlines()[1:3] == [
        "“<b>Free</b> & fair” · Mon 30 Nov 2026 14:05",
        "Link: https://e.org/?a=1&b=<2>",
    ]
    assert text.index("A <topic>") < text.index("Without a topic") < text.index("Total")


def test_many_topics_stay_within_the_limit_and_valid_html() -> None:
    """Forty topics: the message is cut between blocks, says so, and still parses."""
    view = ResultsView(
        kind="broadcast",
        id=9,
        title="x",
        at=AT,
        total=SOME,
        topics=tuple((f"Topic {n}", SOME) for n in range(40)),
    )
    message = render.results_message(view, UTC)
    text, _ = parse_html(message.text)
    assert len(message.text) <= MessageLimit.MAX_TEXT_LENGTH
    assert "more topics (see the export)" in text
    assert text.rstrip().endswith("never say which ones.")


def test_scheduled_report_heading_per_stage() -> None:
    """The first report announces the update at 24 hours; the second says it is updated."""
    view = ResultsView(kind="broadcast", id=4, title="t", at=AT, total=SOME)
    first = render.scheduled_results_message(view, 1, UTC).text.splitlines()[0]
    second = render.scheduled_results_message(view, 2, UTC).text.splitlines()[0]
    assert (first, second) == (
        "⏱ <b>1 hour after sending</b>; this message is updated at 24 hours.",
        "⏱ <b>24 hours after sending</b> (updated)",
    )


def test_list_message_is_a_table() -> None:
    """Broadcasts with their ids, posts without; titles shortened and escaped."""
    broadcast = ResultsView(kind="broadcast", id=12, title="Act <now> please", at=AT, total=SOME)
    post = ResultsView(kind="post", id=5, title="A" * 40, at=AT, total=Figures())
    text, _ = parse_html(render.results_list_message([broadcast], [post], UTC).text)
    lines = text.splitlines()
    assert lines[3:5] == [
        "   # date    sent  click    act  title",
        "  12 30/11     38  31.6%  18.4%  Act <now> please",
    ]
    assert lines[6:8] == [
        "date    sent  click    act  title",
        f"30/11      0      –      –  {'A' * 23}…",
    ]
    empty, _ = parse_html(render.results_list_message([], [], UTC).text)
    assert "None sent yet." in empty


def test_export_rows_per_topic_then_total() -> None:
    """One row per topic and a total row, rates rounded, None when undefined."""
    view = ResultsView(
        kind="broadcast",
        id=1,
        title="t",
        at=AT,
        total=SOME,
        topics=(("A", SOME), (None, Figures())),
    )
    rows = render.export_rows([view], UTC)
    assert [r["topic"] for r in rows] == ["A", "Without a topic", "total"]
    assert (rows[2]["click_rate"], rows[2]["actions_per_click"], rows[1]["click_rate"]) == (
        0.3158,
        0.5833,
        None,
    )
    assert list(rows[0]) == list(render.EXPORT_FIELDS)


def test_spreadsheet_cells_never_start_a_formula() -> None:
    """Titles that a spreadsheet would evaluate get a leading apostrophe; numbers stay."""
    cells = ['=HYPERLINK("x")', "+1", "-2", "@a", "Fine", None, 3, 0.5]
    assert [render.spreadsheet_cell(c) for c in cells] == [
        '\'=HYPERLINK("x")',
        "'+1",
        "'-2",
        "'@a",
        "Fine",
        "",
        3,
        0.5,
    ]


def test_results_in_french() -> None:
    """French: labels, « guillemets », decimal commas and « 31,6 % », Babel's date."""
    view = ResultsView(kind="broadcast", id=7, title="Agir", at=AT, total=SOME, topics=())
    text, _ = parse_html(render.results_message(view, UTC, language="fr").text)
    lines = text.splitlines()
    assert (lines[0], lines[1], lines[4], lines[8], lines[11]) == (
        "📊 Résultats de la diffusion n°\u00a07",
        "«\u00a0Agir\u00a0» · lun. 30 novembre 2026 14:05",
        "Visés                     40",
        "Clics uniques             12  31,6\u00a0%",
        "Actions par clic        0,58",
    )
