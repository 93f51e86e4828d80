"""1,000 idle long polls parked on a server while /api/ready is timed.

    python bench/idle_polls.py [--polls 1000] [--probes 300]

Prints /api/ready latency p50/p99 with the polls parked, and the server's RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.processes import ServerProcess  # noqa: E402

WORKER = {"X-Durable-Workflow-Protocol-Version": "1.20", "X-Namespace": "default",
          "Authorization": "Bearer bench", "Content-Type": "application/json"}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(url: str, polls: int, probes: int, pid: int) -> None:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await session.post(url + "/api/worker/register", headers=WORKER, json={
            "worker_id": "idle-bench", "task_queue": "idle", "runtime": "python",
            "supported_workflow_types": ["nothing"], "supported_activity_types": ["nothing"]})

        async def park(i: int) -> int:
            kind = "workflow-tasks" if i % 2 else "activity-tasks"
            async with session.post(f"{url}/api/worker/{kind}/poll", headers=WORKER, json={
                "worker_id": "idle-bench", "task_queue": "idle", "timeout_seconds": 30,
                "poll_request_id": f"p-{uuid.uuid4().hex}"}) as resp:
                await resp.read()
                return resp.status

        parked = [asyncio.create_task(park(i)) for i in range(polls)]
        await asyncio.sleep(3)  # let every poll reach the server and park
        rss = _rss_mb(pid)
        latencies = []
        for _ in range(probes):
            t0 = time.perf_counter()
            async with session.get(url + "/api/ready") as resp:
                await resp.read()
                assert resp.status == 200
            latencies.append((time.perf_counter() - t0) * 1000)
        still_parked = sum(1 for t in parked if not t.done())
        for t in parked:
            t.cancel()
        await asyncio.gather(*parked, return_exceptions=True)
    latencies.sort()
    print(f"{polls} polls parked ({still_parked} still parked while probing), server RSS {rss:.1f} MiB")
    print(f"/api/ready latency: p50 {statistics.median(latencies):.2f} ms, "
          f"p99 {latencies[int(0.99 * len(latencies)) - 1]:.2f} ms, max {latencies[-1]:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--polls", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=300)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dw-idle-"))
    server = ServerProcess(db_url=f"sqlite:///{tmp / 'idle.db'}", token="bench", log_path=tmp / "server.log").start()
    try:
        assert server.proc is not None
        asyncio.run(run(server.url, args.polls, args.probes, server.proc.pid))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
