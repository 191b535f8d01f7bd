"""Sweep the feed corpus (tests/data/corpus) through parse_feed.

Every file must give a ParsedFeed with well-formed entries or raise FeedParseError, nothing
else; then targeted checks on the files the corpus README picks out (sanitisation, entities,
encodings, dedupe keys, dates) and the real feeds' entry counts. The corpus README, LICENSE
and SOURCES.md files say where each document comes from and under which licence.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain.types import ParsedEntry, ParsedFeed
from bot.errors import FeedParseError
from bot.feeds.parse import parse_feed

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
FEEDPARSER_TESTS = CORPUS / "feedparser-tests"
REAL_FEEDS = CORPUS / "real-feeds"

# Later than every date in the corpus (the newest is 2026-07-17), so none is "in the future".
NOW = datetime(2026, 8, 1, tzinfo=UTC)


def _is_data(path: Path) -> bool:
    """Tell whether a corpus file is a feed document rather than documentation or a license."""
    return (
        path.is_file()
        and path.suffix not in (".md", ".txt")
        and path.name != "MANIFEST.json"
        and not path.name.startswith("LICENSE")
    )


def _corpus_files() -> list[Path]:
    """Return every feed document of the corpus, sorted."""
    roots = (FEEDPARSER_TESTS / "tests", REAL_FEEDS)
    return sorted(path for root in roots for path in root.rglob("*") if _is_data(path))


def _manifest() -> dict[str, dict[str, Any]]:
    """Return MANIFEST.json's records by path (relative to feedparser-tests/)."""
    path = FEEDPARSER_TESTS / "MANIFEST.json"
    return {record["path"]: record for record in json.loads(path.read_text(encoding="utf-8"))}


FILES = _corpus_files()
MANIFEST = _manifest()


def _selected_for(prefix: str) -> list[Path]:
    """Return the feedparser-tests files whose MANIFEST `selected_for` starts with `prefix`."""
    return sorted(
        FEEDPARSER_TESTS / path
        for path, record in MANIFEST.items()
        if str(record["selected_for"]).startswith(prefix)
    )


def _name(path: Path) -> str:
    """Return a short test id: the path inside the corpus."""
    return path.relative_to(CORPUS).as_posix()


def _url(path: Path) -> str:
    """Return the URL the file is "fetched" from (feedparser's own harness uses this one)."""
    return f"http://127.0.0.1:8097/{_name(path)}"


def _content_type(path: Path) -> str | None:
    """Return the Content-Type header an HTTP-style feedparser test comes with, if any."""
    if FEEDPARSER_TESTS not in path.parents:
        return None
    record = MANIFEST.get(path.relative_to(FEEDPARSER_TESTS).as_posix(), {})
    content_type: str | None = (record.get("http_headers") or {}).get("Content-type")
    return content_type


def _parse(path: Path) -> ParsedFeed | FeedParseError:
    """Parse a corpus file afresh; FeedParseError is returned, anything else propagates."""
    try:
        return parse_feed(
            path.read_bytes(), url=_url(path), content_type=_content_type(path), now=NOW
        )
    except FeedParseError as exc:
        return exc


@functools.cache
def _outcome(path: Path) -> ParsedFeed | FeedParseError:
    """Parse a corpus file once per test session."""
    return _parse(path)


def _entries(path: Path) -> tuple[ParsedEntry, ...]:
    """Return a file's entries; none when it raised FeedParseError."""
    outcome = _outcome(path)
    return outcome.entries if isinstance(outcome, ParsedFeed) else ()


def _texts(path: Path) -> list[str]:
    """Return every piece of text the parser made of a file."""
    outcome = _outcome(path)
    if not isinstance(outcome, ParsedFeed):
        return []
    texts = [outcome.title or "", outcome.site_url or ""]
    for entry in outcome.entries:
        texts += [entry.title, entry.summary, entry.url or "", entry.image_url or ""]
        texts += [entry.author or "", *entry.categories]
    return texts


def _real(name: str) -> Path:
    """Return the real feed whose file name starts with `name`."""
    (path,) = REAL_FEEDS.glob(f"{name}*")
    return path


# -- every file -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_corpus_file_gives_a_feed_or_feed_parse_error(path: Path) -> None:
    """parse_feed returns a ParsedFeed or raises FeedParseError; nothing else escapes."""
    assert isinstance(_outcome(path), ParsedFeed | FeedParseError)


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_corpus_entries_have_identity_and_title(path: Path) -> None:
    """Every entry has a non-empty identity and a non-empty title."""
    assert [e for e in _entries(path) if not (e.identity.strip() and e.title.strip())] == []


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_corpus_entry_urls_are_http_or_none(path: Path) -> None:
    """Every entry url and image_url is None or an absolute http(s) URL."""
    urls = [url for e in _entries(path) for url in (e.url, e.image_url) if url is not None]

    assert [url for url in urls if not re.match(r"https?://[^/\s]+/", url)] == []


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_corpus_entry_dates_are_aware_utc_or_none(path: Path) -> None:
    """Every entry's published date is None or aware UTC."""
    dates = [e.published for e in _entries(path) if e.published is not None]

    assert [d for d in dates if d.tzinfo is not UTC] == []


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_corpus_identities_are_stable(path: Path) -> None:
    """Parsing the same bytes again gives the same identities, so a re-poll finds nothing new."""
    again = _parse(path)
    identities = [e.identity for e in again.entries] if isinstance(again, ParsedFeed) else []

    assert identities == [e.identity for e in _entries(path)]


def test_corpus_sweep_covers_the_whole_corpus() -> None:
    """The sweep sees the 400 feedparser test documents and the 26 real feeds."""
    real = sum(1 for path in FILES if REAL_FEEDS in path.parents)

    assert (len(FILES) - real, real) == (400, 26)


def test_corpus_sweep_outcomes() -> None:
    """Across the corpus: 418 feeds with 1008 entries, 8 documents rejected."""
    outcomes = [_outcome(path) for path in FILES]
    feeds = [outcome for outcome in outcomes if isinstance(outcome, ParsedFeed)]

    assert (len(feeds), sum(len(feed.entries) for feed in feeds)) == (418, 1008)


# -- sanitisation and entities --------------------------------------------------------------


@pytest.mark.parametrize("path", _selected_for("sanitize"), ids=_name)
def test_corpus_sanitize_files_give_no_active_content(path: Path) -> None:
    """No text from a sanitize-* file holds `<script`, `javascript:`, `onerror=` or `<iframe`."""
    active = re.compile(r"<script|javascript:|onerror=|<iframe", re.IGNORECASE)

    assert [text for text in _texts(path) if active.search(text)] == []


@pytest.mark.parametrize("path", _selected_for("entities"), ids=_name)
def test_corpus_entities_files_give_no_entity_names(path: Path) -> None:
    """No text from an entities file holds a literal `&name;`."""
    assert [text for text in _texts(path) if re.search(r"&[A-Za-z][A-Za-z0-9]*;", text)] == []


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("hellip", "testing … entity"),
        ("eacute", "testing é entity"),
        ("euro", "testing € entity"),
        ("nbsp", "testing entity"),
        ("zwnj", "testing entity"),
        ("shy", "testing entity"),
        ("rlm", "testing \u200f entity"),
    ],
)
def test_corpus_entity_becomes_its_character(name: str, title: str) -> None:
    """An HTML entity in a feed title becomes the character (or goes, if it is invisible)."""
    outcome = _outcome(FEEDPARSER_TESTS / "tests" / "entities" / f"{name}.xml")

    assert getattr(outcome, "title", None) == title


# -- encodings ------------------------------------------------------------------------------


def test_uol_titles_have_no_replacement_character() -> None:
    """UOL's undeclared Latin-1 is decoded as cp1252: no U+FFFD in any title."""
    titles = [entry.title for entry in _entries(_real("uol-com-br"))]

    assert [title for title in titles if "\ufffd" in title] == []


@pytest.mark.parametrize(
    ("name", "title"),
    [
        pytest.param(
            "uol-com-br",
            "Ibope: Bolsonaro perde de Haddad, Ciro e Alckmin em simulações de 2º turno",
            id="uol-latin1-undeclared",
        ),
        pytest.param(
            "jn-pt", "Mãe de utente é a nova presidente da Raríssimas", id="jn-pt-iso-8859-1"
        ),
    ],
)
def test_real_feed_first_title_is_correct_unicode(name: str, title: str) -> None:
    """Feeds in ISO-8859-1, declared or not, give their titles as proper Unicode."""
    assert _entries(_real(name))[0].title == title


def test_korean_feed_title_is_correct_unicode() -> None:
    """The Korean ministry's channel title comes out in Hangul."""
    outcome = _outcome(_real("mofa-go-kr"))

    assert getattr(outcome, "title", None) == "영문대표홈페이지 > Press > Press Releases"


# -- dedupe keys and dates ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["jn-pt", "mofa-go-kr", "uol-com-br"])
def test_real_feed_without_guid_has_distinct_identities(name: str) -> None:
    """A feed with no guids still gives each entry its own non-empty identity."""
    identities = [entry.identity for entry in _entries(_real(name))]

    assert len(set(identities)) == len(identities) > 0


def test_feedburner_feed_without_guid_uses_the_original_link() -> None:
    """jn.pt items have no guid: the identity is FeedBurner's origLink, not its redirector."""
    entries = _entries(_real("jn-pt"))

    assert [e.identity for e in entries if not e.identity.startswith("https://www.jn.pt/")] == []


@pytest.mark.parametrize("name", ["amnesty-org", "hrw-org"])
def test_not_a_real_date_gives_no_published(name: str) -> None:
    """The fixture item dated `not-a-real-date` has published None; the others have a date."""
    undated = [e.title for e in _entries(_real(name)) if e.published is None]

    assert undated == ["Fixture: item with malformed pubDate for skip testing"]


def test_uol_portuguese_dates_give_no_published() -> None:
    """UOL's Portuguese dates (`Seg, 24 Set 2018`) are not parsed: published is None."""
    assert {entry.published for entry in _entries(_real("uol-com-br"))} == {None}


def test_amnesty_guids_are_kept_verbatim() -> None:
    """Amnesty's isPermaLink="false" guids (`?p=NNN`) are the identities, not the links."""
    identities = [entry.identity for entry in _entries(_real("amnesty-org"))]

    assert identities[:2] == [
        "https://www.amnesty.org/en/?p=240632",
        "https://www.amnesty.org/en/?p=240715",
    ]


# -- real feeds: counts ---------------------------------------------------------------------

# Entry counts equal feedparser's in SOURCES.md for every file it reads. Category counts equal
# its tag counts except where an entry repeats a tag in another case ("Ecology"/"ecology"):
# oceanbites 120 -> 113, foolcontrol 154 -> 153, telescoper 79 -> 78. Amnesty's taxonomy is in
# its own `amn:` namespace, which is not read, so it has none.
REAL_FEED_COUNTS = [
    ("aljazeera-com", 25, 25),
    ("allafrica-com", 32, 150),
    ("amnesty-org", 7, 0),
    ("blogger_realphysics", 25, 33),
    ("chesterton-org", 101, 125),
    ("collectiveaction-tech", 10, 70),
    ("davidbau-com", 15, 0),
    ("dw-com", 141, 141),
    ("economist-com", 300, 0),
    ("foodinjars-com", 12, 23),
    ("foolcontrol-org", 10, 153),
    ("foreignpolicy-com", 25, 182),
    ("hrw-org", 5, 0),
    ("jn-pt", 40, 40),
    ("mofa-go-kr", 3, 0),
    ("nws-cap", 1, 0),
    ("oceanbites-org", 20, 113),
    ("openstreetmap-pl", 8, 9),
    ("restofworld-org", 12, 0),
    ("rotoauthority", 10, 17),
    ("techcrunch", 20, 63),
    ("telescoper-blog", 10, 78),
    ("tenderlovemaking", 10, 18),
    ("uol-com-br", 15, 0),
]


@pytest.mark.parametrize(("name", "entries", "categories"), REAL_FEED_COUNTS)
def test_real_feed_counts(name: str, entries: int, categories: int) -> None:
    """Each real feed gives the expected number of entries and categories."""
    parsed = _entries(_real(name))

    assert (len(parsed), sum(len(e.categories) for e in parsed)) == (entries, categories)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(
            "dylanharris-org",
            "not a well-formed feed: not well-formed (invalid token) near line 4",
            id="malformed",
        ),
        pytest.param(
            "humanwhocodes-com",
            "this is a JSON document; JSON Feed is not supported",
            id="json-feed",
        ),
    ],
)
def test_real_feed_that_feedparser_cannot_read_is_rejected(name: str, message: str) -> None:
    """The malformed dylanharris.org feed and the JSON Feed raise FeedParseError, saying why."""
    outcome = _outcome(_real(name))

    assert getattr(outcome, "message", None) == message


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("openstreetmap-pl", "unclosed CDATA section near line 281"),
        ("uol-com-br", "document declared as utf-8, but parsed as windows-1252"),
        ("techcrunch", "XML or text declaration not at start of entity near line 3"),
        ("aljazeera-com", None),
    ],
)
def test_real_feed_bozo_reason(name: str, reason: str | None) -> None:
    """A real feed that is not well-formed but has entries says why; a clean one does not."""
    outcome = _outcome(_real(name))

    assert isinstance(outcome, ParsedFeed)
    assert outcome.bozo_reason == reason
