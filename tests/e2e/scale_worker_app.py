"""A worker process on OUR SDK for the multi-server scale test and benchmark.

    python scale_worker_app.py URL TOKEN TASK_QUEUE READY_FILE

Runs ``scale-one-activity`` (one ``scale-step`` activity). Connected to ONE server: when
that server dies, the SDK's poll loop backs off and reconnects once it is back.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from durable_workflow import ActivityRetryPolicy, Client, Worker, activity, workflow

URL, TOKEN, QUEUE, READY = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])


@activity.defn(name="scale-step")
async def step(n: int) -> int:
    return n + 1


@workflow.defn(name="scale-one-activity")
class OneActivity:
    def run(self, ctx, n):
        # Retries: an attempt whose result died with its server times out and runs again.
        result = yield ctx.schedule_activity(
            "scale-step", [n], retry_policy=ActivityRetryPolicy(max_attempts=5,
                                                               initial_interval_seconds=1))
        return result


async def main() -> None:
    async with Client(URL, token=TOKEN or None) as client:
        worker = Worker(client, task_queue=QUEUE, workflows=[OneActivity], activities=[step],
                        max_concurrent_workflow_tasks=32, max_concurrent_activity_tasks=32,
                        poll_timeout=5.0)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(worker.stop()))
        READY.write_text("1")
        await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
