"""Read and write OPML 2.0 subscription lists: the feeds an admin moves in and out.

Owns: what an OPML file may be (at most `MAX_OPML_BYTES`, at most `MAX_OUTLINES` outlines, no
DTD or entities, root `<opml>` with a `<body>`), which outlines are feeds (any outline with an
`xmlUrl`, at any depth: folders nest), and the OPML 2.0 we write (head with title and
dateCreated, one `type="rss"` outline per feed).

Parsing uses defusedxml, so entity expansion ("billion laughs"), external entities and DTDs are
refused before anything is expanded; writing uses the stdlib ElementTree (escaping included).

Must not: do network or file I/O, touch the database, or raise anything but
`InvalidInputError` from `parse_opml` (its reason is a catalog message). Pure and synchronous.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.etree import ElementTree

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from bot.domain.wording import N_
from bot.errors import InvalidInputError

__all__ = ["MAX_OPML_BYTES", "MAX_OUTLINES", "OpmlFeed", "parse_opml", "write_opml"]

MAX_OPML_BYTES = 5 * 1024 * 1024
"""A larger file is refused unread (5 MiB: a list of 10,000 feeds is well under 2 MiB)."""

MAX_OUTLINES = 10_000
"""A file with more outlines (folders included) is refused."""

MAX_TITLE_CHARS = 200
"""Longer titles are cut (the feed name column holds 200 characters)."""

MAX_URL_CHARS = 2048

# Reasons, as fragments: "Sorry, <reason>." in chat, "FILE: <reason>" on the command line.
TOO_LARGE = N_("the file is larger than %(limit)s MB")
NOT_XML = N_("the file is not XML (%(detail)s)")
UNSAFE_XML = N_("the file declares XML entities or a DTD, which OPML never needs")
NOT_OPML = N_("the file is not OPML: its root element is <%(root)s>")
NO_BODY = N_("the OPML file has no <body>")
TOO_MANY = N_("the file has more than %(limit)s outlines")
NO_FEEDS = N_("the OPML file lists no feeds (no outline has an xmlUrl)")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One feed of an OPML file, or one to write into one."""

    url: str
    title: str | None = None
    site_url: str | None = None
    language: str | None = None


def parse_opml(content: bytes) -> list[OpmlFeed]:
    """The feeds an OPML file lists, in document order, each URL once.

    An outline is a feed when it has an `xmlUrl` (whatever its `type`: "rss" is usual,
    "atom" and none occur); its name is `title`, else `text`. Outlines nest to any depth
    (folders); a folder's own attributes are not feeds.

    Raises:
        InvalidInputError: the file is too large, not XML, declares entities or a DTD, is not
            OPML, has too many outlines or lists no feed. Nothing is returned then.
    """
    if len(content) > MAX_OPML_BYTES:
        raise InvalidInputError.worded(TOO_LARGE, limit=MAX_OPML_BYTES // (1024 * 1024))
    try:
        root = SafeElementTree.fromstring(content, forbid_dtd=True)
    except DefusedXmlException:
        raise InvalidInputError.worded(UNSAFE_XML) from None
    except ElementTree.ParseError as error:
        line, column = error.position
        detail = f"line {line}, column {column}"
        raise InvalidInputError.worded(NOT_XML, detail=detail) from None
    tag = _local_name(root.tag)
    if tag.lower() != "opml":
        raise InvalidInputError.worded(NOT_OPML, root=tag[:40])
    body = next((child for child in root if _local_name(child.tag).lower() == "body"), None)
    if body is None:
        raise InvalidInputError.worded(NO_BODY)
    feeds: list[OpmlFeed] = []
    seen: set[str] = set()
    count = 0
    for element in body.iter():
        if element is body or _local_name(element.tag).lower() != "outline":
            continue
        count += 1
        if count > MAX_OUTLINES:
            raise InvalidInputError.worded(TOO_MANY, limit=MAX_OUTLINES)
        feed = _feed(element)
        if feed is not None and feed.url not in seen:
            seen.add(feed.url)
            feeds.append(feed)
    if not feeds:
        raise InvalidInputError.worded(NO_FEEDS)
    return feeds


def write_opml(feeds: Iterable[OpmlFeed], *, title: str, created: datetime) -> bytes:
    """An OPML 2.0 document listing `feeds` (UTF-8, with an XML declaration)."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(created)
    body = ElementTree.SubElement(root, "body")
    for feed in feeds:
        # `text` is required; without a name it is the URL, which reads back as no name.
        attributes = {"type": "rss", "text": feed.title or feed.url}
        if feed.title:
            attributes["title"] = feed.title
        attributes["xmlUrl"] = feed.url
        if feed.site_url:
            attributes["htmlUrl"] = feed.site_url
        if feed.language:
            attributes["language"] = feed.language
        ElementTree.SubElement(body, "outline", attributes)
    ElementTree.indent(root)
    document: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def _feed(element: ElementTree.Element) -> OpmlFeed | None:
    """The feed an outline names, or None (a folder, or an empty or absurd xmlUrl)."""
    attributes = {_local_name(k): v for k, v in element.attrib.items()}
    url = _attribute(attributes, "xmlUrl")
    if url is None or len(url) > MAX_URL_CHARS:
        return None
    title = _attribute(attributes, "title") or _attribute(attributes, "text")
    if title == url:  # what we write for a feed without a name
        title = None
    site = _attribute(attributes, "htmlUrl")
    return OpmlFeed(
        url=url,
        title=title[:MAX_TITLE_CHARS] if title else None,
        site_url=site if site and len(site) <= MAX_URL_CHARS else None,
        language=(_attribute(attributes, "language") or "")[:35] or None,
    )


def _attribute(attributes: dict[str, str], name: str) -> str | None:
    """An attribute's value, folded to one line, matched case-insensitively; None if empty."""
    value = attributes.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in attributes.items() if k.lower() == lowered), None)
    if value is None:
        return None
    return " ".join(value.split()) or None


def _local_name(tag: object) -> str:
    """An element or attribute name without its namespace ("{ns}opml" -> "opml")."""
    text = tag if isinstance(tag, str) else ""
    return text.rpartition("}")[2]
