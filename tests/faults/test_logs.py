"""With LOG_FORMAT=json every line `campaignbot run` writes is one JSON object, and no line
holds the bot token, error paths included (a failing feed, a 500 from the Bot API). Redaction
covers every field of a record, its `extra=` context too, in both formats."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.log import configure_logging
from tests.fakes.botapi import FakeBotApi
from tests.fakes.feedserver import FeedServer
from tests.prefork import start_bot

TOKEN = "123456789:AAHfakeFAKEfake_fake-FAKEfakefake12"  # noqa: S105 - shaped like a real one
SHORT_TOKEN = "123456:TEST-fake-token"  # noqa: S105 - too short for the token pattern


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(limits=False) as server:
        yield server


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_json_logs_are_one_object_per_line_and_never_hold_the_token(
    api: FakeBotApi, database_url: str, engine: object, tmp_path: Path
) -> None:
    async with FeedServer() as feeds:
        feeds.error("/broken.xml", 500)
        feeds.add("/bad.xml", b"<rss><channel><item><title>x</ti")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_URL": api.base_url,
            "DATABASE_URL": database_url,
            "POLL_INTERVAL_SECONDS": "1",
            "ALLOW_PRIVATE_FEED_URLS": "true",
            "FEED_URLS": f"{feeds.url('/broken.xml')},{feeds.url('/bad.xml')}",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "DEBUG",
        }
        process = await start_bot(env, "run", cwd=tmp_path)  # a real process (tests/prefork.py)
        await api.wait_for_poller(timeout=30)
        api.fail_next("sendMessage", 500, count=2)
        api.send_text(4242, "/start")
        api.send_text(4242, "/help " + "x" * 5000)
        async with asyncio.timeout(30):  # the feed server has no events to wait on
            while not (feeds.hits("/bad.xml") and feeds.hits("/broken.xml")):
                await asyncio.sleep(0.1)
        await api.wait_for_requests("sendMessage", count=2, timeout=30)
        await asyncio.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
        out, err = process.output()
    lines = [line for line in (out + err).splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # raises on any non-JSON line
    secret = api.token.split(":", 1)[1]
    assert process.returncode == 0
    assert [line for line in lines if secret in line or api.token in line] == []
    assert all(isinstance(r, dict) and {"time", "level", "event"} <= r.keys() for r in records)
    assert any(r["event"] == "feed poll failed" for r in records)


@pytest.fixture
def configured_logging() -> Iterator[None]:
    """Restore the root logger (pytest's capture handlers) after `configure_logging`."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


# (what goes into `extra=`, what the log must show instead)
LEAKS = [
    pytest.param(
        f"Bot API said no for token {TOKEN}",
        "Bot API said no for token [redacted]",
        id="token",
    ),
    pytest.param(
        "GET https://reader:s3cret@feeds.example.org/rss failed: 401",
        "GET https://[redacted]@feeds.example.org/rss failed: 401",
        id="url-credentials",
    ),
    pytest.param(
        f"POST http://127.0.0.1:8081/bot{SHORT_TOKEN}/sendMessage timed out",
        "POST http://127.0.0.1:8081/bot[redacted]/sendMessage timed out",
        id="bot-path",
    ),
]


@pytest.mark.parametrize(("leak", "shown"), LEAKS)
def test_text_log_redacts_extra_fields(
    configured_logging: None, capsys: pytest.CaptureFixture[str], leak: str, shown: str
) -> None:
    """A secret in an `extra=` field is redacted in a text log line."""
    configure_logging("INFO", "text")
    logging.getLogger("bot.test").warning("feed poll failed", extra={"error": leak})
    line = capsys.readouterr().err.strip()
    assert line.split(": ", 1)[1] == f"feed poll failed error={shown}"


@pytest.mark.parametrize(("leak", "shown"), LEAKS)
def test_json_log_redacts_extra_fields(
    configured_logging: None, capsys: pytest.CaptureFixture[str], leak: str, shown: str
) -> None:
    """A secret in an `extra=` field, nested or not, is redacted in a JSON log line."""
    configure_logging("INFO", "json")
    logging.getLogger("bot.test").warning(
        "feed poll failed", extra={"error": leak, "context": {"attempts": [leak, 3]}}
    )
    record = json.loads(capsys.readouterr().err)
    assert (record["error"], record["context"]) == (shown, {"attempts": [shown, 3]})


def test_log_redacts_the_configured_secret_in_extra_fields(
    configured_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The secrets given to `configure_logging` are redacted from `extra=` fields too."""
    configure_logging("INFO", "json", secrets=("hunter2-database-password",))
    logging.getLogger("bot.test").error(
        "database down", extra={"error": "login refused: hunter2-database-password"}
    )
    record = json.loads(capsys.readouterr().err)
    assert record["error"] == "login refused: [redacted]"


async def test_a_tick_skipped_while_the_job_still_runs_is_not_reported(
    configured_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Jobs never overlap (`max_instances=1`): APScheduler's warning that it skipped a tick
    because the last run is still going is dropped; its other warnings are kept."""
    configure_logging("INFO", "text")
    release, skipped = asyncio.Event(), asyncio.Event()

    async def long_cycle() -> None:
        await release.wait()

    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_listener(lambda _: skipped.set(), EVENT_JOB_MAX_INSTANCES)
    scheduler.add_job(long_cycle, "interval", seconds=0.05, max_instances=1, next_run_time=None)
    scheduler.start()
    scheduler.get_jobs()[0].modify(next_run_time=datetime.now(UTC))
    await asyncio.wait_for(skipped.wait(), 10)
    release.set()
    scheduler.shutdown(wait=False)
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    lines = capsys.readouterr().err.strip().splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == ["Run time of job was missed"]
