"""Many concurrent runs in one process on one SQLite file: all complete, none errors."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from durable_workflow.lite import Workflow


async def test_1000_concurrent_workflows_one_process(make_wf: Any, db: str) -> None:
    wf: Workflow = make_wf()
    # Two apps on one file as well: they must share the connection, not fight over locks.
    other: Workflow = make_wf("other")

    @wf.task
    async def fetch(n: int) -> int:
        await asyncio.sleep(0)
        return n * 2

    @wf.task
    async def save(n: int) -> int:
        return n + 1

    @wf.workflow(id="job-{n}")
    async def job(n: int) -> int:
        return await save(await fetch(n))

    @other.workflow(id="other-{n}")
    async def other_job(n: int) -> int:
        return n

    calls = [job(n) for n in range(1000)] + [other_job(n) for n in range(50)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert results[:1000] == [n * 2 + 1 for n in range(1000)]
    with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
        assert conn.execute(
            "SELECT app, status, count(*) FROM lite_runs GROUP BY app, status ORDER BY app"
        ).fetchall() == [("app", "completed", 1000), ("other", "completed", 50)]
        assert conn.execute("SELECT count(*) FROM lite_steps").fetchone() == (2000,)
