"""Expected result of parsing rtl-emoji.rss: RTL text and emoji intact, invisible junk gone."""

from bot.domain.types import ParsedEntry, ParsedFeed

url = "https://campaign.example.org/ar/feed/"

ZWJ, ZWNJ, RLM = "\u200d", "\u200c", "\u200f"

feed = ParsedFeed(
    title="حملة الهواء النقي",
    site_url="https://campaign.example.org/ar/",
    entries=(
        ParsedEntry(
            identity="urn:campaign:ar-1",
            url=None,
            title="هواء نظيف للجميع 🌍",
            summary=f"انضموا إلينا يوم السبت 👩{ZWJ}💻 + 🏳️{ZWJ}🌈",
        ),
        ParsedEntry(
            identity="urn:campaign:fa-1",
            url=None,
            title=f"می{ZWNJ}خواهیم نفس بکشیم",
            summary="Persian keeps its ZWNJ; English loses stray ones: here.",
        ),
        ParsedEntry(
            identity="urn:campaign:mixed-1",
            url=None,
            title=f"Zerowidth and override removed, mark {RLM}kept",
            summary="עברית and English: שלום world ✊🏽",
        ),
    ),
)
