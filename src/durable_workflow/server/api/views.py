"""Response shapes of the control plane (control-plane.md §1)."""

from __future__ import annotations

from typing import Any

from ...protocol import codec
from ..engine.clock import rfc3339
from ..store.rows import OPEN_RUN_STATUSES, RunRow, WorkflowRow

STATUS_BUCKETS: dict[str, tuple[str, ...]] = {
    "running": OPEN_RUN_STATUSES,
    "completed": ("completed",),
    "failed": ("failed", "cancelled", "terminated"),
}


def status_bucket(status: str) -> str:
    if status in OPEN_RUN_STATUSES:
        return "running"
    return "completed" if status == "completed" else "failed"


def _wait_kind(run: RunRow) -> tuple[str | None, str | None]:
    if not run.is_open:
        return None, None
    if run.open_wait:
        key = run.open_wait.get("condition_key")
        return "condition", f"waiting for condition {key}" if key else "waiting for condition"
    return None, None


def run_view(run: RunRow, wf: WorkflowRow | None) -> dict[str, Any]:
    """One run as describe/list/runs return it (``wf`` None: a list item, always the current run)."""
    is_open = run.is_open
    current = wf is None or run.run_id == wf.current_run_id
    wait_kind, wait_reason = _wait_kind(run)
    return {
        "workflow_id": run.workflow_id,
        "run_id": run.run_id,
        "namespace": run.namespace,
        "workflow_type": run.workflow_type,
        "business_key": run.business_key,
        "status": run.status,
        "status_bucket": status_bucket(run.status),
        "is_terminal": not is_open,
        "closed_reason": run.closed_reason,
        "task_queue": run.task_queue,
        "run_number": run.run_number,
        "run_count": wf.run_count if wf is not None else run.run_number,
        "is_current_run": current,
        "compatibility": run.build_id,
        "payload_codec": codec.AVRO_CODEC,
        "input": None,
        "output": None,
        "input_envelope": run.input,
        "output_envelope": run.output,
        "execution_timeout_seconds": run.execution_timeout_seconds,
        "run_timeout_seconds": run.run_timeout_seconds,
        "execution_deadline_at": rfc3339(run.execution_deadline_at),
        "run_deadline_at": rfc3339(run.run_deadline_at),
        "started_at": rfc3339(run.started_at),
        "closed_at": rfc3339(run.closed_at),
        "last_progress_at": rfc3339(run.last_progress_at),
        "wait_kind": wait_kind,
        "wait_reason": wait_reason,
        "memo": run.memo or {},
        "search_attributes": run.search_attributes or {},
        "continued_from_run_id": run.continued_from_run_id,
        "continued_to_run_id": run.continued_to_run_id,
        "last_workflow_task_failure": run.last_wft_failure,
        "actions": {
            "can_signal": is_open and current,
            "can_query": True,
            "can_update": is_open and current,
            "can_cancel": is_open and current,
            "can_terminate": is_open and current,
            "can_repair": False,
            "can_archive": not is_open,
        },
    }
