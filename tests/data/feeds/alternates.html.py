"""Expected result of parsing alternates.html: no entries, the advertised feeds instead."""

from bot.domain.types import ParsedFeed

url = "https://campaign.example.org/en/"
content_type = "text/html; charset=utf-8"

feed = ParsedFeed(
    title="Clean Air Now & Friends — Home",
    site_url="https://campaign.example.org/en/",
    entries=(),
    # RSS and Atom first, JSON Feed last; relative hrefs resolve against <base href>;
    # javascript: is dropped, "/en/feed/" repeats "feed/", rel="feed" is not rel="alternate"
    alternate_urls=(
        "https://campaign.example.org/en/feed/",
        "https://campaign.example.org/en/feed/atom/",
        "https://campaign.example.org/comments/feed/",
        "https://campaign.example.org/en/feed.json",
    ),
)
