"""The suite runs from a bare copy of the repository, with nothing beside it.

The tracked files (as they are in the working tree) are copied into an empty temporary folder
and pytest runs there: the corpus sweeps and the fake Bot API's spec checks must find their
data inside the copy and skip nothing but the PostgreSQL runs. The run is a subset (the first
corpus sweep opens every corpus file; the others only look again at its outcomes) to stay fast.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import PG_SKIP_REASON

REPO_ROOT = Path(__file__).resolve().parents[1]
MODULES = {
    "tests/feeds/test_corpus.py": "tests.feeds.test_corpus",
    "tests/services/test_corpus_poll.py": "tests.services.test_corpus_poll",
    "tests/test_fake_botapi.py": "tests.test_fake_botapi",
}
CORPUS = MODULES["tests/feeds/test_corpus.py"]
SUBSET = [
    "-k",
    "not (entries_have_identity or entry_urls or entry_dates or identities_are_stable)"
    " and (not test_fake_botapi or spec or parameter)",
    "--deselect",
    "tests/services/test_corpus_poll.py::test_corpus_cycle_records_every_feed[sqlite]",
]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def _copy_tracked_files(target: Path) -> None:
    """Copy every file git tracks, in its working-tree state, to `target`."""
    listing = subprocess.run(
        ["git", "ls-files", "-z"],  # noqa: S607 - git from PATH, fixed arguments
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listing.decode().split("\0")):
        source = REPO_ROOT / name
        if not os.path.lexists(source):  # deleted in the working tree, as a commit would be
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / name, follow_symlinks=False)


def test_bare_copy_runs_the_corpus_and_skips_only_postgres(tmp_path: Path) -> None:
    """From a copy in an empty folder, the corpus tests run and only PostgreSQL is skipped."""
    checkout, report = tmp_path / "checkout", tmp_path / "report.xml"
    _copy_tracked_files(checkout)
    env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "PYTEST_ADDOPTS")}
    command = [sys.executable, "-m", "pytest", "-p", "no:randomly", "-q", "-rs", "-m", "not slow"]
    command += [f"--basetemp={tmp_path / 'basetemp'}", f"--junitxml={report}", *SUBSET, *MODULES]
    result = subprocess.run(  # noqa: S603 - our own test suite, fixed arguments
        command, cwd=checkout, env=env, capture_output=True, text=True, check=False
    )

    root = ET.parse(report).getroot()  # noqa: S314 - the report we just had written
    cases = [(case.get("classname"), case.find("skipped")) for case in root.iter("testcase")]
    corpus_run = [module for module, skip in cases if module == CORPUS and skip is None]
    skip_reasons = {skip.get("message") for _, skip in cases if skip is not None}
    modules = {module for module, _ in cases}
    assert (result.returncode, len(corpus_run) > 400, skip_reasons, modules) == (
        0,
        True,
        {PG_SKIP_REASON},
        set(MODULES.values()),
    ), result.stdout[-3000:] + result.stderr[-2000:]
