"""Helpers for tests and benchmarks that run several `dw server start` on one PostgreSQL database."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

from durable_workflow import Client
from tests.support.processes import ServerProcess, child_env, wait_until

APP = Path(__file__).with_name("scale_worker_app.py")
QUEUE = "scale"
WORKFLOW = "scale-one-activity"


class WorkerProcess:
    def __init__(self, server: ServerProcess, logs: Path) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ready = logs / f"worker-{tag}.ready"
        self.log = logs / f"worker-{tag}.log"
        args = [sys.executable, str(APP), server.url, server.token or "", QUEUE, str(self.ready)]
        self.proc = subprocess.Popen(args, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
                                     env=child_env())

    def wait_ready(self) -> None:
        wait_until(lambda: self.ready.exists() or self.proc.poll() is not None, 30, "worker start")
        assert self.proc.poll() is None, self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start_servers(db_url: str, n: int, logs: Path, lease: float = 5.0) -> list[ServerProcess]:
    servers = [ServerProcess(db_url=db_url, log_path=logs / f"server-{i}.log",
                             extra_args=["--workflow-task-lease-seconds", str(lease),
                                         "--activity-lease-seconds", str(lease)])
               for i in range(n)]
    # All at once: on a fresh database they race to migrate and to create `default`.
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(lambda s: s.start(timeout=40), servers))
    return servers


async def start_workflows(servers: Sequence[ServerProcess], ids: Sequence[str],
                          concurrency: int = 48) -> dict[str, float]:
    """Start one workflow per id, round-robin over the servers; returns id -> start time."""
    loop = asyncio.get_running_loop()
    clients = [Client(s.url, token=s.token) for s in servers]
    started: dict[str, float] = {}
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int, workflow_id: str) -> None:
        async with gate:
            started[workflow_id] = loop.time()
            await clients[i % len(clients)].start_workflow(
                workflow_type=WORKFLOW, task_queue=QUEUE, workflow_id=workflow_id, input=[i])

    try:
        await asyncio.gather(*(one(i, w) for i, w in enumerate(ids)))
    finally:
        for c in clients:
            await c.aclose()
    return started


def count_completed(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM runs WHERE status = 'completed'").fetchone()
        return int(row[0]) if row else 0


def history_problems(db_url: str) -> list[Any]:
    """Runs whose history is not exactly: gap-free sequences, one schedule, one completion."""
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT run_id, count(*), min(sequence), max(sequence),"
            " count(*) FILTER (WHERE event_type = 'ActivityScheduled'),"
            " count(*) FILTER (WHERE event_type = 'ActivityCompleted'),"
            " count(*) FILTER (WHERE event_type = 'WorkflowCompleted')"
            " FROM history_events GROUP BY run_id"
            " HAVING count(*) <> max(sequence) OR min(sequence) <> 1"
            " OR count(*) FILTER (WHERE event_type = 'ActivityScheduled') <> 1"
            " OR count(*) FILTER (WHERE event_type = 'ActivityCompleted') <> 1"
            " OR count(*) FILTER (WHERE event_type = 'WorkflowCompleted') <> 1"
        ).fetchall()


def stuck_report(db_url: str) -> dict[str, Any]:
    """What unfinished runs are waiting for (printed when a scale run misses its deadline)."""
    with psycopg.connect(db_url) as conn:
        return {
            "runs": conn.execute("SELECT status, count(*) FROM runs GROUP BY 1").fetchall(),
            "workflow_tasks": conn.execute(
                "SELECT status, count(*) FROM workflow_tasks GROUP BY 1").fetchall(),
            "activities": conn.execute(
                "SELECT status, count(*) FROM activity_tasks GROUP BY 1").fetchall(),
            "inbox": conn.execute("SELECT count(*) FROM run_inbox").fetchall(),
        }


def retried_attempts(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT coalesce(sum(attempt_number - 1), 0) FROM activity_tasks"
                           ).fetchone()
        return int(row[0]) if row else 0
