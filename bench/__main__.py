"""`python -m bench [--quick] [--only NAME[,NAME]] [--repeat N] [--db sqlite|postgres|all]`.

Runs each figure on a fresh SQLite file and, when TEST_DATABASE_URL is set, on the dedicated
PostgreSQL database `cb_bench`; prints one table and writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench import delivery, fanout, fleet, matching, poll, pollscale, replies
from bench.common import Ctx, Row, ensure_pg_database, env_pg_url, make_tmp

RESULTS = Path(__file__).resolve().parent / "results"

Figure = Callable[[Ctx], Awaitable[Row | list[Row]]]
# name -> (function, needs a database)
FIGURES: dict[str, tuple[Figure, bool]] = {
    "paced": (delivery.paced, True),
    "ceiling": (delivery.ceiling, True),
    "fleet": (fleet.fleet, True),  # PostgreSQL only: no row on SQLite
    "fanout": (fanout.fan_out_write, True),
    "matching": (matching.matching, False),
    "poll": (poll.poll_cycle, True),
    "pollscale": (pollscale.poll_at_scale, True),
    "replies": (replies.replies, True),
    "memory": (fanout.memory, True),
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--only", default="", help=f"comma-separated: {', '.join(FIGURES)}")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the short figures")
    parser.add_argument("--db", choices=("sqlite", "postgres", "all"), default="all")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    parser.add_argument(
        "--poll-feeds", type=int, default=None, help="feeds of the poll-at-scale row (10,000)"
    )
    parser.add_argument(
        "--poll-minutes",
        type=float,
        default=None,
        help="minutes of polling for its CPU figure (5; --quick: 4 s)",
    )
    parser.add_argument(
        "--poll-interval",
        type=int,
        default=None,
        help="POLL_INTERVAL_SECONDS of that figure (the bot's default, 300; --quick: 2)",
    )
    return parser.parse_args(argv)


def _machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _format(rows: list[tuple[str, Row]]) -> str:
    header = ("database", "figure", "median", "target", "met", "runs", "note")
    lines = [header]
    for db, row in rows:
        value = "—" if row.value is None else f"{row.value:,.2f} {row.unit}"
        runs = ", ".join(f"{r:,.2f}" for r in row.runs)
        met = "n/a" if row.met is None else ("yes" if row.met else "NO")
        lines.append((db, row.figure, value, row.target, met, runs, row.note))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append(" | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))
        if n == 0:
            out.append("-+-".join("-" * w for w in widths))
    return "\n".join(out)


async def _run(args: argparse.Namespace) -> list[tuple[str, Row]]:
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in only if n not in FIGURES]
    if unknown:
        raise SystemExit(f"unknown figure(s): {', '.join(unknown)}; known: {', '.join(FIGURES)}")
    names = only or list(FIGURES)
    dbs = ["sqlite", "postgres"] if args.db == "all" else [args.db]
    pg = env_pg_url()
    if "postgres" in dbs and pg is None:
        if args.db == "postgres":
            raise SystemExit("--db postgres needs TEST_DATABASE_URL")
        dbs.remove("postgres")
    if pg is not None and "postgres" in dbs:
        await ensure_pg_database(pg)
    tmp = make_tmp()
    rows: list[tuple[str, Row]] = []
    try:
        for name in names:
            figure, needs_db = FIGURES[name]
            for db in dbs if needs_db else ["-"]:
                ctx = Ctx(
                    db=db if db != "-" else "sqlite",
                    quick=args.quick,
                    repeat=args.repeat,
                    tmp=tmp,
                    pg_admin_url=pg,
                    options={
                        "poll_feeds": args.poll_feeds,
                        "poll_minutes": args.poll_minutes,
                        "poll_interval": args.poll_interval,
                    },
                )
                started = time.monotonic()
                print(f"… {name} on {db}", file=sys.stderr, flush=True)
                result = await figure(ctx)
                for row in result if isinstance(result, list) else [result]:
                    row.extra["wall_seconds"] = round(time.monotonic() - started, 1)
                    rows.append((db, row))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print the table, write the JSON."""
    args = _parse(argv)
    logging.basicConfig(level=logging.ERROR)
    rows = asyncio.run(_run(args))
    print(_format(rows))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "when": datetime.now(UTC).isoformat(timespec="seconds"),
                "quick": args.quick,
                "repeat": args.repeat,
                "machine": _machine(),
                "rows": [{"database": db, **asdict(row)} for db, row in rows],
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
