"""`campaignbot results export` as users run it (a real process), on SQLite and PostgreSQL:
exact CSV and JSON, --since, and bad input exiting 2 with one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.db.session import make_sessionmaker
from tests.fakes.clock import FakeClock
from tests.services.test_results import seed
from tests.test_cli import campaignbot

HEADER = (
    "kind,id,title,date,topic,targeted,sent,failed,blocked,clicks,click_count,actions,shares,"
    "joins,unsubscribes,click_rate,action_rate,actions_per_click"
)
TITLE = '"Write to the minister & ask for an independent inquiry today, please"'
CSV = [
    HEADER,
    f"broadcast,1,{TITLE},2026-11-24T09:00:00+00:00,✋ StopTorture,4,3,1,0,2,3,1,0,0,0,"
    "0.6667,0.3333,0.5",
    f"broadcast,1,{TITLE},2026-11-24T09:00:00+00:00,✉️ Write for Rights,2,2,0,0,1,1,1,0,0,0,"
    "0.5,0.5,1.0",
    f"broadcast,1,{TITLE},2026-11-24T09:00:00+00:00,Without a topic,0,0,0,0,0,0,0,2,1,1,,,",
    f"broadcast,1,{TITLE},2026-11-24T09:00:00+00:00,total,6,5,1,0,3,4,2,2,1,1,0.6,0.4,0.6667",
    "post,1,Urgent action: release <them>,2026-11-24T09:05:00+00:00,✋ StopTorture,"
    "2,1,0,1,0,0,0,0,0,0,0.0,0.0,",
    "post,1,Urgent action: release <them>,2026-11-24T09:05:00+00:00,total,"
    "2,1,0,1,0,0,0,0,0,0,0.0,0.0,",
]


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The CLI's environment: the test database, a working directory of its own."""
    return {"DATABASE_URL": database_url, "CWD": str(tmp_path)}


async def seeded(env: dict[str, str], engine: object) -> tuple[int, str, str]:
    """Export once on the empty database (which loads the topics), then seed the messages."""
    empty = await campaignbot(env, "results", "export")
    await seed(make_sessionmaker(engine), FakeClock())  # type: ignore[arg-type]
    return empty


async def test_export_csv_exact(env: dict[str, str], engine: object) -> None:
    """One row per message and topic, then its total; rates blank when undefined."""
    empty = await seeded(env, engine)
    status, out, err = await campaignbot(env, "results", "export")
    assert empty == (0, HEADER + "\n", "")
    assert (status, out.splitlines(), err) == (0, CSV, "")


async def test_export_json_exact_and_since(env: dict[str, str], engine: object) -> None:
    """JSON has the same rows (null rates when undefined); --since leaves out older messages."""
    await seeded(env, engine)
    status, out, _ = await campaignbot(env, "results", "export", "--format", "json")
    rows = json.loads(out)
    later = await campaignbot(env, "results", "export", "--since", "2026-11-25")
    assert status == 0
    assert [(r["kind"], r["topic"], r["sent"], r["click_rate"]) for r in rows] == [
        ("broadcast", "✋ StopTorture", 3, 0.6667),
        ("broadcast", "✉️ Write for Rights", 2, 0.5),
        ("broadcast", "Without a topic", 0, None),
        ("broadcast", "total", 5, 0.6),
        ("post", "✋ StopTorture", 1, 0.0),
        ("post", "total", 1, 0.0),
    ]
    assert rows[3] == {
        "kind": "broadcast",
        "id": 1,
        "title": "Write to the minister & ask for an independent inquiry today, please",
        "date": "2026-11-24T09:00:00+00:00",
        "topic": "total",
        "targeted": 6,
        "sent": 5,
        "failed": 1,
        "blocked": 0,
        "clicks": 3,
        "click_count": 4,
        "actions": 2,
        "shares": 2,
        "joins": 1,
        "unsubscribes": 1,
        "click_rate": 0.6,
        "action_rate": 0.4,
        "actions_per_click": 0.6667,
    }
    assert later == (0, HEADER + "\n", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "30/11/2026"), "--since: '30/11/2026' is not a date like 2026-11-30"),
        (("--format", "xlsx"), "argument --format: invalid choice: 'xlsx'"),
    ],
)
async def test_export_bad_input_exits_2(
    env: dict[str, str], engine: object, args: tuple[str, ...], message: str
) -> None:
    """A bad date or format: exit 2, one line on stderr, nothing on stdout."""
    status, out, err = await campaignbot(env, "results", "export", *args)
    assert (status, out, len(err.splitlines()), message in err) == (2, "", 1, True)
