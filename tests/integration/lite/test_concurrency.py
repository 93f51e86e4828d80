"""Many concurrent runs in one process on one database (either back end): all complete, none errors."""

from __future__ import annotations

import asyncio
from typing import Any

from durable_workflow.lite import Workflow
from tests.support.db import rows


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
    assert rows(
        db, "SELECT app, status, count(*) FROM lite_runs GROUP BY app, status ORDER BY app"
    ) == [("app", "completed", 1000), ("other", "completed", 50)]
    assert rows(db, "SELECT count(*) FROM lite_steps") == [(2000,)]
