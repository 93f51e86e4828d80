"""SDK Client + Worker end to end through the embedded transport (a real SQLite file)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from durable_workflow import (
    ActivityRetryPolicy,
    Client,
    InMemoryMetrics,
    NonRetryableError,
    Worker,
    WorkflowCancelled,
    WorkflowFailed,
    WorkflowTerminated,
    activity,
    errors,
    workflow,
)
from durable_workflow._transport import _RUNTIMES

QUEUE = "sdk-it"


@activity.defn(name="greet")
async def greet(name: str) -> dict[str, Any]:
    return {"greeting": f"Hello, {name}!", "length": len(name)}


@activity.defn(name="double")
def double(x: int) -> int:
    return x * 2


@activity.defn(name="always-fails")
def always_fails(why: str) -> None:
    raise NonRetryableError(f"refused: {why}")


@workflow.defn(name="greeter")
class GreeterWorkflow:
    def run(self, ctx, *args):  # type: ignore[no-untyped-def]
        result = yield ctx.schedule_activity("greet", list(args))
        return result


@workflow.defn(name="approval")
class ApprovalWorkflow:
    def __init__(self) -> None:
        self.approved_by: str | None = None

    @workflow.signal("approve")
    def approve(self, by: str) -> None:
        self.approved_by = by

    @workflow.query("status")
    def status(self) -> dict[str, Any]:
        return {"approved_by": self.approved_by}

    def run(self, ctx):  # type: ignore[no-untyped-def]
        yield ctx.wait_condition(lambda: self.approved_by is not None)
        return {"approved_by": self.approved_by}


@workflow.defn(name="sleeper")
class SleeperWorkflow:
    def run(self, ctx, seconds):  # type: ignore[no-untyped-def]
        yield ctx.sleep(seconds)
        return "woke"


@workflow.defn(name="fan-out")
class FanOutWorkflow:
    def run(self, ctx, items):  # type: ignore[no-untyped-def]
        results = yield [ctx.schedule_activity("double", [i]) for i in items]
        return results


@workflow.defn(name="fails")
class FailingWorkflow:
    def run(self, ctx):  # type: ignore[no-untyped-def]
        yield ctx.schedule_activity(
            "always-fails", ["no"], retry_policy=ActivityRetryPolicy(max_attempts=1)
        )
        return "unreachable"


@workflow.defn(name="waits-forever")
class WaitsForever:
    def run(self, ctx):  # type: ignore[no-untyped-def]
        yield ctx.wait_condition(lambda: False)


ALL_WORKFLOWS = [
    GreeterWorkflow,
    ApprovalWorkflow,
    SleeperWorkflow,
    FanOutWorkflow,
    FailingWorkflow,
    WaitsForever,
]
ALL_ACTIVITIES = [greet, double, always_fails]


@pytest.fixture
def db_url(store_url: str) -> str:
    return store_url  # parametrised: sqlite and postgres (tests/conftest.py)


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[Client]:
    async with Client(db_url) as c:
        yield c


@pytest.fixture
async def worker(client: Client) -> AsyncIterator[Worker]:
    w = Worker(
        client, task_queue=QUEUE, workflows=ALL_WORKFLOWS, activities=ALL_ACTIVITIES, poll_timeout=5
    )
    runner = asyncio.create_task(w.run())
    yield w
    await w.stop()
    await runner


async def test_quickstart_greeter(db_url: str) -> None:
    async with Client(db_url) as client:
        handle = await client.start_workflow(
            workflow_type="greeter", task_queue=QUEUE, workflow_id="greeting-1", input=["world"]
        )
        worker = Worker(client, task_queue=QUEUE, workflows=[GreeterWorkflow], activities=[greet])
        execution = await worker.run_until(workflow_id="greeting-1", timeout=30.0)
        assert execution.status == "completed"
        assert await handle.result(timeout=10.0) == {"greeting": "Hello, world!", "length": 5}
        assert await client.get_result(handle) == {"greeting": "Hello, world!", "length": 5}
        described = await client.describe_workflow("greeting-1")
        assert described.input == ["world"] and described.output == {
            "greeting": "Hello, world!",
            "length": 5,
        }
        history = await client.get_history("greeting-1", handle.run_id or "")
        kinds = [e["event_type"] for e in history["events"]]
        assert kinds[0] == "WorkflowStarted" and kinds[-1] == "WorkflowCompleted"
        assert "ActivityCompleted" in kinds
    if db_url.startswith("sqlite:///"):
        assert Path(db_url.removeprefix("sqlite:///")).exists()
    assert not _RUNTIMES  # the last user closed the shared runtime


async def test_client_and_second_client_share_one_runtime(db_url: str) -> None:
    async with Client(db_url) as a, Client(db_url) as b:
        await a.health()
        await b.health()
        assert len(_RUNTIMES) == 1
        assert next(iter(_RUNTIMES.values())).refs == 2
    assert not _RUNTIMES


async def test_signal_and_wait_condition(client: Client, worker: Worker) -> None:
    handle = await client.start_workflow(
        workflow_type="approval", task_queue=QUEUE, workflow_id="appr-1"
    )
    await asyncio.sleep(0.05)
    assert (await handle.describe()).status not in ("completed", "failed")
    receipt = await handle.signal("approve", ["ada"])
    assert receipt["request_id"]
    assert await handle.result(timeout=10) == {"approved_by": "ada"}


async def test_signal_by_instance_route(client: Client, worker: Worker) -> None:
    await client.start_workflow(workflow_type="approval", task_queue=QUEUE, workflow_id="appr-2")
    await client.signal_workflow("appr-2", "approve", args=["bob"])
    handle = client.get_workflow_handle("appr-2")
    assert await handle.result(timeout=10) == {"approved_by": "bob"}


async def test_query(client: Client, worker: Worker) -> None:
    handle = await client.start_workflow(
        workflow_type="approval", task_queue=QUEUE, workflow_id="appr-q"
    )
    await asyncio.sleep(0.1)
    answer = await handle.query("status")
    assert answer["result"] == {"approved_by": None}
    await handle.signal("approve", ["q"])
    await handle.result(timeout=10)


async def test_timer(client: Client, worker: Worker) -> None:
    handle = await client.start_workflow(
        workflow_type="sleeper", task_queue=QUEUE, workflow_id="sleep-1", input=[1]
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await handle.result(timeout=10) == "woke"
    assert loop.time() - started >= 0.9


async def test_parallel_activities(client: Client, worker: Worker) -> None:
    handle = await client.start_workflow(
        workflow_type="fan-out", task_queue=QUEUE, workflow_id="fan-1", input=[[1, 2, 3, 4]]
    )
    assert await handle.result(timeout=10) == [2, 4, 6, 8]


async def test_failing_activity_fails_the_workflow(client: Client, worker: Worker) -> None:
    handle = await client.start_workflow(
        workflow_type="fails", task_queue=QUEUE, workflow_id="fail-1"
    )
    with pytest.raises(WorkflowFailed, match="refused: no"):
        await handle.result(timeout=10)


async def test_cancel_and_terminate(client: Client, worker: Worker) -> None:
    a = await client.start_workflow(
        workflow_type="waits-forever", task_queue=QUEUE, workflow_id="cancel-me"
    )
    b = await client.start_workflow(
        workflow_type="waits-forever", task_queue=QUEUE, workflow_id="term-me"
    )
    await asyncio.sleep(0.05)
    await a.cancel(reason="no longer needed")
    await b.terminate(reason="ops")
    with pytest.raises(WorkflowCancelled):
        await a.result(timeout=5)
    with pytest.raises(WorkflowTerminated, match="ops"):
        await b.result(timeout=5)
    assert (await a.describe()).status in ("cancelled", "canceled")


async def test_duplicate_start_and_not_found(client: Client) -> None:
    await client.start_workflow(
        workflow_type="greeter", task_queue=QUEUE, workflow_id="dup", input=["x"]
    )
    with pytest.raises(errors.WorkflowAlreadyStarted):
        await client.start_workflow(
            workflow_type="greeter", task_queue=QUEUE, workflow_id="dup", input=["x"]
        )
    same = await client.start_workflow(
        workflow_type="greeter",
        task_queue=QUEUE,
        workflow_id="dup",
        input=["x"],
        duplicate_policy="use-existing",
    )
    assert same.workflow_id == "dup"
    with pytest.raises(errors.WorkflowNotFound):
        await client.describe_workflow("does-not-exist")


async def test_list_and_runs(client: Client, worker: Worker) -> None:
    handle = await client.start_workflow(
        workflow_type="greeter", task_queue=QUEUE, workflow_id="list-1", input=["x"]
    )
    await handle.result(timeout=10)
    page = await client.list_workflows(workflow_type="greeter")
    assert "list-1" in [e.workflow_id for e in page.executions]
    runs = await client.list_workflow_runs("list-1")
    assert [r.run_id for r in runs.runs] == [handle.run_id]
    run = await client.describe_workflow_run("list-1", handle.run_id or "")
    assert run.status == "completed"


async def test_metrics_recorded(db_url: str) -> None:
    metrics = InMemoryMetrics()
    async with Client(db_url, metrics=metrics) as client:
        handle = await client.start_workflow(
            workflow_type="greeter", task_queue=QUEUE, workflow_id="m-1", input=["m"]
        )
        worker = Worker(client, task_queue=QUEUE, workflows=[GreeterWorkflow], activities=[greet])
        await worker.run_until(workflow_id="m-1", timeout=10)
        await handle.result()
    assert (
        metrics.counter(
            "durable_workflow_client_requests", {"route": "/workflows", "status_code": "201"}
        )
        == 1
    )
    assert (
        metrics.counter(
            "durable_workflow_worker_tasks", {"task_kind": "activity", "outcome": "completed"}
        )
        == 1
    )
    assert metrics.counter("durable_workflow_worker_tasks", {"task_kind": "workflow"}) >= 2
