"""The `campaignbot` command line (run, db upgrade, feeds, topics, poll-once, results).

Exit status: 0 on success, 2 on bad input or configuration with one clear line on stderr,
1 on an unexpected failure (logged). No traceback reaches the user for expected errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from bot import __version__
from bot.config import REFUSED_HINT, Settings, load_settings
from bot.db.session import lock_sqlite_file
from bot.domain.types import Facet, PollStatus
from bot.domain.views import FeedHealthView
from bot.errors import (
    AlreadyExistsError,
    BotError,
    ConfigError,
    FeedError,
    InvalidInputError,
    NotFoundError,
)
from bot.log import configure_logging

if TYPE_CHECKING:  # imported lazily at run time: `campaignbot --help` stays fast
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
# Waiting for Telegram at start: 1 s, doubling, at most a minute between attempts.
CONNECT_FIRST_DELAY = 1.0
CONNECT_MAX_DELAY = 60.0


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2."""

    def error(self, message: str) -> Any:
        self.exit(EXIT_USAGE, f"campaignbot: {message} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(prog="campaignbot", description="Campaign Action Bot")
    parser.add_argument("--version", action="version", version=f"campaignbot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser("run", help="run the bot, the poller and the sender (applies migrations)")
    commands.add_parser(
        "worker",
        help="only send (no updates, polling or jobs), beside `run`, on PostgreSQL",
    )
    commands.add_parser("poll-once", help="poll every due feed once, then exit")

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    db_commands.add_parser("upgrade", help="apply database migrations")

    feeds = commands.add_parser("feeds", help="manage feeds")
    feed_commands = feeds.add_subparsers(dest="feeds_command", required=True, parser_class=_Parser)
    add = feed_commands.add_parser("add", help="add a feed")
    add.add_argument("url")
    add.add_argument("--name", default=None, help="a short name shown to admins")
    feed_commands.add_parser("list", help="list feeds with their health")
    remove = feed_commands.add_parser("remove", help="remove a feed (its posts stay)")
    remove.add_argument("feed", metavar="ID_OR_URL")
    language = feed_commands.add_parser(
        "language", help="fix a feed's language (en, fr, other) or read it from the feed (auto)"
    )
    language.add_argument("feed", metavar="ID_OR_URL")
    language.add_argument("language", metavar="en|fr|other|auto")
    check = feed_commands.add_parser(
        "check", help="fetch and parse a feed once and show matched topics; writes nothing"
    )
    check.add_argument("url")
    interval = feed_commands.add_parser(
        "interval", help="poll a feed every 15m, 2h, 1d (1 minute to 7 days), or auto"
    )
    interval.add_argument("feed", metavar="ID_OR_URL")
    interval.add_argument("interval", metavar="15m|2h|1d|auto")
    opml_in = feed_commands.add_parser(
        "import", help="add the feeds of an OPML file, each checked like /addfeed"
    )
    opml_in.add_argument("file", type=Path, metavar="FILE.opml")
    opml_out = feed_commands.add_parser(
        "export", help="write every feed as OPML 2.0 to FILE (default: standard output)"
    )
    opml_out.add_argument("file", type=Path, nargs="?", metavar="FILE")

    topics = commands.add_parser("topics", help="manage topics")
    topic_commands = topics.add_subparsers(
        dest="topics_command", required=True, parser_class=_Parser
    )
    topic_commands.add_parser("list", help="list topics")
    imp = topic_commands.add_parser("import", help="create or update topics from a TOML file")
    imp.add_argument("file", type=Path)

    results = commands.add_parser("results", help="what broadcasts and posts achieved")
    result_commands = results.add_subparsers(
        dest="results_command", required=True, parser_class=_Parser
    )
    export = result_commands.add_parser(
        "export",
        help="figures per broadcast and post, per topic and in total (no per-person rows)",
    )
    export.add_argument("--since", metavar="DATE", help="only messages from this day (YYYY-MM-DD)")
    export.add_argument("--format", choices=("csv", "json"), default="csv", dest="fmt")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `campaignbot` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        return _fail(str(error))
    secrets = (
        (settings.telegram_bot_token.get_secret_value(),) if settings.telegram_bot_token else ()
    )
    # One-shot commands print their own results; their logs show warnings unless debugging.
    level = (
        "WARNING"
        if args.command not in ("run", "worker") and settings.log_level == "INFO"
        else settings.log_level
    )
    configure_logging(level, settings.log_format, secrets)
    try:
        if args.command == "run":
            return _run(settings)
        if args.command == "worker":
            return _worker(settings)
        return asyncio.run(_dispatch(args, settings, sys.stdout))
    except (BotError, ValueError) as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except Exception as error:
        log.exception("unexpected failure")
        print(f"campaignbot: unexpected failure: {type(error).__name__}", file=sys.stderr)
        return EXIT_FAILURE


def _fail(message: str) -> int:
    print(f"campaignbot: {message}", file=sys.stderr)
    return EXIT_USAGE


def _run(settings: Settings) -> int:
    from bot.app import run_forever

    token = settings.require_token()
    # SQLite is for one process: a second `run` on the same file stops here.
    lock = lock_sqlite_file(settings.async_database_url)
    if not asyncio.run(wait_for_telegram(settings.telegram_api_url, token)):
        return EXIT_OK  # stopped by SIGTERM/SIGINT before Telegram answered
    run_forever(settings)
    if lock is not None:
        lock.close()
    return EXIT_OK


def _worker(settings: Settings) -> int:
    from bot.app import run_worker

    if not settings.is_postgresql:
        return _fail(
            "campaignbot worker needs PostgreSQL (DATABASE_URL=postgresql://…); "
            "on SQLite, `campaignbot run` alone sends"
        )
    token = settings.require_token()
    if not asyncio.run(wait_for_telegram(settings.telegram_api_url, token)):
        return EXIT_OK
    run_worker(settings)
    return EXIT_OK


async def wait_for_telegram(
    api_url: str,
    token: str,
    *,
    first_delay: float = CONNECT_FIRST_DELAY,
    max_delay: float = CONNECT_MAX_DELAY,
) -> bool:
    """Wait until the Bot API answers getMe; False if SIGTERM or SIGINT came first.

    A supervised service must not crash-loop on a network blip: while Telegram cannot be
    reached, each failed attempt is one log line (host and cause, never the token) and the
    next comes after a delay doubling from `first_delay` up to `max_delay`.

    Raises:
        ConfigError: Telegram refused the token.
    """
    from telegram import Bot
    from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter

    from bot.sender import retry_seconds

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    host = _api_host(api_url)
    delay = first_delay
    failed = False
    bot = Bot(token, base_url=api_url)
    try:
        while True:
            attempt = await _unless_stopped(stop, bot.initialize())  # initialize() calls getMe
            if attempt is None:
                break
            try:
                attempt.result()
            except InvalidToken:
                raise ConfigError("TELEGRAM_BOT_TOKEN", REFUSED_HINT) from None
            except RetryAfter as error:
                wait = retry_seconds(error.retry_after)
                log.warning("Telegram at %s asks to wait; retrying in %g s", host, wait)
            except NetworkError as error:
                if isinstance(error, BadRequest):
                    raise
                wait, delay = delay, min(delay * 2, max_delay)
                cause = " ".join(str(error).split())[:200] or type(error).__name__
                log.warning(
                    "cannot reach Telegram at %s (%s); retrying in %g s", host, cause, wait
                )
            else:
                if failed:
                    log.info("reached Telegram at %s", host)
                return True
            failed = True
            if await _unless_stopped(stop, asyncio.sleep(wait)) is None:
                break
    finally:
        await bot.shutdown()
        for signum in handled:
            loop.remove_signal_handler(signum)
        if signal.SIGTERM in handled:
            # Until the application installs its own handlers (while it builds and connects),
            # SIGTERM would otherwise kill the process by its default action (status -15):
            # a supervisor stopping a bot that is still starting gets a clean exit instead.
            signal.signal(signal.SIGTERM, _stop_while_starting)
    log.info("stopped while waiting for Telegram")
    return False


def _stop_while_starting(signum: int, frame: object) -> None:
    """SIGTERM between reaching Telegram and the application's own handlers: exit 0."""
    log.info("stopped while starting")
    raise SystemExit(EXIT_OK)


async def _unless_stopped(
    stop: asyncio.Event, work: Awaitable[object]
) -> asyncio.Future[object] | None:
    """Run `work` until it finishes (its finished future) or `stop` is set first (None)."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((task, waiter), return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not stop.is_set():
        return task
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    return None


def _api_host(api_url: str) -> str:
    """host[:port] of the Bot API URL, without any credentials or path."""
    parts = urlsplit(api_url)
    host = parts.hostname or api_url
    return f"{host}:{parts.port}" if parts.port else host


async def _dispatch(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from bot.runtime import open_runtime

    handlers: dict[tuple[str, str | None], Callable[..., Awaitable[int]]] = {
        ("db", "upgrade"): _db_upgrade,
        ("poll-once", None): _poll_once,
        ("feeds", "add"): _feeds_add,
        ("feeds", "list"): _feeds_list,
        ("feeds", "remove"): _feeds_remove,
        ("feeds", "language"): _feeds_language,
        ("feeds", "check"): _feeds_check,
        ("feeds", "interval"): _feeds_interval,
        ("feeds", "import"): _feeds_import,
        ("feeds", "export"): _feeds_export,
        ("topics", "list"): _topics_list,
        ("topics", "import"): _topics_import,
        ("results", "export"): _results_export,
    }
    sub = getattr(args, f"{args.command.replace('-', '_')}_command", None)
    handler = handlers[(args.command, sub)]
    async with open_runtime(settings) as runtime:
        return await handler(runtime, args, out)


async def _db_upgrade(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    print("database is up to date", file=out)
    return EXIT_OK


async def _poll_once(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    await runtime.feeds.ensure_feeds(runtime.settings.feed_urls)
    summary = await runtime.ingest.poll_due()
    for o in sorted(summary.outcomes, key=lambda o: o.feed_id):
        if o.status is PollStatus.ERROR:
            print(f"feed {o.feed_id} {o.url}: error: {o.error}", file=out)
        elif o.status is PollStatus.NOT_MODIFIED:
            print(f"feed {o.feed_id} {o.url}: not modified", file=out)
        else:
            print(
                f"feed {o.feed_id} {o.url}: {o.entries_seen} entries, {o.posts_new} new posts, "
                f"{o.deliveries_new} deliveries queued",
                file=out,
            )
    print(
        f"polled {summary.feeds_polled} feeds: {summary.posts_new} new posts, "
        f"{summary.deliveries_new} deliveries queued, {summary.failures} failed",
        file=out,
    )
    return EXIT_OK


async def _feeds_add(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    try:
        info = await runtime.feeds.add_feed(args.url, args.name)
    except AlreadyExistsError as error:
        return _fail(f"feed already added: {error.key}")
    print(f"added feed {info.id}: {info.url}", file=out)
    return EXIT_OK


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


async def _feeds_list(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    feeds = await runtime.feeds.list_feeds()
    if not feeds:
        print("no feeds yet: add one with `campaignbot feeds add URL`", file=out)
        return EXIT_OK
    for f in feeds:
        state = "paused" if f.paused else ("failing" if f.consecutive_failures else "ok")
        print(f"{f.id:>4}  {state:<7} {f.label}", file=out)
        print(f"      url: {f.url}", file=out)
        print(
            f"      last success: {_when(f.last_success_at)}; failures in a row: "
            f"{f.consecutive_failures}; next poll: {_when(f.next_poll_at)}",
            file=out,
        )
        print(f"      interval: {_interval(f)}", file=out)
        if f.last_error:
            print(f"      last error: {f.last_error}", file=out)
    return EXIT_OK


async def _feeds_remove(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    try:
        info = await runtime.feeds.remove_feed(args.feed)
    except NotFoundError as error:
        return _fail(f"no feed with id or URL {error.key!r} (see `campaignbot feeds list`)")
    print(f"removed feed {info.id}: {info.url}", file=out)
    return EXIT_OK


async def _feeds_language(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    try:
        info, changed = await runtime.feeds.set_feed_language(args.feed, args.language)
    except NotFoundError as error:
        return _fail(f"no feed with id or URL {error.key!r} (see `campaignbot feeds list`)")
    except InvalidInputError as error:
        return _fail(str(error))
    how = "set" if info.language_fixed else "read from the feed at its next poll"
    shown = info.language if info.language_fixed else "auto"
    state = "" if changed else " (unchanged)"
    print(f"feed {info.id}: language {shown}, {how}{state}", file=out)
    return EXIT_OK


def _interval(feed: FeedHealthView) -> str:
    """How often a feed is polled and why: "15m (set)", "1h (the feed asks)", "5m"."""
    from bot.domain.schedule import format_interval

    every = format_interval(feed.effective_interval_seconds)
    if feed.interval_seconds is not None:
        return f"{every} (set by an admin)"
    if feed.min_interval_seconds is not None:
        return f"{every} (automatic; the feed asks {format_interval(feed.min_interval_seconds)})"
    return f"{every} (automatic)"


async def _feeds_interval(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    try:
        info, changed = await runtime.feeds.set_feed_interval(args.feed, args.interval)
    except NotFoundError as error:
        return _fail(f"no feed with id or URL {error.key!r} (see `campaignbot feeds list`)")
    except InvalidInputError as error:
        return _fail(str(error))
    state = "" if changed else " (unchanged)"
    print(f"feed {info.id}: polled every {_interval(info)}{state}", file=out)
    return EXIT_OK


async def _feeds_import(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    from bot.feeds.opml import MAX_OPML_BYTES

    path: Path = args.file
    try:
        size = (await asyncio.to_thread(path.stat)).st_size
        if size > MAX_OPML_BYTES:
            return _fail(f"{path} is larger than {MAX_OPML_BYTES // (1024 * 1024)} MB")
        content = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        return _fail(f"cannot read {path}: {error.strerror}")
    try:
        report = await runtime.feeds.import_opml(content)
    except InvalidInputError as error:
        return _fail(f"{path}: {error}; nothing was imported")
    for feed in report.added:
        print(f"added    {feed.id}: {feed.url}", file=out)
    for url in report.present:
        print(f"present  {url}", file=out)
    for refusal in report.refused:
        print(f"refused  {refusal.url}: {refusal.reason.value} ({refusal.detail})", file=out)
    print(
        f"{len(report.added)} added, {len(report.present)} already present, "
        f"{len(report.refused)} refused",
        file=out,
    )
    return EXIT_OK


async def _feeds_export(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    document = await runtime.feeds.export_opml()
    if args.file is None:
        out.write(document.decode("utf-8"))
        return EXIT_OK
    path: Path = args.file
    try:
        await asyncio.to_thread(path.write_bytes, document)
    except OSError as error:
        return _fail(f"cannot write {path}: {error.strerror}")
    print(f"exported {len(await runtime.feeds.list_feeds())} feeds to {path}", file=out)
    return EXIT_OK


async def _feeds_check(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    try:
        check = await runtime.ingest.check_feed(args.url)
    except FeedError as error:
        return _fail(f"cannot read feed {args.url}: {error.message}")
    feed = check.feed
    print(f"feed: {feed.title or '(no title)'} <{check.url}>", file=out)
    if feed.bozo_reason:
        print(f"warning: the feed is not well-formed ({feed.bozo_reason})", file=out)
    print(f"{len(feed.entries)} entries", file=out)
    reasons = check.reasons or [{} for _ in feed.entries]
    for entry, topics, why in zip(feed.entries, check.topics, reasons, strict=True):
        date = entry.published.strftime("%Y-%m-%d") if entry.published else "no date"
        print(f"- {entry.title}", file=out)
        print(f"  {entry.url or '(no link)'} | {date}", file=out)
        for kind, terms in _facets_by_kind(entry.facets):
            print(f"  {kind}: {'; '.join(terms)}", file=out)
        matched = [_with_reasons(slug, why.get(slug, [])) for slug in topics]
        print(f"  topics: {', '.join(matched) if matched else '(none)'}", file=out)
    return EXIT_OK


def _facets_by_kind(facets: Sequence[Facet]) -> list[tuple[str, list[str]]]:
    """An entry's facets grouped by kind, kinds in order of first appearance: "Myanmar (1821)"."""
    grouped: dict[str, list[str]] = {}
    for facet in facets:
        ident = f" ({facet.ident})" if facet.ident else ""
        grouped.setdefault(facet.kind, []).append(f"{facet.name}{ident}")
    return list(grouped.items())


def _with_reasons(slug: str, fired: list[str]) -> str:
    """A matched topic with the rules that matched it: "sudan [country:Sudan]"."""
    rules = [rule for rule in fired if not rule.startswith("exclude:")]
    return f"{slug} [{', '.join(rules)}]" if rules else slug


async def _topics_list(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    for t in await runtime.topics.list_topics():
        archived = " (archived)" if t.archived else ""
        print(
            f"{t.slug:<24} {t.emoji} {t.name}{archived}: {t.rules} rules, "
            f"{t.subscribers} subscribers",
            file=out,
        )
    return EXIT_OK


async def _topics_import(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    from bot.domain.topics import parse_topics_toml

    path: Path = args.file
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except OSError as error:
        return _fail(f"cannot read {path}: {error.strerror}")
    specs = parse_topics_toml(text, source=str(path))
    result = await runtime.topics.import_topics(specs)
    print(
        f"imported {len(specs)} topics: {len(result.created)} created, "
        f"{len(result.updated)} updated",
        file=out,
    )
    return EXIT_OK


async def _results_export(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    import csv
    import json

    from bot.render.results import EXPORT_FIELDS, export_rows, spreadsheet_cell
    from bot.services.results import parse_since

    tz = runtime.settings.timezone
    since = parse_since(args.since, tz) if args.since is not None else None
    rows = export_rows(await runtime.results.export(since), tz)
    if args.fmt == "json":
        json.dump(rows, out, ensure_ascii=False, indent=2)
        out.write("\n")
        return EXIT_OK
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: spreadsheet_cell(v) for k, v in row.items()} for row in rows)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
