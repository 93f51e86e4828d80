"""Control-plane handlers: workflows (start, describe, list, runs, history, signal, cancel, terminate)."""

from __future__ import annotations

import uuid
from typing import Any

from ..engine.errors import InvalidArgument
from ..engine.paging import decode_token, encode_token, event_dict
from ..engine.service import DUPLICATE_POLICIES
from ..store.rows import RunFilter
from .call import Call
from .search import visibility_filter
from .validation import ID_PATTERN
from .views import STATUS_BUCKETS, run_view

_ID_HINT = "letters, digits and . _ : -"

START_FIELDS = frozenset(
    {
        "workflow_id",
        "workflow_type",
        "task_queue",
        "input",
        "execution_timeout_seconds",
        "run_timeout_seconds",
        "duplicate_policy",
        "memo",
        "search_attributes",
        "priority",
        "fairness_key",
        "fairness_weight",
        "build_id",
        "compatibility",
        "observability_context",
        "business_key",
    }
)
_ALL_STATUSES = ("pending", "running", "waiting", "completed", "failed", "cancelled", "terminated")


async def start_workflow(call: Call) -> tuple[int, Any]:
    r = call.reader(START_FIELDS)
    workflow_id = r.string("workflow_id", required=True, pattern=ID_PATTERN, pattern_hint=_ID_HINT)
    workflow_type = r.string("workflow_type", required=True)
    task_queue = r.string("task_queue", required=True)
    input_ = r.envelope("input", allow_list=True)
    exec_timeout = r.integer("execution_timeout_seconds", minimum=1)
    run_timeout = r.integer("run_timeout_seconds", minimum=1)
    policy = r.one_of("duplicate_policy", DUPLICATE_POLICIES, default="fail")
    memo = r.obj("memo")
    search_attributes = r.obj("search_attributes")
    priority = r.integer("priority", minimum=0, maximum=9)
    r.string("fairness_key")
    r.integer("fairness_weight", minimum=1, maximum=1000)
    build_id = r.string("build_id") or r.string("compatibility")
    business_key = r.string("business_key")
    r.obj("observability_context")
    r.finish()
    assert workflow_id and workflow_type and task_queue and policy
    result = await call.engine.start_workflow(
        call.namespace,
        workflow_id=workflow_id,
        workflow_type=workflow_type,
        task_queue=task_queue,
        input=input_,
        duplicate_policy=policy,
        execution_timeout_seconds=exec_timeout,
        run_timeout_seconds=run_timeout,
        memo=memo,
        search_attributes=search_attributes,
        business_key=business_key,
        build_id=build_id,
        priority=priority,
    )
    run = result.run
    body = {
        "workflow_id": run.workflow_id,
        "run_id": run.run_id,
        "workflow_type": run.workflow_type,
        "namespace": run.namespace,
        "task_queue": run.task_queue,
        "status": run.status,
        "business_key": run.business_key,
        "payload_codec": "avro",
        "outcome": result.outcome,
    }
    return (201 if result.outcome == "started_new" else 200), body


async def describe_workflow(call: Call) -> tuple[int, Any]:
    wf, run = await call.engine.describe_workflow(call.namespace, call.params["workflow_id"])
    return 200, run_view(run, wf)


def _page_size(call: Call, default: int, maximum: int) -> int:
    raw = call.query("page_size")
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidArgument(
            "page_size must be a positive integer",
            {"page_size": [f"must be an integer between 1 and {maximum}"]},
        )
    return min(int(raw), maximum)


async def list_workflows(call: Call) -> tuple[int, Any]:
    limit = _page_size(call, 50, 200)
    offset = decode_token(call.query("next_page_token"))
    status = call.query("status")
    statuses: tuple[str, ...] | None = None
    if status is not None:
        if status in STATUS_BUCKETS:
            statuses = STATUS_BUCKETS[status]
        elif status in _ALL_STATUSES:
            statuses = (status,)
        else:
            allowed = sorted({*STATUS_BUCKETS, *_ALL_STATUSES})
            raise InvalidArgument(
                f"status must be one of {', '.join(allowed)}",
                {"status": [f"must be one of {', '.join(allowed)}"]},
            )
    query, visibility = await visibility_filter(call)
    flt = RunFilter(
        workflow_type=call.query("workflow_type"),
        statuses=statuses,
        query=query,
        visibility=visibility,
    )
    runs, more = await call.engine.list_workflows(call.namespace, flt, offset, limit)
    return 200, {
        "workflows": [run_view(run, None) for run in runs],
        "next_page_token": encode_token(offset + limit) if more else None,
    }


async def list_runs(call: Call) -> tuple[int, Any]:
    wf, runs = await call.engine.list_runs(call.namespace, call.params["workflow_id"])
    return 200, {
        "workflow_id": wf.workflow_id,
        "run_count": wf.run_count,
        "runs": [run_view(run, wf) for run in runs],
    }


async def describe_run(call: Call) -> tuple[int, Any]:
    wf, run = await call.engine.describe_run(
        call.namespace, call.params["workflow_id"], call.params["run_id"]
    )
    return 200, run_view(run, wf)


async def history(call: Call) -> tuple[int, Any]:
    limit = _page_size(call, 500, 1000)
    after = decode_token(call.query("next_page_token"))
    run, events, more = await call.engine.history(
        call.namespace, call.params["workflow_id"], call.params["run_id"], after, limit
    )
    last = events[-1].sequence if events else after
    return 200, {
        "workflow_id": run.workflow_id,
        "run_id": run.run_id,
        "events": [event_dict(e) for e in events],
        "next_page_token": encode_token(last) if more else None,
    }


async def signal(call: Call) -> tuple[int, Any]:
    name = call.params["signal_name"]
    r = call.reader()
    input_ = r.envelope("input", allow_list=True)
    request_id = r.string("request_id")
    if not name or len(name) > 256 or any(ord(c) < 32 for c in name):
        r.errors.setdefault("signal_name", []).append(
            "must be 1-256 characters without control characters"
        )
    r.finish()
    receipt = await call.engine.signal(
        call.namespace,
        call.params["workflow_id"],
        name,
        input=input_,
        request_id=request_id or f"server-signal-{uuid.uuid4().hex}",
        run_id=call.params.get("run_id"),
    )
    return 202, receipt


async def _close(call: Call, kind: str) -> tuple[int, Any]:
    r = call.reader()
    reason = r.any("reason")
    if reason is not None and not (isinstance(reason, str) and len(reason) <= 4096):
        r.errors.setdefault("reason", []).append("must be a string of at most 4096 characters")
    r.finish()
    return 200, await call.engine.cancel_or_terminate(
        call.namespace, call.params["workflow_id"], kind, reason
    )


async def cancel(call: Call) -> tuple[int, Any]:
    return await _close(call, "cancel")


async def terminate(call: Call) -> tuple[int, Any]:
    return await _close(call, "terminate")
