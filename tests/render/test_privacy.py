"""/mydata's text: every stored value escaped, a long record within the limit, the right
wording for a private chat, a group and a chat the bot knows nothing about."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram.constants import MessageLimit

from bot.domain.privacy import MyDataView, StoredUserView
from bot.render.privacy import MYDATA_TOPICS, mydata_message

WHEN = datetime(2026, 3, 5, 14, 30, tzinfo=UTC)


def _view(**changes: object) -> MyDataView:
    values: dict[str, object] = {
        "chat_id": 1001,
        "chat_type": "private",
        "known": True,
        "retention_days": 90,
        "created": WHEN,
        "topics": ("✋ StopTorture",),
        "deliveries": 4,
        "clicked": 2,
        "acted": 1,
        "user": StoredUserView(1001, "alice", "organiser", WHEN),
        "audit_entries": 3,
    }
    values.update(changes)
    return MyDataView(**values)  # type: ignore[arg-type]


def test_private_record_lists_everything_and_how_to_erase() -> None:
    """Chat, topics, counts with marks, the retention, the user row, audit entries, /forgetme."""
    text = mydata_message(_view(), UTC, group=False).text
    assert text.splitlines() == [
        "<b>What this bot stores about this chat</b>",
        "",
        "Chat id: <code>1001</code>",
        "Type: private chat",
        "First seen: 5 Mar 2026",
        "Receiving messages: yes",
        "Topics you follow (1): ✋ StopTorture",
        "Messages sent or queued to you: 4 records (2 with a link opened, 1 with “I did it” "
        "pressed; never shown to anyone per chat)",
        "These records are kept for 90 days; older ones are added to anonymous totals per "
        "message and deleted.",
        "",
        "<b>About you</b>",
        "Telegram user id: <code>1001</code>",
        "Username: @alice",
        "Role: organiser",
        "First seen: 5 Mar 2026",
        "Audit log: 3 entries of your actions as organiser or admin",
        "",
        "Nothing else: no names, no chat titles, no phone numbers.",
        "",
        "To erase all of it at once, send /forgetme.",
    ]


def test_stored_values_are_escaped() -> None:
    """A topic name and an inactive reason with markup reach Telegram as text."""
    view = _view(
        topics=("<b>Free</b> & fair",),
        active=False,
        inactive_reason="Forbidden: <bot> was blocked",
    )
    text = mydata_message(view, UTC, group=False).text
    assert "&lt;b&gt;Free&lt;/b&gt; &amp; fair" in text
    assert "Receiving messages: no (reason recorded: Forbidden: &lt;bot&gt; was blocked)" in text


def test_many_long_topics_stay_within_the_limit() -> None:
    """Hundreds of long topic names: the first ones are listed, the rest counted."""
    names = tuple(f"Topic {n} " + "x" * 60 for n in range(300))
    text = mydata_message(_view(topics=names), UTC, group=False).text
    assert len(text) <= MessageLimit.MAX_TEXT_LENGTH
    assert f"and {300 - MYDATA_TOPICS} more" in text


def test_group_record_has_no_person_and_says_how_to_stop() -> None:
    """In a group: the group's record, no user section, and where a member erases their own."""
    text = mydata_message(_view(user=None, audit_entries=0), UTC, group=True).text
    assert "stores about this group" in text
    assert "About you" not in text
    assert ("/unsubscribe all" in text, "/forgetme" in text) == (True, True)


def test_nothing_stored() -> None:
    """A chat the bot has no row for (just forgotten) is told so."""
    view = MyDataView(chat_id=5, chat_type="", known=False, retention_days=90)
    assert mydata_message(view, UTC, group=False).text.endswith("Nothing. /start to begin.")
