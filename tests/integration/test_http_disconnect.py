"""A long poll whose HTTP client hangs up never leases a task: the next poller gets it at once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp

from durable_workflow.protocol import codec

from .conftest import LiveServer

QUEUE = "disconnect-q"


def _headers(server: LiveServer, plane: str) -> dict[str, str]:
    version = (
        {"X-Durable-Workflow-Protocol-Version": "1.20"}
        if plane == "worker"
        else {"X-Durable-Workflow-Control-Plane-Version": "2"}
    )
    return {"Authorization": f"Bearer {server.token}", "X-Namespace": "default", **version}


async def _post(
    session: aiohttp.ClientSession,
    server: LiveServer,
    path: str,
    body: dict[str, Any],
    plane: str = "worker",
) -> tuple[int, Any]:
    async with session.post(server.url + path, json=body, headers=_headers(server, plane)) as resp:
        return resp.status, await resp.json()


async def _wait_parked(server: LiveServer, count: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while server.runtime.engine.wakeups.parked_count() < count:
        assert loop.time() < deadline, "poll never parked"
        await asyncio.sleep(0.005)


async def test_abandoned_poll_does_not_swallow_the_next_task(live_server: LiveServer) -> None:
    async with aiohttp.ClientSession() as session:
        for worker in ("gone", "alive"):
            status, _ = await _post(
                session,
                live_server,
                "/api/worker/register",
                {
                    "worker_id": worker,
                    "task_queue": QUEUE,
                    "runtime": "python",
                    "supported_workflow_types": ["t"],
                    "supported_activity_types": [],
                },
            )
            assert status < 300

    # A worker parks a long poll, then its process dies (the connection closes).
    doomed = aiohttp.ClientSession()
    poll = asyncio.ensure_future(
        _post(
            doomed,
            live_server,
            "/api/worker/workflow-tasks/poll",
            {
                "worker_id": "gone",
                "task_queue": QUEUE,
                "timeout_seconds": 30,
                "poll_request_id": f"wf-poll-{uuid.uuid4().hex}",
            },
        )
    )
    await _wait_parked(live_server, 1)
    poll.cancel()
    await doomed.close()

    async with aiohttp.ClientSession() as session:
        status, _ = await _post(
            session,
            live_server,
            "/api/workflows",
            {
                "workflow_id": "after-hangup",
                "workflow_type": "t",
                "task_queue": QUEUE,
                "input": codec.envelope([]),
                "execution_timeout_seconds": 60,
                "run_timeout_seconds": 60,
            },
            plane="control",
        )
        assert status == 201
        status, body = await _post(
            session,
            live_server,
            "/api/worker/workflow-tasks/poll",
            {
                "worker_id": "alive",
                "task_queue": QUEUE,
                "timeout_seconds": 5,
                "poll_request_id": f"wf-poll-{uuid.uuid4().hex}",
            },
        )
    assert status == 200
    assert body["task"] is not None and body["task"]["workflow_id"] == "after-hangup"
    assert body["task"]["workflow_task_attempt"] == 1, "no earlier lease went to the dead poll"
