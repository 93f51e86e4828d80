"""A stopped HTTP worker must not leave long polls behind that steal the next worker's tasks."""

from __future__ import annotations

from durable_workflow import Client, Worker
from tests.integration.conftest import LiveServer

from .test_sdk_embedded import ALL_ACTIVITIES, ALL_WORKFLOWS, QUEUE


async def test_next_worker_gets_tasks_after_a_worker_stops(live_server: LiveServer) -> None:
    async with Client(live_server.url, token=live_server.token) as client:
        first = await client.start_workflow(
            workflow_type="greeter", task_queue=QUEUE, workflow_id="s-1", input=["a"]
        )
        w1 = Worker(
            client,
            task_queue=QUEUE,
            workflows=ALL_WORKFLOWS,
            activities=ALL_ACTIVITIES,
            poll_timeout=2,
        )
        await w1.run_until(workflow_id="s-1", timeout=10)
        assert await first.result() == {"greeting": "Hello, a!", "length": 1}
        second = await client.start_workflow(
            workflow_type="greeter", task_queue=QUEUE, workflow_id="s-2", input=["bb"]
        )
        w2 = Worker(
            client,
            task_queue=QUEUE,
            workflows=ALL_WORKFLOWS,
            activities=ALL_ACTIVITIES,
            poll_timeout=2,
        )
        await w2.run_until(workflow_id="s-2", timeout=2)
        assert await second.result() == {"greeting": "Hello, bb!", "length": 2}
