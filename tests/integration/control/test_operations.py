"""Task queues and workers (issue 5 point 4), maintenance, export, repair, archive and the
bridge webhook (point 5), through the SDK against a real SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from durable_workflow import Client, Worker, WorkerNotFound, WorkflowNotFound, activity, workflow
from durable_workflow.server.engine.clock import FakeClock
from durable_workflow.server.runtime import ServerRuntime
from durable_workflow.testing import replay_history
from tests.support import db

from .conftest import make_client, wait_for

QUEUE = "ops-q"


@activity.defn(name="ops.double")
def double(x: int) -> int:
    return x * 2


@workflow.defn(name="ops.doubler")
class Doubler:
    def run(self, ctx, x):  # type: ignore[no-untyped-def]
        result = yield ctx.schedule_activity("ops.double", [x])
        return result


@pytest.fixture
async def worker(client: Client) -> AsyncIterator[Worker]:
    w = Worker(
        client,
        task_queue=QUEUE,
        workflows=[Doubler],
        activities=[double],
        worker_id="w-blue",
        build_id="blue",
        poll_timeout=2,
        max_concurrent_workflow_tasks=4,
        max_concurrent_activity_tasks=3,
    )
    runner = asyncio.create_task(w.run())
    yield w
    await w.stop()
    await runner


async def test_task_queues_workers_and_build_id_drain(client: Client, worker: Worker) -> None:
    handle = await client.start_workflow(
        workflow_type="ops.doubler", task_queue=QUEUE, workflow_id="d-1", input=[21]
    )
    assert await handle.result(timeout=20) == 42

    workers = await client.list_workers(task_queue=QUEUE)
    assert [w.worker_id for w in workers.workers] == ["w-blue"]
    desc = await client.describe_worker("w-blue")
    assert (desc.build_id, desc.status, desc.task_queue) == ("blue", "active", QUEUE)
    assert desc.supported_workflow_types == ["ops.doubler"]
    assert desc.max_concurrent_activity_tasks == 3
    assert (await client.list_workers(status="stale")).workers == []

    queues = await client.list_task_queues()
    assert QUEUE in [q.name for q in queues.task_queues]
    tq = await client.describe_task_queue(QUEUE)
    assert tq.admission is not None and tq.admission.workflow_tasks is not None
    assert tq.admission.workflow_tasks.worker_capacity == 4
    assert tq.admission.activity_tasks is not None
    assert tq.admission.activity_tasks.remaining_capacity == 3
    assert tq.stats["pollers"]["active_count"] == 1 and tq.current_leases == []

    rollout = await client.list_task_queue_build_ids(QUEUE)
    assert [(c.build_id, c.rollout_status, c.active_worker_count) for c in rollout.build_ids] == [
        ("blue", "active", 1)
    ]
    state = await client.drain_task_queue_build_id(QUEUE, "blue")
    assert state.drain_intent == "draining" and state.drained_at
    assert (await client.drain_task_queue_build_id(QUEUE, "blue")).drain_intent == "draining"
    cohort = (await client.list_task_queue_build_ids(QUEUE)).build_ids[0]
    assert (cohort.rollout_status, cohort.draining_worker_count) == ("draining", 1)
    assert (await client.describe_worker("w-blue")).status == "draining"

    # A draining cohort gets no new tasks ...
    await client.start_workflow(
        workflow_type="ops.doubler", task_queue=QUEUE, workflow_id="d-2", input=[1]
    )

    async def held() -> bool:  # the task waits while the worker's polls are held, not parked
        stats = (await client.describe_task_queue(QUEUE)).stats
        return stats["workflow_tasks"]["ready_count"] == 1 and stats["pollers"]["parked_polls"] == 0

    await wait_for(held, what="the draining worker's polls to be held")
    assert (await client.describe_workflow("d-2")).status == "pending"
    # ... until it is resumed.
    assert (await client.resume_task_queue_build_id(QUEUE, "blue")).drain_intent == "active"
    assert await client.get_workflow_handle("d-2").result(timeout=20) == 2

    # An operator deregisters an idle worker. (A polling one comes back at its next poll:
    # unknown pollers are registered implicitly, semantics §15; how fast is back-end timing.)
    await client.register_worker(worker_id="w-idle", task_queue=QUEUE)
    out = await client.deregister_worker("w-idle")
    assert out["outcome"] == "deregistered"
    with pytest.raises(WorkerNotFound):
        await client.describe_worker("w-idle")
    with pytest.raises(WorkerNotFound):
        await client.deregister_worker("w-idle")


async def test_retention_prunes_expired_closed_runs(
    client: Client, clock: FakeClock, db_url: str
) -> None:
    await client.update_namespace("default", retention_days=1)
    week = 7 * 86400  # open-1 must outlive the clock jump (the sweeper may time it out at once)
    for wid in ("old-1", "old-2", "open-1"):
        await client.start_workflow(
            workflow_type="t",
            task_queue="q",
            workflow_id=wid,
            execution_timeout_seconds=week,
            run_timeout_seconds=week,
        )
    await client.terminate_workflow("old-1")
    await client.cancel_workflow("old-2")
    clock.advance(2 * 86400)
    await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="new-1")
    await client.terminate_workflow("new-1")  # closed, but within retention

    status = await client.retention_status()
    assert status["retention_days"] == 1 and status["expired_run_count"] == 2
    result = await client.retention_pass()
    assert (result["pruned"], result["skipped"]) == (2, 0)
    assert all(r["history_events_deleted"] >= 2 for r in result["results"])
    for wid in ("old-1", "old-2"):
        with pytest.raises(WorkflowNotFound):
            await client.describe_workflow(wid)
    assert (await client.describe_workflow("open-1")).status == "pending"
    assert (await client.describe_workflow("new-1")).status == "terminated"
    ((events,),) = db.rows(
        db_url,
        "SELECT COUNT(*) FROM history_events e JOIN runs r USING (run_id)"
        " WHERE r.workflow_id LIKE 'old-%'",
    )
    assert events == 0
    again = await client.retention_pass()
    assert again["pruned"] == 0  # quiet pass: zero deltas
    new_run = (await client.describe_workflow("new-1")).run_id
    skipped = await client.retention_pass(run_ids=[new_run, "unknown"])
    assert [r["reason"] for r in skipped["results"]] == ["within_retention", "run_not_found"]


async def test_repair_recreates_a_missing_task(client: Client, db_url: str) -> None:
    h = await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="stuck")
    assert (await client.repair_workflow("stuck")).outcome == "repair_not_needed"
    # Delete from another thread: a blocking write on the loop thread would wait for the
    # store's open group-commit transaction, which only this loop can commit.
    await asyncio.to_thread(
        db.rows, db_url, "DELETE FROM workflow_tasks WHERE run_id = ?", h.run_id
    )
    status = await client.repair_status()
    assert status["candidates"]["missing_task_candidates"] == 1
    result = await client.repair_pass(instance_id="stuck")
    assert result["repaired_missing_tasks"] == 1
    assert (await client.repair_status())["candidates"]["missing_task_candidates"] == 0
    await asyncio.to_thread(
        db.rows, db_url, "DELETE FROM workflow_tasks WHERE run_id = ?", h.run_id
    )
    assert (await client.repair_workflow("stuck")).outcome == "repair_dispatched"


async def test_activity_timeout_pass_enforces_overdue_deadline(
    client: Client, runtime: ServerRuntime, clock: FakeClock
) -> None:
    # Lease an activity by hand and let its lease run out on the fake clock.
    await client.start_workflow(
        workflow_type="ops.doubler", task_queue=QUEUE, workflow_id="slow", input=[1]
    )
    wt = await client.poll_workflow_task(worker_id="manual", task_queue=QUEUE, timeout=1)
    assert wt is not None
    await client.complete_workflow_task(
        task_id=wt["task_id"],
        lease_owner=wt["lease_owner"],
        workflow_task_attempt=wt["workflow_task_attempt"],
        commands=[
            {
                "type": "schedule_activity",
                "activity_type": "ops.double",
                "arguments": {"codec": "avro", "blob": wt["arguments"]["blob"]}
                if isinstance(wt.get("arguments"), dict)
                else None,
                "queue": QUEUE,
                "start_to_close_timeout": 5,
            }
        ],
    )
    act = await client.poll_activity_task(worker_id="manual", task_queue=QUEUE, timeout=1)
    assert act is not None
    await runtime.sweeper.close()  # keep the sweeper from enforcing it first
    clock.advance(60)
    status = await client.activity_timeout_status()
    assert status["expired_execution_ids"] == [act["task_id"]]
    result = await client.activity_timeout_pass(execution_ids=[act["task_id"]])
    assert result["enforced"] == 1 and result["results"][0]["execution_id"] == act["task_id"]
    assert (await client.activity_timeout_status())["expired_count"] == 0


async def test_export_archive_and_bridge(client: Client, worker: Worker) -> None:
    h = await client.start_workflow(
        workflow_type="ops.doubler", task_queue=QUEUE, workflow_id="exp", input=[5]
    )
    assert await h.result(timeout=20) == 10
    bundle = await client.export_history("exp", str(h.run_id))
    assert bundle["schema"] == "durable-workflow.v2.history-export"
    assert bundle["workflow"]["run_id"] == h.run_id
    assert bundle["history_events"][0]["type"] == "WorkflowStarted"
    for section in ("commands", "signals", "updates", "tasks", "activities", "timers", "failures"):
        assert bundle[section] == []
    replay_history(Doubler, bundle)  # the bundle replays against the workflow code

    assert (await client.archive_workflow("exp", reason="done")).outcome == "archived"
    assert (await client.archive_workflow("exp")).outcome == "archive_not_needed"
    with pytest.raises(WorkflowNotFound):
        await client.archive_workflow("missing")

    first = await client.send_webhook_bridge_event(
        "github.push",
        action="start_workflow",
        target={"workflow_type": "ops.doubler", "task_queue": QUEUE},
        input={"x": 1},
        idempotency_key="evt-1",
        correlation={"delivery": "abc"},
    )
    assert first.accepted and first.outcome == "accepted" and first.workflow_id
    assert first.control_plane_outcome == "started_new"
    again = await client.send_webhook_bridge_event(
        "github.push",
        action="start_workflow",
        target={"workflow_type": "ops.doubler", "task_queue": QUEUE},
        input={"x": 1},
        idempotency_key="evt-1",
    )
    assert again.outcome == "duplicate" and again.workflow_id == first.workflow_id
    rejected = await client.send_webhook_bridge_event(
        "github.push",
        action="start_workflow",
        target={"workflow_type": "x"},
        idempotency_key="evt-2",
    )
    assert not rejected.accepted and rejected.reason == "invalid_target"


async def test_admin_routes_need_the_admin_role(tmp_path: Path) -> None:
    from durable_workflow import Unauthorized
    from durable_workflow.errors import ServerError
    from durable_workflow.server.runtime import ServerConfig

    rt = await ServerRuntime.open(
        ServerConfig(
            db_url=f"sqlite:///{tmp_path / 'a.db'}", operator_token="op", admin_token="adm"
        )
    )
    try:
        async with make_client(rt, token="op") as op, make_client(rt, token="adm") as adm:
            with pytest.raises(ServerError) as info:
                await op.retention_pass()
            assert info.value.status == 403
            assert (await adm.retention_pass())["pruned"] == 0
            async with make_client(rt, token="wrong") as bad:
                with pytest.raises(Unauthorized):
                    await bad.list_namespaces()
    finally:
        await rt.close()
