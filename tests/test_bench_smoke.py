"""`python -m bench --quick` completes and produces every row (no timing thresholds here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {"paced", "ceiling", "fanout", "matching", "poll", "poll304", "replies", "memory"}

pytestmark = pytest.mark.slow


def test_bench_quick_produces_every_row(tmp_path: Path) -> None:
    output = tmp_path / "latest.json"
    env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    result = subprocess.run(  # noqa: S603 - our own module
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--repeat",
            "1",
            "--db",
            "sqlite",
            "--output",
            str(output),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(output.read_text())["rows"]
    assert {row["name"] for row in rows} == EXPECTED
    assert all(row["value"] is not None for row in rows)
    assert "figure" in result.stdout
