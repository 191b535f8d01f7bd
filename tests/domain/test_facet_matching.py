"""Facets in matching (issue 11): category rules see every facet's name, country and type rules
see only their own kind, keywords read the full text; and the amnesty.org corpus file routed
through the bundled topics plus two one-line topics, as a campaigner expects."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.matching import TopicMatcher
from bot.domain.topics import default_topics_text, parse_topics_toml
from bot.domain.types import Facet, ParsedEntry, TopicRules
from bot.errors import InvalidInputError
from bot.feeds.parse import parse_feed

AMNESTY = (
    Path(__file__).resolve().parents[1]
    / "data"
    / "corpus"
    / "real-feeds"
    / "amnesty-org_en-feed_wordpress.xml"
)

# What a campaigner adds to the bundled topics to follow a country and every Urgent Action.
EXTRA_TOPICS = """
[[topic]]
slug = "sudan"
name = "Sudan"
countries = ["Sudan"]

[[topic]]
slug = "egypt"
name = "Egypt"
countries = ["egypt"]

[[topic]]
slug = "urgent-actions"
name = "Urgent Actions"
types = ["Urgent Action"]

[[topic]]
slug = "refugees"
name = "Refugees"
categories = ["Refugees"]
"""


def entry(
    facets: tuple[Facet, ...] = (),
    *,
    title: str = "",
    summary: str = "",
    content_text: str = "",
) -> ParsedEntry:
    """An entry with just what matching reads."""
    return ParsedEntry(
        identity="urn:test",
        url=None,
        title=title,
        summary=summary,
        facets=facets,
        content_text=content_text,
    )


def topic(**rules: tuple[str, ...]) -> TopicRules:
    """One topic (id 1) with these rules."""
    return TopicRules(topic_id=1, slug="t", **rules)


def matches(rules: TopicRules, item: ParsedEntry) -> bool:
    """Whether the one topic matches the entry."""
    return TopicMatcher([rules]).match(item) == frozenset({1})


@pytest.mark.parametrize("kind", ["category", "topic", "country", "type", "regions"])
def test_category_rule_matches_a_facet_of_any_kind(kind: str) -> None:
    """`categories = ["Torture"]` matches an amn: topic "Torture" as well as a <category>."""
    assert matches(topic(categories=("Torture",)), entry((Facet(kind, "torture", "9"),)))


@pytest.mark.parametrize(
    ("facet", "expected"),
    [
        (Facet("country", "Sudan", "1998"), True),
        (Facet("country", "SUDAN"), True),
        (Facet("country", "South Sudan"), False),
        (Facet("category", "Sudan"), False),
        (Facet("topic", "Sudan"), False),
        (Facet("type", "Sudan"), False),
    ],
)
def test_country_rule_matches_country_facets_only(facet: Facet, expected: bool) -> None:
    """A country rule names a country facet, by key; a category or topic "Sudan" is not one."""
    assert matches(topic(countries=("sudan",)), entry((facet,))) is expected


@pytest.mark.parametrize(
    ("facet", "expected"),
    [
        (Facet("type", "Urgent Action", "2148"), True),
        (Facet("type", "urgent-action"), True),
        (Facet("category", "Urgent Action"), False),
        (Facet("country", "Urgent Action"), False),
    ],
)
def test_type_rule_matches_type_facets_only(facet: Facet, expected: bool) -> None:
    """A type rule names a type facet, by key."""
    assert matches(topic(types=("Urgent Action",)), entry((facet,))) is expected


def test_exclude_vetoes_a_country_match() -> None:
    """An exclude still vetoes a topic a facet selected."""
    rules = topic(countries=("Sudan",), excludes=("football",))
    item = entry((Facet("country", "Sudan"),), title="Sudan football league")
    assert matches(rules, item) is False


def test_keywords_match_the_full_text() -> None:
    """A keyword only the full text says matches; a phrase never spans summary and full text."""
    rules = topic(keywords=("enforced disappearance*", "excerpt ends"))
    found = entry(
        summary="The excerpt stops.", content_text="Torture and enforced disappearances."
    )
    spanning = entry(summary="The excerpt", content_text="ends here.")
    assert (matches(rules, found), matches(rules, spanning)) == (True, False)


def test_explain_names_country_and_type_rules() -> None:
    """explain lists facet rules as "country:<rule>" and "type:<rule>", in the topic's order."""
    rules = topic(
        categories=("Refugees",),
        countries=("Myanmar", "Sudan"),
        types=("News",),
        keywords=("rohingya",),
    )
    item = entry(
        (Facet("topic", "Refugees"), Facet("country", "Myanmar"), Facet("type", "News")),
        content_text="Rohingya refugees",
    )
    assert TopicMatcher([rules]).explain(item) == {
        1: ["category:Refugees", "country:Myanmar", "type:News", "keyword:rohingya"]
    }


def test_topic_with_only_facet_rules_matches_nothing_without_facets() -> None:
    """A country-only topic never matches on words: "Sudan" in a title is not a country facet."""
    assert matches(topic(countries=("Sudan",)), entry(title="Sudan", summary="Sudan")) is False


# -- the amnesty.org file through the bundled topics ----------------------------------------------


def test_amnesty_items_route_as_a_campaigner_expects() -> None:
    """The bundled topics plus one-line country, type and category topics route the corpus file:
    El Salvador reaches StopTorture through its full text (its excerpt does not say torture);
    the Urgent Action and Egypt topics take the Egyptian Urgent Action; Refugees (a category
    rule) takes the amn:topics "Refugees" items; nothing is Sudanese in this file."""
    specs = parse_topics_toml(default_topics_text()) + parse_topics_toml(EXTRA_TOPICS)
    rules = [
        TopicRules(
            topic_id=index,
            slug=spec.slug,
            categories=spec.categories,
            keywords=spec.keywords,
            excludes=spec.excludes,
            countries=spec.countries,
            types=spec.types,
        )
        for index, spec in enumerate(specs, start=1)
    ]
    slugs = {r.topic_id: r.slug for r in rules}
    feed = parse_feed(
        AMNESTY.read_bytes(),
        url="https://www.amnesty.org/en/feed/",
        now=datetime(2026, 7, 20, tzinfo=UTC),
    )
    matcher = TopicMatcher(rules)
    routed = {
        item.identity.rsplit("=", 1)[1]: sorted(slugs[t] for t in matcher.match(item))
        for item in feed.entries
    }
    assert routed == {
        "240632": [],
        "240715": ["refugees"],
        "240711": ["refugees"],
        "240654": ["stoptorture"],
        "999999": [],
        "888888": ["egypt", "urgent-actions"],
        "777777": [],
    }


# -- topics files ------------------------------------------------------------------------------


def test_topics_file_reads_countries_and_types() -> None:
    """`countries` and `types` are rule lists like `categories`."""
    (spec,) = parse_topics_toml(
        '[[topic]]\nslug = "sudan"\nname = "Sudan"\ncountries = ["Sudan", " South Sudan "]\n'
        'types = ["Urgent Action"]\n'
    )
    assert (spec.countries, spec.types) == (("Sudan", "South Sudan"), ("Urgent Action",))


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('countries = ["#"]', "country '#' has no letters or digits"),
        ('types = "Urgent Action"', "types must be a list of strings"),
        ('country = ["Sudan"]', "unknown key 'country'"),
    ],
)
def test_topics_file_refuses_bad_facet_rules(line: str, problem: str) -> None:
    """A facet rule that could never match, or is not a list, is refused with the reason."""
    with pytest.raises(InvalidInputError) as caught:
        parse_topics_toml(f'[[topic]]\nslug = "s"\nname = "S"\n{line}\n')
    assert problem in str(caught.value)
