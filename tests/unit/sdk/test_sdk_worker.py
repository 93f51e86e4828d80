"""Worker over a scripted transport: compatibility, registration, task dispatch, shutdown."""

from __future__ import annotations

import asyncio
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import pytest
from sdk_fakes import FakeTransport, Sent, cluster_info

from durable_workflow import (
    ActivityInterceptorContext,
    InMemoryMetrics,
    PassthroughWorkerInterceptor,
    activity,
    errors,
    serializer,
)
from durable_workflow.client import Client
from durable_workflow.retry_policy import TransportRetryPolicy
from durable_workflow.worker import Worker, validate_server_compatibility

FAST = TransportRetryPolicy(initial_backoff_seconds=0.001, max_backoff_seconds=0.002)


# ----------------------------------------------------------------- compatibility


def test_good_cluster_info_passes() -> None:
    validate_server_compatibility(cluster_info())


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    keys = path.split(".")
    target = doc
    for key in keys[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("control_plane", _DELETE),
        ("control_plane.version", "1"),
        ("control_plane.request_contract.schema", "other"),
        ("control_plane.request_contract.version", 2),
        ("worker_protocol.version", "1.19"),
        ("worker_protocol.version", "1.2"),
        ("worker_protocol.version", "2.0"),
        ("worker_protocol.version", "x"),
        ("auth_composition_contract", _DELETE),
        ("auth_composition_contract.version", 2),
        ("auth_composition_contract.canonical_environment.profile", "PROFILE"),
        ("auth_composition_contract.auth_material.token.effective_config_value", "plain"),
        ("auth_composition_contract.auth_material.mtls.status", "supported"),
        ("auth_composition_contract.effective_config.required_fields", ["server_url"]),
        ("auth_composition_contract.redaction.never_echo", []),
        ("auth_composition_contract.precedence", {"connection_values": []}),
    ],
)
def test_bad_cluster_info_rejected(path: str, value: Any) -> None:
    with pytest.raises(RuntimeError, match=r"^Server compatibility error: "):
        validate_server_compatibility(_set(cluster_info(), path, value))


@pytest.mark.parametrize(("version", "ok"), [(2, True), ("1.21", True), ("1.20", True)])
def test_version_forms(version: Any, ok: bool) -> None:
    doc = cluster_info()
    if isinstance(version, int):
        doc["control_plane"]["version"] = version
    else:
        doc["worker_protocol"]["version"] = version
    validate_server_compatibility(doc)


# ----------------------------------------------------------------- a scripted server


@dataclass
class Scripted:
    """Answers the worker plane from queues of tasks and records what the worker reported."""

    workflow_tasks: list[dict[str, Any]] = field(default_factory=list)
    activity_tasks: list[dict[str, Any]] = field(default_factory=list)
    reports: list[tuple[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=cluster_info)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    expected_reports: int = 1

    def transport(self) -> FakeTransport:
        t = FakeTransport(
            {
                ("GET", "/api/cluster/info"): lambda s: self.info,
                ("POST", "/api/worker/register"): (201, {"worker_id": "w", "registered": True}),
                ("POST", "/api/worker/workflow-tasks/poll"): lambda s: self._poll(
                    self.workflow_tasks
                ),
                ("POST", "/api/worker/activity-tasks/poll"): lambda s: self._poll(
                    self.activity_tasks
                ),
                ("POST", "/api/worker/query-tasks/poll"): lambda s: self._poll([]),
                ("DELETE", "/api/worker/registrations/w"): {
                    "worker_id": "w",
                    "outcome": "deregistered",
                    "recovered_workflow_task_count": 0,
                },
            }
        )
        for kind in ("workflow", "activity"):
            for action in ("complete", "fail", "heartbeat"):
                for task_id in ("t1", "t2", "t3"):
                    t.on(
                        "POST",
                        f"/api/worker/{kind}-tasks/{task_id}/{action}",
                        self._reporter(f"{kind}.{action}"),
                    )
        return t

    async def _poll(self, queue: list[dict[str, Any]]) -> dict[str, Any]:
        if queue:
            return {"task": queue.pop(0), "poll_status": "leased"}
        await asyncio.sleep(0.01)
        return {"task": None, "poll_status": "empty"}

    def _reporter(self, name: str) -> Any:
        def report(sent: Sent) -> dict[str, Any]:
            self.reports.append((name, sent.body))
            if name.endswith("heartbeat"):
                return self.heartbeat_answer
            if (
                sum(1 for n, _ in self.reports if not n.endswith("heartbeat"))
                >= self.expected_reports
            ):
                self.done.set()
            return {"recorded": True}

        return report

    heartbeat_answer: dict[str, Any] = field(
        default_factory=lambda: {"cancel_requested": False, "can_continue": True}
    )


async def drive(script: Scripted, worker_kwargs: dict[str, Any], timeout: float = 5.0) -> Worker:
    t = script.transport()
    client = Client("http://fake:1", transport=t, retry_policy=FAST)
    worker = Worker(client, task_queue="q", worker_id="w", poll_timeout=1, **worker_kwargs)
    runner = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(script.done.wait(), timeout)
    finally:
        await worker.stop()
        await runner
    worker.sent = t.sent  # type: ignore[attr-defined]
    return worker


def activity_task(
    activity_type: str, args: list[Any], task_id: str = "t1", **extra: Any
) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "activity_attempt_id": f"att-{task_id}",
        "activity_type": activity_type,
        "payload_codec": "avro",
        "arguments": serializer.envelope(args),
        "attempt_number": 2,
        "workflow_id": "wf",
        "run_id": "run",
        "retry_policy": {"max_attempts": 3},
        **extra,
    }


@activity.defn(name="greet")
async def greet(name: str) -> dict[str, Any]:
    info = activity.context().info
    return {
        "greeting": f"Hello, {name}!",
        "attempt": info.attempt_number,
        "last": info.retry_info.is_last_configured_attempt,
    }


@activity.defn(name="sync-add")
def sync_add(a: int, b: int) -> int:
    assert activity.context().info.activity_type == "sync-add"
    return a + b


@activity.defn(name="explode")
def explode() -> None:
    raise errors.NonRetryableError("bad input")


@activity.defn(name="beat")
async def beat() -> str:
    await activity.context().heartbeat({"progress": 1})
    return "not reached"


@activity.defn(name="sync-beat")
def sync_beat() -> str:
    activity.context().heartbeat_sync({"progress": 1})
    return "not reached"


async def test_worker_lifecycle_and_activities() -> None:
    script = Scripted(
        activity_tasks=[
            activity_task("greet", ["Ada"]),
            activity_task("sync-add", [2, 3], "t2"),
            activity_task("nope", [], "t3"),
        ],
        expected_reports=3,
    )
    metrics = InMemoryMetrics()
    worker = await drive(script, {"activities": [greet, sync_add], "metrics": metrics})
    paths = [p.split(" ", 1)[1] for p in (f"{s.method} {s.path}" for s in worker.sent)]  # type: ignore[attr-defined]
    assert paths[:2] == ["/api/cluster/info", "/api/worker/register"]
    assert paths[-1] == "/api/worker/registrations/w"
    assert "/api/worker/workflow-tasks/poll" not in paths  # no workflows registered
    register = worker.sent[1].body  # type: ignore[attr-defined]
    assert register["supported_activity_types"] == ["greet", "sync-add"]
    assert register["runtime"] == "python" and register["max_concurrent_activity_tasks"] == 10
    reports = dict((body.get("activity_attempt_id"), (name, body)) for name, body in script.reports)
    name, body = reports["att-t1"]
    assert name == "activity.complete"
    assert serializer.decode_envelope(body["result"]) == {
        "greeting": "Hello, Ada!",
        "attempt": 2,
        "last": False,
    }
    name, body = reports["att-t2"]
    assert name == "activity.complete" and serializer.decode_envelope(body["result"]) == 5
    name, body = reports["att-t3"]
    assert name == "activity.fail"
    assert body["failure"]["message"] == "no activity registered for 'nope'"
    assert body["failure"]["non_retryable"] is True
    assert (
        metrics.counter(
            "durable_workflow_worker_tasks", {"task_kind": "activity", "outcome": "completed"}
        )
        == 2
    )
    assert (
        metrics.counter(
            "durable_workflow_worker_polls", {"task_kind": "activity", "outcome": "task"}
        )
        == 3
    )


async def test_activity_failures_reported() -> None:
    script = Scripted(activity_tasks=[activity_task("explode", [])])
    await drive(script, {"activities": [explode]})
    ((name, body),) = script.reports
    failure = body["failure"]
    assert name == "activity.fail"
    assert (
        failure["type"] == "NonRetryableError"
        and failure["class"] == "durable_workflow.errors.NonRetryableError"
    )
    assert (
        failure["non_retryable"] is True
        and "bad input" in failure["message"]
        and "Traceback" in failure["stack_trace"]
    )


@pytest.mark.parametrize("fn", [beat, sync_beat])
async def test_heartbeat_cancellation(fn: Any) -> None:
    script = Scripted(
        activity_tasks=[activity_task(activity.get_definition(fn).name, [])],
        heartbeat_answer={
            "cancel_requested": True,
            "can_continue": False,
            "reason": "run_cancelled",
        },
    )
    await drive(script, {"activities": [fn]})
    heartbeat, (name, body) = script.reports
    assert heartbeat[0] == "activity.heartbeat" and heartbeat[1]["details"] == {"progress": 1}
    assert name == "activity.fail"
    assert body["failure"] == {
        "message": "activity cancelled",
        "type": "ActivityCancelled",
        "class": "durable_workflow.errors.ActivityCancelled",
        "non_retryable": True,
    }


async def test_heartbeat_lease_lost_is_not_reported() -> None:
    script = Scripted(
        activity_tasks=[activity_task("beat", []), activity_task("greet", ["x"], "t2")],
        heartbeat_answer={
            "cancel_requested": False,
            "can_continue": False,
            "reason": "lease_expired",
        },
    )
    await drive(script, {"activities": [beat, greet]})
    assert [name for name, _ in script.reports] == ["activity.heartbeat", "activity.complete"]


async def test_interceptor_wraps_activity() -> None:
    seen: list[str] = []

    class Audit(PassthroughWorkerInterceptor):
        async def execute_activity(self, context: ActivityInterceptorContext, next: Any) -> Any:
            seen.append(f"before {context.activity_type} {context.args}")
            result = await next(context)
            seen.append("after")
            return {"wrapped": result}

    script = Scripted(activity_tasks=[activity_task("sync-add", [1, 1])])
    await drive(script, {"activities": [sync_add], "interceptors": [Audit()]})
    assert seen == ["before sync-add [1, 1]", "after"]
    assert serializer.decode_envelope(script.reports[0][1]["result"]) == {"wrapped": 2}


async def test_incompatible_server_refuses_to_register() -> None:
    script = Scripted()
    script.info["worker_protocol"]["version"] = "1.13"
    t = script.transport()
    client = Client("http://fake:1", transport=t, retry_policy=FAST)
    worker = Worker(client, task_queue="q", worker_id="w", activities=[greet])
    with pytest.raises(RuntimeError, match="Server compatibility error"):
        await worker.run()
    assert [s.path for s in t.sent] == ["/api/cluster/info"]


# ----------------------------------------------------------------- workflow tasks (stub replayer)


class _Greeter:
    pass


@pytest.fixture
def stub_workflow_modules(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    pkg = types.ModuleType("durable_workflow.workflow")
    pkg.get_definition = lambda cls: types.SimpleNamespace(  # type: ignore[attr-defined]
        name="greeter",
        cls=cls,
        signals={"approve": "approve"},
        queries={},
        updates={},
        update_validators={},
    )
    replay = types.ModuleType("durable_workflow.workflow.replay")

    def run_workflow_task(workflow_cls: type, **kwargs: Any) -> list[dict[str, Any]]:
        calls.append(kwargs)
        if kwargs["start_input"] == ["blocked"]:
            return []
        if kwargs["start_input"] == ["nondet"]:
            raise errors.NonDeterministicReplayError(3, "start_timer", ["ActivityScheduled"])
        return [
            {
                "type": "complete_workflow",
                "result": serializer.envelope(len(kwargs["history_events"])),
            }
        ]

    replay.run_workflow_task = run_workflow_task  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "durable_workflow.workflow", pkg)
    monkeypatch.setitem(sys.modules, "durable_workflow.workflow.replay", replay)
    return calls


def workflow_task(
    task_id: str, start: list[Any], workflow_type: str = "greeter", **extra: Any
) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "workflow_task_attempt": 1,
        "workflow_id": f"wf-{task_id}",
        "run_id": f"run-{task_id}",
        "workflow_type": workflow_type,
        "payload_codec": "avro",
        "arguments": serializer.envelope(start),
        "history_events": [{"sequence": 1, "event_type": "WorkflowStarted", "payload": {}}],
        **extra,
    }


async def test_workflow_tasks(stub_workflow_modules: list[dict[str, Any]]) -> None:
    script = Scripted(
        workflow_tasks=[
            workflow_task("t1", ["Ada"], next_history_page_token="p2"),
            workflow_task("t2", ["blocked"]),
            workflow_task("t3", ["x"], workflow_type="missing"),
        ],
        expected_reports=3,
    )
    t_pages = {
        "history_events": [{"sequence": 2, "event_type": "TimerFired"}],
        "next_history_page_token": None,
    }
    transport = script.transport()
    transport.on("POST", "/api/worker/workflow-tasks/t1/history", t_pages)
    client = Client("http://fake:1", transport=transport, retry_policy=FAST)
    worker = Worker(client, task_queue="q", worker_id="w", workflows=[_Greeter], poll_timeout=1)
    runner = asyncio.create_task(worker.run())
    await asyncio.wait_for(script.done.wait(), 5)
    await worker.stop()
    await runner

    register = next(s for s in transport.sent if s.path == "/api/worker/register").body
    assert register["supported_workflow_types"] == ["greeter"]
    assert register["workflow_command_contracts"]["greeter"]["signals"] == ["approve"]
    assert "query_tasks" in register["capabilities"]
    reports = {
        body.get("commands", [{}])[0].get("type")
        if name.endswith("complete")
        else body["failure"]["message"]: body
        for name, body in script.reports
    }
    assert (
        serializer.decode_envelope(reports["complete_workflow"]["commands"][0]["result"]) == 2
    )  # both pages
    assert (
        reports["Workflow task waiting for scheduled history."]["failure"]["type"]
        == "WorkflowTaskWaitingForHistory"
    )
    assert "no workflow registered for type 'missing'" in reports
    first = next(c for c in stub_workflow_modules if c["workflow_id"] == "wf-t1")
    assert (
        first["start_input"] == ["Ada"]
        and first["run_id"] == "run-t1"
        and first["task_queue"] == "q"
    )


async def test_nondeterminism_fails_the_task(stub_workflow_modules: list[dict[str, Any]]) -> None:
    script = Scripted(workflow_tasks=[workflow_task("t1", ["nondet"])])
    await drive(script, {"workflows": [_Greeter]})
    ((name, body),) = script.reports
    assert name == "workflow.fail"
    assert body["failure"]["type"] == "NonDeterministicReplayError"
    assert (
        "non-deterministic replay" in body["failure"]["message"] and body["failure"]["stack_trace"]
    )
    assert body["lease_owner"] == "w" and body["workflow_task_attempt"] == 1


async def test_run_until_returns_terminal_execution(
    stub_workflow_modules: list[dict[str, Any]],
) -> None:
    script = Scripted(workflow_tasks=[workflow_task("t1", ["Ada"])])
    transport = script.transport()
    statuses = ["running", "running", "completed"]
    transport.on(
        "GET",
        "/api/workflows/wf-t1",
        lambda s: {
            "workflow_id": "wf-t1",
            "run_id": "run-t1",
            "workflow_type": "greeter",
            "status": statuses.pop(0) if len(statuses) > 1 else statuses[0],
        },
    )
    client = Client("http://fake:1", transport=transport, retry_policy=FAST)
    worker = Worker(client, task_queue="q", worker_id="w", workflows=[_Greeter], poll_timeout=1)
    execution = await worker.run_until(workflow_id="wf-t1", timeout=5)
    assert execution.status == "completed"
    assert transport.sent[-1].method == "DELETE"


async def test_run_until_times_out(stub_workflow_modules: list[dict[str, Any]]) -> None:
    script = Scripted()
    transport = script.transport()
    transport.on(
        "GET",
        "/api/workflows/wf",
        {"workflow_id": "wf", "run_id": "r", "workflow_type": "greeter", "status": "waiting"},
    )
    client = Client("http://fake:1", transport=transport, retry_policy=FAST)
    worker = Worker(client, task_queue="q", worker_id="w", workflows=[_Greeter], poll_timeout=1)
    with pytest.raises(TimeoutError):
        await worker.run_until(workflow_id="wf", timeout=0.2, poll_interval=0.05)
    assert transport.sent[-1].method == "DELETE"
