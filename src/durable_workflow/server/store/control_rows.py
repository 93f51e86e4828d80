"""Row objects of the control-plane tables (migration 3). Field names equal column names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "BridgeEventRow",
    "BuildIdCohortRow",
    "NamespaceSettingsRow",
    "RunArchiveRow",
    "ScheduleEventRow",
    "ScheduleFilter",
    "ScheduleRow",
    "SearchAttributeRow",
]


@dataclass(slots=True)
class ScheduleRow:
    namespace: str
    schedule_id: str
    status: str
    spec: dict[str, Any]
    action: dict[str, Any]
    overlap_policy: str
    jitter_seconds: int
    max_runs: int | None
    remaining_actions: int | None
    memo: dict[str, Any] | None
    search_attributes: dict[str, Any] | None
    note: str | None
    next_nominal_at: float | None
    next_fire_at: float | None
    buffer: list[float]
    fires_count: int
    failures_count: int
    skipped_count: int
    last_skip_reason: str | None
    last_fired_at: float | None
    latest_workflow_instance_id: str | None
    latest_run_id: str | None
    last_sequence: int
    paused_at: float | None
    created_at: float
    updated_at: float
    deleted_at: float | None
    due_at: float | None


@dataclass(slots=True)
class ScheduleEventRow:
    namespace: str
    schedule_id: str
    sequence: int
    event_type: str
    recorded_at: float
    workflow_instance_id: str | None
    workflow_run_id: str | None
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ScheduleFilter:
    status: str | None = None
    workflow_type: str | None = None
    query: str | None = None  # substring of the schedule id or note


@dataclass(slots=True)
class SearchAttributeRow:
    namespace: str
    name: str
    type: str
    created_at: float


@dataclass(slots=True)
class NamespaceSettingsRow:
    namespace: str
    external_storage: dict[str, Any] | None
    updated_at: float


@dataclass(slots=True)
class BuildIdCohortRow:
    namespace: str
    task_queue: str
    build_id: str  # "" = unversioned
    drain_intent: str
    drained_at: float | None
    promoted_at: float | None
    updated_at: float


@dataclass(slots=True)
class RunArchiveRow:
    run_id: str
    namespace: str
    workflow_id: str
    reason: str | None
    archived_at: float


@dataclass(slots=True)
class BridgeEventRow:
    namespace: str
    adapter: str
    idempotency_key: str
    fingerprint: str
    outcome: dict[str, Any]
    created_at: float
