"""Expected result of parsing empty-channel.rss: a feed with no items is not an error."""

from bot.domain.types import ParsedFeed

url = "https://new.example.org/feed.xml"

feed = ParsedFeed(title="New campaign", site_url="https://new.example.org/", entries=())
