"""Expected result of parsing relative-links.atom: every link ends up absolute."""

from datetime import UTC, datetime

from bot.domain.types import ParsedEntry, ParsedFeed

url = "https://campaign.example.org/blog/feed.atom"

feed = ParsedFeed(
    title="Clean Air Now: blog",
    site_url="https://campaign.example.org/",
    entries=(
        ParsedEntry(
            identity="tag:campaign.example.org,2026:post-1",
            url="https://campaign.example.org/blog/2026/07/clean-air",
            title="Relative to the feed URL",
            summary="Our photo:",
            # published wins over updated; +02:00 becomes UTC
            published=datetime(2026, 7, 18, 7, 0, tzinfo=UTC),
            author="Ana Lima",
            image_url="https://campaign.example.org/blog/img/air.jpg",
        ),
        ParsedEntry(
            # Atom ids are compared verbatim: the capitals stay
            identity="HTTP://Press.Example.net/Releases/42",
            url="https://press.example.net/releases/42.html",
            title="Relative to an absolute xml:base",
            summary="Only an updated date; the id keeps its capitals.",
            published=datetime(2026, 7, 17, 12, 0, tzinfo=UTC),
        ),
        ParsedEntry(
            identity="urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a",
            # "/archive/" resolves against the feed URL, not the previous entry's xml:base
            url="https://campaign.example.org/archive/old-post",
            title="Relative to a relative xml:base",
            summary="See more.",
        ),
    ),
)
