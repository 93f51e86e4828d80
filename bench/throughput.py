"""One-activity workflows on SQLite, embedded and over HTTP: latency and throughput.

    python bench/throughput.py [--mode embedded|http|both] [--sequential 200] [--concurrent 2000]

Prints, per mode: sequential start->result latency (p50, p99) and the rate at which
concurrently started workflows complete (workflows/s). Figures, never assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This checkout first (its src/ too): an editable install of another checkout may be present.
sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "src"), str(Path(__file__).resolve().parents[1])]

from durable_workflow import Client, Worker, activity, workflow  # noqa: E402
from tests.support.processes import ServerProcess  # noqa: E402

QUEUE = "bench"


@activity.defn(name="bench-step")
async def step(n: int) -> int:
    return n + 1


@workflow.defn(name="bench-one-activity")
class OneActivity:
    def run(self, ctx, n):
        result = yield ctx.schedule_activity("bench-step", [n])
        return result


def _completed(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM runs WHERE status = 'completed'").fetchone()[0])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(url: str, token: str | None, db: Path, sequential: int, concurrent: int) -> dict[str, float]:
    async with Client(url, token=token) as client:
        worker = Worker(client, task_queue=QUEUE, workflows=[OneActivity], activities=[step],
                        max_concurrent_workflow_tasks=64, max_concurrent_activity_tasks=64, poll_timeout=5)
        running = asyncio.create_task(worker.run())
        try:
            # Warm-up: registration, caches, connection pool.
            for i in range(5):
                h = await client.start_workflow(workflow_type="bench-one-activity", task_queue=QUEUE,
                                                workflow_id=f"warm-{i}", input=[i])
                await h.result(poll_interval=0.002, timeout=30)

            latencies = []
            for i in range(sequential):
                t0 = time.perf_counter()
                h = await client.start_workflow(workflow_type="bench-one-activity", task_queue=QUEUE,
                                                workflow_id=f"seq-{i}", input=[i])
                assert await h.result(poll_interval=0.002, timeout=30) == i + 1
                latencies.append(time.perf_counter() - t0)

            base = _completed(db)
            gate = asyncio.Semaphore(64)

            async def start(i: int) -> None:
                async with gate:
                    await client.start_workflow(workflow_type="bench-one-activity", task_queue=QUEUE,
                                                workflow_id=f"conc-{i}", input=[i])

            t0 = time.perf_counter()
            await asyncio.gather(*(start(i) for i in range(concurrent)))
            started = time.perf_counter() - t0
            while _completed(db) - base < concurrent:
                if time.perf_counter() - t0 > 600:
                    raise TimeoutError("concurrent workflows did not finish in 10 minutes")
                await asyncio.sleep(0.02)
            elapsed = time.perf_counter() - t0
        finally:
            await worker.stop()
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
    return {
        "seq_p50_ms": statistics.median(latencies) * 1000,
        "seq_p99_ms": _pct(latencies, 0.99) * 1000,
        "seq_per_s": sequential / sum(latencies),
        "starts_per_s": concurrent / started,
        "conc_per_s": concurrent / elapsed,
    }


def _report(mode: str, figures: dict[str, float], concurrent: int) -> None:
    print(f"{mode:9s} sequential latency p50 {figures['seq_p50_ms']:7.2f} ms  p99 {figures['seq_p99_ms']:7.2f} ms"
          f"  ({figures['seq_per_s']:6.1f} wf/s)")
    print(f"{mode:9s} {concurrent} concurrent starts: {figures['starts_per_s']:7.1f} starts/s, "
          f"completed {figures['conc_per_s']:7.1f} workflows/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["embedded", "http", "both"], default="both")
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--concurrent", type=int, default=2000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dw-bench-"))
    print(f"one-activity workflows on SQLite (WAL, synchronous=FULL); data in {tmp}")
    if args.mode in ("embedded", "both"):
        db = tmp / "embedded.db"
        figures = asyncio.run(_measure(f"sqlite:///{db}", None, db, args.sequential, args.concurrent))
        _report("embedded", figures, args.concurrent)
    if args.mode in ("http", "both"):
        db = tmp / "http.db"
        server = ServerProcess(db_url=f"sqlite:///{db}", token="bench", log_path=tmp / "server.log").start()
        try:
            figures = asyncio.run(_measure(server.url, "bench", db, args.sequential, args.concurrent))
        finally:
            server.stop()
        _report("http", figures, args.concurrent)


if __name__ == "__main__":
    main()
