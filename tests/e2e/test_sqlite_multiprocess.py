"""Several processes on one SQLite file in embedded mode: correct, never "database is locked".

Two worker processes and this test process each open the file with ``Client("sqlite:///…")``.
SQLite has no cross-process notification, so polls re-check every second (documented in
server/store/sqlite.py); write-lock contention is retried inside the store.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from durable_workflow import Client
from tests.support.processes import wait_until

from .multi_server import QUEUE, WORKFLOW, WorkerProcess

pytestmark = pytest.mark.e2e


class _EmbeddedTarget:  # what WorkerProcess needs of a server
    def __init__(self, url: str) -> None:
        self.url, self.token = url, None


def _completed(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM runs WHERE status = 'completed'").fetchone()[0])


def test_embedded_processes_share_one_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    url = f"sqlite:///{db}"
    workers = [WorkerProcess(_EmbeddedTarget(url), tmp_path) for _ in range(2)]  # type: ignore[arg-type]
    try:
        for w in workers:
            w.wait_ready()

        async def start_all() -> None:
            async with Client(url) as client:
                for i in range(100):
                    await client.start_workflow(workflow_type=WORKFLOW, task_queue=QUEUE,
                                                workflow_id=f"mp-{i}", input=[i])

        t0 = time.monotonic()
        asyncio.run(start_all())
        wait_until(lambda: _completed(db) == 100, 60, "100 workflows via two other processes")
        print(f"\n100 workflows, 3 processes on one SQLite file: {time.monotonic() - t0:.1f} s")
    finally:
        for w in workers:
            w.stop()
    for w in workers:
        log = w.log.read_text()
        assert "locked" not in log and "Traceback" not in log, log
