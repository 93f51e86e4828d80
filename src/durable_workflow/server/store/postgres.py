"""PostgreSQL back end: psycopg 3 (async) with a connection pool; several servers, one database.

Concurrency rules (every server process runs the same engine against the same rows):

* **The run row is the lock.** Every verb that reads a run's state for modification locks the
  run row first (``get_run`` is ``SELECT … FOR UPDATE``; ``get_workflow`` locks the current run;
  ``get_workflow_task``/``get_activity``/``get_timer`` lock the owning run, then the item). So
  everything that appends to a run's history is serialised per run, and sequence numbers stay
  gap-free; the ``(run_id, sequence)`` primary key is the backstop.
* **Lock order is run → item.** Statements that pick work (workflow-task polls, sweeps) lock
  the *runs* of candidate items with ``FOR UPDATE OF r SKIP LOCKED`` (never waiting), then lock
  and re-read the items with a fresh statement, re-checking that they are still due/ready.
  (``SKIP LOCKED`` over two tables would keep the item lock of a row it then skips for its
  run: a stray lock that deadlocks.) Activity polls lock only the activity row: leasing one
  does not touch its run. Two servers never claim the same task, fire the same timer or
  expire the same lease twice: the second skips the locked run, or sees the new status.
* **Absent rows** have nothing to lock: starting a workflow id that does not exist yet and
  idempotent poll ids take a transaction-scoped advisory lock on the key instead.
* A lost race that PostgreSQL reports (deadlock, duplicate key) becomes :class:`StoreConflict`;
  the caller reruns the whole operation (``retry_conflicts``).
* Wake-ups: ``publish_wakes`` runs ``pg_notify`` inside the committing transaction; every
  server ``LISTEN``s on one dedicated connection and wakes its own parked polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from . import schema
from ._mapper import Mapper
from .base import StoreConflict, StoreVersionError, WakeKey, WakeListener, redact
from .core_verbs import CoreVerbs
from .migrations import LATEST_VERSION, pending
from .postgres_control import PostgresControlVerbs, compile_visibility
from .postgres_lite import PostgresLiteVerbs
from .postgres_model import PostgresModelVerbs
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

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)

T = TypeVar("T")

CHANNEL = "durable_workflow_wake"
_SEP = "\x1f"  # unit separator: cannot appear in names our API accepts
_NOTIFY_MAX = 7900  # PostgreSQL caps a NOTIFY payload at 8000 bytes
# Advisory lock classes (first key of pg_advisory_xact_lock(int, int)).
_LOCK_MIGRATE = 7301
_LOCK_WORKFLOW_ID = 7302
_LOCK_POLL_ID = 7303
_CONNECT_TIMEOUT = 10
_LISTEN_RETRY = 1.0


def _m(table: schema.Table, cls: type[T]) -> Mapper[T]:
    return Mapper(table, cls, mark="%s", native_bool=True)


_NS = _m(schema.NAMESPACES, NamespaceRow)
_WF = _m(schema.WORKFLOWS, WorkflowRow)
_RUN = _m(schema.RUNS, RunRow)
_EVT = _m(schema.HISTORY_EVENTS, EventRow)
_INBOX = _m(schema.RUN_INBOX, InboxRow)
_WFT = _m(schema.WORKFLOW_TASKS, WorkflowTaskRow)
_ACT = _m(schema.ACTIVITY_TASKS, ActivityRow)
_TIMER = _m(schema.TIMERS, TimerRow)
_WORKER = _m(schema.WORKERS, WorkerRow)


def _cols(mapper: Mapper[Any], alias: str) -> str:
    return ", ".join(f"{alias}.{n}" for n in mapper.names)


def _import_psycopg() -> Any:
    try:
        import psycopg
        import psycopg_pool
    except ImportError as exc:
        raise RuntimeError(
            "the PostgreSQL back end needs psycopg 3 and psycopg_pool: "
            "pip install 'durable-workflow-py[postgres]'"
        ) from exc
    return psycopg, psycopg_pool


class PostgresTransaction(PostgresModelVerbs, PostgresControlVerbs, PostgresLiteVerbs, CoreVerbs):
    """Domain verbs over one open PostgreSQL transaction (see ``base.Transaction``)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], source: str) -> None:
        self._c = conn
        self._source = source

    # -- generic helpers -------------------------------------------------------------

    async def _fetchone(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        cur = await self._c.execute(sql, args)
        return await cur.fetchone()

    async def _fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = await self._c.execute(sql, args)
        return await cur.fetchall()

    async def _one(self, mapper: Mapper[T], where: str, args: Sequence[Any]) -> T | None:
        row = await self._fetchone(f"{mapper.select} WHERE {where}", args)
        return None if row is None else mapper.row(row)

    async def _many(self, mapper: Mapper[T], where: str, args: Sequence[Any]) -> list[T]:
        return mapper.rows(await self._fetchall(f"{mapper.select} WHERE {where}", args))

    async def _update(
        self, mapper: Mapper[Any], key: dict[str, Any], changes: dict[str, Any]
    ) -> None:
        if not changes:
            return
        sets = ", ".join(f"{k} = %s" for k in changes)
        where = " AND ".join(f"{k} = %s" for k in key)
        args = [mapper.encode(k, v) for k, v in changes.items()] + list(key.values())
        await self._c.execute(f"UPDATE {mapper.table} SET {sets} WHERE {where}", args)

    async def _lock_run(self, run_id: str) -> None:
        await self._c.execute("SELECT 1 FROM runs WHERE run_id = %s FOR UPDATE", (run_id,))

    async def _advisory(self, cls: int, key: str) -> None:
        await self._c.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (cls, key))

    async def _claim(
        self,
        mapper: Mapper[T],
        pick: str,
        args: Sequence[Any],
        fresh: str,
        fresh_args: Sequence[Any],
    ) -> list[T]:
        """Lock the runs of the items ``pick`` selects (skipping busy runs), then the items.

        ``pick`` returns item keys and ends in ``FOR UPDATE OF r SKIP LOCKED``; ``fresh`` is
        the item condition re-checked on the current row versions (``= ANY(%s)`` first).
        """
        keys = [row[0] for row in await self._fetchall(pick, args)]
        if not keys:
            return []
        return await self._many(mapper, fresh + " FOR UPDATE", (keys, *fresh_args))

    async def _locked_item(
        self, mapper: Mapper[T], key_col: str, key: str, extra: str = ""
    ) -> T | None:
        """Lock the item's run, then the item (run → item order), and read it fresh."""
        await self._c.execute(
            "SELECT 1 FROM runs WHERE run_id ="
            f" (SELECT run_id FROM {mapper.table} WHERE {key_col} = %s LIMIT 1) FOR UPDATE",
            (key,),
        )
        return await self._one(mapper, f"{key_col} = %s{extra} FOR UPDATE", (key,))

    # -- namespaces ----------------------------------------------------------------------

    async def list_namespaces(self) -> list[NamespaceRow]:
        return _NS.rows(await self._fetchall(f"{_NS.select} ORDER BY name"))

    # -- instances and runs ----------------------------------------------------------------

    async def get_workflow(self, namespace: str, workflow_id: str) -> WorkflowRow | None:
        """The instance row, with its current run locked (or the id's advisory lock if absent)."""
        where = "namespace = %s AND workflow_id = %s"
        key = (namespace, workflow_id)
        row = await self._one(_WF, where, key)
        if row is None:
            # Nothing to lock yet: serialise starters of this id; the loser then sees the row.
            await self._advisory(_LOCK_WORKFLOW_ID, namespace + _SEP + workflow_id)
            row = await self._one(_WF, where, key)
        while row is not None:
            await self._lock_run(row.current_run_id)
            again = await self._one(_WF, where, key)
            if again is None or again.current_run_id == row.current_run_id:
                return again
            row = again  # continued-as-new meanwhile: lock the new current run
        return None

    async def get_run(self, run_id: str) -> RunRow | None:
        return await self._one(_RUN, "run_id = %s FOR UPDATE", (run_id,))

    async def list_runs(self, namespace: str, workflow_id: str) -> list[RunRow]:
        return await self._many(
            _RUN,
            "namespace = %s AND workflow_id = %s ORDER BY run_number",
            (namespace, workflow_id),
        )

    async def list_current_runs(
        self, namespace: str, flt: RunFilter, offset: int, limit: int
    ) -> list[RunRow]:
        sql = [
            f"SELECT {_cols(_RUN, 'r')} FROM workflows w JOIN runs r"
            " ON r.run_id = w.current_run_id WHERE w.namespace = %s"
        ]
        args: list[Any] = [namespace]
        if flt.workflow_type:
            sql.append("AND r.workflow_type = %s")
            args.append(flt.workflow_type)
        if flt.statuses:
            sql.append("AND r.status = ANY(%s)")
            args.append(list(flt.statuses))
        if flt.query:
            like = (
                "%" + flt.query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            )
            sql.append(
                "AND (r.workflow_id LIKE %s ESCAPE '\\' OR r.business_key LIKE %s ESCAPE '\\')"
            )
            args.extend((like, like))
        if flt.visibility is not None:
            clause, clause_args = compile_visibility(flt.visibility)
            sql.append("AND " + clause.replace("?", "%s"))
            args.extend(clause_args)
        sql.append("ORDER BY r.started_at DESC, r.run_id DESC LIMIT %s OFFSET %s")
        args.extend((limit, offset))
        return _RUN.rows(await self._fetchall(" ".join(sql), args))

    async def open_runs_past_deadline(self, now: float, limit: int) -> list[RunRow]:
        return await self._many(
            _RUN,
            "deadline_at <= %s ORDER BY deadline_at LIMIT %s FOR UPDATE SKIP LOCKED",
            (now, limit),
        )

    # -- history and inbox -----------------------------------------------------------------

    async def append_events(self, events: Sequence[EventRow]) -> None:
        # One multi-row INSERT: one round trip (executemany's pipeline mode costs a
        # delayed-ACK stall of ~40 ms per call on loopback).
        if not events:
            return
        row = "(" + ", ".join(["%s"] * len(_EVT.names)) + ")"
        args = [v for e in events for v in _EVT.values(e)]
        await self._c.execute(
            f"INSERT INTO history_events ({_EVT.columns}) VALUES " + ", ".join([row] * len(events)),
            args,
        )

    async def take_inbox(self, run_id: str) -> list[InboxRow]:
        rows = _INBOX.rows(
            await self._fetchall(
                f"DELETE FROM run_inbox WHERE run_id = %s RETURNING {_INBOX.columns}", (run_id,)
            )
        )
        rows.sort(key=lambda r: r.id)
        return rows

    # -- workflow tasks ----------------------------------------------------------------------

    async def get_workflow_task(self, task_id: str) -> WorkflowTaskRow | None:
        return await self._locked_item(_WFT, "task_id", task_id)

    async def next_ready_workflow_task(
        self, namespace: str, task_queue: str, workflow_types: Sequence[str] | None, now: float
    ) -> WorkflowTaskRow | None:
        where = (
            "t.namespace = %s AND t.task_queue = %s AND t.status = 'ready' AND t.visible_at <= %s"
        )
        args: list[Any] = [namespace, task_queue, now]
        if workflow_types is not None:
            where += " AND t.workflow_type = ANY(%s)"
            args.append(list(workflow_types))
        pick = (
            "SELECT t.task_id FROM workflow_tasks t JOIN runs r ON r.run_id = t.run_id"
            f" WHERE {where} ORDER BY t.visible_at LIMIT 1 FOR UPDATE OF r SKIP LOCKED"
        )
        fresh = "task_id = %s AND status = 'ready' AND visible_at <= %s FOR UPDATE"
        # Lock a ready task's run without waiting: a run that another poller, a signal or a
        # completion holds is skipped, so pollers on many servers never queue up.
        holds_stray = False
        for _ in range(3):
            key = await self._fetchone(pick, args)
            if key is None:
                break
            task = await self._one(_WFT, fresh, (key[0], now))
            if task is not None:
                return task
            holds_stray = True  # our snapshot was stale: that run's task is gone; try the next
        if holds_stray:
            # Never wait while holding a run lock we do not need (deadlock); never answer
            # "nothing ready" while tasks are ready (the poll would idle): roll back, rerun.
            raise StoreConflict("ready workflow tasks were being claimed by other pollers")
        busy = await self._fetchone(
            f"SELECT t.task_id, t.run_id FROM workflow_tasks t WHERE {where}"
            " ORDER BY t.visible_at LIMIT 1",
            args,
        )
        if busy is None:
            return None
        # Ready tasks exist but their runs are busy: wait for the first one (its holder
        # commits in milliseconds) rather than park beside a task nobody will announce again.
        await self._lock_run(busy[1])
        task = await self._one(_WFT, fresh, (busy[0], now))
        if task is None:
            raise StoreConflict("the ready workflow task was claimed by another poller")
        return task

    async def workflow_task_by_poll(self, poll_request_id: str) -> WorkflowTaskRow | None:
        # A retried poll may reach another server while the first is still running.
        await self._advisory(_LOCK_POLL_ID, "w" + poll_request_id)
        return await self._locked_item(_WFT, "poll_request_id", poll_request_id, " LIMIT 1")

    async def leased_workflow_tasks_of(
        self, namespace: str, worker_id: str
    ) -> list[WorkflowTaskRow]:
        ids = await self._fetchall(
            "SELECT task_id FROM workflow_tasks"
            " WHERE namespace = %s AND lease_owner = %s AND status = 'leased' ORDER BY task_id",
            (namespace, worker_id),
        )
        out = []
        for (task_id,) in ids:
            task = await self._locked_item(_WFT, "task_id", task_id)
            if task is not None and task.status == "leased" and task.lease_owner == worker_id:
                out.append(task)
        return out

    async def expired_workflow_leases(self, now: float, limit: int) -> list[WorkflowTaskRow]:
        return await self._claim(
            _WFT,
            "SELECT t.task_id FROM workflow_tasks t JOIN runs r ON r.run_id = t.run_id"
            " WHERE t.status = 'leased' AND t.lease_expires_at <= %s"
            " ORDER BY t.lease_expires_at LIMIT %s FOR UPDATE OF r SKIP LOCKED",
            (now, limit),
            "task_id = ANY(%s) AND status = 'leased' AND lease_expires_at <= %s"
            " ORDER BY lease_expires_at",
            (now,),
        )

    async def due_delayed_workflow_tasks(self, now: float, limit: int) -> list[WorkflowTaskRow]:
        return await self._many(
            _WFT,
            "status = 'delayed' AND visible_at <= %s ORDER BY visible_at LIMIT %s"
            " FOR UPDATE SKIP LOCKED",
            (now, limit),
        )

    # -- activities ----------------------------------------------------------------------

    async def get_activity(self, task_id: str) -> ActivityRow | None:
        return await self._locked_item(_ACT, "task_id", task_id)

    async def next_ready_activity(
        self, namespace: str, task_queue: str, activity_types: Sequence[str] | None, now: float
    ) -> ActivityRow | None:
        # Only the activity row is locked: leasing does not touch the run, and parallel
        # activities of one run must be claimable by many workers at once.
        where = "namespace = %s AND task_queue = %s AND status = 'ready' AND visible_at <= %s"
        args: list[Any] = [namespace, task_queue, now]
        if activity_types is not None:
            where += " AND activity_type = ANY(%s)"
            args.append(list(activity_types))
        found = await self._one(
            _ACT, where + " ORDER BY visible_at LIMIT 1 FOR UPDATE SKIP LOCKED", args
        )
        if found is not None:
            return found
        busy = await self._fetchone(
            f"SELECT task_id FROM activity_tasks WHERE {where} ORDER BY visible_at LIMIT 1", args
        )
        if busy is None:
            return None
        act = await self._one(
            _ACT,
            "task_id = %s AND status = 'ready' AND visible_at <= %s FOR UPDATE",
            (busy[0], now),
        )
        if act is None:
            raise StoreConflict("the ready activity task was claimed by another poller")
        return act

    async def activity_by_poll(self, poll_request_id: str) -> ActivityRow | None:
        await self._advisory(_LOCK_POLL_ID, "a" + poll_request_id)
        return await self._one(_ACT, "poll_request_id = %s LIMIT 1 FOR UPDATE", (poll_request_id,))

    async def activity_by_sequence(self, run_id: str, sequence: int) -> ActivityRow | None:
        return await self._one(
            _ACT, "run_id = %s AND sequence = %s LIMIT 1 FOR UPDATE", (run_id, sequence)
        )

    async def _acts_with_run(
        self, where: str, order: str, now: float, limit: int
    ) -> list[ActivityRow]:
        return await self._claim(
            _ACT,
            "SELECT a.task_id FROM activity_tasks a JOIN runs r ON r.run_id = a.run_id"
            f" WHERE {where.format(t='a.')} ORDER BY a.{order} LIMIT %s"
            " FOR UPDATE OF r SKIP LOCKED",
            (now, limit),
            f"task_id = ANY(%s) AND {where.format(t='')} ORDER BY {order}",
            (now,),
        )

    async def expired_activity_leases(self, now: float, limit: int) -> list[ActivityRow]:
        return await self._acts_with_run(
            "{t}status = 'leased' AND {t}lease_expires_at <= %s", "lease_expires_at", now, limit
        )

    async def due_delayed_activities(self, now: float, limit: int) -> list[ActivityRow]:
        return await self._many(
            _ACT,
            "status = 'delayed' AND visible_at <= %s ORDER BY visible_at LIMIT %s"
            " FOR UPDATE SKIP LOCKED",
            (now, limit),
        )

    async def activities_past_deadline(self, now: float, limit: int) -> list[ActivityRow]:
        return await self._acts_with_run("{t}deadline_at <= %s", "deadline_at", now, limit)

    async def count_unresolved_in_group(self, run_id: str, group_id: str) -> int:
        row = await self._fetchone(
            "SELECT (SELECT COUNT(*) FROM activity_tasks WHERE run_id = %s AND group_id = %s"
            " AND status IN ('delayed', 'ready', 'leased'))"
            " + (SELECT COUNT(*) FROM timers WHERE run_id = %s AND group_id = %s"
            " AND status = 'pending')",
            (run_id, group_id, run_id, group_id),
        )
        assert row is not None
        return int(row[0])

    # -- timers ----------------------------------------------------------------------------

    async def get_timer(self, timer_id: str) -> TimerRow | None:
        return await self._locked_item(_TIMER, "timer_id", timer_id)

    async def due_timers(self, now: float, limit: int) -> list[TimerRow]:
        return await self._claim(
            _TIMER,
            "SELECT tm.timer_id FROM timers tm JOIN runs r ON r.run_id = tm.run_id"
            " WHERE tm.status = 'pending' AND tm.fire_at <= %s ORDER BY tm.fire_at LIMIT %s"
            " FOR UPDATE OF r SKIP LOCKED",
            (now, limit),
            "timer_id = ANY(%s) AND status = 'pending' AND fire_at <= %s ORDER BY fire_at",
            (now,),
        )

    # -- sweeper -------------------------------------------------------------------------

    async def next_due_at(self) -> float | None:
        row = await self._fetchone(
            "SELECT LEAST("
            " (SELECT MIN(lease_expires_at) FROM workflow_tasks WHERE status = 'leased'),"
            " (SELECT MIN(visible_at) FROM workflow_tasks WHERE status = 'delayed'),"
            " (SELECT MIN(fire_at) FROM timers WHERE status = 'pending'),"
            " (SELECT MIN(lease_expires_at) FROM activity_tasks WHERE status = 'leased'),"
            " (SELECT MIN(visible_at) FROM activity_tasks WHERE status = 'delayed'),"
            " (SELECT MIN(deadline_at) FROM activity_tasks WHERE deadline_at IS NOT NULL),"
            " (SELECT MIN(deadline_at) FROM runs WHERE deadline_at IS NOT NULL),"
            " (SELECT MIN(due_at) FROM schedules WHERE due_at IS NOT NULL))"
        )
        return None if row is None or row[0] is None else float(row[0])

    # -- workers -------------------------------------------------------------------------

    async def get_worker(self, namespace: str, worker_id: str) -> WorkerRow | None:
        return await self._one(
            _WORKER, "namespace = %s AND worker_id = %s FOR UPDATE", (namespace, worker_id)
        )

    async def upsert_worker(self, row: WorkerRow) -> None:
        updates = ", ".join(
            f"{n} = EXCLUDED.{n}"
            for n in _WORKER.names
            if n not in ("namespace", "worker_id", "registered_at")
        )
        await self._c.execute(
            f"{_WORKER.insert} ON CONFLICT (namespace, worker_id) DO UPDATE SET {updates}",
            _WORKER.values(row),
        )

    # -- signal idempotency --------------------------------------------------------------

    # -- cross-process wake-ups ------------------------------------------------------------

    async def publish_wakes(self, wakes: Sequence[tuple[WakeKey, str | None]]) -> None:
        payloads = sorted({_encode_wake(self._source, key, task_type) for key, task_type in wakes})
        if payloads:
            await self._c.execute(
                "SELECT pg_notify(%s, p) FROM unnest(%s::text[]) AS p", (CHANNEL, payloads)
            )


def _encode_wake(source: str, key: WakeKey, task_type: str | None) -> str:
    payload = _SEP.join((source, *key, task_type or ""))
    if len(payload.encode()) > _NOTIFY_MAX:  # absurdly long names: wake any poll of the queue
        payload = _SEP.join((source, *key, ""))
    return payload


def _decode_wake(payload: str) -> tuple[str, WakeKey, str | None] | None:
    parts = payload.split(_SEP)
    if len(parts) != 5:
        return None
    source, ns, queue, kind, task_type = parts
    return source, (ns, queue, kind), task_type or None


class PostgresStore:
    """A PostgreSQL database shared by any number of server processes."""

    dialect = "postgres"
    poll_recheck_seconds: float | None = 5.0  # NOTIFY is the fast path; this is the safety net
    max_sweep_sleep: float | None = 1.0  # timers/leases created by other servers

    def __init__(self, pool: AsyncConnectionPool[Any], conninfo: str, display: str) -> None:
        self._pool = pool
        self._conninfo = conninfo
        self.display = display
        self.source = uuid.uuid4().hex[:16]  # tells our own NOTIFYs from other servers'
        self._listener: asyncio.Task[None] | None = None
        self._psycopg, _ = _import_psycopg()

    @classmethod
    async def open(cls, url: str, *, min_size: int = 2, max_size: int = 16) -> PostgresStore:
        """Connect, migrate under an advisory lock, open the pool. Errors name the URL (no password)."""
        psycopg, psycopg_pool = _import_psycopg()
        display = redact(url)
        try:
            params = psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise ValueError(f"invalid PostgreSQL URL {display}: {exc}") from exc
        params.setdefault("connect_timeout", _CONNECT_TIMEOUT)
        params.setdefault("application_name", "durable-workflow")
        conninfo = psycopg.conninfo.make_conninfo(**params)
        try:
            conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            raise ConnectionError(
                f"cannot connect to PostgreSQL at {display}: {str(exc).strip()}"
            ) from exc
        try:
            await _migrate(conn, display)
        finally:
            await conn.close()
        pool: AsyncConnectionPool[Any] = psycopg_pool.AsyncConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            kwargs={"autocommit": True},
            open=False,
            name="durable-workflow",
        )
        await pool.open(wait=True, timeout=_CONNECT_TIMEOUT)
        return cls(pool, conninfo, display)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        errors = self._psycopg.errors
        try:
            async with self._pool.connection() as conn, conn.transaction():
                yield PostgresTransaction(conn, self.source)
        except (errors.DeadlockDetected, errors.SerializationFailure) as exc:
            raise StoreConflict(f"lost a race with a concurrent transaction: {exc}") from exc
        except errors.UniqueViolation as exc:
            # Two servers inserted the same key (e.g. one namespace, one signal request id):
            # rerunning the operation sees the winner's row and answers accordingly.
            raise StoreConflict(f"concurrent insert of the same key: {exc}") from exc

    async def ping(self) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("SELECT 1")

    async def listen(self, listener: WakeListener) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(
                self._listen(listener), name="durable-workflow-listen"
            )

    async def _listen(self, listener: WakeListener) -> None:
        """One dedicated connection LISTENs; on loss, reconnect and tell everyone to re-check."""
        psycopg = self._psycopg
        first = True
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                try:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    if not first:
                        listener(None, None)  # whatever was notified while we were away
                    first = False
                    async for note in conn.notifies():
                        decoded = _decode_wake(note.payload)
                        if decoded is not None and decoded[0] != self.source:
                            listener(decoded[1], decoded[2])
                finally:
                    with contextlib.suppress(Exception):
                        await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("wake-up listener lost its connection (%s); reconnecting", exc)
                first = False
                await asyncio.sleep(_LISTEN_RETRY)

    async def close(self) -> None:
        task, self._listener = self._listener, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._pool.close()


async def _migrate(conn: psycopg.AsyncConnection[Any], display: str) -> None:
    """Apply pending migrations; servers starting together serialise on an advisory lock."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_MIGRATE,))
        cur = await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL")
        row = await cur.fetchone()
        current = 0
        if row is not None and row[0]:
            cur = await conn.execute("SELECT MAX(version) FROM schema_version")
            got = await cur.fetchone()
            current = int(got[0] or 0) if got is not None else 0
        if current > LATEST_VERSION:
            raise StoreVersionError(
                f"database {display} has schema version {current}, but this durable-workflow "
                f"supports at most version {LATEST_VERSION}; upgrade durable-workflow or use "
                "another database"
            )
        for step in pending(current):
            for stmt in step.statements("postgres"):
                await conn.execute(stmt)
            await conn.execute("DELETE FROM schema_version")
            await conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (step.version,))
