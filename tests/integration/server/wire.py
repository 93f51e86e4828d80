"""Requests shaped exactly like the official 2.12.0 SDK's (headers, bodies), sent to ``Api.dispatch``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from durable_workflow.protocol import codec
from durable_workflow.server.api import Api, ApiRequest, ApiResponse

SDK_VERSION = "durable-workflow-python/2.12.0"


def sdk_headers(plane: str, token: str | None, namespace: str = "default") -> dict[str, str]:
    headers = {
        "content-type": "application/json",
        "accept": "application/json",
        "x-namespace": namespace,
    }
    if plane == "worker":
        headers["x-durable-workflow-protocol-version"] = "1.20"
    else:
        headers["x-durable-workflow-control-plane-version"] = "2"
    if token:
        headers["authorization"] = f"Bearer {token}"
    return headers


class Wire:
    """A tiny SDK stand-in: one method per route the Client/Worker call."""

    def __init__(self, api: Api, *, token: str | None = None, namespace: str = "default") -> None:
        self.api = api
        self.token = token
        self.namespace = namespace

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        plane: str = "control",
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        h = sdk_headers(plane, self.token, self.namespace) if headers is None else headers
        return await self.api.dispatch(ApiRequest(method, path, query or {}, h, body))

    async def ok(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        plane: str = "control",
        status: int = 200,
        query: dict[str, str] | None = None,
    ) -> Any:
        resp = await self.call(method, path, body, plane=plane, query=query)
        assert resp.status == status, (resp.status, resp.body)
        return resp.body

    # -- control plane ---------------------------------------------------------------------

    async def start(
        self,
        workflow_id: str,
        workflow_type: str = "greeter",
        task_queue: str = "q",
        args: list[Any] | None = None,
        **extra: Any,
    ) -> Any:
        body = {
            "workflow_id": workflow_id,
            "workflow_type": workflow_type,
            "task_queue": task_queue,
            "input": codec.envelope(args or []),
            "execution_timeout_seconds": 3600,
            "run_timeout_seconds": 600,
            **extra,
        }
        return await self.ok("POST", "/api/workflows", body, status=201)

    async def describe(self, workflow_id: str) -> Any:
        return await self.ok("GET", f"/api/workflows/{workflow_id}")

    async def history(self, workflow_id: str, run_id: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            q = {"page_size": "1000"}
            if token:
                q["next_page_token"] = token
            body = await self.ok(
                "GET", f"/api/workflows/{workflow_id}/runs/{run_id}/history", query=q
            )
            events.extend(body["events"])
            token = body["next_page_token"]
            if not token:
                return events

    async def signal(
        self,
        workflow_id: str,
        name: str,
        args: list[Any] | None = None,
        *,
        run_id: str | None = None,
        request_id: str | None = None,
    ) -> ApiResponse:
        body: dict[str, Any] = {"request_id": request_id or f"sdk-python-signal-{uuid.uuid4().hex}"}
        if args is not None:
            body["input"] = codec.envelope(args)
        path = (
            f"/api/workflows/{workflow_id}/runs/{run_id}/signal/{name}"
            if run_id
            else f"/api/workflows/{workflow_id}/signal/{name}"
        )
        return await self.call("POST", path, body)

    # -- worker plane ----------------------------------------------------------------------

    async def register(
        self,
        worker_id: str,
        task_queue: str = "q",
        workflows: list[str] | None = None,
        activities: list[str] | None = None,
    ) -> Any:
        body = {
            "worker_id": worker_id,
            "task_queue": task_queue,
            "runtime": "python",
            "sdk_version": SDK_VERSION,
            "supported_workflow_types": workflows if workflows is not None else ["greeter"],
            "supported_activity_types": activities if activities is not None else ["greet"],
            "workflow_definition_fingerprints": {},
            "workflow_command_contracts": {},
            "capabilities": ["memo_upserts", "query_tasks"],
            "capability_manifest": {},
            "max_concurrent_workflow_tasks": 10,
            "max_concurrent_activity_tasks": 10,
            "task_slots": {
                "workflow_available": 10,
                "activity_available": 10,
                "session_available": 10,
            },
            "process_metrics": {"process_id": 1},
        }
        return await self.ok("POST", "/api/worker/register", body, plane="worker", status=201)

    async def poll_wft(
        self,
        worker_id: str,
        task_queue: str = "q",
        timeout: int = 0,
        poll_request_id: str | None = None,
    ) -> Any:
        body = {
            "worker_id": worker_id,
            "task_queue": task_queue,
            "poll_request_id": poll_request_id or f"wf-poll-{uuid.uuid4().hex}",
            "timeout_seconds": timeout,
            "history_page_size": 500,
        }
        return (await self.ok("POST", "/api/worker/workflow-tasks/poll", body, plane="worker"))[
            "task"
        ]

    async def complete_wft(
        self, task: dict[str, Any], commands: list[dict[str, Any]]
    ) -> ApiResponse:
        body = {
            "lease_owner": task["lease_owner"],
            "workflow_task_attempt": task["workflow_task_attempt"],
            "commands": commands,
        }
        return await self.call(
            "POST", f"/api/worker/workflow-tasks/{task['task_id']}/complete", body, plane="worker"
        )

    async def fail_wft(self, task: dict[str, Any], failure: dict[str, Any]) -> ApiResponse:
        body = {
            "lease_owner": task["lease_owner"],
            "workflow_task_attempt": task["workflow_task_attempt"],
            "failure": failure,
        }
        return await self.call(
            "POST", f"/api/worker/workflow-tasks/{task['task_id']}/fail", body, plane="worker"
        )

    async def waiting_for_history(self, task: dict[str, Any]) -> ApiResponse:
        return await self.fail_wft(
            task,
            {
                "message": "Workflow task waiting for scheduled history.",
                "type": "WorkflowTaskWaitingForHistory",
            },
        )

    async def poll_act(self, worker_id: str, task_queue: str = "q", timeout: int = 0) -> Any:
        body = {
            "worker_id": worker_id,
            "task_queue": task_queue,
            "poll_request_id": f"activity-poll-{uuid.uuid4().hex}",
            "timeout_seconds": timeout,
        }
        return (await self.ok("POST", "/api/worker/activity-tasks/poll", body, plane="worker"))[
            "task"
        ]

    async def complete_act(self, task: dict[str, Any], value: Any) -> ApiResponse:
        body = {
            "activity_attempt_id": task["activity_attempt_id"],
            "lease_owner": task["lease_owner"],
            "result": codec.envelope(value),
        }
        return await self.call(
            "POST", f"/api/worker/activity-tasks/{task['task_id']}/complete", body, plane="worker"
        )

    async def fail_act(
        self, task: dict[str, Any], message: str = "boom", **failure: Any
    ) -> ApiResponse:
        body = {
            "activity_attempt_id": task["activity_attempt_id"],
            "lease_owner": task["lease_owner"],
            "failure": {
                "message": message,
                "type": "ValueError",
                "class": "builtins.ValueError",
                **failure,
            },
        }
        return await self.call(
            "POST", f"/api/worker/activity-tasks/{task['task_id']}/fail", body, plane="worker"
        )


def types_of(events: list[dict[str, Any]]) -> list[str]:
    return [e["event_type"] for e in events]


async def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll an async or sync predicate until truthy, with a deadline (no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.005)
