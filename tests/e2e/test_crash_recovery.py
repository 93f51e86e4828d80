"""Crash tests with real processes and SIGKILL: nothing acknowledged is lost."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import ServerProcess, child_env, wait_until

pytestmark = pytest.mark.e2e
APP = Path(__file__).with_name("worker_app.py")
QUEUE = "e2e-crash"


class Worker:
    def __init__(self, server: ServerProcess, markers: Path, *, hang: bool = False) -> None:
        args = [sys.executable, str(APP), server.url, server.token or "", QUEUE, str(markers)]
        if hang:
            args.append("--hang")
        self.log = markers / f"worker-{uuid.uuid4().hex[:6]}.log"
        self.proc = subprocess.Popen(args, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, env=child_env())

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def markers(tmp_path: Path) -> Path:
    path = tmp_path / "markers"
    path.mkdir()
    return path


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def _post(server: ServerProcess, path: str, body: dict) -> dict:  # type: ignore[type-arg]
    import json
    import urllib.request

    request = urllib.request.Request(
        server.url + path, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json",
                 "X-Durable-Workflow-Control-Plane-Version": "2", "X-Namespace": "default"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def _start(server: ServerProcess, workflow_type: str, workflow_id: str, args: list) -> str:  # type: ignore[type-arg]
    from durable_workflow.protocol.codec import envelope

    body = {"workflow_id": workflow_id, "workflow_type": workflow_type, "task_queue": QUEUE,
            "input": envelope(args), "execution_timeout_seconds": 600, "run_timeout_seconds": 600}
    return str(_post(server, "/api/workflows", body)["run_id"])


def _history(server: ServerProcess, workflow_id: str, run_id: str) -> list[dict]:  # type: ignore[type-arg]
    return list(server.get(f"/api/workflows/{workflow_id}/runs/{run_id}/history?page_size=1000")["events"])


def _status(server: ServerProcess, workflow_id: str) -> str:
    try:
        return str(server.get(f"/api/workflows/{workflow_id}")["status"])
    except OSError:
        return "unreachable"


def _assert_gap_free(events: list[dict]) -> None:  # type: ignore[type-arg]
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))


def test_server_killed_between_activity_scheduled_and_completed(
    tmp_path: Path, markers: Path, workers: list[Worker]
) -> None:
    server = ServerProcess(db_url=f"sqlite:///{tmp_path / 'crash-a.db'}", log_path=tmp_path / "server.log").start()
    try:
        workers.append(Worker(server, markers))
        run_id = _start(server, "e2e-one-activity", "crash-a", ["a"])
        wait_until(lambda: (markers / "started-a-1").exists(), 30, "activity to start")
        scheduled = [e for e in _history(server, "crash-a", run_id) if e["event_type"] == "ActivityScheduled"]
        assert len(scheduled) == 1

        server.kill()
        server.start()  # same database file, same port
        (markers / "release").write_text("go")

        wait_until(lambda: _status(server, "crash-a") == "completed", 60, "workflow to complete after restart")
        events = _history(server, "crash-a", run_id)
        _assert_gap_free(events)
        types = [e["event_type"] for e in events]
        assert types.count("ActivityScheduled") == 1
        assert types.count("ActivityCompleted") == 1
        assert types[-1] == "WorkflowCompleted"
    finally:
        server.stop()


def test_worker_killed_mid_activity_another_worker_finishes_after_lease_expiry(
    tmp_path: Path, markers: Path, workers: list[Worker]
) -> None:
    server = ServerProcess(
        db_url=f"sqlite:///{tmp_path / 'crash-b.db'}", log_path=tmp_path / "server.log",
        extra_args=["--activity-lease-seconds", "2", "--workflow-task-lease-seconds", "5"],
    ).start()
    try:
        doomed = Worker(server, markers, hang=True)
        workers.append(doomed)
        run_id = _start(server, "e2e-one-activity", "crash-b", ["b"])
        wait_until(lambda: (markers / "started-b-1").exists(), 30, "first attempt to start")
        doomed.kill()

        (markers / "release").write_text("go")
        workers.append(Worker(server, markers))
        wait_until(lambda: _status(server, "crash-b") == "completed", 60, "second worker to finish")

        events = _history(server, "crash-b", run_id)
        _assert_gap_free(events)
        completions = [e for e in events if e["event_type"] == "ActivityCompleted"]
        assert len(completions) == 1
        assert (markers / "started-b-2").exists(), "the activity was redelivered as attempt 2"
        assert events[-1]["event_type"] == "WorkflowCompleted"
    finally:
        server.stop()


def test_timer_started_before_server_kill_fires_after_restart(
    tmp_path: Path, markers: Path, workers: list[Worker]
) -> None:
    server = ServerProcess(db_url=f"sqlite:///{tmp_path / 'crash-c.db'}", log_path=tmp_path / "server.log").start()
    try:
        workers.append(Worker(server, markers))
        run_id = _start(server, "e2e-timer", "crash-c", [3])
        wait_until(
            lambda: any(e["event_type"] == "TimerScheduled" for e in _history(server, "crash-c", run_id)),
            30, "timer to be scheduled",
        )
        server.kill()
        server.start()

        wait_until(lambda: _status(server, "crash-c") == "completed", 60, "timer workflow to complete")
        events = _history(server, "crash-c", run_id)
        _assert_gap_free(events)
        by_type = {e["event_type"]: e for e in events}
        assert "TimerFired" in by_type
        scheduled_at = dt.datetime.fromisoformat(by_type["TimerScheduled"]["recorded_at"].replace("Z", "+00:00"))
        fired_at = dt.datetime.fromisoformat(by_type["TimerFired"]["recorded_at"].replace("Z", "+00:00"))
        assert fired_at - scheduled_at >= dt.timedelta(seconds=3)
    finally:
        server.stop()
