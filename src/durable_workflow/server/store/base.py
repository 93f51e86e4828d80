"""The storage interface the engine programs against, and the ``open_store`` URL factory.

The engine only speaks the domain verbs of :class:`Transaction`; every SQL statement
lives in a back-end module (``sqlite.py`` now, ``postgres.py`` next). A back end must
make each ``async with store.transaction()`` block atomic and serialised with respect
to other writers of the same rows (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: row locks,
``FOR UPDATE SKIP LOCKED`` in the ``next_ready_*`` verbs).
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

from .control import ControlTransaction
from .lite_verbs import LiteTransaction
from .model_verbs import ModelTransaction
from .rows import (
    ActivityRow,
    EventRow,
    InboxRow,
    NamespaceRow,
    RunFilter,
    RunRow,
    SignalRequestRow,
    TimerRow,
    WorkerRow,
    WorkflowRow,
    WorkflowTaskRow,
)

__all__ = [
    "Store",
    "StoreConflict",
    "StoreVersionError",
    "Transaction",
    "WakeKey",
    "WakeListener",
    "redact",
    "retry_conflicts",
]

T = TypeVar("T")

WakeKey = tuple[str, str, str]  # (namespace, task queue, kind), as in engine.wakeups
WakeListener = Callable[[WakeKey | None, str | None], None]
"""Called when another process made a task ready: ``(key, task_type)``; ``(None, None)``
means "notifications may have been missed" (listener reconnected): re-check every poll."""


class StoreVersionError(RuntimeError):
    """The database was written by a newer version of the code."""


class StoreConflict(RuntimeError):
    """A concurrent transaction won a race (deadlock, lock timeout, duplicate key, SQLite busy).

    The losing transaction was rolled back entirely, so running the whole operation again
    is safe, and it will then see the winner's writes (e.g. the workflow that a concurrent
    start created, or the signal request a concurrent retry recorded).
    """


def redact(url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages and logs)."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


_RETRIES = 30


async def retry_conflicts(operation: Callable[[], Awaitable[T]]) -> T:
    """Run ``operation`` (one or more whole store transactions), again on :class:`StoreConflict`.

    Jittered, capped back-off so racing servers do not collide again in lock step.
    """
    for attempt in range(_RETRIES):
        try:
            return await operation()
        except StoreConflict:
            if attempt == _RETRIES - 1:
                raise
            await asyncio.sleep(random.uniform(0.0, min(0.05, 0.001 * 2**attempt)))
    raise AssertionError("unreachable")


class Transaction(ModelTransaction, ControlTransaction, LiteTransaction, Protocol):
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

    async def publish_wakes(self, wakes: Sequence[tuple[WakeKey, str | None]]) -> None:
        """Tell other processes on this database, at commit, that these tasks became ready."""
        ...


class Store(Protocol):
    """An open database: hands out transactions."""

    dialect: str
    # Other processes may write this database: parked polls re-check this often (seconds)
    # even without a wake-up, and the sweeper never sleeps longer than ``max_sweep_sleep``,
    # so items created elsewhere are seen even if a notification is missed.
    poll_recheck_seconds: float | None
    max_sweep_sleep: float | None

    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

    async def listen(self, listener: WakeListener) -> None:
        """Deliver other processes' wake-ups to ``listener`` until :meth:`close` (no-op if unsupported)."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
