"""The preview summary's pace lines and buttons (ALLOW_PAID_BROADCAST), and the refusal note."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.delivery_policy import paid_estimate
from bot.domain.views import BroadcastView
from bot.render import callback_data as cb
from bot.render.organisers import (
    duration_text,
    paid_refused_message,
    preview_summary_message,
    progress_message,
    stars_text,
)

DRAFT = "0123abcd"


def _buttons(message: object) -> list[tuple[str, str | None]]:
    return [(b.text, b.callback_data) for row in message.buttons for b in row]  # type: ignore[attr-defined]


def test_without_an_offer_the_summary_is_unchanged() -> None:
    message = preview_summary_message(("✋ StopTorture",), False, 3, DRAFT)
    assert "Stars" not in message.text
    assert [text for text, _ in _buttons(message)] == [
        "Send now",
        "Schedule",
        "Cancel",
        "Respect digests and quiet hours",
    ]


def test_offer_shows_cost_time_saved_and_a_pace_button() -> None:
    offer = paid_estimate(20_000, 25)
    normal = preview_summary_message((), True, 20_000, DRAFT, paid_offer=offer)
    assert (
        "Pace: normal, about 13 min. Fast (paid) would take about under a minute "
        "(saves 13 min) for up to 1,940 Stars."
    ) in normal.text
    assert _buttons(normal)[-1] == ("⚡ Fast (paid)", f"{cb.BROADCAST_PAID}:{DRAFT}")
    assert cb.parse_broadcast(f"{cb.BROADCAST_PAID}:{DRAFT}") is not None
    fast = preview_summary_message((), True, 20_000, DRAFT, paid_offer=offer, paid=True)
    assert "Costs up to <b>1,940 Stars</b>" in fast.text
    assert _buttons(fast)[-1][0] == "🐢 Normal pace (free)"


def test_durations_and_stars_read_naturally() -> None:
    assert [duration_text(s) for s in (5, 600, 3 * 3600 + 300)] == [
        "under a minute",
        "10 min",
        "3 h 05 min",
    ]
    assert [stars_text(s) for s in (1, 0.4, 1940)] == ["1 Star", "0.4 Stars", "1,940 Stars"]


def test_progress_and_refusal_name_the_pace() -> None:
    view = BroadcastView(
        7, "sending", (), True, datetime(2026, 1, 1, tzinfo=UTC), total=10, sent=4, pending=6
    )
    assert (
        "Pace: ⚡ fast (paid)"
        in progress_message(BroadcastView(**{**_fields(view), "paid": True})).text
    )
    refused = BroadcastView(**{**_fields(view), "paid_refused": True})
    assert "paid broadcast refused" in progress_message(refused).text
    assert "Sent so far: 4 / 10" in paid_refused_message(refused).text


def _fields(view: BroadcastView) -> dict[str, object]:
    return {name: getattr(view, name) for name in view.__dataclass_fields__}
