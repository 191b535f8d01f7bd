"""Read the taxonomies a feed declares in its own XML namespace, which feedparser flattens away.

Owns: which namespaces are standard (not taxonomies), the `amn:` (amnesty.org) mapping of
`topics`/`countries`/`regions`/`content-types`/`resource-types` to the facet kinds "topic",
"country" and "type", and the generic rule for other WordPress-style custom taxonomies: a child
of an item in a non-standard namespace whose own children carry a `name` attribute or text
gives facets of kind = the container's local name (`<ngo:regions><ngo:term id="7">Europe…`).
Namespaces are matched by URI, never by prefix.

Safety: the raw bytes go through defusedxml's expat parser, which refuses entity declarations
(billion laughs) and external references; any refusal or syntax error means "no custom facets",
never an exception. Nothing here recurses, so a 10,000-deep document costs only its size.

Must not: do I/O or raise; `bot.feeds.parse` calls `custom_facets` and decides what to do with
its answer (the per-item lists must line up with feedparser's entries, by document order).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET  # types only: parsing goes through defusedxml
from collections.abc import Iterator

from defusedxml import ElementTree as SafeET

from bot.domain.types import Facet

__all__ = ["custom_facets", "declares_custom_namespace"]

MAX_FACETS_PER_ENTRY = 200
"""More terms than this on one entry are ignored (a feed gone wrong, not a taxonomy)."""

MAX_FACET_CHARS = 200
"""A term's name or id longer than this is not a term."""

# Namespaces that feedparser reads itself or that never hold a taxonomy, without scheme and
# trailing "/" or "#", lower-cased (see `_namespace_key`).
_STANDARD_NAMESPACES = frozenset(
    {
        "a9.com/-/spec/opensearch/1.1",
        "a9.com/-/spec/opensearchrss/1.0",
        "backend.userland.com/creativecommonsrssmodule",
        "backend.userland.com/rss2",
        "blogs.law.harvard.edu/tech/rss",
        "madskills.com/public/xml/rss/module/pingback",
        "madskills.com/public/xml/rss/module/trackback",
        "my.netscape.com/rdf/simple/0.9",
        "podcastindex.org/namespace/1.0",
        "purl.org/atom/app",
        "purl.org/atom/ns",
        "purl.org/dc/dcmitype",
        "purl.org/dc/elements/1.1",
        "purl.org/dc/terms",
        "purl.org/rss/1.0",
        "purl.org/rss/1.0/modules/admin",
        "purl.org/rss/1.0/modules/annotate",
        "purl.org/rss/1.0/modules/content",
        "purl.org/rss/1.0/modules/event",
        "purl.org/rss/1.0/modules/image",
        "purl.org/rss/1.0/modules/slash",
        "purl.org/rss/1.0/modules/syndication",
        "purl.org/rss/1.0/modules/taxonomy",
        "purl.org/syndication/history/1.0",
        "purl.org/syndication/thread/1.0",
        "rssnamespace.org/feedburner/ext/1.0",
        "schemas.google.com/blogger/2008",
        "schemas.google.com/g/2005",
        "search.yahoo.com/mrss",
        "search.yahoo.com/rss",
        "web.resource.org/cc",
        "webns.net/mvcb",
        "wellformedweb.org/commentapi",
        "www.georss.org/georss",
        "www.google.com/schemas/play-podcasts/1.0",
        "www.google.com/schemas/reader/atom",
        "www.itunes.com/dtds/podcast-1.0.dtd",
        "www.opengis.net/gml",
        "www.spotify.com/ns/rss",
        "www.w3.org/1999/02/22-rdf-syntax-ns",
        "www.w3.org/1999/xhtml",
        "www.w3.org/1999/xlink",
        "www.w3.org/2000/01/rdf-schema",
        "www.w3.org/2001/xmlschema-instance",
        "www.w3.org/2003/01/geo/wgs84_pos",
        "www.w3.org/2005/atom",
        "www.w3.org/2007/app",
        "www.w3.org/xml/1998/namespace",
        "xmlns.com/foaf/0.1",
        # Emergency alerts (CAP): coded values, not a taxonomy anyone names in a topic.
        "urn:oasis:names:tc:emergency:cap:1.1",
        "urn:oasis:names:tc:emergency:cap:1.2",
    }
)

# The elements that are feed entries, by namespace: RSS 0.9x/2.0 (no namespace), RSS 1.0 and
# 0.90 (RDF), Atom 1.0 and 0.3. Anything else named "item" (media:item, ...) is not one.
_ENTRY_TAGS = frozenset(
    {
        "item",
        "{http://purl.org/rss/1.0/}item",
        "{http://my.netscape.com/rdf/simple/0.9/}item",
        "{http://www.w3.org/2005/Atom}entry",
        "{http://purl.org/atom/ns#}entry",
    }
)

# amnesty.org declares `xmlns:amn="https://www.amnesty.org/<language>/"`.
_AMNESTY = re.compile(r"(?:www\.)?amnesty\.org(?:/[a-z]{2}(?:-[a-z]{2})?)?")
_AMNESTY_KINDS = {
    "topics": "topic",
    "countries": "country",
    "regions": "country",
    "locations": "country",
    "content-types": "type",
    "resource-types": "type",
    "document-types": "type",
}

_XMLNS = re.compile(rb"""xmlns:[A-Za-z_][\w.-]*\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def declares_custom_namespace(content: bytes) -> bool:
    """Tell cheaply whether the document declares a prefixed namespace that is not standard.

    Only then is the XML pass of `custom_facets` worth its cost.
    """
    if b"xmlns:" not in content:
        return False
    for match in _XMLNS.finditer(content):
        uri = (match.group(1) or match.group(2) or b"").decode("utf-8", "replace")
        if _namespace_key(uri) not in _STANDARD_NAMESPACES:
            return True
    return False


def custom_facets(content: bytes) -> list[tuple[Facet, ...]] | None:
    """Return the custom-taxonomy facets of each entry element, in document order.

    Args:
        content: The feed document, as fetched.

    Returns:
        One tuple per entry element (an RSS item or Atom entry), in document order, possibly
        empty; None when the document cannot be read safely (entity declarations, external
        references, not well-formed, an encoding expat does not know).
    """
    try:
        return list(_scan(content))
    except Exception:  # defusedxml's refusals, ParseError, LookupError: all mean "none"
        return None


def _scan(content: bytes) -> Iterator[tuple[Facet, ...]]:
    """Walk the document once, yielding each entry's facets as its end tag is read."""
    for _event, element in SafeET.iterparse(io.BytesIO(content), events=("end",)):
        if element.tag not in _ENTRY_TAGS:
            continue
        yield _entry_facets(element)
        element.clear()  # keeps memory flat on a long feed


def _entry_facets(entry: ET.Element) -> tuple[Facet, ...]:
    """The facets of one entry element: its direct children in a non-standard namespace."""
    facets: list[Facet] = []
    seen: set[tuple[str, str]] = set()
    for container in entry:
        namespace, local = _split_tag(container.tag)
        if not namespace or _namespace_key(namespace) in _STANDARD_NAMESPACES:
            continue
        kind = _kind(namespace, local)
        for term in container:
            facet = _term(kind, term)
            if facet is None:
                continue
            key = (facet.kind, facet.name.casefold())
            if key in seen:  # "Press Release" as both content and resource type: once
                continue
            seen.add(key)
            facets.append(facet)
            if len(facets) >= MAX_FACETS_PER_ENTRY:
                return tuple(facets)
    return tuple(facets)


def _term(kind: str, term: ET.Element) -> Facet | None:
    """One term: `<x:id name="Refugees">2105</x:id>` or `<x:term id="7">Europe</x:term>`."""
    if not isinstance(term.tag, str) or len(term):  # a comment, or not a leaf
        return None
    text = _clean(term.text or "")
    name = _clean(term.get("name") or "")
    if name:
        ident = text or _clean(term.get("id") or "") or None
    else:
        name, ident = text, _clean(term.get("id") or "") or None
    if not name or len(name) > MAX_FACET_CHARS:
        return None
    if ident is not None and len(ident) > MAX_FACET_CHARS:
        ident = None
    return Facet(kind, name, ident)


def _kind(namespace: str, local: str) -> str:
    """The facet kind of a container: amnesty.org's mapped kinds, else its local name."""
    if _AMNESTY.fullmatch(_namespace_key(namespace)):
        return _AMNESTY_KINDS.get(local.lower(), local.lower())
    return local.lower()


def _split_tag(tag: object) -> tuple[str, str]:
    """ElementTree's "{uri}local" as (uri, local); ("", tag) without a namespace."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return "", tag


def _namespace_key(uri: str) -> str:
    """A namespace URI compared loosely: no scheme, no trailing "/" or "#", lower-case."""
    key = uri.strip().lower()
    for scheme in ("https://", "http://"):
        if key.startswith(scheme):
            key = key[len(scheme) :]
            break
    return key.rstrip("/#")


def _clean(text: str) -> str:
    """Fold whitespace; terms are short plain text."""
    return " ".join(text.split())
