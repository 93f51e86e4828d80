"""Issue point 1: activity retries, the four timeouts, heartbeats and cancellation, end to end."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from durable_workflow import ActivityRetryPolicy, NonRetryableError, activity, errors, workflow

from .conftest import Env, wait_until

attempts: dict[str, list[int]] = {}
gate: dict[str, asyncio.Event] = {}
seen: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _fresh_records() -> None:
    """Each test runs once per back end: what activities record starts empty every time."""
    attempts.clear()
    gate.clear()
    seen.clear()


@activity.defn(name="flaky")
async def flaky(key: str) -> dict[str, Any]:
    info = activity.context().info
    attempts.setdefault(key, []).append(info.attempt_number)
    if info.attempt_number < 3:
        raise RuntimeError(f"transient failure {info.attempt_number}")
    return {"attempt": info.attempt_number, "queue": info.task_queue}


@activity.defn(name="refuse")
async def refuse(key: str) -> None:
    attempts.setdefault(key, []).append(activity.context().info.attempt_number)
    raise NonRetryableError("bad input, do not retry")


@activity.defn(name="blocked")
async def blocked(key: str) -> str:
    ctx = activity.context()
    attempts.setdefault(key, []).append(ctx.info.attempt_number)
    await ctx.heartbeat({"progress": 1})
    seen[f"{key}:started"] = True
    await gate[key].wait()
    try:
        await ctx.heartbeat({"progress": 2})
    except errors.ActivityCancelled:
        seen[f"{key}:cancelled"] = True
        raise
    return "finished"


@workflow.defn(name="retrying")
class Retrying:
    def run(self, ctx, key):  # type: ignore[no-untyped-def]
        return (
            yield ctx.schedule_activity(
                "flaky",
                [key],
                retry_policy=ActivityRetryPolicy(max_attempts=3, initial_interval_seconds=0),
            )
        )


@workflow.defn(name="catches")
class Catches:
    def run(self, ctx, activity_type, key, options):  # type: ignore[no-untyped-def]
        policy = options.pop("retry", None)
        try:
            yield ctx.schedule_activity(
                activity_type,
                [key],
                retry_policy=ActivityRetryPolicy(**policy) if policy else None,
                **options,
            )
        except errors.ActivityFailed as exc:
            return {"caught": exc.exception_type, "message": str(exc)}
        return "no failure"


async def test_retry_succeeds_on_attempt_three(env: Env) -> None:
    async with env.worker([Retrying], [flaky]):
        handle = await env.client.start_workflow(
            workflow_type="retrying", task_queue="model", workflow_id="retry-3", input=["r3"]
        )
        assert await handle.result(timeout=10) == {"attempt": 3, "queue": "model"}
    assert attempts["r3"] == [1, 2, 3]
    kinds = await env.kinds("retry-3")
    assert kinds.count("ActivityCompleted") == 1 and "ActivityFailed" not in kinds
    scheduled = next(e for e in await env.events("retry-3") if e["event_type"] == "ActivityScheduled")
    assert scheduled["payload"]["retry_policy"]["max_attempts"] == 3  # snapped at schedule time


async def test_non_retryable_error_is_caught_in_the_workflow(env: Env) -> None:
    async with env.worker([Catches], [refuse]):
        handle = await env.client.start_workflow(
            workflow_type="catches",
            task_queue="model",
            workflow_id="nonretry",
            input=["refuse", "nr", {"retry": {"max_attempts": 5, "initial_interval_seconds": 0}}],
        )
        result = await handle.result(timeout=10)
    assert result["caught"] == "NonRetryableError" and "do not retry" in result["message"]
    assert attempts["nr"] == [1]
    failed = [e for e in await env.events("nonretry") if e["event_type"] == "ActivityFailed"]
    assert len(failed) == 1 and failed[0]["payload"]["non_retryable"] is True


async def _timed_out(env: Env, workflow_id: str) -> dict[str, Any]:
    events = await env.events(workflow_id)
    return next(e["payload"] for e in events if e["event_type"] == "ActivityTimedOut")


@pytest.mark.parametrize(
    ("kind", "options", "advance"),
    [
        ("start_to_close", {"start_to_close_timeout": 10}, 11),
        ("heartbeat", {"start_to_close_timeout": 100, "heartbeat_timeout": 5}, 6),
        (
            "schedule_to_close",
            {"schedule_to_close_timeout": 20, "retry": {"max_attempts": 5, "initial_interval_seconds": 0}},
            21,
        ),
    ],
)
async def test_running_activity_timeouts(
    env: Env, kind: str, options: dict[str, Any], advance: int
) -> None:
    key = f"to-{kind}"
    gate[key] = asyncio.Event()
    async with env.worker([Catches], [blocked]):
        handle = await env.client.start_workflow(
            workflow_type="catches", task_queue="model", workflow_id=key, input=["blocked", key, options]
        )
        await wait_until(lambda: seen.get(f"{key}:started", False))
        env.clock.advance(advance)
        result = await handle.result(timeout=10)
        gate[key].set()
    assert result["caught"] == "ActivityTimeout"
    payload = await _timed_out(env, key)
    assert payload["timeout_kind"] == kind
    assert attempts[key] == [1]  # schedule_to_close is never retried; the others had one attempt


async def test_schedule_to_start_timeout(env: Env) -> None:
    async with env.worker([Catches], []):  # nobody polls "elsewhere"
        handle = await env.client.start_workflow(
            workflow_type="catches",
            task_queue="model",
            workflow_id="sts",
            input=["unpolled", "sts", {"queue": "elsewhere", "schedule_to_start_timeout": 5}],
        )
        await wait_until(lambda: _activity_rows(env, "sts"))
        env.clock.advance(6)
        result = await handle.result(timeout=10)
    assert result["caught"] == "ActivityTimeout"
    assert (await _timed_out(env, "sts"))["timeout_kind"] == "schedule_to_start"


def _activity_rows(env: Env, workflow_id: str) -> bool:
    return bool(env.rows("SELECT 1 FROM activity_tasks WHERE workflow_id = ?", workflow_id))


async def test_terminate_cancels_a_running_activity_through_its_heartbeat(env: Env) -> None:
    key = "hb-cancel"
    gate[key] = asyncio.Event()
    async with env.worker([Catches], [blocked]):
        handle = await env.client.start_workflow(
            workflow_type="catches", task_queue="model", workflow_id=key, input=["blocked", key, {}]
        )
        await wait_until(lambda: seen.get(f"{key}:started", False))
        details = env.rows("SELECT heartbeat_details FROM activity_tasks WHERE workflow_id = ?", key)
        assert details == [('{"progress":1}',)]
        await handle.terminate(reason="stop now")
        gate[key].set()
        await wait_until(lambda: seen.get(f"{key}:cancelled", False))
        with pytest.raises(errors.WorkflowTerminated):
            await handle.result(timeout=5)
    assert env.rows("SELECT status FROM activity_tasks WHERE workflow_id = ?", key) == [("cancelled",)]


def test_bad_retry_policy_and_timeouts_are_refused_in_the_sdk() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        ActivityRetryPolicy(max_attempts=0)
    from durable_workflow.workflow._context import WorkflowContext

    ctx = WorkflowContext(run_id="r", current_time=None, workflow_id="w", workflow_type="t", task_queue="q")
    with pytest.raises(ValueError, match="timeout"):
        ctx.schedule_activity("a", [], start_to_close_timeout=-1)
