"""TopicService on SQLite and PostgreSQL, with a fake clock and the bundled topics."""

from __future__ import annotations

import pytest

from bot.db.models import Delivery, Topic, TopicRule
from bot.db.repos import TopicRepo
from bot.domain.types import TopicSpec
from bot.errors import AlreadyExistsError, InvalidInputError, TopicNotFoundError
from bot.services.topics import TopicService
from tests.fakes.clock import FakeClock
from tests.services.support import ACTOR, Sessions, audit_actions, count_rows, follow


async def test_add_topic_creates_and_audits(topics: TopicService, sessionmaker: Sessions) -> None:
    """A new topic is stored with its slug and name, and audited."""
    detail = await topics.add_topic(ACTOR, "climate", "Climate  justice")
    assert (detail.slug, detail.name, detail.rules, await audit_actions(sessionmaker)) == (
        "climate",
        "Climate justice",
        (),
        ["topic.add"],
    )


@pytest.mark.parametrize(("slug", "name"), [("stoptorture", "Other"), ("other", "stop torture")])
async def test_add_topic_taken_slug_or_name_refused(
    topics: TopicService, slug: str, name: str
) -> None:
    """A slug or name another topic has (forgivingly) is refused."""
    with pytest.raises(AlreadyExistsError):
        await topics.add_topic(ACTOR, slug, name)


async def test_edit_topic_name_taken_refused(topics: TopicService) -> None:
    """Renaming a topic to another topic's name is refused."""
    with pytest.raises(InvalidInputError, match="taken"):
        await topics.edit_topic(ACTOR, "stoptorture", "name", "Write for rights")


async def test_edit_topic_clears_emoji(topics: TopicService, sessionmaker: Sessions) -> None:
    """'-' clears the emoji."""
    detail = await topics.edit_topic(ACTOR, "stoptorture", "emoji", "-")
    assert (detail.emoji, await audit_actions(sessionmaker)) == ("", ["topic.edit.emoji"])


async def test_change_rule_add_is_idempotent(topics: TopicService, sessionmaker: Sessions) -> None:
    """Adding a rule twice (any case) stores it once and audits once."""
    first = await topics.change_rule(ACTOR, "stoptorture", "add", "keyword", "Sleep Deprivation")
    second = await topics.change_rule(ACTOR, "StopTorture", "add", "KEYWORD", "sleep deprivation")
    assert (
        first.changed,
        second.changed,
        await count_rows(sessionmaker, TopicRule, TopicRule.value_key == "sleep deprivation"),
        await audit_actions(sessionmaker),
    ) == (True, False, 1, ["topic.rule.add"])


@pytest.mark.parametrize(
    ("op", "kind", "value"),
    [
        ("add", "keyword", "a*"),
        ("add", "colour", "x"),
        ("drop", "keyword", "x"),
        ("add", "keyword", "x" * 101),
    ],
)
async def test_change_rule_bad_input_refused(
    topics: TopicService, op: str, kind: str, value: str
) -> None:
    """Unknown operations or kinds and rules a topics file would refuse are refused."""
    with pytest.raises(InvalidInputError):
        await topics.change_rule(ACTOR, "stoptorture", op, kind, value)


async def test_change_rule_changes_matching(topics: TopicService, sessionmaker: Sessions) -> None:
    """The matcher's rules include a rule right after it is added."""
    await topics.change_rule(ACTOR, "indigenous-rights", "add", "exclude", "first nations bank")
    async with sessionmaker() as session:
        rules = {r.slug: r for r in await TopicRepo(session).matching_rules()}
    assert "first nations bank" in rules["indigenous-rights"].excludes


async def test_archive_topic_queues_notice_for_active_subscribers(
    topics: TopicService, sessionmaker: Sessions, clock: FakeClock
) -> None:
    """Archiving queues one notice per active subscribed chat and hides the topic."""
    await follow(sessionmaker, clock, "stoptorture", (1, 2, 3), blocked=[3])
    result = await topics.archive_topic(ACTOR, "stoptorture")
    async with sessionmaker() as session:
        visible = [t.slug for t in await TopicRepo(session).all()]
    assert (
        result.notified,
        await count_rows(sessionmaker, Delivery, Delivery.topic_id.is_(None)),
        "stoptorture" in visible,
        await count_rows(sessionmaker, Topic),
    ) == (2, 2, False, 3)


async def test_archive_twice_notifies_once(topics: TopicService, sessionmaker: Sessions) -> None:
    """A second archive changes nothing and writes no second audit row."""
    await topics.archive_topic(ACTOR, "stoptorture")
    again = await topics.archive_topic(ACTOR, "stoptorture")
    assert (again.changed, await audit_actions(sessionmaker)) == (False, ["topic.archive"])


async def test_topic_info_unknown_raises(topics: TopicService) -> None:
    """An unknown topic is TopicNotFoundError."""
    with pytest.raises(TopicNotFoundError):
        await topics.topic_info("nope")


@pytest.mark.parametrize(
    ("specs", "owner"),
    [
        ([TopicSpec(slug="other", name="Stop  torture")], "stoptorture"),
        ([TopicSpec(slug="other", name="Other", name_fr="#StopTorture")], "stoptorture"),
        ([TopicSpec(slug="alpha", name="Alpha"), TopicSpec(slug="beta", name="alpha")], "alpha"),
    ],
    ids=["another-topics-name", "its-slug-as-a-french-name", "the-files-own-topic"],
)
async def test_import_refuses_a_name_another_topic_has_and_changes_nothing(
    topics: TopicService, sessionmaker: Sessions, specs: list[TopicSpec], owner: str
) -> None:
    """A topics file naming a topic as another one is named (forgivingly, in either language,
    earlier in the same file included) is refused whole."""
    before = (await count_rows(sessionmaker, Topic), await count_rows(sessionmaker, TopicRule))
    with pytest.raises(InvalidInputError, match=f"is used by '{owner}'"):
        await topics.import_topics([TopicSpec(slug="fresh", name="Fresh"), *specs])
    after = (await count_rows(sessionmaker, Topic), await count_rows(sessionmaker, TopicRule))
    assert after == before


async def test_import_updates_a_topic_under_its_own_name(
    topics: TopicService, sessionmaker: Sessions
) -> None:
    """Importing a topic again, its name unchanged, updates it and replaces its rules."""
    result = await topics.import_topics(
        [TopicSpec(slug="StopTorture", name="Stop Torture", keywords=("waterboarding",))]
    )
    async with sessionmaker() as session:
        rules = await TopicRepo(session).rules()
        topic = await TopicRepo(session).by_slug("stoptorture")
    assert topic is not None
    assert (result.created, result.updated, [r.value for r in rules[topic.id]]) == (
        [],
        ["StopTorture"],
        ["waterboarding"],
    )
