"""What a fetched feed means for storage: edits, new posts, repeats, priming and moved URLs."""

from __future__ import annotations

import pytest

from bot.domain.ingest_policy import (
    StoragePlan,
    plan_storage,
    unique_entries,
    url_hash,
)
from bot.domain.types import ParsedEntry


def _entry(identity: str, url: str | None = None) -> ParsedEntry:
    return ParsedEntry(identity=identity, url=url, title=identity, summary="")


A = _entry("a", "https://ngo.example/a")
B = _entry("b", "https://ngo.example/b")
C = _entry("c", "https://ngo.example/c")
NO_URL = _entry("n", None)
B_MOVED = _entry("b-new-guid", "https://ngo.example/b")


@pytest.mark.parametrize(
    ("entries", "stored_ids", "stored_urls", "primed", "expected"),
    [
        ([A, B], set(), set(), False, StoragePlan((), (A, B), (), announce=False)),
        ([A, B], set(), set(), True, StoragePlan((), (A, B), (), announce=True)),
        ([A, B], {"a"}, {url_hash(A.url)}, True, StoragePlan((A,), (B,), (), announce=True)),
        (
            [B_MOVED, C],
            {"a", "b"},
            {url_hash(B.url)},
            True,
            StoragePlan((), (C,), (B_MOVED,), True),
        ),
        ([A], {"a"}, set(), True, StoragePlan((A,), (), (), announce=True)),
        ([NO_URL], set(), {url_hash(A.url)}, True, StoragePlan((), (NO_URL,), (), announce=True)),
        ([], {"a"}, set(), True, StoragePlan((), (), (), announce=True)),
    ],
    ids=[
        "first-poll-primes",
        "primed-announces",
        "known-identity-is-an-edit",
        "new-identity-known-url-is-a-repeat",
        "edit-even-if-url-unknown",
        "no-url-is-new",
        "empty-document",
    ],
)
def test_plan_storage_sorts_entries(
    entries: list[ParsedEntry],
    stored_ids: set[str],
    stored_urls: set[str],
    primed: bool,
    expected: StoragePlan,
) -> None:
    """Entries are edits, new or repeats by identity and canonical URL; priming announces none."""
    plan = plan_storage(
        entries, stored_identities=stored_ids, stored_url_hashes=stored_urls, primed=primed
    )
    assert plan == expected


def test_unique_entries_keeps_the_first_of_a_repeated_identity_or_url() -> None:
    """Within one document a repeated identity or canonical URL is dropped, first one wins."""
    again_a = _entry("a", "https://ngo.example/other")
    same_url_as_b = _entry("z", "https://ngo.example/b")
    assert unique_entries([A, B, again_a, same_url_as_b, NO_URL, _entry("m")]) == [
        A,
        B,
        NO_URL,
        _entry("m"),
    ]


def test_url_hash_is_sha256_hex_or_none() -> None:
    """The dedup key is the sha256 of the canonical URL; no URL has no key."""
    assert (url_hash(None), url_hash(""), len(url_hash("https://x.example/") or "")) == (
        None,
        None,
        64,
    )
