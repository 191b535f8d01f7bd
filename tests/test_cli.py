"""The `campaignbot` command line, run as users run it: a real process, real files, real HTTP."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.config import async_database_url
from bot.db.models import Feed
from bot.db.repos import ChatRepo, DeliveryRepo, PostRepo, TopicRepo
from bot.db.session import make_engine, make_sessionmaker
from bot.domain.types import DeliveryStatus
from tests.fakes.feedserver import FeedServer, rss
from tests.prefork import run_bot

REPO_ROOT = Path(__file__).resolve().parents[1]

POSTS = [
    {
        "title": "Write for Rights 2026: write a letter that changes a life",
        "link": "https://news.example.org/w4r-2026",
        "guid": "w4r-2026",
        "description": "Join the global letter-writing marathon.",
        "categories": ["Write for Rights"],
    },
    {
        "title": "Office bake sale",
        "link": "https://news.example.org/bake-sale",
        "guid": "bake",
        "description": "Cakes on Friday.",
    },
]


async def campaignbot(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run `python -m bot ARGS` with exactly this environment; return (status, stdout, stderr).

    `run` starts a fresh interpreter, exactly as users start the bot; the one-shot commands
    are forked from a parent that has imported the bot already (tests/prefork.py), a real
    process all the same, without two seconds of imports each.
    """
    env = {"PATH": os.environ.get("PATH", ""), **env}
    cwd = env.get("CWD", str(REPO_ROOT))
    if args[:1] != ("run",):
        return await run_bot(env, *args, cwd=Path(cwd))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An environment with its own SQLite database and loopback feeds allowed."""
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "ALLOW_PRIVATE_FEED_URLS": "true",
        "CWD": str(tmp_path),
    }


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    """A local feed server."""
    async with FeedServer() as server:
        yield server


async def test_run_without_token_says_how_to_get_one(env: dict[str, str]) -> None:
    """`campaignbot run` without TELEGRAM_BOT_TOKEN exits 2 with one clear line, no traceback."""
    status, _, err = await campaignbot(env, "run")
    lines = err.strip().splitlines()
    assert (status, len(lines), "@BotFather" in err, "Traceback" in err) == (2, 1, True, False)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("POLL_INTERVAL_SECONDS", "0"), ("DATABASE_URL", "mysql://x/y"), ("ADMIN_IDS", "bob")],
)
async def test_bad_variable_exits_2_naming_it(
    env: dict[str, str], variable: str, value: str
) -> None:
    """An invalid environment variable stops the command with one line that names it."""
    status, _, err = await campaignbot({**env, variable: value}, "feeds", "list")
    assert (status, err.startswith(f"campaignbot: {variable}:"), "Traceback" in err) == (
        2,
        True,
        False,
    )


async def test_feeds_add_list_remove(env: dict[str, str]) -> None:
    """A feed added by URL is listed with its health and removed by id."""
    url = "https://campaigns.example.org/feed/"
    added = await campaignbot(env, "feeds", "add", url, "--name", "Campaigns")
    listed = await campaignbot(env, "feeds", "list")
    again = await campaignbot(env, "feeds", "add", url)
    removed = await campaignbot(env, "feeds", "remove", "1")
    empty = await campaignbot(env, "feeds", "list")
    assert (
        added[0],
        "Campaigns" in listed[1],
        "failures in a row: 0" in listed[1],
        again[0],
        "already" in again[2],
        removed[0],
        "no feeds yet" in empty[1],
    ) == (0, True, True, 2, True, 0, True)


@pytest.mark.parametrize(
    "url", ["ftp://example.org/feed", "not a url", "https://user:secret@example.org/feed"]
)
async def test_feeds_add_refuses_bad_url(env: dict[str, str], url: str) -> None:
    """A URL that is not plain http(s) is refused with exit 2 and no traceback."""
    status, _, err = await campaignbot(env, "feeds", "add", url)
    assert (status, err.count("\n"), "Traceback" in err, "secret" in err) == (2, 1, False, False)


async def test_feeds_remove_unknown_exits_2(env: dict[str, str]) -> None:
    """Removing a feed that does not exist says so."""
    status, _, err = await campaignbot(env, "feeds", "remove", "42")
    assert (status, "no feed" in err) == (2, True)


async def test_feeds_check_prints_entries_with_topics(
    env: dict[str, str], feeds: FeedServer
) -> None:
    """`feeds check` prints each entry with the topics it would match and stores nothing."""
    feeds.add("/feed.xml", rss(POSTS, title="Campaign news"))
    status, out, _ = await campaignbot(env, "feeds", "check", feeds.url("/feed.xml"))
    _, listing, _ = await campaignbot(env, "feeds", "list")
    assert (
        status,
        "Campaign news" in out,
        "2 entries" in out,
        "topics: write-for-rights" in out,
        "topics: (none)" in out,
        "no feeds yet" in listing,
    ) == (0, True, True, True, True, True)


async def test_feeds_check_reports_unreachable_feed(
    env: dict[str, str], feeds: FeedServer
) -> None:
    """A feed that answers 404 gives exit 2 and the HTTP status."""
    feeds.error("/gone.xml", 404)
    status, _, err = await campaignbot(env, "feeds", "check", feeds.url("/gone.xml"))
    assert (status, "404" in err, "Traceback" in err) == (2, True, False)


async def test_feeds_check_refuses_private_address_by_default(env: dict[str, str]) -> None:
    """Without ALLOW_PRIVATE_FEED_URLS, a loopback feed is refused (SSRF guard)."""
    env = {**env, "ALLOW_PRIVATE_FEED_URLS": "false"}
    status, _, err = await campaignbot(env, "feeds", "check", "http://127.0.0.1:9/feed.xml")
    assert (status, "ALLOW_PRIVATE_FEED_URLS" in err) == (2, True)


async def test_poll_once_stores_posts_and_pending_deliveries(
    env: dict[str, str], feeds: FeedServer
) -> None:
    """Two `poll-once` runs: the first records the feed, the second queues its new post."""
    feeds.add("/feed.xml", rss(POSTS[1:]))
    env = {**env, "FEED_URLS": feeds.url("/feed.xml")}
    first = await campaignbot(env, "poll-once")
    engine = make_engine(async_database_url(env["DATABASE_URL"]))
    sessionmaker = make_sessionmaker(engine)
    now = datetime.now(UTC)
    async with sessionmaker.begin() as session:
        topic = await TopicRepo(session).by_key("Write for Rights")
        assert topic is not None
        await ChatRepo(session).ensure(555, "private", now)
        await ChatRepo(session).subscribe(555, topic.id, now)
        await session.execute(update(Feed).values(next_poll_at=now - timedelta(seconds=1)))
    feeds.add("/feed.xml", rss(POSTS))
    second = await campaignbot(env, "poll-once")
    async with sessionmaker() as session:
        posts = await PostRepo(session).count()
        pending = await DeliveryRepo(session).count(DeliveryStatus.PENDING)
    await engine.dispose()
    assert (
        first[0],
        second[0],
        "1 new posts, 1 deliveries queued" in second[1],
        posts,
        pending,
    ) == (0, 0, True, 2, 1)


async def test_topics_list_shows_bundled_topics(env: dict[str, str]) -> None:
    """On first start the three bundled topics are loaded."""
    status, out, _ = await campaignbot(env, "topics", "list")
    slugs = sorted(line.split()[0] for line in out.strip().splitlines())
    assert (status, slugs) == (0, ["indigenous-rights", "stoptorture", "write-for-rights"])


async def test_topics_import_creates_and_updates(env: dict[str, str], tmp_path: Path) -> None:
    """`topics import` adds new topics and updates existing ones by slug."""
    path = tmp_path / "topics.toml"
    path.write_text(
        '[[topic]]\nslug = "climate"\nname = "Climate justice"\nkeywords = ["climate"]\n\n'
        '[[topic]]\nslug = "stoptorture"\nname = "StopTorture"\nkeywords = ["torture"]\n',
        encoding="utf-8",
    )
    status, out, _ = await campaignbot(env, "topics", "import", str(path))
    _, listing, _ = await campaignbot(env, "topics", "list")
    assert (status, "1 created, 1 updated" in out, "Climate justice" in listing) == (0, True, True)


async def test_topics_import_rejects_invalid_file(env: dict[str, str], tmp_path: Path) -> None:
    """An invalid topics file is refused with exit 2, naming the problem, and changes nothing."""
    path = tmp_path / "bad.toml"
    path.write_text('[[topic]]\nslug = "Not A Slug!"\nname = "X"\n', encoding="utf-8")
    status, _, err = await campaignbot(env, "topics", "import", str(path))
    assert (status, "slug" in err, "Traceback" in err) == (2, True, False)


async def test_db_upgrade_creates_the_database(env: dict[str, str], tmp_path: Path) -> None:
    """`db upgrade` creates the SQLite file (and its folder) and applies migrations."""
    env = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'new' / 'bot.sqlite3'}"}
    status, out, _ = await campaignbot(env, "db", "upgrade")
    assert (status, "up to date" in out, (tmp_path / "new" / "bot.sqlite3").exists()) == (
        0,
        True,
        True,
    )
