"""SQLite implementation of the control-plane store verbs (``control.ControlTransaction``).

Mixed into ``SqliteTransaction``; uses its connection ``self._c``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from . import schema
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

T = TypeVar("T")

_OPEN_RUN = "('pending', 'running', 'waiting')"
_CLOSED_RUN = "('completed', 'failed', 'cancelled', 'terminated')"
_OPEN_TASK = "('delayed', 'ready', 'leased')"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class _Rows(Generic[T]):
    """Tuple <-> row object for one table (JSON and boolean columns decoded)."""

    def __init__(self, table: schema.Table, cls: type[T], alias: str = "") -> None:
        self.table = table.name
        self.cls = cls
        self.names = table.column_names
        prefix = f"{alias}." if alias else ""
        self.cols = ", ".join(prefix + n for n in self.names)
        self.select = f"SELECT {self.cols} FROM {table.name}"
        self.json_cols = table.json_columns
        self.bool_cols = table.bool_columns
        self.insert = (
            f"INSERT INTO {table.name} ({', '.join(self.names)})"
            f" VALUES ({', '.join('?' * len(self.names))})"
        )

    def row(self, values: Sequence[Any]) -> T:
        v = list(values)
        for i, n in enumerate(self.names):
            if v[i] is None:
                continue
            if n in self.json_cols:
                v[i] = json.loads(v[i])
            elif n in self.bool_cols:
                v[i] = bool(v[i])
        return self.cls(*v)

    def rows(self, cursor: Iterable[Sequence[Any]]) -> list[T]:
        return [self.row(r) for r in cursor]

    def encode(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        if name in self.json_cols:
            return _dumps(value)
        if name in self.bool_cols:
            return 1 if value else 0
        return value

    def values(self, obj: T) -> tuple[Any, ...]:
        return tuple(self.encode(n, getattr(obj, n)) for n in self.names)


_NS = _Rows(schema.NAMESPACES, NamespaceRow)
_NSS = _Rows(schema.NAMESPACE_SETTINGS, NamespaceSettingsRow)
_SCH = _Rows(schema.SCHEDULES, ScheduleRow)
_SEV = _Rows(schema.SCHEDULE_EVENTS, ScheduleEventRow)
_SA = _Rows(schema.SEARCH_ATTRIBUTES, SearchAttributeRow)
_COH = _Rows(schema.BUILD_ID_COHORTS, BuildIdCohortRow)
_ARC = _Rows(schema.RUN_ARCHIVES, RunArchiveRow)
_BRG = _Rows(schema.BRIDGE_EVENTS, BridgeEventRow)
_RUN = _Rows(schema.RUNS, RunRow, alias="r")
_WFT = _Rows(schema.WORKFLOW_TASKS, WorkflowTaskRow)
_ACT = _Rows(schema.ACTIVITY_TASKS, ActivityRow)
_WORKER = _Rows(schema.WORKERS, WorkerRow)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SqliteControlVerbs:
    _c: sqlite3.Connection

    def _get(self, m: _Rows[T], where: str, args: Sequence[Any]) -> T | None:
        row = self._c.execute(f"{m.select} WHERE {where}", args).fetchone()
        return None if row is None else m.row(row)

    def _all(self, m: _Rows[T], where: str, args: Sequence[Any]) -> list[T]:
        return m.rows(self._c.execute(f"{m.select} WHERE {where}", args))

    def _set(self, m: _Rows[Any], key: dict[str, Any], changes: dict[str, Any]) -> int:
        if not changes:
            return 0
        sets = ", ".join(f"{k} = ?" for k in changes)
        where = " AND ".join(f"{k} = ?" for k in key)
        args = [m.encode(k, v) for k, v in changes.items()] + list(key.values())
        return self._c.execute(f"UPDATE {m.table} SET {sets} WHERE {where}", args).rowcount

    # -- namespaces ------------------------------------------------------------------------

    async def get_namespace(self, name: str) -> NamespaceRow | None:
        return self._get(_NS, "name = ?", (name,))

    async def update_namespace(self, name: str, changes: dict[str, Any]) -> None:
        self._set(_NS, {"name": name}, changes)

    async def get_namespace_settings(self, namespace: str) -> NamespaceSettingsRow | None:
        return self._get(_NSS, "namespace = ?", (namespace,))

    async def upsert_namespace_settings(self, row: NamespaceSettingsRow) -> None:
        self._c.execute(
            f"{_NSS.insert} ON CONFLICT (namespace) DO UPDATE SET"
            " external_storage = excluded.external_storage, updated_at = excluded.updated_at",
            _NSS.values(row),
        )

    # -- schedules -------------------------------------------------------------------------

    async def get_schedule(self, namespace: str, schedule_id: str) -> ScheduleRow | None:
        return self._get(_SCH, "namespace = ? AND schedule_id = ?", (namespace, schedule_id))

    async def insert_schedule(self, row: ScheduleRow) -> None:
        self._c.execute(_SCH.insert, _SCH.values(row))

    async def update_schedule(
        self, namespace: str, schedule_id: str, changes: dict[str, Any]
    ) -> None:
        self._set(_SCH, {"namespace": namespace, "schedule_id": schedule_id}, changes)

    async def claim_schedule_fire(
        self, namespace: str, schedule_id: str, expected_fire_at: float, changes: dict[str, Any]
    ) -> bool:
        sets = ", ".join(f"{k} = ?" for k in changes)
        args = [_SCH.encode(k, v) for k, v in changes.items()]
        cur = self._c.execute(
            f"UPDATE schedules SET {sets} WHERE namespace = ? AND schedule_id = ?"
            " AND next_fire_at = ?",
            [*args, namespace, schedule_id, expected_fire_at],
        )
        return cur.rowcount == 1

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
            where.append("json_extract(action, '$.workflow_type') = ?")
            args.append(flt.workflow_type)
        if flt.query:
            where.append("(schedule_id LIKE ? ESCAPE '\\' OR note LIKE ? ESCAPE '\\')")
            args.extend((_like(flt.query), _like(flt.query)))
        return self._all(
            _SCH,
            " AND ".join(where) + " ORDER BY schedule_id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )

    async def due_schedules(self, now: float, limit: int) -> list[ScheduleRow]:
        return self._all(_SCH, "due_at <= ? ORDER BY due_at LIMIT ?", (now, limit))

    async def append_schedule_event(self, row: ScheduleEventRow) -> None:
        self._c.execute(_SEV.insert, _SEV.values(row))

    async def read_schedule_events(
        self, namespace: str, schedule_id: str, after_sequence: int, limit: int
    ) -> list[ScheduleEventRow]:
        return self._all(
            _SEV,
            "namespace = ? AND schedule_id = ? AND sequence > ? ORDER BY sequence LIMIT ?",
            (namespace, schedule_id, after_sequence, limit),
        )

    # -- search attributes -------------------------------------------------------------------

    async def list_search_attributes(self, namespace: str) -> list[SearchAttributeRow]:
        return self._all(_SA, "namespace = ? ORDER BY name", (namespace,))

    async def insert_search_attribute(self, row: SearchAttributeRow) -> None:
        self._c.execute(_SA.insert, _SA.values(row))

    async def delete_search_attribute(self, namespace: str, name: str) -> bool:
        cur = self._c.execute(
            "DELETE FROM search_attributes WHERE namespace = ? AND name = ?", (namespace, name)
        )
        return cur.rowcount > 0

    # -- task queues, workers, build ids -----------------------------------------------------

    async def task_queue_names(self, namespace: str) -> list[str]:
        rows = self._c.execute(
            "SELECT task_queue FROM workers WHERE namespace = ? AND task_queue IS NOT NULL"
            " UNION SELECT task_queue FROM workflow_tasks WHERE namespace = ?"
            f" AND status IN {_OPEN_TASK}"
            " UNION SELECT task_queue FROM activity_tasks WHERE namespace = ?"
            f" AND status IN {_OPEN_TASK}"
            " UNION SELECT task_queue FROM runs WHERE namespace = ?"
            f" AND status IN {_OPEN_RUN} ORDER BY 1",
            (namespace, namespace, namespace, namespace),
        ).fetchall()
        return [r[0] for r in rows]

    async def task_queue_counts(self, namespace: str, task_queue: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for table, kind in (("workflow_tasks", "workflow"), ("activity_tasks", "activity")):
            for status, n in self._c.execute(
                f"SELECT status, COUNT(*) FROM {table} WHERE namespace = ? AND task_queue = ?"
                f" AND status IN {_OPEN_TASK} GROUP BY status",
                (namespace, task_queue),
            ):
                out[f"{kind}_{status}"] = int(n)
        return out

    async def leased_tasks_on_queue(
        self, namespace: str, task_queue: str, limit: int
    ) -> tuple[list[WorkflowTaskRow], list[ActivityRow]]:
        where = "namespace = ? AND task_queue = ? AND status = 'leased' ORDER BY lease_expires_at LIMIT ?"
        args = (namespace, task_queue, limit)
        return self._all(_WFT, where, args), self._all(_ACT, where, args)

    async def list_workers(self, namespace: str, task_queue: str | None) -> list[WorkerRow]:
        if task_queue is None:
            return self._all(_WORKER, "namespace = ? ORDER BY worker_id", (namespace,))
        return self._all(
            _WORKER, "namespace = ? AND task_queue = ? ORDER BY worker_id", (namespace, task_queue)
        )

    async def get_cohort(
        self, namespace: str, task_queue: str, build_id: str
    ) -> BuildIdCohortRow | None:
        return self._get(
            _COH,
            "namespace = ? AND task_queue = ? AND build_id = ?",
            (namespace, task_queue, build_id),
        )

    async def upsert_cohort(self, row: BuildIdCohortRow) -> None:
        self._c.execute(
            f"{_COH.insert} ON CONFLICT (namespace, task_queue, build_id) DO UPDATE SET"
            " drain_intent = excluded.drain_intent, drained_at = excluded.drained_at,"
            " promoted_at = excluded.promoted_at, updated_at = excluded.updated_at",
            _COH.values(row),
        )

    async def list_cohorts(self, namespace: str, task_queue: str) -> list[BuildIdCohortRow]:
        return self._all(
            _COH, "namespace = ? AND task_queue = ? ORDER BY build_id", (namespace, task_queue)
        )

    async def draining_cohorts(self) -> list[BuildIdCohortRow]:
        return self._all(_COH, "drain_intent = 'draining'", ())

    # -- maintenance -------------------------------------------------------------------------

    async def expired_closed_runs(self, namespace: str, cutoff: float, limit: int) -> list[RunRow]:
        return _RUN.rows(
            self._c.execute(
                f"SELECT {_RUN.cols} FROM runs r WHERE r.namespace = ?"
                f" AND r.status IN {_CLOSED_RUN} AND r.closed_at < ?"
                " ORDER BY r.closed_at LIMIT ?",
                (namespace, cutoff, limit),
            )
        )

    async def delete_run(self, run_id: str) -> int:
        events = self._c.execute("DELETE FROM history_events WHERE run_id = ?", (run_id,)).rowcount
        for table in ("run_inbox", "workflow_tasks", "activity_tasks", "timers", "run_archives"):
            self._c.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
        self._c.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
        return int(events)

    async def delete_workflow(self, namespace: str, workflow_id: str) -> None:
        self._c.execute(
            "DELETE FROM workflows WHERE namespace = ? AND workflow_id = ?",
            (namespace, workflow_id),
        )
        self._c.execute(
            "DELETE FROM signal_requests WHERE namespace = ? AND workflow_id = ?",
            (namespace, workflow_id),
        )

    async def open_runs_without_task(
        self, namespace: str, progress_before: float, limit: int
    ) -> list[RunRow]:
        return _RUN.rows(
            self._c.execute(
                f"SELECT {_RUN.cols} FROM runs r WHERE r.namespace = ? AND r.status IN {_OPEN_RUN}"
                " AND r.open_wait IS NULL AND COALESCE(r.last_progress_at, r.started_at) < ?"
                " AND NOT EXISTS (SELECT 1 FROM workflow_tasks t WHERE t.run_id = r.run_id"
                f" AND t.status IN {_OPEN_TASK})"
                " AND NOT EXISTS (SELECT 1 FROM activity_tasks a WHERE a.run_id = r.run_id"
                f" AND a.status IN {_OPEN_TASK})"
                " AND NOT EXISTS (SELECT 1 FROM timers m WHERE m.run_id = r.run_id"
                " AND m.status = 'pending')"
                " AND NOT EXISTS (SELECT 1 FROM run_inbox i WHERE i.run_id = r.run_id)"
                " ORDER BY r.started_at LIMIT ?",
                (namespace, progress_before, limit),
            )
        )

    async def stale_ready_workflow_tasks(
        self, namespace: str, visible_before: float, limit: int
    ) -> list[WorkflowTaskRow]:
        return self._all(
            _WFT,
            "namespace = ? AND status = 'ready' AND visible_at < ? ORDER BY visible_at LIMIT ?",
            (namespace, visible_before, limit),
        )

    async def expired_leases_in(
        self, namespace: str, now: float, limit: int
    ) -> list[WorkflowTaskRow]:
        return self._all(
            _WFT,
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
            where += " AND task_id IN (SELECT value FROM json_each(?))"
            args.append(_dumps(list(ids)))
        return self._all(_ACT, where + " ORDER BY task_id LIMIT ?", [*args, limit])

    async def get_archive(self, run_id: str) -> RunArchiveRow | None:
        return self._get(_ARC, "run_id = ?", (run_id,))

    async def insert_archive(self, row: RunArchiveRow) -> None:
        self._c.execute(_ARC.insert, _ARC.values(row))

    # -- bridge ------------------------------------------------------------------------------

    async def get_bridge_event(
        self, namespace: str, adapter: str, idempotency_key: str
    ) -> BridgeEventRow | None:
        return self._get(
            _BRG,
            "namespace = ? AND adapter = ? AND idempotency_key = ?",
            (namespace, adapter, idempotency_key),
        )

    async def insert_bridge_event(self, row: BridgeEventRow) -> None:
        self._c.execute(_BRG.insert, _BRG.values(row))


# -- visibility queries ---------------------------------------------------------------------

_SQL_OPS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def compile_visibility(node: Any) -> tuple[str, list[Any]]:
    """SQLite predicate over ``runs r`` for a typed query tree (``engine.visibility``)."""
    kind = type(node).__name__
    if kind == "Logic":
        parts = [compile_visibility(n) for n in node.items]
        if node.op == "not":
            return f"NOT ({parts[0][0]})", parts[0][1]
        joiner = " AND " if node.op == "and" else " OR "
        return "(" + joiner.join(p[0] for p in parts) + ")", [a for p in parts for a in p[1]]
    where, name, type_ = node.target
    op, value = node.op, node.value
    if where == "column":
        expr, base = f"r.{name}", []
    else:
        expr, base = "json_extract(r.search_attributes, ?)", [f'$."{name}"']
    if op in ("is_null", "not_null"):
        return f"{expr} IS {'NOT ' if op == 'not_null' else ''}NULL", base
    if type_ == "keyword_list" and where == "attr":
        values = list(value) if op in ("in", "not_in") else [value]
        exists = (
            "EXISTS (SELECT 1 FROM json_each(r.search_attributes, ?) WHERE value IN"
            f" ({', '.join('?' * len(values))}))"
        )
        negate = op in ("!=", "not_in")
        return (f"NOT {exists}" if negate else exists), [f'$."{name}"', *values]
    if op in ("in", "not_in"):
        marks = ", ".join("?" * len(value))
        return f"{expr} {'NOT ' if op == 'not_in' else ''}IN ({marks})", [*base, *value]
    if type_ == "text" and op in ("=", "!="):
        return (
            f"{expr} {'NOT ' if op == '!=' else ''}LIKE ? ESCAPE '\\'",
            [*base, _like(str(value))],
        )
    return f"{expr} {_SQL_OPS[op]} ?", [*base, value]
