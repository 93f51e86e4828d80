"""The control-plane store verbs (``control.ControlTransaction``), once for both dialects.

Written with ``?`` placeholders against the hooks of ``_verbs.py``; the few places where the
dialects differ are class attributes and small methods that ``SqliteControlVerbs``
(``sqlite_control.py``) and ``PostgresControlVerbs`` (``postgres_control.py``) set.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import schema
from ._mapper import Mapper
from ._verbs import Dialect, VerbHooks, like_pattern
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

__all__ = ["ControlVerbs"]

OPEN_RUN = "('pending', 'running', 'waiting')"
_CLOSED_RUN = "('completed', 'failed', 'cancelled', 'terminated')"
OPEN_TASK = "('delayed', 'ready', 'leased')"


@dataclass(frozen=True)
class _Maps:
    ns: Mapper[NamespaceRow]
    nss: Mapper[NamespaceSettingsRow]
    sch: Mapper[ScheduleRow]
    sev: Mapper[ScheduleEventRow]
    sa: Mapper[SearchAttributeRow]
    coh: Mapper[BuildIdCohortRow]
    arc: Mapper[RunArchiveRow]
    brg: Mapper[BridgeEventRow]
    run: Mapper[RunRow]
    wft: Mapper[WorkflowTaskRow]
    act: Mapper[ActivityRow]
    worker: Mapper[WorkerRow]
    run_cols: str  # the runs columns as ``r.<name>``


@functools.cache
def _maps(d: Dialect) -> _Maps:
    run = d.mapper(schema.RUNS, RunRow)
    return _Maps(
        ns=d.mapper(schema.NAMESPACES, NamespaceRow),
        nss=d.mapper(schema.NAMESPACE_SETTINGS, NamespaceSettingsRow),
        sch=d.mapper(schema.SCHEDULES, ScheduleRow),
        sev=d.mapper(schema.SCHEDULE_EVENTS, ScheduleEventRow),
        sa=d.mapper(schema.SEARCH_ATTRIBUTES, SearchAttributeRow),
        coh=d.mapper(schema.BUILD_ID_COHORTS, BuildIdCohortRow),
        arc=d.mapper(schema.RUN_ARCHIVES, RunArchiveRow),
        brg=d.mapper(schema.BRIDGE_EVENTS, BridgeEventRow),
        run=run,
        wft=d.mapper(schema.WORKFLOW_TASKS, WorkflowTaskRow),
        act=d.mapper(schema.ACTIVITY_TASKS, ActivityRow),
        worker=d.mapper(schema.WORKERS, WorkerRow),
        run_cols=", ".join(f"r.{n}" for n in run.names),
    )


class ControlVerbs(VerbHooks):
    """Dialect hooks: ``_LOCK`` (appended to reads whose row the caller will rewrite),
    ``_SKIP_LOCKED`` (claims), :meth:`_json_field` and :meth:`_any_of`."""

    _LOCK = ""
    _SKIP_LOCKED = ""

    def _json_field(self, column: str, key: str) -> tuple[str, Any]:
        """SQL for the text of ``column``'s top-level ``key`` and its bound argument."""
        raise NotImplementedError

    def _any_of(self, column: str, values: Sequence[str]) -> tuple[str, Any]:
        """SQL for "``column`` is one of ``values``" and its one bound argument."""
        raise NotImplementedError

    @property
    def _cm(self) -> _Maps:
        return _maps(self._d)

    # -- namespaces ------------------------------------------------------------------------

    async def get_namespace(self, name: str) -> NamespaceRow | None:
        return await self._v_one(self._cm.ns, "name = ?", (name,))

    async def update_namespace(self, name: str, changes: dict[str, Any]) -> None:
        await self._v_update(self._cm.ns, {"name": name}, changes)

    async def get_namespace_settings(self, namespace: str) -> NamespaceSettingsRow | None:
        return await self._v_one(self._cm.nss, "namespace = ?", (namespace,))

    async def upsert_namespace_settings(self, row: NamespaceSettingsRow) -> None:
        await self._v_insert(
            self._cm.nss,
            row,
            " ON CONFLICT (namespace) DO UPDATE SET"
            " external_storage = excluded.external_storage, updated_at = excluded.updated_at",
        )

    # -- schedules -------------------------------------------------------------------------

    async def get_schedule(self, namespace: str, schedule_id: str) -> ScheduleRow | None:
        return await self._v_one(
            self._cm.sch, "namespace = ? AND schedule_id = ?" + self._LOCK, (namespace, schedule_id)
        )

    async def insert_schedule(self, row: ScheduleRow) -> None:
        await self._v_insert(self._cm.sch, row)

    async def update_schedule(
        self, namespace: str, schedule_id: str, changes: dict[str, Any]
    ) -> None:
        await self._v_update(
            self._cm.sch, {"namespace": namespace, "schedule_id": schedule_id}, changes
        )

    async def claim_schedule_fire(
        self, namespace: str, schedule_id: str, expected_fire_at: float, changes: dict[str, Any]
    ) -> bool:
        key = {"namespace": namespace, "schedule_id": schedule_id, "next_fire_at": expected_fire_at}
        return await self._v_update(self._cm.sch, key, changes) == 1

    async def list_schedules(
        self, namespace: str, flt: ScheduleFilter, offset: int, limit: int
    ) -> list[ScheduleRow]:
        where = ["namespace = ?"]
        args: list[Any] = [namespace]
        if flt.status:
            where.append("status = ?")
            args.append(flt.status)
        else:
            where.append("status != 'deleted'")
        if flt.workflow_type:
            field, key = self._json_field("action", "workflow_type")
            where.append(f"{field} = ?")
            args.extend((key, flt.workflow_type))
        if flt.query:
            where.append("(schedule_id LIKE ? ESCAPE '\\' OR note LIKE ? ESCAPE '\\')")
            args.extend((like_pattern(flt.query), like_pattern(flt.query)))
        return await self._v_many(
            self._cm.sch,
            " AND ".join(where) + " ORDER BY schedule_id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )

    async def due_schedules(self, now: float, limit: int) -> list[ScheduleRow]:
        return await self._v_many(
            self._cm.sch, "due_at <= ? ORDER BY due_at LIMIT ?" + self._SKIP_LOCKED, (now, limit)
        )

    async def append_schedule_event(self, row: ScheduleEventRow) -> None:
        await self._v_insert(self._cm.sev, row)

    async def read_schedule_events(
        self, namespace: str, schedule_id: str, after_sequence: int, limit: int
    ) -> list[ScheduleEventRow]:
        return await self._v_many(
            self._cm.sev,
            "namespace = ? AND schedule_id = ? AND sequence > ? ORDER BY sequence LIMIT ?",
            (namespace, schedule_id, after_sequence, limit),
        )

    # -- search attributes -------------------------------------------------------------------

    async def list_search_attributes(self, namespace: str) -> list[SearchAttributeRow]:
        return await self._v_many(self._cm.sa, "namespace = ? ORDER BY name", (namespace,))

    async def insert_search_attribute(self, row: SearchAttributeRow) -> None:
        await self._v_insert(self._cm.sa, row)

    async def delete_search_attribute(self, namespace: str, name: str) -> bool:
        deleted = await self._v_exec(
            "DELETE FROM search_attributes WHERE namespace = ? AND name = ?", (namespace, name)
        )
        return deleted > 0

    # -- task queues, workers, build ids -----------------------------------------------------

    async def task_queue_names(self, namespace: str) -> list[str]:
        rows = await self._v_rows(
            "SELECT task_queue FROM workers WHERE namespace = ? AND task_queue IS NOT NULL"
            " UNION SELECT task_queue FROM workflow_tasks WHERE namespace = ?"
            f" AND status IN {OPEN_TASK}"
            " UNION SELECT task_queue FROM activity_tasks WHERE namespace = ?"
            f" AND status IN {OPEN_TASK}"
            " UNION SELECT task_queue FROM runs WHERE namespace = ?"
            f" AND status IN {OPEN_RUN} ORDER BY 1",
            (namespace, namespace, namespace, namespace),
        )
        return [r[0] for r in rows]

    async def task_queue_counts(self, namespace: str, task_queue: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for table, kind in (("workflow_tasks", "workflow"), ("activity_tasks", "activity")):
            for status, n in await self._v_rows(
                f"SELECT status, COUNT(*) FROM {table} WHERE namespace = ? AND task_queue = ?"
                f" AND status IN {OPEN_TASK} GROUP BY status",
                (namespace, task_queue),
            ):
                out[f"{kind}_{status}"] = int(n)
        return out

    async def leased_tasks_on_queue(
        self, namespace: str, task_queue: str, limit: int
    ) -> tuple[list[WorkflowTaskRow], list[ActivityRow]]:
        where = (
            "namespace = ? AND task_queue = ? AND status = 'leased'"
            " ORDER BY lease_expires_at LIMIT ?"
        )
        args = (namespace, task_queue, limit)
        return await self._v_many(self._cm.wft, where, args), await self._v_many(
            self._cm.act, where, args
        )

    async def list_workers(self, namespace: str, task_queue: str | None) -> list[WorkerRow]:
        if task_queue is None:
            return await self._v_many(
                self._cm.worker, "namespace = ? ORDER BY worker_id", (namespace,)
            )
        return await self._v_many(
            self._cm.worker,
            "namespace = ? AND task_queue = ? ORDER BY worker_id",
            (namespace, task_queue),
        )

    async def get_cohort(
        self, namespace: str, task_queue: str, build_id: str
    ) -> BuildIdCohortRow | None:
        return await self._v_one(
            self._cm.coh,
            "namespace = ? AND task_queue = ? AND build_id = ?",
            (namespace, task_queue, build_id),
        )

    async def upsert_cohort(self, row: BuildIdCohortRow) -> None:
        await self._v_insert(
            self._cm.coh,
            row,
            " ON CONFLICT (namespace, task_queue, build_id) DO UPDATE SET"
            " drain_intent = excluded.drain_intent, drained_at = excluded.drained_at,"
            " promoted_at = excluded.promoted_at, updated_at = excluded.updated_at",
        )

    async def list_cohorts(self, namespace: str, task_queue: str) -> list[BuildIdCohortRow]:
        return await self._v_many(
            self._cm.coh,
            "namespace = ? AND task_queue = ? ORDER BY build_id",
            (namespace, task_queue),
        )

    async def draining_cohorts(self) -> list[BuildIdCohortRow]:
        return await self._v_many(self._cm.coh, "drain_intent = 'draining'", ())

    # -- maintenance -------------------------------------------------------------------------

    async def _runs_where(self, where: str, args: Sequence[Any]) -> list[RunRow]:
        m = self._cm
        return m.run.rows(await self._v_rows(f"SELECT {m.run_cols} FROM runs r WHERE {where}", args))

    async def expired_closed_runs(self, namespace: str, cutoff: float, limit: int) -> list[RunRow]:
        return await self._runs_where(
            f"r.namespace = ? AND r.status IN {_CLOSED_RUN} AND r.closed_at < ?"
            " ORDER BY r.closed_at LIMIT ?",
            (namespace, cutoff, limit),
        )

    async def delete_run(self, run_id: str) -> int:
        events = await self._v_exec("DELETE FROM history_events WHERE run_id = ?", (run_id,))
        for table in ("run_inbox", "workflow_tasks", "activity_tasks", "timers", "run_archives"):
            await self._v_exec(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
        await self._v_exec("DELETE FROM runs WHERE run_id = ?", (run_id,))
        return events

    async def delete_workflow(self, namespace: str, workflow_id: str) -> None:
        for table in ("workflows", "signal_requests"):
            await self._v_exec(
                f"DELETE FROM {table} WHERE namespace = ? AND workflow_id = ?",
                (namespace, workflow_id),
            )

    async def open_runs_without_task(
        self, namespace: str, progress_before: float, limit: int
    ) -> list[RunRow]:
        return await self._runs_where(
            f"r.namespace = ? AND r.status IN {OPEN_RUN}"
            " AND r.open_wait IS NULL AND COALESCE(r.last_progress_at, r.started_at) < ?"
            " AND NOT EXISTS (SELECT 1 FROM workflow_tasks t WHERE t.run_id = r.run_id"
            f" AND t.status IN {OPEN_TASK})"
            " AND NOT EXISTS (SELECT 1 FROM activity_tasks a WHERE a.run_id = r.run_id"
            f" AND a.status IN {OPEN_TASK})"
            " AND NOT EXISTS (SELECT 1 FROM timers m WHERE m.run_id = r.run_id"
            " AND m.status = 'pending')"
            " AND NOT EXISTS (SELECT 1 FROM run_inbox i WHERE i.run_id = r.run_id)"
            " ORDER BY r.started_at LIMIT ?",
            (namespace, progress_before, limit),
        )

    async def stale_ready_workflow_tasks(
        self, namespace: str, visible_before: float, limit: int
    ) -> list[WorkflowTaskRow]:
        return await self._v_many(
            self._cm.wft,
            "namespace = ? AND status = 'ready' AND visible_at < ? ORDER BY visible_at LIMIT ?",
            (namespace, visible_before, limit),
        )

    async def expired_leases_in(
        self, namespace: str, now: float, limit: int
    ) -> list[WorkflowTaskRow]:
        return await self._v_many(
            self._cm.wft,
            "namespace = ? AND status = 'leased' AND lease_expires_at <= ?"
            " ORDER BY lease_expires_at LIMIT ?",
            (namespace, now, limit),
        )

    async def overdue_activities(
        self, namespace: str, now: float, ids: Sequence[str] | None, limit: int
    ) -> list[ActivityRow]:
        where = (
            "namespace = ? AND ((deadline_at IS NOT NULL AND deadline_at <= ?)"
            " OR (status = 'leased' AND lease_expires_at <= ?))"
        )
        args: list[Any] = [namespace, now, now]
        if ids is not None:
            clause, arg = self._any_of("task_id", list(ids))
            where += f" AND {clause}"
            args.append(arg)
        return await self._v_many(self._cm.act, where + " ORDER BY task_id LIMIT ?", [*args, limit])

    async def get_archive(self, run_id: str) -> RunArchiveRow | None:
        return await self._v_one(self._cm.arc, "run_id = ?", (run_id,))

    async def insert_archive(self, row: RunArchiveRow) -> None:
        await self._v_insert(self._cm.arc, row)

    # -- bridge ------------------------------------------------------------------------------

    async def get_bridge_event(
        self, namespace: str, adapter: str, idempotency_key: str
    ) -> BridgeEventRow | None:
        return await self._v_one(
            self._cm.brg,
            "namespace = ? AND adapter = ? AND idempotency_key = ?",
            (namespace, adapter, idempotency_key),
        )

    async def insert_bridge_event(self, row: BridgeEventRow) -> None:
        await self._v_insert(self._cm.brg, row)
