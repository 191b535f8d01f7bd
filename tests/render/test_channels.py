"""What admins read about linked channels, and what a channel's post carries."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import InlineKeyboardButton

from bot.domain.channels import ChannelView
from bot.domain.views import PostView, TopicView
from bot.render import channels as render
from bot.render.notifications import broadcast_message, for_channel, post_notification
from bot.render.text import RenderedMessage

VIEW = ChannelView(
    chat_id=-1001234567890,
    chat_type="channel",
    title="Org <News> & more",
    username="orgnews",
    topics=("StopTorture", "Write <for> Rights"),
    active=False,
    inactive_reason="the bot was removed from the channel",
    pending=0,
    last_sent_at=datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
    failures_24h=2,
)
TOPIC = TopicView(1, "stoptorture", "StopTorture", "✋", action_label="I wrote")
POST = PostView(7, "Survivors speak", "https://news.example.org/p", "Summary.", None, "Feed")


def test_channels_listing_escapes_and_shows_health() -> None:
    """Titles and topic names are escaped; state, pending, last send and failures shown."""
    text = render.channels_message([VIEW], UTC).text
    assert (
        "Org &lt;News&gt; &amp; more" in text,
        "Write &lt;for&gt; Rights" in text,
        "⛔ inactive: the bot was removed from the channel" in text,
        "0 pending" in text,
        "24 Nov 2026 09:30" in text,
        "2 failures in 24 h" in text,
    ) == (True, True, True, True, True, True)


def test_lost_message_in_french_names_the_channel_and_how_to_unlink() -> None:
    """The admins' note reads in their language, with the unlink command."""
    text = render.channel_lost_message(VIEW, "Forbidden: bot was kicked", "fr").text
    assert (
        text.startswith("Je ne peux plus publier dans <b>Org &lt;News&gt; &amp; more</b>"),
        "/channel @orgnews off" in text,
    ) == (True, True)


def test_a_channel_gets_link_buttons_only() -> None:
    """No Share, action or Unsubscribe button under a channel's post or broadcast."""
    share = "post:7"
    supporter = post_notification(POST, TOPIC, UTC, share)
    channel = post_notification(POST, TOPIC, UTC, share, channel=True)
    broadcast = broadcast_message(
        "<b>Act</b>", "https://act.example.org", TOPIC, "I did it", 3, share, channel=True
    )

    def kinds(message: RenderedMessage) -> list[str]:
        return [
            "url" if b.url else ("callback" if b.callback_data else "other")
            for row in message.buttons
            for b in row
        ]

    assert (
        kinds(supporter),
        kinds(channel),
        kinds(broadcast),
        channel.text == supporter.text,
    ) == (
        ["url", "other", "callback", "callback"],
        ["url"],
        ["url"],
        True,
    )


def test_for_channel_drops_rows_left_empty() -> None:
    """A row of callback buttons only disappears entirely."""
    message = RenderedMessage(
        "x",
        (
            (InlineKeyboardButton("a", callback_data="a"),),
            (InlineKeyboardButton("b", url="https://example.org"),),
        ),
    )
    assert [[b.text for b in row] for row in for_channel(message).buttons] == [["b"]]
