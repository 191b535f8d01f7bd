"""Privacy: the retention cut-off, what a retention run did, and what /mydata shows.

Pure values that services fill in and `bot.render` words. No I/O, no Telegram, no SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


def retention_cutoff(now: datetime, days: int) -> datetime:
    """The moment before which delivery rows and post texts are no longer kept.

    Raises:
        ValueError: `days` is less than 1 (RETENTION_DAYS is validated; this guards callers).
    """
    if days < 1:
        raise ValueError("retention must be at least one day")
    return now - timedelta(days=days)


@dataclass(frozen=True, slots=True)
class RetentionSummary:
    """What one retention run did: counts only, never which chats.

    Attributes:
        deliveries: Delivery rows folded into per-message totals and deleted.
        posts: Posts reduced to their title and link.
        batches: Transactions used (each bounded, so the outbox is never locked for long).
    """

    deliveries: int = 0
    posts: int = 0
    batches: int = 0


@dataclass(frozen=True, slots=True)
class StoredUserView:
    """The user row of the person asking (private chats only)."""

    id: int
    username: str | None
    role: str
    created: datetime


@dataclass(frozen=True, slots=True)
class MyDataView:
    """Everything the bot holds about one chat, for /mydata.

    Attributes:
        chat_id: The Telegram chat id.
        chat_type: "private", "group", "supergroup" or "channel".
        known: False when there is no chat row (nothing stored yet, or just forgotten).
        created: When the chat row was created.
        active: Whether the bot still sends to the chat.
        inactive_reason: Why not, as stored (an error from Telegram, "forgotten" …).
        language: The language the chat chose for the bot's messages, if any.
        timezone: The time zone the chat chose, if any.
        digest: The chat's digest setting as stored ("daily 18:00"; None: instant).
        quiet: The chat's quiet hours as stored ("22:00-08:00"; None: none).
        topics: Names of the topics the chat follows (archived ones too), in name order.
        deliveries: Stored records of messages sent (or queued) to the chat.
        clicked: How many of those have a tracked-link click mark.
        acted: How many of those have an action-button mark.
        user: The person's user row, in a private chat with one.
        audit_entries: Audit-log entries of the person's own actions (organisers, admins).
        retention_days: How long delivery records are kept (RETENTION_DAYS).
        language: The chat's stored language ("en", "fr"; None: not set).
    """

    chat_id: int
    chat_type: str
    known: bool
    retention_days: int
    created: datetime | None = None
    active: bool = True
    inactive_reason: str | None = None
    language: str | None = None
    timezone: str | None = None
    digest: str | None = None
    quiet: str | None = None
    topics: tuple[str, ...] = field(default_factory=tuple)
    deliveries: int = 0
    clicked: int = 0
    acted: int = 0
    user: StoredUserView | None = None
    audit_entries: int = 0
