"""Workflow-task commands -> history events, activity tasks and timers: one ``_apply_<type>`` each.

``validate_commands`` checks the whole list before anything is written; ``apply_commands``
then runs the handlers in order. Adding a command (e.g. ``start_child_workflow``) means
one validator entry and one ``_apply_`` function registered in ``APPLY``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ...protocol import codec
from ...protocol import commands as cmds
from ...protocol import events as ev
from ..store.rows import ActivityRow, TimerRow
from . import cancellation, children
from .clock import rfc3339
from .errors import InvalidArgument
from .ids import ulid
from .runctx import ACTIVITY_KIND, RunContext, create_run

Command = Mapping[str, Any]
Errors = dict[str, list[str]]

#: Commands only an update task may carry (updates.py applies them).
UPDATE_ONLY = frozenset({cmds.COMPLETE_UPDATE, cmds.FAIL_UPDATE})

_LOCAL_OUTCOMES = {
    "completed": ev.ACTIVITY_COMPLETED,
    "failed": ev.ACTIVITY_FAILED,
    "timed_out": ev.ACTIVITY_TIMED_OUT,
    "cancelled": ev.ACTIVITY_CANCELLED,
}
_TIMEOUT_FIELDS = (
    "start_to_close_timeout",
    "schedule_to_start_timeout",
    "schedule_to_close_timeout",
    "heartbeat_timeout",
)


class InvalidCommands(InvalidArgument):
    """The completion's command list is malformed; nothing was written."""

    reason = "invalid_commands"


# -- validation ------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_name(value: Any) -> bool:
    return value is None or (isinstance(value, str) and bool(value))


def _check_group(path: str, cmd: Command, errors: Errors) -> None:
    if "parallel_group_base_sequence" not in cmd and "parallel_group_index" not in cmd:
        return
    for key in ("parallel_group_base_sequence", "parallel_group_index"):
        value: Any = cmd.get(key)
        if not (_is_int(value) and value >= 0):
            errors.setdefault(f"{path}.{key}", []).append("must be a non-negative integer")
    group_path = cmd.get("parallel_group_path")
    if group_path is not None and not (
        isinstance(group_path, list) and all(isinstance(p, dict) for p in group_path)
    ):
        errors.setdefault(f"{path}.parallel_group_path", []).append("must be a list of objects")


def _check_command(i: int, cmd: Any, errors: Errors) -> None:
    path = f"commands.{i}"
    if not isinstance(cmd, dict):
        errors[path] = ["must be an object"]
        return
    ctype = cmd.get("type")
    spec = cmds.SPECS.get(ctype) if isinstance(ctype, str) else None
    if spec is None:
        errors[f"{path}.type"] = [
            f"unknown command type {ctype!r}; expected one of {sorted(cmds.SPECS)}"
        ]
        return
    if ctype in UPDATE_ONLY:
        errors[f"{path}.type"] = [
            f"command {ctype!r} is only valid in an update task (one with workflow_update_id)"
        ]
        return

    def err(field: str, message: str) -> None:
        errors.setdefault(f"{path}.{field}", []).append(message)

    for field in spec.required:
        if cmd.get(field) is None:
            err(field, "is required")
    for field in spec.envelopes:
        try:
            codec.validate_envelope(cmd.get(field), f"{path}.{field}")
        except codec.PayloadDecodeError as exc:
            err(field, str(exc))
    for field in ("activity_type", "change_id", "queue", "condition_key", "message"):
        if (
            field in cmd
            and cmd[field] is not None
            and not (isinstance(cmd[field], str) and cmd[field])
        ):
            err(field, "must be a non-empty string")
    if ctype in (cmds.SCHEDULE_ACTIVITY, cmds.RECORD_LOCAL_ACTIVITY):
        for field in _TIMEOUT_FIELDS:
            value = cmd.get(field)
            if value is not None and (not _is_int(value) or value < 0):
                err(field, "must be a non-negative integer number of seconds")
        _check_retry_policy(cmd.get("retry_policy"), err)
    if ctype == cmds.START_TIMER:
        delay = cmd.get("delay_seconds")
        if delay is not None and (not _is_int(delay) or delay < 0):
            err("delay_seconds", "must be a non-negative integer")
    elif ctype == cmds.RECORD_SIDE_EFFECT:
        result = cmd.get("result")
        if isinstance(result, str):
            try:
                codec.decode(result)
            except codec.PayloadDecodeError as exc:
                err("result", str(exc))
        elif isinstance(result, dict):
            try:
                codec.validate_envelope(result, f"{path}.result")
            except codec.PayloadDecodeError as exc:
                err("result", str(exc))
        elif result is not None:
            err("result", "must be a base64 Avro blob string or a payload envelope")
    elif ctype == cmds.RECORD_VERSION_MARKER:
        nums: list[Any] = [cmd.get(k) for k in ("version", "min_supported", "max_supported")]
        for key, value in zip(("version", "min_supported", "max_supported"), nums, strict=True):
            if value is not None and not _is_int(value):
                err(key, "must be an integer")
        if all(_is_int(n) for n in nums) and not nums[1] <= nums[0] <= nums[2]:
            err("version", "must satisfy min_supported <= version <= max_supported")
    elif ctype == cmds.UPSERT_SEARCH_ATTRIBUTES:
        if cmd.get("attributes") is not None and not isinstance(cmd["attributes"], dict):
            err("attributes", "must be an object")
    elif ctype == cmds.UPSERT_MEMO:
        entries = cmd.get("entries")
        if isinstance(entries, dict) and "external_storage" not in entries:
            try:
                value = codec.decode_envelope(entries)
            except codec.PayloadDecodeError:
                value = {}  # already reported by the envelope check
            if not isinstance(value, dict):
                err("entries", "must encode a map of memo keys to values")
    elif ctype == cmds.OPEN_CONDITION_WAIT:
        timeout = cmd.get("timeout_seconds")
        if timeout is not None and (not _is_int(timeout) or timeout < 0):
            err("timeout_seconds", "must be a non-negative integer")
    elif ctype == cmds.RECORD_LOCAL_ACTIVITY:
        if cmd.get("outcome") is not None and cmd["outcome"] not in _LOCAL_OUTCOMES:
            err("outcome", f"must be one of {sorted(_LOCAL_OUTCOMES)}")
    elif ctype == cmds.START_CHILD_WORKFLOW:
        children.check_command(cmd, err)
        _check_retry_policy(cmd.get("retry_policy"), err)
    elif ctype == cmds.CONTINUE_AS_NEW and not _optional_name(cmd.get("workflow_type")):
        err("workflow_type", "must be a non-empty string")
    _check_group(path, cmd, errors)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_retry_policy(policy: Any, err: Callable[[str, str], None]) -> None:
    """A retry policy is snapped onto the execution, so a bad one is refused up front."""
    if policy is None:
        return
    if not isinstance(policy, dict):
        err("retry_policy", "must be an object")
        return
    attempts = policy.get("max_attempts")
    if attempts is not None and not (_is_int(attempts) and attempts >= 1):
        err("retry_policy.max_attempts", "must be an integer >= 1 (or null for unlimited)")
    for key in ("initial_interval_seconds", "maximum_interval_seconds"):
        if policy.get(key) is not None and not (_number(policy[key]) and policy[key] >= 0):
            err(f"retry_policy.{key}", "must be a non-negative number of seconds")
    coefficient = policy.get("backoff_coefficient")
    if coefficient is not None and not (_number(coefficient) and coefficient >= 1):
        err("retry_policy.backoff_coefficient", "must be a number >= 1")
    backoff = policy.get("backoff_seconds")
    if backoff is not None and not (
        isinstance(backoff, list) and all(_number(b) and b >= 0 for b in backoff)
    ):
        err("retry_policy.backoff_seconds", "must be a list of non-negative numbers")
    types = policy.get("non_retryable_error_types")
    if types is not None and not (
        isinstance(types, list) and all(isinstance(t, str) for t in types)
    ):
        err("retry_policy.non_retryable_error_types", "must be a list of strings")


def validate_commands(commands: Any) -> Errors:
    """Every problem in the command list, keyed ``commands.<index>.<field>``; empty when valid."""
    if not isinstance(commands, list):
        return {"commands": ["must be a list of command objects"]}
    if not commands:
        return {"commands": ["must not be empty (send WorkflowTaskWaitingForHistory instead)"]}
    errors: Errors = {}
    for i, cmd in enumerate(commands):
        _check_command(i, cmd, errors)
        if (
            isinstance(cmd, dict)
            and cmd.get("type") in cmds.TERMINAL_COMMANDS
            and i != len(commands) - 1
        ):
            errors.setdefault(f"commands.{i}.type", []).append(
                "a terminal command must be the last command of the completion"
            )
    return errors


# -- sequence assignment ---------------------------------------------------------------------


def sequence_for(last_sequence: int, cmd: Command) -> int | None:
    """The workflow sequence ``cmd`` takes, or None for a re-emitted parallel member.

    Raises ValueError when a group member's ``base + index`` disagrees with the counter.
    """
    base = cmd.get("parallel_group_base_sequence")
    if base is None:
        return last_sequence + 1
    expected = int(base) + int(cmd.get("parallel_group_index", 0))
    if expected <= last_sequence:
        return None
    if expected != last_sequence + 1:
        raise ValueError(
            f"parallel_group_base_sequence + parallel_group_index = {expected}, "
            f"but the next workflow sequence of this run is {last_sequence + 1}"
        )
    return expected


def _take_sequence(ctx: RunContext, index: int, cmd: Command) -> int | None:
    try:
        seq = sequence_for(ctx.run.last_sequence, cmd)
    except ValueError as exc:
        raise InvalidCommands(
            str(exc), {f"commands.{index}.parallel_group_base_sequence": [str(exc)]}
        ) from None
    if seq is not None:
        ctx.set(last_sequence=seq)
    return seq


def group_meta(cmd: Command) -> dict[str, Any]:
    """The parallel-group keys to copy onto every event of the operation."""
    return {k: cmd[k] for k in ev.PARALLEL_GROUP_KEYS if k in cmd}


def outermost_group_id(cmd: Command) -> str | None:
    path = cmd.get("parallel_group_path")
    if (
        isinstance(path, list)
        and path
        and isinstance(path[0], dict)
        and path[0].get("parallel_group_id")
    ):
        return str(path[0]["parallel_group_id"])
    gid = cmd.get("parallel_group_id")
    return str(gid) if gid else None


# -- handlers ----------------------------------------------------------------------------------


async def _apply_schedule_activity(ctx: RunContext, index: int, cmd: Command) -> None:
    seq = _take_sequence(ctx, index, cmd)
    if seq is None:
        return
    run, now = ctx.run, ctx.now
    task_id = ulid(now)
    queue = cmd.get("queue") or run.task_queue
    sts, stc = cmd.get("schedule_to_start_timeout"), cmd.get("schedule_to_close_timeout")
    deadlines = [now + t for t in (sts, stc) if t]
    meta = group_meta(cmd)
    payload: dict[str, Any] = {
        "sequence": seq,
        "activity_type": cmd["activity_type"],
        "activity_execution_id": task_id,
        "task_queue": queue,
        **meta,
    }
    if cmd.get("retry_policy") is not None:
        payload["retry_policy"] = cmd["retry_policy"]
    ctx.append(ev.ACTIVITY_SCHEDULED, payload)
    row = ActivityRow(
        task_id=task_id,
        namespace=run.namespace,
        run_id=run.run_id,
        workflow_id=run.workflow_id,
        workflow_type=run.workflow_type,
        sequence=seq,
        activity_type=cmd["activity_type"],
        task_queue=queue,
        status="ready",
        arguments=cmd.get("arguments"),
        retry_policy=cmd.get("retry_policy"),
        start_to_close_timeout=cmd.get("start_to_close_timeout"),
        schedule_to_start_timeout=sts,
        schedule_to_close_timeout=stc,
        heartbeat_timeout=cmd.get("heartbeat_timeout"),
        attempt_number=0,
        attempt_id=None,
        lease_owner=None,
        lease_expires_at=None,
        attempt_started_at=None,
        visible_at=now,
        scheduled_at=now,
        first_scheduled_at=now,
        deadline_at=min(deadlines) if deadlines else None,
        last_heartbeat_at=None,
        heartbeat_details=None,
        group_id=outermost_group_id(cmd),
        group_meta=meta or None,
        poll_request_id=None,
        last_failure=None,
        finished_at=None,
    )
    await ctx.tx.insert_activity(row)
    ctx.effects.wake(run.namespace, queue, ACTIVITY_KIND, row.activity_type)
    ctx.effects.due(row.deadline_at)


async def _insert_timer(
    ctx: RunContext,
    seq: int,
    delay: int,
    *,
    kind: str,
    extra: dict[str, Any],
    condition_wait_id: str | None = None,
    group_id: str | None = None,
) -> TimerRow:
    timer_id = ulid(ctx.now)
    fire_at = ctx.now + delay
    payload = {
        "sequence": seq,
        "timer_id": timer_id,
        "delay_seconds": delay,
        "fire_at": rfc3339(fire_at),
        **extra,
    }
    ctx.append(ev.TIMER_SCHEDULED, payload)
    row = TimerRow(
        timer_id=timer_id,
        namespace=ctx.run.namespace,
        run_id=ctx.run.run_id,
        sequence=seq,
        kind=kind,
        status="pending",
        fire_at=fire_at,
        condition_wait_id=condition_wait_id,
        group_id=group_id,
        event_payload=payload,
        created_at=ctx.now,
    )
    await ctx.tx.insert_timer(row)
    ctx.effects.due(fire_at)
    return row


async def _apply_start_timer(ctx: RunContext, index: int, cmd: Command) -> None:
    seq = _take_sequence(ctx, index, cmd)
    if seq is None:
        return
    await _insert_timer(
        ctx,
        seq,
        int(cmd["delay_seconds"]),
        kind="user",
        extra=group_meta(cmd),
        group_id=outermost_group_id(cmd),
    )


async def _apply_start_child_workflow(ctx: RunContext, index: int, cmd: Command) -> None:
    seq = _take_sequence(ctx, index, cmd)
    if seq is not None:
        await children.start_child(ctx, seq, cmd, group_meta(cmd))


async def _apply_record_side_effect(ctx: RunContext, index: int, cmd: Command) -> None:
    seq = _take_sequence(ctx, index, cmd)
    if seq is not None:
        ctx.append(ev.SIDE_EFFECT_RECORDED, {"sequence": seq, "result": cmd.get("result")})


async def _apply_record_version_marker(ctx: RunContext, index: int, cmd: Command) -> None:
    seq = _take_sequence(ctx, index, cmd)
    if seq is None:
        return
    payload = {"sequence": seq}
    for key in ("change_id", "version", "min_supported", "max_supported"):
        payload[key] = cmd[key]
    ctx.append(ev.VERSION_MARKER_RECORDED, payload)


def _merge(current: dict[str, Any] | None, patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(current or {})
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return {k: merged[k] for k in sorted(merged)}


async def _apply_upsert_search_attributes(ctx: RunContext, index: int, cmd: Command) -> None:
    seq = _take_sequence(ctx, index, cmd)
    if seq is None:
        return
    merged = _merge(ctx.run.search_attributes, cmd["attributes"])
    ctx.set(search_attributes=merged)
    ctx.append(
        ev.SEARCH_ATTRIBUTES_UPSERTED,
        {"sequence": seq, "attributes": cmd["attributes"], "merged": merged},
    )


async def _apply_upsert_memo(ctx: RunContext, index: int, cmd: Command) -> None:
    seq = _take_sequence(ctx, index, cmd)
    if seq is None:
        return
    entries = cmd["entries"]
    merged = _merge(ctx.run.memo, codec.decode_envelope(entries) or {})
    try:
        json.dumps(merged)
    except (TypeError, ValueError):
        raise InvalidCommands(
            "memo values must be JSON-compatible (no bytes)",
            {f"commands.{index}.entries": ["memo values must be JSON-compatible (no bytes)"]},
        ) from None
    ctx.set(memo=merged)
    ctx.append(
        ev.MEMO_UPSERTED,
        {
            "sequence": seq,
            "entries": {"codec": entries["codec"], "blob": entries.get("blob")},
            "merged": codec.envelope(merged),
        },
    )


async def _apply_open_condition_wait(ctx: RunContext, index: int, cmd: Command) -> None:
    seq = _take_sequence(ctx, index, cmd)
    if seq is None:
        return
    wait_id = f"cw-{ulid(ctx.now)}"
    payload: dict[str, Any] = {"sequence": seq, "condition_wait_id": wait_id}
    for key in ("condition_key", "condition_definition_fingerprint", "timeout_seconds"):
        if cmd.get(key) is not None:
            payload[key] = cmd[key]
    ctx.append(ev.CONDITION_WAIT_OPENED, payload)
    wait: dict[str, Any] = {"condition_wait_id": wait_id, "sequence": seq, "timer_id": None}
    timeout = cmd.get("timeout_seconds")
    if timeout is not None:
        extra: dict[str, Any] = {"timer_kind": "condition_timeout", "condition_wait_id": wait_id}
        if cmd.get("condition_key") is not None:
            extra["condition_key"] = cmd["condition_key"]
        timer = await _insert_timer(
            ctx, seq, int(timeout), kind="condition_timeout", extra=extra, condition_wait_id=wait_id
        )
        wait["timer_id"] = timer.timer_id
    ctx.set(open_wait=wait)


async def _apply_record_local_activity(ctx: RunContext, index: int, cmd: Command) -> None:
    seq = _take_sequence(ctx, index, cmd)
    if seq is None:
        return
    base: dict[str, Any] = {
        "sequence": seq,
        "activity_type": cmd["activity_type"],
        "activity_execution_id": ulid(ctx.now),
        "execution_mode": "local",
        "local_activity": True,
        **group_meta(cmd),
    }
    ctx.append(ev.ACTIVITY_SCHEDULED, dict(base))
    outcome = cmd["outcome"]
    attempts = cmd.get("attempts")
    if isinstance(attempts, list):
        base["attempt_count"] = len(attempts)
    if outcome == "completed":
        ctx.append(ev.ACTIVITY_COMPLETED, {**base, "result": cmd.get("result")})
        return
    message = cmd.get("message") or f"local activity {outcome}"
    failure = {
        **base,
        "message": message,
        "exception_type": cmd.get("exception_type"),
        "non_retryable": bool(cmd.get("non_retryable", False)),
        "exception": {"type": cmd.get("exception_type"), "message": message},
        "failure_category": "activity",
    }
    if cmd.get("timeout_kind") is not None:
        failure["timeout_kind"] = cmd["timeout_kind"]
    ctx.append(_LOCAL_OUTCOMES[outcome], failure)


async def _apply_complete_workflow(ctx: RunContext, index: int, cmd: Command) -> None:
    result = cmd.get("result")
    ctx.append(ev.WORKFLOW_COMPLETED, {"output": result, "payload_codec": codec.AVRO_CODEC})
    await ctx.close("completed", "completed", output=result)


async def _apply_fail_workflow(ctx: RunContext, index: int, cmd: Command) -> None:
    exception = cmd.get("exception") if isinstance(cmd.get("exception"), dict) else None
    payload: dict[str, Any] = {
        "message": cmd["message"],
        "exception_type": cmd.get("exception_type"),
        "exception_class": cmd.get("exception_class"),
        "exception": exception
        or {
            "type": cmd.get("exception_type"),
            "class": cmd.get("exception_class"),
            "message": cmd["message"],
        },
        "non_retryable": bool(cmd.get("non_retryable", False)),
        "failure_category": "application",
    }
    for key in ("failed_step_sequence", "failed_activity_execution_id"):
        if cmd.get(key) is not None:
            payload[key] = cmd[key]
    if await cancellation.closes_as_cancelled(ctx, cmd):
        return
    ctx.append(ev.WORKFLOW_FAILED, payload)
    await ctx.close("failed", "failed")


async def _apply_continue_as_new(ctx: RunContext, index: int, cmd: Command) -> None:
    old = ctx.run
    new = await create_run(
        ctx.tx,
        ctx.effects,
        ctx.config,
        ctx.now,
        namespace=old.namespace,
        workflow_id=old.workflow_id,
        run_number=old.run_number + 1,
        workflow_type=cmd.get("workflow_type") or old.workflow_type,
        task_queue=cmd.get("queue") or old.task_queue,
        input=cmd.get("arguments"),
        memo=old.memo,
        search_attributes=old.search_attributes,
        execution_timeout_seconds=old.execution_timeout_seconds,
        run_timeout_seconds=old.run_timeout_seconds,
        execution_deadline_at=old.execution_deadline_at,
        business_key=old.business_key,
        build_id=old.build_id,
        priority=old.priority,
        continued_from_run_id=old.run_id,
    )
    ctx.append(
        ev.WORKFLOW_CONTINUED_AS_NEW,
        {
            "continued_to_run_id": new.run.run_id,
            "continued_to_run_number": new.run.run_number,
            "workflow_type": new.run.workflow_type,
            "task_queue": new.run.task_queue,
            "closed_reason": "continued",
        },
    )
    ctx.set(continued_to_run_id=new.run.run_id)  # before close: a parent follows the chain
    await ctx.close("completed", "continued")
    await new.save()
    await ctx.tx.update_workflow(
        old.namespace,
        old.workflow_id,
        {"current_run_id": new.run.run_id, "run_count": new.run.run_number, "updated_at": ctx.now},
    )


Apply = Callable[[RunContext, int, Command], Awaitable[None]]

APPLY: dict[str, Apply] = {
    cmds.SCHEDULE_ACTIVITY: _apply_schedule_activity,
    cmds.START_TIMER: _apply_start_timer,
    cmds.START_CHILD_WORKFLOW: _apply_start_child_workflow,
    cmds.RECORD_SIDE_EFFECT: _apply_record_side_effect,
    cmds.RECORD_VERSION_MARKER: _apply_record_version_marker,
    cmds.UPSERT_SEARCH_ATTRIBUTES: _apply_upsert_search_attributes,
    cmds.UPSERT_MEMO: _apply_upsert_memo,
    cmds.OPEN_CONDITION_WAIT: _apply_open_condition_wait,
    cmds.RECORD_LOCAL_ACTIVITY: _apply_record_local_activity,
    cmds.COMPLETE_WORKFLOW: _apply_complete_workflow,
    cmds.FAIL_WORKFLOW: _apply_fail_workflow,
    cmds.CONTINUE_AS_NEW: _apply_continue_as_new,
}


async def apply_commands(ctx: RunContext, commands: list[Command]) -> None:
    """Apply an already validated command list in order."""
    for index, cmd in enumerate(commands):
        await APPLY[cmd["type"]](ctx, index, cmd)
