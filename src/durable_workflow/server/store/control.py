"""Store verbs of the control plane (schedules, namespaces, search attributes, task queues,
maintenance). ``base.Transaction`` includes them; every back end implements them.

Exactly-once schedule fires rest on :meth:`ControlTransaction.claim_schedule_fire`: a
conditional update keyed by the fire time the caller read, so of several server processes
that saw the same due schedule only one moves it on (and starts the workflow in the same
transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .control_rows import (
    BridgeEventRow,
    BuildIdCohortRow,
    NamespaceSettingsRow,
    RunArchiveRow,
    ScheduleEventRow,
    ScheduleFilter,
    ScheduleRow,
    SearchAttributeRow,
)
from .rows import ActivityRow, NamespaceRow, RunRow, WorkerRow, WorkflowTaskRow

__all__ = ["ControlTransaction"]


class ControlTransaction(Protocol):
    # -- namespaces ------------------------------------------------------------------------
    async def get_namespace(self, name: str) -> NamespaceRow | None: ...

    async def update_namespace(self, name: str, changes: dict[str, Any]) -> None: ...

    async def get_namespace_settings(self, namespace: str) -> NamespaceSettingsRow | None: ...

    async def upsert_namespace_settings(self, row: NamespaceSettingsRow) -> None: ...

    # -- schedules -------------------------------------------------------------------------
    async def get_schedule(self, namespace: str, schedule_id: str) -> ScheduleRow | None: ...

    async def insert_schedule(self, row: ScheduleRow) -> None: ...

    async def update_schedule(
        self, namespace: str, schedule_id: str, changes: dict[str, Any]
    ) -> None: ...

    async def claim_schedule_fire(
        self, namespace: str, schedule_id: str, expected_fire_at: float, changes: dict[str, Any]
    ) -> bool:
        """Apply ``changes`` only if ``next_fire_at`` still equals ``expected_fire_at``."""
        ...

    async def list_schedules(
        self, namespace: str, flt: ScheduleFilter, offset: int, limit: int
    ) -> list[ScheduleRow]: ...

    async def due_schedules(self, now: float, limit: int) -> list[ScheduleRow]: ...

    async def append_schedule_event(self, row: ScheduleEventRow) -> None: ...

    async def read_schedule_events(
        self, namespace: str, schedule_id: str, after_sequence: int, limit: int
    ) -> list[ScheduleEventRow]: ...

    # -- search attributes -------------------------------------------------------------------
    async def list_search_attributes(self, namespace: str) -> list[SearchAttributeRow]: ...

    async def insert_search_attribute(self, row: SearchAttributeRow) -> None: ...

    async def delete_search_attribute(self, namespace: str, name: str) -> bool: ...

    # -- task queues, workers, build ids -----------------------------------------------------
    async def task_queue_names(self, namespace: str) -> list[str]: ...

    async def task_queue_counts(self, namespace: str, task_queue: str) -> dict[str, int]:
        """``{"workflow_ready", "workflow_leased", "workflow_delayed", "activity_ready", ...}``."""
        ...

    async def leased_tasks_on_queue(
        self, namespace: str, task_queue: str, limit: int
    ) -> tuple[list[WorkflowTaskRow], list[ActivityRow]]: ...

    async def list_workers(self, namespace: str, task_queue: str | None) -> list[WorkerRow]: ...

    async def get_cohort(
        self, namespace: str, task_queue: str, build_id: str
    ) -> BuildIdCohortRow | None: ...

    async def upsert_cohort(self, row: BuildIdCohortRow) -> None: ...

    async def list_cohorts(self, namespace: str, task_queue: str) -> list[BuildIdCohortRow]: ...

    async def draining_cohorts(self) -> list[BuildIdCohortRow]: ...

    # -- maintenance -------------------------------------------------------------------------
    async def expired_closed_runs(
        self, namespace: str, cutoff: float, limit: int
    ) -> list[RunRow]: ...

    async def delete_run(self, run_id: str) -> int:
        """Delete a run with its history, tasks, activities, timers and inbox; events deleted."""
        ...

    async def delete_workflow(self, namespace: str, workflow_id: str) -> None: ...

    async def open_runs_without_task(
        self, namespace: str, progress_before: float, limit: int
    ) -> list[RunRow]:
        """Open runs with no open workflow task, activity, timer or wait, idle since before."""
        ...

    async def stale_ready_workflow_tasks(
        self, namespace: str, visible_before: float, limit: int
    ) -> list[WorkflowTaskRow]: ...

    async def expired_leases_in(
        self, namespace: str, now: float, limit: int
    ) -> list[WorkflowTaskRow]: ...

    async def overdue_activities(
        self, namespace: str, now: float, ids: Sequence[str] | None, limit: int
    ) -> list[ActivityRow]: ...

    async def get_archive(self, run_id: str) -> RunArchiveRow | None: ...

    async def insert_archive(self, row: RunArchiveRow) -> None: ...

    # -- bridge ------------------------------------------------------------------------------
    async def get_bridge_event(
        self, namespace: str, adapter: str, idempotency_key: str
    ) -> BridgeEventRow | None: ...

    async def insert_bridge_event(self, row: BridgeEventRow) -> None: ...
