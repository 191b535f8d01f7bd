"""The fleet's ceiling: N worker processes on one PostgreSQL draining one 20,000-chat fan-out.

No `run` instance: each process is `campaignbot worker`'s runtime (bench.worker_child) with the
engine unpaced; the fake Bot API without limits runs in its own process. PostgreSQL only (a
fleet needs it); on SQLite the figure gives no row.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import psutil

from bench.common import (
    REPO_ROOT,
    Ctx,
    FakeApi,
    Row,
    fake_api,
    fresh_database,
    median,
    queue_post,
    seed_subscribers,
)

UNPACED_RATE = 100_000.0
# Seconds of sending after which a run reports its rate so far.
STOP_AFTER = 90


@contextlib.contextmanager
def _workers(count: int, url: str, api: FakeApi) -> Iterator[list[subprocess.Popen[str]]]:
    procs = [
        subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [
                sys.executable,
                "-m",
                "bench.worker_child",
                url,
                api.base_url,
                api.token,
                str(UNPACED_RATE),
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@dataclass
class _Run:
    finished: bool
    rate: float
    per_process: list[float]
    cpu: list[float]
    duplicates: int
    lost: int


async def _run(ctx: Ctx, chats: int, workers: int) -> _Run:
    url = await fresh_database(ctx, "fleet")
    topic_id = await seed_subscribers(url, chats)
    async with fake_api(limits=False) as api:
        with _workers(workers, url, api) as procs:
            for proc in procs:  # every engine runs before the outbox fills
                assert proc.stdout is not None
                line = await asyncio.to_thread(proc.stdout.readline)
                if "ready" not in line:
                    raise RuntimeError(f"worker did not start: {line!r}")
            created, _ = await queue_post(url, topic_id)
            assert created == chats, (created, chats)
            await api.call("wait_for_sent", total=1, timeout=120)
            first = time.monotonic()
            cpu_first = [sum(psutil.Process(p.pid).cpu_times()[:2]) for p in procs]
            finished = await api.wait_sent(chats, ctx.size(STOP_AFTER, 60))
            last = time.monotonic()
            cpu_last = [sum(psutil.Process(p.pid).cpu_times()[:2]) for p in procs]
            stats = await api.call("stats")
            sent = []
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
                out, _ = await asyncio.to_thread(proc.communicate, timeout=60)
                sent.append(int(json.loads(out.strip().splitlines()[-1])["sent"]))
    seconds = last - first
    delivered = len(stats["sent_per_chat"])
    return _Run(
        finished=finished,
        rate=(delivered - 1) / seconds,
        per_process=[n / seconds for n in sent],
        cpu=[(b - a) / seconds for a, b in zip(cpu_first, cpu_last, strict=True)],
        duplicates=int(stats["sent_messages"] - len(stats["sent_per_chat"])),
        lost=chats - delivered if finished else 0,
    )


async def fleet(ctx: Ctx) -> list[Row]:
    """Total and per-process msg/s of N workers; PostgreSQL only."""
    if ctx.db != "postgres":
        return []
    chats = ctx.size(20_000, 300)
    times = 1 if ctx.quick else ctx.repeat
    return [await _row(ctx, chats, n, times) for n in ((2,) if ctx.quick else (2, 3))]


async def _row(ctx: Ctx, chats: int, workers: int, times: int) -> Row:
    """One row: `workers` processes, `times` runs."""
    runs = [await _run(ctx, chats, workers) for _ in range(times)]
    rates = [r.rate for r in runs]
    value = median(rates)
    duplicates = max(r.duplicates for r in runs)
    lost = max(r.lost for r in runs)
    unfinished = sum(1 for r in runs if not r.finished)
    stopped = f"{unfinished} run(s) stopped after {STOP_AFTER} s (rate so far); "
    middle = runs[rates.index(value)] if value in rates else runs[0]
    per = ", ".join(f"{x:,.0f}" for x in middle.per_process)
    cpu = ", ".join(f"{x:.0%}" for x in middle.cpu)
    return Row(
        "fleet",
        f"fleet ceiling ({chats:,} chats, {workers} workers, unpaced, no server limits)",
        value,
        "msg/s",
        "0 duplicates, 0 lost",
        duplicates == 0 and lost == 0 and not unfinished,
        rates,
        note=(stopped if unfinished else "")
        + f"per process: {per} msg/s; CPU per process: {cpu} of a core; "
        f"duplicates: {duplicates}; lost: {lost}",
        extra={"runs": [asdict(r) for r in runs]},
    )
