"""Queries and updates: control-plane routes (control-plane.md §1.8, §1.9) and the query-task
worker routes (worker-plane.md §6)."""

from __future__ import annotations

from typing import Any

from ..engine.updates import WAIT_STAGES
from .call import Call
from .validation import check_nested_payload_sizes

_NAME_HINT = "must be 1-256 characters without control characters"


def _check_name(r: Any, field: str, name: str) -> None:
    if not name or len(name) > 256 or any(ord(c) < 32 for c in name):
        r.errors.setdefault(field, []).append(_NAME_HINT)


async def query(call: Call) -> tuple[int, Any]:
    name = call.params["query_name"]
    r = call.reader()
    input_ = r.envelope("input", allow_list=True)
    timeout = r.integer("timeout_seconds", minimum=1, maximum=60)
    _check_name(r, "query_name", name)
    r.finish()
    return 200, await call.engine.query_workflow(
        call.namespace, call.params["workflow_id"], name, input=input_, timeout=timeout
    )


async def update(call: Call) -> tuple[int, Any]:
    name = call.params["update_name"]
    r = call.reader()
    input_ = r.envelope("input", allow_list=True)
    wait_for = r.one_of("wait_for", WAIT_STAGES, default="accepted")
    wait_timeout = r.integer("wait_timeout_seconds", minimum=1, maximum=3600)
    request_id = r.string("request_id", max_length=256)
    _check_name(r, "update_name", name)
    r.finish()
    assert wait_for is not None
    limit = float(call.settings.max_poll_seconds)
    return await call.engine.update_workflow(
        call.namespace,
        call.params["workflow_id"],
        name,
        input=input_,
        request_id=request_id,
        wait_for=wait_for,
        wait_timeout_seconds=min(float(wait_timeout), limit) if wait_timeout else min(30.0, limit),
    )


async def poll_query_task(call: Call) -> tuple[int, Any]:
    r = call.reader()
    worker_id = r.string("worker_id", required=True)
    task_queue = r.string("task_queue", required=True)
    r.string("poll_request_id")
    r.string("build_id")
    timeout = r.integer("timeout_seconds", minimum=0)
    r.finish()
    assert worker_id and task_queue
    limit = call.settings.max_poll_seconds
    wait = float(limit if timeout is None else min(timeout, limit))
    task = await call.engine.poll_query_task(call.namespace, worker_id, task_queue, timeout=wait)
    return 200, {"task": task, "poll_status": "leased" if task is not None else "empty"}


def _query_fence(call: Call) -> tuple[Any, str, int]:
    r = call.reader()
    owner = r.string("lease_owner", required=True)
    attempt = r.integer("query_task_attempt", required=True, minimum=1)
    return r, owner or "", attempt or 0


async def complete_query_task(call: Call) -> tuple[int, Any]:
    r, owner, attempt = _query_fence(call)
    result = r.any("result")
    envelope = r.envelope("result_envelope")
    check_nested_payload_sizes(result, "result", call.settings.max_payload_bytes)
    r.finish()
    return 200, await call.engine.complete_query_task(
        call.namespace,
        call.params["query_task_id"],
        owner=owner,
        attempt=attempt,
        result=result,
        result_envelope=envelope,
    )


async def fail_query_task(call: Call) -> tuple[int, Any]:
    r, owner, attempt = _query_fence(call)
    failure = r.obj("failure", required=True)
    r.finish()
    assert failure is not None
    return 200, await call.engine.fail_query_task(
        call.namespace, call.params["query_task_id"], owner=owner, attempt=attempt, failure=failure
    )
