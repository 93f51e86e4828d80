"""The same SDK over real HTTP (aiohttp -> uvicorn -> Starlette -> Api.dispatch)."""

from __future__ import annotations

import pytest

from durable_workflow import Client, InMemoryMetrics, Unauthorized, Worker, WorkflowFailed, errors
from tests.integration.conftest import LiveServer

from .test_sdk_embedded import ALL_ACTIVITIES, ALL_WORKFLOWS, QUEUE


async def test_quickstart_over_http(live_server: LiveServer) -> None:
    metrics = InMemoryMetrics()
    async with Client(live_server.url, token=live_server.token, metrics=metrics) as client:
        info = await client.get_cluster_info()
        assert info["worker_protocol"]["version"] == "1.20"
        handle = await client.start_workflow(
            workflow_type="greeter", task_queue=QUEUE, workflow_id="http-greet", input=["world"]
        )
        fan = await client.start_workflow(
            workflow_type="fan-out", task_queue=QUEUE, workflow_id="http-fan", input=[[5, 6]]
        )
        failing = await client.start_workflow(
            workflow_type="fails", task_queue=QUEUE, workflow_id="http-fail"
        )
        worker = Worker(
            client,
            task_queue=QUEUE,
            workflows=ALL_WORKFLOWS,
            activities=ALL_ACTIVITIES,
            poll_timeout=1,
        )
        await worker.run_until(workflow_id="http-greet", timeout=30)
        assert await handle.result() == {"greeting": "Hello, world!", "length": 5}
        worker2 = Worker(
            client,
            task_queue=QUEUE,
            workflows=ALL_WORKFLOWS,
            activities=ALL_ACTIVITIES,
            poll_timeout=1,
        )
        await worker2.run_until(workflow_id="http-fail", timeout=30)
        with pytest.raises(WorkflowFailed):
            await failing.result()
        assert await fan.result(timeout=10) == [10, 12]
        with pytest.raises(errors.WorkflowNotFound):
            await client.describe_workflow("nope")
    assert (
        metrics.counter("durable_workflow_client_requests", {"plane": "worker", "outcome": "ok"})
        > 0
    )


async def test_wrong_token_is_unauthorized(live_server: LiveServer) -> None:
    async with Client(live_server.url, token="wrong") as client:
        with pytest.raises(Unauthorized):
            await client.describe_workflow("x")


async def test_unreachable_server_raises_connection_error() -> None:
    async with Client("http://127.0.0.1:9", timeout=2) as client:
        with pytest.raises(ConnectionError):
            await client.health()
