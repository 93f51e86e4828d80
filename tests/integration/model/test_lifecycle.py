"""Issue points 3, 6, 7 and 8 end to end: continue-as-new, determinism tools, cancel versus
terminate, workflow timeouts, duplicate policies and non-determinism reporting."""

from __future__ import annotations

import logging

import pytest

from durable_workflow import ContinueAsNew, activity, errors, workflow

from .conftest import Env, wait_until

cleaned: list[str] = []


@pytest.fixture(autouse=True)
def _fresh_records() -> None:
    """Each test runs once per back end: what activities record starts empty every time."""
    cleaned.clear()


@activity.defn(name="clean-up")
async def clean_up(what: str) -> str:
    cleaned.append(what)
    return f"cleaned {what}"


@activity.defn(name="step")
async def step(name: str) -> str:
    return name


@workflow.defn(name="countdown")
class Countdown:
    def run(self, ctx, n):  # type: ignore[no-untyped-def]
        yield ctx.schedule_activity("step", [f"n={n}"])
        if n > 1:
            return ctx.continue_as_new(n - 1)
        return ContinueAsNew(arguments=[n * 10], workflow_type="finale")


@workflow.defn(name="finale")
class Finale:
    def run(self, ctx, value):  # type: ignore[no-untyped-def]
        return {"final": value, "run_id": ctx.run_id}


async def test_continue_as_new_chain(env: Env) -> None:
    async with env.worker([Countdown, Finale], [step]):
        handle = await env.client.start_workflow(
            workflow_type="countdown",
            task_queue="model",
            workflow_id="chain",
            input=[2],
            memo={"owner": "ada"},
            search_attributes={"Tier": "gold"},
            execution_timeout_seconds=3600,
            run_timeout_seconds=600,
        )
        unpinned = env.client.get_workflow_handle("chain")
        result = await unpinned.result(timeout=10)
    assert result["final"] == 10
    described = await env.client.describe_workflow("chain")
    assert described.workflow_type == "finale" and described.run_id == result["run_id"]
    assert described.memo == {"owner": "ada"} and described.search_attributes == {"Tier": "gold"}
    runs = (await env.client.list_workflow_runs("chain")).runs
    assert [r.run_number for r in runs] == [1, 2, 3]
    assert [r.workflow_type for r in runs] == ["countdown", "countdown", "finale"]
    assert runs[0].run_id == handle.run_id
    first = await env.events("chain", runs[0].run_id)
    assert first[-1]["event_type"] == "WorkflowContinuedAsNew"
    assert first[-1]["payload"]["continued_to_run_id"] == runs[1].run_id
    started = [(await env.events("chain", r.run_id))[0]["payload"] for r in runs]
    assert len({s["execution_deadline_at"] for s in started}) == 1  # chain-wide
    assert all(s["run_timeout_seconds"] == 600 for s in started)  # a fresh run deadline each
    assert env.rows("SELECT COUNT(*) FROM runs WHERE run_deadline_at = started_at + 600") == [(3,)]
    assert started[2]["continued_from_run_id"] == runs[1].run_id


@workflow.defn(name="tools")
class Tools:
    def __init__(self) -> None:
        self.go = False

    @workflow.signal("go")
    def on_go(self) -> None:
        self.go = True

    def run(self, ctx):  # type: ignore[no-untyped-def]
        version = yield ctx.get_version("algo", 1, 2)
        patched = yield ctx.patched("fix-1")
        deprecated = yield ctx.deprecate_patch("old-fix")
        token = yield ctx.side_effect(lambda: "side-42")
        yield ctx.upsert_search_attributes({"Stage": "waiting"})
        timed_out = not (yield ctx.wait_condition(lambda: self.go, timeout=60))
        signalled = yield ctx.wait_condition(lambda: self.go, timeout=60)
        return [version, patched, deprecated, token, timed_out, signalled]


async def test_determinism_tools(env: Env) -> None:
    async with env.worker([Tools]):
        handle = await env.client.start_workflow(
            workflow_type="tools", task_queue="model", workflow_id="tools"
        )
        await wait_until(lambda: _pending_timer(env))
        env.clock.advance(61)  # the first wait times out
        await wait_until(lambda: _kind_count(env, "tools", "ConditionWaitOpened", 2))
        await handle.signal("go")
        assert await handle.result(timeout=10) == [2, True, None, "side-42", True, True]
    kinds = await env.kinds("tools")
    assert kinds.count("VersionMarkerRecorded") == 3 and "SideEffectRecorded" in kinds
    assert "ConditionWaitTimedOut" in kinds and "ConditionWaitSatisfied" in kinds
    assert (await env.client.describe_workflow("tools")).search_attributes == {"Stage": "waiting"}


def _pending_timer(env: Env) -> bool:
    return bool(env.rows("SELECT 1 FROM timers WHERE status = 'pending'"))


async def _kind_count(env: Env, workflow_id: str, kind: str, n: int) -> bool:
    return (await env.kinds(workflow_id)).count(kind) >= n


@workflow.defn(name="careful")
class Careful:
    def run(self, ctx):  # type: ignore[no-untyped-def]
        try:
            yield ctx.sleep(3600)
        except errors.WorkflowCancelled:
            yield ctx.schedule_activity("clean-up", ["careful"])
            raise
        return "slept"


async def test_cooperative_cancel_runs_cleanup_then_closes_cancelled(env: Env) -> None:
    async with env.worker([Careful], [clean_up]):
        handle = await env.client.start_workflow(
            workflow_type="careful", task_queue="model", workflow_id="careful"
        )
        await wait_until(lambda: _pending_timer(env))
        await handle.cancel(reason="user asked")
        with pytest.raises(errors.WorkflowCancelled):
            await handle.result(timeout=10)
    assert cleaned == ["careful"]
    kinds = await env.kinds("careful")
    assert kinds.index("CancelRequested") < kinds.index("ActivityCompleted") < kinds.index("WorkflowCancelled")
    assert await env.status("careful") == "cancelled"


async def test_terminate_is_forceful(env: Env) -> None:
    async with env.worker([Careful], [clean_up]):
        handle = await env.client.start_workflow(
            workflow_type="careful", task_queue="model", workflow_id="forced"
        )
        await wait_until(lambda: _pending_timer(env))
        await handle.terminate(reason="ops")
        with pytest.raises(errors.WorkflowTerminated, match="ops"):
            await handle.result(timeout=10)
    assert "ActivityScheduled" not in await env.kinds("forced")


async def test_cancel_without_a_cooperative_worker_closes_at_once(env: Env) -> None:
    handle = await env.client.start_workflow(
        workflow_type="careful", task_queue="model", workflow_id="no-worker"
    )
    await handle.cancel(reason="gone")
    with pytest.raises(errors.WorkflowCancelled):
        await handle.result(timeout=5)
    assert (await env.kinds("no-worker"))[-2:] == ["CancelRequested", "WorkflowCancelled"]


async def test_run_timeout_and_duplicate_policies(env: Env) -> None:
    async with env.worker([Careful], [clean_up]):
        handle = await env.client.start_workflow(
            workflow_type="careful", task_queue="model", workflow_id="slow", run_timeout_seconds=30
        )
        with pytest.raises(errors.WorkflowAlreadyStarted):
            await env.client.start_workflow(workflow_type="careful", task_queue="model", workflow_id="slow")
        same = await env.client.start_workflow(
            workflow_type="careful", task_queue="model", workflow_id="slow", duplicate_policy="use-existing"
        )
        assert same.run_id == handle.run_id
        await wait_until(lambda: _pending_timer(env))
        env.clock.advance(31)
        with pytest.raises(errors.WorkflowTimedOut):
            await handle.result(timeout=10)
    with pytest.raises(errors.WorkflowAlreadyStarted):  # closed runs are not restarted either
        await env.client.start_workflow(workflow_type="careful", task_queue="model", workflow_id="slow")


@workflow.defn(name="evolving")
class EvolvingV1:
    def __init__(self) -> None:
        self.go = False

    @workflow.signal("go")
    def on_go(self) -> None:
        self.go = True

    def run(self, ctx):  # type: ignore[no-untyped-def]
        yield ctx.schedule_activity("step", ["a"])
        yield ctx.wait_condition(lambda: self.go)
        return (yield ctx.schedule_activity("step", ["b"]))


@workflow.defn(name="evolving")
class EvolvingV2(EvolvingV1):
    def run(self, ctx):  # type: ignore[no-untyped-def]
        yield ctx.start_timer(5)  # a new first step: history recorded an activity there
        yield ctx.wait_condition(lambda: self.go)
        return "never"


async def test_non_determinism_fails_the_task_not_the_workflow(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    async with env.worker([EvolvingV1], [step]):
        handle = await env.client.start_workflow(
            workflow_type="evolving", task_queue="model", workflow_id="nd"
        )
        await wait_until(lambda: _kind_count(env, "nd", "ConditionWaitOpened", 1))
    caplog.set_level(logging.WARNING, logger="durable_workflow.server.engine.service")
    async with env.worker([EvolvingV2], [step]):
        await handle.signal("go")
        await wait_until(lambda: _failure(env, "nd"))
    described = await env.client.describe_workflow("nd")
    assert described.status not in ("failed", "completed")
    failure = described.last_workflow_task_failure
    assert failure is not None
    message = failure["message"]
    assert "workflow sequence 1" in message  # the history sequence number
    assert "ActivityScheduled" in message  # what history recorded
    assert "start_timer" in message or "StartTimer" in message or "timer" in message  # what the code yielded
    assert "test_lifecycle.py:" in message  # the workflow's source file and line
    assert failure["type"] == "NonDeterministicReplayError"
    assert any("NonDeterministicReplayError" in r.getMessage() for r in caplog.records)


async def _failure(env: Env, workflow_id: str) -> bool:
    return (await env.client.describe_workflow(workflow_id)).last_workflow_task_failure is not None
