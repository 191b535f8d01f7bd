"""`campaignbot feeds import|export|interval`, run as a process on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.models import Feed
from bot.feeds.opml import parse_opml
from tests.fakes.feedserver import HTML_TYPE, FeedServer, rss
from tests.test_cli import campaignbot

# The chat and service tests cover PostgreSQL for these; the round trip runs on both here.
SQLITE_ONLY = pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    """A local feed server."""
    async with FeedServer() as server:
        yield server


@pytest.fixture
def env(engine: AsyncEngine, database_url: str, tmp_path: Path) -> dict[str, str]:
    """The command's environment on the test's (empty, migrated) database."""
    return {
        "DATABASE_URL": database_url,
        "ALLOW_PRIVATE_FEED_URLS": "true",
        "CWD": str(tmp_path),
    }


async def _feeds(engine: AsyncEngine) -> list[tuple[str, str | None]]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(Feed.url, Feed.name).order_by(Feed.url))
        return [(url, name) for url, name in rows]


async def test_export_then_import_into_an_empty_database(
    env: dict[str, str], engine: AsyncEngine, feeds: FeedServer, tmp_path: Path
) -> None:
    """export FILE, empty the feeds, import FILE: the same feeds with the same names."""
    for path in ("/a.xml", "/b.xml"):
        feeds.add(path, rss([{"title": path, "link": f"https://e.org{path}"}], title=path))
    await campaignbot(env, "feeds", "add", feeds.url("/a.xml"), "--name", "Amnesty & co")
    await campaignbot(env, "feeds", "add", feeds.url("/b.xml"))
    before = await _feeds(engine)
    exported = await campaignbot(env, "feeds", "export", str(tmp_path / "feeds.opml"))
    to_stdout = await campaignbot(env, "feeds", "export")
    async with engine.begin() as connection:
        await connection.execute(delete(Feed))
    imported = await campaignbot(env, "feeds", "import", str(tmp_path / "feeds.opml"))
    assert (
        exported[:2],
        len(parse_opml(to_stdout[1].encode())),
        imported[0],
        imported[1].splitlines()[-1],
        await _feeds(engine),
    ) == (
        (0, f"exported 2 feeds to {tmp_path / 'feeds.opml'}\n"),
        2,
        0,
        "2 added, 0 already present, 0 refused",
        before,
    )


@SQLITE_ONLY
async def test_import_lists_each_feed_with_its_fate(
    env: dict[str, str], feeds: FeedServer, tmp_path: Path
) -> None:
    """The report says added, present, refused (with the reason) line by line."""
    feeds.add("/a.xml", rss([{"title": "A", "link": "https://e.org/a"}]))
    feeds.add("/page.html", "<html><body>no feed here</body></html>", HTML_TYPE)
    await campaignbot(env, "feeds", "add", feeds.url("/a.xml"))
    document = (
        '<opml version="2.0"><body><outline text="Folder">'
        f'<outline xmlUrl="{feeds.url("/a.xml")}"/><outline xmlUrl="{feeds.url("/page.html")}"/>'
        "</outline></body></opml>"
    )
    (tmp_path / "in.opml").write_text(document)
    status, out, _ = await campaignbot(env, "feeds", "import", str(tmp_path / "in.opml"))
    lines = out.splitlines()
    assert (
        status,
        lines[0],
        lines[1].startswith(f"refused  {feeds.url('/page.html')}: "),
        lines[-1],
    ) == (
        0,
        f"present  {feeds.url('/a.xml')}",
        True,
        "0 added, 1 already present, 1 refused",
    )


@SQLITE_ONLY
async def test_import_of_a_broken_file_exits_2_and_adds_nothing(
    env: dict[str, str], engine: AsyncEngine, tmp_path: Path
) -> None:
    """One line on stderr, exit 2, no feed stored (every kind of broken file: test_opml.py)."""
    (tmp_path / "bad.opml").write_bytes(b"<html><body>not opml</body></html>")
    status, _, err = await campaignbot(env, "feeds", "import", str(tmp_path / "bad.opml"))
    missing = await campaignbot(env, "feeds", "import", str(tmp_path / "none.opml"))
    assert (status, err.count("\n"), "nothing was imported" in err, missing[0]) == (
        2,
        1,
        True,
        2,
    )
    assert await _feeds(engine) == []


@SQLITE_ONLY
async def test_interval_sets_shows_and_refuses(env: dict[str, str]) -> None:
    """`feeds interval 1 15m` sets it, `feeds list` shows it, bad values exit 2, auto clears."""
    await campaignbot(env, "feeds", "add", "https://news.example.org/feed.xml")
    set_ = await campaignbot(env, "feeds", "interval", "1", "15m")
    listed = await campaignbot(env, "feeds", "list")
    bad = await campaignbot(env, "feeds", "interval", "1", "9d")
    auto = await campaignbot(env, "feeds", "interval", "1", "auto")
    assert (set_[:2], "interval: 15m (set by an admin)" in listed[1], bad[0], auto[1]) == (
        (0, "feed 1: polled every 15m (set by an admin)\n"),
        True,
        2,
        "feed 1: polled every 5m (automatic)\n",
    )
