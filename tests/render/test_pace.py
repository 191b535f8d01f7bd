"""Pace rendering: the digest (grouping, order, escaping, splitting), /settings, callback data."""

from __future__ import annotations

from datetime import time

from bot.domain.pace import Digest, PaceInputError, QuietHours, SettingsView
from bot.domain.views import PostView, TopicView
from bot.render import callback_data as cb
from bot.render.pace import (
    DIGEST_ITEMS,
    DigestItem,
    digest_messages,
    pace_error_message,
    settings_message,
    zones_message,
)
from tests.fakes.botapi_html import parse_html, utf16_len

TORTURE = TopicView(1, "stoptorture", "StopTorture", "✋")
W4R = TopicView(2, "w4r", "Write for Rights", "✍")


def _item(n: int, topic: TopicView | None, title: str | None = None) -> DigestItem:
    return DigestItem(PostView(n, title or f"Post {n}", f"https://x.example/{n}"), topic)


def test_digest_groups_by_topic_newest_first_and_escapes() -> None:
    """Groups in the order of their newest post, posts newest first, feed text escaped."""
    items = [
        _item(4, W4R, "Letters <b>& more</b>"),
        _item(3, TORTURE),
        _item(2, W4R),
        _item(1, None),
    ]
    (message,) = digest_messages(items, "en")
    text, entities = parse_html(message.text)
    assert text.index("Write for Rights") < text.index("Letters <b>& more</b>")
    assert text.index("Post 2") < text.index("StopTorture") < text.index("Post 3")
    assert text.index("Other posts") < text.index("Post 1")
    assert "4 new posts" in text
    assert sum(1 for e in entities if e["type"] == "text_link") == 4
    assert message.disable_preview


def test_empty_digest_is_no_message() -> None:
    """Nothing new: nothing to send."""
    assert digest_messages([], "en") == []


def test_long_digest_splits_within_the_limit_and_counts_the_rest() -> None:
    """Long titles: several parts, each valid and within 4,096 UTF-16 units after parsing."""
    items = [_item(n, TORTURE, f"Titre {n} « é » " + "mot " * 60) for n in range(50)]
    parts = digest_messages(items, "en")
    parsed = [parse_html(p.text)[0] for p in parts]
    assert len(parts) > 1
    assert all(utf16_len(text) <= 4096 for text in parsed)
    assert sum(text.count("• ") for text in parsed) == DIGEST_ITEMS
    assert "…and 20 more: see /latest" in parsed[-1]


def test_settings_message_buttons_parse_and_mark_the_current_choice() -> None:
    """Every button of /settings and of the zone picker is ours and parses (a pace button,
    or a language button with /language's data)."""
    view = SettingsView("en", "Europe/Paris", Digest(time(18)), QuietHours(time(22), time(8)), 3)
    message = settings_message(view)
    zones = zones_message("Europe/Paris", "en")
    data = [b.callback_data for m in (message, zones) for row in m.buttons for b in row]
    text, _ = parse_html(message.text)
    languages = [d for d in data if cb.parse_language(str(d)) is not None]
    assert languages == [cb.language("en"), cb.language("fr")]
    assert all(cb.parse_pace(str(d)) is not None for d in data if d not in languages)
    assert "3 messages wait" in text
    labels = [b.text for row in message.buttons for b in row]
    assert labels[:2] == ["✅ English", "Français"]
    assert "✅ Daily 18:00" in labels
    assert "✅ Quiet 22:00–08:00" in labels


def test_pace_callback_data_is_strict() -> None:
    """Forged or garbled pace data does not parse."""
    assert cb.parse_pace(cb.pace_digest("weekly mon 09:00")) == cb.PaceCallback(
        cb.PACE_DIGEST, "weekly mon 09:00"
    )
    assert cb.parse_pace(cb.pace_zone(3)) == cb.PaceCallback(cb.PACE_ZONE, "3")
    assert [cb.parse_pace(d) for d in ("p:dg:hourly", "p:tz:x", "p:qt:22-08", "p:zones:1")] == [
        None
    ] * 4


def test_error_messages_say_what_is_expected() -> None:
    """Each kind of bad input gets its own hint, escaped."""
    texts = [
        parse_html(pace_error_message(PaceInputError(what, "<x>"), "en").text)[0]
        for what in ("digest", "quiet", "timezone")
    ]
    assert ["/digest daily" in texts[0], "/quiet 22:00" in texts[1], "Montréal" in texts[2]] == [
        True,
        True,
        True,
    ]
