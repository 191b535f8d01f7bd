"""Expected result of parsing hostile.rss: no script, handler or javascript: URL survives."""

from bot.domain.types import ParsedEntry, ParsedFeed

url = "https://hostile.example.org/feed"

feed = ParsedFeed(
    title="Hostile feed",
    site_url=None,
    entries=(
        ParsedEntry(
            identity="https://hostile.example.org/1",
            url="https://hostile.example.org/1",
            title="Innocent title",
            summary="Click here.",
            image_url="https://hostile.example.org/ok.png",
        ),
    ),
)
