"""Pure rendering: every message is valid Telegram HTML within the limits, whatever the input.

Validity is judged by the fake Bot API's port of TDLib's HTML parser (`parse_html` + `fix_text`),
the same code that answers the bot's sendMessage in the end-to-end tests.
"""

from __future__ import annotations

import locale
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.render import callback_data as cb
from bot.render import messages as render
from bot.render.messages import PostView, RenderedMessage, TopicView
from tests.fakes.botapi_html import EmptyTextError, HtmlParseError, fix_text, parse_html

SPECIAL = [
    "<",
    ">",
    "&",
    "&amp;",
    "&lt;",
    "<b>",
    "</a>",
    "<a href='x'>",
    '"',
    "'",
    "&#0;",
    "\u202e",
    "\u200f",
    "\u200b",
    "\ufeff",
    "\u2028",
    "🙂",
    "👩🏽‍⚖️",
    "عربى",
    "עברית",
    "\n",
    " ",
    "\t",
    "word",
    "https://example.org/?a=1&b=<2>",
]
_pieces = st.lists(st.one_of(st.text(max_size=40), st.sampled_from(SPECIAL)), max_size=30)
# 100 KB strings of one repeated troublemaker.
_huge = st.builds(
    lambda piece, n: (piece * n)[:100_000],
    st.sampled_from([*SPECIAL, "word "]),
    st.integers(1, 100_000),
)
# Strings that look empty to Telegram (it refuses a message with nothing visible).
_invisible = st.text(alphabet="\u200b\u200c\u200d\ufeff\u2800\u3164 \n\t", max_size=6)
texts = st.one_of(_pieces.map("".join), _huge, _invisible)
urls = st.one_of(
    st.none(),
    st.just("https://www.amnesty.org/en/latest/news/2026/11/a-post/?utm=x&y=<z>"),
    texts.map(lambda t: "https://example.org/" + t),
    texts,
)
ids = st.integers(1, 10**18 - 1)
topics = st.builds(
    TopicView,
    id=ids,
    slug=texts,
    name=texts,
    emoji=st.sampled_from(["", "✋", "✍️", "🌿", "<", "&"]),
    description=texts,
    subscribed=st.booleans(),
)
posts = st.builds(
    PostView,
    id=ids,
    title=texts,
    url=urls,
    summary=texts,
    published=st.one_of(st.none(), st.just(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))),
    source=st.one_of(st.none(), texts),
)
SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100)


def problems(message: RenderedMessage) -> list[str]:
    """What Telegram would refuse in a message (empty when it would send it)."""
    found: list[str] = []
    if len(message.text.encode("utf-8")) > 32768:
        found.append("raw text over 32768 bytes")
    try:
        text, _ = fix_text(*parse_html(message.text))
    except HtmlParseError as error:
        return [*found, f"can't parse entities: {error.message}"]
    except EmptyTextError:
        return [*found, "text must be non-empty"]
    if len(text) > 4096:
        found.append(f"message is too long: {len(text)}")
    buttons = [button for row in message.buttons for button in row]
    if len(buttons) > 100:
        found.append("more than 100 buttons")
    for button in buttons:
        if not button.text.strip():
            found.append("empty button text")
        data = button.callback_data
        if isinstance(data, str) and (len(data.encode()) > 64 or cb.parse(data) is None):
            found.append(f"bad callback data {data!r}")
    return found


def plain_text(message: RenderedMessage) -> str:
    """The text a user sees."""
    return fix_text(*parse_html(message.text))[0]


# -- property tests -----------------------------------------------------------------------------


@SLOW
@given(post=posts, topic=st.one_of(st.none(), topics))
@example(post=PostView(1, "\u200b", None), topic=None)
def test_post_notification_is_valid_telegram_html(post: PostView, topic: TopicView | None) -> None:
    """Any post renders to HTML Telegram accepts, within 4096 characters."""
    assert problems(render.post_notification(post, topic, UTC)) == []


@SLOW
@given(chosen=st.lists(topics, max_size=120))
def test_picker_is_valid_telegram_html(chosen: list[TopicView]) -> None:
    """Any list of topics renders to a picker Telegram accepts, within the limits."""
    assert problems(render.picker_message(chosen)) == []


@SLOW
@given(chosen=st.lists(topics, max_size=120))
def test_mysubs_is_valid_telegram_html(chosen: list[TopicView]) -> None:
    """Any followed topics render to a /mysubs message Telegram accepts."""
    assert problems(render.mysubs_message(chosen)) == []


@SLOW
@given(
    page=st.lists(posts, max_size=5),
    topic=st.one_of(st.none(), topics),
    number=st.integers(0, 9998),  # the service offers no page after 9999
    has_next=st.booleans(),
)
def test_latest_page_is_valid_telegram_html(
    page: list[PostView], topic: TopicView | None, number: int, has_next: bool
) -> None:
    """Any page of posts renders to a /latest message Telegram accepts."""
    rendered = render.latest_page(page, topic=topic, page=number, has_next=has_next, tz=UTC)
    assert problems(rendered) == []


@SLOW
@given(key=texts, suggestions=st.lists(texts, max_size=3))
def test_topic_not_found_is_valid_telegram_html(key: str, suggestions: list[str]) -> None:
    """Any key and suggestions render to a "No topic called …" message Telegram accepts."""
    assert problems(render.topic_not_found_message(key, suggestions)) == []


@SLOW
@given(
    subscribed=st.one_of(st.none(), topics),
    unknown=st.one_of(st.none(), texts),
    group=st.booleans(),
)
def test_welcome_is_valid_telegram_html(
    subscribed: TopicView | None, unknown: str | None, group: bool
) -> None:
    """The welcome renders validly whatever the deep link named."""
    rendered = render.welcome_message(group=group, subscribed=subscribed, unknown_key=unknown)
    assert problems(rendered) == []


@SLOW
@given(chosen=st.lists(topics, max_size=120))
def test_unsubscribed_all_is_valid_telegram_html(chosen: list[TopicView]) -> None:
    """ "You no longer follow any topic" renders validly for any topics."""
    assert problems(render.unsubscribed_all_message(chosen)) == []


@SLOW
@given(topic=topics, changed=st.booleans())
def test_callback_answers_fit_telegram_limit(topic: TopicView, changed: bool) -> None:
    """Answers to button presses are at most 200 characters."""
    answers = [render.toggle_answer(topic), render.topic_off_answer(topic, changed=changed)]
    assert [len(a) <= 200 for a in answers] == [True, True]


@SLOW
@given(topic=topics, changed=st.booleans(), command=texts)
def test_short_notices_are_valid_telegram_html(
    topic: TopicView, changed: bool, command: str
) -> None:
    """Subscribe/unsubscribe confirmations and the unknown-command hint render validly."""
    rendered = [
        render.subscribed_message(topic, changed=changed),
        render.unsubscribed_message(topic, changed=changed),
        render.unknown_command_hint(command),
    ]
    assert [problems(r) for r in rendered] == [[], [], []]


@given(topic_id=ids, view=st.sampled_from([cb.VIEW_PICKER, cb.VIEW_MYSUBS]))
def test_topic_toggle_data_round_trips(topic_id: int, view: str) -> None:
    """Toggle data parses back to its topic and view, within 64 bytes."""
    data = cb.topic_toggle(topic_id, view)
    assert (cb.parse(data), len(data.encode()) <= 64) == (
        cb.Callback(cb.TOPIC_TOGGLE, topic_id=topic_id, view=view),
        True,
    )


@given(topic_id=ids)
def test_topic_off_data_round_trips(topic_id: int) -> None:
    """ "Unsubscribe from" data parses back to its topic, within 64 bytes."""
    data = cb.topic_off(topic_id)
    assert (cb.parse(data), len(data.encode()) <= 64) == (
        cb.Callback(cb.TOPIC_OFF, topic_id=topic_id),
        True,
    )


@given(topic_id=st.one_of(st.none(), ids), page=st.integers(0, 9999))
def test_latest_page_data_round_trips(topic_id: int | None, page: int) -> None:
    """◀ ▶ data parses back to its topic (0 for all) and page, within 64 bytes."""
    data = cb.latest_page(topic_id, page)
    assert (cb.parse(data), len(data.encode()) <= 64) == (
        cb.Callback(cb.LATEST_PAGE, topic_id=topic_id or 0, page=page),
        True,
    )


@given(data=st.text(max_size=80).filter(lambda d: not d.startswith(("t:", "l:", "f:", "x:"))))
def test_arbitrary_data_parses_to_none(data: str) -> None:
    """Data that is not in one of our formats is not ours."""
    assert cb.parse(data) is None


@pytest.mark.parametrize(
    "data",
    [
        "",
        "t:tog:1",
        "t:tog:1:x",
        "t:tog:01:p",
        "t:tog:-1:p",
        "t:tog:1:p:extra",
        "t:off:",
        "t:off:abc",
        "t:off:١",
        "l:pg:1:10000",
        "l:pg::1",
        "f:yes ",
        "F:YES",
        "f:maybe",
        "x:noop:1",
        "t:off:1" + "0" * 70,
        "t:tog:1234567890123456789:p",
    ],
)
def test_forged_data_parses_to_none(data: str) -> None:
    """Malformed or forged callback data parses to None."""
    assert cb.parse(data) is None


@pytest.mark.parametrize("data", ["t:off:1\n"])
def test_data_with_trailing_newline_parses_to_none(data: str) -> None:
    """Callback data with a trailing newline is forged and parses to None."""
    assert cb.parse(data) is None


# -- examples -------------------------------------------------------------------------------------


def test_topic_not_found_escapes_hostile_html() -> None:
    """A hostile key is shown literally, not interpreted."""
    rendered = render.topic_not_found_message("<b>x</b>&<script>", ["Write for Rights"])
    assert plain_text(rendered) == (
        "No topic called “<b>x</b>&<script>”. Did you mean: Write for Rights?"
    )


def test_topic_not_found_shortens_a_huge_key() -> None:
    """A 10,000-character key is cut to a short quote."""
    rendered = render.topic_not_found_message("a" * 10_000, [])
    assert len(plain_text(rendered)) < 120


def test_picker_marks_followed_topics() -> None:
    """A followed topic shows ✅ in its button, another ➕, each toggling its own id."""
    rendered = render.picker_message(
        [TopicView(1, "a", "Alpha", subscribed=True), TopicView(2, "b", "Beta")]
    )
    buttons = [(b.text, b.callback_data) for row in rendered.buttons for b in row]
    assert buttons == [("✅ Alpha", "t:tog:1:p"), ("➕ Beta", "t:tog:2:p")]


def test_mysubs_buttons_unsubscribe_in_the_mysubs_view() -> None:
    """Each /mysubs button names its topic and edits the /mysubs message."""
    rendered = render.mysubs_message([TopicView(7, "w", "Write for Rights", subscribed=True)])
    buttons = [(b.text, b.callback_data) for row in rendered.buttons for b in row]
    assert buttons == [("✖ Unsubscribe from Write for Rights", "t:tog:7:m")]


def test_mysubs_without_topics_points_to_topics() -> None:
    """With nothing followed, /mysubs says so and has no buttons."""
    rendered = render.mysubs_message([])
    assert (plain_text(rendered), rendered.buttons) == (
        "You follow no topics yet. Choose some with /topics.",
        (),
    )


def test_help_lists_every_supporter_command() -> None:
    """/help names each supporter command."""
    text = plain_text(render.help_message())
    assert [f"/{c}" in text for c, _, _ in render.SUPPORTER_HELP] == [True] * len(
        render.SUPPORTER_HELP
    )


def test_forget_done_says_what_was_deleted() -> None:
    """The /forgetme confirmation lists the deleted things with counts."""
    rendered = render.forget_done_message(
        chat=True, subscriptions=2, deliveries=1, user=True, role="organiser"
    )
    assert plain_text(rendered).splitlines()[:5] == [
        "Done. Deleted:",
        "• 2 subscriptions",
        "• 1 record of a message sent to you",
        "• this chat's record",
        "• your Telegram id and @username (and your organiser role)",
    ]


def test_forget_prompt_offers_confirm_and_cancel() -> None:
    """/forgetme asks with two buttons, Delete and Cancel."""
    rendered = render.forget_prompt()
    data = [b.callback_data for row in rendered.buttons for b in row]
    assert data == [cb.FORGET_CONFIRM, cb.FORGET_CANCEL]


def test_archive_notice_names_the_topic_escaped() -> None:
    """The archive notice names the topic (escaped) and points to /topics."""
    topic = TopicView(3, "a-b", "Rights <& wrongs>", "✋")
    assert render.archive_notice(topic) == (
        "The topic <b>✋ Rights &lt;&amp; wrongs&gt;</b> has been archived: you will get no "
        "more posts about it. Send /topics to choose other topics."
    )


# Locales whose month and day names are not English; the first one installed is used.
NON_ENGLISH_LOCALES = (
    "fr_FR.UTF-8",
    "fr_FR.utf8",
    "de_DE.UTF-8",
    "de_DE.utf8",
    "es_ES.UTF-8",
    "ru_RU.UTF-8",
    "French_France.1252",
)


@pytest.fixture
def non_english_time() -> Iterator[str]:
    """LC_TIME set to an installed non-English locale (left as it is when none is installed)."""
    saved = locale.setlocale(locale.LC_TIME)
    chosen = saved
    for name in NON_ENGLISH_LOCALES:
        try:
            chosen = locale.setlocale(locale.LC_TIME, name)
        except locale.Error:
            continue
        break
    yield chosen
    locale.setlocale(locale.LC_TIME, saved)


@pytest.mark.parametrize(
    ("moment", "options", "expected"),
    [
        (datetime(2026, 3, 5, 9, 7, tzinfo=UTC), {}, "5 Mar 2026"),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), {"time": True}, "31 Dec 2026 23:59"),
        (datetime(2026, 1, 4, 0, 0, tzinfo=UTC), {"weekday": True}, "Sun 4 Jan 2026"),
        (
            datetime(2026, 5, 1, 8, 30, tzinfo=UTC),
            {"weekday": True, "time": True},
            "Fri 1 May 2026 08:30",
        ),
    ],
)
def test_format_date_is_explicit_english(
    non_english_time: str, moment: datetime, options: dict[str, bool], expected: str
) -> None:
    """Dates read in English with the day unpadded, whatever LC_TIME says."""
    assert render.format_date(moment, UTC, **options) == expected


def test_format_date_uses_the_bot_time_zone() -> None:
    """The date is the one in the given time zone (a UTC evening is the next day in Tokyo)."""
    moment = datetime(2026, 9, 30, 20, 0, tzinfo=UTC)
    assert render.format_date(moment, ZoneInfo("Asia/Tokyo"), time=True) == "1 Oct 2026 05:00"


def test_post_date_is_english_under_any_locale(non_english_time: str) -> None:
    """A notification's date line is the same English text under a non-English LC_TIME."""
    post = PostView(1, "Title", None, published=datetime(2026, 2, 9, tzinfo=UTC), source="Feed")
    text = render.post_notification(post, None, UTC).text
    assert text.splitlines()[-1] == "<i>9 Feb 2026 · Feed</i>"


def test_no_locale_dependent_or_unportable_strftime_in_bot() -> None:
    """No code formats dates with locale names (%a %A %b %B %c %p %x %X) or glibc's %-d."""
    bad = re.compile(r"%-[a-zA-Z]|%[aAbBcpxX]")
    root = Path(render.__file__).resolve().parents[1]
    found = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if not line.lstrip().startswith("#")
        and ("strftime" in line or ":%" in line)  # a call, or an f-string date format
        and bad.search(line)
    ]
    assert found == []


_FOLLOWED = TopicView(7, "w", "Write for Rights", subscribed=True)
_LEFT = TopicView(7, "w", "Write for Rights")
GROUP_REPLIES = {
    "subscribed": render.subscribed_message(_FOLLOWED, changed=True, group=True).text,
    "already": render.subscribed_message(_FOLLOWED, changed=False, group=True).text,
    "unsubscribed": render.unsubscribed_message(_LEFT, changed=True, group=True).text,
    "not following": render.unsubscribed_message(_LEFT, changed=False, group=True).text,
    "all stopped": render.unsubscribed_all_message([_LEFT], group=True).text,
    "none to stop": render.unsubscribed_all_message([], group=True).text,
    "toggle on": render.toggle_answer(_FOLLOWED, group=True),
    "toggle off": render.toggle_answer(_LEFT, group=True),
    "off under a post": render.topic_off_answer(_LEFT, changed=True, group=True),
    "off again": render.topic_off_answer(_LEFT, changed=False, group=True),
    "mysubs": render.mysubs_message([_FOLLOWED], group=True).text,
    "mysubs empty": render.mysubs_message([], group=True).text,
    "welcome": render.welcome_message(group=True, subscribed=_FOLLOWED).text,
    "welcome already": render.welcome_message(group=True, subscribed=_FOLLOWED, already=True).text,
}


@pytest.mark.parametrize("name", list(GROUP_REPLIES))
def test_group_replies_speak_of_the_group_not_of_you(name: str) -> None:
    """Every reply about a group's subscriptions names the group and never says "you"."""
    words = GROUP_REPLIES[name].lower().replace(".", " ").replace(",", " ").split()
    assert ("you" in words, "group" in words) == (False, True)
