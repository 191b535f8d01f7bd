"""Facets from feed to database (issue 11): the amnesty.org corpus file polled from the local feed
server stores each post's facets and routes it by country, type and full text; topics files and
/topicrule store country and type rules. Real database (SQLite and PostgreSQL), no mocks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import Post, PostTopic, Topic
from bot.db.repos import TopicRepo
from bot.db.repos.posts import facets_from_json
from bot.domain.topics import parse_topics_toml
from bot.domain.types import Actor, Facet, TopicRules
from bot.errors import InvalidInputError
from bot.services.feeds import FeedService
from bot.services.ingest import IngestService
from bot.services.topics import TopicService
from tests.fakes.clock import FakeClock
from tests.fakes.feedserver import FeedServer
from tests.services.support import ADMIN_ID, Sessions

AMNESTY = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "corpus"
    / "real-feeds"
    / "amnesty-org_en-feed_wordpress.xml"
).read_bytes()
ADMIN = Actor(ADMIN_ID, "admin")
ONE_LINE_TOPICS = """
[[topic]]
slug = "sudan"
name = "Sudan"
countries = ["Sudan", "El Salvador"]

[[topic]]
slug = "urgent-actions"
name = "Urgent Actions"
types = ["Urgent Action"]
"""

pytestmark = pytest.mark.usefixtures("topics")  # the bundled topics, in every test


async def test_polled_amnesty_posts_keep_facets_and_match_by_them(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    topics: TopicService,
    sessionmaker: Sessions,
) -> None:
    """Each stored post has its [kind, name, id] facets; posts match country and type topics
    and StopTorture through the full text."""
    await topics.import_topics(parse_topics_toml(ONE_LINE_TOPICS))
    feeds.add("/amnesty.xml", AMNESTY)
    await feed_service.add_feed(feeds.url("/amnesty.xml"))
    await ingest.poll_due()
    async with sessionmaker() as session:
        posts = {p.identity.rsplit("=", 1)[1]: p for p in (await session.scalars(select(Post)))}
        rows = await session.execute(
            select(Post.identity, Topic.slug)
            .join(PostTopic, PostTopic.post_id == Post.id)
            .join(Topic, Topic.id == PostTopic.topic_id)
            .order_by(Post.identity, Topic.slug)
        )
        pairs = [(identity.rsplit("=", 1)[1], slug) for identity, slug in rows.all()]
    assert (
        posts["888888"].facets,
        facets_from_json(posts["240654"].facets)[:3],
        pairs,
    ) == (
        [
            ["type", "Campaigns", "2133"],
            ["country", "Egypt", "1786"],
            ["country", "Middle East and North Africa", "1701"],
            ["topic", "Prisoners of Conscience", "2079"],
            ["type", "Urgent Action", "2148"],
        ],
        (
            Facet("type", "News", "1148"),
            Facet("type", "Press Release", "2181"),
            Facet("country", "Americas", "1699"),
        ),
        [("240654", "stoptorture"), ("240654", "sudan"), ("888888", "urgent-actions")],
    )


async def test_changed_facets_update_the_stored_post(
    feeds: FeedServer,
    feed_service: FeedService,
    ingest: IngestService,
    clock: FakeClock,
    sessionmaker: Sessions,
) -> None:
    """A post whose feed re-files it (a country added) keeps the new facets after the next poll."""
    feeds.add("/amnesty.xml", AMNESTY, etag='"v1"')
    await feed_service.add_feed(feeds.url("/amnesty.xml"))
    await ingest.poll_due()
    refiled = AMNESTY.replace(
        b'<amn:id name="Egypt">1786</amn:id>', b'<amn:id name="Sudan">1998</amn:id>'
    )
    feeds.add("/amnesty.xml", refiled, etag='"v2"')
    clock.advance(61)
    await ingest.poll_due()
    async with sessionmaker() as session:
        post = await session.scalar(select(Post).where(Post.identity.endswith("?p=888888")))
    assert post is not None
    assert ["country", "Sudan", "1998"] in (post.facets or [])


async def test_country_and_type_rules_are_stored_and_compiled(
    topics: TopicService, sessionmaker: Sessions
) -> None:
    """Rules from a topics file and from /topicrule reach the matcher as countries and types,
    and /topicinfo's view lists them with their kinds."""
    await topics.import_topics(parse_topics_toml(ONE_LINE_TOPICS))
    change = await topics.change_rule(ADMIN, "urgent-actions", "add", "Type", " Urgent Actions ")
    await topics.change_rule(ADMIN, "sudan", "remove", "country", "el salvador")
    async with sessionmaker() as session:
        compiled = {r.slug: r for r in await TopicRepo(session).matching_rules()}
    info = await topics.topic_info("sudan")
    assert (
        change.changed,
        compiled["sudan"],
        compiled["urgent-actions"].types,
        info.rules,
    ) == (
        True,
        TopicRules(compiled["sudan"].topic_id, "sudan", countries=("Sudan",)),
        ("Urgent Action", "Urgent Actions"),
        (("country", "Sudan"),),
    )


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        ("country", "#", "country '#' has no letters or digits"),
        ("region", "Europe", "the rule kind must be category, country, type, keyword or exclude"),
    ],
)
async def test_bad_facet_rule_changes_nothing(
    topics: TopicService, kind: str, value: str, problem: str
) -> None:
    """A country rule without letters, or an unknown kind, is refused with the reason."""
    with pytest.raises(InvalidInputError) as caught:
        await topics.change_rule(ADMIN, "stoptorture", "add", kind, value)
    info = await topics.topic_info("stoptorture")
    assert (problem in str(caught.value), [k for k, _ in info.rules if k == "country"]) == (
        True,
        [],
    )
