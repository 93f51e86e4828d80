"""Client over a scripted transport: headers, tokens, payloads, errors, retries, results."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sdk_fakes import FakeTransport, Sent

from durable_workflow import errors, serializer
from durable_workflow.client import Client, WorkflowHandle
from durable_workflow.retry_policy import TransportRetryPolicy
from durable_workflow.serializer import PayloadTooLarge

FAST = TransportRetryPolicy(initial_backoff_seconds=0.001, max_backoff_seconds=0.002)


def make(transport: FakeTransport, **kwargs: Any) -> Client:
    kwargs.setdefault("retry_policy", FAST)
    return Client("http://server:8080", transport=transport, **kwargs)


def started(sent: Sent) -> tuple[int, dict[str, Any]]:
    return 201, {
        "workflow_id": sent.body["workflow_id"],
        "workflow_type": sent.body["workflow_type"],
        "run_id": "r1",
    }


# ----------------------------------------------------------------- headers and tokens


async def test_control_plane_headers_exact() -> None:
    t = FakeTransport(
        {
            ("GET", "/api/workflows/wf-1"): {
                "workflow_id": "wf-1",
                "run_id": "r",
                "workflow_type": "t",
            }
        }
    )
    async with make(t, token="shared", namespace="orders") as client:
        await client.describe_workflow("wf-1")
    assert t.sent[0].headers == {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-Namespace": "orders",
        "X-Durable-Workflow-Control-Plane-Version": "2",
        "Authorization": "Bearer shared",
    }


async def test_worker_plane_headers_exact() -> None:
    t = FakeTransport({("POST", "/api/worker/activity-tasks/poll"): {"task": None}})
    async with make(t) as client:
        assert await client.poll_activity_task(worker_id="w", task_queue="q", timeout=2) is None
    sent = t.sent[0]
    assert sent.headers == {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-Namespace": "default",
        "X-Durable-Workflow-Protocol-Version": "1.20",
    }
    assert sent.body["timeout_seconds"] == 2 and sent.timeout == 7.0
    assert sent.body["poll_request_id"].startswith("activity-poll-")


@pytest.mark.parametrize(
    ("kwargs", "control", "worker", "discovery", "discovery_header"),
    [
        ({}, None, None, None, "X-Durable-Workflow-Control-Plane-Version"),
        ({"token": "s"}, "s", "s", "s", "X-Durable-Workflow-Control-Plane-Version"),
        (
            {"token": "s", "control_token": "c"},
            "c",
            "s",
            "c",
            "X-Durable-Workflow-Control-Plane-Version",
        ),
        ({"token": "s", "worker_token": "w"}, "s", "w", "w", "X-Durable-Workflow-Protocol-Version"),
        (
            {"control_token": "c", "worker_token": "w"},
            "c",
            "w",
            "w",
            "X-Durable-Workflow-Protocol-Version",
        ),
    ],
)
async def test_token_selection(
    kwargs: dict[str, str],
    control: str | None,
    worker: str | None,
    discovery: str | None,
    discovery_header: str,
) -> None:
    t = FakeTransport(
        {
            ("GET", "/api/health"): {"status": "serving"},
            ("POST", "/api/worker/heartbeat"): {},
            ("GET", "/api/cluster/info"): {"version": "x"},
        }
    )
    async with make(t, **kwargs) as client:
        await client.health()
        await client.heartbeat_worker(worker_id="w")
        await client.get_cluster_info()
        await client.get_cluster_info()  # cached
    auth = [s.headers.get("Authorization") for s in t.sent]
    assert auth == [f"Bearer {v}" if v else None for v in (control, worker, discovery)]
    info_headers = t.sent[2].headers
    assert discovery_header in info_headers
    assert ("X-Durable-Workflow-Control-Plane-Version" in info_headers) != (
        "X-Durable-Workflow-Protocol-Version" in info_headers
    )
    assert info_headers["X-Namespace"] == "default"


@pytest.mark.parametrize(
    "url",
    ["http://h/api", "http://h/api/", "http://h/x/api", "http://h/?a=1", "http://h/#f", "ftp://h"],
)
def test_bad_base_urls_rejected(url: str) -> None:
    with pytest.raises(ValueError):
        Client(url)


async def test_aclose_is_idempotent() -> None:
    t = FakeTransport()
    client = make(t)
    await client.aclose()
    await client.aclose()
    assert t.closed == 1


# ----------------------------------------------------------------- start_workflow


async def test_start_workflow_body_and_handle() -> None:
    t = FakeTransport({("POST", "/api/workflows"): started})
    async with make(t) as client:
        handle = await client.start_workflow(
            workflow_type="greeter", task_queue="q", workflow_id="g-1", input=["Ada"], memo={"m": 1}
        )
    assert (handle.workflow_id, handle.run_id, handle.workflow_type) == ("g-1", "r1", "greeter")
    body = t.sent[0].body
    assert body == {
        "workflow_id": "g-1",
        "workflow_type": "greeter",
        "task_queue": "q",
        "input": {"codec": "avro", "blob": "wwHioz3/VYAiNwwCCgZBZGEA"},
        "execution_timeout_seconds": 3600,
        "run_timeout_seconds": 600,
        "memo": {"m": 1},
    }


async def test_start_without_input_sends_empty_list() -> None:
    t = FakeTransport({("POST", "/api/workflows"): started})
    async with make(t) as client:
        await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="w")
    assert t.sent[0].body["input"] == {"codec": "avro", "blob": "wwHioz3/VYAiNwwA"}


@pytest.mark.parametrize(
    ("given", "wire"),
    [
        ("reject", "fail"),
        ("fail", "fail"),
        ("use-existing", "use-existing"),
        ("use_existing", "use-existing"),
        ("allow", "allow-duplicate"),
        ("terminate_existing", "terminate-existing"),
    ],
)
async def test_duplicate_policy_translation(given: str, wire: str) -> None:
    t = FakeTransport({("POST", "/api/workflows"): started})
    async with make(t) as client:
        await client.start_workflow(
            workflow_type="t", task_queue="q", workflow_id="w", duplicate_policy=given
        )
    assert t.sent[0].body["duplicate_policy"] == wire


async def test_unknown_duplicate_policy_sends_nothing() -> None:
    t = FakeTransport()
    async with make(t) as client:
        with pytest.raises(ValueError, match="duplicate_policy"):
            await client.start_workflow(
                workflow_type="t", task_queue="q", workflow_id="w", duplicate_policy="nope"
            )
    assert t.sent == []


@pytest.mark.parametrize(
    ("value", "exc", "text"),
    [
        ({1, 2}, ValueError, "set"),
        ({"k": object()}, ValueError, r"\$\[0\]\.k"),
        ({1: "a"}, ValueError, "string"),
        (float("nan"), ValueError, "non-finite"),
        (2**70, ValueError, "64 bits"),
    ],
)
async def test_unencodable_input_fails_before_any_request(
    value: Any, exc: type[Exception], text: str
) -> None:
    t = FakeTransport()
    async with make(t) as client:
        with pytest.raises(exc, match=text):
            await client.start_workflow(
                workflow_type="t", task_queue="q", workflow_id="w", input=[value]
            )
    assert t.sent == []


async def test_input_must_be_a_list() -> None:
    t = FakeTransport()
    async with make(t) as client:
        with pytest.raises(TypeError, match="list"):
            await client.start_workflow(
                workflow_type="t", task_queue="q", workflow_id="w", input="Ada"
            )  # type: ignore[arg-type]
    assert t.sent == []


async def test_payload_size_limit_and_warning(caplog: pytest.LogCaptureFixture) -> None:
    t = FakeTransport({("POST", "/api/workflows"): started})
    async with make(t, payload_size_limit_bytes=1000) as client:
        with pytest.raises(PayloadTooLarge, match="1000-byte limit"):
            await client.start_workflow(
                workflow_type="t", task_queue="q", workflow_id="w", input=["x" * 1000]
            )
        assert t.sent == []
        with caplog.at_level(logging.WARNING, logger="durable_workflow.serializer"):
            await client.start_workflow(
                workflow_type="t", task_queue="q", workflow_id="w", input=["x" * 600]
            )
        assert any("of the 1000-byte limit" in r.getMessage() for r in caplog.records)
    async with make(
        FakeTransport({("POST", "/api/workflows"): started}),
        payload_size_limit_bytes=1000,
        payload_size_warnings=False,
    ) as quiet:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="durable_workflow.serializer"):
            await quiet.start_workflow(
                workflow_type="t", task_queue="q", workflow_id="w", input=["x" * 600]
            )
        assert not caplog.records


# ----------------------------------------------------------------- error mapping


@pytest.mark.parametrize(
    ("status", "body", "exc"),
    [
        (
            404,
            {"reason": "instance_not_found", "message": "Workflow not found."},
            errors.WorkflowNotFound,
        ),
        (401, {"reason": "unauthorized", "message": "bad token"}, errors.Unauthorized),
        (422, {"message": "bad", "errors": {"workflow_id": ["bad"]}}, errors.InvalidArgument),
        (400, {"reason": "missing_control_plane_version"}, errors.ServerError),
        (404, {"reason": "namespace_not_found"}, errors.NamespaceNotFound),
    ],
)
async def test_errors_mapped(status: int, body: Any, exc: type[Exception]) -> None:
    t = FakeTransport({("GET", "/api/workflows/w-1"): (status, body)})
    async with make(t) as client:
        with pytest.raises(exc):
            await client.describe_workflow("w-1")


async def test_duplicate_start_raises_already_started() -> None:
    t = FakeTransport({("POST", "/api/workflows"): (409, {"reason": "instance_already_started"})})
    async with make(t) as client:
        with pytest.raises(errors.WorkflowAlreadyStarted):
            await client.start_workflow(workflow_type="t", task_queue="q", workflow_id="w")


async def test_signal_on_closed_run() -> None:
    t = FakeTransport(
        {
            ("POST", "/api/workflows/w/signal/go"): (
                409,
                {"reason": "run_not_active", "control_plane": {"operation": "signal"}},
            )
        }
    )
    async with make(t) as client:
        with pytest.raises(errors.SignalFailed):
            await client.signal_workflow("w", "go")


async def test_non_json_error_body_is_the_message() -> None:
    t = FakeTransport({("GET", "/api/workflows/w"): (502, "Bad Gateway from proxy")})
    async with make(t) as client:
        with pytest.raises(errors.ServerError, match="Bad Gateway from proxy"):
            await client.describe_workflow("w")


# ----------------------------------------------------------------- retries


async def test_5xx_and_connection_errors_are_retried() -> None:
    desc = {"workflow_id": "w", "run_id": "r", "workflow_type": "t"}
    t = FakeTransport({("GET", "/api/workflows/w"): [(503, {}), ConnectionError("reset"), desc]})
    async with make(t) as client:
        assert (await client.describe_workflow("w")).run_id == "r"
    assert len(t.sent) == 3


async def test_retries_give_up_after_three_attempts() -> None:
    t = FakeTransport({("GET", "/api/workflows/w"): [(500, {"message": "boom"})]})
    async with make(t) as client:
        with pytest.raises(errors.ServerError):
            await client.describe_workflow("w")
    assert len(t.sent) == 3


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"reason": "x"}),
        (404, {"reason": "instance_not_found"}),
        (504, {"reason": "query_worker_timeout"}),
        (429, {"reason": "long_poll_capacity_exhausted"}),
    ],
)
async def test_not_retried(status: int, body: dict[str, Any]) -> None:
    t = FakeTransport({("POST", "/api/workflows/w/query/q"): (status, body)})
    async with make(t) as client:
        with pytest.raises(errors.DurableWorkflowError):
            await client.query_workflow("w", "q")
    assert len(t.sent) == 1


async def test_429_is_retried() -> None:
    t = FakeTransport({("POST", "/api/worker/heartbeat"): [(429, {}), {"ok": True}]})
    async with make(t) as client:
        await client.heartbeat_worker(worker_id="w")
    assert len(t.sent) == 2


async def test_deregistration_is_sent_once_and_tolerates_worker_not_found() -> None:
    t = FakeTransport({("DELETE", "/api/worker/registrations/w-1"): (503, {})})
    async with make(t) as client:
        with pytest.raises(errors.ServerError):
            await client.deregister_worker_registration("w-1")
        assert len(t.sent) == 1
        t.on("DELETE", "/api/worker/registrations/w-1", (404, {"reason": "worker_not_found"}))
        assert await client.deregister_worker_registration("w-1") is None
        t.on(
            "DELETE",
            "/api/worker/registrations/w-1",
            {"worker_id": "w-1", "outcome": "deregistered", "recovered_workflow_task_count": 0},
        )
        assert (await client.deregister_worker_registration("w-1") or {})[
            "outcome"
        ] == "deregistered"
        t.on("DELETE", "/api/worker/registrations/w-1", {"ok": True})
        with pytest.raises(errors.ServerError, match="deregistration"):
            await client.deregister_worker_registration("w-1")


# ----------------------------------------------------------------- results


def env(value: Any) -> dict[str, str]:
    return serializer.envelope(value)


def history(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "events": [{"sequence": i + 1, **e} for i, e in enumerate(events)],
        "next_page_token": None,
    }


def described(status: str, **extra: Any) -> dict[str, Any]:
    return {"workflow_id": "w", "run_id": "r1", "workflow_type": "t", "status": status, **extra}


async def test_result_from_describe_output_envelope_needs_no_history() -> None:
    t = FakeTransport(
        {
            ("GET", "/api/workflows/w"): [
                described("running"),
                described("completed", output_envelope=env({"a": 1})),
            ]
        }
    )
    async with make(t) as client:
        assert await client.get_result(WorkflowHandle(client, "w", "r1")) == {"a": 1}
    assert t.paths() == ["GET /api/workflows/w", "GET /api/workflows/w"]


async def test_result_from_history() -> None:
    t = FakeTransport(
        {
            ("GET", "/api/workflows/w"): described("completed"),
            ("GET", "/api/workflows/w/runs/r1/history"): history(
                {"event_type": "WorkflowStarted", "payload": {}},
                {"event_type": "WorkflowCompleted", "payload": {"output": env("hello Ada")}},
            ),
        }
    )
    async with make(t) as client:
        assert await client.get_result(WorkflowHandle(client, "w")) == "hello Ada"


@pytest.mark.parametrize(
    ("status", "event", "exc", "text"),
    [
        (
            "failed",
            {
                "event_type": "WorkflowFailed",
                "payload": {"message": "boom", "exception_class": "builtins.ValueError"},
            },
            errors.WorkflowFailed,
            "boom",
        ),
        (
            "failed",
            {"event_type": "WorkflowTimedOut", "payload": {"message": "run timeout"}},
            errors.WorkflowTimedOut,
            "run timeout",
        ),
        (
            "cancelled",
            {"event_type": "WorkflowCancelled", "payload": {"reason": "user asked"}},
            errors.WorkflowCancelled,
            "user asked",
        ),
        (
            "terminated",
            {"event_type": "WorkflowTerminated", "payload": {"reason": "ops"}},
            errors.WorkflowTerminated,
            "ops",
        ),
    ],
)
async def test_result_raises_for_each_ending(
    status: str, event: dict[str, Any], exc: type[BaseException], text: str
) -> None:
    t = FakeTransport(
        {
            ("GET", "/api/workflows/w"): described(status),
            ("GET", "/api/workflows/w/runs/r1/history"): history(
                {"event_type": "WorkflowStarted", "payload": {}}, event
            ),
        }
    )
    async with make(t) as client:
        with pytest.raises(exc, match=text) as info:
            await client.get_result(WorkflowHandle(client, "w", "r1"))
    if isinstance(info.value, errors.WorkflowFailed):
        assert info.value.exception_class == "builtins.ValueError"


async def test_result_follows_continue_as_new() -> None:
    t = FakeTransport(
        {
            ("GET", "/api/workflows/w"): described("completed", run_id="r2"),
            ("GET", "/api/workflows/w/runs/r1/history"): history(
                {"event_type": "WorkflowContinuedAsNew", "payload": {}}
            ),
            ("GET", "/api/workflows/w/runs/r2/history"): history(
                {"event_type": "WorkflowCompleted", "payload": {"output": env(3)}}
            ),
        }
    )
    async with make(t) as client:
        assert await client.get_result(WorkflowHandle(client, "w", "r1")) == 3


async def test_history_pages_are_joined() -> None:
    pages = [
        {"events": [{"sequence": 1, "event_type": "WorkflowStarted"}], "next_page_token": "p2"},
        {
            "events": [
                {"sequence": 2, "event_type": "WorkflowCompleted", "payload": {"output": env(None)}}
            ],
            "next_page_token": None,
        },
    ]
    t = FakeTransport({("GET", "/api/workflows/w/runs/r/history"): pages})
    async with make(t) as client:
        data = await client.get_history("w", "r")
    assert [e["sequence"] for e in data["events"]] == [1, 2]
    assert t.sent[1].params == {"page_size": "1000", "next_page_token": "p2"}


async def test_result_times_out() -> None:
    t = FakeTransport({("GET", "/api/workflows/w"): described("running")})
    async with make(t) as client:
        with pytest.raises(TimeoutError):
            await client.get_result(WorkflowHandle(client, "w"), poll_interval=0.01, timeout=0.05)


async def test_describe_decodes_envelopes() -> None:
    t = FakeTransport(
        {
            ("GET", "/api/workflows/w"): described(
                "completed", input_envelope=env(["Ada"]), output_envelope=env("hi"), task_queue="q"
            )
        }
    )
    async with make(t) as client:
        execution = await client.describe_workflow("w")
    assert (execution.input, execution.output, execution.task_queue, execution.is_terminal) == (
        ["Ada"],
        "hi",
        "q",
        True,
    )


async def test_list_workflows_params_and_items() -> None:
    t = FakeTransport(
        {("GET", "/api/workflows"): {"workflows": [described("running")], "next_page_token": "n"}}
    )
    async with make(t) as client:
        page = await client.list_workflows(status="running", page_size=10)
    assert t.sent[0].params == {"status": "running", "page_size": "10"}
    assert [e.workflow_id for e in page.executions] == ["w"] and page.next_page_token == "n"


async def test_signal_routes_and_request_id() -> None:
    t = FakeTransport(
        {
            ("POST", "/api/workflows/w/signal/go"): (202, {"outcome": "signal_received"}),
            ("POST", "/api/workflows/w/runs/r1/signal/go"): (202, {}),
        }
    )
    async with make(t) as client:
        receipt = await client.signal_workflow("w", "go", args=[1])
        await WorkflowHandle(client, "w", "r1").signal("go")
    assert receipt["request_id"].startswith("sdk-python-signal-")
    assert t.sent[0].body == {"request_id": receipt["request_id"], "input": env([1])}
    assert "input" not in t.sent[1].body


async def test_ids_are_url_quoted() -> None:
    t = FakeTransport({("GET", "/api/workflows/a%2Fb"): described("running")})
    async with make(t) as client:
        await client.describe_workflow("a/b")
    assert t.sent[0].path == "/api/workflows/a%2Fb"


async def test_query_result_hydrated() -> None:
    t = FakeTransport(
        {
            ("POST", "/api/workflows/w/query/status"): {
                "result": None,
                "result_envelope": env({"ok": True}),
            }
        }
    )
    async with make(t) as client:
        answer = await client.query_workflow("w", "status")
    assert answer["result"] == {"ok": True}
    assert t.sent[0].body == {}
