"""`python -m bench --quick` completes and produces every row (no timing thresholds here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import pg_server_url

REPO_ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {
    "paced",
    "ceiling",
    "fleet",
    "fanout",
    "matching",
    "poll",
    "poll304",
    "pollscale",
    "pollscale_cpu",
    "replies",
    "memory",
}

pytestmark = pytest.mark.slow


def _bench(output: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own module
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--repeat",
            "1",
            "--output",
            str(output),
            *args,
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_bench_quick_produces_every_row(tmp_path: Path) -> None:
    output = tmp_path / "latest.json"
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    result = _bench(output, "--db", "sqlite", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(output.read_text())["rows"]
    # The fleet row is PostgreSQL only (below).
    assert {row["name"] for row in rows} == EXPECTED - {"fleet"}
    assert all(row["value"] is not None for row in rows)
    assert "figure" in result.stdout
    ceiling = next(row for row in rows if row["name"] == "ceiling")
    assert "unpaced" in ceiling["figure"]
    assert "duplicates: 0; lost: 0" in ceiling["note"]


def test_bench_quick_fleet_row_on_postgresql(tmp_path: Path) -> None:
    if not os.environ.get("TEST_DATABASE_URL", "").strip():
        pytest.skip("the fleet row needs PostgreSQL (TEST_DATABASE_URL)")
    output = tmp_path / "latest.json"
    # The bench creates its database from the server's URL: this process's own database is
    # made only when a test first uses one, so it may not exist yet.
    server = pg_server_url() or os.environ["TEST_DATABASE_URL"]
    env = dict(os.environ, TEST_DATABASE_URL=server)
    result = _bench(output, "--db", "postgres", "--only", "fleet", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(output.read_text())["rows"]
    assert [row["name"] for row in rows] == ["fleet"]
    (row,) = rows
    assert row["value"] > 0
    assert row["met"] is True  # every chat once: 0 duplicates, 0 lost
    assert "2 workers" in row["figure"]
