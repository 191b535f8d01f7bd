"""What supporters read: valid Telegram HTML within the limits, worded for the group in a group."""

from __future__ import annotations

from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.views import PostView, TopicView
from bot.render import callback_data as cb
from bot.render import supporters as render
from tests.render.samples import SLOW, plain_text, posts, problems, texts, topics

# -- property tests -----------------------------------------------------------------------------


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


# -- examples -------------------------------------------------------------------------------------


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
