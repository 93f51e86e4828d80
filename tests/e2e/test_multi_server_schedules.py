"""Two processes share one database: every schedule fire time starts exactly one workflow
(issue 5). Each process's sweeper claims a fire with a conditional update on ``next_fire_at``
in the transaction that starts the workflow, so the loser starts nothing.

PostgreSQL: two `dw server start` processes. SQLite: one server refuses a second on its file
(issue 3), so the second sweeper is an embedded ``Client("sqlite:///…")`` in another process."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import REPO, ServerProcess, child_env, wait_until

pytestmark = pytest.mark.e2e
TOKEN = "multi-token"
# An embedded runtime (store, engine, sweeper) kept open until stdin closes.
_EMBEDDED = """
import asyncio, sys
from durable_workflow import Client

async def main():
    client = Client(sys.argv[1])
    await client.health()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await client.aclose()

asyncio.run(main())
"""


def _call(server: ServerProcess, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        server.url + "/api" + path, data=data, method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json",
                 "X-Durable-Workflow-Control-Plane-Version": "2", "X-Namespace": "default"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _exactly_once_per_fire_time(db_url: str, tmp_path: Path, *, embedded_second: bool) -> None:
    servers = [
        ServerProcess(db_url=db_url, token=TOKEN, log_path=tmp_path / f"server-{i}.log")
        for i in range(1 if embedded_second else 2)
    ]
    embedded: subprocess.Popen[str] | None = None
    try:
        for s in servers:
            s.start()
        if embedded_second:
            embedded = subprocess.Popen(
                [sys.executable, "-c", _EMBEDDED, db_url], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True, cwd=REPO, env=child_env(),
            )
            assert embedded.stdout is not None and embedded.stdout.readline().strip() == "ready"
        a, b = servers[0], servers[-1]
        _call(a, "POST", "/schedules", {
            "schedule_id": "tick",
            "spec": {"intervals": [{"every": "PT1S"}]},
            "action": {"workflow_type": "noop", "task_queue": "nobody-polls"},
            "overlap_policy": "allow_all",
        })
        # The schedule is visible through the other process at once.
        assert _call(b, "GET", "/schedules/tick")["status"] == "active"
        wait_until(lambda: _call(b, "GET", "/schedules/tick")["fires_count"] >= 6, 30,
                   "six fires across two servers")
        _call(b, "POST", "/schedules/tick/pause", {})
        events: list[dict[str, Any]] = []
        cursor = 0
        while True:
            page = _call(a, "GET", f"/schedules/tick/history?limit=500&after_sequence={cursor}")
            events += page["events"]
            if not page["has_more"]:
                break
            cursor = page["next_cursor"]
        fired = [e for e in events if e["event_type"] == "ScheduleTriggered"]
        per_time = Counter(e["payload"]["fire_time"] for e in fired)
        assert per_time and max(per_time.values()) == 1, per_time
        ids = [e["workflow_instance_id"] for e in fired]
        assert len(set(ids)) == len(ids)
        workflows = _call(a, "GET", "/workflows?workflow_type=noop&page_size=200")["workflows"]
        assert sorted(w["workflow_id"] for w in workflows) == sorted(ids)
        assert _call(a, "GET", "/schedules/tick")["fires_count"] == len(ids)
    finally:
        if embedded is not None:
            embedded.communicate(timeout=20)  # closes stdin: the runtime shuts down
        for s in servers:
            s.stop()


def test_server_and_embedded_process_on_one_sqlite_file_fire_each_time_once(tmp_path: Path) -> None:
    _exactly_once_per_fire_time(f"sqlite:///{tmp_path / 'shared.db'}", tmp_path, embedded_second=True)


@pytest.mark.postgres
def test_two_servers_on_one_postgres_database_fire_each_time_once(
    tmp_path: Path, pg_fresh_url: str
) -> None:
    # Fails (never skips) when PostgreSQL is unreachable.
    _exactly_once_per_fire_time(pg_fresh_url, tmp_path, embedded_second=False)
