"""PostRepo.search: the same posts for the same words on SQLite (FTS5) and PostgreSQL.

Every test runs on both databases against one table of expected answers, so both databases
giving those answers is what "the same results" means. Also: the index follows edits and
deletions, and migration 0005 backfills posts stored before it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import JSON, column, delete, inspect, select, table, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db import migrate
from bot.db.base import SEARCH_INDEX, SEARCH_TABLE, UTCDateTime
from bot.db.models import Post
from bot.db.repos import PostRepo
from bot.domain.search import query_terms, search_text
from bot.domain.types import ParsedEntry

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
Maker = async_sessionmaker[AsyncSession]

# Oldest first: a post's position here is its age rank (the last is the newest).
POSTS = (
    ("Écrire pour les droits", "Lettres aux autorités pour libérer Ana."),
    ("STOP TORTURE now", "Torture is never justified; sign the petition."),
    ("Write for Rights 2026", "Write a letter, change a life."),
    ("Tortured activist freed", "After 3 years, the campaign won."),
    ("Straße der Rechte", "Ein Brief für die Freiheit."),
    ("Пытки должны прекратиться", "Подпишите петицию против пыток."),
    ("Indigenous land rights", "Co2-free? The pipeline's route crosses sacred land."),
    ("ecrire, c'est agir", "Every letter counts: ECRIRE today."),
    ("Untitled", ""),
    ("Œuvre & <b>rights</b>", "Ampersands & tags are just text here."),
)

# query -> titles expected, newest first.
EXPECTED = {
    "écrire": ["ecrire, c'est agir", "Écrire pour les droits"],
    "ECRIRE": ["ecrire, c'est agir", "Écrire pour les droits"],
    "Ecrire droits": ["Écrire pour les droits"],
    "torture": ["Tortured activist freed", "STOP TORTURE now"],
    "TORTURE petition": ["STOP TORTURE now"],
    "tort": ["Tortured activist freed", "STOP TORTURE now"],
    "write rights": ["Write for Rights 2026"],
    "rights": ["Œuvre & <b>rights</b>", "Indigenous land rights", "Write for Rights 2026"],
    "strasse": ["Straße der Rechte"],
    "STRASSE freiheit": ["Straße der Rechte"],
    "пытки": ["Пытки должны прекратиться"],
    "ПЫТК": ["Пытки должны прекратиться"],
    "co2 free": ["Indigenous land rights"],
    "pipeline s route": ["Indigenous land rights"],
    "2026": ["Write for Rights 2026"],
    "oeuvre": ["Œuvre & <b>rights</b>"],
    "b": ["Œuvre & <b>rights</b>", "Straße der Rechte"],
    "letter": ["ecrire, c'est agir", "Write for Rights 2026"],
    "letter ana": [],
    "ights": [],
    "NOT": [],  # FTS5 and tsquery operators are searched as words
    "near or and": [],
    "orture": [],
    "nothing here": [],
}


async def _seed(sessionmaker: Maker) -> dict[str, int]:
    entries = [
        ParsedEntry(
            identity=f"p{n}",
            url=f"https://example.org/{n}",
            title=title,
            summary=summary,
            published=NOW - timedelta(days=len(POSTS) - n),
        )
        for n, (title, summary) in enumerate(POSTS)
    ]
    async with sessionmaker.begin() as session:
        ids = await PostRepo(session).insert_new(None, entries, NOW, announced=True)  # type: ignore[arg-type]
    return {title: ids[f"p{n}"] for n, (title, _) in enumerate(POSTS)}


async def _titles(sessionmaker: Maker, query: str, **window: int) -> list[str]:
    terms = query_terms(query)
    assert terms is not None
    async with sessionmaker() as session:
        return [p.title for p in await PostRepo(session).search(terms, **window)]


async def test_search_gives_the_expected_posts(sessionmaker: Maker) -> None:
    """Accents, case, prefixes and several words find exactly the expected posts."""
    await _seed(sessionmaker)
    found = {query: await _titles(sessionmaker, query) for query in EXPECTED}
    assert found == EXPECTED


async def test_search_pages_newest_first(sessionmaker: Maker) -> None:
    """offset and limit page through the matches in the same order."""
    await _seed(sessionmaker)
    pages = [await _titles(sessionmaker, "rights", offset=o, limit=2) for o in (0, 2, 4)]
    assert pages == [EXPECTED["rights"][:2], EXPECTED["rights"][2:], []]


async def test_search_follows_edits_and_deletions(sessionmaker: Maker) -> None:
    """An edited post is found by its new words only; a deleted one is gone."""
    ids = await _seed(sessionmaker)
    async with sessionmaker.begin() as session:
        post = await session.get(Post, ids["STOP TORTURE now"])
        assert post is not None
        entry = ParsedEntry(identity="p1", url=post.url, title="Stop impunity", summary="Act.")
        assert PostRepo.apply_edit(post, entry, NOW)
        await session.execute(delete(Post).where(Post.id == ids["Tortured activist freed"]))
    assert (await _titles(sessionmaker, "torture"), await _titles(sessionmaker, "impunity")) == (
        [],
        ["Stop impunity"],
    )


async def test_get_returns_a_post_or_none(sessionmaker: Maker) -> None:
    """PostRepo.get finds a post by id; an unknown id is None."""
    ids = await _seed(sessionmaker)
    async with sessionmaker() as session:
        found = await PostRepo(session).get(ids["Untitled"])
        missing = await PostRepo(session).get(10**9)
    assert (found.title if found else None, missing) == ("Untitled", None)


async def test_empty_terms_find_nothing(sessionmaker: Maker) -> None:
    """No terms is no search (the service refuses such a query before)."""
    await _seed(sessionmaker)
    async with sessionmaker() as session:
        assert await PostRepo(session).search(()) == []


@pytest.mark.parametrize(
    "query", ["", "   ", "!!! ???", " ".join("abcdefghi"), "x" * 51, "é" * 201]
)
def test_query_terms_refuses_empty_and_too_long(query: str) -> None:
    """No word, more than 8 words, over 50 bytes folded or 200 characters: no search."""
    assert query_terms(query) is None


async def test_migration_backfills_and_indexes_old_posts(
    engine: AsyncEngine, sessionmaker: Maker
) -> None:
    """Posts stored before 0005 are searchable after upgrading; downgrade removes the index."""
    await migrate.downgrade(engine, "0004")
    async with engine.connect() as conn:
        objects = await conn.run_sync(_search_objects)
    assert objects == set()
    posts = table(
        "posts",
        *[column(n) for n in ("identity", "url", "title", "summary", "announced")],
        column("categories", JSON),
        column("first_seen_at", UTCDateTime()),
        column("updated_at", UTCDateTime()),
    )
    async with engine.begin() as conn:
        await conn.execute(
            posts.insert(),
            [
                {
                    "identity": "old",
                    "url": "https://example.org/old",
                    "title": "Écrire contre la TORTURE",
                    "summary": "",
                    "categories": [],
                    "first_seen_at": NOW,
                    "updated_at": NOW,
                    "announced": True,
                }
            ],
        )
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        objects = await conn.run_sync(_search_objects)
        stored = (await conn.execute(select(Post.search_text))).scalar_one()
    assert (objects, stored) == (
        {SEARCH_TABLE if _sqlite(engine) else SEARCH_INDEX},
        "ecrire contre la torture",
    )
    assert await _titles(sessionmaker, "ecrire torture") == ["Écrire contre la TORTURE"]


async def test_search_text_is_kept_for_direct_updates(sessionmaker: Maker) -> None:
    """Writing search_text directly (not through the repository) re-indexes the post too."""
    ids = await _seed(sessionmaker)
    async with sessionmaker.begin() as session:
        await session.execute(
            update(Post)
            .where(Post.id == ids["Untitled"])
            .values(search_text=search_text("Untitled", "amnesty"))
        )
    assert await _titles(sessionmaker, "amnesty") == ["Untitled"]


def _sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def _search_objects(connection: object) -> set[str]:
    inspector = inspect(connection)
    tables = {t for t in inspector.get_table_names() if t == SEARCH_TABLE}
    indexes = {i["name"] for i in inspector.get_indexes("posts") if i["name"] == SEARCH_INDEX}
    return tables | indexes
