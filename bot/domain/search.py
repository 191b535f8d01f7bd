"""Full-text search, the pure part: how text is folded into search words.

Folded the same way for stored posts and for queries, on SQLite (FTS5) and PostgreSQL
(tsvector) alike.

Both databases index `posts.search_text`, which holds the post's title and summary as folded
words separated by single spaces (computed here at ingest): accents removed (NFKD, combining
marks dropped), case folded, split on anything that is not a letter or digit. Because every
word is plain letters and digits, PostgreSQL's 'simple' parser and SQLite's unicode61
tokenizer both see exactly these words, so one query finds the same posts on both.
No I/O.
"""

from __future__ import annotations

import re
import unicodedata

# A word longer than this is dropped from the index and from queries alike (PostgreSQL
# refuses to index words over 2047 bytes; nobody searches for such a word).
MAX_WORD_CHARS = 100
# A query's folded words, joined by spaces, fit this many bytes (they travel in the 64-byte
# callback data of /search's ◀ ▶ buttons); a longer query is refused with the usage.
MAX_QUERY_BYTES = 50
# A raw query longer than this is refused before folding.
MAX_QUERY_CHARS = 200
# At most this many words are searched for.
MAX_QUERY_WORDS = 8

_WORD = re.compile(r"[^\W_]+")
# Letters that carry no separable accent and so survive NFKD (after case folding).
_LETTERS = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "ı": "i"})


def fold(text: str) -> str:
    """`text` without accents, case-folded ("Écrire" -> "ecrire", "Straße" -> "strasse")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LETTERS))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped.casefold())


def words(text: str) -> list[str]:
    """The folded words of `text`, in order (duplicates kept)."""
    return [w for w in _WORD.findall(fold(text)) if len(w) <= MAX_WORD_CHARS]


def search_text(title: str, summary: str) -> str:
    """What a post's `search_text` column holds: its title's and summary's folded words."""
    return " ".join(words(f"{title}\n{summary}"))


def query_terms(query: str) -> tuple[str, ...] | None:
    """The words a search looks for (all must match; the last as a prefix too).

    Returns:
        The distinct folded words in order, or None when the query has no word, more than
        MAX_QUERY_WORDS words, or is longer than MAX_QUERY_CHARS / MAX_QUERY_BYTES.
    """
    if len(query) > MAX_QUERY_CHARS:
        return None
    found: list[str] = []
    for word in words(query):
        if word not in found:
            found.append(word)
    if not found or len(found) > MAX_QUERY_WORDS:
        return None
    if len(" ".join(found).encode("utf-8")) > MAX_QUERY_BYTES:
        return None
    return tuple(found)


def fts5_match(terms: tuple[str, ...]) -> str:
    """The FTS5 MATCH expression: every term, the last one also as a prefix."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
    quoted[-1] += "*"
    return " AND ".join(quoted)


def tsquery(terms: tuple[str, ...]) -> str:
    """The PostgreSQL to_tsquery('simple', …) text: every term, the last one also as a prefix."""
    quoted = ["'" + t.replace("'", "''").replace("\\", "\\\\") + "'" for t in terms]
    quoted[-1] += ":*"
    return " & ".join(quoted)
