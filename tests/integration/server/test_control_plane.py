"""Start policies, describe/list/runs/history, signals, cancel/terminate, run deadlines."""

from __future__ import annotations

from durable_workflow.protocol import codec
from durable_workflow.server.engine.clock import FakeClock

from .wire import Wire, types_of


async def test_started_event_and_describe_shape(wire: Wire) -> None:
    started = await wire.start("shape-1", args=["Ada"], memo={"m": 1}, search_attributes={"s": "x"})
    desc = await wire.describe("shape-1")
    for key in (
        "workflow_id",
        "run_id",
        "workflow_type",
        "status",
        "namespace",
        "task_queue",
        "payload_codec",
    ):
        assert key in desc
    assert (
        desc["status"] == "pending"
        and desc["status_bucket"] == "running"
        and desc["payload_codec"] == "avro"
    )
    assert (
        codec.decode_envelope(desc["input_envelope"]) == ["Ada"] and desc["output_envelope"] is None
    )
    assert desc["run_deadline_at"].endswith("Z") and desc["memo"] == {"m": 1}
    (event,) = await wire.history("shape-1", started["run_id"])
    assert event["sequence"] == 1 and event["event_type"] == "WorkflowStarted"
    payload = event["payload"]
    assert payload["workflow_type"] == "greeter" and payload["workflow_id"] == "shape-1"
    assert payload["workflow_run_id"] == started["run_id"] and codec.decode_envelope(
        payload["input"]
    ) == ["Ada"]
    assert payload["run_timeout_seconds"] == 600 and payload["execution_timeout_seconds"] == 3600
    ts = payload["timestamp"]
    assert ts.endswith("Z") and len(ts.split(".")[1]) == 7  # six fraction digits + Z


async def test_duplicate_policies(wire: Wire) -> None:
    first = await wire.start("dup-1")
    resp = await wire.call("POST", "/api/workflows", _body("dup-1"))
    assert resp.status == 409 and resp.body["reason"] == "instance_already_started"
    assert resp.body["outcome"] == "rejected_duplicate"
    same = await wire.ok("POST", "/api/workflows", _body("dup-1", duplicate_policy="use-existing"))
    assert same["outcome"] == "returned_existing_active" and same["run_id"] == first["run_id"]
    resp = await wire.call(
        "POST", "/api/workflows", _body("dup-1", duplicate_policy="allow-duplicate")
    )
    assert resp.status == 409 and resp.body["reason"] == "instance_already_started"
    fresh = await wire.ok(
        "POST", "/api/workflows", _body("dup-1", duplicate_policy="terminate-existing"), status=201
    )
    assert fresh["run_id"] != first["run_id"]
    old = await wire.ok("GET", f"/api/workflows/dup-1/runs/{first['run_id']}")
    assert old["status"] == "terminated"
    assert types_of(await wire.history("dup-1", first["run_id"]))[-2:] == [
        "TerminateRequested",
        "WorkflowTerminated",
    ]
    await wire.ok("POST", "/api/workflows/dup-1/cancel", {})
    again = await wire.ok(
        "POST", "/api/workflows", _body("dup-1", duplicate_policy="allow-duplicate"), status=201
    )
    runs = await wire.ok("GET", "/api/workflows/dup-1/runs")
    assert [r["run_number"] for r in runs["runs"]] == [1, 2, 3] and runs["runs"][-1][
        "run_id"
    ] == again["run_id"]
    resp = await wire.call("POST", "/api/workflows", _body("dup-1", duplicate_policy="reject"))
    assert resp.status == 422 and "duplicate_policy" in resp.body["errors"]
    assert "use-existing" in resp.body["errors"]["duplicate_policy"][0]


def _body(workflow_id: str, **extra: object) -> dict[str, object]:
    return {
        "workflow_id": workflow_id,
        "workflow_type": "greeter",
        "task_queue": "q",
        "input": codec.envelope([]),
        "execution_timeout_seconds": 3600,
        "run_timeout_seconds": 600,
        **extra,
    }


async def test_plain_json_array_input_becomes_an_avro_envelope(wire: Wire) -> None:
    await wire.ok("POST", "/api/workflows", {**_body("json-in"), "input": ["a", 1]}, status=201)
    desc = await wire.describe("json-in")
    assert codec.decode_envelope(desc["input_envelope"]) == ["a", 1]


async def test_list_filters_and_pages(wire: Wire) -> None:
    for i in range(5):
        await wire.start(f"list-{i}", workflow_type="a" if i % 2 else "b")
    await wire.ok("POST", "/api/workflows/list-0/terminate", {})
    page = await wire.ok("GET", "/api/workflows", query={"page_size": "2"})
    assert len(page["workflows"]) == 2 and page["next_page_token"]
    seen = [w["workflow_id"] for w in page["workflows"]]
    while page["next_page_token"]:
        page = await wire.ok(
            "GET",
            "/api/workflows",
            query={"page_size": "2", "next_page_token": page["next_page_token"]},
        )
        seen += [w["workflow_id"] for w in page["workflows"]]
    assert sorted(seen) == [f"list-{i}" for i in range(5)]
    failed = await wire.ok("GET", "/api/workflows", query={"status": "failed"})
    assert [w["workflow_id"] for w in failed["workflows"]] == ["list-0"]
    running = await wire.ok(
        "GET", "/api/workflows", query={"status": "running", "workflow_type": "a"}
    )
    assert sorted(w["workflow_id"] for w in running["workflows"]) == ["list-1", "list-3"]
    found = await wire.ok("GET", "/api/workflows", query={"query": "st-4"})
    assert [w["workflow_id"] for w in found["workflows"]] == ["list-4"]


async def test_history_pages(wire: Wire) -> None:
    started = await wire.start("hist-1")
    for i in range(7):
        await wire.signal("hist-1", "s", [i])
    path = f"/api/workflows/hist-1/runs/{started['run_id']}/history"
    page = await wire.ok("GET", path, query={"page_size": "3"})
    assert [e["sequence"] for e in page["events"]] == [1, 2, 3]
    tokens = {page["next_page_token"]}
    page = await wire.ok(
        "GET", path, query={"page_size": "3", "next_page_token": page["next_page_token"]}
    )
    assert [e["sequence"] for e in page["events"]] == [4, 5, 6]
    page = await wire.ok(
        "GET", path, query={"page_size": "3", "next_page_token": page["next_page_token"]}
    )
    assert [e["sequence"] for e in page["events"]] == [7, 8] and page["next_page_token"] is None
    assert None not in tokens
    bad = await wire.call("GET", path, query={"next_page_token": "%%%"})
    assert bad.status == 400 and bad.body["reason"] == "invalid_page_token"


async def test_worker_history_pages_and_mA_token(wire: Wire) -> None:
    await wire.start("whist-1")
    for i in range(4):
        await wire.signal("whist-1", "s", [i])
    await wire.register("w1")
    body = {
        "worker_id": "w1",
        "task_queue": "q",
        "poll_request_id": "wf-poll-1",
        "timeout_seconds": 0,
        "history_page_size": 2,
    }
    task = (await wire.ok("POST", "/api/worker/workflow-tasks/poll", body, plane="worker"))["task"]
    assert [e["sequence"] for e in task["history_events"]] == [1, 2] and task[
        "next_history_page_token"
    ]
    path = f"/api/worker/workflow-tasks/{task['task_id']}/history"
    fence = {"lease_owner": "w1", "workflow_task_attempt": 1}
    page = await wire.ok(
        "POST",
        path,
        {**fence, "next_history_page_token": task["next_history_page_token"]},
        plane="worker",
    )
    assert [e["sequence"] for e in page["history_events"]] == [3, 4, 5] and page[
        "next_history_page_token"
    ] is None
    full = await wire.ok("POST", path, {**fence, "next_history_page_token": "MA=="}, plane="worker")
    assert full["history_events"][0]["sequence"] == 1 and full["total_history_events"] == 5


async def test_signal_idempotency_and_errors(wire: Wire) -> None:
    await wire.start("sigs-1")
    first = await wire.signal("sigs-1", "go", [1], request_id="r-1")
    again = await wire.signal("sigs-1", "go", [1], request_id="r-1")
    assert (
        first.status == again.status == 202 and again.body["command_id"] == first.body["command_id"]
    )
    conflict = await wire.signal("sigs-1", "other", [1], request_id="r-1")
    assert conflict.status == 409 and conflict.body["reason"] == "request_id_conflict"
    assert conflict.body["retained_command_type"] == "signal"
    desc = await wire.describe("sigs-1")
    assert types_of(await wire.history("sigs-1", desc["run_id"])).count("SignalReceived") == 1
    missing = await wire.signal("nope", "go", [])
    assert missing.status == 404 and missing.body["reason"] == "instance_not_found"
    await wire.ok("POST", "/api/workflows/sigs-1/cancel", {"reason": "bye"})
    closed = await wire.signal("sigs-1", "go", [])
    assert closed.status == 409 and closed.body["reason"] == "run_not_active"
    assert closed.body["control_plane_operation"] == "signal" and closed.body["control_plane"] == {
        "operation": "signal"
    }


async def test_cancel_and_terminate_close_immediately(wire: Wire) -> None:
    started = await wire.start("cancel-1")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    body = await wire.ok("POST", "/api/workflows/cancel-1/cancel", {"reason": "user asked"})
    assert body["outcome"] == "cancelled"
    desc = await wire.describe("cancel-1")
    assert desc["status"] == "cancelled" and desc["is_terminal"] is True
    history = await wire.history("cancel-1", started["run_id"])
    assert types_of(history)[-2:] == ["CancelRequested", "WorkflowCancelled"]
    assert history[-1]["payload"]["reason"] == "user asked"
    late = await wire.complete_wft(task, [{"type": "start_timer", "delay_seconds": 1}])
    assert (
        late.status == 409
        and late.body["reason"] == "run_closed"
        and late.body["stop_reason"] == "run_cancelled"
    )
    again = await wire.call("POST", "/api/workflows/cancel-1/terminate", {})
    assert again.status == 409 and again.body["reason"] == "run_not_active"
    assert await wire.poll_wft("w1") is None


async def test_run_timeout_fails_the_run(wire: Wire, clock: FakeClock) -> None:
    started = await wire.start("to-1")
    clock.advance(600)
    await _wait_status(wire, "to-1", "failed")
    desc = await wire.describe("to-1")
    assert desc["closed_reason"] == "timed_out"
    last = (await wire.history("to-1", started["run_id"]))[-1]
    assert (
        last["event_type"] == "WorkflowTimedOut"
        and last["payload"]["timeout_kind"] == "run_timeout"
    )


async def _wait_status(wire: Wire, wid: str, status: str) -> None:
    from .wire import wait_for

    async def check() -> bool:
        return (await wire.describe(wid))["status"] == status

    await wait_for(check)
