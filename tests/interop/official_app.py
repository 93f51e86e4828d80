"""Run with the OFFICIAL durable-workflow 2.12.0 SDK (not ours) against a server URL.

Drives a greeter workflow and a workflow that waits on a signal with
``wait_condition``; prints one JSON line with both results.
"""

import asyncio
import json
import sys

import durable_workflow
from durable_workflow import Client, Worker, activity, workflow


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
            workflows=[Greeter, Approval],
            activities=[greet],
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
        finally:
            await worker.stop()
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        print(json.dumps({
            "greeting": greeting, "approval": approved, "status": described.status,
            "sdk_version": durable_workflow.__version__, "sdk_path": durable_workflow.__file__,
        }))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
