"""Plain row objects the store hands to the engine. Field names equal column names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OPEN_RUN_STATUSES = ("pending", "running", "waiting")
CLOSED_RUN_STATUSES = ("completed", "failed", "cancelled", "terminated")


@dataclass(slots=True)
class NamespaceRow:
    name: str
    description: str | None
    retention_days: int | None
    status: str
    created_at: float
    updated_at: float


@dataclass(slots=True)
class WorkflowRow:
    namespace: str
    workflow_id: str
    current_run_id: str
    run_count: int
    created_at: float
    updated_at: float


@dataclass(slots=True)
class RunRow:
    run_id: str
    namespace: str
    workflow_id: str
    run_number: int
    workflow_type: str
    task_queue: str
    status: str
    closed_reason: str | None
    input: Any
    output: Any
    memo: dict[str, Any] | None
    search_attributes: dict[str, Any] | None
    business_key: str | None
    build_id: str | None
    priority: int | None
    started_at: float
    closed_at: float | None
    last_progress_at: float | None
    execution_timeout_seconds: int | None
    run_timeout_seconds: int | None
    execution_deadline_at: float | None
    run_deadline_at: float | None
    deadline_at: float | None
    last_sequence: int
    last_event_sequence: int
    open_wait: dict[str, Any] | None
    task_pending: bool
    wft_failures: int
    last_wft_failure: dict[str, Any] | None
    continued_from_run_id: str | None
    continued_to_run_id: str | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_RUN_STATUSES


@dataclass(slots=True)
class EventRow:
    run_id: str
    sequence: int
    event_id: str
    event_type: str
    recorded_at: float
    payload: dict[str, Any]
    workflow_task_id: str | None


@dataclass(slots=True)
class InboxRow:
    id: int
    run_id: str
    event_type: str
    payload: dict[str, Any]
    recorded_at: float
    wakes: bool
    wait_id: str | None


@dataclass(slots=True)
class WorkflowTaskRow:
    task_id: str
    namespace: str
    run_id: str
    workflow_id: str
    workflow_type: str
    task_queue: str
    status: str
    attempt: int
    visible_at: float
    lease_owner: str | None
    lease_expires_at: float | None
    poll_request_id: str | None
    created_at: float
    finished_at: float | None
    outcome: dict[str, Any] | None
    failure: dict[str, Any] | None


@dataclass(slots=True)
class ActivityRow:
    task_id: str
    namespace: str
    run_id: str
    workflow_id: str
    workflow_type: str
    sequence: int
    activity_type: str
    task_queue: str
    status: str
    arguments: Any
    retry_policy: dict[str, Any] | None
    start_to_close_timeout: int | None
    schedule_to_start_timeout: int | None
    schedule_to_close_timeout: int | None
    heartbeat_timeout: int | None
    attempt_number: int
    attempt_id: str | None
    lease_owner: str | None
    lease_expires_at: float | None
    attempt_started_at: float | None
    visible_at: float
    scheduled_at: float
    first_scheduled_at: float
    deadline_at: float | None
    last_heartbeat_at: float | None
    heartbeat_details: Any
    group_id: str | None
    group_meta: dict[str, Any] | None
    poll_request_id: str | None
    last_failure: dict[str, Any] | None
    finished_at: float | None


@dataclass(slots=True)
class TimerRow:
    timer_id: str
    namespace: str
    run_id: str
    sequence: int
    kind: str
    status: str
    fire_at: float
    condition_wait_id: str | None
    group_id: str | None
    event_payload: dict[str, Any]
    created_at: float


@dataclass(slots=True)
class WorkerRow:
    namespace: str
    worker_id: str
    task_queue: str | None
    runtime: str | None
    sdk_version: str | None
    build_id: str | None
    supported_workflow_types: list[str] | None
    supported_activity_types: list[str] | None
    workflow_command_contracts: dict[str, Any] | None
    capabilities: list[str] | None
    details: dict[str, Any] | None
    registered_at: float
    updated_at: float
    last_heartbeat_at: float | None


@dataclass(slots=True)
class SignalRequestRow:
    namespace: str
    workflow_id: str
    request_id: str
    fingerprint: str
    receipt: dict[str, Any]
    created_at: float


@dataclass(slots=True)
class LiteRunRow:
    """One run of a lite durable function (``durable_workflow.lite``)."""

    app: str
    run_id: str
    workflow_name: str
    status: str
    lease_owner: str | None
    lease_expires_at: float | None
    result: Any
    error: str | None
    created_at: float
    updated_at: float


@dataclass(slots=True)
class LiteStepRow:
    """One checkpointed task call of a lite run."""

    app: str
    run_id: str
    step_key: str
    status: str
    result: Any
    attempts: int
    error: str | None
    updated_at: float


@dataclass(frozen=True, slots=True)
class LiteRunFilter:
    """Which lite runs to list; ``None`` means any."""

    app: str | None = None
    run_id: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Visibility filter for listing current runs."""

    workflow_type: str | None = None
    statuses: tuple[str, ...] | None = None
    query: str | None = None
    visibility: Any = None  # typed query tree (engine.visibility); each back end compiles it


@dataclass(slots=True)
class ChildCallRow:
    parent_run_id: str
    sequence: int
    namespace: str
    parent_workflow_id: str
    child_workflow_id: str
    child_run_id: str
    child_workflow_type: str
    task_queue: str
    status: str
    parent_close_policy: str
    retry_policy: dict[str, Any] | None
    attempt: int
    input: Any
    execution_timeout_seconds: int | None
    run_timeout_seconds: int | None
    group_id: str | None
    event_meta: dict[str, Any]
    created_at: float
    closed_at: float | None


@dataclass(slots=True)
class UpdateRow:
    update_id: str
    namespace: str
    workflow_id: str
    run_id: str
    update_name: str
    arguments: Any
    request_id: str | None
    fingerprint: str | None
    status: str
    task_id: str | None
    result: Any
    failure: dict[str, Any] | None
    created_at: float
    closed_at: float | None


@dataclass(slots=True)
class CancelRequestRow:
    run_id: str
    reason: str | None
    requested_at: float
