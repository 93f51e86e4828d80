"""A real server (SQLite file, fake clock) driven in process by the SDK Client and Worker.

The fake clock moves timers, activity and run deadlines without wall time; everything else
(long polls, worker loops) runs for real.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from durable_workflow import Client, Worker
from durable_workflow._transport import RuntimeTransport
from durable_workflow.server.engine.clock import FakeClock
from durable_workflow.server.runtime import ServerConfig, ServerRuntime

QUEUE = "model"


@dataclass
class Env:
    runtime: ServerRuntime
    clock: FakeClock
    client: Client
    db_path: Path

    @contextlib.asynccontextmanager
    async def worker(
        self,
        workflows: Sequence[type] = (),
        activities: Sequence[Any] = (),
        *,
        task_queue: str = QUEUE,
    ) -> AsyncIterator[Worker]:
        worker = Worker(
            self.client,
            task_queue=task_queue,
            workflows=list(workflows),
            activities=list(activities),
            poll_timeout=5,
        )
        runner = asyncio.create_task(worker.run())
        try:
            await wait_until(lambda: _registered(self, worker.worker_id))
            # ... and its query poll reached the engine: updates and queries need a live
            # poller, and with group commit a registration is answered a loop turn later.
            await wait_until(lambda: _query_polling(self, task_queue, worker.worker_id))
            yield worker
        finally:
            await worker.stop()
            await runner

    async def events(self, workflow_id: str, run_id: str | None = None) -> list[dict[str, Any]]:
        if run_id is None:
            run_id = (await self.client.describe_workflow(workflow_id)).run_id
        history = await self.client.get_history(workflow_id, run_id or "")
        return list(history["events"])

    async def kinds(self, workflow_id: str, run_id: str | None = None) -> list[str]:
        return [e["event_type"] for e in await self.events(workflow_id, run_id)]

    async def status(self, workflow_id: str) -> str | None:
        return (await self.client.describe_workflow(workflow_id)).status

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db_path) as conn:
            return list(conn.execute(sql, args))

    def dump(self) -> list[str]:
        with sqlite3.connect(self.db_path) as conn:
            return list(conn.iterdump())


async def _registered(env: Env, worker_id: str) -> bool:
    return bool(env.rows("SELECT 1 FROM workers WHERE worker_id = ?", worker_id))


def _query_polling(env: Env, task_queue: str, worker_id: str) -> bool:
    pollers = env.runtime.engine._queries().pollers.get(("default", task_queue), {})
    return worker_id in pollers


async def wait_until(
    condition: Callable[[], Awaitable[bool]] | Callable[[], bool], timeout: float = 10.0
) -> None:
    """Poll ``condition`` (sync or async) until true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.002
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {condition}")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.05)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    clock = FakeClock()
    db_path = tmp_path / "model.db"
    runtime = await ServerRuntime.open(ServerConfig(db_url=f"sqlite:///{db_path}", clock=clock))
    client = Client("embedded://model", transport=RuntimeTransport(runtime))
    try:
        yield Env(runtime, clock, client, db_path)
    finally:
        await client.aclose()
        await runtime.close()
