"""Issue points 4 and 5: routed queries and updates (validators, request ids, bad names)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from durable_workflow import errors, workflow

from .conftest import Env, wait_until


@workflow.defn(name="counter")
class Counter:
    def __init__(self) -> None:
        self.total = 0
        self.done = False

    @workflow.query("total")
    def get_total(self, plus: int = 0) -> int:
        return self.total + plus

    @workflow.query("broken")
    def broken(self) -> int:
        raise RuntimeError("query handler exploded")

    @workflow.update("add")
    def add(self, amount: int) -> int:
        self.total += amount
        return self.total

    @add.validator
    def validate_add(self, amount: int) -> None:
        if amount < 0:
            raise ValueError("amount must not be negative")

    @workflow.update("explode")
    def explode(self) -> None:
        raise RuntimeError("update handler exploded")

    @workflow.signal("finish")
    def finish(self) -> None:
        self.done = True

    def run(self, ctx):  # type: ignore[no-untyped-def]
        yield ctx.wait_condition(lambda: self.done or self.total >= 100)
        return self.total


async def _started(env: Env, workflow_id: str) -> Any:
    handle = await env.client.start_workflow(
        workflow_type="counter", task_queue="model", workflow_id=workflow_id
    )
    await wait_until(lambda: _waiting(env, workflow_id))
    return handle


async def _waiting(env: Env, workflow_id: str) -> bool:
    return "ConditionWaitOpened" in await env.kinds(workflow_id)


async def test_query_routes_through_a_worker_and_never_touches_history(env: Env) -> None:
    async with env.worker([Counter]):
        handle = await _started(env, "q-1")
        before = await env.kinds("q-1")
        assert (await handle.query("total"))["result"] == 0
        assert (await env.client.query_workflow("q-1", "total", args=[5]))["result"] == 5
        with pytest.raises(errors.QueryFailed, match=r"unknown query 'nope'"):
            await handle.query("nope")
        with pytest.raises(errors.QueryFailed, match="exploded"):
            await handle.query("broken")
        assert await env.kinds("q-1") == before
        await handle.signal("finish")
        assert await handle.result(timeout=10) == 0
        assert (await handle.query("total"))["result"] == 0  # closed runs answer queries too


async def test_query_without_a_query_worker_is_409(env: Env) -> None:
    await env.client.start_workflow(workflow_type="counter", task_queue="model", workflow_id="q-none")
    with pytest.raises(errors.QueryFailed) as info:
        await env.client.query_workflow("q-none", "total")
    assert "no query-capable worker" in str(info.value)


async def test_update_completed_then_accepted_with_request_id_dedupe(env: Env) -> None:
    async with env.worker([Counter]):
        handle = await _started(env, "u-1")
        done = await handle.update("add", [40], wait_for="completed", request_id="req-1")
        assert done["update_status"] == "completed" and done["result"] == 40
        again = await handle.update("add", [40], wait_for="completed", request_id="req-1")
        assert again["update_id"] == done["update_id"] and again["result"] == 40
        with pytest.raises(errors.UpdateFailed):  # same request id, other intent
            await handle.update("add", [1], request_id="req-1")
        accepted = await handle.update("add", [60])  # server default: accepted
        assert accepted["update_status"] == "accepted"
        assert await handle.result(timeout=10) == 100  # the update unblocked the wait
    kinds = await env.kinds("u-1")
    assert kinds.count("UpdateAccepted") == 2 and kinds.count("UpdateApplied") == 2
    assert kinds.count("UpdateCompleted") == 2
    applied = [e for e in await env.events("u-1") if e["event_type"] == "UpdateCompleted"]
    assert {e["payload"]["update_name"] for e in applied} == {"add"}


async def test_rejected_updates_write_nothing(env: Env) -> None:
    async with env.worker([Counter]):
        handle = await _started(env, "u-bad")
        before = env.dump()
        with pytest.raises(errors.UpdateRejected, match="must not be negative"):
            await handle.update("add", [-1], wait_for="completed")
        with pytest.raises(errors.UpdateRejected, match="no update 'nope'"):
            await handle.update("nope", [], wait_for="completed")
        assert env.dump() == before
        with pytest.raises(errors.UpdateFailed, match="exploded"):
            await handle.update("explode", [], wait_for="completed")
        kinds = await env.kinds("u-bad")
        assert "UpdateApplied" not in kinds and kinds.count("UpdateCompleted") == 1
        assert (await handle.update("add", [1], wait_for="completed"))["result"] == 1
        await handle.signal("finish")
        assert await handle.result(timeout=10) == 1


async def test_signal_and_update_on_a_finished_workflow_are_refused(env: Env) -> None:
    async with env.worker([Counter]):
        handle = await _started(env, "u-done")
        await handle.signal("finish")
        await handle.result(timeout=10)
        before = env.dump()
        with pytest.raises(errors.DurableWorkflowError) as info:
            await handle.signal("finish")
        assert "completed" in str(info.value)
        with pytest.raises(errors.DurableWorkflowError):
            await handle.update("add", [1])
        assert env.dump() == before


async def test_update_waits_for_a_busy_worker(env: Env) -> None:
    handle = await env.client.start_workflow(
        workflow_type="counter", task_queue="model", workflow_id="u-later"
    )
    accepted = await handle.update("add", [5], wait_for="accepted")  # no worker yet
    assert accepted["update_status"] == "accepted"
    async with env.worker([Counter]):
        waited = asyncio.create_task(handle.update("add", [95], wait_for="completed"))
        assert (await waited)["result"] == 100
        assert await handle.result(timeout=10) == 100
