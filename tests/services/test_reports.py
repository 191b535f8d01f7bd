"""ReportService on SQLite and PostgreSQL, with a fake clock: /stats, /audit and its n."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInputError
from bot.services.reports import ReportService, parse_audit_limit
from bot.services.topics import TopicService
from tests.fakes.clock import FakeClock
from tests.services.support import ACTOR, Sessions, follow


@pytest.mark.usefixtures("topics")
async def test_stats_counts_chats_and_subscriptions(
    reports: ReportService, sessionmaker: Sessions, clock: FakeClock
) -> None:
    """Stats count active and inactive chats and subscribers per topic."""
    await follow(sessionmaker, clock, "stoptorture", (1, 2), blocked=[2])
    stats = await reports.stats()
    per_topic = {label: n for label, _, n in stats.topics}
    assert (stats.chats_active, stats.chats_inactive, per_topic["✋ StopTorture"]) == (1, 1, 2)


async def test_audit_newest_first_and_capped(reports: ReportService, topics: TopicService) -> None:
    """Audit rows come newest first, at most the number asked for."""
    await topics.add_topic(ACTOR, "one", "One")
    await topics.add_topic(ACTOR, "two", "Two")
    rows = await reports.audit(2)
    assert [(r.action, r.target, r.actor) for r in rows] == [
        ("topic.add", "two", "@boss (9001)"),
        ("topic.add", "one", "@boss (9001)"),
    ]


@pytest.mark.parametrize(("text", "expected"), [("", 20), ("5", 5), ("1000", 100)])
def test_parse_audit_limit(text: str, expected: int) -> None:
    """/audit's n defaults to 20 and is capped at 100."""
    assert parse_audit_limit(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "lots", "٣"])
def test_parse_audit_limit_refuses(text: str) -> None:
    """n must be a positive whole number in ASCII digits."""
    with pytest.raises(InvalidInputError):
        parse_audit_limit(text)
