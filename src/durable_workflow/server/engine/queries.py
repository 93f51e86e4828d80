"""Server-routed query tasks (worker-plane.md §6, semantics §9): in memory, never in history.

A control-plane query becomes a task holding the run's full history; the next query poller of
the run's queue that can run the workflow type leases it for a short, wall-clock lease; its
complete/fail answers the waiting caller; then the task is dropped. Update validation tasks
(see ``updates.py``) travel the same way with ``task_kind: "update_validation"``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...protocol import codec
from ..store.rows import RunRow
from .clock import rfc3339
from .errors import EngineError, NotFound
from .ids import ulid
from .paging import event_dict
from .runctx import QUERY_KIND, WORKFLOW_KIND

if TYPE_CHECKING:
    from .service import Engine

#: A poller seen this recently (or parked now) counts as a live query worker.
LIVE_SECONDS = 15.0
QUERY_TIMEOUT_SECONDS = 30.0
_MAX_HISTORY = 10_000_000


def _error(status: int, reason: str, message: str, **extra: Any) -> EngineError:
    err = EngineError(message, reason=reason, **extra)
    err.status = status
    return err


@dataclass
class _Poller:
    types: list[str] | None
    capabilities: frozenset[str]
    seen: float
    active: int = 0


@dataclass
class SideTask:
    task_id: str
    namespace: str
    task_queue: str
    workflow_type: str
    capability: str | None
    payload: dict[str, Any]
    deadline: float  # wall clock
    future: asyncio.Future[dict[str, Any]]
    lease_owner: str | None = None
    attempt: int = 0


@dataclass
class _QueryState:
    pollers: dict[tuple[str, str], dict[str, _Poller]] = field(default_factory=dict)
    pending: dict[tuple[str, str], deque[SideTask]] = field(default_factory=dict)
    tasks: dict[str, SideTask] = field(default_factory=dict)


class QueriesMixin:
    """``Engine`` methods for queries and the in-memory side tasks they ride on."""

    def _queries(self) -> _QueryState:
        state: _QueryState | None = getattr(self, "_query_state", None)
        if state is None:
            state = _QueryState()
            self._query_state = state
        return state

    def _live_worker(
        self, ns: str, queue: str, workflow_type: str, capability: str | None
    ) -> bool:
        now = time.monotonic()
        for poller in self._queries().pollers.get((ns, queue), {}).values():
            if not (poller.active or now - poller.seen <= LIVE_SECONDS):
                continue
            if poller.types is not None and workflow_type not in poller.types:
                continue
            if capability is not None and capability not in poller.capabilities:
                continue
            return True
        return False

    async def query_workflow(
        self: Engine, ns: str, workflow_id: str, query_name: str, *, input: Any, timeout: float | None
    ) -> dict[str, Any]:
        """Route a query to a worker and return its answer (control-plane.md §1.8)."""
        async with self._txn() as (tx, _effects, _now):
            _wf, run = await self._instance(tx, ns, workflow_id)
        outcome = await self.run_side_task(
            ns,
            run,
            kind="query",
            name=query_name,
            arguments=input,
            timeout=min(timeout or QUERY_TIMEOUT_SECONDS, QUERY_TIMEOUT_SECONDS),
            capability=None,
        )
        failure = outcome.get("failure")
        if failure is not None:
            reason = str(failure.get("reason") or "query_rejected")
            status = 404 if reason == "rejected_unknown_query" else 409
            raise _error(
                status,
                reason,
                str(failure.get("message") or "query failed"),
                workflow_id=workflow_id,
                run_id=run.run_id,
                query_name=query_name,
            )
        return {
            "workflow_id": workflow_id,
            "run_id": run.run_id,
            "query_name": query_name,
            "target_scope": "instance",
            "result": None if outcome.get("result_envelope") else outcome.get("result"),
            "result_envelope": outcome.get("result_envelope"),
            "reason": None,
        }

    async def run_side_task(
        self: Engine,
        ns: str,
        run: RunRow,
        *,
        kind: str,
        name: str,
        arguments: Any,
        timeout: float,
        capability: str | None,
    ) -> dict[str, Any]:
        """Hand an in-memory task about ``run`` to a live worker and wait for its answer."""
        if not self._live_worker(ns, run.task_queue, run.workflow_type, capability):
            what = "query" if kind == "query" else "update validation"
            reason = "query_worker_unavailable" if kind == "query" else "update_validator_worker_unavailable"
            raise _error(
                409,
                reason,
                f"no {what}-capable worker polls task queue {run.task_queue!r} for workflow type {run.workflow_type!r}",
                workflow_id=run.workflow_id,
                run_id=run.run_id,
                task_queue=run.task_queue,
            )
        async with self._txn() as (tx, _effects, _now):
            events = await tx.read_events(run.run_id, 0, _MAX_HISTORY)
        loop = asyncio.get_running_loop()
        state = self._queries()
        admitted = time.time()
        task = SideTask(
            task_id=f"qt-{ulid(admitted)}",
            namespace=ns,
            task_queue=run.task_queue,
            workflow_type=run.workflow_type,
            capability=capability,
            payload={
                "task_kind": kind,
                "namespace": ns,
                "task_queue": run.task_queue,
                "workflow_id": run.workflow_id,
                "run_id": run.run_id,
                "workflow_type": run.workflow_type,
                "query_name": name,
                "payload_codec": codec.AVRO_CODEC,
                "workflow_arguments": run.input,
                "query_arguments": arguments,
                "history_events": [event_dict(e) for e in events],
                "query_admitted_at": rfc3339(admitted),
                "query_deadline_at": rfc3339(admitted + timeout),
            },
            deadline=admitted + timeout,
            future=loop.create_future(),
        )
        state.tasks[task.task_id] = task
        state.pending.setdefault((ns, run.task_queue), deque()).append(task)
        self.wakeups.notify((ns, run.task_queue, QUERY_KIND), None)
        try:
            await asyncio.wait((task.future,), timeout=timeout)
            if not task.future.done():
                claimed = task.lease_owner is not None
                raise _error(
                    504,
                    "query_worker_timeout" if claimed else "query_task_not_claimed",
                    f"no worker answered the {kind} {name!r} within {timeout:.0f} s",
                    workflow_id=run.workflow_id,
                    run_id=run.run_id,
                )
            return task.future.result()
        finally:
            state.tasks.pop(task.task_id, None)
            queue = state.pending.get((ns, run.task_queue))
            if queue is not None and task in queue:
                queue.remove(task)

    def _take_side_task(self, ns: str, queue: str, worker_id: str, poller: _Poller) -> dict[str, Any] | None:
        pending = self._queries().pending.get((ns, queue))
        if not pending:
            return None
        now = time.time()
        for task in list(pending):
            if task.deadline <= now:
                pending.remove(task)
                continue
            if poller.types is not None and task.workflow_type not in poller.types:
                continue
            if task.capability is not None and task.capability not in poller.capabilities:
                continue
            pending.remove(task)
            task.lease_owner, task.attempt = worker_id, task.attempt + 1
            return {
                **task.payload,
                "query_task_id": task.task_id,
                "query_task_attempt": task.attempt,
                "lease_owner": worker_id,
                "lease_expires_at": rfc3339(task.deadline),
            }
        return None

    async def poll_query_task(
        self: Engine, ns: str, worker_id: str, task_queue: str, *, timeout: float
    ) -> dict[str, Any] | None:
        """Long-poll for a query (or update-validation) task of ``task_queue``."""
        types = await self._worker_filter(ns, worker_id, task_queue, WORKFLOW_KIND)
        async with self._txn() as (tx, _effects, _now):
            row = await tx.get_worker(ns, worker_id)
        caps = frozenset(row.capabilities or []) if row is not None else frozenset()
        pollers = self._queries().pollers.setdefault((ns, task_queue), {})
        poller = pollers.get(worker_id)
        if poller is None:
            poller = pollers[worker_id] = _Poller(types, caps, time.monotonic())
        poller.types, poller.capabilities = types, caps
        poller.active += 1

        async def attempt() -> dict[str, Any] | None:
            return self._take_side_task(ns, task_queue, worker_id, poller)

        try:
            result: dict[str, Any] | None = await self._long_poll(
                ns, task_queue, QUERY_KIND, None, timeout, attempt, owner=worker_id
            )
            return result
        finally:
            poller.active -= 1
            poller.seen = time.monotonic()

    def _leased_side_task(self, ns: str, task_id: str, owner: Any, attempt: Any) -> SideTask:
        task = self._queries().tasks.get(task_id)
        if task is None or task.namespace != ns:
            raise NotFound(
                f"Query task {task_id!r} not found (answered, timed out or never existed).",
                reason="query_task_not_found",
                query_task_id=task_id,
            )
        if task.lease_owner is None:
            raise _error(409, "query_task_not_leased", f"query task {task_id} is not leased")
        if owner != task.lease_owner or attempt != task.attempt:
            raise _error(
                409, "lease_expired", f"query task {task_id} is leased to another worker or attempt"
            )
        return task

    async def complete_query_task(
        self, ns: str, task_id: str, *, owner: Any, attempt: Any, result: Any, result_envelope: Any
    ) -> dict[str, Any]:
        task = self._leased_side_task(ns, task_id, owner, attempt)
        if not task.future.done():
            task.future.set_result({"result": result, "result_envelope": result_envelope})
        return {"query_task_id": task_id, "outcome": "completed", "recorded": True}

    async def fail_query_task(
        self, ns: str, task_id: str, *, owner: Any, attempt: Any, failure: dict[str, Any]
    ) -> dict[str, Any]:
        task = self._leased_side_task(ns, task_id, owner, attempt)
        if not task.future.done():
            task.future.set_result({"failure": failure})
        return {"query_task_id": task_id, "outcome": "failed", "recorded": True}
