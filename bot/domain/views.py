"""What the services hand to rendering: plain views of topics, posts, broadcasts and admin figures.

Services fill these in from stored rows and return them; `bot.render` turns them into text.
Both import them from here, so neither depends on the other for its types.
No I/O, no Telegram, no SQLAlchemy.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import date, datetime

# Posts on one page of /latest.
PAGE_SIZE = 5


@dataclass(frozen=True, slots=True)
class TopicView:
    """A topic as shown to a chat."""

    id: int
    slug: str
    name: str
    emoji: str = ""
    description: str = ""
    subscribed: bool = False
    # The label of the action button under its posts (None: no button).
    action_label: str | None = None
    # The French name and description, "" where the topic has none (the English is shown).
    name_fr: str = ""
    description_fr: str = ""
    # The link preview under its post notifications: "off", "small" or "large".
    preview: str = "small"

    def in_language(self, language: str | None) -> TopicView:
        """The view with `name` and `description` in `language` (English where none is set)."""
        if language != "fr" or not (self.name_fr or self.description_fr):
            return self
        return replace(
            self,
            name=self.name_fr or self.name,
            description=self.description_fr or self.description,
        )


@dataclass(frozen=True, slots=True)
class PostView:
    """A post as shown in a notification or a list."""

    id: int
    title: str
    url: str | None
    summary: str = ""
    published: datetime | None = None
    source: str | None = None
    topics: tuple[TopicView, ...] = field(default_factory=tuple)
    # The image a notification shows (an http(s) URL from the feed's entry); None when the
    # post has none or Telegram refused it once (`posts.image_refused`).
    image: str | None = None


@dataclass(frozen=True, slots=True)
class BroadcastView:
    """A broadcast with its delivery figures, as /broadcasts and progress messages show it.

    `topics` are topic labels; empty with `everyone` for a broadcast to all subscribers.
    `dropped` counts chats that blocked the bot or disappeared before their message went out.
    """

    id: int
    status: str
    topics: tuple[str, ...]
    everyone: bool
    created_at: datetime
    scheduled_for: datetime | None = None
    finished_at: datetime | None = None
    total: int = 0
    pending: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    summary: str = ""
    push: bool = False
    paid: bool = False  # sending now as a paid broadcast (allow_paid_broadcast)
    paid_refused: bool = False  # Telegram refused the Stars; going on at the normal pace


@dataclass(frozen=True, slots=True)
class TeamMemberView:
    """An organiser or admin: id, @username if known, role and its source."""

    user_id: int
    username: str | None
    role: str
    source: str  # "ADMIN_IDS" or "granted"


@dataclass(frozen=True, slots=True)
class TopicDetailView:
    """A topic with its rules and figures (/topicinfo and answers to topic changes)."""

    id: int
    slug: str
    name: str
    emoji: str
    description: str
    archived: bool
    rules: tuple[tuple[str, str], ...]  # (kind, value)
    subscribers: int
    active_subscribers: int
    posts_30_days: int
    action_label: str | None = None
    name_fr: str = ""
    description_fr: str = ""
    urgent: bool = False
    preview: str = "small"


@dataclass(frozen=True, slots=True)
class FeedHealthView:
    """A feed with its health, for /feeds and answers to feed changes."""

    id: int
    url: str
    label: str
    paused: bool
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    next_poll_at: datetime | None
    # "en", "fr", "other" or None (not known yet), and whether an admin fixed it.
    language: str | None = None
    language_fixed: bool = False
    # Polling: the admin's interval (None: automatic), the feed's own ask (<ttl>,
    # sy:updatePeriod, max-age; None: it asks nothing) and the interval that applies (seconds).
    interval_seconds: int | None = None
    min_interval_seconds: int | None = None
    effective_interval_seconds: int = 0


class ImportRefusal(enum.StrEnum):
    """Why a feed of an imported OPML file was not added."""

    BAD_URL = "bad_url"
    PRIVATE = "private"
    UNREACHABLE = "unreachable"
    NOT_A_FEED = "not_a_feed"


@dataclass(frozen=True, slots=True)
class RefusedFeed:
    """A feed of an OPML file that was not added: its URL, why, and the check's own words."""

    url: str
    reason: ImportRefusal
    detail: str


@dataclass(frozen=True, slots=True)
class FeedImportView:
    """What importing an OPML file did: feeds added, already present, refused."""

    added: tuple[FeedHealthView, ...]
    present: tuple[str, ...]
    refused: tuple[RefusedFeed, ...]


@dataclass(frozen=True, slots=True)
class StatsView:
    """The figures of /stats; `topics` is (label, archived, subscribers)."""

    chats_active: int
    chats_inactive: int
    topics: tuple[tuple[str, bool, int], ...]
    posts_7_days: int
    deliveries_7_days: dict[str, int]
    failure_reasons: tuple[tuple[str, int], ...]
    growth: tuple[GrowthView, ...] = ()
    growth_weeks: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class AuditView:
    """One audit row."""

    at: datetime
    actor: str
    action: str
    target: str


# -- results for organisers ------------------------------------------------------------------

# A message's figures, in the order results show and exports write them.
FIGURES = (
    "targeted",
    "sent",
    "failed",
    "blocked",
    "clicks",
    "click_count",
    "actions",
    "shares",
    "joins",
    "unsubscribes",
)


def rate(part: int, whole: int) -> float | None:
    """The share part / whole, or None when there is nothing to divide by (shown as "–")."""
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class Figures:
    """What one message (or one topic's share of it) achieved: counts of chats, never chats.

    `blocked` counts chats that blocked the bot or were gone before their turn; `clicks` are
    unique (deliveries clicked at least once), `click_count` every counted click; `joins` are
    new supporters who came through a share of the message.
    """

    targeted: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    clicks: int = 0
    click_count: int = 0
    actions: int = 0
    shares: int = 0
    joins: int = 0
    unsubscribes: int = 0

    @classmethod
    def of(cls, counts: dict[str, int]) -> Figures:
        """From counter name -> amount (names not in FIGURES are ignored)."""
        return cls(**{name: int(counts.get(name, 0)) for name in FIGURES})

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, n) + getattr(other, n) for n in FIGURES))

    @property
    def click_rate(self) -> float | None:
        """Unique clicks per message sent."""
        return rate(self.clicks, self.sent)

    @property
    def action_rate(self) -> float | None:
        """Actions per message sent."""
        return rate(self.actions, self.sent)

    @property
    def actions_per_click(self) -> float | None:
        """Actions per unique click."""
        return rate(self.actions, self.clicks)


@dataclass(frozen=True, slots=True)
class ResultsView:
    """One message's results: per topic (label, figures) and in total.

    A topic label of None gathers figures that name no topic (counted for the message as a
    whole, or of a topic since deleted).
    `kind` is "broadcast" or "post"; `title` the post's title or the broadcast's first words;
    `at` when it started going out (a post: when it was first seen).
    """

    kind: str
    id: int
    title: str
    at: datetime
    total: Figures
    topics: tuple[tuple[str | None, Figures], ...] = ()
    url: str | None = None


@dataclass(frozen=True, slots=True)
class GrowthView:
    """Subscriptions gained and lost per week for one topic: (week start, joined, left)."""

    topic: str
    weeks: tuple[tuple[date, int, int], ...]
