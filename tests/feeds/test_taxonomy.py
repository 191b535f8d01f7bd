"""Tests for feeds' own taxonomies (bot.feeds.taxonomy through bot.feeds.parse), the full text
(`content_text`) and WordPress's "The post … appeared first on …" footer (issue 11)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.types import Facet, ParsedEntry
from bot.feeds.parse import parse_feed, strip_boilerplate
from bot.feeds.taxonomy import custom_facets, declares_custom_namespace

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus" / "real-feeds"
AMNESTY = CORPUS / "amnesty-org_en-feed_wordpress.xml"
AMNESTY_URL = "https://www.amnesty.org/en/feed/"
NOW = datetime(2026, 7, 20, 12, 0, tzinfo=UTC)
URL = "https://ngo.example.org/feed/"
NGO = 'xmlns:ngo="https://ngo.example.org/ns"'
REGIONS = "<ngo:regions><ngo:term>Europe</ngo:term></ngo:regions>"

# amnesty.org's items in document order: (guid, facets as "kind:name:id").
AMNESTY_FACETS = [
    (
        "https://www.amnesty.org/en/?p=240632",
        [
            "type:News:1148",
            "country:Africa:1698",
            "country:East Africa, the Horn and Great Lakes:1702",
            "country:Southern Africa:1703",
            "country:West and Central Africa:1704",
            "topic:International Justice:2100",
            "topic:Justice Systems:2099",
            "type:Press Release:2143",
        ],
    ),
    (
        "https://www.amnesty.org/en/?p=240715",
        [
            "type:News:1148",
            "topic:Armed Conflict:2063",
            "topic:Armed Groups:2064",
            "topic:Refugees:2105",
            "country:Asia and the Pacific:1697",
            "country:Bangladesh:1723",
            "country:Myanmar:1821",
            "country:South Asia:1709",
            "country:South-East Asia and the Pacific:1710",
        ],
    ),
    (
        "https://www.amnesty.org/en/?p=240711",
        [
            "type:News:1148",
            "topic:Asylum:2108",
            "topic:EU:2124",
            "topic:Migrants:2107",
            "topic:Refugees:2105",
            "country:Middle East and North Africa:1701",
            "country:North Africa:2294",
            "country:Tunisia:2053",
            "type:Press Release:2143",
        ],
    ),
    (
        # "Press Release" is both a content type (2181) and a resource type (2143): once.
        "https://www.amnesty.org/en/?p=240654",
        [
            "type:News:1148",
            "type:Press Release:2181",
            "country:Americas:1699",
            "country:Central America and the Caribbean:1705",
            "country:El Salvador:1787",
            "topic:Detention:2077",
            "topic:Unlawful Detention:2078",
            "topic:War Crimes and Crimes Against Humanity:2066",
        ],
    ),
    ("https://www.amnesty.org/en/?p=999999", ["type:News:1148"]),
    (
        "https://www.amnesty.org/en/?p=888888",
        [
            "type:Campaigns:2133",
            "country:Egypt:1786",
            "country:Middle East and North Africa:1701",
            "topic:Prisoners of Conscience:2079",
            "type:Urgent Action:2148",
        ],
    ),
    ("https://www.amnesty.org/en/?p=777777", ["type:News:1148", "type:Report:2146"]),
]


def rss(items: str, *, namespaces: str = NGO, prolog: str = "") -> bytes:
    """An RSS 2.0 document with these items and namespace declarations."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0" {namespaces}>'
        f"<channel><title>F</title>{items}</channel></rss>"
    ).encode()


def entries(content: bytes) -> tuple[ParsedEntry, ...]:
    """Parse a document and return its entries."""
    return parse_feed(content, url=URL, now=NOW).entries


def labels(entry: ParsedEntry) -> list[str]:
    """An entry's facets as "kind:name:id"."""
    return [f"{f.kind}:{f.name}:{f.ident}" for f in entry.facets]


@pytest.fixture(scope="module")
def amnesty() -> tuple[ParsedEntry, ...]:
    """The amnesty.org corpus file, parsed."""
    return parse_feed(AMNESTY.read_bytes(), url=AMNESTY_URL, now=NOW).entries


# -- amnesty.org -------------------------------------------------------------------------------


def test_amnesty_items_have_their_amn_facets_with_ids(amnesty: tuple[ParsedEntry, ...]) -> None:
    """Every item of the amnesty.org file gets its topics, countries (regions included) and
    content/resource types, with their ids, in document order."""
    assert [(e.identity, labels(e)) for e in amnesty] == AMNESTY_FACETS


def test_amnesty_summaries_lose_the_wordpress_footer(amnesty: tuple[ParsedEntry, ...]) -> None:
    """No summary or full text keeps "The post … appeared first on Amnesty International."."""
    texts = [text for e in amnesty for text in (e.summary, e.content_text)]
    assert [t for t in texts if "appeared first on" in t and "boilerplate" not in t] == []
    assert amnesty[0].summary.endswith("Released on World […]")


def test_amnesty_full_text_is_kept_when_it_says_more(amnesty: tuple[ParsedEntry, ...]) -> None:
    """The El Salvador item's body (torture, enforced disappearances) is its content_text; an
    item whose content adds nothing to the excerpt, or has none, has ""."""
    by_guid = {e.identity.rsplit("=", 1)[1]: e for e in amnesty}
    assert (
        "torture, enforced disappearances" in by_guid["240654"].content_text,
        "torture" in by_guid["240654"].summary,
        by_guid["240711"].content_text,  # content = the excerpt without "[…]"
        by_guid["999999"].content_text,  # no content:encoded
    ) == (True, False, "", "")


# -- namespaces ----------------------------------------------------------------------------------


def test_namespace_is_matched_by_uri_not_prefix() -> None:
    """amnesty.org's URI under another prefix is read as amn:; the prefix amn: bound to another
    URI is a custom taxonomy like any other (kind = local name)."""
    item = (
        '<item><title>t</title><{p}:countries><{p}:id name="Sudan">1998</{p}:id></{p}:countries>'
        "</item>"
    )
    theirs = rss(item.format(p="x"), namespaces='xmlns:x="http://www.amnesty.org/en"')
    other = rss(item.format(p="amn"), namespaces='xmlns:amn="https://example.org/amn/"')
    assert (labels(entries(theirs)[0]), labels(entries(other)[0])) == (
        ["country:Sudan:1998"],
        ["countries:Sudan:1998"],
    )


def test_standard_namespaces_are_not_taxonomies() -> None:
    """Only a non-standard namespace starts the XML pass; media:, dc:, itunes: are not one."""
    standard = (
        'xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
    )
    item = (
        "<item><title>t</title><media:group><media:title>Photo</media:title></media:group>"
        '<itunes:category text="News"><itunes:category text="Politics"/></itunes:category>'
        "</item>"
    )
    document = rss(item, namespaces=standard)
    assert (
        declares_custom_namespace(document),
        declares_custom_namespace(AMNESTY.read_bytes()),
        # iTunes categories are tags feedparser reads: categories, nothing else
        labels(entries(document)[0]),
    ) == (False, True, ["category:News:None", "category:Politics:None"])


def test_items_that_do_not_line_up_get_no_custom_facets() -> None:
    """A bare <entry> in RSS is an entry to feedparser but not an item to the XML pass: the
    counts differ, so no entry gets custom facets rather than another entry's."""
    document = rss(f"<item><title>a</title>{REGIONS}</item><entry><title>b</title></entry>")
    found = entries(document)
    assert ([e.title for e in found], [e.facets for e in found]) == (["a", "b"], [(), ()])


# -- hostile XML ---------------------------------------------------------------------------------


LAUGHS_DTD = (
    '<!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
        for n in range(1, 10)
    )
    + "]>"
)


XXE_DTD = '<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'


def entity_feed(prolog: str, term: str) -> bytes:
    """A feed whose custom taxonomy term is an entity declared in `prolog`."""
    return rss(
        f"<item><title>t</title><ngo:regions><ngo:term>{term}</ngo:term></ngo:regions></item>",
        prolog=prolog,
    )


@pytest.mark.parametrize(
    ("prolog", "term"),
    [
        pytest.param(LAUGHS_DTD, "&lol9;", id="billion-laughs"),
        pytest.param(XXE_DTD, "&x;", id="xxe"),
        pytest.param('<!DOCTYPE rss [<!ENTITY x "Europe">]>', "&x;", id="any-entity"),
    ],
)
def test_entity_declarations_are_refused_by_the_facet_pass(prolog: str, term: str) -> None:
    """The XML pass refuses any entity declaration at once: nothing expanded or read."""
    started = time.monotonic()
    found = custom_facets(entity_feed(prolog, term))
    assert (found, time.monotonic() - started < 1) == (None, True)


@pytest.mark.parametrize(
    "prolog",
    [
        pytest.param(XXE_DTD, id="xxe"),
        pytest.param('<!DOCTYPE rss [<!ENTITY x "E">]>', id="entity"),
    ],
)
def test_a_feed_with_entities_still_parses_without_custom_facets(prolog: str) -> None:
    """The feed itself parses as feedparser makes it (the billion laughs, slow in feedparser,
    is tests/faults/test_hostile_feeds.py); only its custom facets are missing."""
    assert [e.facets for e in entries(entity_feed(prolog, "&x;"))] == [()]


def test_deep_nesting_in_a_custom_namespace_does_not_hang() -> None:
    """10,000 nested custom elements inside an item: the pass reads the item's taxonomy and
    ignores the tower (not a term: it has children), in well under the test's timeout."""
    tower = "<ngo:x>" * 10_000 + "</ngo:x>" * 10_000
    document = rss(f"<item><title>deep</title>{REGIONS}{tower}</item>")
    started = time.monotonic()
    found = custom_facets(document)
    elapsed = time.monotonic() - started
    assert (found, elapsed < 5) == ([(Facet("regions", "Europe"),)], True)


def test_unclosed_deep_nesting_gives_no_custom_facets() -> None:
    """A tower never closed is not well-formed: no custom facets, and no exception."""
    document = rss(f"<item><title>deep</title>{REGIONS}" + "<ngo:x>" * 10_000 + "</item>")
    assert custom_facets(document) is None


# -- the WordPress footer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Body. The post Title appeared first on Site.", "Body."),
        ("Body [&] The post A: B appeared first on Amnesty International", "Body [&]"),
        ("Body. The post Title appeared first on example.org.", "Body."),
        ("Corps. L’article Titre est apparu en premier sur Site.", "Corps."),
        ("Text. Der Beitrag Titel erschien zuerst auf Seite.", "Text."),
        # the rightmost footer goes; an earlier "The post office" keeps its words
        (
            "The post office closed. The post Title appeared first on Site.",
            "The post office closed.",
        ),
        # not trailing, not the footer: kept
        ("The post Title appeared first on Site. And then more words follow here", None),
        ("the post office appeared first on Main Street.", None),
        ("The post-war years", None),
    ],
)
def test_strip_boilerplate(text: str, expected: str | None) -> None:
    """The footer is removed wherever WordPress puts it: at the end, in any of its wordings."""
    assert strip_boilerplate(text) == (text if expected is None else expected)


def test_footer_with_links_is_removed_from_summary_and_content() -> None:
    """With links (as WordPress writes it) the footer goes from both texts."""
    footer = (
        '<p>The post <a href="https://e.org/1">A title</a> appeared first on '
        '<a href="https://e.org">Site</a>.</p>'
    )
    item = (
        f"<item><title>A title</title><description><![CDATA[<p>Short [&#8230;]</p>{footer}]]>"
        "</description><content:encoded><![CDATA[<p>Short but then the whole story.</p>"
        f"{footer}]]></content:encoded></item>"
    )
    namespaces = 'xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    (entry,) = entries(rss(item, namespaces=namespaces))
    assert (entry.summary, entry.content_text) == ("Short […]", "Short but then the whole story.")
