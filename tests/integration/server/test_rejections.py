"""Bad input: the exact status and reason, and the database left untouched."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from durable_workflow.protocol import codec
from durable_workflow.server.api import ApiRequest
from durable_workflow.server.runtime import ServerConfig, ServerRuntime

from .wire import Wire, sdk_headers

TOKEN = "secret-token"


@pytest.fixture
async def secured(tmp_path: Path) -> AsyncIterator[tuple[ServerRuntime, Path]]:
    path = tmp_path / "secured.db"
    rt = await ServerRuntime.open(
        ServerConfig(
            db_url=f"sqlite:///{path}",
            token=TOKEN,
            worker_token="wtok",
            operator_token="otok",
            max_payload_bytes=1024,
        )
    )
    try:
        yield rt, path
    finally:
        await rt.close()


def dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


def start_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "workflow_id": "ok-1",
        "workflow_type": "greeter",
        "task_queue": "q",
        "input": codec.envelope(["x"]),
        "execution_timeout_seconds": 3600,
        "run_timeout_seconds": 600,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


CASES: list[tuple[str, dict[str, Any], int, str, str | None]] = [
    ("missing workflow_id", start_body(workflow_id=...), 422, "validation_failed", "workflow_id"),
    (
        "missing workflow_type",
        start_body(workflow_type=...),
        422,
        "validation_failed",
        "workflow_type",
    ),
    (
        "wrong type",
        start_body(run_timeout_seconds="600"),
        422,
        "validation_failed",
        "run_timeout_seconds",
    ),
    ("bad id charset", start_body(workflow_id="a b/c"), 422, "validation_failed", "workflow_id"),
    (
        "unknown field",
        start_body(retry_policy={"max_attempts": 2}),
        422,
        "validation_failed",
        "retry_policy",
    ),
    (
        "bad policy",
        start_body(duplicate_policy="terminate_existing"),
        422,
        "validation_failed",
        "duplicate_policy",
    ),
    (
        "bad codec",
        start_body(input={"codec": "json", "blob": "[]"}),
        422,
        "validation_failed",
        "input",
    ),
    (
        "undecodable blob",
        start_body(input={"codec": "avro", "blob": "not-base64!"}),
        422,
        "validation_failed",
        "input",
    ),
    (
        "json blob",
        start_body(input={"codec": "avro", "blob": '["x"]'}),
        422,
        "validation_failed",
        "input",
    ),
    (
        "oversized",
        start_body(input=codec.envelope(["x" * 2000])),
        422,
        "payload_too_large",
        "input",
    ),
    ("body not an object", ["nope"], 422, "validation_failed", "body"),  # type: ignore[list-item]
]


@pytest.mark.parametrize(
    ("name", "body", "status", "reason", "field"), CASES, ids=[c[0] for c in CASES]
)
async def test_bad_start_changes_nothing(
    secured: tuple[ServerRuntime, Path],
    name: str,
    body: Any,
    status: int,
    reason: str,
    field: str | None,
) -> None:
    rt, path = secured
    wire = Wire(rt.api, token=TOKEN)
    await wire.start("existing")
    before = dump(path)
    resp = await wire.call("POST", "/api/workflows", body)
    assert (resp.status, resp.body["reason"]) == (status, reason), resp.body
    assert isinstance(resp.body["message"], str) and resp.body["message"]
    if field is not None:
        assert field in resp.body["errors"], resp.body
    assert dump(path) == before


async def test_auth_version_namespace_and_routing(secured: tuple[ServerRuntime, Path]) -> None:
    rt, path = secured
    api = rt.api
    before = dump(path)

    async def send(
        method: str, p: str, headers: dict[str, str], body: Any = None
    ) -> tuple[int, Any]:
        resp = await api.dispatch(ApiRequest(method, p, {}, headers, body))
        return resp.status, resp.body

    control = sdk_headers("control", TOKEN)
    assert (await send("GET", "/api/workflows/x", sdk_headers("control", None)))[1][
        "reason"
    ] == "unauthorized"
    status, body = await send("GET", "/api/workflows/x", sdk_headers("control", "wrong"))
    assert (status, body["reason"]) == (401, "unauthorized")
    status, body = await send("GET", "/api/workflows/x", sdk_headers("control", "wtok"))
    assert (status, body["reason"]) == (403, "forbidden") and body["allowed_roles"] == [
        "admin",
        "operator",
    ]
    status, body = await send(
        "POST", "/api/worker/workflow-tasks/poll", sdk_headers("worker", "otok"), {}
    )
    assert (status, body["reason"]) == (403, "forbidden")
    status, body = await send("GET", "/api/workflows/x", sdk_headers("control", "otok"))
    assert (status, body["reason"]) == (404, "instance_not_found")
    no_version = {
        k: v for k, v in control.items() if k != "x-durable-workflow-control-plane-version"
    }
    status, body = await send("GET", "/api/workflows/x", no_version)
    assert (status, body["reason"]) == (400, "missing_control_plane_version")
    status, body = await send(
        "GET", "/api/workflows/x", {**control, "x-durable-workflow-control-plane-version": "1"}
    )
    assert (status, body["reason"]) == (400, "unsupported_control_plane_version")
    worker = sdk_headers("worker", TOKEN)
    status, body = await send(
        "POST",
        "/api/worker/heartbeat",
        {**worker, "x-durable-workflow-protocol-version": "1.2"},
        {},
    )
    assert (status, body["reason"]) == (400, "unsupported_protocol_version")
    status, body = await send("GET", "/api/workflows/x", {**control, "x-namespace": "Elsewhere"})
    assert (status, body["reason"]) == (404, "namespace_not_found")
    status, body = await send("GET", "/api/workflows/x", {**control, "x-namespace": "DEFAULT"})
    assert (status, body["reason"]) == (404, "instance_not_found")  # namespace is case-insensitive
    status, body = await send("GET", "/api/nothing/here", control)
    assert (status, body["reason"]) == (404, "route_not_found")
    status, body = await send("DELETE", "/api/workflows", control)
    assert (status, body["reason"]) == (405, "method_not_allowed")
    # Discovery: any plane header (or none), any namespace; health/ready need no token.
    for headers in (
        sdk_headers("worker", "wtok", "ghost"),
        sdk_headers("control", "otok"),
        {"authorization": f"Bearer {TOKEN}"},
    ):
        status, body = await send("GET", "/api/cluster/info", headers)
        assert status == 200 and body["worker_protocol"]["version"] == "1.20"
    assert (await send("GET", "/api/health", {}))[0] == 200
    assert (await send("GET", "/api/ready", {}))[1]["status"] == "ready"
    assert dump(path) == before


async def test_version_header_is_echoed(secured: tuple[ServerRuntime, Path]) -> None:
    rt, _ = secured
    resp = await rt.api.dispatch(
        ApiRequest("GET", "/api/workflows", {}, sdk_headers("control", TOKEN), None)
    )
    assert resp.headers["X-Durable-Workflow-Control-Plane-Version"] == "2"
    resp = await rt.api.dispatch(
        ApiRequest(
            "POST",
            "/api/worker/heartbeat",
            {},
            {**sdk_headers("worker", TOKEN), "x-durable-workflow-protocol-version": "1.19"},
            {"worker_id": "w"},
        )
    )
    assert resp.status == 200 and resp.headers["X-Durable-Workflow-Protocol-Version"] == "1.19"


async def test_bad_commands_are_rejected_whole(secured: tuple[ServerRuntime, Path]) -> None:
    rt, path = secured
    wire = Wire(rt.api, token=TOKEN)
    await wire.start("cmd-1")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    before = dump(path)
    cases = [
        ([{"type": "start_timer", "delay_seconds": 1}, {"type": "warp_drive"}], "commands.1.type"),
        ([{"type": "schedule_activity", "queue": "q"}], "commands.0.activity_type"),
        ([{"type": "start_timer", "delay_seconds": "soon"}], "commands.0.delay_seconds"),
        (
            [
                {
                    "type": "schedule_activity",
                    "activity_type": "a",
                    "arguments": {"codec": "avro", "blob": "%%"},
                }
            ],
            "commands.0.arguments",
        ),
        (
            [
                {"type": "complete_workflow", "result": None},
                {"type": "start_timer", "delay_seconds": 1},
            ],
            "commands.0.type",
        ),
        (
            [
                {
                    "type": "start_child_workflow",
                    "workflow_type": "c",
                    "queue": "q",
                    "parent_close_policy": "explode",
                }
            ],
            "commands.0.parent_close_policy",
        ),
        (
            [
                {
                    "type": "schedule_activity",
                    "activity_type": "a",
                    "queue": "q",
                    "retry_policy": {"max_attempts": 0},
                }
            ],
            "commands.0.retry_policy.max_attempts",
        ),
        (
            [
                {
                    "type": "schedule_activity",
                    "activity_type": "a",
                    "queue": "q",
                    "start_to_close_timeout": -5,
                }
            ],
            "commands.0.start_to_close_timeout",
        ),
        ([{"type": "complete_update", "update_id": "u1"}], "commands.0.type"),
        ([], "commands"),
        ("nope", "commands"),
    ]
    for commands, field in cases:
        resp = await wire.complete_wft(task, commands)  # type: ignore[arg-type]
        assert resp.status == 422 and resp.body["reason"] == "invalid_commands", resp.body
        assert field in resp.body["errors"], (field, resp.body)
    big = [{"type": "complete_workflow", "result": codec.envelope("x" * 4000)}]
    resp = await wire.complete_wft(task, big)
    assert (resp.status, resp.body["reason"]) == (422, "payload_too_large")
    resp = await wire.call(
        "POST",
        f"/api/worker/workflow-tasks/{task['task_id']}/complete",
        {"lease_owner": "w1", "commands": []},
        plane="worker",
    )
    assert resp.status == 422 and "workflow_task_attempt" in resp.body["errors"]
    assert dump(path) == before
