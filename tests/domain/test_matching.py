"""Matching entries to topics: normalisation, categories, keywords, phrases, prefixes, excludes.

Decisions these tests pin down:
- "whole word" means a keyword never matches inside a longer word: "torture" does not match
  "tortureless" and "art" does not match "article" (write "tortur*" to match word starts);
- punctuation between words does not matter: "ill-treatment" matches "ill treatment", and
  "women" matches "women's";
- a phrase never spans the title and the summary.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.matching import (
    TopicMatcher,
    compile_matcher,
    normalise_key,
    normalise_text,
    split_rule,
)
from bot.domain.types import ParsedEntry, TopicRules

Builder = Callable[[Iterable[TopicRules]], TopicMatcher]


def _entry(title: str = "", summary: str = "", categories: tuple[str, ...] = ()) -> ParsedEntry:
    """An entry with just the fields matching reads."""
    return ParsedEntry(
        identity="urn:test", url=None, title=title, summary=summary, categories=categories
    )


def _topic(
    topic_id: int = 1,
    *,
    categories: tuple[str, ...] = (),
    keywords: tuple[str, ...] = (),
    excludes: tuple[str, ...] = (),
) -> TopicRules:
    """Rules for one topic."""
    return TopicRules(
        topic_id=topic_id,
        slug=f"topic-{topic_id}",
        categories=categories,
        keywords=keywords,
        excludes=excludes,
    )


def _matches(keyword: str, title: str, summary: str = "") -> bool:
    """Whether a one-keyword topic matches an entry."""
    matcher = TopicMatcher([_topic(keywords=(keyword,))])
    return matcher.match(_entry(title, summary)) == frozenset({1})


# -- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write for Rights", "writeforrights"),
        ("WriteForRights", "writeforrights"),
        ("#write-for-rights", "writeforrights"),
        ("write_for_rights", "writeforrights"),
        ("  WRITE  FOR  RIGHTS  ", "writeforrights"),
        ("Write–for—Rights!", "writeforrights"),
        ("Défense", "defense"),
        ("#Sámi", "sami"),
        ("Māori", "maori"),
        ("Straße", "strasse"),
        ("Stop\u00a0Torture", "stoptorture"),
        ("İstanbul", "istanbul"),
        ("#", ""),
        ("— ! —", ""),
    ],
)
def test_normalise_key_ignores_case_accents_and_punctuation(text: str, expected: str) -> None:
    """Keys fold case and accents and drop '#', spaces, hyphens, underscores and punctuation."""
    assert normalise_key(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Guantánamo", "guantanamo"),
        ("Sámi’s lands", "sami's lands"),
        ("women‘s rights", "women's rights"),
        ("Ill-Treatment, again.", "ill-treatment, again."),
        ("ﬁrst nations", "first nations"),
        ("ISTANBUL İstanbul", "istanbul istanbul"),
        ("ℌello’s", "hello's"),
        ("ᾈ", "αι"),
    ],
)
def test_normalise_text_keeps_word_boundaries(text: str, expected: str) -> None:
    """Text folds case and accents and unifies apostrophes but keeps spaces and punctuation."""
    assert normalise_text(text) == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("torture", (("torture",), False)),
        ("Tortur*", (("tortur",), True)),
        ("Cruel, inhuman or degrading", (("cruel", "inhuman", "or", "degrading"), False)),
        ("enforced disappear*", (("enforced", "disappear"), True)),
        ("women’s rights", (("women", "s", "rights"), False)),
        ("torture *", (("torture",), False)),
        ("*", ((), False)),
        ("", ((), False)),
    ],
)
def test_split_rule_gives_words_and_wildcard(
    rule: str, expected: tuple[tuple[str, ...], bool]
) -> None:
    """A rule becomes its normalised words, plus whether it ends in a '*' right after a word."""
    assert split_rule(rule) == expected


@given(st.text())
def test_normalise_key_is_idempotent(text: str) -> None:
    """Normalising a key again changes nothing."""
    key = normalise_key(text)
    assert normalise_key(key) == key


@given(st.text())
def test_normalise_text_is_idempotent(text: str) -> None:
    """Normalising a text again changes nothing."""
    normal = normalise_text(text)
    assert normalise_text(normal) == normal


# -- categories ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "category", ["StopTorture", "#stoptorture", "Stop Torture", "stop-torture", "STOP_TORTURE"]
)
def test_category_matches_by_key(category: str) -> None:
    """A category rule matches any spelling of the entry's category with the same key."""
    matcher = TopicMatcher([_topic(categories=("StopTorture",))])
    assert matcher.match(_entry("A post", categories=("News", category))) == frozenset({1})


def test_category_must_equal_not_contain() -> None:
    """A category rule does not match a longer category that contains it."""
    matcher = TopicMatcher([_topic(categories=("Torture",))])
    assert matcher.match(_entry("A post", categories=("Torture survivors",))) == frozenset()


def test_category_rule_does_not_search_the_text() -> None:
    """Categories are compared with the entry's categories only, not its title or summary."""
    matcher = TopicMatcher([_topic(categories=("Torture",))])
    assert matcher.match(_entry("Torture", "torture")) == frozenset()


def test_keyword_rule_does_not_search_the_categories() -> None:
    """Keywords are looked for in the title and summary only, not in the entry's categories."""
    matcher = TopicMatcher([_topic(keywords=("torture",))])
    assert matcher.match(_entry("A post", categories=("torture",))) == frozenset()


# -- keywords ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "text", "expected"),
    [
        ("torture", "Stop torture now", True),
        ("torture", "Torture.", True),
        ("torture", "“TORTURE”", True),
        ("torture", "torture-free zones", True),
        ("torture", "tortureless", False),
        ("torture", "antitorture", False),
        ("art", "Art for rights", True),
        ("art", "Read the article", False),
        ("art", "a smart move", False),
        ("rights", "copyrights", False),
        ("rights", "rights_groups", True),
        ("women", "women's rights", True),
        ("women", "womenfolk", False),
        ("W4R", "Join #W4R today", True),
        ("2024", "In 2024, letters", True),
        ("2024", "20245", False),
    ],
)
def test_keyword_matches_whole_words_only(keyword: str, text: str, expected: bool) -> None:
    """A keyword matches whole words, never part of a longer word."""
    assert _matches(keyword, text) == expected


@pytest.mark.parametrize("where", ["title", "summary"])
def test_keyword_matches_in_title_or_summary(where: str) -> None:
    """A keyword is found in the title and in the summary alike."""
    texts = {"title": "", "summary": ""} | {where: "Survivors of torture speak"}
    assert _matches("torture", texts["title"], texts["summary"]) is True


@pytest.mark.parametrize(
    ("keyword", "text"),
    [
        ("Sámi", "sami herders"),
        ("sami", "Sámi herders"),
        ("Guantánamo", "GUANTANAMO BAY"),
        ("Māori", "Maori land"),
        ("Métis", "METIS Nation"),
        ("défense", "Défense des droits"),
        ("straße", "STRASSE"),
        ("Wet'suwet'en", "Wet’suwet’en land defenders"),
    ],
)
def test_keyword_ignores_case_and_accents(keyword: str, text: str) -> None:
    """Keywords match whatever the case and accents on either side."""
    assert _matches(keyword, text) is True


# -- phrases -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "text", "expected"),
    [
        ("enforced disappearance", "an enforced disappearance", True),
        ("enforced disappearance", "Enforced   Disappearance", True),
        ("enforced disappearance", "enforced\ndisappearance", True),
        ("enforced disappearance", "enforced-disappearance", True),
        ("enforced disappearance", "enforced the disappearance", False),
        ("enforced disappearance", "disappearance enforced", False),
        ("enforced disappearance", "unenforced disappearances", False),
        ("ill-treatment", "ill treatment", True),
        ("ill-treatment", "Ill–Treatment", True),
        ("cruel, inhuman or degrading", "cruel inhuman or degrading treatment", True),
        ("cruel, inhuman or degrading", "cruel, inhuman, degrading", False),
        (
            "missing and murdered Indigenous women",
            "Justice for missing and murdered indigenous women and girls",
            True,
        ),
        ("women's rights", "women’s rights defenders", True),
        ("women's rights", "womens rights", False),
    ],
)
def test_phrase_matches_words_in_order_across_any_separators(
    phrase: str, text: str, expected: bool
) -> None:
    """A phrase matches its words in order, separated by any run of spaces or punctuation."""
    assert _matches(phrase, text) == expected


def test_phrase_does_not_span_title_and_summary() -> None:
    """A phrase split between the end of the title and the start of the summary is no match."""
    assert (
        _matches("enforced disappearance", "Families fear an enforced", "disappearance") is False
    )


# -- prefixes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "text", "expected"),
    [
        ("tortur*", "torture", True),
        ("tortur*", "They were Tortured", True),
        ("tortur*", "torturers", True),
        ("tortur*", "torturing", True),
        ("tortur*", "tortur", True),
        ("tortur*", "tortoise", False),
        ("tortur*", "distorture", False),
        ("tortur*", "tort", False),
        ("enforced disappear*", "enforced disappearances", True),
        ("enforced disappear*", "enforced disappeared", True),
        ("enforced disappear*", "disappeared", False),
        ("enforced disappear*", "enforced reappearance", False),
    ],
)
def test_wildcard_matches_word_starts(keyword: str, text: str, expected: bool) -> None:
    """A trailing '*' matches any word that starts with the rest, at a word boundary."""
    assert _matches(keyword, text) == expected


def test_nested_wildcards_all_match() -> None:
    """Wildcards, words and phrases sharing a prefix all match the same word."""
    matcher = TopicMatcher(
        [
            _topic(1, keywords=("tort*",)),
            _topic(2, keywords=("tortur*",)),
            _topic(3, keywords=("torture",)),
            _topic(4, keywords=("torture victim*",)),
            _topic(5, keywords=("torturer",)),
        ]
    )
    assert matcher.match(_entry("Torture victims testify")) == frozenset({1, 2, 3, 4})


# -- overlapping keywords ------------------------------------------------------------------


def test_overlapping_keywords_all_match() -> None:
    """Keywords inside other keywords match along with them."""
    matcher = TopicMatcher(
        [
            _topic(1, keywords=("rights",)),
            _topic(2, keywords=("human rights",)),
            _topic(3, keywords=("human rights defenders",)),
            _topic(4, keywords=("women",)),
            _topic(5, keywords=("women's rights",)),
            _topic(6, keywords=("rights defenders",)),
        ]
    )
    entry = _entry("Human rights defenders and women’s rights")
    assert matcher.match(entry) == frozenset({1, 2, 3, 4, 5, 6})


def test_longer_phrase_that_fails_leaves_shorter_ones() -> None:
    """A longer phrase that stops matching part-way does not hide the shorter ones."""
    matcher = TopicMatcher(
        [
            _topic(1, keywords=("human rights watch",)),
            _topic(2, keywords=("human rights",)),
            _topic(3, keywords=("rights",)),
        ]
    )
    assert matcher.match(_entry("Human rights are universal")) == frozenset({2, 3})


def test_phrase_after_a_repeated_first_word_matches() -> None:
    """A phrase is found when its first word also occurs just before it."""
    assert _matches("human rights", "Human, human rights!") is True


def test_phrases_overlapping_in_the_middle_both_match() -> None:
    """Two phrases sharing words in the middle of the text both match."""
    matcher = TopicMatcher(
        [_topic(1, keywords=("death penalty",)), _topic(2, keywords=("penalty abolition",))]
    )
    assert matcher.match(_entry("Death penalty abolition now")) == frozenset({1, 2})


def test_shared_keyword_matches_every_topic_listing_it() -> None:
    """The same keyword in several topics selects all of them."""
    matcher = TopicMatcher(
        [_topic(1, keywords=("Torture",)), _topic(2, keywords=("torture", "letters"))]
    )
    assert matcher.match(_entry("torture")) == frozenset({1, 2})


def test_word_is_not_its_longer_relatives() -> None:
    """A keyword does not match a longer word that starts with it, nor the other way round."""
    matcher = TopicMatcher([_topic(1, keywords=("human",)), _topic(2, keywords=("humanitarian",))])
    assert matcher.match(_entry("Humanitarian corridors")) == frozenset({2})


# -- excludes ------------------------------------------------------------------------------


def test_exclude_vetoes_a_keyword_match() -> None:
    """An exclude found in the text stops the topic matching through its keywords."""
    matcher = TopicMatcher([_topic(keywords=("match",), excludes=("football",))])
    assert matcher.match(_entry("Football match report")) == frozenset()


def test_exclude_vetoes_a_category_match() -> None:
    """An exclude found in the text stops the topic matching through its categories."""
    matcher = TopicMatcher([_topic(categories=("News",), excludes=("bake sale",))])
    entry = _entry("Office news", "A bake sale on Friday", categories=("news",))
    assert matcher.match(entry) == frozenset()


def test_exclude_vetoes_only_its_own_topic() -> None:
    """An exclude of one topic does not stop other topics matching."""
    matcher = TopicMatcher(
        [
            _topic(1, keywords=("letters",), excludes=("cover letter",)),
            _topic(2, keywords=("letters",)),
        ]
    )
    assert matcher.match(_entry("Letters wanted", "Send a cover letter")) == frozenset({2})


def test_exclude_matches_whole_words_only() -> None:
    """An exclude inside a longer word vetoes nothing."""
    matcher = TopicMatcher([_topic(keywords=("match",), excludes=("foot",))])
    assert matcher.match(_entry("Football match report")) == frozenset({1})


def test_exclude_wildcard_vetoes() -> None:
    """An exclude may end in '*' like a keyword."""
    matcher = TopicMatcher([_topic(keywords=("match",), excludes=("footbal*",))])
    assert matcher.match(_entry("Footballers match")) == frozenset()


# -- empty rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rules",
    [
        _topic(),
        _topic(categories=("", "  ", "#", "—"), keywords=("", " ", "*", "—", "' '")),
        _topic(excludes=("torture",)),
    ],
    ids=["no rules", "blank rules", "excludes only"],
)
def test_topic_without_usable_rules_never_matches(rules: TopicRules) -> None:
    """A topic with no usable category or keyword matches nothing, not even empty entries."""
    entry = _entry("Torture — ' ' *", "", categories=("", "#", "—"))
    assert TopicMatcher([rules]).match(entry) == frozenset()


def test_matcher_without_topics_matches_nothing() -> None:
    """A matcher built from no topics returns no topics."""
    assert TopicMatcher([]).match(_entry("torture")) == frozenset()


# -- many topics, many entries -------------------------------------------------------------


@pytest.mark.parametrize("build", [TopicMatcher, compile_matcher])
def test_one_call_returns_every_matching_topic(build: Builder) -> None:
    """One match call checks all topics: by category, keyword, phrase and wildcard at once."""
    matcher = build(
        [
            _topic(1, categories=("StopTorture",)),
            _topic(2, keywords=("letter",)),
            _topic(3, keywords=("land rights",)),
            _topic(4, keywords=("indigen*",)),
            _topic(5, keywords=("football",)),
        ]
    )
    entry = _entry("A letter on land rights", "Indigenous leaders", categories=("#StopTorture",))
    assert matcher.match(entry) == frozenset({1, 2, 3, 4})


def test_match_many_keeps_entry_order() -> None:
    """match_many returns one result per entry, in the entries' order."""
    matcher = TopicMatcher([_topic(1, keywords=("torture",)), _topic(2, keywords=("letters",))])
    entries = [_entry("letters"), _entry("nothing"), _entry("torture letters")]
    assert matcher.match_many(entries) == [frozenset({2}), frozenset(), frozenset({1, 2})]


# -- explain -------------------------------------------------------------------------------


def test_explain_lists_fired_rules_in_rule_order() -> None:
    """explain gives each fired rule as written, prefixed with its kind, in the topic's order."""
    matcher = TopicMatcher(
        [
            _topic(
                1,
                categories=("Torture", "Death penalty"),
                keywords=("tortur*", "torture", "ill-treatment", "waterboarding"),
            ),
            _topic(2, keywords=("letters",)),
        ]
    )
    entry = _entry("Torture and ill treatment", categories=("#torture",))
    assert matcher.explain(entry) == {
        1: ["category:Torture", "keyword:tortur*", "keyword:torture", "keyword:ill-treatment"]
    }


def test_explain_shows_the_exclude_that_vetoed() -> None:
    """A vetoed topic is explained with the exclude that stopped it."""
    matcher = TopicMatcher([_topic(1, keywords=("match",), excludes=("football",))])
    assert matcher.explain(_entry("Football match")) == {1: ["keyword:match", "exclude:football"]}


def test_explain_skips_topics_only_an_exclude_fired_for() -> None:
    """A topic whose only fired rule is an exclude is not explained."""
    matcher = TopicMatcher([_topic(1, keywords=("match",), excludes=("football",))])
    assert matcher.explain(_entry("Football season")) == {}


# -- properties ----------------------------------------------------------------------------

_WORDS = ["torture", "Sámi", "human", "rights", "women's", "İstanbul", "STRASSE", "ﬁrst"]
_PROPERTY_MATCHER = TopicMatcher(
    [
        _topic(1, keywords=("torture", "tortur*", "ill-treatment")),
        _topic(2, keywords=("human rights", "rights", "women's rights"), excludes=("first",)),
        _topic(3, keywords=("sami", "istanbul", "straße", "ſt*")),
        _topic(4, categories=("Sámi", "first")),
    ]
)
_texts = st.lists(st.one_of(st.sampled_from(_WORDS), st.text()), max_size=8).map(" ".join)


@given(
    title=st.text(),
    summary=st.text(),
    categories=st.lists(st.text(), max_size=3),
    keywords=st.lists(st.text(), max_size=5),
    excludes=st.lists(st.text(), max_size=2),
)
def test_match_never_raises(
    title: str, summary: str, categories: list[str], keywords: list[str], excludes: list[str]
) -> None:
    """Any rules compile and any entry can be matched and explained."""
    rules = _topic(
        1, categories=tuple(categories), keywords=tuple(keywords), excludes=tuple(excludes)
    )
    matcher = TopicMatcher([rules])
    entry = _entry(title, summary, tuple(categories))
    assert set(matcher.explain(entry)) >= matcher.match(entry)


@given(
    title=_texts,
    summary=_texts,
    change=st.sampled_from([str.upper, str.lower, str.swapcase, str.title, str.casefold]),
)
def test_match_ignores_letter_case(title: str, summary: str, change: Callable[[str], str]) -> None:
    """Changing the case of the title, summary and categories never changes the topics."""
    entry = _entry(title, summary, (title,))
    changed = _entry(change(title), change(summary), (change(title),))
    assert _PROPERTY_MATCHER.match(changed) == _PROPERTY_MATCHER.match(entry)


_VOCABULARY = ["tort", "torture", "Tortured", "human", "rights", "women", "s", "humanitarian"]
_SEPARATORS = [" ", ", ", "-", "’", "_", "\n", ". "]
_rules = st.builds(
    lambda words, star: " ".join(words) + ("*" if star else ""),
    st.lists(st.sampled_from(_VOCABULARY), min_size=1, max_size=3),
    st.booleans(),
)
_sentences = st.lists(
    st.tuples(st.sampled_from(_VOCABULARY), st.sampled_from(_SEPARATORS)), max_size=10
).map(lambda pairs: "".join(word + sep for word, sep in pairs))


def _oracle(topics: list[TopicRules], entry: ParsedEntry) -> frozenset[int]:
    """Match the slow, obvious way: one regex search per rule per topic."""

    def found(rule: str) -> bool:
        words, is_prefix = split_rule(rule)
        if not words:
            return False
        body = r"[\W_]+".join(map(re.escape, words))
        end = "" if is_prefix else r"(?![^\W_])"
        pattern = re.compile(r"(?<![^\W_])" + body + end)
        texts = (normalise_text(entry.title), normalise_text(entry.summary))
        return any(pattern.search(text) for text in texts)

    keys = {normalise_key(c) for c in entry.categories}
    return frozenset(
        topic.topic_id
        for topic in topics
        if (
            keys & {normalise_key(c) for c in topic.categories} - {""}
            or any(map(found, topic.keywords))
        )
        and not any(map(found, topic.excludes))
    )


@given(
    keywords=st.lists(st.lists(_rules, max_size=4), min_size=1, max_size=4),
    excludes=st.lists(_rules, max_size=2),
    title=_sentences,
    summary=_sentences,
    categories=st.lists(st.sampled_from(["#News", "news", "Other"]), max_size=2),
)
def test_match_agrees_with_per_topic_regex_search(
    keywords: list[list[str]],
    excludes: list[str],
    title: str,
    summary: str,
    categories: list[str],
) -> None:
    """The one-pass matcher finds exactly what searching each rule separately finds."""
    topics = [
        _topic(
            i,
            categories=("News",) if i % 2 else (),
            keywords=tuple(words),
            excludes=tuple(excludes[: i % 3]),
        )
        for i, words in enumerate(keywords)
    ]
    entry = _entry(title, summary, tuple(categories))
    assert TopicMatcher(topics).match(entry) == _oracle(topics, entry)
