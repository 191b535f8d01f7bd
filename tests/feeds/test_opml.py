"""The OPML reader and writer (bot.feeds.opml): pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.errors import InvalidInputError
from bot.feeds.opml import MAX_OUTLINES, OpmlFeed, parse_opml, write_opml

CREATED = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_outlines_at_any_depth_with_title_or_text() -> None:
    """Folders nest; title wins over text; duplicates count once; folders are not feeds."""
    document = b"""<?xml version="1.0"?>
    <opml version="1.0"><head><title>Mine</title></head><body>
      <outline text="News" xmlUrl="">
        <outline text="Deeper"><outline text="Deepest">
          <outline type="rss" text="A text" title="A title" xmlUrl="https://a.example/feed"
                   htmlUrl="https://a.example/" language="fr"/>
        </outline></outline>
        <outline type="atom" text="B" xmlURL="https://b.example/atom"/>
      </outline>
      <outline text="Again" xmlUrl="https://a.example/feed"/>
      <outline text="  Spaced
         name " xmlUrl="https://c.example/rss"/>
    </body></opml>"""
    assert parse_opml(document) == [
        OpmlFeed("https://a.example/feed", "A title", "https://a.example/", "fr"),
        OpmlFeed("https://b.example/atom", "B"),
        OpmlFeed("https://c.example/rss", "Spaced name"),
    ]


def test_written_document_is_opml_2_and_reads_back() -> None:
    """head/title/dateCreated, one rss outline per feed, markup in names escaped."""
    feeds = [
        OpmlFeed(
            "https://a.example/feed?x=1&y=2", "Rights & <wrongs>", "https://a.example/", "en"
        ),
        OpmlFeed("https://b.example/feed"),
    ]
    document = write_opml(feeds, title="Campaign Action Bot feeds", created=CREATED)
    assert (
        document.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<opml version=\"2.0\">"),
        b"<dateCreated>Mon, 30 Nov 2026 12:00:00 +0000</dateCreated>" in document,
        b'text="Rights &amp; &lt;wrongs&gt;"' in document,
        parse_opml(document),
    ) == (True, True, True, feeds)


def test_quadratic_blowup_refused() -> None:
    """One big entity used many times (no nesting) is refused like a billion laughs."""
    entity = "x" * 10_000
    document = (
        f'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY e "{entity}">]>'
        f'<opml><body><outline text="{"&e;" * 1000}" xmlUrl="https://a.example/"/></body></opml>'
    ).encode()
    with pytest.raises(InvalidInputError, match="entities"):
        parse_opml(document)


def test_external_entity_refused() -> None:
    """An external entity (a local file's content) is never read."""
    document = (
        b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<opml><body><outline text="&x;" xmlUrl="https://a.example/"/></body></opml>'
    )
    with pytest.raises(InvalidInputError, match="entities"):
        parse_opml(document)


def opml(*outlines: str, root: str = "opml") -> bytes:
    """An OPML document whose body holds these outline elements."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><{root} version="2.0"><head><title>x</title>'
        f"</head><body>{''.join(outlines)}</body></{root}>"
    ).encode()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<opml version="2.0"><body><outline text="&lol3;" xmlUrl="http://127.0.0.1/&lol3;"/></body></opml>"""


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(
            b"just some text, not XML", "the file is not XML (line 1, column 0)", id="not-xml"
        ),
        pytest.param(
            BILLION_LAUGHS,
            "the file declares XML entities or a DTD, which OPML never needs",
            id="billion-laughs",
        ),
        pytest.param(
            opml('<outline text="Empty folder"/>'),
            "the OPML file lists no feeds (no outline has an xmlUrl)",
            id="no-outlines",
        ),
        pytest.param(
            opml(root="rss"), "the file is not OPML: its root element is <rss>", id="wrong-root"
        ),
        pytest.param(b"<opml><head/></opml>", "the OPML file has no <body>", id="no-body"),
        pytest.param(
            opml(*['<outline text="x"/>'] * (MAX_OUTLINES + 1)),
            "the file has more than 10000 outlines",
            id="too-many",
        ),
        pytest.param(
            b"<opml>" + b" " * (5 * 1024 * 1024) + b"</opml>",
            "the file is larger than 5 MB",
            id="too-large",
        ),
    ],
)
def test_broken_file_gets_one_clear_reason(content: bytes, reason: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        parse_opml(content)
    assert str(raised.value) == reason
