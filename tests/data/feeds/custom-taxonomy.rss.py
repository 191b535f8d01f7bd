"""Expected result of parsing custom-taxonomy.rss: a feed's own taxonomies become facets."""

from datetime import UTC, datetime

from bot.domain.types import Facet, ParsedEntry, ParsedFeed

url = "https://ngo.example.org/feed/"

feed = ParsedFeed(
    title="Clean Air Network",
    site_url="https://ngo.example.org/",
    entries=(
        ParsedEntry(
            identity="https://ngo.example.org/?p=501",
            url="https://ngo.example.org/2026/07/balkans-coal/",
            title="Western Balkans: coal plants keep poisoning the air",
            # Yoast's French footer ("L’article … est apparu en premier sur …") is dropped
            summary="Five plants emit more than the rest of Europe's fleet […]",
            published=datetime(2026, 7, 17, 8, 0, tzinfo=UTC),
            categories=("Climate",),
            author="Press Office",
            facets=(
                # categories first, then the feed's own terms in document order
                Facet("category", "Climate"),
                # generic rule: kind = the container's local name; the repeated "europe" is
                # dropped, whitespace is folded
                Facet("regions", "Europe", "12"),
                Facet("regions", "Western Balkans", "31"),
                # a `name` attribute names the term and the text is its id; the comment, the
                # empty term, the leaf <ngo:priority> and the nested <ngo:meta> are not terms
                Facet("campaigns", "Clean Air"),
                Facet("campaigns", "Coal Exit", "77"),
            ),
            # the full text says more than the excerpt; its footer is dropped too
            content_text=(
                "Five plants emit more than the rest of Europe's fleet together."
                " Children near the plants suffer from asthma twice as often."
            ),
        ),
        ParsedEntry(
            identity="https://ngo.example.org/?p=502",
            url="https://ngo.example.org/2026/07/soudan/",
            title="Soudan : les civils pris au piège",
            # the whole description was the footer
            summary="",
            published=datetime(2026, 7, 16, 8, 0, tzinfo=UTC),
            # amnesty.org's namespace, French edition, under the prefix `ai:`: read by its URI
            facets=(Facet("country", "Soudan", "1998"), Facet("type", "Action urgente", "2149")),
        ),
        ParsedEntry(
            identity="https://ngo.example.org/?p=503",
            url="https://ngo.example.org/2026/07/plain/",
            title="No taxonomy at all",
            # not the footer: it does not start with "The post "
            summary="Plain words; the post office appeared first on Main Street.",
            published=datetime(2026, 7, 15, 8, 0, tzinfo=UTC),
        ),
    ),
)
