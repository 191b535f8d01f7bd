"""The `campaignbot` command line, run as users run it: a real process, real files, real HTTP."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
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
from tests.fakes.botapi import DEFAULT_TOKEN, FakeBotApi
from tests.fakes.feedserver import FeedServer, rss
from tests.prefork import run_bot

REPO_ROOT = Path(__file__).resolve().parents[1]
AMNESTY = (
    REPO_ROOT / "tests" / "data" / "corpus" / "real-feeds" / "amnesty-org_en-feed_wordpress.xml"
)

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


@pytest.mark.slow  # a real `campaignbot run` process, started the ordinary way
async def test_run_without_token_says_how_to_get_one(env: dict[str, str]) -> None:
    """`campaignbot run` without TELEGRAM_BOT_TOKEN exits 2 with one clear line, no traceback."""
    status, _, err = await campaignbot(env, "run")
    lines = err.strip().splitlines()
    assert (status, len(lines), "@BotFather" in err, "Traceback" in err) == (2, 1, True, False)


def _closed_port() -> int:
    """A loopback port nothing listens on (free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _start_run(env: dict[str, str]) -> asyncio.subprocess.Process:
    """Start `python -m bot run` with exactly this environment."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=env["CWD"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _stderr_until(process: asyncio.subprocess.Process, text: str) -> list[str]:
    """Read stderr lines until one contains `text` (or the process closes it)."""
    assert process.stderr is not None
    lines: list[str] = []
    async with asyncio.timeout(30):
        while not lines or text not in lines[-1]:
            line = await process.stderr.readline()
            if not line:
                break
            lines.append(line.decode().rstrip("\n"))
    return lines


@pytest.mark.slow  # a real `campaignbot run` process, started the ordinary way
async def test_run_with_env_example_token_says_how_to_get_one(env: dict[str, str]) -> None:
    """`run` with .env copied from .env.example refuses its placeholder token in one line."""
    shutil.copy(REPO_ROOT / ".env.example", Path(env["CWD"]) / ".env")
    env = {**env, "TELEGRAM_API_URL": f"http://127.0.0.1:{_closed_port()}/bot"}
    status, _, err = await campaignbot(env, "run")
    lines = err.strip().splitlines()
    assert (status, len(lines), "@BotFather" in err, "Traceback" in err) == (2, 1, True, False)


@pytest.mark.slow  # a real `campaignbot run` process, started the ordinary way
async def test_run_refused_token_exits_2_in_one_line(env: dict[str, str]) -> None:
    """A token the Bot API refuses stops `run` with exit 2 and one line, never the token."""
    async with FakeBotApi() as api:
        token = "987654:WRONG-token-for-this-bot"  # noqa: S105 - the fake accepts another
        env = {**env, "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_URL": api.base_url}
        status, _, err = await campaignbot(env, "run")
    lines = err.strip().splitlines()
    assert (status, len(lines), "@BotFather" in err, "WRONG" in err) == (2, 1, True, False)


@pytest.mark.slow  # a real `campaignbot run` process, started the ordinary way
async def test_run_waits_for_telegram_then_starts(env: dict[str, str]) -> None:
    """Telegram unreachable at start: one line naming host and cause, retries, then runs."""
    port = _closed_port()
    process = await _start_run(
        {
            **env,
            "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
            "TELEGRAM_API_URL": f"http://127.0.0.1:{port}/bot",
        }
    )
    try:
        lines = await _stderr_until(process, "cannot reach Telegram")
        async with FakeBotApi(port=port) as api:
            await api.wait_for_poller(timeout=30)
            process.send_signal(signal.SIGTERM)
            _, rest = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
    err = "\n".join(lines) + rest.decode()
    message = lines[-1].split(": ", 1)[-1]
    assert (
        process.returncode,
        message.startswith(f"cannot reach Telegram at 127.0.0.1:{port} ("),
        message.endswith("); retrying in 1 s"),
        "Traceback" in err,
        DEFAULT_TOKEN.split(":")[1] in err,
    ) == (0, True, True, False, False)


@pytest.mark.slow  # a real `campaignbot run` process, started the ordinary way
async def test_run_in_webhook_mode_answers_and_stops_cleanly(env: dict[str, str]) -> None:
    """WEBHOOK_URL set: `run` sets the webhook, answers an update Telegram POSTs, and on
    SIGTERM exits 0 leaving the webhook set; the secret is never logged."""
    port = _closed_port()
    secret = "cli_webhook_secret-42"  # noqa: S105 - a test value
    async with FakeBotApi() as api:
        process = await _start_run(
            {
                **env,
                "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
                "TELEGRAM_API_URL": api.base_url,
                "WEB_PORT": str(port),
                "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
                "WEBHOOK_SECRET": secret,
            }
        )
        try:
            lines = await _stderr_until(process, "Application started")
            api.send_text(1001, "/start")
            await api.wait_for_message(1001, timeout=15)
            process.send_signal(signal.SIGTERM)
            _, rest = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
        info = api.requests("setWebhook")
        err = "\n".join(lines) + rest.decode()
        assert (process.returncode, "Traceback" in err, secret in err) == (0, False, False)
        assert [r.params["secret_token"] for r in info] == [secret]
        assert (api.requests("deleteWebhook"), api.requests("getUpdates")) == ([], [])


@pytest.mark.slow  # a real `campaignbot run` process, started the ordinary way
async def test_run_stops_cleanly_on_sigterm_while_waiting_for_telegram(
    env: dict[str, str],
) -> None:
    """SIGTERM while waiting for an unreachable Telegram exits 0 at once, no traceback."""
    env = {
        **env,
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_API_URL": f"http://127.0.0.1:{_closed_port()}/bot",
    }
    process = await _start_run(env)
    try:
        lines = await _stderr_until(process, "cannot reach Telegram")
        process.send_signal(signal.SIGTERM)
        _, rest = await asyncio.wait_for(process.communicate(), 10)
    finally:
        if process.returncode is None:
            process.kill()
    err = "\n".join(lines) + rest.decode()
    assert (process.returncode, "cannot reach Telegram" in err, "Traceback" in err) == (
        0,
        True,
        False,
    )


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


async def test_feeds_language_fixes_and_releases_a_feed_language(
    env: dict[str, str], feeds: FeedServer
) -> None:
    """`feeds language ID fr|auto` sets the language or lets polls read it; a bad value or an
    unknown feed exits 2 with one line."""
    feeds.add("/feed.xml", rss(POSTS, title="Campaign news"))
    await campaignbot(env, "feeds", "add", feeds.url("/feed.xml"))
    fixed = await campaignbot(env, "feeds", "language", "1", "fr")
    again = await campaignbot(env, "feeds", "language", "1", "fr")
    auto = await campaignbot(env, "feeds", "language", "1", "auto")
    bad = await campaignbot(env, "feeds", "language", "1", "klingon")
    unknown = await campaignbot(env, "feeds", "language", "42", "en")
    assert (fixed[:2], again[1], auto[1], bad[0], bad[2], unknown[0]) == (
        (0, "feed 1: language fr, set\n"),
        "feed 1: language fr, set (unchanged)\n",
        "feed 1: language auto, read from the feed at its next poll\n",
        2,
        "campaignbot: the language must be en, fr, other or auto\n",
        2,
    )


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


async def test_feeds_check_shows_facets_beside_matched_topics(
    env: dict[str, str], feeds: FeedServer, tmp_path: Path
) -> None:
    """`feeds check` on the amnesty.org corpus file: each entry's topics, countries and types
    with their ids, and the topics it would match with the rules that fired. The country and
    type topics come from a topics file imported first (TOML import of countries/types)."""
    path = tmp_path / "topics.toml"
    path.write_text(
        '[[topic]]\nslug = "sudan"\nname = "Sudan"\ncountries = ["Sudan", "Egypt"]\n\n'
        '[[topic]]\nslug = "urgent-actions"\nname = "Urgent Actions"\n'
        'types = ["Urgent Action"]\n',
        encoding="utf-8",
    )
    feeds.add("/amnesty.xml", AMNESTY.read_bytes())
    imported = await campaignbot(env, "topics", "import", str(path))
    status, out, _ = await campaignbot(env, "feeds", "check", feeds.url("/amnesty.xml"))
    blocks = out.split("\n- ")
    salvador = next(b for b in blocks if b.startswith("El Salvador"))
    egypt = next(b for b in blocks if b.startswith("Egypt"))
    assert (imported[0], status, "7 entries" in out) == (0, 0, True)
    assert salvador.splitlines()[2:] == [
        "  type: News (1148); Press Release (2181)",
        "  country: Americas (1699); Central America and the Caribbean (1705); El Salvador (1787)",
        "  topic: Detention (2077); Unlawful Detention (2078); "
        "War Crimes and Crimes Against Humanity (2066)",
        "  topics: stoptorture [keyword:torture, keyword:tortur*, keyword:enforced disappear*]",
    ]
    assert egypt.splitlines()[2:] == [
        "  type: Campaigns (2133); Urgent Action (2148)",
        "  country: Egypt (1786); Middle East and North Africa (1701)",
        "  topic: Prisoners of Conscience (2079)",
        "  topics: sudan [country:Egypt], urgent-actions [type:Urgent Action]",
    ]


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
