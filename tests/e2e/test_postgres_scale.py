"""Three `dw server start` on one PostgreSQL database, workers (our SDK) on different servers,
2,000 one-activity workflows, one server SIGKILLed mid-run: every workflow completes with a
clean history.

Choice: each worker talks to one server. When its server dies, the SDK's poll loop backs off
and retries, and the test restarts the dead server on the same port (as a supervisor
would), so those workers reconnect by themselves. Work they held through the dead server
is leased again elsewhere when its 5 s lease expires (the activity has a retry policy: an
attempt whose result was lost with the server times out and runs again, and the history
still records exactly one completion).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.support.processes import wait_until

from .multi_server import (
    WorkerProcess,
    count_completed,
    history_problems,
    retried_attempts,
    start_servers,
    start_workflows,
    stuck_report,
)

# ~40 s alone on 2 cores; generous limit because the machine may be shared.
pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(300)]

TOTAL = 2000


def test_three_servers_2000_workflows_survive_a_server_sigkill(pg_fresh_url: str,
                                                               tmp_path: Path) -> None:
    t0 = time.monotonic()
    servers = start_servers(pg_fresh_url, 3, tmp_path)
    workers = [WorkerProcess(servers[i % 3], tmp_path) for i in range(3)]
    try:
        for w in workers:
            w.wait_ready()
        ids = [f"scale-{i}" for i in range(TOTAL)]
        asyncio.run(start_workflows(servers, ids))
        started = time.monotonic()
        wait_until(lambda: count_completed(pg_fresh_url) >= TOTAL // 4, 60, "a quarter done",
                   interval=0.05)
        servers[1].kill()  # SIGKILL mid-run: in-flight requests and leases through it are lost
        killed_at = count_completed(pg_fresh_url)
        wait_until(lambda: count_completed(pg_fresh_url) >= killed_at + TOTAL // 8, 60,
                   "progress without server 1", interval=0.05)
        servers[1].start()  # same port: its worker reconnects on its own
        try:
            wait_until(lambda: count_completed(pg_fresh_url) >= TOTAL, 100, "all workflows",
                       interval=0.1)
        except TimeoutError:
            print("\nstuck:", stuck_report(pg_fresh_url))
            raise
        finished = time.monotonic()
        print(f"\n{TOTAL} workflows on 3 servers (one SIGKILLed at {killed_at} done): "
              f"{finished - started:.1f} s after the starts, {TOTAL / (finished - started):.0f}/s; "
              f"whole test {finished - t0:.1f} s")
        assert history_problems(pg_fresh_url) == []
        print(f"activity attempts beyond the first: {retried_attempts(pg_fresh_url)}")
        assert count_completed(pg_fresh_url) == TOTAL
    finally:
        for w in workers:
            w.stop()
        for s in servers:
            s.stop()
