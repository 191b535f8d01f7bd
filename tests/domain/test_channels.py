"""What /channel accepts and when the bot may post in a channel or group (pure)."""

from __future__ import annotations

import pytest

from bot.domain.channels import ChannelCommand, may_post, parse_channel_command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/channel @OrgNews stoptorture", ChannelCommand("@OrgNews", ("stoptorture",))),
        ("/channel@campaign_test_bot @orgnews a b", ChannelCommand("@orgnews", ("a", "b"))),
        (
            "/channel -1001234567890 Write for Rights, Indigenous rights",
            ChannelCommand(-1001234567890, ("Write for Rights", "Indigenous rights")),
        ),
        ("/channel @orgnews OFF", ChannelCommand("@orgnews", off=True)),
        ("/channel", None),
        ("/channel @orgnews", None),
        ("/channel orgnews stoptorture", None),
        ("/channel @abc stoptorture", None),  # too short for a username
        ("/channel 12345 stoptorture", None),  # a person's id, not a chat's
        ("/channel @orgnews , ,", None),
        ("/channel @orgnews " + " ".join(["t"] * 21), None),
    ],
)
def test_parse_channel_command(text: str, expected: ChannelCommand | None) -> None:
    """A chat (@username or negative id) and topics (by word, or by comma), or `off`."""
    assert parse_channel_command(text) == expected


@pytest.mark.parametrize(
    ("chat_type", "status", "can_post", "expected"),
    [
        ("channel", "administrator", True, True),
        ("channel", "administrator", False, False),
        ("channel", "administrator", None, False),
        ("channel", "creator", None, True),
        ("channel", "member", None, False),
        ("channel", "left", None, False),
        ("supergroup", "member", None, True),
        ("group", "administrator", None, True),
        ("group", "kicked", None, False),
    ],
)
def test_may_post(chat_type: str, status: str, can_post: bool | None, expected: bool) -> None:
    """In a channel only a posting administrator (or the owner); in a group any member."""
    assert may_post(chat_type, status, can_post) is expected
