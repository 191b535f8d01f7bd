"""Callback data: what the buttons carry round-trips within 64 bytes; forged data is not ours."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render import callback_data as cb
from tests.render.samples import ids


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
