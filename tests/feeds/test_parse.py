"""Tests for bot.feeds.parse: golden feeds, normalisation rules, errors, and properties."""

from __future__ import annotations

import hashlib
import re
import runpy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.types import ParsedEntry, ParsedFeed
from bot.errors import FeedParseError
from bot.feeds import parse
from bot.feeds.parse import canonical_url, find_feed_links, html_to_text, parse_feed

DATA = Path(__file__).resolve().parents[1] / "data" / "feeds"
GOLDEN = sorted(path for path in DATA.iterdir() if path.suffix != ".py")

# Property tests check correctness, not speed; a loaded CI machine must not make them flaky.
NO_DEADLINE = settings(deadline=None)

NOW = datetime(2026, 7, 20, 12, 0, tzinfo=UTC)
URL = "https://campaign.example.org/blog/feed/"

NAMESPACES = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"'
)


def rss(items: str = "", channel: str = "<title>Feed</title>") -> bytes:
    """Return an RSS 2.0 document with the given channel elements and items."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" {NAMESPACES}>'
        f"<channel>{channel}{items}</channel></rss>"
    ).encode()


def parse_item(item: str) -> ParsedEntry:
    """Parse a one-item RSS feed and return its entry."""
    (entry,) = parse_feed(rss(f"<item>{item}</item>"), url=URL, now=NOW).entries
    return entry


def parse_titled_item(item: str) -> ParsedEntry:
    """Parse a one-item RSS feed whose item has a title (else it may be empty) and the rest."""
    return parse_item(f"<title>t</title>{item}")


def content(html: str) -> str:
    """Return a content:encoded element holding `html`."""
    return f"<content:encoded><![CDATA[{html}]]></content:encoded>"


def sha256(text: str) -> str:
    """Return the identity the parser gives an entry hashed from `text`."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# -- golden feeds ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", GOLDEN, ids=lambda path: path.name)
def test_parse_feed_matches_golden_file(path: Path) -> None:
    """Each file in tests/data/feeds parses to the ParsedFeed in its companion .py file."""
    expected = runpy.run_path(str(path) + ".py")

    actual = parse_feed(
        path.read_bytes(), url=expected["url"], content_type=expected.get("content_type"), now=NOW
    )

    assert actual == expected["feed"]


def test_every_golden_file_has_an_expectation() -> None:
    """No fixture in tests/data/feeds lacks its expected-result file, and vice versa."""
    expectations = sorted(path.with_suffix("") for path in DATA.glob("*.py"))

    assert expectations == GOLDEN


# -- canonical_url --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://example.org/a", None, "https://example.org/a"),
        ("HTTPS://Example.ORG/Path", None, "https://example.org/Path"),
        ("http://example.org:80/a", None, "http://example.org/a"),
        ("https://example.org:443/a", None, "https://example.org/a"),
        ("https://example.org:8443/a", None, "https://example.org:8443/a"),
        ("http://example.org:443/a", None, "http://example.org:443/a"),
        ("http://example.org:/a", None, "http://example.org/a"),
        ("https://example.org/a#comments", None, "https://example.org/a"),
        (
            "https://example.org/a?utm_source=x&b=2&utm_medium=y&a=1",
            None,
            "https://example.org/a?b=2&a=1",
        ),
        ("https://example.org/a?UTM_Source=x", None, "https://example.org/a"),
        ("https://example.org/a?utmost=1", None, "https://example.org/a?utmost=1"),
        ("https://example.org/a?q=caf%C3%A9&&x", None, "https://example.org/a?q=caf%C3%A9&x"),
        ("https://example.org", None, "https://example.org/"),
        ("https://example.org/a b?q=x y", None, "https://example.org/a%20b?q=x%20y"),
        ("  https://example.org/a\n", None, "https://example.org/a"),
        ("https://user:pw@Example.org/", None, "https://user:pw@example.org/"),
        ("http://[2001:DB8::1]:80/a", None, "http://[2001:db8::1]/a"),
        ("post/1", "https://example.org/blog/feed", "https://example.org/blog/post/1"),
        ("/post/1", "https://example.org/blog/feed", "https://example.org/post/1"),
        ("//cdn.example.net/x.png", "https://example.org/feed", "https://cdn.example.net/x.png"),
        ("https://other.example/a", "https://example.org/feed", "https://other.example/a"),
    ],
)
def test_canonical_url_normalises(url: str, base: str | None, expected: str) -> None:
    """Links are resolved and normalised: case, default port, fragment, utm_*, empty path."""
    assert canonical_url(url, base) == expected


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("javascript:alert(1)", None),
        ("javascript:alert(1)", "https://example.org/"),
        (" JavaScript:alert(1)", "https://example.org/"),
        ("mailto:press@example.org", None),
        ("data:image/png;base64,AAAA", None),
        ("ftp://example.org/file", None),
        ("", "https://example.org/"),
        ("   ", None),
        ("post/1", None),
        ("http:///no-host", None),
        ("http://example.org:99999/", None),
        ("http://[::1/", None),
        ("http://exa mple.org/", None),
    ],
)
def test_canonical_url_rejects(url: str, base: str | None) -> None:
    """Empty, relative-without-base, malformed and non-http(s) links give None."""
    assert canonical_url(url, base) is None


URLISH = st.one_of(
    st.text(),
    st.builds(
        "{}://{}{}/{}?{}#{}".format,
        st.sampled_from(["http", "HTTPS", "javascript", "ftp", ""]),
        st.text(st.characters(codec="ascii"), max_size=12),
        st.sampled_from(["", ":80", ":443", ":8080", ":", ":x"]),
        st.text(max_size=12),
        st.text(st.sampled_from("a=1&utm_x=2&UTM_y;b%20"), max_size=20),
        st.text(max_size=5),
    ),
)


@NO_DEADLINE
@given(url=URLISH, base=st.sampled_from([None, "https://example.org/blog/feed", "x:y"]))
def test_canonical_url_is_idempotent(url: str, base: str | None) -> None:
    """A canonical URL is its own canonical form, with or without the base."""
    once = canonical_url(url, base)

    assert once is None or (canonical_url(once) == once and canonical_url(once, base) == once)


# -- html_to_text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>One</p><p>Two</p>", "One Two"),
        ("<b>W</b>ord", "Word"),
        ("a<br>b", "a b"),
        ("<ul><li>a</li><li>b</li></ul>c", "a b c"),
        ("<h2>Head</h2>Text", "Head Text"),
        ("<div>a</div>b", "a b"),
        ("<blockquote>q</blockquote>t", "q t"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b c"),
        ("<p>unclosed <b>bold", "unclosed bold"),
        ("<!-- comment -->text", "text"),
        ("x < y and y > z", "x < y and y > z"),
        ("<script>alert(1)</script>ok<style>p {}</style>", "ok"),
        ("<img src=x onerror=alert(1)>", ""),
        ("  lots \n of\t space  ", "lots of space"),
        ("", ""),
    ],
)
def test_html_to_text_separates_blocks_not_inline_elements(html: str, expected: str) -> None:
    """Block elements become spaces, inline ones vanish, scripts and comments go."""
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("Fish &amp; chips &hellip; &#8217; &#x2019;", "Fish & chips … ’ ’"),
        ("&amp;hellip;", "&hellip;"),
        ("&amp;amp;", "&amp;"),
        ("a&nbsp;b", "a b"),
        ("AT&T", "AT&T"),
        ("&bogus; stays", "&bogus; stays"),
    ],
)
def test_html_to_text_decodes_entities_once(html: str, expected: str) -> None:
    """Entities are decoded exactly once: a double-escaped one keeps one level."""
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("ctrl\x00\x07\x1b chars\x85", "ctrl chars"),
        ("soft\u00adhyphen", "softhyphen"),
        ("\u202eevil\u202c text", "evil text"),
        ("\u2067isolate\u2069", "isolate"),
        ("stray\u200c joiner\u200d", "stray joiner"),
        ("שלום עולם", "שלום עולם"),
        ("<p>مرحبا</p><p>بالعالم</p>", "مرحبا بالعالم"),
        ("می\u200cخواهیم", "می\u200cخواهیم"),
        ("👩\u200d💻 ✊🏽 🇧🇷 🏳️\u200d🌈", "👩\u200d💻 ✊🏽 🇧🇷 🏳️\u200d🌈"),
        ("mark \u200ekept\u200f", "mark \u200ekept\u200f"),
    ],
)
def test_html_to_text_removes_invisible_characters(html: str, expected: str) -> None:
    """Controls, zero-width and bidi overrides go; RTL text, emoji and their joiners stay."""
    assert html_to_text(html) == expected


@NO_DEADLINE
@given(st.text())
def test_html_to_text_never_raises(html: str) -> None:
    """Any string at all gives a string, stripped."""
    text = html_to_text(html)

    assert text == text.strip()


TAGS = ["p", "b", "i", "a", "div", "span", "li", "ul", "br", "h1", "td", "tr", "table", "em"]
WORDS = st.text(st.characters(exclude_characters="<&"), max_size=8)
MARKUP = st.recursive(
    WORDS,
    lambda children: st.builds(
        "<{0}{2}>{1}</{0}>".format,
        st.sampled_from(TAGS),
        st.lists(children, max_size=4).map("".join),
        st.sampled_from(["", ' class="x"', " title='a>b'", ' href="/x?a=1&amp;b=2"']),
    ),
    max_leaves=20,
)


@NO_DEADLINE
@given(MARKUP)
def test_html_to_text_leaves_no_tags_of_generated_markup(html: str) -> None:
    """No `<tag` of the generated markup survives into the text."""
    assert re.search(r"</?[a-z]", html_to_text(html)) is None


@NO_DEADLINE
@given(st.text(st.characters(exclude_characters="<&")))
def test_html_to_text_is_idempotent_on_plain_text(text: str) -> None:
    """Plain text (no markup) comes out the same when converted twice."""
    once = html_to_text(text)

    assert html_to_text(once) == once


# -- find_feed_links ------------------------------------------------------------------------


def page(head: str) -> bytes:
    """Return an HTML page with the given head elements."""
    return f"<!DOCTYPE html><html><head>{head}</head><body>Hi</body></html>".encode()


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            page(
                '<link rel="alternate" type="application/feed+json" href="/feed.json">'
                '<link rel="alternate" type="application/atom+xml" href="/atom">'
                '<link rel="alternate" type="application/rss+xml" href="/rss">'
            ),
            (
                "https://site.example/atom",
                "https://site.example/rss",
                "https://site.example/feed.json",
            ),
        ),
        (
            page('<link rel="alternate" type="application/rss+xml" href="feed/">'),
            ("https://site.example/news/feed/",),
        ),
        (
            page(
                '<link rel="alternate" type="application/rss+xml" href="javascript:x()">'
                '<link rel="alternate" type="application/rss+xml" href="ftp://site.example/f">'
                '<link rel="alternate" type="application/rss+xml" href="">'
            ),
            (),
        ),
        (
            page(
                '<link rel="stylesheet" type="text/css" href="/s.css">'
                '<link rel="alternate" hreflang="fr" href="/fr/">'
                '<link rel="alternate" type="text/html" href="/print/">'
            ),
            (),
        ),
        (
            page('<link REL="ALTERNATE" TYPE="Application/RSS+XML; charset=utf-8" HREF="/rss">'),
            ("https://site.example/rss",),
        ),
        (
            b'<html><body><link rel="alternate" type="application/atom+xml" href="/in-body">',
            ("https://site.example/in-body",),
        ),
        (b"\x00\xff not html at all", ()),
    ],
    ids=["rss-atom-before-json", "relative", "unsafe", "not-feeds", "case", "body", "junk"],
)
def test_find_feed_links_returns_absolute_feed_urls(
    html: bytes, expected: tuple[str, ...]
) -> None:
    """Feed links are absolute http(s), RSS/Atom first, only rel=alternate with a feed type."""
    assert find_feed_links(html, "https://site.example/news/") == expected


def test_find_feed_links_reads_the_declared_encoding() -> None:
    """A page in windows-1251 gives its Cyrillic path correctly (percent-encoded or not)."""
    html = (
        '<html><head><meta charset="windows-1251">'
        '<link rel="alternate" type="application/rss+xml" href="/новости/rss">'
    ).encode("cp1251")

    assert find_feed_links(html, "https://site.example/") == ("https://site.example/новости/rss",)


# -- parse_feed: documents that are not feeds -----------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"", "the document is empty", id="empty"),
        pytest.param(b" \r\n\t", "the document is empty", id="blank"),
        pytest.param(
            b'{"version": "https://jsonfeed.org/version/1.1", "items": []}',
            "this is a JSON document; JSON Feed is not supported",
            id="json",
        ),
        pytest.param(
            b"<!DOCTYPE html><html><body>Hello</body></html>",
            "this is an HTML page, and it links to no feed",
            id="html",
        ),
        pytest.param(b"<foo>bar</foo>", "not an RSS, Atom or RDF feed", id="other-xml"),
        pytest.param(
            b"just some text",
            "not an RSS, Atom or RDF feed: syntax error near line 2",
            id="text",
        ),
        pytest.param(
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</tit',
            "not a well-formed feed: unclosed token near line 1",
            id="truncated",
        ),
        pytest.param(
            b'<rss version="2.0"><channel><item><title>a<![CDATA[b</title></item></channel></rss>',
            "not a well-formed feed: unclosed CDATA section near line 2",
            id="items-unreadable",
        ),
    ],
)
def test_parse_feed_rejects_non_feeds(content: bytes, message: str) -> None:
    """A document with no usable entries that is not an empty feed raises FeedParseError."""
    with pytest.raises(FeedParseError) as caught:
        parse_feed(content, url=URL, now=NOW)

    assert (caught.value.url, caught.value.message) == (URL, message)


def test_parse_feed_wraps_unexpected_parser_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception from inside feedparser comes out as FeedParseError, chained."""
    boom = RuntimeError("boom")

    def broken_parse(*args: object, **kwargs: object) -> None:
        raise boom

    monkeypatch.setattr(feedparser, "parse", broken_parse)

    with pytest.raises(FeedParseError) as caught:
        parse_feed(rss(), url=URL, now=NOW)

    assert (caught.value.message, caught.value.__cause__) == (
        "the parser failed: RuntimeError: boom",
        boom,
    )


def test_parse_feed_never_opens_a_path(tmp_path: Path) -> None:
    """Bytes that name a local feed file are parsed as bytes, not opened as a file."""
    local = tmp_path / "feed.xml"
    local.write_bytes(rss("<item><title>secret</title></item>"))

    with pytest.raises(FeedParseError):
        parse_feed(str(local).encode(), url=URL, now=NOW)


def test_parse_feed_accepts_empty_channel_with_html_entities() -> None:
    """An item-less channel that is only ill-formed by an HTML entity is an empty feed."""
    content = b'<rss version="2.0"><channel><title>Soon&hellip;</title></channel></rss>'

    actual = parse_feed(content, url=URL, now=NOW)

    assert actual == ParsedFeed(
        title="Soon…", site_url=None, entries=(), bozo_reason="undefined entity near line 2"
    )


def test_parse_feed_drops_entries_with_nothing_in_them() -> None:
    """An item with no id, link, title or summary is not an entry."""
    content = rss("<item><category>x</category></item><item><title>Real</title></item>")

    titles = [entry.title for entry in parse_feed(content, url=URL, now=NOW).entries]

    assert titles == ["Real"]


# -- parse_feed: encodings ------------------------------------------------------------------


def test_parse_feed_uses_the_charset_from_content_type() -> None:
    """The Content-Type charset decodes a feed that declares no encoding."""
    content = b'<rss version="2.0"><channel><title>Not\xedcias</title></channel></rss>'

    actual = parse_feed(content, url=URL, content_type="text/xml; charset=iso-8859-1", now=NOW)

    assert actual.title == "Notícias"


def test_parse_feed_defaults_to_utf8_without_content_type() -> None:
    """Without Content-Type and declaration, UTF-8 is assumed, not ISO-8859-1."""
    content = '<rss version="2.0"><channel><title>Notícias</title></channel></rss>'.encode()

    actual = parse_feed(content, url=URL, now=NOW)

    assert (actual.title, actual.bozo_reason) == ("Notícias", None)


def test_parse_feed_falls_back_to_windows_1252_for_undeclared_latin1() -> None:
    """Latin-1 bytes with no declaration decode as cp1252, flagged as bozo but used."""
    content = (
        b'<rss version="2.0"><channel><item><title>Not\xedcias</title></item></channel></rss>'
    )

    actual = parse_feed(content, url=URL, now=NOW)

    assert (actual.entries[0].title, actual.bozo_reason) == (
        "Notícias",
        "document declared as utf-8, but parsed as windows-1252",
    )


# -- entries: identity ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            "<guid>https://example.org/?p=1</guid><link>https://example.org/a</link>",
            "https://example.org/?p=1",
            id="guid",
        ),
        pytest.param(
            '<guid isPermaLink="false"> campaign-7 \n</guid>', "campaign-7", id="stripped"
        ),
        pytest.param("<guid>123</guid>", "123", id="relative-guid"),
        pytest.param(
            "<guid>HTTP://Example.org/A#x</guid>", "HTTP://Example.org/A#x", id="verbatim"
        ),
        pytest.param(
            "<link>https://example.org/a?utm_source=x#f</link>",
            "https://example.org/a?utm_source=x#f",
            id="link-as-written",
        ),
        pytest.param("<link>relative/path</link>", "relative/path", id="relative-link"),
        pytest.param(
            "<link>http://fb.example/~r/x</link>"
            "<feedburner:origLink>https://example.org/real</feedburner:origLink>",
            "https://example.org/real",
            id="origlink",
        ),
        pytest.param(
            "<title>T</title><pubDate>Mon, 06 Jul 2026 10:00:00 GMT</pubDate>",
            sha256("T\nMon, 06 Jul 2026 10:00:00 GMT"),
            id="title-date",
        ),
        pytest.param("<title>&lt;b&gt;T&lt;/b&gt;</title>", sha256("T\n"), id="html-title"),
        pytest.param(
            "<pubDate>not-a-real-date</pubDate><description>x</description>",
            sha256("\nnot-a-real-date"),
            id="bad-date",
        ),
        pytest.param(
            "<description>Only a summary</description>",
            sha256("\n\nOnly a summary"),
            id="summary",
        ),
    ],
)
def test_entry_identity(item: str, expected: str) -> None:
    """Identity is the id verbatim, else the link as written, else a hash of title and date."""
    assert parse_item(item).identity == expected


def test_entry_identity_hashes_long_ids() -> None:
    """An id longer than 1024 characters is replaced by its SHA-256."""
    long_id = "urn:x:" + "a" * 2000

    assert parse_item(f"<guid>{long_id}</guid>").identity == sha256(long_id)


def test_entry_identity_does_not_depend_on_the_feed_url() -> None:
    """The same document fetched from another URL (a redirect) keeps its identities."""
    content = rss(
        "<item><guid>123</guid></item><item><link>relative/post</link></item>"
        "<item><title>T</title><description>&lt;a href='/x'&gt;x&lt;/a&gt;</description></item>"
    )

    def identities(url: str) -> list[str]:
        return [entry.identity for entry in parse_feed(content, url=url, now=NOW).entries]

    assert identities("http://old.example/feed") == identities("https://new.example/rss/")


def test_parse_feed_is_deterministic() -> None:
    """Parsing the same bytes twice gives equal results."""
    content = (DATA / "html-summaries.rss").read_bytes()

    assert parse_feed(content, url=URL, now=NOW) == parse_feed(content, url=URL, now=NOW)


# -- entries: url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            "<link>../2026/post?utm_medium=rss#more</link>",
            "https://campaign.example.org/blog/2026/post",
            id="relative",
        ),
        pytest.param("<link>javascript:alert(1)</link>", None, id="javascript"),
        pytest.param("<guid isPermaLink='false'>x</guid>", None, id="none"),
        pytest.param(
            "<link>http://fb.example/~r/x</link>"
            "<feedburner:origLink>HTTPS://Example.org/real</feedburner:origLink>",
            "https://example.org/real",
            id="origlink",
        ),
        pytest.param(
            "<link>https://example.org/a</link>"
            "<feedburner:origLink>javascript:x()</feedburner:origLink>",
            "https://example.org/a",
            id="bad-origlink",
        ),
        pytest.param(
            "<guid>https://example.org/permalink</guid>",
            "https://example.org/permalink",
            id="permalink-guid",
        ),
    ],
)
def test_entry_url(item: str, expected: str | None) -> None:
    """The url is the canonical origLink or link, resolved against the feed URL, or None."""
    assert parse_item(item).url == expected


# -- entries: title and summary -------------------------------------------------------------


LONG = (
    "Supporters in twelve cities marched on Saturday to demand that the council adopt the "
    "clean air plan"
)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param("<title>  Spaced \n out  </title>", "Spaced out", id="folded"),
        pytest.param("<title>&lt;em&gt;Big&lt;/em&gt; news</title>", "Big news", id="html"),
        pytest.param("<title>&lt;script&gt;x()&lt;/script&gt;News</title>", "News", id="script"),
        pytest.param("<title>5 &lt; 6</title>", "5 < 6", id="lt"),
        pytest.param("<title>AT&amp;T &amp;amp; co</title>", "AT&T & co", id="entities"),
        pytest.param(
            f"<description>{LONG}</description>",
            "Supporters in twelve cities marched on Saturday to demand that the council…",
            id="from-summary",
        ),
        pytest.param(
            "<title> </title><description>Short summary.</description>",
            "Short summary.",
            id="blank",
        ),
        pytest.param(f"<description>{'x' * 100}</description>", "x" * 79 + "…", id="one-word"),
        pytest.param("<link>https://example.org/a</link>", "Untitled", id="untitled"),
    ],
)
def test_entry_title(item: str, expected: str) -> None:
    """The title is plain text; if missing, the summary's first words, else "Untitled"."""
    assert parse_item(item).title == expected


def test_entry_title_from_summary_is_at_most_80_chars() -> None:
    """A title made from the summary fits in 80 characters, ellipsis included."""
    assert len(parse_item(f"<description>{LONG}</description>").title) <= 80


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            "<description>From &lt;b&gt;description&lt;/b&gt;</description>"
            "<content:encoded>From content</content:encoded>",
            "From description",
            id="description-first",
        ),
        pytest.param(
            "<content:encoded><![CDATA[<p>From</p><p>content</p>]]></content:encoded>",
            "From content",
            id="content",
        ),
        pytest.param("<title>t</title>", "", id="none"),
    ],
)
def test_entry_summary(item: str, expected: str) -> None:
    """The summary is the description, else the first content, as plain text."""
    assert parse_item(item).summary == expected


def test_entry_summary_ignores_non_text_content() -> None:
    """Atom content of a non-text type (base64 image data) gives no summary text."""
    content = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>urn:x</id><title>t</title>'
        b'<content type="image/png">iVBORw0KGgo=</content></entry></feed>'
    )

    (entry,) = parse_feed(content, url=URL, now=NOW).entries

    assert entry.summary == ""


def test_entry_summary_is_capped() -> None:
    """A huge summary is cut to 10,000 characters, ending with an ellipsis."""
    summary = parse_item(f"<description>{'word ' * 5000}</description>").summary

    assert (len(summary), summary[-1]) == (10_000, "…")


def test_entry_html_is_parsed_once_per_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """A summary with an image is parsed once, for both its text and its image."""
    calls: list[str] = []
    real_parse_html = parse._parse_html

    def counting(html: str) -> object:
        calls.append(html)
        return real_parse_html(html)

    monkeypatch.setattr(parse, "_parse_html", counting)

    parse_item('<description>&lt;p&gt;Hi &lt;img src="/a.png"&gt;&lt;/p&gt;</description>')

    assert len(calls) == 1


# -- entries: published ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            "<pubDate>Sat, 18 Jul 2026 10:30:00 +0200</pubDate>",
            datetime(2026, 7, 18, 8, 30, tzinfo=UTC),
            id="offset",
        ),
        pytest.param(
            "<dc:date>2026-07-17T12:00:00Z</dc:date>",
            datetime(2026, 7, 17, 12, 0, tzinfo=UTC),
            id="updated-only",
        ),
        pytest.param(
            "<pubDate>Sat, 18 Jul 2026 10:30:00 GMT</pubDate>"
            "<dc:date>2026-07-17T12:00:00Z</dc:date>",
            datetime(2026, 7, 18, 10, 30, tzinfo=UTC),
            id="published-first",
        ),
        pytest.param("<pubDate>not-a-real-date</pubDate>", None, id="garbage"),
        pytest.param("<pubDate>Seg, 24 Set 2018 18:20:00 -0300</pubDate>", None, id="portuguese"),
        pytest.param("<title>no date</title>", None, id="absent"),
        pytest.param(
            "<pubDate>Wed, 22 Jul 2026 12:00:00 GMT</pubDate>",
            NOW + timedelta(days=2),
            id="two-days-ahead",
        ),
        pytest.param("<pubDate>Wed, 22 Jul 2026 12:00:01 GMT</pubDate>", None, id="too-far-ahead"),
        pytest.param("<dc:date>9999-12-31T23:59:59-23:00</dc:date>", None, id="year-10000"),
    ],
)
def test_entry_published(item: str, expected: datetime | None) -> None:
    """published is aware UTC from the published date, else the updated one, else None."""
    assert parse_titled_item(item).published == expected


def test_entry_published_is_aware_utc() -> None:
    """A parsed date carries the UTC time zone."""
    published = parse_titled_item("<pubDate>Sat, 18 Jul 2026 10:30:00 +0200</pubDate>").published

    assert getattr(published, "tzinfo", None) is UTC


# -- entries: categories, author ------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            "<category>Climate</category><category>CLIMATE</category><category>Air</category>",
            ("Climate", "Air"),
            id="dedupe",
        ),
        pytest.param(
            "<category>  Health  </category><category></category><category> </category>",
            ("Health",),
            id="strip",
        ),
        pytest.param(
            "<category>Air, Water &amp; Soil</category>", ("Air, Water & Soil",), id="commas-kept"
        ),
        pytest.param(
            "<dc:subject>Human rights</dc:subject><category>Human Rights</category>",
            ("Human rights",),
            id="dc-subject",
        ),
        pytest.param("<description>none</description>", (), id="none"),
    ],
)
def test_entry_categories(item: str, expected: tuple[str, ...]) -> None:
    """Categories are stripped, non-empty, unique ignoring case, in document order."""
    assert parse_titled_item(item).categories == expected


def test_entry_categories_use_the_label_when_the_term_is_empty() -> None:
    """An Atom category with an empty term falls back to its label."""
    content = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>urn:x</id><title>t</title>'
        b'<category term="" label="Labelled"/><category term="termed" label="ignored"/>'
        b"</entry></feed>"
    )

    (entry,) = parse_feed(content, url=URL, now=NOW).entries

    assert entry.categories == ("Labelled", "termed")


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("<dc:creator>Ana Lima</dc:creator>", "Ana Lima"),
        ("<author>press@example.org (Press Office)</author>", "Press Office"),
        ("<dc:creator>  </dc:creator>", None),
        ("<title>anonymous</title>", None),
    ],
    ids=["dc-creator", "rss-author", "blank", "none"],
)
def test_entry_author(item: str, expected: str | None) -> None:
    """The author is a plain-text name, or None."""
    assert parse_titled_item(item).author == expected


# -- entries: image -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            '<media:content url="https://cdn.example/p.jpg" medium="image"/>',
            "https://cdn.example/p.jpg",
            id="media-medium",
        ),
        pytest.param(
            '<media:content url="https://cdn.example/p.webp" type="image/webp"/>',
            "https://cdn.example/p.webp",
            id="media-type",
        ),
        pytest.param(
            '<media:content url="https://cdn.example/v.mp4" type="video/mp4"/>',
            None,
            id="media-video",
        ),
        pytest.param(
            '<media:thumbnail url="/thumbs/t.jpg"/>',
            "https://campaign.example.org/thumbs/t.jpg",
            id="thumbnail",
        ),
        pytest.param(
            '<enclosure url="https://cdn.example/e.png" type="image/png" length="1"/>',
            "https://cdn.example/e.png",
            id="enclosure",
        ),
        pytest.param(
            '<enclosure url="https://cdn.example/a.mp3" type="audio/mpeg" length="1"/>',
            None,
            id="enclosure-audio",
        ),
        pytest.param(
            content('<p>x<img src="/i/lead.jpg"></p>'),
            "https://campaign.example.org/i/lead.jpg",
            id="content-img",
        ),
        pytest.param(
            '<description><![CDATA[<img src="https://cdn.example/d.jpg">]]></description>',
            "https://cdn.example/d.jpg",
            id="description-img",
        ),
        pytest.param(
            "<description>Text</description>" + content('<img src="https://cdn.example/c.jpg">'),
            "https://cdn.example/c.jpg",
            id="content-over-description",
        ),
        pytest.param(
            content('<img src="/px.gif" width="1" height="1"><img src="/real.jpg">'),
            "https://campaign.example.org/real.jpg",
            id="pixel-skipped",
        ),
        pytest.param(
            content('<img src="javascript:x()"><img src="data:image/png;base64,AA">'),
            None,
            id="unsafe-src",
        ),
        pytest.param(
            '<media:content url="https://cdn.example/m.jpg" medium="image"/>'
            + content('<img src="/c.jpg">'),
            "https://cdn.example/m.jpg",
            id="media-first",
        ),
        pytest.param(
            '<media:content url="javascript:x()" medium="image"/>'
            '<media:thumbnail url="data:image/png;base64,AA"/>'
            '<enclosure url="https://cdn.example/e.png" type="image/png" length="1"/>',
            "https://cdn.example/e.png",
            id="unsafe-media-skipped",
        ),
        pytest.param(
            '<enclosure url="javascript:x()" type="image/png" length="1"/>',
            None,
            id="unsafe-enclosure",
        ),
    ],
)
def test_entry_image_url(item: str, expected: str | None) -> None:
    """The image is from Media RSS, else an image enclosure, else the first content <img>."""
    assert parse_titled_item(item).image_url == expected


# -- feed level -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        pytest.param(
            "<title>A &amp;amp; B</title><link>https://Example.org:443/?utm_source=x</link>",
            ("A & B", "https://example.org/"),
            id="normalised",
        ),
        pytest.param("<title></title><link></link>", (None, None), id="empty"),
        pytest.param(
            "<link>/about/</link>", (None, "https://campaign.example.org/about/"), id="relative"
        ),
    ],
)
def test_feed_title_and_site_url(channel: str, expected: tuple[str | None, str | None]) -> None:
    """The feed title is plain text or None; the site URL is canonical or None."""
    actual = parse_feed(rss(channel=channel), url=URL, now=NOW)

    assert (actual.title, actual.site_url) == expected


@pytest.mark.parametrize(
    ("channel", "seconds"),
    [
        ("<ttl>60</ttl>", 3600),
        (
            '<sy:updatePeriod xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">daily'
            '</sy:updatePeriod><sy:updateFrequency xmlns:sy="http://purl.org/rss/1.0/modules/'
            'syndication/">4</sy:updateFrequency>',
            21600,
        ),
        ("<ttl>often</ttl>", None),
        ("", None),
    ],
)
def test_feed_ask_read_from_ttl_and_sy(channel: str, seconds: int | None) -> None:
    """<ttl> minutes and sy:updatePeriod / updateFrequency become min_interval_seconds."""
    document = rss("<item><title>A</title><link>https://e.org/a</link></item>", channel)
    assert parse_feed(document, url=URL, now=NOW).min_interval_seconds == seconds
