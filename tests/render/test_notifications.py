"""What the delivery engine sends: valid Telegram HTML whatever the post, dated in English."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.domain.views import PostView, TopicView
from bot.render import notifications as render
from tests.render.samples import SLOW, plain_text, posts, problems, topics


@SLOW
@given(post=posts, topic=st.one_of(st.none(), topics))
@example(post=PostView(1, "\u200b", None), topic=None)
def test_post_notification_is_valid_telegram_html(post: PostView, topic: TopicView | None) -> None:
    """Any post renders to HTML Telegram accepts, within 4096 characters."""
    assert problems(render.post_notification(post, topic, UTC)) == []


def test_archive_notice_names_the_topic_escaped() -> None:
    """The archive notice names the topic (escaped) and points to /topics."""
    topic = TopicView(3, "a-b", "Rights <& wrongs>", "✋")
    assert render.archive_notice(topic) == (
        "The topic <b>✋ Rights &lt;&amp; wrongs&gt;</b> has been archived: you will get no "
        "more posts about it. Send /topics to choose other topics."
    )


def test_post_date_is_english_under_any_locale(non_english_time: str) -> None:
    """A notification's date line is the same English text under a non-English LC_TIME."""
    post = PostView(1, "Title", None, published=datetime(2026, 2, 9, tzinfo=UTC), source="Feed")
    text = render.post_notification(post, None, UTC).text
    assert text.splitlines()[-1] == "<i>9 Feb 2026 · Feed</i>"


def test_with_tracked_link_swaps_only_the_link_button_and_pins_the_preview() -> None:
    """The button leads to the tracked URL; the text and the preview keep the original."""
    topic = TopicView(3, "t", "Topic", None)
    original = "https://e.example.org/a?b=1&c=2"
    message = render.post_notification(PostView(1, "Title", original), topic, UTC)
    tracked = render.with_tracked_link(message, original, "https://bot.example.org/r/TOKEN")
    buttons = [(b.text, b.url, b.callback_data) for row in tracked.buttons for b in row]
    assert (tracked.text, tracked.preview_url, message.preview_url) == (
        message.text,
        original,
        None,
    )
    assert buttons == [
        ("Read and act", "https://bot.example.org/r/TOKEN", None),
        ("Unsubscribe from Topic", None, message.buttons[1][0].callback_data),
    ]


def test_with_tracked_link_leaves_the_preview_alone_when_the_text_has_no_such_link() -> None:
    """A broadcast whose text does not link its action URL keeps Telegram's own preview."""
    message = render.broadcast_message("Act <b>now</b>", "https://act.example.org/", None)
    tracked = render.with_tracked_link(message, "https://act.example.org/", "https://t/r/X")
    assert (tracked.buttons[0][0].url, tracked.preview_url) == ("https://t/r/X", None)


@settings(SLOW, max_examples=25)  # the shortening loop is the same for every post
@given(post=posts, topic=st.one_of(st.none(), topics), room=st.integers(300, 5000))
@example(post=PostView(1, "t", None, summary="😀&<" * 3000), topic=None, room=5000)
def test_caption_is_valid_html_within_1024_characters(
    post: PostView, topic: TopicView | None, room: int
) -> None:
    """As a photo's caption, any post fits Telegram's 1,024 characters after parsing, even
    with room for a long summary: the summary is shortened, never cut inside a tag or entity."""
    caption = render.post_notification(post, topic, UTC, caption=True, summary_chars=room)
    assert problems(caption) == []
    assert len(plain_text(caption).encode("utf-16-le")) // 2 <= 1024


def test_caption_shortens_the_summary_at_a_word_and_keeps_title_and_source() -> None:
    """A summary too long for a caption ends with "…" at a word; title and date line stay."""
    post = PostView(
        1,
        "Vigil & march",
        "https://e.example.org/v",
        summary="Join us at the embassy. " * 100,
        published=datetime(2026, 2, 9, tzinfo=UTC),
        source="Feed",
    )
    text = plain_text(render.post_notification(post, None, UTC, caption=True, summary_chars=4000))
    lines = text.splitlines()
    assert (lines[0], lines[-1], lines[2][-8:]) == (
        "Vigil & march",
        "9 Feb 2026 · Feed",
        "embassy…",
    )
    assert 1000 < len(text) <= 1024


def test_topic_preview_sets_the_link_preview_options() -> None:
    """A topic's preview off/small/large becomes LinkPreviewOptions; no topic reads small."""
    post = PostView(1, "Title", "https://e.example.org/a")
    found = {}
    for preview in ("off", "small", "large", None):
        topic = TopicView(3, "t", "Topic", preview=preview) if preview else None
        found[preview] = render.post_notification(post, topic, UTC).link_preview_options.to_dict()
    small = {"is_disabled": False, "prefer_small_media": True, "show_above_text": False}
    assert found == {
        "off": {"is_disabled": True},
        "small": small,
        "large": {"is_disabled": False, "prefer_large_media": True},
        None: small,
    }
