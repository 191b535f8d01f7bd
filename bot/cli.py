"""The `campaignbot` command line (DESIGN.md: run, db upgrade, feeds, topics, poll-once).

Exit status: 0 on success, 2 on bad input or configuration with one clear line on stderr,
1 on an unexpected failure (logged). No traceback reaches the user for expected errors.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot import __version__
from bot.config import Settings, load_settings
from bot.errors import AlreadyExistsError, BotError, ConfigError, FeedError, NotFoundError
from bot.log import configure_logging

if TYPE_CHECKING:  # imported lazily at run time: `campaignbot --help` stays fast
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


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
    check = feed_commands.add_parser(
        "check", help="fetch and parse a feed once and show matched topics; writes nothing"
    )
    check.add_argument("url")

    topics = commands.add_parser("topics", help="manage topics")
    topic_commands = topics.add_subparsers(
        dest="topics_command", required=True, parser_class=_Parser
    )
    topic_commands.add_parser("list", help="list topics")
    imp = topic_commands.add_parser("import", help="create or update topics from a TOML file")
    imp.add_argument("file", type=Path)
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
        "WARNING" if args.command != "run" and settings.log_level == "INFO" else settings.log_level
    )
    configure_logging(level, settings.log_format, secrets)
    try:
        if args.command == "run":
            return _run(settings)
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

    settings.require_token()
    run_forever(settings)
    return EXIT_OK


async def _dispatch(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from bot.runtime import open_runtime

    handlers: dict[tuple[str, str | None], Callable[..., Awaitable[int]]] = {
        ("db", "upgrade"): _db_upgrade,
        ("poll-once", None): _poll_once,
        ("feeds", "add"): _feeds_add,
        ("feeds", "list"): _feeds_list,
        ("feeds", "remove"): _feeds_remove,
        ("feeds", "check"): _feeds_check,
        ("topics", "list"): _topics_list,
        ("topics", "import"): _topics_import,
    }
    sub = getattr(args, f"{args.command.replace('-', '_')}_command", None)
    handler = handlers[(args.command, sub)]
    async with open_runtime(settings) as runtime:
        return await handler(runtime, args, out)


async def _db_upgrade(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    print("database is up to date", file=out)
    return EXIT_OK


async def _poll_once(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    await runtime.catalog.ensure_feeds(runtime.settings.feed_urls)
    summary = await runtime.ingest.poll_due()
    for o in sorted(summary.outcomes, key=lambda o: o.feed_id):
        if o.status == "error":
            print(f"feed {o.feed_id} {o.url}: error: {o.error}", file=out)
        elif o.status == "not_modified":
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
        info = await runtime.catalog.add_feed(args.url, args.name)
    except AlreadyExistsError as error:
        return _fail(f"feed already added: {error.key}")
    print(f"added feed {info.id}: {info.url}", file=out)
    return EXIT_OK


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


async def _feeds_list(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    feeds = await runtime.catalog.list_feeds()
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
        if f.last_error:
            print(f"      last error: {f.last_error}", file=out)
    return EXIT_OK


async def _feeds_remove(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    try:
        info = await runtime.catalog.remove_feed(args.feed)
    except NotFoundError as error:
        return _fail(f"no feed with id or URL {error.key!r} (see `campaignbot feeds list`)")
    print(f"removed feed {info.id}: {info.url}", file=out)
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
    for entry, topics in zip(feed.entries, check.topics, strict=True):
        date = entry.published.strftime("%Y-%m-%d") if entry.published else "no date"
        print(f"- {entry.title}", file=out)
        print(f"  {entry.url or '(no link)'} | {date}", file=out)
        print(f"  topics: {', '.join(topics) if topics else '(none)'}", file=out)
    return EXIT_OK


async def _topics_list(runtime: Runtime, args: argparse.Namespace, out: TextIO) -> int:
    for t in await runtime.catalog.list_topics():
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
    result = await runtime.catalog.import_topics(specs)
    print(
        f"imported {len(specs)} topics: {len(result.created)} created, "
        f"{len(result.updated)} updated",
        file=out,
    )
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
