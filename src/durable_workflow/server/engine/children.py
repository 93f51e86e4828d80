"""Child workflows (semantics §11): starting them, telling the parent when they close,
retrying failed children, and the parent-close policy.

A child call is one row of ``child_calls`` keyed by (parent run, parent sequence). The child
is an ordinary instance with a server-generated id; its current run is tracked on the row so
continue-as-new and retries keep resolving the same parent yield.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...protocol import events as ev
from ..store.rows import ChildCallRow, WorkflowRow
from .closing import context_for
from .ids import ulid
from .leases import decide_retry
from .runctx import RunContext, create_run

PARENT_CLOSE_POLICIES = ("abandon", "request_cancel", "terminate")

_CLOSE_EVENTS = {
    "completed": ev.CHILD_RUN_COMPLETED,
    "failed": ev.CHILD_RUN_FAILED,
    "cancelled": ev.CHILD_RUN_CANCELLED,
    "terminated": ev.CHILD_RUN_TERMINATED,
}
_FAILURE_EVENTS = (
    ev.WORKFLOW_FAILED,
    ev.WORKFLOW_TIMED_OUT,
    ev.WORKFLOW_CANCELLED,
    ev.WORKFLOW_TERMINATED,
)


def check_command(cmd: Mapping[str, Any], err: Callable[[str, str], None]) -> None:
    """Field checks of a ``start_child_workflow`` command (adds to the validator's errors)."""
    wtype = cmd.get("workflow_type")
    if wtype is not None and not (isinstance(wtype, str) and wtype.strip()):
        err("workflow_type", "must be a non-empty string")
    policy = cmd.get("parent_close_policy")
    if policy is not None and policy not in PARENT_CLOSE_POLICIES:
        err("parent_close_policy", f"must be one of {', '.join(PARENT_CLOSE_POLICIES)}")
    for field in ("execution_timeout_seconds", "run_timeout_seconds"):
        value = cmd.get(field)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            err(field, "must be a positive integer number of seconds")


def _meta(call: ChildCallRow) -> dict[str, Any]:
    return {"sequence": call.sequence, **call.event_meta}


async def start_child(ctx: RunContext, seq: int, cmd: Mapping[str, Any], meta: dict[str, Any]) -> None:
    """Apply ``start_child_workflow``: a new instance + run, and the parent's two events."""
    run, now, tx = ctx.run, ctx.now, ctx.tx
    wtype = str(cmd["workflow_type"])
    queue = str(cmd.get("queue") or run.task_queue)
    child_id = f"{run.workflow_id}-child-{ulid(now)}"
    event_meta: dict[str, Any] = {
        "workflow_type": wtype,
        "child_workflow_type": wtype,
        "child_workflow_instance_id": child_id,
        "child_call_id": f"{run.run_id}:{seq}",
        "parent_close_policy": cmd.get("parent_close_policy") or "abandon",
        "task_queue": queue,
        **meta,
    }
    for key in ("cancellation_policy", "retry_policy"):
        if cmd.get(key) is not None:
            event_meta[key] = cmd[key]
    timeouts = {
        k: cmd[k] for k in ("execution_timeout_seconds", "run_timeout_seconds") if cmd.get(k)
    }
    if timeouts:
        event_meta["timeout_policy"] = timeouts
    group_id = _outermost_group(cmd)

    workers = await tx.workers_of_queue(run.namespace, queue)
    typed = [w.supported_workflow_types for w in workers if w.supported_workflow_types]
    if typed and not any(wtype in types for types in typed):
        # Nobody on that queue can run the type: fail the call now, as a typed child failure
        # the parent can catch, instead of leaving a child that no worker will ever take.
        ctx.append(ev.CHILD_WORKFLOW_SCHEDULED, {"sequence": seq, **event_meta})
        message = f"no worker on task queue {queue!r} registers workflow type {wtype!r}"
        await ctx.deliver(
            ev.CHILD_RUN_FAILED,
            {
                "sequence": seq,
                **event_meta,
                "message": message,
                "exception_type": "WorkflowTypeNotRegistered",
                "exception_class": "WorkflowTypeNotRegistered",
                "exception": {"type": "WorkflowTypeNotRegistered", "message": message},
                "non_retryable": True,
                "child_status": "failed",
            },
            wakes=await ctx.group_settled(group_id),
        )
        return

    child = await create_run(
        tx,
        ctx.effects,
        ctx.config,
        now,
        namespace=run.namespace,
        workflow_id=child_id,
        run_number=1,
        workflow_type=wtype,
        task_queue=queue,
        input=cmd.get("arguments"),
        memo=None,
        search_attributes=None,
        execution_timeout_seconds=cmd.get("execution_timeout_seconds"),
        run_timeout_seconds=cmd.get("run_timeout_seconds"),
        priority=run.priority,
        parent=_parent_info(run.workflow_id, run.run_id, seq),
    )
    await child.save()
    await tx.insert_workflow(WorkflowRow(run.namespace, child_id, child.run.run_id, 1, now, now))
    call = ChildCallRow(
        parent_run_id=run.run_id,
        sequence=seq,
        namespace=run.namespace,
        parent_workflow_id=run.workflow_id,
        child_workflow_id=child_id,
        child_run_id=child.run.run_id,
        child_workflow_type=wtype,
        task_queue=queue,
        status="open",
        parent_close_policy=event_meta["parent_close_policy"],
        retry_policy=cmd.get("retry_policy"),
        attempt=1,
        input=cmd.get("arguments"),
        execution_timeout_seconds=cmd.get("execution_timeout_seconds"),
        run_timeout_seconds=cmd.get("run_timeout_seconds"),
        group_id=group_id,
        event_meta=event_meta,
        created_at=now,
        closed_at=None,
    )
    await tx.insert_child_call(call)
    ids = {"child_workflow_run_id": child.run.run_id}
    ctx.append(ev.CHILD_WORKFLOW_SCHEDULED, {**_meta(call), **ids})
    ctx.append(ev.CHILD_RUN_STARTED, {**_meta(call), **ids, "child_run_number": 1})


def _parent_info(workflow_id: str, run_id: str, seq: int) -> dict[str, Any]:
    return {
        "parent_workflow_instance_id": workflow_id,
        "parent_workflow_run_id": run_id,
        "parent_sequence": seq,
    }


def _outermost_group(cmd: Mapping[str, Any]) -> str | None:
    path = cmd.get("parallel_group_path")
    if isinstance(path, list) and path and isinstance(path[0], dict):
        gid = path[0].get("parallel_group_id")
        if gid:
            return str(gid)
    gid = cmd.get("parallel_group_id")
    return str(gid) if gid else None


def _closing_event(ctx: RunContext) -> dict[str, Any]:
    for row in reversed(ctx.events):
        if row.event_type in _FAILURE_EVENTS:
            return row.payload
    return {}


async def notify_parent(ctx: RunContext) -> None:
    """The run closed; if it is a child call's current run, resolve (or retry) the call."""
    run, tx = ctx.run, ctx.tx
    call = await tx.child_call_of(run.namespace, run.workflow_id)
    if call is None or call.status != "open" or call.child_run_id != run.run_id:
        return
    parent = await context_for(ctx, call.parent_run_id)
    parent_open = parent is not None and parent.run.is_open
    if run.closed_reason == "continued" and run.continued_to_run_id:
        await tx.update_child_call(
            call.parent_run_id, call.sequence, {"child_run_id": run.continued_to_run_id}
        )
        if parent is not None and parent_open:
            await parent.deliver(
                ev.CHILD_RUN_STARTED,
                {
                    **_meta(call),
                    "child_workflow_run_id": run.continued_to_run_id,
                    "child_run_number": run.run_number + 1,
                },
                wakes=False,
            )
        return
    closing = _closing_event(ctx)
    if run.status == "failed" and parent_open and await _retry(ctx, call, closing):
        return
    status = run.status if run.status in _CLOSE_EVENTS else "failed"
    await tx.update_child_call(
        call.parent_run_id, call.sequence, {"status": status, "closed_at": ctx.now}
    )
    if parent is None or not parent_open:
        return
    payload: dict[str, Any] = {
        **_meta(call),
        "child_workflow_run_id": run.run_id,
        "child_run_number": run.run_number,
        "child_status": status,
        "closed_reason": run.closed_reason,
    }
    if status == "completed":
        payload.update(result=run.output, payload_codec="avro")
    else:
        message = closing.get("message") or closing.get("reason") or f"child workflow {status}"
        exception = closing.get("exception") if isinstance(closing.get("exception"), dict) else {}
        payload.update(
            message=message,
            reason=closing.get("reason"),
            exception_type=closing.get("exception_type") or exception.get("type"),
            exception_class=closing.get("exception_class") or exception.get("class"),
            exception={**exception, "message": message},
        )
        if closing.get("timeout_kind"):
            payload["timeout_kind"] = closing["timeout_kind"]
    settled = await parent.group_settled(call.group_id)
    await parent.deliver(_CLOSE_EVENTS[status], payload, wakes=settled)


async def _retry(ctx: RunContext, call: ChildCallRow, closing: dict[str, Any]) -> bool:
    """Start the next attempt of a failed child if its retry policy allows (semantics §11)."""
    run = ctx.run
    if call.retry_policy is None:
        return False
    if run.execution_deadline_at is not None and ctx.now >= run.execution_deadline_at:
        return False  # the execution timeout caps all attempts
    failure = {
        "type": closing.get("exception_type"),
        "class": closing.get("exception_class"),
        "non_retryable": closing.get("non_retryable") is True,
    }
    decision = decide_retry(call.retry_policy, call.attempt, failure)
    if not decision.retry:
        return False
    parent_info = _parent_info(call.parent_workflow_id, call.parent_run_id, call.sequence)
    new = await create_run(
        ctx.tx,
        ctx.effects,
        ctx.config,
        ctx.now,
        namespace=run.namespace,
        workflow_id=run.workflow_id,
        run_number=run.run_number + 1,
        workflow_type=call.child_workflow_type,
        task_queue=call.task_queue,
        input=call.input,
        memo=run.memo,
        search_attributes=run.search_attributes,
        execution_timeout_seconds=call.execution_timeout_seconds,
        run_timeout_seconds=call.run_timeout_seconds,
        execution_deadline_at=run.execution_deadline_at,
        priority=run.priority,
        parent=parent_info,
        first_task_delay=decision.delay_seconds,
    )
    await new.save()
    await ctx.tx.update_workflow(
        run.namespace,
        run.workflow_id,
        {"current_run_id": new.run.run_id, "run_count": new.run.run_number, "updated_at": ctx.now},
    )
    await ctx.tx.update_child_call(
        call.parent_run_id,
        call.sequence,
        {"child_run_id": new.run.run_id, "attempt": call.attempt + 1},
    )
    parent = await context_for(ctx, call.parent_run_id)
    assert parent is not None
    await parent.deliver(
        ev.CHILD_RUN_STARTED,
        {
            **_meta(call),
            "child_workflow_run_id": new.run.run_id,
            "child_run_number": new.run.run_number,
            "attempt": call.attempt + 1,
        },
        wakes=False,
    )
    return True


async def apply_parent_close_policy(ctx: RunContext) -> None:
    """The parent closed: cancel or terminate children whose policy says so; abandon the rest."""
    from .cancellation import close_by_command  # late: cancellation imports closing

    for call in await ctx.tx.open_child_calls(ctx.run.run_id):
        if call.parent_close_policy == "abandon":
            continue
        child = await context_for(ctx, call.child_run_id)
        if child is None or not child.run.is_open:
            continue
        kind = "cancel" if call.parent_close_policy == "request_cancel" else "terminate"
        reason = f"parent workflow {ctx.run.workflow_id} closed ({ctx.run.status}); parent_close_policy {call.parent_close_policy}"
        await close_by_command(child, kind, reason)
