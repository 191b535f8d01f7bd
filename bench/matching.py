"""Matching: 10,000 posts against 200 topics of 10 keywords and 5 categories each (pure code)."""

from __future__ import annotations

import random
import time

from bench.common import Ctx, Row, median
from bot.domain.matching import TopicMatcher
from bot.domain.types import ParsedEntry, TopicRules

WORDS = [f"word{n}" for n in range(5000)]


def _topics(count: int, rng: random.Random) -> list[TopicRules]:
    return [
        TopicRules(
            topic_id=t,
            slug=f"topic-{t}",
            categories=tuple(f"cat-{rng.randrange(400)}" for _ in range(5)),
            keywords=tuple(
                " ".join(rng.sample(WORDS, rng.choice((1, 1, 2))))
                + ("*" if rng.random() < 0.2 else "")
                for _ in range(10)
            ),
        )
        for t in range(1, count + 1)
    ]


def _posts(count: int, rng: random.Random) -> list[ParsedEntry]:
    return [
        ParsedEntry(
            identity=f"p{n}",
            url=f"https://campaign.example.org/{n}",
            title=" ".join(rng.choices(WORDS, k=10)),
            summary=" ".join(rng.choices(WORDS, k=80)),
            categories=tuple(f"cat-{rng.randrange(400)}" for _ in range(3)),
        )
        for n in range(count)
    ]


async def matching(ctx: Ctx) -> Row:
    """Build the matcher and match every post; the time of both together."""
    rng = random.Random(7)
    topics = _topics(200, rng)
    posts = _posts(ctx.size(10_000, 500), rng)
    runs = []
    matched = 0
    for _ in range(ctx.repeat):
        started = time.perf_counter()
        matcher = TopicMatcher(topics)
        results = matcher.match_many(posts)
        runs.append(time.perf_counter() - started)
        matched = sum(1 for r in results if r)
    value = median(runs)
    return Row(
        "matching",
        f"matching ({len(posts):,} posts × 200 topics of 10 keywords, 5 categories)",
        value,
        "s",
        "<= 1 s",
        value <= 1.0,
        runs,
        note=f"{matched:,} posts matched at least one topic",
    )
