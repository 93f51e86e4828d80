"""Issue point 2: child workflows end to end (events, policies, retries, timeouts, barrier)."""

from __future__ import annotations

from typing import Any

import pytest

from durable_workflow import ChildWorkflowRetryPolicy, activity, errors, workflow

from .conftest import Env, wait_until

calls: dict[str, int] = {}


@pytest.fixture(autouse=True)
def _fresh_records() -> None:
    """Each test runs once per back end: what activities record starts empty every time."""
    calls.clear()


@activity.defn(name="fail-first")
async def fail_first(key: str) -> str:
    calls[key] = calls.get(key, 0) + 1
    if calls[key] == 1:
        raise errors.NonRetryableError("first child attempt fails")
    return f"ok after {calls[key]}"


@workflow.defn(name="kid")
class Kid:
    def run(self, ctx, mode, value):  # type: ignore[no-untyped-def]
        if mode == "fail":
            raise ValueError(f"kid refused {value}")
        if mode == "flaky":
            return (yield ctx.schedule_activity("fail-first", [value]))
        if mode == "sleep":
            yield ctx.sleep(value)
        return {"kid": value, "queue": ctx.task_queue}


@workflow.defn(name="parent")
class Parent:
    def run(self, ctx, mode, options):  # type: ignore[no-untyped-def]
        retry = options.pop("retry", None)
        if retry:
            options["retry_policy"] = ChildWorkflowRetryPolicy(**retry)
        if mode == "parallel":
            results = yield [
                ctx.start_child_workflow("kid", ["ok", i], task_queue="kids") for i in range(3)
            ]
            return results
        try:
            return (yield ctx.start_child_workflow("kid", mode, **options))
        except errors.ChildWorkflowFailed as exc:
            return {"child_failed": str(exc), "type": exc.exception_class}


async def _start(env: Env, workflow_id: str, mode: Any, options: dict[str, Any]) -> Any:
    return await env.client.start_workflow(
        workflow_type="parent", task_queue="model", workflow_id=workflow_id, input=[mode, options]
    )


async def test_child_on_its_own_queue_completes(env: Env) -> None:
    async with env.worker([Parent]), env.worker([Kid], task_queue="kids"):
        handle = await _start(
            env, "p-ok", ["ok", 7], {"task_queue": "kids", "parent_close_policy": "terminate"}
        )
        assert await handle.result(timeout=10) == {"kid": 7, "queue": "kids"}
    events = await env.events("p-ok")
    kinds = [e["event_type"] for e in events]
    assert kinds.index("ChildWorkflowScheduled") < kinds.index("ChildRunStarted") < kinds.index("ChildRunCompleted")
    scheduled = events[kinds.index("ChildWorkflowScheduled")]["payload"]
    assert scheduled["parent_close_policy"] == "terminate" and scheduled["child_workflow_type"] == "kid"
    child_id = scheduled["child_workflow_instance_id"]
    started = (await env.events(child_id))[0]["payload"]
    assert started["parent_workflow_instance_id"] == "p-ok" and started["parent_sequence"] == 1
    assert started["task_queue"] == "kids"


async def test_child_failure_is_caught_by_the_parent(env: Env) -> None:
    async with env.worker([Parent, Kid]):
        handle = await _start(env, "p-fail", ["fail", 1], {})
        result = await handle.result(timeout=10)
    assert "kid refused 1" in result["child_failed"]
    assert "ChildRunFailed" in await env.kinds("p-fail")


async def test_child_retry_policy_starts_a_second_run(env: Env) -> None:
    async with env.worker([Parent, Kid], [fail_first]):
        handle = await _start(
            env,
            "p-retry",
            ["flaky", "retry-key"],
            {"retry": {"max_attempts": 2, "initial_interval_seconds": 0}},
        )
        assert await handle.result(timeout=10) == "ok after 2"
    kinds = await env.kinds("p-retry")
    assert kinds.count("ChildRunStarted") == 2 and "ChildRunFailed" not in kinds
    child_id = next(
        e["payload"]["child_workflow_instance_id"]
        for e in await env.events("p-retry")
        if e["event_type"] == "ChildWorkflowScheduled"
    )
    runs = await env.client.list_workflow_runs(child_id)
    assert [r.status for r in runs.runs] == ["failed", "completed"]


async def test_parallel_children_resolve_together(env: Env) -> None:
    async with env.worker([Parent]), env.worker([Kid], task_queue="kids"):
        handle = await _start(env, "p-par", "parallel", {})
        result = await handle.result(timeout=10)
    assert [r["kid"] for r in result] == [0, 1, 2]
    assert (await env.kinds("p-par")).count("ChildRunCompleted") == 3


async def test_child_run_timeout_fails_the_call(env: Env) -> None:
    async with env.worker([Parent, Kid]):
        handle = await _start(env, "p-timeout", ["sleep", 3600], {"run_timeout_seconds": 10})
        await wait_until(lambda: _timer_rows(env))
        env.clock.advance(11)
        result = await handle.result(timeout=10)
    assert "timeout" in result["child_failed"].lower()


def _timer_rows(env: Env) -> bool:
    return bool(env.rows("SELECT 1 FROM timers WHERE status = 'pending'"))


@pytest.mark.parametrize(("policy", "child_status"), [("terminate", "terminated"), ("request_cancel", "cancelled"), ("abandon", "waiting")])
async def test_parent_close_policy(env: Env, policy: str, child_status: str) -> None:
    async with env.worker([Parent, Kid]):
        handle = await _start(env, "p-close", ["sleep", 3600], {"parent_close_policy": policy})
        await wait_until(lambda: _timer_rows(env))
        await handle.terminate(reason="parent goes away")
    child_id = env.rows("SELECT child_workflow_id FROM child_calls")[0][0]
    assert await env.status(child_id) == child_status


async def test_child_of_an_unregistered_type_fails_typed(env: Env) -> None:
    @workflow.defn(name="orphan-parent")
    class OrphanParent:
        def run(self, ctx):  # type: ignore[no-untyped-def]
            try:
                yield ctx.start_child_workflow("nobody-runs-this", [])
            except errors.ChildWorkflowFailed as exc:
                return {"type": exc.exception_class, "message": str(exc)}

    async with env.worker([OrphanParent]):
        handle = await env.client.start_workflow(
            workflow_type="orphan-parent", task_queue="model", workflow_id="orphan"
        )
        result = await handle.result(timeout=10)
    assert result["type"] == "WorkflowTypeNotRegistered"
    assert "nobody-runs-this" in result["message"]
    assert env.rows("SELECT COUNT(*) FROM child_calls") == [(0,)]  # no half-made child
