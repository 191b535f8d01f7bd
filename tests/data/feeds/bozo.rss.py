"""Expected result of parsing bozo.rss: not well-formed, but both items are used."""

from bot.domain.types import ParsedEntry, ParsedFeed

url = "https://sloppy.example.org/feed"

feed = ParsedFeed(
    title="Sloppy CMS",
    site_url="https://sloppy.example.org/",
    bozo_reason="undefined entity near line 8",
    entries=(
        ParsedEntry(
            identity="https://sloppy.example.org/cafe",
            url="https://sloppy.example.org/cafe",
            title="Café meeting",
            summary="Bring friends.",
        ),
        ParsedEntry(
            identity="https://sloppy.example.org/tea?a=1&b=2",
            url="https://sloppy.example.org/tea?a=1&b=2",
            title="Tea & biscuits",
            summary="Also fine.",
        ),
    ),
)
