"""Feed languages, the twin fan-out plan and broadcast versions (bot.domain.languages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.languages import (
    TwinCandidate,
    chat_version_language,
    choose_version,
    fan_out_plan,
    feed_language,
    parse_feed_language,
    pick_twin,
    same_campaign,
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("fr-CA", "fr"),
        ("fr", "fr"),
        ("FR_fr", "fr"),
        ("en-GB", "en"),
        (" en ", "en"),
        ("de", "other"),
        ("", None),
        (None, None),
        ("   ", None),
    ],
)
def test_feed_language_reads_the_base_language(code: str | None, expected: str | None) -> None:
    """A feed's <language> gives en, fr, other, or None when absent."""
    assert feed_language(code) == expected


def test_parse_feed_language_accepts_languages_and_auto() -> None:
    """What admins type: en, fr, other, or auto (None: read from the feed)."""
    assert [parse_feed_language(v) for v in ("EN", " fr", "other", "Auto")] == [
        "en",
        "fr",
        "other",
        None,
    ]
    with pytest.raises(ValueError, match="english"):
        parse_feed_language("english")


def test_chat_version_language_falls_back_to_the_main_language() -> None:
    """A chat reads its own language if the organisation writes in it, else English."""
    assert [chat_version_language(v) for v in ("fr", "en", None, "de")] == ["fr", "en", "en", "en"]


def test_chat_version_language_falls_back_to_the_default_language() -> None:
    """With DEFAULT_LANGUAGE=fr a chat without a language of ours reads French."""
    assert [chat_version_language(v, "fr") for v in ("fr", "en", None, "de")] == [
        "fr",
        "en",
        "fr",
        "fr",
    ]
    assert chat_version_language(None, "de") == "en"  # never a language we do not write


def test_plan_holds_the_other_language_when_both_feeds_exist() -> None:
    """An English post goes now to English chats; French chats wait for the French twin."""
    plan = fan_out_plan("en", {"en", "fr"})
    assert (plan.now, plan.held) == ({"en"}, {"fr"})
    plan = fan_out_plan("fr", {"en", "fr", "other"})
    assert (plan.now, plan.held) == ({"fr"}, {"en"})


@pytest.mark.parametrize(
    ("language", "feeds"),
    [("en", {"en"}), ("fr", {"fr"}), ("other", {"en", "fr"}), (None, {"en", "fr"})],
)
def test_plan_sends_everyone_now_without_a_possible_twin(
    language: str | None, feeds: set[str]
) -> None:
    """One language only, or a post of no known language: nobody waits."""
    plan = fan_out_plan(language, feeds)
    assert (plan.now, plan.held) == ({"en", "fr"}, set())


def test_same_campaign_needs_equal_nonempty_topic_sets() -> None:
    """Twins matched exactly the same topics, at least one."""
    assert same_campaign([1, 2], {2, 1})
    assert not same_campaign([1], {1, 2})
    assert not same_campaign([], set())


def test_choose_version_falls_back_to_the_first() -> None:
    """A chat gets its language's version, else the one written first."""
    assert choose_version("fr", "<b>EN</b>", {"fr": "<b>FR</b>"}) == "<b>FR</b>"
    assert choose_version("en", "<b>EN</b>", {"fr": "<b>FR</b>"}) == "<b>EN</b>"
    assert choose_version("fr", "<b>EN</b>", None) == "<b>EN</b>"
    assert choose_version("fr", "<b>EN</b>", {"fr": ""}) == "<b>EN</b>"


T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


def test_pick_twin_prefers_the_nearest_publication_time() -> None:
    """Two English posts on the same topic: the French one pairs with the one published
    with it, not the campaign of two days before; other topic sets never pair."""
    candidates = {
        1: TwinCandidate(frozenset({7}), T0 - timedelta(days=2), T0),
        2: TwinCandidate(frozenset({7}), T0 - timedelta(minutes=3), T0),
        3: TwinCandidate(frozenset({7, 8}), T0, T0),
    }
    assert pick_twin([7], T0, candidates) == 2
    assert pick_twin([8], T0, candidates) is None
    assert pick_twin([8, 7], T0 + timedelta(days=1), candidates) == 3


def test_pick_twin_without_dates_takes_the_most_recently_seen() -> None:
    """Feeds without dates: the latest seen candidate, then the highest id."""
    candidates = {
        1: TwinCandidate(frozenset({7}), None, T0 - timedelta(minutes=20)),
        2: TwinCandidate(frozenset({7}), None, T0 - timedelta(minutes=5)),
        3: TwinCandidate(frozenset({7}), None, T0 - timedelta(minutes=20)),
    }
    assert pick_twin([7], None, candidates) == 2
    del candidates[2]
    assert pick_twin([7], T0, candidates) == 3
