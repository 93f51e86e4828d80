"""SQLite back end: stdlib ``sqlite3``, one connection driven from the event-loop thread.

Operations run one at a time on the connection (an ``asyncio.Lock``, "the turn"), each in
its own ``SAVEPOINT`` of a shared ``BEGIN IMMEDIATE … COMMIT`` (group commit). When an
operation ends, the ``COMMIT`` waits one loop iteration: operations that are ready to run
by then (usually many, as one commit's answers wake many callers at once) join the open
transaction, and one fsync (~0.3 ms here) serves them all. A caller is answered only after
that ``COMMIT`` returned, so WAL + ``synchronous=FULL`` still make every acknowledged
operation durable, and an operation that raises is rolled back to its savepoint alone.
Everything runs on the loop thread: a statement costs microseconds, less than a thread hop,
and a commit thread would wait for the GIL behind the busy loop (measured: slower).

Several processes may share one file (embedded clients; ``dw server start`` refuses a
second *server*, see ``lockfile.py``). Another process holding the write lock makes
``BEGIN IMMEDIATE`` busy: we wait a little in SQLite (short ``busy_timeout``, which blocks
the loop) and then retry with ``asyncio.sleep`` until ``_BUSY_DEADLINE``; a busy error
anywhere else becomes :class:`StoreConflict`, which the API retries. Users never see
"database is locked". Other processes' tasks do not wake our parked polls, so polls
re-check every ``poll_recheck_seconds`` and the sweeper wakes at least every second.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from . import schema
from ._mapper import Mapper, dumps
from .base import StoreConflict, StoreVersionError, WakeKey, WakeListener
from .core_verbs import CoreVerbs
from .lite_verbs import SqliteLiteVerbs
from .migrations import LATEST_VERSION, pending
from .model_verbs import SqliteModelVerbs
from .rows import (
    ActivityRow,
    EventRow,
    InboxRow,
    NamespaceRow,
    RunFilter,
    RunRow,
    TimerRow,
    WorkerRow,
    WorkflowRow,
    WorkflowTaskRow,
)
from .sqlite_control import SqliteControlVerbs, compile_visibility

T = TypeVar("T")

_OPEN_TASK = ("delayed", "ready", "leased")
_OPEN_BUSY_MS = 5000  # opening/migrating may wait for another process's checkpoint
_BUSY_MS = 20  # per attempt inside a running server: keep the event loop responsive
_BUSY_DEADLINE = 30.0
# Operations in one group commit at most: bounds the wait of the group's first caller.
_MAX_GROUP = 128


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (5, 6) or "locked" in str(exc)


_NS = Mapper(schema.NAMESPACES, NamespaceRow)
_WF = Mapper(schema.WORKFLOWS, WorkflowRow)
_RUN = Mapper(schema.RUNS, RunRow)
_EVT = Mapper(schema.HISTORY_EVENTS, EventRow)
_INBOX = Mapper(schema.RUN_INBOX, InboxRow)
_WFT = Mapper(schema.WORKFLOW_TASKS, WorkflowTaskRow)
_ACT = Mapper(schema.ACTIVITY_TASKS, ActivityRow)
_TIMER = Mapper(schema.TIMERS, TimerRow)
_WORKER = Mapper(schema.WORKERS, WorkerRow)


class SqliteTransaction(SqliteModelVerbs, SqliteControlVerbs, SqliteLiteVerbs, CoreVerbs):
    """Domain verbs over one open SQLite transaction (see ``base.Transaction``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    # -- generic helpers -------------------------------------------------------------

    def _one(self, mapper: Mapper[T], where: str, args: Sequence[Any]) -> T | None:
        row = self._c.execute(f"{mapper.select} WHERE {where}", args).fetchone()
        return None if row is None else mapper.row(row)

    def _many(self, mapper: Mapper[T], where: str, args: Sequence[Any]) -> list[T]:
        return mapper.rows(self._c.execute(f"{mapper.select} WHERE {where}", args))

    def _update(self, mapper: Mapper[Any], key: dict[str, Any], changes: dict[str, Any]) -> None:
        if not changes:
            return
        sets = ", ".join(f"{k} = ?" for k in changes)
        where = " AND ".join(f"{k} = ?" for k in key)
        args = [mapper.encode(k, v) for k, v in changes.items()] + list(key.values())
        self._c.execute(f"UPDATE {mapper.table} SET {sets} WHERE {where}", args)

    # -- namespaces ----------------------------------------------------------------------

    async def list_namespaces(self) -> list[NamespaceRow]:
        return _NS.rows(self._c.execute(f"{_NS.select} ORDER BY name"))

    # -- instances and runs ----------------------------------------------------------------

    async def get_workflow(self, namespace: str, workflow_id: str) -> WorkflowRow | None:
        return self._one(_WF, "namespace = ? AND workflow_id = ?", (namespace, workflow_id))

    async def get_run(self, run_id: str) -> RunRow | None:
        return self._one(_RUN, "run_id = ?", (run_id,))

    async def list_runs(self, namespace: str, workflow_id: str) -> list[RunRow]:
        return self._many(
            _RUN, "namespace = ? AND workflow_id = ? ORDER BY run_number", (namespace, workflow_id)
        )

    async def list_current_runs(
        self, namespace: str, flt: RunFilter, offset: int, limit: int
    ) -> list[RunRow]:
        cols = ", ".join(f"r.{n}" for n in _RUN.names)
        sql = [
            f"SELECT {cols} FROM workflows w JOIN runs r ON r.run_id = w.current_run_id WHERE w.namespace = ?"
        ]
        args: list[Any] = [namespace]
        if flt.workflow_type:
            sql.append("AND r.workflow_type = ?")
            args.append(flt.workflow_type)
        if flt.statuses:
            sql.append(f"AND r.status IN ({', '.join('?' * len(flt.statuses))})")
            args.extend(flt.statuses)
        if flt.query:
            like = (
                "%" + flt.query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            )
            sql.append(
                "AND (r.workflow_id LIKE ? ESCAPE '\\' OR r.business_key LIKE ? ESCAPE '\\')"
            )
            args.extend((like, like))
        if flt.visibility is not None:
            clause, clause_args = compile_visibility(flt.visibility)
            sql.append(f"AND {clause}")
            args.extend(clause_args)
        sql.append("ORDER BY r.started_at DESC, r.run_id DESC LIMIT ? OFFSET ?")
        args.extend((limit, offset))
        return _RUN.rows(self._c.execute(" ".join(sql), args))

    async def open_runs_past_deadline(self, now: float, limit: int) -> list[RunRow]:
        return self._many(_RUN, "deadline_at <= ? ORDER BY deadline_at LIMIT ?", (now, limit))

    # -- history and inbox -----------------------------------------------------------------

    async def append_events(self, events: Sequence[EventRow]) -> None:
        self._c.executemany(_EVT.insert, [_EVT.values(e) for e in events])

    async def take_inbox(self, run_id: str) -> list[InboxRow]:
        rows = self._many(_INBOX, "run_id = ? ORDER BY id", (run_id,))
        if rows:
            self._c.execute("DELETE FROM run_inbox WHERE run_id = ?", (run_id,))
        return rows

    # -- workflow tasks ----------------------------------------------------------------------

    async def get_workflow_task(self, task_id: str) -> WorkflowTaskRow | None:
        return self._one(_WFT, "task_id = ?", (task_id,))

    async def next_ready_workflow_task(
        self, namespace: str, task_queue: str, workflow_types: Sequence[str] | None, now: float
    ) -> WorkflowTaskRow | None:
        where = "namespace = ? AND task_queue = ? AND status = 'ready' AND visible_at <= ?"
        args: list[Any] = [namespace, task_queue, now]
        if workflow_types is not None:
            where += " AND workflow_type IN (SELECT value FROM json_each(?))"
            args.append(dumps(list(workflow_types)))
        return self._one(_WFT, where + " ORDER BY visible_at LIMIT 1", args)

    async def workflow_task_by_poll(self, poll_request_id: str) -> WorkflowTaskRow | None:
        return self._one(_WFT, "poll_request_id = ? LIMIT 1", (poll_request_id,))

    async def leased_workflow_tasks_of(
        self, namespace: str, worker_id: str
    ) -> list[WorkflowTaskRow]:
        return self._many(
            _WFT, "namespace = ? AND lease_owner = ? AND status = 'leased'", (namespace, worker_id)
        )

    async def expired_workflow_leases(self, now: float, limit: int) -> list[WorkflowTaskRow]:
        return self._many(
            _WFT,
            "status = 'leased' AND lease_expires_at <= ? ORDER BY lease_expires_at LIMIT ?",
            (now, limit),
        )

    async def due_delayed_workflow_tasks(self, now: float, limit: int) -> list[WorkflowTaskRow]:
        return self._many(
            _WFT, "status = 'delayed' AND visible_at <= ? ORDER BY visible_at LIMIT ?", (now, limit)
        )

    # -- activities ----------------------------------------------------------------------

    async def get_activity(self, task_id: str) -> ActivityRow | None:
        return self._one(_ACT, "task_id = ?", (task_id,))

    async def next_ready_activity(
        self, namespace: str, task_queue: str, activity_types: Sequence[str] | None, now: float
    ) -> ActivityRow | None:
        where = "namespace = ? AND task_queue = ? AND status = 'ready' AND visible_at <= ?"
        args: list[Any] = [namespace, task_queue, now]
        if activity_types is not None:
            where += " AND activity_type IN (SELECT value FROM json_each(?))"
            args.append(dumps(list(activity_types)))
        return self._one(_ACT, where + " ORDER BY visible_at LIMIT 1", args)

    async def activity_by_poll(self, poll_request_id: str) -> ActivityRow | None:
        return self._one(_ACT, "poll_request_id = ? LIMIT 1", (poll_request_id,))

    async def activity_by_sequence(self, run_id: str, sequence: int) -> ActivityRow | None:
        return self._one(_ACT, "run_id = ? AND sequence = ? LIMIT 1", (run_id, sequence))

    async def expired_activity_leases(self, now: float, limit: int) -> list[ActivityRow]:
        return self._many(
            _ACT,
            "status = 'leased' AND lease_expires_at <= ? ORDER BY lease_expires_at LIMIT ?",
            (now, limit),
        )

    async def due_delayed_activities(self, now: float, limit: int) -> list[ActivityRow]:
        return self._many(
            _ACT, "status = 'delayed' AND visible_at <= ? ORDER BY visible_at LIMIT ?", (now, limit)
        )

    async def activities_past_deadline(self, now: float, limit: int) -> list[ActivityRow]:
        return self._many(_ACT, "deadline_at <= ? ORDER BY deadline_at LIMIT ?", (now, limit))

    async def count_unresolved_in_group(self, run_id: str, group_id: str) -> int:
        row = self._c.execute(
            "SELECT (SELECT COUNT(*) FROM activity_tasks WHERE run_id = ? AND group_id = ?"
            " AND status IN ('delayed', 'ready', 'leased'))"
            " + (SELECT COUNT(*) FROM timers WHERE run_id = ? AND group_id = ? AND status = 'pending')",
            (run_id, group_id, run_id, group_id),
        ).fetchone()
        return int(row[0])

    # -- timers ----------------------------------------------------------------------------

    async def get_timer(self, timer_id: str) -> TimerRow | None:
        return self._one(_TIMER, "timer_id = ?", (timer_id,))

    async def due_timers(self, now: float, limit: int) -> list[TimerRow]:
        return self._many(
            _TIMER, "status = 'pending' AND fire_at <= ? ORDER BY fire_at LIMIT ?", (now, limit)
        )

    # -- sweeper -------------------------------------------------------------------------

    async def next_due_at(self) -> float | None:
        row = self._c.execute(
            "SELECT"
            " (SELECT MIN(lease_expires_at) FROM workflow_tasks WHERE status = 'leased'),"
            " (SELECT MIN(visible_at) FROM workflow_tasks WHERE status = 'delayed'),"
            " (SELECT MIN(fire_at) FROM timers WHERE status = 'pending'),"
            " (SELECT MIN(lease_expires_at) FROM activity_tasks WHERE status = 'leased'),"
            " (SELECT MIN(visible_at) FROM activity_tasks WHERE status = 'delayed'),"
            " (SELECT MIN(deadline_at) FROM activity_tasks WHERE deadline_at IS NOT NULL),"
            " (SELECT MIN(deadline_at) FROM runs WHERE deadline_at IS NOT NULL),"
            " (SELECT MIN(due_at) FROM schedules WHERE due_at IS NOT NULL)"
        ).fetchone()
        due = [v for v in row if v is not None]
        return min(due) if due else None

    # -- workers -------------------------------------------------------------------------

    async def get_worker(self, namespace: str, worker_id: str) -> WorkerRow | None:
        return self._one(_WORKER, "namespace = ? AND worker_id = ?", (namespace, worker_id))

    async def upsert_worker(self, row: WorkerRow) -> None:
        updates = ", ".join(
            f"{n} = excluded.{n}"
            for n in _WORKER.names
            if n not in ("namespace", "worker_id", "registered_at")
        )
        self._c.execute(
            f"{_WORKER.insert} ON CONFLICT (namespace, worker_id) DO UPDATE SET {updates}",
            _WORKER.values(row),
        )

    # -- signal idempotency --------------------------------------------------------------

    async def publish_wakes(self, wakes: Sequence[tuple[WakeKey, str | None]]) -> None:
        """Nothing to publish: other processes find new tasks by re-checking (see module doc)."""


class _Group:
    """Operations sharing one open transaction; ``committed`` resolves after its ``COMMIT``."""

    __slots__ = ("commit_scheduled", "committed", "size")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.committed: asyncio.Future[None] = loop.create_future()
        # Members whose caller was cancelled never read a commit error: do not log it as lost.
        self.committed.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.size = 0
        self.commit_scheduled = False

    def settle(self, error: BaseException | None) -> None:
        if self.committed.done():
            return
        if error is None:
            self.committed.set_result(None)
        else:
            self.committed.set_exception(error)


def _conflict(exc: BaseException, path: str) -> BaseException:
    if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
        conflict = StoreConflict(f"{path} is busy in another process")
        conflict.__cause__ = exc
        return conflict
    return exc


class SqliteStore:
    """A SQLite database file (or ``:memory:``) opened for one server process."""

    dialect = "sqlite"
    poll_recheck_seconds: float | None = 1.0
    max_sweep_sleep: float | None = 1.0

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self._conn = conn
        self._tx = SqliteTransaction(conn)
        self._turn = asyncio.Lock()  # who may use the connection (statements or a COMMIT)
        self._queued = 0  # callers waiting for the turn: they join the open group
        self._group: _Group | None = None  # the open transaction, if any
        self.path = path

    @classmethod
    async def open(cls, path: str) -> SqliteStore:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            # Before switching to WAL: another process may be creating the same file right now.
            conn.execute("PRAGMA busy_timeout=5000")
            if path != ":memory:":
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise RuntimeError(
                        f"could not switch {path} to WAL journal mode (got {mode!r})"
                    )
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(f"PRAGMA busy_timeout={_OPEN_BUSY_MS}")
            conn.execute("PRAGMA temp_store=MEMORY")
            _migrate(conn, path)
            conn.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTransaction]:
        await self._acquire()
        try:
            group = self._group
            if group is None:
                await self._begin()
                group = self._group = _Group(asyncio.get_running_loop())
            group.size += 1
            self._conn.execute("SAVEPOINT op")
        except BaseException:
            self._release()
            raise
        failure: BaseException | None = None
        try:
            yield self._tx
            self._conn.execute("RELEASE op")
        except BaseException as exc:
            failure = exc
            self._undo(group, exc)
        finally:
            self._release()
        if failure is not None:
            converted = _conflict(failure, self.path)
            if converted is failure:
                raise failure
            raise converted
        # Acknowledge only once the group's COMMIT is on disk. A cancelled caller does not
        # stop the commit: its operation may be durable although it never heard so.
        await asyncio.shield(group.committed)

    async def _acquire(self) -> None:
        self._queued += 1
        try:
            await self._turn.acquire()
        finally:
            self._queued -= 1

    def _undo(self, group: _Group, exc: BaseException) -> None:
        """Roll back one failed operation, leaving the rest of its group intact."""
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK TO op")
                self._conn.execute("RELEASE op")
                return
            except sqlite3.Error:
                self._conn.execute("ROLLBACK")
        # SQLite rolled the whole transaction back (busy, disk full, ...): the others'
        # writes are gone too. They did nothing wrong, so they may run again.
        self._group = None
        conflict = StoreConflict(f"a concurrent operation on {self.path} failed: {exc}")
        conflict.__cause__ = exc
        group.settle(conflict)

    def _release(self) -> None:
        """Give the turn back; the group commits once nobody is left to join it.

        The check is deferred by one loop iteration, so that operations made ready by the
        same event (a group's answers, a burst of requests) join this group and share its
        fsync instead of each paying for one.
        """
        group = self._group
        if group is not None and group.size >= _MAX_GROUP:
            self._commit_group(group)
        elif group is not None and not group.commit_scheduled:
            group.commit_scheduled = True
            asyncio.get_running_loop().call_soon(self._maybe_commit, group)
        self._turn.release()

    def _maybe_commit(self, group: _Group) -> None:
        group.commit_scheduled = False
        if self._group is not group or self._turn.locked() or self._queued:
            return  # committed already, or the operation holding/next taking the turn will
        self._commit_group(group)

    def _commit_group(self, group: _Group) -> None:
        """COMMIT on the loop thread (no await: nobody can touch the connection meanwhile)."""
        self._group = None
        try:
            self._conn.execute("COMMIT")
        except BaseException as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            group.settle(_conflict(exc, self.path))
        else:
            group.settle(None)

    async def _begin(self) -> None:
        """``BEGIN IMMEDIATE``, waiting (without blocking the loop) while another process writes."""
        deadline = asyncio.get_running_loop().time() + _BUSY_DEADLINE
        delay = 0.001
        while True:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if asyncio.get_running_loop().time() > deadline:
                    raise StoreConflict(
                        f"{self.path} stayed locked by another process for {_BUSY_DEADLINE:.0f} s"
                    ) from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def listen(self, listener: WakeListener) -> None:
        """SQLite has no notifications; see ``poll_recheck_seconds``."""

    async def ping(self) -> None:
        await self._acquire()
        try:
            self._conn.execute("SELECT 1").fetchone()
        finally:
            self._release()

    async def close(self) -> None:
        await self._acquire()
        try:
            if self._group is not None:  # we queued last, so the open group is ours to commit
                self._commit_group(self._group)
            self._conn.close()
        finally:
            self._turn.release()


def _migrate(conn: sqlite3.Connection, path: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        has_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        current = 0
        if has_table:
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
            current = int(row[0] or 0)
        if current > LATEST_VERSION:
            raise StoreVersionError(
                f"database {path} has schema version {current}, but this durable-workflow "
                f"supports at most version {LATEST_VERSION}; upgrade durable-workflow or use another database"
            )
        for step in pending(current):
            for stmt in step.statements("sqlite"):
                conn.execute(stmt)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (step.version,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
