"""Expected result of parsing no-guid.rss: identities from links, else from hashes."""

import hashlib
from datetime import UTC, datetime

from bot.domain.types import ParsedEntry, ParsedFeed


def sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


url = "https://ministry.example.go.kr/press/rss.xml"

summary_only = "No title, no date, no link: the title and identity come from this text."

feed = ParsedFeed(
    title="Press releases",
    site_url="http://ministry.example.go.kr/press",
    entries=(
        ParsedEntry(
            identity="http://ministry.example.go.kr/press/view.do?seq=321&page=1",
            url="http://ministry.example.go.kr/press/view.do?seq=321&page=1",
            title="Link only",
            summary="",
            published=datetime(2026, 7, 13, 0, 0, tzinfo=UTC),
        ),
        ParsedEntry(
            identity=sha256("Neither guid nor link\nSun, 12 Jul 2026 09:00:00 +0900"),
            url=None,
            title="Neither guid nor link",
            summary="Identity is sha256 of the title and the date as written.",
            published=datetime(2026, 7, 12, 0, 0, tzinfo=UTC),
        ),
        ParsedEntry(
            # no title and no date: the summary makes the hash, so such items do not collide
            identity=sha256("\n\n" + summary_only),
            url=None,
            title=summary_only,
            summary=summary_only,
        ),
        ParsedEntry(
            identity="http://ministry.example.go.kr/press/view.do?seq=319",
            url="http://ministry.example.go.kr/press/view.do?seq=319",
            title="Untitled",
            summary="",
        ),
    ),
)
