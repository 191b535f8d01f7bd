"""ORM models: singular classes, plural tables.

Idempotency lives in constraints: posts are unique per feed identity and per canonical URL
hash, deliveries per (chat, post) and per (chat, broadcast). Telegram ids are BigInteger.
The database keeps no names of supporters; a user row holds the numeric id, a lower-cased
@username only so that admins can grant roles by username, and the role.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Feed(Base):
    """A feed the bot polls, with its caching and health state."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(500))
    site_url: Mapped[str | None] = mapped_column(String(2048))
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # False until the first successful poll: that poll records entries without announcing them.
    primed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    next_poll_at: Mapped[datetime] = mapped_column(index=True)
    last_polled_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    failing_since: Mapped[datetime | None]
    failure_reported: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    created_at: Mapped[datetime]
    # "en", "fr", "other" (bot.domain.languages), or None until a poll reads the feed's own
    # <language>; `language_fixed` is an admin's choice (/feedlanguage), which polls keep.
    language: Mapped[str | None] = mapped_column(String(8))
    language_fixed: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    # Polling pace (issue 11): an admin's interval for this feed (/feedinterval; None = the
    # global POLL_INTERVAL_SECONDS), and the shortest interval the feed itself asks for
    # (<ttl>, sy:updatePeriod, Cache-Control max-age; None = no ask), a lower bound unless an
    # admin set `interval_seconds`.
    interval_seconds: Mapped[int | None]
    min_interval_seconds: Mapped[int | None]


class Post(Base):
    """A normalised feed entry; `announced` is False for entries seen on a feed's first poll."""

    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("feed_id", "identity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    identity: Mapped[str] = mapped_column(String(1024))
    url: Mapped[str | None] = mapped_column(String(2048))
    # sha256 of the canonical URL: unique across feeds, so a post syndicated twice is one post.
    url_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(300))
    image_url: Mapped[str | None] = mapped_column(String(2048))
    # Telegram refused `image_url` once (bad URL, not an image): this post goes as text.
    image_refused: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Every taxonomy term as [kind, name, ident-or-null] (bot.domain.types.Facet), issue 11.
    facets: Mapped[list[list[str | None]] | None] = mapped_column(JSON)
    published_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    announced: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Title and summary as folded words (bot.domain.search.search_text), written at ingest;
    # indexed by migration 0005: an FTS5 table on SQLite, a GIN index on PostgreSQL.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    # The feed's language when the post was first seen, and the post this one is the other
    # language's version of (its twin, bot.domain.twins), if any. No foreign key: plain ids.
    language: Mapped[str | None] = mapped_column(String(8))
    twin_of: Mapped[int | None]


class Topic(Base):
    """A campaign topic supporters can follow."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    # normalise_key(name) and normalise_key(slug): forgiving lookups stay unique.
    name_key: Mapped[str] = mapped_column(String(64), unique=True)
    slug_key: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    emoji: Mapped[str] = mapped_column(String(16), default="")
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # The label of the in-chat action button under this topic's post notifications, if any.
    action_label: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # The French name and description (None: the English ones are shown); the name's
    # forgiving key is unique where set, so either language's name finds one topic.
    name_fr: Mapped[str | None] = mapped_column(String(64))
    name_fr_key: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    description_fr: Mapped[str | None] = mapped_column(Text)
    # Urgent: posts and broadcasts at priority URGENT (ahead of others, through digests and
    # quiet hours). `preview`: "off" | "small" | "large" link preview (None = small).
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    preview: Mapped[str | None] = mapped_column(String(8))


class TopicRule(Base):
    """One matching rule of a topic: a category, a keyword/phrase, or an excluded keyword."""

    __tablename__ = "topic_rules"
    __table_args__ = (
        UniqueConstraint("topic_id", "kind", "value_key"),
        CheckConstraint(
            "kind IN ('category', 'keyword', 'exclude', 'country', 'type')", name="kind"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(100))
    value_key: Mapped[str] = mapped_column(String(100))


class PostTopic(Base):
    """A post matched to a topic."""

    __tablename__ = "post_topics"
    __table_args__ = (Index("ix_post_topics_topic_id_post_id", "topic_id", "post_id"),)

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )


class Chat(Base):
    """A Telegram chat the bot talks to; no title or names are kept."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    inactive_reason: Mapped[str | None] = mapped_column(String(200))
    # The chat's language ("en", "fr"), None until first contact sets it (DEFAULT_LANGUAGE),
    # and its IANA time zone, None for BOT_TIMEZONE.
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Pace (bot.domain.pace): "daily 18:00" / "weekly mon 09:00" (None: instant) and quiet
    # hours "22:00-08:00" (None: none), in the chat's time zone.
    digest: Mapped[str | None] = mapped_column(String(32))
    quiet: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LinkedChannel(Base):
    """A channel (or group) an admin linked to topics with /channel: the bot posts there.

    Its subscriptions are ordinary `subscriptions` rows of its chat; this row holds what an
    admin needs to recognise it in /channels (its public title and @username) and who linked
    it. Supporters' chats never get a row here.
    """

    __tablename__ = "linked_channels"

    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str] = mapped_column(String(128), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    linked_by: Mapped[int | None] = mapped_column(BigInteger)
    linked_at: Mapped[datetime]


class User(Base):
    """A Telegram user with a role; supporters without a role need no row beyond /start."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16), default="supporter")
    granted_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("role IN ('supporter', 'organiser', 'admin')", name="role"),)


class Subscription(Base):
    """A chat following a topic."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_topic_id_chat_id", "topic_id", "chat_id"),)

    chat_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime]


# Broadcast kinds: an organiser's broadcast, or a notice from the bot itself.
BROADCAST = "broadcast"
NOTICE = "notice"


class Broadcast(Base):
    """An organiser's call to action (or a re-announced post) to one or more topics.

    `kind` "notice" is a message from the bot itself to a topic's followers (the archive
    notice): it travels through the outbox like a broadcast but is no organiser's, so
    /broadcasts leaves it out.
    """

    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint("status IN ('scheduled', 'sending', 'done', 'cancelled')", name="status"),
        CheckConstraint(f"kind IN ('{BROADCAST}', '{NOTICE}')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(
        String(16), default=BROADCAST, server_default=text(f"'{BROADCAST}'")
    )
    created_by: Mapped[int] = mapped_column(BigInteger)
    # Topic ids, or None for every active chat with a subscription ("all").
    topic_ids: Mapped[list[int] | None] = mapped_column(JSON)
    text_html: Mapped[str] = mapped_column(Text, default="")
    photo: Mapped[str | None] = mapped_column(String(512))
    action_url: Mapped[str | None] = mapped_column(String(2048))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16))
    scheduled_for: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    total: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # The label of the in-chat action button ("✅ I did it"), or None for no button.
    action_label: Mapped[str | None] = mapped_column(String(64))
    # Results sent to the organiser: 0 none yet, 1 the first (one hour), 2 the last (24 hours);
    # the message id is the results message, edited by the next stage.
    results_stage: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=text("0"))
    results_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # The organiser chose "respect digests and quiet hours" (else a broadcast goes at once).
    respect_pace: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    # The language `text_html` is written in (None: the default language), and the other
    # languages' versions of the text, {"fr": "<html>"}: each chat gets its own language's,
    # else `text_html`, the version written first.
    language: Mapped[str | None] = mapped_column(String(8))
    versions: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # Paid broadcast (allow_paid_broadcast, up to 1,000/s); false again from `paid_stopped_at`,
    # when Telegram refused the Stars (BALANCE_TOO_LOW); `paid_notified`: the organiser was told.
    paid: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    paid_stopped_at: Mapped[datetime | None]
    paid_notified: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )


class Delivery(Base):
    """The outbox: one row per chat per post or broadcast, drained by the sender."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("chat_id", "post_id"),
        UniqueConstraint("chat_id", "broadcast_id"),
        CheckConstraint("(post_id IS NULL) <> (broadcast_id IS NULL)", name="post_xor_broadcast"),
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'dropped')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("chats.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True
    )
    # The followed topic the message names (for its "Unsubscribe from …" button).
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # bot.domain.priority.DeliveryPriority: higher is sent first.
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=text("0"))
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    # What the recipient did with it, and nothing about how: tracked-link clicks (count and
    # first time) and the in-chat action button (once). Never shown per chat.
    clicks: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    first_click_at: Mapped[datetime | None]
    acted_at: Mapped[datetime | None]
    # Several instances on PostgreSQL (bot.services.fleet): who claimed this pending delivery
    # and until when no other instance may take it; after a send, until when the chat rests.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    # bot.domain.pace.DeliveryPace: 0 not paced yet, 1 paced (send when due), 2 held for the
    # chat's digest; `digest_id` is the digest that carries it once that digest is built.
    pace: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=text("0"))
    digest_id: Mapped[int | None] = mapped_column(BigInteger, index=True)


# Held posts whose digest time has come (the digest builder's query).
Index("ix_deliveries_digest_due", Delivery.pace, Delivery.status, Delivery.next_attempt_at)


class DigestMessage(Base):
    """A digest: one message (or a few, split at Telegram's limit) to one chat, in the outbox.

    Its posts are the deliveries whose `digest_id` is this row: attached in the transaction
    that creates it, marked sent in the transaction that marks it sent. `parts_sent` counts
    the parts Telegram accepted, so a digest interrupted between parts resumes where it was.
    """

    __tablename__ = "digests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'dropped')", name="status"),
        Index("ix_digests_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("chats.id", ondelete="CASCADE"))
    # The digest time it was built for.
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    parts_sent: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


# The claim order (DeliveryRepo.claim_due): pending, highest priority first, then oldest, with
# the due time last so rows not yet due are skipped inside the index. It replaced an index on
# (status, next_attempt_at), which SQLite (without ANALYZE statistics) preferred and then sorted
# the whole pending backlog at every claim: 50-75 ms at 60,000 rows on either database, < 1 ms now.
Index(
    "ix_deliveries_claim",
    Delivery.status,
    Delivery.priority.desc(),
    Delivery.id,
    Delivery.next_attempt_at,
)

# The leased claim's walk (PostgreSQL only, DeliveryRepo.claim_leased): the same order over the
# pending rows alone, digest-held ones left out. Sent rows leave it at once, so a claim does not
# step over the dead index entries of thousands of rows sent since the last vacuum, and it is
# chosen whatever the table's statistics say (right after a fan-out, before autovacuum has
# analysed the table, the full index gave 0.5 s claims). SQLite keeps ix_deliveries_claim.
Index(
    "ix_deliveries_pending",
    Delivery.priority.desc(),
    Delivery.id,
    Delivery.next_attempt_at,
    postgresql_where=text("status = 'pending' AND pace <> 2"),
    info={"dialects": ("postgresql",)},
).ddl_if(dialect="postgresql")


# MessageTotals.kind values.
POST = "post"


class MessageTotals(Base):
    """Aggregate figures of one post or broadcast, per topic, that no delivery row holds.

    Two kinds of figures live here. Event counters, counted when they happen and never per
    chat: shares (inline results chosen), joins (new supporters who came through a shared
    link), unsubscribes (credited to the last message the chat got within 48 hours). And the
    folded figures of delivery rows deleted by the retention job or /forgetme (targeted, sent,
    failed, blocked, unique clicks, click count, actions), so that results stay exact after
    the rows are gone. A message's results are its live delivery rows plus these.
    `topic_id` 0 means no topic (a broadcast to "all", a share of the message as a whole).
    """

    __tablename__ = "message_totals"
    __table_args__ = (
        UniqueConstraint("kind", "message_id", "topic_id"),
        CheckConstraint(f"kind IN ('{POST}', '{BROADCAST}')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # A posts.id or a broadcasts.id, by kind (no foreign key: totals outlive both).
    message_id: Mapped[int]
    topic_id: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    targeted: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    sent: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    failed: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    blocked: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    clicks: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    click_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    actions: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    shares: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    joins: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    unsubscribes: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class TopicGrowth(Base):
    """Subscriptions gained and lost per topic per week (Monday, UTC): counters, no chats."""

    __tablename__ = "topic_growth"
    __table_args__ = (UniqueConstraint("topic_id", "week_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    week_start: Mapped[date]
    joined: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    left: Mapped[int] = mapped_column(default=0, server_default=text("0"))


class AuditEntry(Base):
    """Who changed what, from chat or from the command line."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class BotState(Base):
    """Small key/value facts about the installation (e.g. the topics file was loaded)."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class FleetBudget(Base):
    """The fleet-wide send budget (PostgreSQL): a virtual schedule of slots and a 429's pause."""

    __tablename__ = "fleet_budget"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_slot: Mapped[datetime]
    paused_until: Mapped[datetime]


class ConversationState(Base):
    """Conversation states and user_data of the broadcast draft flow (PTB persistence)."""

    __tablename__ = "conversation_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # '' while the row holds only a turn
    updated_at: Mapped[datetime]
    # The instance handling this person's update now, and when its turn lapses (issue 12).
    busy_by: Mapped[str | None] = mapped_column(String(64))
    busy_until: Mapped[datetime | None]
