"""Folding text into search words: accents, case and punctuation never matter."""

from __future__ import annotations

import pytest

from bot.domain.search import fts5_match, query_terms, search_text, tsquery, words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Écrire", ["ecrire"]),
        ("TORTURE", ["torture"]),
        ("Straße", ["strasse"]),
        ("Œuvre, Æsop; Ørsted", ["oeuvre", "aesop", "orsted"]),
        ("l'ONU — c'est-à-dire", ["l", "onu", "c", "est", "a", "dire"]),
        ("snake_case & <b>", ["snake", "case", "b"]),
        ("Пытки", ["пытки"]),
        ("ﬁn ①", ["fin", "1"]),
        ("x" * 101 + " kept", ["kept"]),
    ],
)
def test_words_fold_accents_case_and_punctuation(text: str, expected: list[str]) -> None:
    """Words are letters and digits, without accents, case-folded."""
    assert words(text) == expected


def test_search_text_joins_title_and_summary() -> None:
    """A post's search text is its title's words, then its summary's, one space apart."""
    assert search_text("Écrire!", "Pour  les droits.") == "ecrire pour les droits"


def test_query_terms_are_distinct_in_order() -> None:
    """Repeated words count once; order is kept (the last is the prefix)."""
    assert query_terms("Torture torture ÉCRIRE") == ("torture", "ecrire")


def test_match_expressions_prefix_the_last_term() -> None:
    """FTS5 and tsquery texts ask for every term, the last also as a prefix."""
    assert (fts5_match(("a", "bc")), tsquery(("a", "bc"))) == ('"a" AND "bc"*', "'a' & 'bc':*")
