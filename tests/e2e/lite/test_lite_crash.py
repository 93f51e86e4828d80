"""Real processes and SIGKILL: completed steps never run again; one executor per run.

The races between processes run on a SQLite file and on a PostgreSQL database of their own."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.support.db import rows
from tests.support.processes import child_env

pytestmark = pytest.mark.e2e
APP = Path(__file__).with_name("lite_app.py")


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(APP), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=child_env(),
    )


def read_until(proc: subprocess.Popen[str], marker: str, timeout: float = 20) -> list[str]:
    """stdout lines up to and including ``marker``."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"exited early: {lines}, stderr: {proc.stderr.read() if proc.stderr else ''}")
        lines.append(line.strip())
        if line.strip() == marker:
            return lines
    raise TimeoutError(f"no {marker!r} within {timeout}s: {lines}")


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> object:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    (result,) = [line for line in out.splitlines() if line.startswith("result ")]
    return json.loads(result.removeprefix("result "))


def sigkill(proc: subprocess.Popen[str]) -> None:
    proc.kill()  # SIGKILL: no finally, no lease release, exactly like a crash
    proc.wait(10)


@pytest.fixture(params=BACKENDS)
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database several processes share: a SQLite file or a fresh PostgreSQL database."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_fresh_url"))
    return f"sqlite:///{tmp_path / 'shared.db'}"


def executions(effects: Path) -> Counter[str]:
    return Counter(line.split()[1] for line in effects.read_text().splitlines())


def test_sigkill_after_step_2_then_rerun_skips_completed_steps(tmp_path: Path) -> None:
    db, effects = str(tmp_path / "crash.db"), tmp_path / "effects.txt"
    first = start("pipeline", db, str(effects), "--pause-after", "2")
    assert read_until(first, "paused")[-3:] == ["done step-1", "done step-2", "paused"]
    sigkill(first)
    assert executions(effects) == Counter({"step-1": 1, "step-2": 1})

    started = time.monotonic()
    again = start("pipeline", db, str(effects))
    assert finish(again) == ["result-1", "result-2", "result-3", "result-4"]
    # The dead owner is detected at once: no 30 s lease to wait out.
    assert time.monotonic() - started < 15
    assert executions(effects) == Counter({f"step-{k}": 1 for k in range(1, 5)})

    # And once more: the completed run returns its stored result, executing nothing.
    assert finish(start("pipeline", db, str(effects))) == ["result-1", "result-2", "result-3", "result-4"]
    assert sum(executions(effects).values()) == 4


def test_loop_with_step_id_resumes_mid_loop(tmp_path: Path) -> None:
    db, effects = str(tmp_path / "loop.db"), tmp_path / "effects.txt"
    first = start("batch", db, str(effects), "--pause-after", "6")
    read_until(first, "paused")
    sigkill(first)
    assert sorted(executions(effects)) == [f"item{i}" for i in range(6)]
    assert finish(start("batch", db, str(effects))) == 10
    assert executions(effects) == Counter({f"item{i}": 1 for i in range(10)})


def test_two_processes_resume_one_crashed_run_at_once(tmp_path: Path, shared_db: str) -> None:
    db, effects = shared_db, tmp_path / "effects.txt"
    first = start("pipeline", db, str(effects), "--pause-after", "2")
    read_until(first, "paused")
    sigkill(first)

    at = str(time.time() + 1.5)  # both begin at the same instant, after their imports
    racers = [start("pipeline", db, str(effects), "--step-seconds", "0.3", "--start-at", at) for _ in range(2)]
    results = [finish(p) for p in racers]
    assert results == [["result-1", "result-2", "result-3", "result-4"]] * 2
    counts = executions(effects)
    assert counts == Counter({f"step-{k}": 1 for k in range(1, 5)}), counts
    # Steps 3 and 4 ran in one of the two racers, never both.
    pids = {line.split()[0] for line in effects.read_text().splitlines()[2:]}
    assert len(pids) == 1


def test_two_processes_500_workflows_each_on_one_database(shared_db: str) -> None:
    db = shared_db
    at = str(time.time() + 1.5)
    procs = [start("many", db, prefix, "500", "--start-at", at) for prefix in ("a", "b")]
    results = [finish(p, timeout=90) for p in procs]
    assert results == [{"ok": 500, "errors": [], "error_count": 0}] * 2
    assert rows(db, "SELECT status, count(*) FROM lite_runs GROUP BY status") == [("completed", 1000)]
    assert rows(db, "SELECT count(*) FROM lite_steps") == [(2000,)]
