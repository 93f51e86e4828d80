"""Worker-plane handlers: registration, workflow/activity/query task polls and reports."""

from __future__ import annotations

from typing import Any

from ..engine.control import control_plane
from .call import Call
from .validation import check_nested_payload_sizes

_REGISTRATION_FIELDS = (
    "worker_id",
    "task_queue",
    "runtime",
    "sdk_version",
    "build_id",
    "supported_workflow_types",
    "supported_activity_types",
    "workflow_command_contracts",
    "capabilities",
)


async def register(call: Call) -> tuple[int, Any]:
    r = call.reader()
    worker_id = r.string("worker_id", required=True)
    task_queue = r.string("task_queue", required=True)
    runtime = r.string("runtime")
    sdk_version = r.string("sdk_version")
    build_id = r.string("build_id")
    workflow_types = r.str_list("supported_workflow_types")
    activity_types = r.str_list("supported_activity_types")
    contracts = r.obj("workflow_command_contracts")
    capabilities = r.str_list("capabilities")
    r.finish()
    assert worker_id
    details = {k: v for k, v in r.body.items() if k not in _REGISTRATION_FIELDS}
    await call.engine.register_worker(
        call.namespace,
        worker_id,
        task_queue=task_queue,
        runtime=runtime,
        sdk_version=sdk_version,
        build_id=build_id,
        workflow_types=workflow_types if workflow_types is not None else [],
        activity_types=activity_types if activity_types is not None else [],
        contracts=contracts,
        capabilities=capabilities,
        details=details,
    )
    return 201, {"worker_id": worker_id, "namespace": call.namespace, "registered": True}


async def heartbeat(call: Call) -> tuple[int, Any]:
    r = call.reader()
    worker_id = r.string("worker_id", required=True)
    r.finish()
    assert worker_id
    details = {k: v for k, v in r.body.items() if k != "worker_id"}
    row = await call.engine.heartbeat_worker(call.namespace, worker_id, details)
    return 200, {"worker_id": worker_id, "acknowledged": True, "task_queue": row.task_queue}


async def deregister(call: Call) -> tuple[int, Any]:
    worker_id = call.params["worker_id"]
    recovered = await call.engine.deregister_worker(call.namespace, worker_id)
    return 200, {
        "worker_id": worker_id,
        "outcome": "deregistered",
        "recovered_workflow_task_count": recovered,
    }


def _poll_args(call: Call) -> tuple[str, str, str | None, float, int | None]:
    r = call.reader()
    worker_id = r.string("worker_id", required=True)
    task_queue = r.string("task_queue", required=True)
    poll_request_id = r.string("poll_request_id")
    timeout = r.integer("timeout_seconds", minimum=0)
    page = r.integer("history_page_size", minimum=1)
    r.finish()
    assert worker_id and task_queue
    wait = float(
        call.settings.max_poll_seconds
        if timeout is None
        else min(timeout, call.settings.max_poll_seconds)
    )
    return worker_id, task_queue, poll_request_id, wait, page


def _poll_answer(task: dict[str, Any] | None) -> tuple[int, Any]:
    return 200, {"task": task, "poll_status": "leased" if task is not None else "empty"}


async def poll_workflow_task(call: Call) -> tuple[int, Any]:
    worker_id, queue, poll_id, wait, page = _poll_args(call)
    if await control_plane(call.engine).hold_if_draining(call.namespace, worker_id, queue, wait):
        return _poll_answer(None)
    task = await call.engine.poll_workflow_task(
        call.namespace,
        worker_id,
        queue,
        poll_request_id=poll_id,
        timeout=wait,
        history_page_size=page,
    )
    return _poll_answer(task)


async def poll_activity_task(call: Call) -> tuple[int, Any]:
    worker_id, queue, poll_id, wait, _page = _poll_args(call)
    if await control_plane(call.engine).hold_if_draining(call.namespace, worker_id, queue, wait):
        return _poll_answer(None)
    task = await call.engine.poll_activity_task(
        call.namespace, worker_id, queue, poll_request_id=poll_id, timeout=wait
    )
    return _poll_answer(task)


def _lease(call: Call) -> tuple[Any, str, int]:
    r = call.reader()
    owner = r.string("lease_owner", required=True)
    attempt = r.integer("workflow_task_attempt", required=True, minimum=1)
    r.finish()
    assert owner is not None and attempt is not None
    return r, owner, attempt


async def workflow_task_history(call: Call) -> tuple[int, Any]:
    r = call.reader()
    owner = r.string("lease_owner", required=True)
    attempt = r.integer("workflow_task_attempt", required=True, minimum=1)
    token = r.string("next_history_page_token", max_length=64)
    page = r.integer("history_page_size", minimum=1)
    r.finish()
    return 200, await call.engine.workflow_task_history(
        call.namespace,
        call.params["task_id"],
        owner=owner,
        attempt=attempt,
        page_token=token,
        page_size=page,
    )


async def workflow_task_heartbeat(call: Call) -> tuple[int, Any]:
    _r, owner, attempt = _lease(call)
    return 200, await call.engine.heartbeat_workflow_task(
        call.namespace, call.params["task_id"], owner=owner, attempt=attempt
    )


async def complete_workflow_task(call: Call) -> tuple[int, Any]:
    r, owner, attempt = _lease(call)
    commands = r.body.get("commands")
    check_nested_payload_sizes(commands, "commands", call.settings.max_payload_bytes)
    outcome = await call.engine.complete_workflow_task(
        call.namespace, call.params["task_id"], owner=owner, attempt=attempt, commands=commands
    )
    return 200, outcome


async def fail_workflow_task(call: Call) -> tuple[int, Any]:
    r = call.reader()
    owner = r.string("lease_owner", required=True)
    attempt = r.integer("workflow_task_attempt", required=True, minimum=1)
    failure = r.obj("failure", required=True)
    r.finish()
    assert failure is not None
    return 200, await call.engine.fail_workflow_task(
        call.namespace, call.params["task_id"], owner=owner, attempt=attempt, failure=failure
    )


def _activity_fence(call: Call) -> tuple[Any, str, str]:
    r = call.reader()
    attempt_id = r.string("activity_attempt_id", required=True)
    owner = r.string("lease_owner", required=True)
    return r, attempt_id or "", owner or ""


async def complete_activity_task(call: Call) -> tuple[int, Any]:
    r, attempt_id, owner = _activity_fence(call)
    result = r.envelope("result")
    r.finish()
    return 200, await call.engine.complete_activity_task(
        call.namespace, call.params["task_id"], attempt_id=attempt_id, owner=owner, result=result
    )


async def fail_activity_task(call: Call) -> tuple[int, Any]:
    r, attempt_id, owner = _activity_fence(call)
    failure = r.obj("failure", required=True)
    if failure is not None:
        check_nested_payload_sizes(failure, "failure", call.settings.max_payload_bytes)
    r.finish()
    assert failure is not None
    return 200, await call.engine.fail_activity_task(
        call.namespace, call.params["task_id"], attempt_id=attempt_id, owner=owner, failure=failure
    )


async def heartbeat_activity_task(call: Call) -> tuple[int, Any]:
    r, attempt_id, owner = _activity_fence(call)
    details = r.obj("details")
    r.finish()
    return 200, await call.engine.heartbeat_activity_task(
        call.namespace, call.params["task_id"], attempt_id=attempt_id, owner=owner, details=details
    )
