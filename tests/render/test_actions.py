"""The action button: its answers, its callback data, and where it sits under a message."""

from __future__ import annotations

from datetime import UTC

import pytest
from hypothesis import given

from bot.domain.views import PostView, TopicView
from bot.render import callback_data as cb
from bot.render.actions import action_counted_answer
from bot.render.notifications import broadcast_message, post_notification
from tests.render.samples import ids


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (1, "Counted, thank you! You're the first."),
        (0, "Counted, thank you! You're the first."),
        (2, "Counted, thank you! You and 1 other did it."),
        (1285, "Counted, thank you! You and 1,284 others did it."),
        (2_000_001, "Counted, thank you! You and 2,000,000 others did it."),
    ],
)
def test_counted_answer_gives_the_others_with_thousands_separators(
    total: int, expected: str
) -> None:
    """The answer names how many others did it, this press not counted among them."""
    assert action_counted_answer(total) == expected


@given(message_id=ids)
def test_action_data_round_trips(message_id: int) -> None:
    """act:b:<id> and act:p:<id> parse back to their kind and id, within 64 bytes."""
    for kind in (cb.ACTION_BROADCAST, cb.ACTION_POST):
        data = cb.action(kind, message_id)
        assert (len(data.encode()) <= cb.MAX_BYTES, cb.parse_action(data)) == (
            True,
            cb.ActionCallback(kind, message_id),
        )


@pytest.mark.parametrize(
    "data", ["act:x:1", "act:b:", "act:b:01", "act:b:1:2", "act:b:-1", "act:p:1\n", "", None]
)
def test_forged_action_data_parses_to_none(data: str | None) -> None:
    """Anything else is not an action button's data."""
    assert cb.parse_action(data) is None


def _texts_and_data(rows: object) -> list[tuple[str, str | None]]:
    return [(b.text, b.callback_data or b.url) for row in rows for b in row]  # type: ignore[attr-defined]


def test_post_notification_has_the_topic_action_button_after_read_and_act() -> None:
    """A topic with a label puts its button between "Read and act" and "Unsubscribe"."""
    post = PostView(7, "Title", "https://e.org/a")
    topic = TopicView(3, "w4r", "Write for Rights", "✉️", action_label="✍️ I wrote my letter")
    rendered = post_notification(post, topic, UTC)
    assert _texts_and_data(rendered.buttons) == [
        ("Read and act", "https://e.org/a"),
        ("✍️ I wrote my letter", "act:p:7"),
        ("Unsubscribe from Write for Rights", "t:off:3"),
    ]


def test_broadcast_preview_button_only_acknowledges_and_delivery_names_the_broadcast() -> None:
    """Same label in preview and delivery; the preview's data is the no-op, the delivered one
    names the broadcast."""
    preview = broadcast_message("Hi", None, None, action_label="✅ I did it")
    delivered = broadcast_message("Hi", None, None, action_label="✅ I did it", broadcast_id=12)
    assert (_texts_and_data(preview.buttons), _texts_and_data(delivered.buttons)) == (
        [("✅ I did it", cb.NOOP)],
        [("✅ I did it", "act:b:12")],
    )
