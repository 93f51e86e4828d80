"""One-activity workflows on PostgreSQL with 1, 2 and 3 `dw server start` processes.

    python bench/postgres_scale.py [--servers 1 2 3] [--workflows 1000] [--sequential 100]

Per server count: a fresh database, that many servers and one SDK worker process per
server. Prints sequential start->result latency (p50/p99, one client, server 0), then the
throughput of N workflows started concurrently through all servers and their end-to-end
latency (run started_at -> closed_at, p50/p99) under that load. Figures, never assertions.
The PostgreSQL server is DW_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from tests.e2e.multi_server import (
    QUEUE,
    WORKFLOW,
    WorkerProcess,
    count_completed,
    start_servers,
    start_workflows,
)
from tests.support import pg

from durable_workflow import Client


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _sequential(url: str, token: str | None, n: int) -> list[float]:
    out = []
    async with Client(url, token=token) as client:
        for i in range(n):
            t0 = time.perf_counter()
            h = await client.start_workflow(workflow_type=WORKFLOW, task_queue=QUEUE,
                                            workflow_id=f"seq-{i}", input=[i])
            await h.result(poll_interval=0.002, timeout=60)
            out.append(time.perf_counter() - t0)
    return out


def run(n_servers: int, workflows: int, sequential: int) -> None:
    db = pg.create_database("bench_")
    tmp = Path(tempfile.mkdtemp(prefix="dw-pg-bench-"))
    servers = start_servers(db, n_servers, tmp, lease=30.0)
    workers = [WorkerProcess(s, tmp) for s in servers]
    try:
        for w in workers:
            w.wait_ready()
        seq = asyncio.run(_sequential(servers[0].url, servers[0].token, sequential))
        base = count_completed(db)
        t0 = time.perf_counter()
        asyncio.run(start_workflows(servers, [f"conc-{i}" for i in range(workflows)]))
        starts = time.perf_counter() - t0
        while count_completed(db) - base < workflows:
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        with psycopg.connect(db) as conn:
            lat = [r[0] for r in conn.execute(
                "SELECT closed_at - started_at FROM runs WHERE workflow_id LIKE 'conc-%'")]
        print(f"{n_servers} server(s): sequential p50 {statistics.median(seq) * 1000:6.1f} ms "
              f"p99 {_pct(seq, 0.99) * 1000:6.1f} ms | {workflows} concurrent: "
              f"{workflows / starts:6.1f} starts/s, {workflows / elapsed:6.1f} workflows/s, "
              f"end-to-end p50 {statistics.median(lat):5.2f} s p99 {_pct(lat, 0.99):5.2f} s",
              flush=True)
    finally:
        for w in workers:
            w.stop()
        for s in servers:
            s.stop()
        pg.drop_database(db)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--workflows", type=int, default=1000)
    parser.add_argument("--sequential", type=int, default=100)
    args = parser.parse_args()
    print(f"one-activity workflows on PostgreSQL ({pg.ADMIN_URL}), one SDK worker per server")
    for n in args.servers:
        run(n, args.workflows, args.sequential)


if __name__ == "__main__":
    main()
