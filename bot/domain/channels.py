"""Channels and groups an admin links to topics with /channel: pure rules and views.

A linked channel is an ordinary `chats` row (type "channel", id -100…) with ordinary
subscriptions, plus a `linked_channels` row that keeps its public title and @username for
/channels. This module reads what an admin typed (`parse_channel_command`), says whether the
bot's membership lets it post (`may_post`), and holds the views services return.
No I/O, no Telegram, no SQLAlchemy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

# /channel <ref> off: unlink.
OFF = "off"
# A public chat's @username: 4-32 characters of letters, digits and underscores, starting
# with a letter (Telegram's rule; 4 for some older names).
_USERNAME = re.compile(r"@([A-Za-z][A-Za-z0-9_]{3,31})")
# A channel or supergroup id is -100 followed by digits; a basic group's id is negative too.
_CHAT_ID = re.compile(r"-\d{1,16}")
# At most this many topics on one /channel line.
MAX_TOPICS = 20
# Chat types the bot can post to as a linked target.
CHANNEL = "channel"
TARGET_TYPES = frozenset({CHANNEL, "group", "supergroup"})
# Member statuses (Telegram's ChatMember.status values).
ADMINISTRATOR = "administrator"
OWNER = "creator"
MEMBER = "member"


@dataclass(frozen=True, slots=True)
class ChannelCommand:
    """What /channel asks: the chat (an @username or a numeric id) and the topic keys.

    `topics` is empty when `off` is set (unlink).
    """

    ref: str | int
    topics: tuple[str, ...] = ()
    off: bool = False


def parse_chat_ref(text: str) -> str | int | None:
    """A chat as an admin writes it: "@name" (returned with its @) or "-100…" (an int)."""
    text = text.strip()
    if _USERNAME.fullmatch(text):
        return text
    if _CHAT_ID.fullmatch(text):
        return int(text)
    return None


def split_topics(text: str) -> tuple[str, ...]:
    """Topic keys: comma-separated when there is a comma, else one per word."""
    parts = text.split(",") if "," in text else text.split()
    return tuple(p.strip() for p in parts if p.strip())


def parse_channel_command(text: str | None) -> ChannelCommand | None:
    """`/channel <@name|id> <topic…>` or `/channel <@name|id> off`; None for the usage line.

    The command word (with an optional @bot suffix) is dropped. A missing or malformed chat,
    no topics, or more than MAX_TOPICS of them give None.
    """
    words = (text or "").split(maxsplit=2)
    if len(words) < 2:
        return None
    ref = parse_chat_ref(words[1])
    if ref is None:
        return None
    rest = words[2].strip() if len(words) > 2 else ""
    if rest.lower() == OFF:
        return ChannelCommand(ref, off=True)
    topics = split_topics(rest)
    if not topics or len(topics) > MAX_TOPICS:
        return None
    return ChannelCommand(ref, topics)


def may_post(chat_type: str, status: str, can_post_messages: bool | None) -> bool:
    """Whether the bot, with this membership, may post in a channel or group.

    In a channel only an administrator with `can_post_messages` (or the owner) posts; in a
    group or supergroup a member or administrator does (restrictions are checked apart).
    """
    if status == OWNER:
        return True
    if chat_type == CHANNEL:
        return status == ADMINISTRATOR and bool(can_post_messages)
    return status in (ADMINISTRATOR, MEMBER)


@dataclass(frozen=True, slots=True)
class ChannelFacts:
    """What Telegram said about a chat an admin wants to link (getChat)."""

    chat_id: int
    chat_type: str
    title: str
    username: str | None


@dataclass(frozen=True, slots=True)
class ChannelView:
    """A linked channel or group as /channels shows it: identity, topics and health.

    Health is aggregates only: pending deliveries, the last send, and failed deliveries
    whose last attempt fell in the last 24 hours.
    """

    chat_id: int
    chat_type: str
    title: str
    username: str | None
    topics: tuple[str, ...] = ()
    active: bool = True
    inactive_reason: str | None = None
    pending: int = 0
    last_sent_at: datetime | None = None
    failures_24h: int = 0
    linked_at: datetime | None = None

    @property
    def label(self) -> str:
        """How admins recognise it: its title, else @username, else its id."""
        return self.title or (f"@{self.username}" if self.username else str(self.chat_id))
