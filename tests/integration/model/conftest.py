"""A real server (SQLite file or PostgreSQL database, fake clock) driven in process by the SDK
Client and Worker.

The fake clock moves timers, activity and run deadlines without wall time; everything else
(long polls, worker loops) runs for real.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from durable_workflow import Client, Worker
from durable_workflow._transport import RuntimeTransport
from durable_workflow.server.engine.clock import FakeClock
from durable_workflow.server.runtime import ServerConfig, ServerRuntime
from tests.support import db

QUEUE = "model"


@dataclass
class Env:
    runtime: ServerRuntime
    clock: FakeClock
    client: Client
    db_url: str

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
            if workflows:  # queries and update validators need its query poller seen
                await wait_until(lambda: self._query_poller_seen(task_queue))
            yield worker
        finally:
            await worker.stop()
            await runner

    def _query_poller_seen(self, task_queue: str) -> bool:
        # Engine internals: no API says "this worker's query poller has polled" yet.
        return bool(self.runtime.engine._queries().pollers.get(("default", task_queue)))

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
        return db.rows(self.db_url, sql, *args)

    def dump(self) -> list[str]:
        return db.dump(self.db_url)


async def _registered(env: Env, worker_id: str) -> bool:
    return bool(env.rows("SELECT 1 FROM workers WHERE worker_id = ?", worker_id))


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
async def env(store_url: str) -> AsyncIterator[Env]:
    """Parametrised over both back ends (``store_url`` in tests/conftest.py)."""
    clock = FakeClock()
    runtime = await ServerRuntime.open(ServerConfig(db_url=store_url, clock=clock))
    client = Client("embedded://model", transport=RuntimeTransport(runtime))
    try:
        yield Env(runtime, clock, client, store_url)
    finally:
        await client.aclose()
        await runtime.close()
