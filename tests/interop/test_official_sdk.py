"""The published durable-workflow 2.12.0 SDK (written by others) drives our server."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.processes import ServerProcess

pytestmark = pytest.mark.interop
APP = Path(__file__).with_name("official_app.py")


def _official_env() -> dict[str, str]:
    # No PYTHONPATH: the official venv must import its own durable_workflow, never ours.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_official_client_and_worker_run_the_workflow_model(
    official_python: Path, interop_server: ServerProcess
) -> None:
    suffix = uuid.uuid4().hex[:8]
    done = subprocess.run(
        [str(official_python), str(APP), interop_server.url, interop_server.token or "", suffix],
        capture_output=True, text=True, timeout=180, env=_official_env(),
    )
    assert done.returncode == 0, f"official SDK app failed:\n{done.stdout}\n{done.stderr}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["sdk_version"] == "2.12.0" and "/.interop-venv/" in result["sdk_path"]
    assert result["greeting"] == {"greeting": "Hello, world!", "length": 5}
    assert result["approval"] == {
        "order": "order-7",
        "approved_by": "ada",
        "satisfied": True,
        "receipt": {"greeting": "Hello, ada!", "length": 3},
    }
    assert result["status"] == "completed"
    assert result["model"] == {
        "retry": {"attempt": 3},
        "child": {"parent": 21, "child": {"kid": 42}},
        "chain": {"done": True},
        "chain_runs": 3,
        "update": 5,
        "rejected": "UpdateRejected",
        "query": 5,
        "counter": 5,
        "cancel": "WorkflowCancelled",
        "cancel_status": "cancelled",
        "terminate": "WorkflowTerminated",
        "terminate_status": "terminated",
    }

    # The history the official worker produced follows the protocol's sequence rules.
    history = interop_server.get(f"/api/workflows/interop-approval-{suffix}/runs/"
                                 + interop_server.get(f"/api/workflows/interop-approval-{suffix}")["run_id"]
                                 + "/history?page_size=1000")
    events = history["events"]
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    types = [e["event_type"] for e in events]
    assert types[0] == "WorkflowStarted"
    assert types[-1] == "WorkflowCompleted"
    assert types.count("ActivityCompleted") == 1
    assert "SignalReceived" in types and "ConditionWaitSatisfied" in types


CONTROL_APP = Path(__file__).with_name("official_control_app.py")


def test_official_client_drives_schedules_namespaces_and_search_attributes(
    official_python: Path, interop_server: ServerProcess
) -> None:
    suffix = uuid.uuid4().hex[:8]
    done = subprocess.run(
        [str(official_python), str(CONTROL_APP), interop_server.url, interop_server.token or "",
         suffix],
        capture_output=True, text=True, timeout=180, env=_official_env(),
    )
    assert done.returncode == 0, f"official SDK control app failed:\n{done.stdout}\n{done.stderr}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["sdk_version"] == "2.12.0" and "/.interop-venv/" in result["sdk_path"]
    assert result["namespace"] == {"name": f"interop-{suffix}", "retention_days": 3}
    assert result["namespace_described"] == f"interop-{suffix}"
    sched = result["schedule"]
    assert (sched["id"], sched["status"], sched["note"], sched["fires_count"]) == (
        f"sched-{suffix}", "active", "nightly", 0
    )
    assert sched["next_fire_at"].endswith("T03:00:00.000000Z")
    assert result["trigger"]["outcome"] == "triggered"
    assert result["trigger"]["workflow_id"].startswith(f"schedule:sched-{suffix}:")
    assert result["fires_after_trigger"] == 1
    assert result["listed"] == [f"sched-{suffix}"]
    assert result["after_delete"] == "ScheduleNotFound"
    assert result["history"] == ["ScheduleCreated", "ScheduleTriggered", "ScheduleDeleted"]
    assert result["custom_attributes"] == {"Region": "keyword"}
    assert result["filtered"] == [f"eu-1-{suffix}"]
