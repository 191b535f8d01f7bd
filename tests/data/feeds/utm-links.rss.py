"""Expected result of parsing utm-links.rss: canonical URLs."""

from bot.domain.types import ParsedEntry, ParsedFeed

url = "https://news.example.org/feed"

feed = ParsedFeed(
    title="Tracked links",
    site_url="https://news.example.org/",
    entries=(
        ParsedEntry(
            identity="story-7",
            # utm_* (any case) and the fragment go; id and lang keep their order
            url="https://news.example.org/story?id=7&lang=pt",
            title="Tracking parameters dropped",
            summary="",
        ),
        ParsedEntry(
            identity="story-8",
            url="http://news.example.org/2026/07/original/",
            title="FeedBurner origLink preferred",
            summary="",
        ),
        ParsedEntry(
            identity="story-9",
            url=None,
            title="Script link dropped",
            summary="",
        ),
    ),
)
