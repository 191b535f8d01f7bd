"""Turn fetched feed bytes into `ParsedFeed` values: feedparser for the feed, selectolax for HTML.

Owns: the normalisation rules every later stage relies on: entry identity (the dedupe key),
the canonical URL (`canonical_url`, also used to dedupe across feeds), plain text from feed HTML
(`html_to_text`), dates as aware UTC, categories and facets (with `bot.feeds.taxonomy` for a
feed's own taxonomies), the full text (`content_text`) and the WordPress footer removed from it
and the summary (`strip_boilerplate`), author, image, and feed autodiscovery in HTML pages
(`find_feed_links`).

Must not: do network or file I/O, touch the database, import telegram, or let any exception but
`FeedParseError` escape `parse_feed`. It is pure and synchronous; callers run it in a thread.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit
from xml.sax import SAXParseException

import feedparser
from selectolax.lexbor import LexborHTMLParser

from bot.domain.schedule import feed_ask_seconds
from bot.domain.types import Facet, ParsedEntry, ParsedFeed
from bot.errors import FeedParseError
from bot.feeds.taxonomy import custom_facets, declares_custom_namespace

__all__ = [
    "canonical_url",
    "find_feed_links",
    "html_to_text",
    "parse_feed",
    "strip_boilerplate",
]

MAX_IDENTITY_CHARS = 1024
"""Longer entry ids are replaced by their SHA-256, so they fit an indexed column."""

MAX_SUMMARY_CHARS = 10_000
"""Summaries are kept whole up to this length; rendering cuts them much shorter later."""

TITLE_FROM_SUMMARY_CHARS = 80
"""A title made from the summary's first words is at most this long, "…" included."""

UNTITLED = "Untitled"
"""The title of an entry with neither a title nor a summary."""

FUTURE_DATE_TOLERANCE = timedelta(days=2)
"""A date further ahead than this is not trusted: `published` becomes None."""

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Elements whose boundaries separate words. Inline elements (b, a, span, ...) do not:
# `<b>W</b>ord` is one word. Table cells and list containers are here so cells do not run together.
_BLOCK_SELECTOR = ",".join(
    (
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
        "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
    )
)  # fmt: skip

# Elements whose text is never prose. feedparser's sanitiser removes most of them already,
# but `html_to_text` is also called on HTML that did not go through it (HTML pages).
_HIDDEN_SELECTOR = "script,style,template,iframe,noembed,noframes,object,svg,math,head,title"

# Characters removed from all text: C0/C1 controls except tab/newline/carriage return
# (those are folded as whitespace), soft hyphen, Mongolian vowel separator, zero-width space,
# word joiner and invisible operators, BOM/ZWNBSP, interlinear annotation marks, lone surrogates,
# and bidi embeddings/overrides/isolates (U+202A-202E, U+2066-2069): an unbalanced override would
# flip the text around it in our own messages. The bidi *marks* LRM/RLM stay: they have no scope
# and right-to-left text needs them.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u180e\u200b\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff]"
)

# ZWNJ/ZWJ join or separate letters in Persian, Arabic, Indic scripts and build emoji sequences
# (👩‍💻). They only do that between two non-ASCII characters; anywhere else they are noise.
_STRAY_JOINER = re.compile("(?<![^\x00-\x7f\\s])[\u200c\u200d]|[\u200c\u200d](?![^\x00-\x7f\\s])")

_WHITESPACE = re.compile(r"\s")

_IMG_TAG = re.compile(r"<img\b", re.IGNORECASE)

_TAG_LIKE = re.compile(r"<[A-Za-z/!?]")

_ITEM_TAG = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s/>]", re.IGNORECASE)

_FEED_TYPES = ("application/rss+xml", "application/atom+xml")
_JSON_FEED_TYPES = ("application/feed+json",)

_HTML_SNIFF_BYTES = 1024

# WordPress's (Yoast SEO's) footer "The post <title> appeared first on <site>.", as plain text,
# by the words it starts with; the pattern must match from there to the end of the text.
_BOILERPLATE = tuple(
    # The site's name may hold dots ("example.org") but no sentence ends inside it.
    (lead, re.compile(re.escape(lead) + middle + r"(?:[^.]|\.(?=\S)){1,300}\.?\s*", re.DOTALL))
    for lead, middle in (
        ("The post ", r".{1,1000}? appeared first on "),
        ("L’article ", r".{1,1000}? est apparu en premier sur "),
        ("L'article ", r".{1,1000}? est apparu en premier sur "),
        ("Der Beitrag ", r".{1,1000}? erschien zuerst auf "),
    )
)

CATEGORY_FACET = "category"
"""The facet kind of RSS/Atom categories and tags."""

MAX_CONTENT_CHARS = 100_000
"""The full text (`ParsedEntry.content_text`) is kept up to this length, for keyword matching."""


def parse_feed(
    content: bytes, *, url: str, content_type: str | None = None, now: datetime | None = None
) -> ParsedFeed:
    """Parse fetched bytes into a normalised feed.

    A document that is not well-formed but still yields entries is used, with `bozo_reason` set.
    A well-formed feed with no entries gives a `ParsedFeed` with no entries. An HTML page that
    links to feeds gives a `ParsedFeed` with no entries and those links in `alternate_urls`.

    Args:
        content: The response body, as fetched.
        url: The URL the body came from (after redirects); relative links resolve against it.
        content_type: The response's Content-Type header, charset included, if any.
        now: The current time, aware; dates more than two days after it are dropped.
            Defaults to the system clock.

    Returns:
        The feed's title and site URL, and its entries in document order.

    Raises:
        FeedParseError: The bytes are not a feed (empty, not well-formed with no entries,
            an HTML page linking to no feed, JSON, ...). Nothing else is raised.
    """
    now = datetime.now(UTC) if now is None else now.astimezone(UTC)
    try:
        return _parse_feed(content, url=url, content_type=content_type, now=now)
    except FeedParseError:
        raise
    except Exception as exc:  # feedparser and lexbor can fail in ways nobody documented
        reason = f"the parser failed: {type(exc).__name__}: {exc}"
        raise FeedParseError(url, _clip(reason, 300)) from exc


def find_feed_links(content: bytes, base_url: str) -> tuple[str, ...]:
    """Find the feeds an HTML page advertises with `<link rel="alternate">`.

    Args:
        content: The HTML page, as fetched; its encoding is sniffed (BOM, `<meta charset>`).
        base_url: The page's URL; relative `href`s resolve against it (or against `<base href>`).

    Returns:
        Absolute http(s) URLs, each once: RSS and Atom links first, then JSON Feed links,
        each group in document order.
    """
    return _scan_html_page(content, base_url)[1]


def canonical_url(url: str, base: str | None = None) -> str | None:
    """Return the canonical form of a link, used for display and to dedupe across feeds.

    The link is resolved against `base`; scheme and host are lower-cased; the default port,
    the fragment and `utm_*` query parameters are dropped; other parameters keep their order
    and spelling; an empty path becomes `/`. The function is idempotent.

    Args:
        url: The link as found in the feed (may be relative).
        base: The URL to resolve a relative link against.

    Returns:
        The absolute http(s) URL, or None for an empty, malformed or non-http(s) link
        (`javascript:`, `mailto:`, `data:`, ...).
    """
    url = url.strip()
    if not url:
        return None
    try:
        if base:
            url = urljoin(base, url)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        if scheme not in _DEFAULT_PORTS or not host or _WHITESPACE.search(host):
            return None
        port = parts.port
    except ValueError:  # a bad IPv6 literal or port
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    userinfo, at, _ = parts.netloc.rpartition("@")
    netloc = f"{userinfo}{at}{host}"
    query = "&".join(
        param
        for param in parts.query.split("&")
        if param and not param[:4].lower().startswith("utm_")
    )
    path = _quote_whitespace(parts.path) or "/"
    return urlunsplit((scheme, netloc, path, _quote_whitespace(query), ""))


def html_to_text(html: str) -> str:
    """Turn an HTML fragment into one line of plain text.

    Block elements (p, br, div, li, headings, rows, ...) separate words; inline elements do not.
    Entities are decoded once (`&amp;hellip;` gives `&hellip;`). Scripts and styles are dropped,
    whitespace is folded to single spaces, and control and zero-width characters are removed;
    right-to-left text and emoji are kept.

    Args:
        html: The HTML fragment; anything goes, it never raises.

    Returns:
        The text, stripped; possibly empty.
    """
    if "<" not in html and "&" not in html:
        return _clean_text(html)
    return _tree_text(_parse_html(html))


def _parse_feed(
    content: bytes, *, url: str, content_type: str | None, now: datetime
) -> ParsedFeed:
    """Parse with feedparser and normalise; see `parse_feed`."""
    # A BytesIO, never the bytes themselves: feedparser.parse() treats bytes that look like a
    # path as a file name to open.
    # Without a Content-Type, feedparser (given any other header) assumes ISO-8859-1 for XML that
    # declares no encoding; `application/xml` gives it the XML default, UTF-8, instead.
    headers = {"content-type": content_type or "application/xml"}
    # Content-Location = url only when the document uses xml:base. feedparser resolves Atom ids
    # and permalink guids against it too (`123` becomes `<url>/123`, `HTTP://X` becomes
    # `http://X`), and `url` is the URL after redirects, so identities would change whenever a
    # redirect does. Links are resolved against `url` by `canonical_url` anyway. But feedparser
    # only restores an outer xml:base after an inner one when the outer one is not empty, so a
    # document that uses xml:base needs a real document base.
    if b"xml:base" in content:
        headers["content-location"] = url
    result = feedparser.parse(
        io.BytesIO(content),
        response_headers=headers,
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    raw_feed = _mapping(_get(result, "feed"))
    raw_entries = _get(result, "entries")
    bozo_exception = _get(result, "bozo_exception") if _get(result, "bozo") else None
    bozo_reason = None if bozo_exception is None else _describe(bozo_exception)

    raw_list = _mappings(raw_entries)
    custom = _custom_facets(content, len(raw_list))
    normalised = (
        _normalise_entry(raw, base=url, now=now, extra_facets=custom[index] if custom else ())
        for index, raw in enumerate(raw_list)
    )
    entries = tuple(entry for entry in normalised if entry is not None)
    if not entries and not _is_empty_feed(result, raw_feed, content):
        version = _str(_get(result, "version"))
        return _not_a_feed(content, url, content_type, version, bozo_exception)

    site_url = canonical_url(_str(_get(raw_feed, "link")), url)
    title = _detail_text(_str(_get(raw_feed, "title")), _get(raw_feed, "title_detail")) or None
    language = (_str(_get(raw_feed, "language")) or "").strip()[:35] or None
    # How often the feed asks to be polled: <ttl> minutes, sy:updatePeriod / updateFrequency.
    min_interval = feed_ask_seconds(
        ttl=_get(raw_feed, "ttl"),
        update_period=_get(raw_feed, "sy_updateperiod"),
        update_frequency=_get(raw_feed, "sy_updatefrequency"),
    )
    return ParsedFeed(
        title=title,
        site_url=site_url,
        entries=entries,
        bozo_reason=bozo_reason,
        language=language,
        min_interval_seconds=min_interval,
    )


def _custom_facets(content: bytes, entries: int) -> list[tuple[Facet, ...]] | None:
    """Each raw entry's custom-taxonomy facets, or None (no such taxonomy, or unsafe/unreadable).

    The XML pass runs only when the document declares a non-standard namespace. Its entry
    elements are mapped to feedparser's entries by document order; if the counts differ (a
    document feedparser read leniently, an item nested oddly), no entry gets custom facets
    rather than the wrong ones.
    """
    if not entries or not declares_custom_namespace(content):
        return None
    found = custom_facets(content)
    if found is None or len(found) != entries:
        return None
    return found


def strip_boilerplate(text: str) -> str:
    """Remove a trailing "The post <title> appeared first on <site>." (WordPress, Yoast SEO).

    Works on plain text (links already gone); the English, French and German wordings are known.
    The rightmost candidate is tried first, so a summary that itself says "The post office …"
    keeps its words.
    """
    for lead, pattern in _BOILERPLATE:
        if lead not in text:
            continue
        start = text.rfind(lead)
        tries = 0
        while start >= 0 and tries < 3:
            if pattern.fullmatch(text, start):
                return text[:start].rstrip()
            start = text.rfind(lead, 0, start)
            tries += 1
    return text


def _is_empty_feed(result: object, raw_feed: Mapping[str, Any], content: bytes) -> bool:
    """Tell whether a result with no (usable) entries is a real feed that has no items (yet).

    It is when feedparser recognised the format and the document is well-formed, or its only
    fault is one feedparser files under "things nobody cares about" (a charset override, an odd
    Content-Type). A document that is not well-formed still counts when feedparser recovered the
    channel and the bytes hold no item or entry element: HTML entities such as `&hellip;` in an
    RSS channel are common and harmless. If items are there and feedparser read none of them,
    it is an error that somebody must see, not an empty feed.
    """
    if not _get(result, "version"):
        return False
    bozo_exception = _get(result, "bozo_exception") if _get(result, "bozo") else None
    if bozo_exception is None or isinstance(
        bozo_exception, feedparser.ThingsNobodyCaresAboutButMe
    ):
        return True
    return bool(raw_feed) and _ITEM_TAG.search(content) is None


def _not_a_feed(
    content: bytes, url: str, content_type: str | None, version: str, bozo_exception: object
) -> ParsedFeed:
    """Handle a document in which feedparser found no feed.

    Returns:
        An entry-less `ParsedFeed` with `alternate_urls`, for an HTML page that links to feeds.

    Raises:
        FeedParseError: In every other case, saying what the document is instead.
    """
    if _looks_like_html(content, content_type):
        title, links = _scan_html_page(content, url)
        if not links:
            raise FeedParseError(url, "this is an HTML page, and it links to no feed")
        return ParsedFeed(
            title=title, site_url=canonical_url(url), entries=(), alternate_urls=links
        )
    first = content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not first:
        raise FeedParseError(url, "the document is empty")
    if first in (b"{", b"["):
        raise FeedParseError(url, "this is a JSON document; JSON Feed is not supported")
    reason = "" if bozo_exception is None else f": {_describe(bozo_exception)}"
    if version:  # a feed, but feedparser could not read its items
        raise FeedParseError(url, f"not a well-formed feed{reason}")
    raise FeedParseError(url, f"not an RSS, Atom or RDF feed{reason}")


def _normalise_entry(
    raw: Mapping[str, Any],
    *,
    base: str,
    now: datetime,
    extra_facets: tuple[Facet, ...] = (),
) -> ParsedEntry | None:
    """Turn one feedparser entry into a `ParsedEntry`.

    `extra_facets` are the entry's terms of the feed's own taxonomies (`bot.feeds.taxonomy`);
    its categories come first among its facets.

    Returns:
        The entry, or None when it has no id, link, title or summary: nothing to tell anyone
        about (feedparser makes such entries of truncated documents and bare `<item/>`s).
    """
    title = _detail_text(_str(_get(raw, "title")), _get(raw, "title_detail"))

    # feedparser copies the first text <content> into `summary` (without a summary_detail) when
    # there is no summary; non-text content (an Atom image/png, say) stays only in `content`.
    contents = [c for c in _mappings(_get(raw, "content")) if _str(_get(c, "value"))]
    first_content = contents[0] if contents else {}
    summary_value = _str(_get(raw, "summary")) or _str(_get(first_content, "value"))
    summary_type = _content_type(_get(raw, "summary_detail") or first_content) or "text/html"

    image_url = _media_image(raw, base)
    image_html = next(
        (_str(_get(c, "value")) for c in contents if _is_html(_content_type(c))), None
    )
    if image_html is None and _is_html(summary_type):
        image_html = summary_value
    if image_html is not None and (image_url is not None or not _IMG_TAG.search(image_html)):
        image_html = None  # nothing to look for, or no need to look

    if not _is_html(summary_type):
        summary = _plain_text(summary_value, summary_type)
    elif "<" not in summary_value and "&" not in summary_value:
        summary = _clean_text(summary_value)
    else:
        tree = _parse_html(summary_value)
        if image_html == summary_value:  # one parse serves both
            image_url, image_html = _first_image(tree, base), None
        summary = _tree_text(tree)
    # The full text, when the feed gives one beside the summary (WordPress: content:encoded
    # beside a 55-word excerpt). Parsed once for its image too, when the image is looked for.
    content_text = ""
    body = next((c for c in contents if _is_text(_content_type(c))), None)
    body_value = _str(_get(body, "value")) if body is not None else ""
    if body_value and body_value != summary_value:
        body_type = _content_type(body) or "text/html"
        if image_html == body_value and _is_html(body_type):
            tree = _parse_html(body_value)
            image_url, image_html = _first_image(tree, base), None
            content_text = _tree_text(tree)
        else:
            content_text = _plain_text(body_value, body_type)
    if image_html is not None:
        image_url = _first_image(_parse_html(image_html), base)
    summary = _clip(strip_boilerplate(summary), MAX_SUMMARY_CHARS)
    content_text = strip_boilerplate(content_text)
    if len(content_text) <= len(summary) or content_text == summary:
        content_text = ""  # nothing more than the summary says
    content_text = _clip(content_text, MAX_CONTENT_CHARS)

    link = _str(_get(raw, "link")).strip()
    # FeedBurner's <link> is its own redirector; origLink is the publisher's article URL.
    article_link = _str(_get(raw, "feedburner_origlink")).strip() or link
    if not (title or summary or article_link or _str(_get(raw, "id")).strip()):
        return None
    url = canonical_url(article_link, base) or canonical_url(link, base)
    categories = _categories(_mappings(_get(raw, "tags")))
    return ParsedEntry(
        identity=_identity(raw, title, article_link, summary),
        url=url,
        title=title or _first_words(summary, TITLE_FROM_SUMMARY_CHARS) or UNTITLED,
        summary=summary,
        published=_published(raw, now),
        categories=categories,
        author=_author(raw),
        image_url=image_url,
        facets=(*(Facet(CATEGORY_FACET, c) for c in categories), *extra_facets),
        content_text=content_text,
    )


def _identity(raw: Mapping[str, Any], title: str, link: str, summary: str) -> str:
    """Return the entry's dedupe key: its id, else its link, else a hash of title and date.

    Atom ids and RSS guids are kept verbatim (only stripped). The link is the publisher's
    (FeedBurner's origLink when there is one) as written, not canonicalised. The hash takes the
    plain-text title (so markup and URLs in an HTML title do not move it) and the date as
    written. When an entry has neither, the hash is of its plain-text summary, so such entries
    do not all collide.
    """
    identity = _str(_get(raw, "id")).strip() or link
    if not identity:
        date = (_str(_get(raw, "published")) or _str(_get(raw, "updated"))).strip()
        basis = f"{title}\n{date}" if title or date else f"\n\n{summary}"
        identity = _sha256(basis)
    if len(identity) > MAX_IDENTITY_CHARS:
        identity = _sha256(identity)
    return identity


def _published(raw: Mapping[str, Any], now: datetime) -> datetime | None:
    """Return the entry's date as aware UTC: published, else updated; None if absent or bogus."""
    parsed = _get(raw, "published_parsed") or _get(raw, "updated_parsed")
    if parsed is None:
        return None
    try:
        # feedparser's struct_time is already UTC; timegm also copes with leap seconds.
        published = datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    if published > now + FUTURE_DATE_TOLERANCE:
        return None
    return published


def _categories(tags: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """Return tag terms (or labels), stripped, without empties or case-insensitive repeats.

    A tag that contains commas is kept whole. Amnesty's `amn:` taxonomy is not read: feedparser
    flattens it beyond use (see tests/data/corpus/README.md).
    """
    seen: set[str] = set()
    categories: list[str] = []
    for tag in tags:
        name = _clean_text(_str(_get(tag, "term"))) or _clean_text(_str(_get(tag, "label")))
        key = name.casefold()
        if name and key not in seen:
            seen.add(key)
            categories.append(name)
    return tuple(categories)


def _author(raw: Mapping[str, Any]) -> str | None:
    """Return the author's name as plain text, or None."""
    detail = _mapping(_get(raw, "author_detail"))
    name = _clean_text(_str(_get(detail, "name"))) or _clean_text(_str(_get(raw, "author")))
    return name or None


def _media_image(raw: Mapping[str, Any], base: str) -> str | None:
    """Return the first image from Media RSS content or thumbnails, else from image enclosures."""
    for media in _mappings(_get(raw, "media_content")):
        medium = _str(_get(media, "medium")).lower()
        if medium == "image" or _str(_get(media, "type")).lower().startswith("image/"):
            found = canonical_url(_str(_get(media, "url")), base)
            if found:
                return found
    for thumbnail in _mappings(_get(raw, "media_thumbnail")):
        found = canonical_url(_str(_get(thumbnail, "url")), base)
        if found:
            return found
    for link in _mappings(_get(raw, "links")):  # feedparser derives `enclosures` from these
        kind = _str(_get(link, "type")).lower()
        if _get(link, "rel") == "enclosure" and kind.startswith("image/"):
            found = canonical_url(_str(_get(link, "href")), base)
            if found:
                return found
    return None


def _first_image(tree: LexborHTMLParser, base: str) -> str | None:
    """Return the first `<img src>` in a parsed fragment that is not a 1×1 tracking pixel."""
    for img in tree.css("img[src]"):
        attrs = img.attributes
        if attrs.get("width") in ("0", "1") or attrs.get("height") in ("0", "1"):
            continue
        found = canonical_url(attrs.get("src") or "", base)
        if found:
            return found
    return None


def _scan_html_page(content: bytes, base_url: str) -> tuple[str | None, tuple[str, ...]]:
    """Return an HTML page's title and the feed URLs it advertises (see `find_feed_links`)."""
    tree = LexborHTMLParser(content, encoding=True)
    base_tag = tree.css_first("base[href]")
    if base_tag is not None:
        base_href = canonical_url(base_tag.attributes.get("href") or "", base_url)
        base_url = base_href or base_url
    feeds: list[str] = []
    json_feeds: list[str] = []
    for link in tree.css("link[href][type]"):
        attrs = link.attributes
        if "alternate" not in (attrs.get("rel") or "").lower().split():
            continue
        kind = (attrs.get("type") or "").split(";")[0].strip().lower()
        group = feeds if kind in _FEED_TYPES else json_feeds if kind in _JSON_FEED_TYPES else None
        found = canonical_url(attrs.get("href") or "", base_url) if group is not None else None
        if group is not None and found and found not in feeds and found not in json_feeds:
            group.append(found)
    title_node = tree.css_first("title")
    title = _clean_text(title_node.text()) if title_node is not None else ""
    return title or None, (*feeds, *json_feeds)


def _quote_whitespace(text: str) -> str:
    """Percent-encode whitespace, as a browser does, so a URL never ends in a space."""
    if not _WHITESPACE.search(text):
        return text
    return _WHITESPACE.sub(lambda match: quote(match.group(), safe=""), text)


def _looks_like_html(content: bytes, content_type: str | None) -> bool:
    """Tell whether the bytes are an HTML page, by Content-Type or by the first kilobyte."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        return True
    head = content[:_HTML_SNIFF_BYTES].lower()
    return b"<html" in head or b"<!doctype html" in head


def _parse_html(html: str) -> LexborHTMLParser:
    """Parse an HTML fragment with lexbor."""
    return LexborHTMLParser(html, is_fragment=True)


def _tree_text(tree: LexborHTMLParser) -> str:
    """Return the cleaned text of a parsed fragment; consumes (mutates) the tree."""
    for node in tree.css(_HIDDEN_SELECTOR):
        node.decompose()
    for block in tree.css(_BLOCK_SELECTOR):
        block.insert_before(" ")
        block.insert_after(" ")
    return _clean_text(tree.text())


def _clean_text(text: str) -> str:
    """Remove invisible characters and fold whitespace; text is not unescaped."""
    text = _INVISIBLE.sub("", text)
    if "\u200c" in text or "\u200d" in text:
        text = _STRAY_JOINER.sub("", text)
    return " ".join(text.split())


def _detail_text(value: str, detail: object) -> str:
    """Return a text construct as plain text, honouring the type feedparser gave it."""
    if not value:
        return ""
    return _plain_text(value, _content_type(detail) if detail else "text/html")


def _plain_text(value: str, content_type: str) -> str:
    """Return a value of the given type as plain text ("" for non-text types, e.g. base64).

    feedparser calls a value plain text when its markup is not "safe" HTML, so an escaped
    `&lt;script&gt;` in an RSS title arrives as the text `<script>`. Tags in plain text are
    stripped all the same (nobody means them as words); its entities were decoded already, so
    `&` is escaped first to keep them from being decoded a second time.
    """
    if _is_html(content_type):
        return html_to_text(value)
    if content_type.startswith("text/") or not content_type:
        if _TAG_LIKE.search(value):
            return html_to_text(value.replace("&", "&amp;"))
        return _clean_text(value)
    return ""


def _content_type(detail: object) -> str:
    """Return the media type of a feedparser detail dict, lower-cased."""
    return _str(_get(_mapping(detail), "type")).lower()


def _is_text(content_type: str) -> bool:
    """Tell whether a media type is text a person reads (HTML, XHTML or plain text)."""
    return not content_type or _is_html(content_type) or content_type.startswith("text/")


def _is_html(content_type: str) -> bool:
    """Tell whether a media type is HTML or XHTML."""
    return "html" in content_type


def _first_words(text: str, limit: int) -> str:
    """Return the start of `text`, at most `limit` chars, cut at a word boundary with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


def _clip(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, marking the cut with "…"."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def _describe(exc: object) -> str:
    """Return a short, readable account of a bozo exception."""
    if isinstance(exc, SAXParseException):
        # "near": feedparser re-encodes the document and may add an XML declaration line.
        return _clip(f"{exc.getMessage()} near line {exc.getLineNumber()}", 200)
    text = " ".join(str(exc).split()) or type(exc).__name__
    return _clip(text, 200)


def _sha256(text: str) -> str:
    """Return `sha256:` and the hex digest of the text's UTF-8 bytes."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _get(mapping: object, key: str) -> Any:
    """Read a key from a feedparser dict without its aliasing and deprecation warnings."""
    return dict.get(mapping, key) if isinstance(mapping, dict) else None


def _mapping(value: object) -> Mapping[str, Any]:
    """Return the value if it is a dict, else an empty one."""
    return value if isinstance(value, dict) else {}


def _mappings(value: object) -> list[Mapping[str, Any]]:
    """Return the dicts in a feedparser list value (tags, content, enclosures, ...)."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _str(value: object) -> str:
    """Return the value if it is a string, else ""."""
    return value if isinstance(value, str) else ""
