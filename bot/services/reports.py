"""Figures for admins: /stats and /audit.

/stats counts chats, followers per topic, posts and deliveries of the last 7 days, the
commonest failures and, per topic, subscriptions gained and lost in each of the last
GROWTH_WEEKS weeks (TotalsRepo.growth_since); /audit shows the latest audit rows.

Reads only, in one session per public method. Returns `bot.render` views.
Must not: receive or return Telegram objects, import `telegram.ext` or handlers.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.repos import AuditRepo, ReportRepo, TopicRepo, TotalsRepo
from bot.db.repos.totals import week_start
from bot.domain.clock import Clock
from bot.domain.views import AuditView, GrowthView, StatsView
from bot.domain.wording import N_
from bot.errors import InvalidInputError

AUDIT_DEFAULT = 20
AUDIT_MAX = 100
STATS_WINDOW = timedelta(days=7)
# /stats shows subscriptions gained and lost per topic for this many weeks, this one included.
GROWTH_WEEKS = 4


class ReportService:
    """The admins' figures; see the module docstring."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, tz: tzinfo = UTC
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._tz = tz

    async def stats(self) -> StatsView:
        """Chats, subscriptions per topic, posts and deliveries of the last 7 days, failures."""
        since = self._clock.now() - STATS_WINDOW
        async with self._sessionmaker() as session:
            repo = ReportRepo(session)
            topics = await TopicRepo(session).all(include_archived=True)
            subscribers = await repo.subscriber_counts()
            active, inactive = await repo.chat_counts()
            posts = await repo.posts_since(since)
            deliveries = await repo.deliveries_since(since)
            reasons = await repo.failure_reasons(since)
            this_week = week_start(self._clock.now().astimezone(self._tz).date())
            weeks = tuple(this_week - timedelta(weeks=n) for n in range(GROWTH_WEEKS - 1, -1, -1))
            growth = await TotalsRepo(session).growth_since(weeks[0])
        labels = {t.id: f"{t.emoji} {t.name}".strip() for t in topics}
        per_topic: dict[int, list[tuple[date, int, int]]] = {}
        for topic_id, week, joined, left in growth:
            if topic_id in labels:
                per_topic.setdefault(topic_id, []).append((week, joined, left))
        return StatsView(
            chats_active=active,
            chats_inactive=inactive,
            topics=tuple(
                (f"{t.emoji} {t.name}".strip(), t.archived, subscribers.get(t.id, 0))
                for t in topics
            ),
            posts_7_days=posts,
            deliveries_7_days=deliveries,
            failure_reasons=tuple(reasons),
            growth=tuple(
                GrowthView(labels[topic_id], tuple(rows))
                for topic_id, rows in sorted(per_topic.items(), key=lambda x: labels[x[0]])
            ),
            growth_weeks=weeks,
        )

    async def audit(self, limit: int = AUDIT_DEFAULT) -> list[AuditView]:
        """The latest audit rows, newest first (at most AUDIT_MAX)."""
        limit = max(1, min(limit, AUDIT_MAX))
        async with self._sessionmaker() as session:
            rows = await AuditRepo(session).latest(limit)
        return [AuditView(r.at, r.actor, r.action, r.target) for r in rows]


def parse_audit_limit(text: str) -> int:
    """The n of /audit [n]: default 20, at most 100.

    Raises:
        InvalidInputError: it is not a positive whole number.
    """
    text = text.strip()
    if not text:
        return AUDIT_DEFAULT
    if not (text.isascii() and text.isdigit()) or len(text) > 6 or int(text) < 1:
        raise InvalidInputError.worded(
            N_("n must be a whole number from 1 to %(max)s"), max=AUDIT_MAX
        )
    return min(int(text), AUDIT_MAX)
