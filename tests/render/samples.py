"""Hypothesis strategies for hostile text, and Telegram's verdict on a rendered message.

Validity is judged by the fake Bot API's port of TDLib's HTML parser (`parse_html` + `fix_text`),
the same code that answers the bot's sendMessage in the end-to-end tests.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bot.domain.views import PostView, TopicView
from bot.render import callback_data as cb
from bot.render.text import RenderedMessage
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
        ours = isinstance(data, str) and (cb.parse(data) or cb.parse_search(data))
        if isinstance(data, str) and (len(data.encode()) > 64 or not ours):
            found.append(f"bad callback data {data!r}")
    return found


def plain_text(message: RenderedMessage) -> str:
    """The text a user sees."""
    return fix_text(*parse_html(message.text))[0]
