"""The storage interface the engine programs against, and the ``open_store`` URL factory.

The engine only speaks the domain verbs of :class:`Transaction`; every SQL statement
lives in a back-end module (``sqlite.py`` now, ``postgres.py`` next). A back end must
make each ``async with store.transaction()`` block atomic and serialised with respect
to other writers of the same rows (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: row locks,
``FOR UPDATE SKIP LOCKED`` in the ``next_ready_*`` verbs).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from .rows import (
    ActivityRow,
    EventRow,
    InboxRow,
    LiteRunFilter,
    LiteRunRow,
    LiteStepRow,
    NamespaceRow,
    RunFilter,
    RunRow,
    SignalRequestRow,
    TimerRow,
    WorkerRow,
    WorkflowRow,
    WorkflowTaskRow,
)

__all__ = ["Store", "StoreVersionError", "Transaction"]


class StoreVersionError(RuntimeError):
    """The database was written by a newer version of the code."""


class Transaction(Protocol):
    """Domain verbs available inside one store transaction."""

    async def list_namespaces(self) -> list[NamespaceRow]: ...

    async def insert_namespace(self, row: NamespaceRow) -> None: ...

    async def get_workflow(self, namespace: str, workflow_id: str) -> WorkflowRow | None: ...

    async def insert_workflow(self, row: WorkflowRow) -> None: ...

    async def update_workflow(
        self, namespace: str, workflow_id: str, changes: dict[str, Any]
    ) -> None: ...

    async def get_run(self, run_id: str) -> RunRow | None: ...

    async def insert_run(self, row: RunRow) -> None: ...

    async def update_run(self, run_id: str, changes: dict[str, Any]) -> None: ...

    async def list_runs(self, namespace: str, workflow_id: str) -> list[RunRow]: ...

    async def list_current_runs(
        self, namespace: str, flt: RunFilter, offset: int, limit: int
    ) -> list[RunRow]: ...

    async def open_runs_past_deadline(self, now: float, limit: int) -> list[RunRow]: ...

    async def append_events(self, events: Sequence[EventRow]) -> None: ...

    async def read_events(self, run_id: str, after_sequence: int, limit: int) -> list[EventRow]: ...

    async def push_inbox(
        self,
        run_id: str,
        event_type: str,
        payload: dict[str, Any],
        recorded_at: float,
        wakes: bool,
        wait_id: str | None,
    ) -> None: ...

    async def take_inbox(self, run_id: str) -> list[InboxRow]: ...

    async def drop_inbox(self, run_id: str, wait_id: str | None = None) -> None: ...

    async def insert_workflow_task(self, row: WorkflowTaskRow) -> None: ...

    async def get_workflow_task(self, task_id: str) -> WorkflowTaskRow | None: ...

    async def update_workflow_task(self, task_id: str, changes: dict[str, Any]) -> None: ...

    async def open_workflow_task(self, run_id: str) -> WorkflowTaskRow | None: ...

    async def next_ready_workflow_task(
        self, namespace: str, task_queue: str, workflow_types: Sequence[str] | None, now: float
    ) -> WorkflowTaskRow | None: ...

    async def workflow_task_by_poll(self, poll_request_id: str) -> WorkflowTaskRow | None: ...

    async def leased_workflow_tasks_of(
        self, namespace: str, worker_id: str
    ) -> list[WorkflowTaskRow]: ...

    async def close_open_workflow_tasks(self, run_id: str, status: str, now: float) -> None: ...

    async def expired_workflow_leases(self, now: float, limit: int) -> list[WorkflowTaskRow]: ...

    async def due_delayed_workflow_tasks(self, now: float, limit: int) -> list[WorkflowTaskRow]: ...

    async def insert_activity(self, row: ActivityRow) -> None: ...

    async def get_activity(self, task_id: str) -> ActivityRow | None: ...

    async def update_activity(self, task_id: str, changes: dict[str, Any]) -> None: ...

    async def next_ready_activity(
        self, namespace: str, task_queue: str, activity_types: Sequence[str] | None, now: float
    ) -> ActivityRow | None: ...

    async def activity_by_poll(self, poll_request_id: str) -> ActivityRow | None: ...

    async def activity_by_sequence(self, run_id: str, sequence: int) -> ActivityRow | None: ...

    async def cancel_open_activities(self, run_id: str, now: float) -> None: ...

    async def expired_activity_leases(self, now: float, limit: int) -> list[ActivityRow]: ...

    async def due_delayed_activities(self, now: float, limit: int) -> list[ActivityRow]: ...

    async def activities_past_deadline(self, now: float, limit: int) -> list[ActivityRow]: ...

    async def count_unresolved_in_group(self, run_id: str, group_id: str) -> int: ...

    async def insert_timer(self, row: TimerRow) -> None: ...

    async def get_timer(self, timer_id: str) -> TimerRow | None: ...

    async def update_timer(self, timer_id: str, changes: dict[str, Any]) -> None: ...

    async def due_timers(self, now: float, limit: int) -> list[TimerRow]: ...

    async def cancel_pending_timers(self, run_id: str) -> None: ...

    async def next_due_at(self) -> float | None: ...

    async def get_worker(self, namespace: str, worker_id: str) -> WorkerRow | None: ...

    async def upsert_worker(self, row: WorkerRow) -> None: ...

    async def update_worker(
        self, namespace: str, worker_id: str, changes: dict[str, Any]
    ) -> None: ...

    async def delete_worker(self, namespace: str, worker_id: str) -> bool: ...

    async def get_signal_request(
        self, namespace: str, workflow_id: str, request_id: str
    ) -> SignalRequestRow | None: ...

    async def insert_signal_request(self, row: SignalRequestRow) -> None: ...

    # -- lite API (seed 004): runs and checkpoints of in-process durable functions --------

    async def get_lite_run_for_update(self, app: str, run_id: str) -> LiteRunRow | None:
        """The run, locked until the transaction ends (PostgreSQL: ``FOR UPDATE``)."""
        ...

    async def insert_lite_run(self, row: LiteRunRow) -> bool:
        """Insert unless ``(app, run_id)`` exists; ``False`` when it did (nothing written)."""
        ...

    async def update_lite_run(self, app: str, run_id: str, changes: dict[str, Any]) -> None: ...

    async def update_owned_lite_run(
        self, app: str, run_id: str, owner: str, changes: dict[str, Any]
    ) -> bool:
        """Apply ``changes`` only while ``owner`` holds the run's lease; ``False`` otherwise."""
        ...

    async def upsert_lite_step(self, row: LiteStepRow) -> None: ...

    async def lite_steps_of(self, app: str, run_id: str) -> list[LiteStepRow]:
        """The run's steps in the order they were first written."""
        ...

    async def list_lite_runs(self, flt: LiteRunFilter, offset: int, limit: int) -> list[LiteRunRow]:
        """Newest first."""
        ...


class Store(Protocol):
    """An open database: hands out transactions."""

    dialect: str

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
