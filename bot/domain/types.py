"""Plain values that flow through the pipeline, named by stage.

`ParsedFeed`/`ParsedEntry` come out of the parser, `TopicRules` go into the matcher,
`Match` comes out of it. No I/O, no Telegram, no SQLAlchemy.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Role(enum.StrEnum):
    """What a user may do; each role includes the ones before it."""

    SUPPORTER = "supporter"
    ORGANISER = "organiser"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Order of the roles: supporter < organiser < admin."""
        return _ROLE_RANK[self]

    def allows(self, needed: Role) -> bool:
        """Whether a holder of this role may do what `needed` may do."""
        return self.rank >= needed.rank


_ROLE_RANK = {Role.SUPPORTER: 0, Role.ORGANISER: 1, Role.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does something: a Telegram user id (None off chat) and the name the audit log shows.

    `language` is the one the actor reads the bot's replies in ("en", "fr").
    """

    user_id: int | None
    name: str
    language: str = "en"

    @classmethod
    def of(cls, user_id: int, username: str | None) -> Actor:
        """An actor from chat: "@username (id)", or the id alone."""
        return cls(user_id, f"@{username} ({user_id})" if username else str(user_id))


# Whoever runs a `campaignbot` command on the server.
CLI_ACTOR = Actor(None, "cli")


class RuleKind(enum.StrEnum):
    """Kinds of topic matching rules."""

    CATEGORY = "category"
    KEYWORD = "keyword"
    EXCLUDE = "exclude"
    # Facet rules (issue 11): match a post's `country:` or `type:` facets only, by name.
    COUNTRY = "country"
    TYPE = "type"


class DeliveryStatus(enum.StrEnum):
    """Life of one outbox row."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"  # the chat became unreachable or was forgotten before sending


class ChatType(enum.StrEnum):
    """Telegram chat types we keep."""

    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


@dataclass(frozen=True, slots=True)
class Facet:
    """One term of a taxonomy an entry is filed under.

    `kind` is "category" for RSS `<category>`/Atom `<category>` terms, "topic", "country" or
    "type" for the `amn:` taxonomies (content and resource types are both "type"), and the
    element's local name for another feed's own taxonomy. `name` is the term as shown (plain
    text); `ident` is the feed's own id for it ("2105"), if any.
    """

    kind: str
    name: str
    ident: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One normalised feed entry, as the parser hands it on.

    `identity` is stable across polls (entry id, else link, else a hash of title and date);
    `url` is the canonical link (absolute, no fragment, no utm_* parameters) or None;
    `title` and `summary` are plain text (HTML stripped, entities decoded, whitespace folded);
    `published` is aware UTC or None when the feed gives no usable date.
    """

    identity: str
    url: str | None
    title: str
    summary: str
    published: datetime | None = None
    categories: tuple[str, ...] = ()
    author: str | None = None
    image_url: str | None = None
    # Every taxonomy term the entry carries (categories included), in document order.
    facets: tuple[Facet, ...] = ()
    # The full text (`content:encoded`, Atom `<content>`) as plain text when the feed gives
    # more than the summary; "" otherwise. Keywords match it; it is not stored.
    content_text: str = ""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What the parser made of one document.

    `bozo_reason` is set when the document was not well-formed but still yielded entries.
    `alternate_urls` are feed links discovered in an HTML page (autodiscovery), absolute.
    """

    title: str | None
    site_url: str | None
    entries: tuple[ParsedEntry, ...]
    bozo_reason: str | None = None
    alternate_urls: tuple[str, ...] = ()
    # The feed's own <language> as written ("fr-CA"), None if it gives none.
    language: str | None = None
    # The shortest interval the feed asks to be polled at, in seconds (RSS `<ttl>` minutes,
    # `sy:updatePeriod`/`sy:updateFrequency`), None if it says nothing.
    min_interval_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class TopicRules:
    """A topic's matching rules, as the matcher sees them."""

    topic_id: int
    slug: str
    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    # Facet rules: names of `country:` / `type:` facets (issue 11).
    countries: tuple[str, ...] = ()
    types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic as written in a topics file or by an admin."""

    slug: str
    name: str
    description: str = ""
    emoji: str = ""
    categories: tuple[str, ...] = ()
    # The action button's label under the topic's posts ("" = no button).
    action: str = ""
    keywords: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    # The French name and description ("" = none: the English ones are shown).
    name_fr: str = ""
    description_fr: str = ""
    countries: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    # Urgent topics' posts and broadcasts go ahead of others and ignore digests and quiet
    # hours (priority URGENT); `preview` is the link preview of its posts: off, small, large.
    urgent: bool = False
    preview: str = "small"


class PollStatus(enum.StrEnum):
    """How polling one feed went (the values are metric labels: keep them stable)."""

    NEW = "new"  # fetched and stored (with or without new posts)
    NOT_MODIFIED = "not_modified"  # 304: nothing to parse
    ERROR = "error"  # fetch, parse or storage failed; the feed backs off


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """Summary of polling one feed."""

    feed_id: int
    url: str
    status: PollStatus
    entries_seen: int = 0
    posts_new: int = 0
    deliveries_new: int = 0
    error: str | None = None


@dataclass(slots=True)
class PollSummary:
    """Summary of one polling cycle."""

    outcomes: list[PollOutcome] = field(default_factory=list)

    @property
    def feeds_polled(self) -> int:
        """How many feeds were polled."""
        return len(self.outcomes)

    @property
    def posts_new(self) -> int:
        """New posts found in this cycle."""
        return sum(o.posts_new for o in self.outcomes)

    @property
    def deliveries_new(self) -> int:
        """Pending deliveries created in this cycle."""
        return sum(o.deliveries_new for o in self.outcomes)

    @property
    def failures(self) -> int:
        """Feeds that failed in this cycle."""
        return sum(1 for o in self.outcomes if o.status is PollStatus.ERROR)


class OutcomeKind(enum.StrEnum):
    """What happened to one send."""

    SENT = "sent"
    RETRY_AFTER = "retry_after"  # 429: pause all sending, then retry
    UNREACHABLE = "unreachable"  # 403 blocked/deactivated/kicked, 400 chat not found
    MIGRATED = "migrated"  # group became a supergroup: move the chat and retry
    TRANSIENT = "transient"  # timeout, network, 5xx: retry with backoff
    # 400 "not enough rights to send photos": the chat refuses this kind of content only, so the
    # same message goes again as plain text; never a reason to deactivate the chat.
    MEDIA_REFUSED = "media_refused"
    # 400 "wrong file identifier/HTTP URL specified", "failed to get HTTP URL content", "wrong
    # type of the web page content": Telegram could not use the photo's URL. The same message
    # goes again as text, and a post's image is not tried again (`posts.image_refused`).
    IMAGE_REFUSED = "image_refused"
    PERMANENT = "permanent"  # any other 400: retrying cannot help
    # 400 BALANCE_TOO_LOW for a paid broadcast: not sent; the broadcast goes on at normal pace.
    PAID_REFUSED = "paid_refused"


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """The result of one send; every new kind needs a test in tests/services/test_delivery.py."""

    kind: OutcomeKind
    message_id: int | None = None
    retry_after: float = 0.0
    new_chat_id: int | None = None
    error: str | None = None
