"""Pure rules of a bilingual organisation: feed languages, twin posts, versions per language.

The organisation speaks English and French (`LANGUAGES`), English being its main language:
the one a chat gets when its own language has no version. A feed's language comes from its
own `<language>` ("fr-CA" → "fr", "en-GB" → "en", "de" → "other"), unless an admin fixed it.

Twin posts. A bilingual organisation publishes one campaign twice, in its English feed and
in its French feed, usually minutes (sometimes a poll or two) apart, under different URLs.
Two posts are twins when

- they come from feeds of two different languages, both in `LANGUAGES`;
- they matched exactly the same topics (a non-empty set): the French keywords of a topic
  exist so that a campaign matches the same topics in either language;
- the second was first seen within the twin window (TWIN_WINDOW_MINUTES) of the first;
- neither has a twin yet (a post has at most one twin).

Among several candidates, the one whose publication time is nearest the new post's wins
(translations are published together, while two campaigns on one topic are usually days
apart), then the most recently seen.

How delivery uses it (`fan_out_plan`): a post in language L goes at once to the chats whose
language is L, and to the chats that will get no other version. A chat that could still get
its own language's version (a feed in that language exists) waits for the twin window: if
the twin arrives, the held delivery is withdrawn and the chat gets the twin instead; if not,
the chat gets this post when the window ends. A chat never gets both: the twin's fan-out
leaves out every chat that has a delivery of the first post.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "LANGUAGES",
    "MAIN_LANGUAGE",
    "OTHER",
    "FanOutPlan",
    "TwinCandidate",
    "chat_version_language",
    "choose_version",
    "fan_out_plan",
    "feed_language",
    "parse_feed_language",
    "pick_twin",
    "same_campaign",
]

# Languages with catalogs, topic names and feeds of their own; the first is the main one.
LANGUAGES = ("en", "fr")
MAIN_LANGUAGE = LANGUAGES[0]
# A feed in any other language: no twin rules apply to it.
OTHER = "other"
# What an admin types to let polls read the feed's own <language> again.
AUTO = "auto"


def feed_language(code: str | None) -> str | None:
    """The language of a feed's `<language>` value: "en", "fr", "other", or None if absent."""
    if not code or not code.strip():
        return None
    base = code.strip().replace("_", "-").split("-", 1)[0].lower()
    return base if base in LANGUAGES else OTHER


def parse_feed_language(value: str) -> str | None:
    """What an admin typed for a feed's language: a language, or None for "auto".

    Raises:
        ValueError: neither a language (en, fr, other) nor "auto".
    """
    word = value.strip().lower()
    if word == AUTO:
        return None
    if word in (*LANGUAGES, OTHER):
        return word
    raise ValueError(word)


def chat_version_language(chat_language: str | None, default: str = MAIN_LANGUAGE) -> str:
    """The language a chat reads: its own if the organisation writes in it, else the default."""
    if chat_language in LANGUAGES:
        return chat_language
    return default if default in LANGUAGES else MAIN_LANGUAGE


@dataclass(frozen=True, slots=True)
class FanOutPlan:
    """Which chat languages get a post now and which wait for its twin.

    `now` and `held` are chat languages (values of `chats.language`, after the default);
    every language in `LANGUAGES` is in exactly one of them.
    """

    now: frozenset[str]
    held: frozenset[str]


def fan_out_plan(post_language: str | None, feed_languages: Collection[str]) -> FanOutPlan:
    """Who gets a post at once and who waits for its other-language twin.

    Args:
        post_language: the post's language (its feed's), "other" or None.
        feed_languages: the languages of the organisation's active feeds.
    """
    everyone = frozenset(LANGUAGES)
    if post_language not in LANGUAGES:
        return FanOutPlan(now=everyone, held=frozenset())
    held = frozenset(
        lang for lang in LANGUAGES if lang != post_language and lang in feed_languages
    )
    # A chat whose language has no feed reads the main language: it waits only for that.
    if MAIN_LANGUAGE not in feed_languages:
        held = frozenset()
    return FanOutPlan(now=everyone - held, held=held)


def same_campaign(topics_a: Collection[int], topics_b: Collection[int]) -> bool:
    """Whether two posts' topic sets make them twins (equal and not empty)."""
    return bool(topics_a) and set(topics_a) == set(topics_b)


@dataclass(frozen=True, slots=True)
class TwinCandidate:
    """An earlier post that may be a new post's twin: its topics and publication time."""

    topics: frozenset[int]
    published: datetime | None
    seen: datetime


def pick_twin(
    topic_ids: Collection[int],
    published: datetime | None,
    candidates: Mapping[int, TwinCandidate],
) -> int | None:
    """The id of a new post's twin among `candidates`, or None (see the module docstring)."""
    matching = [(i, c) for i, c in candidates.items() if same_campaign(topic_ids, c.topics)]
    if not matching:
        return None

    def distance(item: tuple[int, TwinCandidate]) -> tuple[float, float, int]:
        post_id, candidate = item
        if published is None or candidate.published is None:
            gap = float("inf")
        else:
            gap = abs((candidate.published - published).total_seconds())
        return (gap, -candidate.seen.timestamp(), -post_id)

    return min(matching, key=distance)[0]


def choose_version(language: str | None, first: str, versions: Mapping[str, str] | None) -> str:
    """A broadcast's text for a chat: its language's version, else the one written first."""
    if language and versions and versions.get(language):
        return versions[language]
    return first
