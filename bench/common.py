"""Shared harness: fake servers in their own processes, fresh databases, fast seeding, timing.

The fake Bot API and the feed server run as separate processes (as `python -m tests.fakes.…`),
so their CPU does not share the bot's event loop; the bot side is the real code, in this process.
Contains no business logic.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings, async_database_url
from bot.db import migrate
from bot.db.base import Base
from bot.db.models import Chat, Subscription
from bot.db.repos import DeliveryRepo, PostRepo, TopicRepo
from bot.db.session import make_engine, make_sessionmaker
from bot.domain.types import ParsedEntry, TopicSpec

REPO_ROOT = Path(__file__).resolve().parents[1]
# The bench database beside TEST_DATABASE_URL's (CB_BENCH_DB lets parallel runs use their own).
BENCH_DB = os.environ.get("CB_BENCH_DB", "cb_bench")
TOKEN = "123456:BENCH-fake-token-for-benchmarks"  # noqa: S105 - a fake, for a local fake


@dataclass
class Row:
    """One line of the result table."""

    name: str
    figure: str
    value: float | None
    unit: str
    target: str
    met: bool | None
    runs: list[float] = field(default_factory=list)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Ctx:
    """What every figure gets: which database, sizes, repetitions."""

    db: str  # "sqlite" or "postgres"
    quick: bool
    repeat: int
    tmp: Path
    pg_admin_url: str | None = None
    # Sizes a figure may take from the command line (e.g. poll_feeds); None: its own default.
    options: dict[str, Any] = field(default_factory=dict)

    def size(self, full: int, quick: int) -> int:
        """The full size, or the tiny one with --quick."""
        return quick if self.quick else full


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def median(values: list[float]) -> float:
    """The median of the runs."""
    return float(statistics.median(values))


# ----------------------------------------------------------------------------- processes


@contextlib.contextmanager
def _process(args: list[str], ready: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(  # noqa: S603 - our own modules, fixed arguments
        [sys.executable, "-m", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if ready not in line:
            raise RuntimeError(f"{args[0]} did not start: {line!r}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class FakeApi:
    """The fake Bot API in its own process, with its JSON control API."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/bot"
        self.control = f"http://127.0.0.1:{port}/__control"
        self.token = TOKEN
        self._client = httpx.AsyncClient(timeout=600, trust_env=False)

    async def call(self, name: str, **kwargs: Any) -> Any:
        """Call a control and return its result."""
        response = await self._client.post(f"{self.control}/{name}", json=kwargs)
        body = response.json()
        if not body.get("ok"):
            raise RuntimeError(f"control {name}: {body}")
        return body["result"]

    async def wait_sent(self, total: int, seconds: float) -> bool:
        """Wait until the server has `total` sent messages; False if `seconds` passed first."""
        response = await self._client.post(
            f"{self.control}/wait_for_sent", json={"total": total, "timeout": seconds}
        )
        return bool(response.json().get("ok"))

    async def aclose(self) -> None:
        """Close the control client."""
        await self._client.aclose()


@contextlib.asynccontextmanager
async def fake_api(*, limits: bool) -> AsyncIterator[FakeApi]:
    """Run `python -m tests.fakes.botapi` on a free port."""
    port = free_port()
    args = ["tests.fakes.botapi", "--port", str(port), "--token", TOKEN]
    if not limits:
        args.append("--no-limits")
    with _process(args, "http://"):
        api = FakeApi(port)
        try:
            yield api
        finally:
            await api.aclose()


@contextlib.contextmanager
def feed_server(feeds: int, entries: int, hang: float, error: float) -> Iterator[list[str]]:
    """Run `python -m tests.fakes.feedserver`; yields the feed URLs."""
    port = free_port()
    args = [
        "tests.fakes.feedserver",
        "--port",
        str(port),
        "--feeds",
        str(feeds),
        "--entries",
        str(entries),
        "--hang-percent",
        str(hang),
        "--error-percent",
        str(error),
    ]
    with _process(args, "serving"):
        yield [f"http://127.0.0.1:{port}/feed/{n}.xml" for n in range(1, feeds + 1)]


# ----------------------------------------------------------------------------- databases


async def fresh_database(ctx: Ctx, name: str) -> str:
    """A migrated, empty database; returns its plain DATABASE_URL."""
    if ctx.db == "sqlite":
        path = ctx.tmp / f"{name}-{time.monotonic_ns()}.sqlite3"
        url = f"sqlite:///{path}"
        engine = make_engine(async_database_url(url))
        await migrate.upgrade(engine)
        await engine.dispose()
        return url
    assert ctx.pg_admin_url is not None
    url = bench_pg_url(ctx.pg_admin_url)
    engine = make_engine(async_database_url(url))
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await migrate.upgrade(engine)
    await engine.dispose()
    return url


def bench_pg_url(admin_url: str) -> str:
    """TEST_DATABASE_URL with the database replaced by the dedicated `cb_bench`."""
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{BENCH_DB}"


async def ensure_pg_database(admin_url: str) -> None:
    """Create `cb_bench` once (connected to the TEST_DATABASE_URL database; touches no other)."""
    engine = make_engine(async_database_url(bench_pg_url(admin_url)))
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return
    except Exception:  # noqa: S110 - it does not exist yet
        pass
    finally:
        await engine.dispose()
    admin = make_engine(async_database_url(admin_url))
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f"CREATE DATABASE {BENCH_DB}"))
    await admin.dispose()


@contextlib.asynccontextmanager
async def session_factory(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A sessionmaker on `url`, disposed afterwards."""
    engine: AsyncEngine = make_engine(async_database_url(url))
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def seed_subscribers(
    url: str, chats: int, *, first_chat: int = 1_000_000, slug: str = "bench"
) -> int:
    """A topic followed by `chats` private chats (bulk inserts); returns the topic id."""
    now = datetime.now(UTC)
    async with session_factory(url) as sessionmaker:
        async with sessionmaker.begin() as session:
            topic = await TopicRepo(session).add(
                TopicSpec(slug=slug, name=f"Bench {slug}", keywords=(slug,)), now
            )
            topic_id = topic.id
        for start in range(first_chat, first_chat + chats, 10_000):
            ids = range(start, min(start + 10_000, first_chat + chats))
            async with sessionmaker.begin() as session:
                await session.execute(
                    insert(Chat),
                    [
                        {
                            "id": i,
                            "type": "private",
                            "active": True,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i in ids
                    ],
                )
                await session.execute(
                    insert(Subscription),
                    [{"chat_id": i, "topic_id": topic_id, "created_at": now} for i in ids],
                )
    return topic_id


async def queue_post(url: str, topic_id: int, identity: str = "bench-1") -> tuple[int, float]:
    """Store one new post and fan it out; returns (deliveries, seconds the write took)."""
    now = datetime.now(UTC)
    entry = ParsedEntry(
        identity=identity,
        url=f"https://campaign.example.org/{identity}",
        title="Act now: a benchmark post",
        summary="<p>One new post for everyone who follows the topic.</p>",
    )
    async with session_factory(url) as sessionmaker:
        async with sessionmaker.begin() as session:
            inserted = await PostRepo(session).insert_new(None, [entry], now, announced=True)  # type: ignore[arg-type]
        started = time.perf_counter()
        async with sessionmaker.begin() as session:
            created = await DeliveryRepo(session).fan_out_post(inserted[identity], [topic_id], now)
        seconds = time.perf_counter() - started
    return created, seconds


def bot_settings(api: FakeApi, url: str, **overrides: Any) -> Settings:
    """Settings for the real bot against the fake server."""
    values: dict[str, Any] = {
        "telegram_bot_token": api.token,
        "telegram_api_url": api.base_url,
        "database_url": url,
        "allow_private_feed_urls": True,
        "poll_interval_seconds": 3600,
        "send_rate_per_second": 25,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def repeat(ctx: Ctx, times: int, run: Callable[[], Awaitable[float]]) -> list[float]:
    """Run a measurement `times` times."""
    return [await run() for _ in range(max(1, times))]


def env_pg_url() -> str | None:
    """TEST_DATABASE_URL, if set."""
    return os.environ.get("TEST_DATABASE_URL", "").strip() or None


def make_tmp() -> Path:
    """A scratch folder for SQLite files."""
    return Path(tempfile.mkdtemp(prefix="cb-bench-"))
