"""Cost per workflow task as history grows: a workflow of N sequential activities, embedded on SQLite.

    python bench/history_length.py [--steps 5,50,500]

Prints, per N: history length at the end, and the wall time per workflow task (whole run /
N+1 tasks) and per task of its last tenth (where history is longest). Figures, never assertions.

What is O(history) per task: the protocol sends the full history with every workflow task
(first page up to the page size), so the server reads and serialises it, and the worker
decodes it and replays the workflow from the start. What is not: leasing, completing,
appending events (one multi-row INSERT of the new events) and the run row update.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

# This checkout first (its src/ too): an editable install of another checkout may be present.
sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src"), str(Path(__file__).resolve().parents[1])]

from durable_workflow import Client, Worker, activity, workflow  # noqa: E402

QUEUE = "bench-history"


@activity.defn(name="bench-inc")
async def inc(n: int) -> int:
    return n + 1


@workflow.defn(name="bench-steps")
class Steps:
    def run(self, ctx, steps):
        n = 0
        for _ in range(steps):
            n = yield ctx.schedule_activity("bench-inc", [n])
        return n


async def _measure(db: Path, steps: int) -> tuple[int, float, float]:
    async with Client(f"sqlite:///{db}") as client:
        worker = Worker(client, task_queue=QUEUE, workflows=[Steps], activities=[inc], poll_timeout=5)
        running = asyncio.create_task(worker.run())
        try:
            marks: list[float] = []
            real = worker._handle_workflow_task  # type: ignore[attr-defined]

            async def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
                result = await real(*args, **kwargs)
                marks.append(time.perf_counter())
                return result

            worker._handle_workflow_task = timed  # type: ignore[attr-defined]
            t0 = time.perf_counter()
            h = await client.start_workflow(workflow_type="bench-steps", task_queue=QUEUE,
                                            workflow_id=f"steps-{steps}", input=[steps])
            assert await h.result(poll_interval=0.002, timeout=600) == steps
            elapsed = time.perf_counter() - t0
        finally:
            await worker.stop()
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
    with sqlite3.connect(db) as conn:
        events = int(conn.execute("SELECT MAX(last_event_sequence) FROM runs").fetchone()[0])
    tail = max(1, len(marks) // 10)
    last = (marks[-1] - marks[-1 - tail]) / tail if len(marks) > tail else elapsed
    return events, elapsed / (steps + 1), last


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", default="5,50,500")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dw-bench-history-"))
    print(f"N sequential activities, embedded SQLite; data in {tmp}")
    asyncio.run(_measure(tmp / "warm-up.db", 2))  # imports, first-use costs
    for steps in (int(s) for s in args.steps.split(",")):
        events, per_task, last = asyncio.run(_measure(tmp / f"h{steps}.db", steps))
        print(f"N={steps:4d}  history {events:5d} events  per workflow task {per_task * 1000:7.2f} ms"
              f"  (last tenth {last * 1000:7.2f} ms)")


if __name__ == "__main__":
    main()
