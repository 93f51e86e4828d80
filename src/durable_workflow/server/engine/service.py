"""The Engine: one async method per protocol operation, each one store transaction.

Effects that must only happen once the transaction is durable (waking parked polls,
telling the sweeper about an earlier due time) are collected in :class:`Effects` and
fired after commit.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ...protocol import codec
from ...protocol import events as ev
from ..store.base import Store, Transaction
from ..store.rows import (
    ActivityRow,
    EventRow,
    NamespaceRow,
    RunFilter,
    RunRow,
    SignalRequestRow,
    WorkerRow,
    WorkflowRow,
    WorkflowTaskRow,
)
from . import cancellation
from .clock import Clock, RealClock, rfc3339
from .config import EngineConfig
from .errors import (
    AlreadyStarted,
    InvalidArgument,
    LeaseConflict,
    NotFound,
    RunNotActive,
    WorkerNotFound,
)
from .ids import ulid
from .leases import (
    activity_lease_expiry,
    fail_activity_attempt,
    leased_deadline,
    release_workflow_task,
    resolve_activity,
    timeout_message,
    workflow_task_backoff,
)
from .paging import decode_token, encode_token, event_dict
from .queries import QueriesMixin
from .runctx import ACTIVITY_KIND, WORKFLOW_KIND, Effects, RunContext, create_run
from .timers import cancel_wait_timer, fire_timer
from .transitions import InvalidCommands, apply_commands, validate_commands
from .updates import UpdatesMixin, apply_update_task, check_update_task
from .wakeups import Wakeups

log = logging.getLogger(__name__)

DUPLICATE_POLICIES = ("fail", "use-existing", "allow-duplicate", "terminate-existing")
WAITING_FOR_HISTORY = "WorkflowTaskWaitingForHistory"
DEFAULT_NAMESPACE = "default"

_UNKNOWN: Any = object()


@dataclass(frozen=True, slots=True)
class StartResult:
    outcome: str  # started_new | returned_existing_active
    run: RunRow


def _stop_reason(run: RunRow) -> str:
    return f"run_{run.status}"


def _run_closed(run: RunRow, task_id: str, attempt: Any) -> LeaseConflict:
    return LeaseConflict(
        f"workflow run {run.run_id} is already {run.status}",
        reason="run_closed",
        task_id=task_id,
        workflow_task_attempt=attempt,
        stop_reason=_stop_reason(run),
        cancel_requested=run.status in ("cancelled", "terminated"),
        can_continue=False,
    )


def _timeout_kind(run: RunRow, now: float) -> str:
    """Which deadline closed the run: the one that fell due first."""
    due = [
        (at, kind)
        for at, kind in (
            (run.execution_deadline_at, "execution_timeout"),
            (run.run_deadline_at, "run_timeout"),
        )
        if at is not None and at <= now
    ]
    return min(due)[1] if due else "run_timeout"


class Engine(QueriesMixin, UpdatesMixin):
    """Decides every state transition; persists through a :class:`Store`."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        config: EngineConfig | None = None,
        wakeups: Wakeups | None = None,
    ) -> None:
        self.store = store
        self.clock: Clock = clock or RealClock()
        self.config = config or EngineConfig()
        self.wakeups = wakeups or Wakeups()
        self.on_due: Callable[[float], None] | None = None  # set by the sweeper
        self._namespaces: set[str] = set()
        self._worker_types: dict[tuple[str, str, str], list[str] | None] = {}
        # More sweeper steps (schedules, from the control plane): (batch limit) -> items handled.
        self.extra_sweeps: list[Callable[[int], Awaitable[int]]] = []

    # -- plumbing --------------------------------------------------------------------------

    @asynccontextmanager
    async def _txn(self) -> AsyncIterator[tuple[Transaction, Effects, float]]:
        effects = Effects()
        async with self.store.transaction() as tx:
            yield tx, effects, self.clock.now()
            for ctx in list(effects.contexts.values()):
                await ctx.save()  # runs changed on the side (a child's parent, ...)
            if effects.wakes:  # other server processes hear of new tasks at commit
                await tx.publish_wakes(effects.wakes)
        for callback in effects.after_commit:
            callback()
        for key, task_type in effects.wakes:
            self.wakeups.notify(key, task_type)
        if effects.earliest_due is not None and self.on_due is not None:
            self.on_due(effects.earliest_due)

    def _ctx(
        self, tx: Transaction, run: RunRow, now: float, effects: Effects, **kw: Any
    ) -> RunContext:
        return RunContext(tx, run, now, effects, self.config, **kw)

    async def start(self) -> None:
        """Load namespaces; create ``default`` on first start."""
        async with self._txn() as (tx, _, now):
            names = {ns.name for ns in await tx.list_namespaces()}
            if DEFAULT_NAMESPACE not in names:
                await tx.insert_namespace(
                    NamespaceRow(DEFAULT_NAMESPACE, "Default namespace", 30, "active", now, now)
                )
                names.add(DEFAULT_NAMESPACE)
        self._namespaces = names

    def has_namespace(self, name: str) -> bool:
        return name in self._namespaces

    async def _instance(
        self, tx: Transaction, ns: str, workflow_id: str
    ) -> tuple[WorkflowRow, RunRow]:
        wf = await tx.get_workflow(ns, workflow_id)
        run = await tx.get_run(wf.current_run_id) if wf is not None else None
        if wf is None or run is None:
            raise NotFound(f"Workflow {workflow_id!r} not found.", workflow_id=workflow_id)
        return wf, run

    # -- control plane: workflows ---------------------------------------------------------

    async def start_workflow(
        self,
        ns: str,
        *,
        workflow_id: str,
        workflow_type: str,
        task_queue: str,
        input: Any,
        duplicate_policy: str = "fail",
        execution_timeout_seconds: int | None = None,
        run_timeout_seconds: int | None = None,
        memo: dict[str, Any] | None = None,
        search_attributes: dict[str, Any] | None = None,
        business_key: str | None = None,
        build_id: str | None = None,
        priority: int | None = None,
    ) -> StartResult:
        if duplicate_policy not in DUPLICATE_POLICIES:
            raise InvalidArgument(
                f"duplicate_policy must be one of {', '.join(DUPLICATE_POLICIES)}",
                {"duplicate_policy": [f"must be one of {', '.join(DUPLICATE_POLICIES)}"]},
            )
        async with self._txn() as (tx, effects, now):
            wf = await tx.get_workflow(ns, workflow_id)
            run_number = 1
            if wf is not None:
                current = await tx.get_run(wf.current_run_id)
                assert current is not None
                if current.is_open and duplicate_policy == "use-existing":
                    return StartResult("returned_existing_active", current)
                if current.is_open and duplicate_policy == "terminate-existing":
                    ctx = self._ctx(tx, current, now, effects)
                    await self._close_by_command(
                        ctx,
                        "terminate",
                        "terminated by a start with duplicate_policy terminate-existing",
                    )
                    await ctx.save()
                elif current.is_open or duplicate_policy not in (
                    "allow-duplicate",
                    "terminate-existing",
                ):
                    raise AlreadyStarted(
                        f"Workflow {workflow_id!r} already exists (run {current.run_id} is {current.status}).",
                        outcome="rejected_duplicate",
                        workflow_id=workflow_id,
                        run_id=current.run_id,
                    )
                run_number = wf.run_count + 1
            new = await create_run(
                tx,
                effects,
                self.config,
                now,
                namespace=ns,
                workflow_id=workflow_id,
                run_number=run_number,
                workflow_type=workflow_type,
                task_queue=task_queue,
                input=input,
                memo=memo,
                search_attributes=search_attributes,
                execution_timeout_seconds=execution_timeout_seconds,
                run_timeout_seconds=run_timeout_seconds,
                business_key=business_key,
                build_id=build_id,
                priority=priority,
            )
            await new.save()
            if wf is None:
                await tx.insert_workflow(WorkflowRow(ns, workflow_id, new.run.run_id, 1, now, now))
            else:
                await tx.update_workflow(
                    ns,
                    workflow_id,
                    {"current_run_id": new.run.run_id, "run_count": run_number, "updated_at": now},
                )
            return StartResult("started_new", new.run)

    async def describe_workflow(self, ns: str, workflow_id: str) -> tuple[WorkflowRow, RunRow]:
        async with self._txn() as (tx, _, _now):
            return await self._instance(tx, ns, workflow_id)

    async def list_runs(self, ns: str, workflow_id: str) -> tuple[WorkflowRow, list[RunRow]]:
        async with self._txn() as (tx, _, _now):
            wf, _run = await self._instance(tx, ns, workflow_id)
            return wf, await tx.list_runs(ns, workflow_id)

    async def _run_of(
        self, tx: Transaction, ns: str, workflow_id: str, run_id: str
    ) -> tuple[WorkflowRow, RunRow]:
        wf, _current = await self._instance(tx, ns, workflow_id)
        run = await tx.get_run(run_id)
        if run is None or run.namespace != ns or run.workflow_id != workflow_id:
            raise NotFound(
                f"Run {run_id!r} of workflow {workflow_id!r} not found.",
                reason="run_not_found",
                workflow_id=workflow_id,
                run_id=run_id,
            )
        return wf, run

    async def describe_run(
        self, ns: str, workflow_id: str, run_id: str
    ) -> tuple[WorkflowRow, RunRow]:
        async with self._txn() as (tx, _, _now):
            return await self._run_of(tx, ns, workflow_id, run_id)

    async def list_workflows(
        self, ns: str, flt: RunFilter, offset: int, limit: int
    ) -> tuple[list[RunRow], bool]:
        """One page of current runs, newest first, and whether more exist."""
        async with self._txn() as (tx, _, _now):
            rows = await tx.list_current_runs(ns, flt, offset, limit + 1)
        return rows[:limit], len(rows) > limit

    async def history(
        self, ns: str, workflow_id: str, run_id: str, after_sequence: int, limit: int
    ) -> tuple[RunRow, list[EventRow], bool]:
        async with self._txn() as (tx, _, _now):
            _wf, run = await self._run_of(tx, ns, workflow_id, run_id)
            rows = await tx.read_events(run.run_id, after_sequence, limit + 1)
        return run, rows[:limit], len(rows) > limit

    async def signal(
        self,
        ns: str,
        workflow_id: str,
        signal_name: str,
        *,
        input: Any,
        request_id: str,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """Record ``SignalReceived`` (buffered while a task is leased); idempotent per ``request_id``."""
        blob = input.get("blob") if isinstance(input, dict) else input
        fingerprint = hashlib.sha256(
            json.dumps([signal_name, run_id, blob], separators=(",", ":")).encode()
        ).hexdigest()
        async with self._txn() as (tx, effects, now):
            wf, run = await self._instance(tx, ns, workflow_id)
            seen = await tx.get_signal_request(ns, workflow_id, request_id)
            if seen is not None:
                if seen.fingerprint != fingerprint:
                    raise LeaseConflict(
                        f"request_id {request_id!r} was already used for a different signal",
                        reason="request_id_conflict",
                        retained_command_type="signal",
                        request_id=request_id,
                        retained_command_id=seen.receipt.get("command_id"),
                        retained_outcome=seen.receipt.get("outcome"),
                        conflict="request_id_reused_with_different_intent",
                    )
                return {**seen.receipt, "retained": True}
            if run_id is not None and run_id != wf.current_run_id:
                _wf, target = await self._run_of(tx, ns, workflow_id, run_id)
                raise LeaseConflict(
                    f"run {run_id} is not the current run of workflow {workflow_id!r}",
                    reason="historical_run_command_rejected",
                    workflow_id=workflow_id,
                    run_id=target.run_id,
                    current_run_id=wf.current_run_id,
                )
            if not run.is_open:
                raise RunNotActive(
                    f"Workflow {workflow_id!r} run {run.run_id} is {run.status}; it cannot receive signals.",
                    workflow_id=workflow_id,
                    run_id=run.run_id,
                    control_plane_operation="signal",
                    control_plane={"operation": "signal"},
                )
            signal_id = ulid(now)
            ctx = self._ctx(tx, run, now, effects)
            await ctx.deliver(
                ev.SIGNAL_RECEIVED,
                {
                    "signal_name": signal_name,
                    "input": input,
                    "signal_id": signal_id,
                    "request_id": request_id,
                },
                wakes=True,
            )
            await ctx.save()
            receipt = {
                "workflow_id": workflow_id,
                "run_id": run.run_id,
                "signal_name": signal_name,
                "outcome": "signal_received",
                "command_status": "accepted",
                "command_id": signal_id,
                "request_id": request_id,
            }
            await tx.insert_signal_request(
                SignalRequestRow(ns, workflow_id, request_id, fingerprint, receipt, now)
            )
            return receipt

    async def _close_by_command(self, ctx: RunContext, kind: str, reason: str | None) -> None:
        await cancellation.close_by_command(ctx, kind, reason)

    async def cancel_or_terminate(
        self, ns: str, workflow_id: str, kind: str, reason: str | None
    ) -> dict[str, Any]:
        """Close the current run now (semantics §13). ``kind`` is ``cancel`` or ``terminate``."""
        async with self._txn() as (tx, effects, now):
            _wf, run = await self._instance(tx, ns, workflow_id)
            if not run.is_open:
                raise RunNotActive(
                    f"Workflow {workflow_id!r} run {run.run_id} is already {run.status}.",
                    workflow_id=workflow_id,
                    run_id=run.run_id,
                    control_plane_operation=kind,
                    control_plane={"operation": kind},
                )
            ctx = self._ctx(tx, run, now, effects)
            if kind == "cancel" and await cancellation.cooperative_possible(tx, run):
                # Our SDK's workers see the cancellation and may clean up (cancellation.py).
                await cancellation.request_cancel(ctx, reason)
                await ctx.save()
                return {
                    "workflow_id": workflow_id,
                    "run_id": run.run_id,
                    "outcome": "cancel_requested",
                    "command_status": "accepted",
                    "command_id": ulid(now),
                    "reason": reason,
                }
            await self._close_by_command(ctx, kind, reason)
            await ctx.save()
            return {
                "workflow_id": workflow_id,
                "run_id": run.run_id,
                "outcome": "cancelled" if kind == "cancel" else "terminated",
                "command_status": "accepted",
                "command_id": ulid(now),
                "reason": reason,
            }

    # -- workers ---------------------------------------------------------------------------

    async def register_worker(
        self,
        ns: str,
        worker_id: str,
        *,
        task_queue: str | None,
        runtime: str | None,
        sdk_version: str | None,
        build_id: str | None,
        workflow_types: list[str] | None,
        activity_types: list[str] | None,
        contracts: dict[str, Any] | None,
        capabilities: list[str] | None,
        details: dict[str, Any],
    ) -> WorkerRow:
        async with self._txn() as (tx, _, now):
            old = await tx.get_worker(ns, worker_id)
            row = WorkerRow(
                namespace=ns,
                worker_id=worker_id,
                task_queue=task_queue,
                runtime=runtime,
                sdk_version=sdk_version,
                build_id=build_id,
                supported_workflow_types=workflow_types,
                supported_activity_types=activity_types,
                workflow_command_contracts=contracts,
                capabilities=capabilities,
                details=details,
                registered_at=old.registered_at if old else now,
                updated_at=now,
                last_heartbeat_at=now,
            )
            await tx.upsert_worker(row)
        self._cache_worker(row)
        return row

    def _cache_worker(self, row: WorkerRow) -> None:
        self._worker_types[(row.namespace, row.worker_id, WORKFLOW_KIND)] = (
            row.supported_workflow_types
        )
        self._worker_types[(row.namespace, row.worker_id, ACTIVITY_KIND)] = (
            row.supported_activity_types
        )

    async def heartbeat_worker(self, ns: str, worker_id: str, details: dict[str, Any]) -> WorkerRow:
        """Record liveness; an unknown worker is registered implicitly (never strand workers, §15)."""
        async with self._txn() as (tx, _, now):
            row = await tx.get_worker(ns, worker_id)
            if row is None:
                row = self._implicit_worker(ns, worker_id, None, now)
                row.details = details
                await tx.upsert_worker(row)
            else:
                merged = {**(row.details or {}), **details}
                await tx.update_worker(
                    ns, worker_id, {"last_heartbeat_at": now, "updated_at": now, "details": merged}
                )
                row.last_heartbeat_at, row.details = now, merged
        self._cache_worker(row)
        return row

    @staticmethod
    def _implicit_worker(ns: str, worker_id: str, task_queue: str | None, now: float) -> WorkerRow:
        # Types unknown: accept any, so a worker that polls after a server restart keeps working.
        return WorkerRow(
            ns, worker_id, task_queue, None, None, None, None, None, None, None, {}, now, now, now
        )

    async def deregister_worker(self, ns: str, worker_id: str) -> int:
        """Forget the worker and re-offer the workflow tasks it holds; returns how many."""
        async with self._txn() as (tx, effects, now):
            if not await tx.delete_worker(ns, worker_id):
                raise WorkerNotFound(
                    f"Worker {worker_id!r} is not registered.", worker_id=worker_id
                )
            tasks = await tx.leased_workflow_tasks_of(ns, worker_id)
            for task in tasks:
                run = await tx.get_run(task.run_id)
                if run is None:
                    continue
                ctx = self._ctx(tx, run, now, effects)
                await release_workflow_task(ctx, task)
                await ctx.save()
        for kind in (WORKFLOW_KIND, ACTIVITY_KIND):
            self._worker_types.pop((ns, worker_id, kind), None)
        self.wakeups.dismiss(ns, worker_id)
        return len(tasks)

    async def _worker_filter(
        self, ns: str, worker_id: str, task_queue: str, kind: str
    ) -> list[str] | None:
        key = (ns, worker_id, kind)
        types = self._worker_types.get(key, _UNKNOWN)
        if types is not _UNKNOWN:
            return types  # type: ignore[no-any-return]
        async with self._txn() as (tx, _, now):
            row = await tx.get_worker(ns, worker_id)
            if row is None:
                row = self._implicit_worker(ns, worker_id, task_queue, now)
                await tx.upsert_worker(row)
        self._cache_worker(row)
        return self._worker_types[key]

    # -- long polls ------------------------------------------------------------------------

    async def _long_poll(
        self,
        ns: str,
        task_queue: str,
        kind: str,
        types: Sequence[str] | None,
        timeout: float,
        attempt: Callable[[], Any],
        owner: str | None = None,
    ) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, min(timeout, self.config.max_poll_seconds))
        key = (ns, task_queue, kind)
        while True:
            waiter = self.wakeups.park(key, types, owner)
            try:
                result = await attempt()
                if result is not None:
                    return result
                remaining = deadline - loop.time()
                if remaining <= 0 or self.wakeups.closed:
                    return None
                if not await waiter.wait(remaining):
                    return None
            finally:
                waiter.release()

    async def poll_workflow_task(
        self,
        ns: str,
        worker_id: str,
        task_queue: str,
        *,
        poll_request_id: str | None,
        timeout: float,
        history_page_size: int | None = None,
    ) -> dict[str, Any] | None:
        """Lease the next workflow task of the queue this worker can run, waiting up to ``timeout``."""
        types = await self._worker_filter(ns, worker_id, task_queue, WORKFLOW_KIND)
        page = self._page_size(history_page_size)

        async def attempt() -> dict[str, Any] | None:
            return await self._lease_workflow_task(
                ns, worker_id, task_queue, types, poll_request_id, page
            )

        result: dict[str, Any] | None = await self._long_poll(
            ns, task_queue, WORKFLOW_KIND, types, timeout, attempt, owner=worker_id
        )
        return result

    def _page_size(self, requested: int | None) -> int:
        if not requested or requested <= 0:
            return self.config.history_page_size_default
        return min(requested, self.config.history_page_size_max)

    async def _lease_workflow_task(
        self,
        ns: str,
        worker_id: str,
        task_queue: str,
        types: Sequence[str] | None,
        poll_request_id: str | None,
        page: int,
    ) -> dict[str, Any] | None:
        async with self._txn() as (tx, effects, now):
            task = None
            if poll_request_id:
                prior = await tx.workflow_task_by_poll(poll_request_id)
                if (
                    prior is not None
                    and prior.status == "leased"
                    and prior.lease_owner == worker_id
                ):
                    task = prior  # the SDK retried this very poll: hand back the same lease
            if task is None:
                task = await tx.next_ready_workflow_task(ns, task_queue, types, now)
                if task is None:
                    return None
                task.status, task.attempt = "leased", task.attempt + 1
                task.lease_owner, task.poll_request_id = worker_id, poll_request_id
                task.lease_expires_at = now + self.config.workflow_task_lease_seconds
                await tx.update_workflow_task(
                    task.task_id,
                    {
                        "status": "leased",
                        "attempt": task.attempt,
                        "lease_owner": worker_id,
                        "lease_expires_at": task.lease_expires_at,
                        "poll_request_id": poll_request_id,
                    },
                )
                effects.due(task.lease_expires_at)
            run = await tx.get_run(task.run_id)
            assert run is not None
            if run.status != "running":
                await tx.update_run(run.run_id, {"status": "running"})
                run.status = "running"
            events = await tx.read_events(run.run_id, 0, page)
            payload = self._task_payload(task, run, events)
            update = await tx.update_of_task(task.task_id)
            if update is not None:
                payload["workflow_update_id"] = update.update_id
            return payload

    def _task_payload(
        self, task: WorkflowTaskRow, run: RunRow, events: list[EventRow]
    ) -> dict[str, Any]:
        last = events[-1].sequence if events else 0
        more = last < run.last_event_sequence
        return {
            "task_id": task.task_id,
            "task_kind": "workflow",
            "workflow_task_attempt": task.attempt,
            "namespace": run.namespace,
            "task_queue": task.task_queue,
            "workflow_id": run.workflow_id,
            "run_id": run.run_id,
            "workflow_type": run.workflow_type,
            "payload_codec": codec.AVRO_CODEC,
            "arguments": run.input,
            "history_events": [event_dict(e) for e in events],
            "next_history_page_token": encode_token(last) if more else None,
            "total_history_events": run.last_event_sequence,
            "last_history_sequence": run.last_event_sequence,
            "lease_owner": task.lease_owner,
            "lease_expires_at": rfc3339(task.lease_expires_at),
            "cancel_requested": False,
            "run_status": run.status,
        }

    # -- workflow-task follow-ups ------------------------------------------------------------

    async def _fenced_task(
        self, tx: Transaction, ns: str, task_id: str, owner: Any, attempt: Any, now: float
    ) -> tuple[WorkflowTaskRow, RunRow]:
        task = await tx.get_workflow_task(task_id)
        if task is None or task.namespace != ns:
            raise NotFound(
                f"Workflow task {task_id!r} not found.", reason="task_not_found", task_id=task_id
            )
        run = await tx.get_run(task.run_id)
        assert run is not None
        return task, run

    @staticmethod
    def _check_lease(
        task: WorkflowTaskRow, run: RunRow, owner: Any, attempt: Any, now: float
    ) -> None:
        if not run.is_open:
            raise _run_closed(run, task.task_id, attempt)
        extra = {"task_id": task.task_id, "workflow_task_attempt": attempt, "lease_owner": owner}
        same_lease = owner == task.lease_owner and attempt == task.attempt
        if task.status == "leased":
            if owner != task.lease_owner:
                raise LeaseConflict(
                    f"workflow task {task.task_id} is leased to another worker",
                    reason="lease_owner_mismatch",
                    **extra,
                )
            if attempt != task.attempt:
                raise LeaseConflict(
                    f"workflow task {task.task_id} is at attempt {task.attempt}, not {attempt}",
                    reason="workflow_task_attempt_mismatch",
                    **extra,
                )
            if task.lease_expires_at is not None and task.lease_expires_at <= now:
                raise LeaseConflict(
                    f"the lease on workflow task {task.task_id} expired",
                    reason="lease_expired",
                    **extra,
                )
            return
        if task.status in ("ready", "delayed") and same_lease:
            raise LeaseConflict(
                f"the lease on workflow task {task.task_id} expired",
                reason="lease_expired",
                **extra,
            )
        raise LeaseConflict(
            f"workflow task {task.task_id} is not leased ({task.status})",
            reason="task_not_leased",
            **extra,
        )

    async def workflow_task_history(
        self,
        ns: str,
        task_id: str,
        *,
        owner: Any,
        attempt: Any,
        page_token: str | None,
        page_size: int | None = None,
    ) -> dict[str, Any]:
        after = decode_token(page_token, "next_history_page_token")
        page = self._page_size(page_size)
        async with self._txn() as (tx, _, now):
            task, run = await self._fenced_task(tx, ns, task_id, owner, attempt, now)
            self._check_lease(task, run, owner, attempt, now)
            events = await tx.read_events(run.run_id, after, page)
        last = events[-1].sequence if events else after
        return {
            "task_id": task_id,
            "workflow_task_attempt": task.attempt,
            "history_events": [event_dict(e) for e in events],
            "next_history_page_token": encode_token(last)
            if last < run.last_event_sequence
            else None,
            "total_history_events": run.last_event_sequence,
        }

    async def heartbeat_workflow_task(
        self, ns: str, task_id: str, *, owner: Any, attempt: Any
    ) -> dict[str, Any]:
        async with self._txn() as (tx, _effects, now):
            task, run = await self._fenced_task(tx, ns, task_id, owner, attempt, now)
            self._check_lease(task, run, owner, attempt, now)
            expires = now + self.config.workflow_task_lease_seconds
            await tx.update_workflow_task(task_id, {"lease_expires_at": expires})
        return {
            "task_id": task_id,
            "workflow_task_attempt": task.attempt,
            "lease_owner": task.lease_owner,
            "renewed": True,
            "lease_expires_at": rfc3339(expires),
            "run_status": run.status,
            "task_status": "leased",
            "reason": None,
        }

    async def complete_workflow_task(
        self, ns: str, task_id: str, *, owner: Any, attempt: Any, commands: Any
    ) -> dict[str, Any]:
        """Apply a completion (semantics §3.4). Idempotent for the same (task, owner, attempt)."""
        async with self._txn() as (tx, effects, now):
            task, run = await self._fenced_task(tx, ns, task_id, owner, attempt, now)
            if task.outcome is not None and task.lease_owner == owner and task.attempt == attempt:
                return task.outcome
            self._check_lease(task, run, owner, attempt, now)
            update = await tx.update_of_task(task_id)
            errors = (
                check_update_task(commands, update)
                if update is not None
                else validate_commands(commands)
            )
            if errors:
                first = next(iter(errors.items()))
                raise InvalidCommands(
                    f"invalid workflow task commands: {first[0]} {first[1][0]}", errors
                )
            ctx = self._ctx(tx, run, now, effects, current_task=task)
            if update is not None:
                # An update task never closes the condition wait (semantics §8).
                await apply_update_task(ctx, update, commands[0])
            else:
                await cancel_wait_timer(ctx)
                await apply_commands(ctx, commands)
            await tx.update_workflow_task(task_id, {"status": "completed", "finished_at": now})
            ctx.forget_open_task()
            ctx.current_task = None
            next_task = None
            if run.is_open:
                pending = await ctx.flush_inbox()
                ctx.set(status="waiting", wft_failures=0)
                if pending or update is not None:  # a regular task follows an update (§9)
                    next_task = await ctx.create_task()
            outcome = {
                "task_id": task_id,
                "workflow_task_attempt": task.attempt,
                "outcome": "completed",
                "recorded": True,
                "run_id": run.run_id,
                "run_status": run.status,
                "created_task_ids": [next_task.task_id] if next_task else [],
                "reason": None,
            }
            await tx.update_workflow_task(task_id, {"outcome": outcome})
            await ctx.save()
            return outcome

    async def fail_workflow_task(
        self, ns: str, task_id: str, *, owner: Any, attempt: Any, failure: dict[str, Any]
    ) -> dict[str, Any]:
        """``WorkflowTaskWaitingForHistory`` is a successful no-op; other failures retry after a back-off."""
        async with self._txn() as (tx, effects, now):
            task, run = await self._fenced_task(tx, ns, task_id, owner, attempt, now)
            if task.outcome is not None and task.lease_owner == owner and task.attempt == attempt:
                return task.outcome
            self._check_lease(task, run, owner, attempt, now)
            ctx = self._ctx(tx, run, now, effects)
            waiting = failure.get("type") == WAITING_FOR_HISTORY
            status = "completed" if waiting else "failed"
            await tx.update_workflow_task(
                task_id,
                {"status": status, "finished_at": now, "failure": None if waiting else failure},
            )
            ctx.forget_open_task()
            pending = await ctx.flush_inbox()
            if waiting:
                next_task = await ctx.create_task() if pending else None
                ctx.set(status="waiting")
                outcome: dict[str, Any] = {
                    "task_id": task_id,
                    "workflow_task_attempt": task.attempt,
                    "outcome": "waiting_for_history",
                    "recorded": True,
                    "reason": None,
                    "next_task_id": next_task.task_id if next_task else None,
                }
            else:
                failures = run.wft_failures + 1
                delay = workflow_task_backoff(failures, self.config)
                log.warning(
                    "workflow task %s of %s run %s failed (attempt %s): %s: %s",
                    task_id,
                    run.workflow_id,
                    run.run_id,
                    task.attempt,
                    failure.get("type"),
                    failure.get("message"),
                )
                next_task = await ctx.create_task(delay)
                ctx.set(
                    status="waiting",
                    wft_failures=failures,
                    last_wft_failure={
                        "task_id": task_id,
                        "attempt": task.attempt,
                        "message": failure.get("message"),
                        "type": failure.get("type"),
                        "reason": failure.get("reason"),
                        "failed_at": rfc3339(now),
                    },
                )
                outcome = {
                    "task_id": task_id,
                    "workflow_task_attempt": task.attempt,
                    "outcome": "failed",
                    "recorded": True,
                    "reason": None,
                    "next_task_id": next_task.task_id,
                    "retry_after_seconds": delay,
                }
            await tx.update_workflow_task(task_id, {"outcome": outcome})
            await ctx.save()
            return outcome

    # -- activity tasks ------------------------------------------------------------------------

    async def poll_activity_task(
        self,
        ns: str,
        worker_id: str,
        task_queue: str,
        *,
        poll_request_id: str | None,
        timeout: float,
    ) -> dict[str, Any] | None:
        types = await self._worker_filter(ns, worker_id, task_queue, ACTIVITY_KIND)

        async def attempt() -> dict[str, Any] | None:
            return await self._lease_activity(ns, worker_id, task_queue, types, poll_request_id)

        result: dict[str, Any] | None = await self._long_poll(
            ns, task_queue, ACTIVITY_KIND, types, timeout, attempt, owner=worker_id
        )
        return result

    async def _lease_activity(
        self,
        ns: str,
        worker_id: str,
        task_queue: str,
        types: Sequence[str] | None,
        poll_request_id: str | None,
    ) -> dict[str, Any] | None:
        async with self._txn() as (tx, effects, now):
            if poll_request_id:
                prior = await tx.activity_by_poll(poll_request_id)
                if (
                    prior is not None
                    and prior.status == "leased"
                    and prior.lease_owner == worker_id
                ):
                    return self._activity_payload(prior)
            act = await tx.next_ready_activity(ns, task_queue, types, now)
            if act is None:
                return None
            act.status, act.attempt_number = "leased", act.attempt_number + 1
            act.attempt_id, act.attempt_started_at = ulid(now), now
            act.lease_owner, act.poll_request_id = worker_id, poll_request_id
            act.lease_expires_at = activity_lease_expiry(act, now, self.config)
            act.deadline_at = leased_deadline(act)
            await tx.update_activity(
                act.task_id,
                {
                    "status": "leased",
                    "attempt_number": act.attempt_number,
                    "attempt_id": act.attempt_id,
                    "attempt_started_at": now,
                    "lease_owner": worker_id,
                    "lease_expires_at": act.lease_expires_at,
                    "poll_request_id": poll_request_id,
                    "deadline_at": act.deadline_at,
                    "last_heartbeat_at": None,
                },
            )
            effects.due(act.lease_expires_at)
            return self._activity_payload(act)

    @staticmethod
    def _activity_payload(act: ActivityRow) -> dict[str, Any]:
        return {
            "task_id": act.task_id,
            "activity_execution_id": act.task_id,
            "activity_attempt_id": act.attempt_id,
            "attempt_id": act.attempt_id,
            "activity_type": act.activity_type,
            "payload_codec": codec.AVRO_CODEC,
            "arguments": act.arguments,
            "attempt_number": act.attempt_number,
            "workflow_id": act.workflow_id,
            "run_id": act.run_id,
            "workflow_type": act.workflow_type,
            "sequence": act.sequence,
            "retry_policy": act.retry_policy,
            "task_queue": act.task_queue,
            "namespace": act.namespace,
            "lease_owner": act.lease_owner,
            "lease_expires_at": rfc3339(act.lease_expires_at),
            "deadlines": {
                "start_to_close_timeout": act.start_to_close_timeout,
                "schedule_to_close_timeout": act.schedule_to_close_timeout,
                "heartbeat_timeout": act.heartbeat_timeout,
            },
        }

    async def _activity_for_report(
        self, tx: Transaction, ns: str, task_id: str, attempt_id: Any, owner: Any, now: float
    ) -> tuple[ActivityRow, RunRow] | dict[str, Any]:
        """Fence an activity report; returns a ready answer for reports that must be ignored."""
        act = await tx.get_activity(task_id)
        if act is None or act.namespace != ns:
            raise NotFound(
                f"Activity task {task_id!r} not found.", reason="task_not_found", task_id=task_id
            )
        run = await tx.get_run(act.run_id)
        assert run is not None
        ignored = {
            "task_id": task_id,
            "activity_attempt_id": attempt_id,
            "outcome": "ignored",
            "recorded": False,
        }
        if not run.is_open or act.status == "cancelled":
            return {
                **ignored,
                "reason": _stop_reason(run) if not run.is_open else "activity_cancelled",
            }
        extra = {"task_id": task_id, "activity_attempt_id": attempt_id}
        if attempt_id != act.attempt_id:
            raise LeaseConflict(
                f"activity attempt {attempt_id!r} is not the current attempt of task {task_id}",
                reason="activity_attempt_mismatch",
                **extra,
            )
        if owner != act.lease_owner:
            raise LeaseConflict(
                f"activity task {task_id} is leased to another worker",
                reason="lease_owner_mismatch",
                **extra,
            )
        if act.status != "leased" or (
            act.lease_expires_at is not None and act.lease_expires_at <= now
        ):
            raise LeaseConflict(
                f"the lease on activity attempt {attempt_id} ended", reason="lease_expired", **extra
            )
        return act, run

    async def complete_activity_task(
        self, ns: str, task_id: str, *, attempt_id: Any, owner: Any, result: Any
    ) -> dict[str, Any]:
        async with self._txn() as (tx, effects, now):
            act = await tx.get_activity(task_id)
            if (
                act is not None
                and act.status == "completed"
                and act.attempt_id == attempt_id
                and act.lease_owner == owner
            ):
                return {
                    "task_id": task_id,
                    "activity_attempt_id": attempt_id,
                    "outcome": "completed",
                    "recorded": True,
                    "reason": None,
                }
            found = await self._activity_for_report(tx, ns, task_id, attempt_id, owner, now)
            if isinstance(found, dict):
                return found
            act, run = found
            ctx = self._ctx(tx, run, now, effects)
            await resolve_activity(ctx, act, "completed", ev.ACTIVITY_COMPLETED, {"result": result})
            await ctx.save()
        return {
            "task_id": task_id,
            "activity_attempt_id": attempt_id,
            "outcome": "completed",
            "recorded": True,
            "reason": None,
        }

    async def fail_activity_task(
        self, ns: str, task_id: str, *, attempt_id: Any, owner: Any, failure: dict[str, Any]
    ) -> dict[str, Any]:
        async with self._txn() as (tx, effects, now):
            act = await tx.get_activity(task_id)
            if (
                act is not None
                and act.status == "failed"
                and act.attempt_id == attempt_id
                and act.lease_owner == owner
            ):
                return {
                    "task_id": task_id,
                    "activity_attempt_id": attempt_id,
                    "outcome": "failed",
                    "recorded": True,
                    "reason": None,
                }
            found = await self._activity_for_report(tx, ns, task_id, attempt_id, owner, now)
            if isinstance(found, dict):
                return found
            act, run = found
            ctx = self._ctx(tx, run, now, effects)
            decision = await fail_activity_attempt(ctx, act, failure)
            await ctx.save()
        answer: dict[str, Any] = {
            "task_id": task_id,
            "activity_attempt_id": attempt_id,
            "outcome": "retry_scheduled" if decision.retry else "failed",
            "recorded": True,
            "reason": None if decision.retry else decision.reason,
        }
        if decision.retry:
            answer["retry_after_seconds"] = decision.delay_seconds
        return answer

    async def heartbeat_activity_task(
        self, ns: str, task_id: str, *, attempt_id: Any, owner: Any, details: Any
    ) -> dict[str, Any]:
        async with self._txn() as (tx, _effects, now):
            act = await tx.get_activity(task_id)
            if act is None or act.namespace != ns:
                raise NotFound(
                    f"Activity task {task_id!r} not found.",
                    reason="task_not_found",
                    task_id=task_id,
                )
            base = {"task_id": task_id, "activity_attempt_id": attempt_id, "lease_owner": owner}
            run = await tx.get_run(act.run_id)
            assert run is not None
            if not run.is_open or act.status == "cancelled":
                reason = _stop_reason(run) if not run.is_open else "activity_cancelled"
                return {
                    **base,
                    "cancel_requested": True,
                    "can_continue": False,
                    "reason": reason,
                    "heartbeat_recorded": False,
                }
            if attempt_id != act.attempt_id or owner != act.lease_owner or act.status != "leased":
                return {
                    **base,
                    "cancel_requested": False,
                    "can_continue": False,
                    "reason": "attempt_superseded",
                    "heartbeat_recorded": False,
                }
            act.attempt_started_at = act.attempt_started_at or now
            expires = activity_lease_expiry(act, now, self.config)
            await tx.update_activity(
                task_id,
                {
                    "last_heartbeat_at": now,
                    "heartbeat_details": details,
                    "lease_expires_at": expires,
                },
            )
        return {
            **base,
            "cancel_requested": False,
            "can_continue": True,
            "reason": None,
            "heartbeat_recorded": True,
            "lease_expires_at": rfc3339(expires),
            "last_heartbeat_at": rfc3339(now),
        }

    # -- sweeper ---------------------------------------------------------------------------

    async def sweep(self) -> float | None:
        """Handle everything due now; return when the next item falls due (None: nothing scheduled)."""
        limit = self.config.sweep_batch
        more = False
        for step in (
            self._sweep_workflow_leases,
            self._sweep_delayed_workflow_tasks,
            self._sweep_timers,
            self._sweep_activity_leases,
            self._sweep_delayed_activities,
            self._sweep_activity_deadlines,
            self._sweep_run_deadlines,
            *self.extra_sweeps,
        ):
            if await step(limit) >= limit:
                more = True
        if more:
            return self.clock.now()
        async with self.store.transaction() as tx:
            return await tx.next_due_at()

    async def _run_ctx(
        self,
        tx: Transaction,
        contexts: dict[str, RunContext],
        run_id: str,
        now: float,
        effects: Effects,
    ) -> RunContext | None:
        ctx = contexts.get(run_id) or effects.contexts.get(run_id)
        if ctx is None:
            run = await tx.get_run(run_id)
            if run is None:
                return None
            ctx = contexts[run_id] = self._ctx(tx, run, now, effects)
        return ctx

    @asynccontextmanager
    async def _sweep_txn(
        self,
    ) -> AsyncIterator[tuple[Transaction, Effects, float, dict[str, RunContext]]]:
        contexts: dict[str, RunContext] = {}
        async with self._txn() as (tx, effects, now):
            yield tx, effects, now, contexts
            for ctx in contexts.values():
                await ctx.save()

    async def _sweep_workflow_leases(self, limit: int) -> int:
        async with self._sweep_txn() as (tx, effects, now, contexts):
            tasks = await tx.expired_workflow_leases(now, limit)
            for task in tasks:
                ctx = await self._run_ctx(tx, contexts, task.run_id, now, effects)
                if ctx is None or not ctx.run.is_open:
                    await tx.update_workflow_task(
                        task.task_id, {"status": "cancelled", "finished_at": now}
                    )
                    continue
                await release_workflow_task(ctx, task)
        return len(tasks)

    async def _sweep_delayed_workflow_tasks(self, limit: int) -> int:
        async with self._txn() as (tx, effects, now):
            tasks = await tx.due_delayed_workflow_tasks(now, limit)
            for task in tasks:
                await tx.update_workflow_task(task.task_id, {"status": "ready"})
                effects.wake(task.namespace, task.task_queue, WORKFLOW_KIND, task.workflow_type)
        return len(tasks)

    async def _sweep_timers(self, limit: int) -> int:
        async with self._sweep_txn() as (tx, effects, now, contexts):
            timers = await tx.due_timers(now, limit)
            for timer in timers:
                ctx = await self._run_ctx(tx, contexts, timer.run_id, now, effects)
                if ctx is None or not ctx.run.is_open:
                    await tx.update_timer(timer.timer_id, {"status": "cancelled"})
                    continue
                await fire_timer(ctx, timer)
        return len(timers)

    async def _sweep_activity_leases(self, limit: int) -> int:
        async with self._sweep_txn() as (tx, effects, now, contexts):
            acts = await tx.expired_activity_leases(now, limit)
            for act in acts:
                ctx = await self._run_ctx(tx, contexts, act.run_id, now, effects)
                if ctx is None or not ctx.run.is_open:
                    await tx.update_activity(
                        act.task_id, {"status": "cancelled", "deadline_at": None}
                    )
                    continue
                started = act.attempt_started_at or now
                if act.start_to_close_timeout and now >= started + act.start_to_close_timeout:
                    kind = "start_to_close"
                elif act.heartbeat_timeout:
                    kind = "heartbeat"
                else:
                    kind = "start_to_close"
                failure = {
                    "message": timeout_message(kind),
                    "type": "ActivityTimeout",
                    "timeout_kind": kind,
                }
                await fail_activity_attempt(ctx, act, failure, timeout_kind=kind)
        return len(acts)

    async def _sweep_delayed_activities(self, limit: int) -> int:
        async with self._txn() as (tx, effects, now):
            acts = await tx.due_delayed_activities(now, limit)
            for act in acts:
                await tx.update_activity(act.task_id, {"status": "ready"})
                effects.wake(act.namespace, act.task_queue, ACTIVITY_KIND, act.activity_type)
        return len(acts)

    async def _sweep_activity_deadlines(self, limit: int) -> int:
        async with self._sweep_txn() as (tx, effects, now, contexts):
            acts = await tx.activities_past_deadline(now, limit)
            for act in acts:
                ctx = await self._run_ctx(tx, contexts, act.run_id, now, effects)
                if (
                    ctx is None
                    or not ctx.run.is_open
                    or act.status not in ("delayed", "ready", "leased")
                ):
                    await tx.update_activity(act.task_id, {"deadline_at": None})
                    continue
                stc = act.schedule_to_close_timeout
                if act.status == "leased" or (stc and now >= act.first_scheduled_at + stc):
                    kind = "schedule_to_close"
                else:
                    kind = "schedule_to_start"
                    act.attempt_number += 1  # the lost delivery counts against the retry budget
                    await tx.update_activity(act.task_id, {"attempt_number": act.attempt_number})
                failure = {
                    "message": timeout_message(kind),
                    "type": "ActivityTimeout",
                    "timeout_kind": kind,
                }
                await fail_activity_attempt(ctx, act, failure, timeout_kind=kind)
        return len(acts)

    async def _sweep_run_deadlines(self, limit: int) -> int:
        async with self._sweep_txn() as (tx, effects, now, contexts):
            runs = await tx.open_runs_past_deadline(now, limit)
            for run in runs:
                ctx = await self._run_ctx(tx, contexts, run.run_id, now, effects)
                assert ctx is not None
                run = ctx.run
                if not run.is_open:
                    ctx.set(deadline_at=None)
                    continue
                kind = _timeout_kind(run, now)
                ctx.append(
                    ev.WORKFLOW_TIMED_OUT,
                    {
                        "timeout_kind": kind,
                        "message": f"Workflow {kind.replace('_', ' ')} exceeded",
                        "failure_category": "timeout",
                        "execution_deadline_at": rfc3339(run.execution_deadline_at),
                        "run_deadline_at": rfc3339(run.run_deadline_at),
                    },
                )
                await ctx.close("failed", "timed_out")
        return len(runs)
