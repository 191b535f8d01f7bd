"""Pure ingest policy: what a fetched feed means for storage.

`plan_storage` sorts a document's entries into edits of stored posts, new posts and repeats of a
URL stored elsewhere, and says whether the new ones are announced (not on a feed's first poll).
`bot.services.ingest` asks the database the questions (which identities and URLs are known)
and carries the plan out. No I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from bot.domain.types import ParsedEntry


def url_hash(url: str | None) -> str | None:
    """The dedup key of a canonical URL (sha256, hex)."""
    if not url:
        return None
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def unique_entries(entries: Sequence[ParsedEntry]) -> list[ParsedEntry]:
    """Drop repeated identities and repeated canonical URLs within one document (first wins)."""
    seen_ids: set[str] = set()
    seen_urls: set[str] = set()
    unique = []
    for entry in entries:
        if entry.identity in seen_ids or (entry.url is not None and entry.url in seen_urls):
            continue
        seen_ids.add(entry.identity)
        if entry.url is not None:
            seen_urls.add(entry.url)
        unique.append(entry)
    return unique


@dataclass(frozen=True, slots=True)
class StoragePlan:
    """What to store from one fetched document.

    Attributes:
        edits: Entries whose identity this feed already stored: update the post, never announce.
        new: Entries to insert as posts.
        repeats: New identities whose canonical URL is stored already (any feed): skipped.
        announce: Whether the new posts are announced (False on a feed's first poll: priming).
    """

    edits: tuple[ParsedEntry, ...]
    new: tuple[ParsedEntry, ...]
    repeats: tuple[ParsedEntry, ...]
    announce: bool


def plan_storage(
    entries: Sequence[ParsedEntry],
    *,
    stored_identities: Collection[str],
    stored_url_hashes: Collection[str],
    primed: bool,
) -> StoragePlan:
    """Sort `entries` (already unique within the document) into edits, new posts and repeats.

    Args:
        entries: The document's entries, in document order.
        stored_identities: Identities this feed has stored posts for.
        stored_url_hashes: `url_hash` of canonical URLs stored for any post, any feed.
        primed: Whether the feed was polled successfully before.
    """
    edits: list[ParsedEntry] = []
    new: list[ParsedEntry] = []
    repeats: list[ParsedEntry] = []
    for entry in entries:
        if entry.identity in stored_identities:
            edits.append(entry)
        elif url_hash(entry.url) in stored_url_hashes:
            repeats.append(entry)
        else:
            new.append(entry)
    return StoragePlan(tuple(edits), tuple(new), tuple(repeats), announce=primed)
