"""The core verbs whose SQL is the same on both back ends, written once (see ``_verbs.py``).

Verbs whose SQL or locking differs between SQLite and PostgreSQL (claims, run-row locks,
history appends) stay in ``sqlite.py`` and ``postgres.py``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from . import schema
from ._mapper import Mapper, dumps
from ._verbs import Dialect, VerbHooks
from .rows import (
    ActivityRow,
    EventRow,
    NamespaceRow,
    RunRow,
    SignalRequestRow,
    TimerRow,
    WorkerRow,
    WorkflowRow,
    WorkflowTaskRow,
)

_OPEN_TASK = "status IN ('delayed', 'ready', 'leased')"


@dataclass(frozen=True)
class _Mappers:
    ns: Mapper[NamespaceRow]
    wf: Mapper[WorkflowRow]
    run: Mapper[RunRow]
    evt: Mapper[EventRow]
    wft: Mapper[WorkflowTaskRow]
    act: Mapper[ActivityRow]
    timer: Mapper[TimerRow]
    worker: Mapper[WorkerRow]
    sig: Mapper[SignalRequestRow]


@functools.cache
def _mappers(d: Dialect) -> _Mappers:
    # Built once per dialect: these verbs run on every request, and looking a mapper up by
    # its (large, frozen) table would hash the whole table definition each time.
    return _Mappers(
        d.mapper(schema.NAMESPACES, NamespaceRow),
        d.mapper(schema.WORKFLOWS, WorkflowRow),
        d.mapper(schema.RUNS, RunRow),
        d.mapper(schema.HISTORY_EVENTS, EventRow),
        d.mapper(schema.WORKFLOW_TASKS, WorkflowTaskRow),
        d.mapper(schema.ACTIVITY_TASKS, ActivityRow),
        d.mapper(schema.TIMERS, TimerRow),
        d.mapper(schema.WORKERS, WorkerRow),
        d.mapper(schema.SIGNAL_REQUESTS, SignalRequestRow),
    )


class CoreVerbs(VerbHooks):
    """Inserts, keyed updates and simple reads of the version-1 tables."""

    async def insert_namespace(self, row: NamespaceRow) -> None:
        await self._v_insert(_mappers(self._d).ns, row)

    async def insert_workflow(self, row: WorkflowRow) -> None:
        await self._v_insert(_mappers(self._d).wf, row)

    async def update_workflow(
        self, namespace: str, workflow_id: str, changes: dict[str, Any]
    ) -> None:
        await self._v_update(
            _mappers(self._d).wf,
            {"namespace": namespace, "workflow_id": workflow_id},
            changes,
        )

    async def insert_run(self, row: RunRow) -> None:
        await self._v_insert(_mappers(self._d).run, row)

    async def update_run(self, run_id: str, changes: dict[str, Any]) -> None:
        await self._v_update(_mappers(self._d).run, {"run_id": run_id}, changes)

    async def read_events(self, run_id: str, after_sequence: int, limit: int) -> list[EventRow]:
        return await self._v_many(
            _mappers(self._d).evt,
            "run_id = ? AND sequence > ? ORDER BY sequence LIMIT ?",
            (run_id, after_sequence, limit),
        )

    async def push_inbox(
        self,
        run_id: str,
        event_type: str,
        payload: dict[str, Any],
        recorded_at: float,
        wakes: bool,
        wait_id: str | None,
    ) -> None:
        await self._v_exec(
            "INSERT INTO run_inbox (run_id, event_type, payload, recorded_at, wakes, wait_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                run_id,
                event_type,
                dumps(payload),
                recorded_at,
                wakes if self._d.native_bool else int(wakes),
                wait_id,
            ),
        )

    async def drop_inbox(self, run_id: str, wait_id: str | None = None) -> None:
        if wait_id is None:
            await self._v_exec("DELETE FROM run_inbox WHERE run_id = ?", (run_id,))
        else:
            await self._v_exec(
                "DELETE FROM run_inbox WHERE run_id = ? AND wait_id = ?", (run_id, wait_id)
            )

    async def insert_workflow_task(self, row: WorkflowTaskRow) -> None:
        await self._v_insert(_mappers(self._d).wft, row)

    async def update_workflow_task(self, task_id: str, changes: dict[str, Any]) -> None:
        await self._v_update(_mappers(self._d).wft, {"task_id": task_id}, changes)

    async def open_workflow_task(self, run_id: str) -> WorkflowTaskRow | None:
        return await self._v_one(
            _mappers(self._d).wft,
            f"run_id = ? AND {_OPEN_TASK} LIMIT 1",
            (run_id,),
        )

    async def close_open_workflow_tasks(self, run_id: str, status: str, now: float) -> None:
        await self._v_exec(
            f"UPDATE workflow_tasks SET status = ?, finished_at = ? WHERE run_id = ? AND {_OPEN_TASK}",
            (status, now, run_id),
        )

    async def insert_activity(self, row: ActivityRow) -> None:
        await self._v_insert(_mappers(self._d).act, row)

    async def update_activity(self, task_id: str, changes: dict[str, Any]) -> None:
        await self._v_update(_mappers(self._d).act, {"task_id": task_id}, changes)

    async def cancel_open_activities(self, run_id: str, now: float) -> None:
        await self._v_exec(
            "UPDATE activity_tasks SET status = 'cancelled', finished_at = ?, deadline_at = NULL"
            f" WHERE run_id = ? AND {_OPEN_TASK}",
            (now, run_id),
        )

    async def insert_timer(self, row: TimerRow) -> None:
        await self._v_insert(_mappers(self._d).timer, row)

    async def update_timer(self, timer_id: str, changes: dict[str, Any]) -> None:
        await self._v_update(_mappers(self._d).timer, {"timer_id": timer_id}, changes)

    async def cancel_pending_timers(self, run_id: str) -> None:
        await self._v_exec(
            "UPDATE timers SET status = 'cancelled' WHERE run_id = ? AND status = 'pending'",
            (run_id,),
        )

    async def update_worker(self, namespace: str, worker_id: str, changes: dict[str, Any]) -> None:
        await self._v_update(
            _mappers(self._d).worker,
            {"namespace": namespace, "worker_id": worker_id},
            changes,
        )

    async def delete_worker(self, namespace: str, worker_id: str) -> bool:
        deleted = await self._v_exec(
            "DELETE FROM workers WHERE namespace = ? AND worker_id = ?", (namespace, worker_id)
        )
        return deleted > 0

    async def get_signal_request(
        self, namespace: str, workflow_id: str, request_id: str
    ) -> SignalRequestRow | None:
        return await self._v_one(
            _mappers(self._d).sig,
            "namespace = ? AND workflow_id = ? AND request_id = ?",
            (namespace, workflow_id, request_id),
        )

    async def insert_signal_request(self, row: SignalRequestRow) -> None:
        await self._v_insert(_mappers(self._d).sig, row)
