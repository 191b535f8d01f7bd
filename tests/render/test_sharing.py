"""What /search and inline mode show: valid Telegram HTML whatever the post, links that work."""

from __future__ import annotations

from datetime import UTC

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.search import query_terms
from bot.domain.views import PostView, TopicView
from bot.render import callback_data as cb
from bot.render import notifications
from bot.render import sharing as render
from bot.render.text import RenderedMessage, escape
from tests.render.samples import SLOW, plain_text, posts, problems, texts, topics

TOPIC = TopicView(3, "stoptorture", "StopTorture", "✋")


def _article_message(post: PostView, topic: TopicView | None) -> RenderedMessage:
    result = render.inline_result(
        result_id="p1_aaaaaa:3",
        bot_username="bot",
        tz=UTC,
        code="p1_aaaaaa",
        topic=topic,
        post=post,
    )
    content = result.input_message_content
    return RenderedMessage(content.message_text)  # type: ignore[union-attr]


@SLOW
@given(post=posts, topic=st.one_of(st.none(), topics))
def test_inline_result_message_is_valid_telegram_html(
    post: PostView, topic: TopicView | None
) -> None:
    """Any post becomes an inline result whose message Telegram accepts."""
    assert problems(_article_message(post, topic)) == []


@SLOW
@given(text=texts)
def test_inline_result_of_a_broadcast_is_valid(text: str) -> None:
    """A broadcast's (already safe) HTML, even empty or blank, gives a sendable result."""
    result = render.inline_result(
        result_id="b1_aaaaaa:0",
        bot_username="bot",
        tz=UTC,
        code=None,
        topic=None,
        broadcast_html=escape(text),
    )
    message = RenderedMessage(result.input_message_content.message_text)  # type: ignore[union-attr]
    assert (problems(message), bool(result.title.strip())) == ([], True)


def test_inline_result_escapes_feed_text_and_links_follow() -> None:
    """Title and summary are shown as text; Follow is the deep link with the code."""
    post = PostView(7, "A <b>bold</b> & title", "https://example.org/7", "x < y")
    result = render.inline_result(
        result_id="p7_aaaaaa:3",
        bot_username="campaign_bot",
        tz=UTC,
        code="p7_aaaaaa",
        topic=TOPIC,
        post=post,
    )
    shown = plain_text(RenderedMessage(result.input_message_content.message_text))  # type: ignore[union-attr]
    buttons = {b.text: b.url for row in result.reply_markup.inline_keyboard for b in row}  # type: ignore[union-attr]
    assert (shown.splitlines(), result.title, buttons) == (
        ["✋ StopTorture", "A <b>bold</b> & title", "", "x < y"],
        "A <b>bold</b> & title",
        {
            "Read and act": "https://example.org/7",
            "Follow StopTorture": "https://t.me/campaign_bot?start=sub-stoptorture-p7_aaaaaa",
        },
    )


@SLOW
# The service offers a next page only below its last page (MAX_PAGE 9999), as for /latest.
@given(query=texts, page=st.integers(0, 9998), has_next=st.booleans())
def test_search_page_is_valid_with_working_buttons(query: str, page: int, has_next: bool) -> None:
    """Any searchable words give a valid page whose ◀ ▶ data parse back to the same words."""
    terms = query_terms(query)
    if terms is None:
        return
    joined = " ".join(terms)
    message = render.search_page([], terms=joined, page=page, has_next=has_next, tz=UTC)
    data = [b.callback_data for row in message.buttons for b in row]
    parsed = [cb.parse_search(d) for d in data if isinstance(d, str)]
    assert (problems(message), {p[1] for p in parsed if p}, len(parsed)) == (
        [],
        {joined} if data else set(),
        (page > 0) + has_next,
    )


def test_share_button_under_posts_and_broadcasts() -> None:
    """With a share query, posts and broadcasts get a Share button in the first row."""
    post = PostView(1, "T", "https://example.org/1")
    rows = [
        [b.text for b in row]
        for message in (
            notifications.post_notification(post, TOPIC, UTC, "p1_aaaaaa stoptorture"),
            notifications.broadcast_message(
                "Act", None, TOPIC, share_query="b1_aaaaaa stoptorture"
            ),
            notifications.post_notification(post, TOPIC, UTC),
        )
        for row in message.buttons[:1]
    ]
    assert rows == [["Read and act", "Share"], ["Share"], ["Read and act"]]


def test_share_button_opens_the_chosen_chat_picker() -> None:
    """The Share button switches to inline mode in a chosen chat with the query."""
    button = notifications.share_button("p1_aaaaaa stoptorture")
    chosen = button.switch_inline_query_chosen_chat
    assert chosen is not None
    assert (
        chosen.query,
        chosen.allow_user_chats,
        chosen.allow_group_chats,
        chosen.allow_channel_chats,
    ) == ("p1_aaaaaa stoptorture", True, True, True)
