"""Leases and retries: the activity retry decision, activity attempt outcomes,
workflow-task failure back-off and lease expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...protocol import events as ev
from ..store.rows import ActivityRow, WorkflowTaskRow
from .config import EngineConfig
from .runctx import ACTIVITY_KIND, WORKFLOW_KIND, RunContext


@dataclass(frozen=True, slots=True)
class RetryDecision:
    retry: bool
    delay_seconds: float = 0.0
    reason: str = ""


def decide_retry(
    policy: dict[str, Any] | None, attempt: int, failure: dict[str, Any]
) -> RetryDecision:
    """Whether attempt number ``attempt`` (1-based) that failed with ``failure`` is retried (semantics §4).

    No policy means one attempt. ``max_attempts: null`` means unlimited. The delay is
    ``backoff_seconds[min(attempt - 1, len - 1)]``, or, for policies written with
    ``initial_interval_seconds``/``backoff_coefficient``, the exponential equivalent.
    """
    if failure.get("non_retryable") is True:
        return RetryDecision(False, reason="non_retryable")
    policy = policy or {}
    non_retryable_types = policy.get("non_retryable_error_types") or []
    if failure.get("type") in non_retryable_types or failure.get("class") in non_retryable_types:
        return RetryDecision(False, reason="non_retryable_error_type")
    max_attempts = policy.get("max_attempts", 1) if policy else 1
    if max_attempts is not None and attempt >= int(max_attempts):
        return RetryDecision(False, reason="max_attempts_exhausted")
    backoff = policy.get("backoff_seconds")
    if isinstance(backoff, list) and backoff:
        delay = float(backoff[min(attempt - 1, len(backoff) - 1)])
    elif policy.get("initial_interval_seconds") is not None:
        delay = float(policy["initial_interval_seconds"]) * float(
            policy.get("backoff_coefficient", 2.0)
        ) ** (attempt - 1)
        cap = policy.get("maximum_interval_seconds")
        if cap is not None:
            delay = min(delay, float(cap))
    else:
        delay = 0.0
    return RetryDecision(True, max(0.0, delay))


def workflow_task_backoff(failures: int, config: EngineConfig) -> float:
    """Delay before re-offering a workflow task after ``failures`` consecutive failures: 1 s doubling, capped."""
    return min(
        config.workflow_task_retry_cap_seconds,
        config.workflow_task_retry_base_seconds * 2.0 ** max(0, failures - 1),
    )


def activity_lease_expiry(act: ActivityRow, now: float, config: EngineConfig) -> float:
    """When the current attempt's lease ends: start-to-close cap, heartbeat window, or the default lease."""
    started = act.attempt_started_at if act.attempt_started_at is not None else now
    cap = started + act.start_to_close_timeout if act.start_to_close_timeout else None
    window = act.heartbeat_timeout or (None if cap is not None else config.activity_lease_seconds)
    expiry = now + window if window else cap
    if cap is not None and expiry is not None:
        expiry = min(expiry, cap)
    return expiry if expiry is not None else now + config.activity_lease_seconds


def _activity_base(act: ActivityRow) -> dict[str, Any]:
    return {
        "sequence": act.sequence,
        "activity_type": act.activity_type,
        "activity_execution_id": act.task_id,
        "activity_attempt_id": act.attempt_id,
        "attempt_number": act.attempt_number,
        **(act.group_meta or {}),
    }


async def resolve_activity(
    ctx: RunContext, act: ActivityRow, status: str, event_type: str, fields: dict[str, Any]
) -> None:
    """Record the activity's one terminal event and wake the workflow (unless its group is still open)."""
    await ctx.tx.update_activity(
        act.task_id,
        {"status": status, "finished_at": ctx.now, "deadline_at": None, "lease_expires_at": None},
    )
    settled = await ctx.group_settled(act.group_id)
    await ctx.deliver(event_type, {**_activity_base(act), **fields}, wakes=settled)


def _failure_fields(act: ActivityRow, failure: dict[str, Any]) -> dict[str, Any]:
    message = failure.get("message") or "activity failed"
    exception: dict[str, Any] = {
        "type": failure.get("type"),
        "class": failure.get("class"),
        "message": message,
        "code": failure.get("code"),
    }
    if failure.get("details") is not None:
        exception["details"] = failure["details"]
        exception["details_payload_codec"] = "avro"
    return {
        "message": message,
        "exception_type": failure.get("type"),
        "exception_class": failure.get("class"),
        "code": failure.get("code"),
        "non_retryable": bool(failure.get("non_retryable", False)),
        "exception": exception,
        "failure_category": "activity",
    }


async def fail_activity_attempt(
    ctx: RunContext, act: ActivityRow, failure: dict[str, Any], *, timeout_kind: str | None = None
) -> RetryDecision:
    """An attempt ended badly: schedule the next attempt, or record the terminal failure/timeout.

    Never writes ``ActivityFailed`` for an attempt that will be retried (history-events §3.6).
    """
    decision = decide_retry(act.retry_policy, max(1, act.attempt_number), failure)
    if timeout_kind == "schedule_to_close":
        decision = RetryDecision(False, reason="schedule_to_close")
    if decision.retry:
        visible_at = ctx.now + decision.delay_seconds
        changes: dict[str, Any] = {
            "status": "delayed" if decision.delay_seconds > 0 else "ready",
            "visible_at": visible_at,
            "scheduled_at": visible_at,
            "lease_owner": None,
            "lease_expires_at": None,
            "poll_request_id": None,
            "last_failure": failure,
            "deadline_at": _pending_deadline(act, visible_at),
        }
        await ctx.tx.update_activity(act.task_id, changes)
        if decision.delay_seconds > 0:
            ctx.effects.due(visible_at)
        else:
            ctx.effects.wake(act.namespace, act.task_queue, ACTIVITY_KIND, act.activity_type)
        ctx.effects.due(changes["deadline_at"])
        return decision
    fields = _failure_fields(act, failure)
    if timeout_kind is not None:
        fields["timeout_kind"] = timeout_kind
        fields["failure_category"] = "timeout"
        await resolve_activity(ctx, act, "timed_out", ev.ACTIVITY_TIMED_OUT, fields)
    else:
        await resolve_activity(ctx, act, "failed", ev.ACTIVITY_FAILED, fields)
    return decision


def _pending_deadline(act: ActivityRow, visible_at: float) -> float | None:
    """Deadline of a not-yet-leased attempt: schedule-to-start from its visibility, schedule-to-close overall."""
    times = []
    if act.schedule_to_start_timeout:
        times.append(visible_at + act.schedule_to_start_timeout)
    if act.schedule_to_close_timeout:
        times.append(act.first_scheduled_at + act.schedule_to_close_timeout)
    return min(times) if times else None


def leased_deadline(act: ActivityRow) -> float | None:
    """Deadline while an attempt runs: only schedule-to-close applies."""
    if act.schedule_to_close_timeout:
        return act.first_scheduled_at + act.schedule_to_close_timeout
    return None


def timeout_message(kind: str) -> str:
    return f"Activity {kind} timeout"


async def release_workflow_task(ctx: RunContext, task: WorkflowTaskRow) -> None:
    """A leased workflow task lost its lease (expiry or worker deregistration): flush the
    inbox into history and offer the same task again."""
    await ctx.flush_inbox()
    await ctx.tx.update_workflow_task(
        task.task_id,
        {
            "status": "ready",
            "visible_at": ctx.now,
            "lease_expires_at": None,
            "poll_request_id": None,
        },
    )
    ctx.forget_open_task()
    if ctx.run.status == "running":
        ctx.set(status="waiting")
    ctx.effects.wake(task.namespace, task.task_queue, WORKFLOW_KIND, task.workflow_type)
