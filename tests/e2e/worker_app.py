"""A worker process built on OUR SDK, used by the crash tests.

    python worker_app.py URL TOKEN TASK_QUEUE MARKER_DIR [--hang]

The ``slow-step`` activity writes ``started-<attempt>`` into MARKER_DIR, then waits for
MARKER_DIR/release (or forever with --hang, so the test can SIGKILL it mid-activity).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from durable_workflow import ActivityRetryPolicy, Client, Worker, activity, workflow

URL, TOKEN, QUEUE, MARKERS = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
HANG = "--hang" in sys.argv


@activity.defn(name="slow-step")
async def slow_step(label: str) -> dict:
    attempt = activity.context().info.attempt_number
    (MARKERS / f"started-{label}-{attempt}").write_text(str(os.getpid()))
    while HANG or not (MARKERS / "release").exists():
        await asyncio.sleep(0.05)
    return {"label": label, "attempt": attempt, "pid": os.getpid()}


@workflow.defn(name="e2e-one-activity")
class OneActivity:
    def run(self, ctx, label):
        result = yield ctx.schedule_activity(
            "slow-step", [label], retry_policy=ActivityRetryPolicy(max_attempts=5, initial_interval_seconds=1)
        )
        return result


@workflow.defn(name="e2e-timer")
class TimerWorkflow:
    def run(self, ctx, seconds):
        started = ctx.now().isoformat()
        yield ctx.sleep(seconds)
        return {"slept": seconds, "started": started}


async def main() -> None:
    async with Client(URL, token=TOKEN) as client:
        worker = Worker(client, task_queue=QUEUE, workflows=[OneActivity, TimerWorkflow],
                        activities=[slow_step], poll_timeout=2.0)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(worker.stop()))
        (MARKERS / f"worker-ready-{os.getpid()}").write_text("1")
        await worker.run()


if __name__ == "__main__":
    asyncio.run(main())
