"""Run with the OFFICIAL durable-workflow 2.12.0 SDK (not ours) against a server URL.

Drives a greeter workflow, a workflow that waits on a signal with ``wait_condition``,
then the workflow model: an activity retried to attempt 3, a child workflow, a
continue-as-new chain, a query, an accepted and a rejected update, cancel and terminate.
Prints one JSON line with every result.
"""

import asyncio
import json
import sys

import durable_workflow
from durable_workflow import Client, Worker, activity, errors, workflow
from durable_workflow.workflow import ActivityRetryPolicy


@activity.defn(name="greet")
async def greet(name: str) -> dict:
    return {"greeting": f"Hello, {name}!", "length": len(name)}


@workflow.defn(name="interop-greeter")
class Greeter:
    def run(self, ctx, *args):
        result = yield ctx.schedule_activity("greet", list(args))
        return result


@workflow.defn(name="interop-approval")
class Approval:
    def __init__(self) -> None:
        self.approved_by = None

    @workflow.signal("approve")
    def approve(self, by: str) -> None:
        self.approved_by = by

    def run(self, ctx, order_id):
        ok = yield ctx.wait_condition(lambda: self.approved_by is not None, key="approval", timeout=120)
        receipt = yield ctx.schedule_activity("greet", [self.approved_by])
        return {"order": order_id, "approved_by": self.approved_by, "satisfied": ok, "receipt": receipt}


@activity.defn(name="flaky")
async def flaky() -> dict:
    attempt = activity.context().info.attempt_number
    if attempt < 3:
        raise RuntimeError(f"transient failure on attempt {attempt}")
    return {"attempt": attempt}


@workflow.defn(name="interop-retry")
class Retry:
    def run(self, ctx):
        policy = ActivityRetryPolicy(max_attempts=3, initial_interval_seconds=0)
        return (yield ctx.schedule_activity("flaky", [], retry_policy=policy))


@workflow.defn(name="interop-kid")
class Kid:
    def run(self, ctx, n):
        return {"kid": n * 2}


@workflow.defn(name="interop-parent")
class Parent:
    def run(self, ctx, n):
        child = yield ctx.start_child_workflow("interop-kid", [n], parent_close_policy="terminate")
        return {"parent": n, "child": child}


@workflow.defn(name="interop-countdown")
class Countdown:
    def run(self, ctx, n):
        if n > 0:
            yield ctx.schedule_activity("greet", [f"n{n}"])
            return ctx.continue_as_new(n - 1)
        return {"done": True}


@workflow.defn(name="interop-counter")
class Counter:
    def __init__(self) -> None:
        self.total = 0
        self.stop = False

    @workflow.query("total")
    def get_total(self) -> int:
        return self.total

    @workflow.update("add")
    def add(self, amount: int) -> int:
        self.total += amount
        return self.total

    @workflow.signal("stop")
    def on_stop(self) -> None:
        self.stop = True

    def run(self, ctx):
        yield ctx.wait_condition(lambda: self.stop, key="stop")
        return self.total


async def model_scenarios(client, suffix: str) -> dict:
    out = {}
    retry = await client.start_workflow(
        workflow_type="interop-retry", task_queue="interop", workflow_id=f"interop-retry-{suffix}"
    )
    out["retry"] = await retry.result(timeout=60.0)

    parent = await client.start_workflow(
        workflow_type="interop-parent", task_queue="interop", workflow_id=f"interop-parent-{suffix}",
        input=[21],
    )
    out["child"] = await parent.result(timeout=60.0)

    await client.start_workflow(
        workflow_type="interop-countdown", task_queue="interop",
        workflow_id=f"interop-chain-{suffix}", input=[2],
    )
    out["chain"] = await client.get_workflow_handle(f"interop-chain-{suffix}").result(timeout=60.0)
    runs = await client.list_workflow_runs(f"interop-chain-{suffix}")
    out["chain_runs"] = len(runs.runs)

    counter = await client.start_workflow(
        workflow_type="interop-counter", task_queue="interop", workflow_id=f"interop-counter-{suffix}"
    )
    await wait_for_event(client, counter.workflow_id, counter.run_id, "ConditionWaitOpened")
    update = await counter.update("add", [5], wait_for="completed")
    out["update"] = update.get("result") if isinstance(update, dict) else update
    try:
        await counter.update("no-such-update", [1], wait_for="completed")
        out["rejected"] = "not rejected"
    except errors.UpdateRejected as exc:
        out["rejected"] = type(exc).__name__
    query = await counter.query("total")
    out["query"] = query.get("result") if isinstance(query, dict) else query
    await counter.signal("stop")
    out["counter"] = await counter.result(timeout=60.0)

    for kind in ("cancel", "terminate"):
        handle = await client.start_workflow(
            workflow_type="interop-counter", task_queue="interop",
            workflow_id=f"interop-{kind}-{suffix}",
        )
        await wait_for_event(client, handle.workflow_id, handle.run_id, "ConditionWaitOpened")
        await (handle.cancel(reason="interop") if kind == "cancel" else handle.terminate(reason="interop"))
        try:
            await handle.result(timeout=60.0)
            out[kind] = "not closed"
        except (errors.WorkflowCancelled, errors.WorkflowTerminated) as exc:
            out[kind] = type(exc).__name__
        out[f"{kind}_status"] = (await client.describe_workflow(handle.workflow_id)).status
    return out


async def wait_for_event(client, workflow_id, run_id, event_type, timeout=30.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        history = await client.get_history(workflow_id, run_id)
        if any(e.get("event_type") == event_type for e in history.get("events", [])):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{event_type} never appeared in {workflow_id}")


async def main(url: str, token: str, suffix: str) -> None:
    async with Client(url, token=token, namespace="default") as client:
        worker = Worker(
            client,
            task_queue="interop",
            workflows=[Greeter, Approval, Retry, Kid, Parent, Countdown, Counter],
            activities=[greet, flaky],
            poll_timeout=2.0,
        )
        running = asyncio.create_task(worker.run())
        try:
            greet_handle = await client.start_workflow(
                workflow_type="interop-greeter",
                task_queue="interop",
                workflow_id=f"interop-greet-{suffix}",
                input=["world"],
            )
            greeting = await greet_handle.result(timeout=60.0)

            approval = await client.start_workflow(
                workflow_type="interop-approval",
                task_queue="interop",
                workflow_id=f"interop-approval-{suffix}",
                input=["order-7"],
            )
            # Signal only once the workflow is really parked in wait_condition.
            await wait_for_event(client, approval.workflow_id, approval.run_id, "ConditionWaitOpened")
            await approval.signal("approve", ["ada"])
            approved = await approval.result(timeout=60.0)
            described = await client.describe_workflow(approval.workflow_id)
            model = await model_scenarios(client, suffix)
        finally:
            await worker.stop()
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        print(json.dumps({
            "greeting": greeting, "approval": approved, "status": described.status, "model": model,
            "sdk_version": durable_workflow.__version__, "sdk_path": durable_workflow.__file__,
        }))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
