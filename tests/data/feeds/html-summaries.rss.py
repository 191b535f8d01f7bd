"""Expected result of parsing html-summaries.rss: text from HTML, images, tags, authors, dates."""

from datetime import UTC, datetime

from bot.domain.types import Facet, ParsedEntry, ParsedFeed

url = "https://campaign.example.org/feed/"

feed = ParsedFeed(
    # "&amp;amp;" in the XML is "&amp;" in a title feedparser treats as HTML: one "&"
    title="Clean Air Now & Friends",
    site_url="https://campaign.example.org/",
    entries=(
        ParsedEntry(
            identity="campaign-101",
            url="https://campaign.example.org/2026/07/block-and-inline/",
            title="Block and inline",
            # blocks separate words, <b>W</b>ord does not; "&amp;hellip;" is decoded once only
            summary="First paragraph. Second Word &hellip; and … line two one two cell cell",
            published=datetime(2026, 7, 18, 8, 30, tzinfo=UTC),
            # "climate" repeats "Climate"; the blank category is dropped; commas stay
            categories=("Climate", "Air, Water & Soil", "Health"),
            # the same terms as facets of kind "category"
            facets=(
                Facet("category", "Climate"),
                Facet("category", "Air, Water & Soil"),
                Facet("category", "Health"),
            ),
            author="Ana Lima",
            # the 1×1 pixel is skipped; the relative src resolves against the feed URL
            image_url="https://campaign.example.org/img/lead.jpg",
        ),
        ParsedEntry(
            identity="https://campaign.example.org/?p=102",
            url="https://campaign.example.org/2026/07/media/",
            title="Media RSS image",
            summary="Plain text summary, no markup.",
            published=datetime(2026, 7, 17, 8, 0, tzinfo=UTC),
            author="Press Office",
            # the video is skipped; media:content beats the thumbnail and the enclosure
            image_url="https://cdn.example.org/photo.jpg",
        ),
        ParsedEntry(
            identity="https://campaign.example.org/?p=103",
            url="https://campaign.example.org/2026/07/qa/",
            title="Q&A: what’s next",
            summary="Escaped HTML works too.",
            published=datetime(2026, 7, 16, 8, 0, tzinfo=UTC),
            # the audio enclosure is skipped
            image_url="https://cdn.example.org/poster.png",
        ),
        ParsedEntry(
            identity="https://campaign.example.org/?p=104",
            url="https://campaign.example.org/2026/07/untitled/",
            title="Supporters in twelve cities marched on Saturday to demand that the council…",
            summary=(
                "Supporters in twelve cities marched on Saturday to demand that the council"
                " adopt the clean air plan before the summer recess."
            ),
            published=datetime(2026, 7, 15, 8, 0, tzinfo=UTC),
        ),
        ParsedEntry(
            identity="https://campaign.example.org/?p=105",
            url="https://campaign.example.org/2026/07/future/",
            title="A date far in the future is not trusted",
            summary="Scheduled post.",
            published=None,
        ),
    ),
)
