"""One run inside one transaction: appends events, buffers them while a task is leased,
creates workflow tasks, closes the run. Writes happen once, in :meth:`RunContext.save`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...protocol import events as ev
from ..store.base import Transaction
from ..store.rows import EventRow, RunRow, WorkflowTaskRow
from .clock import rfc3339
from .config import EngineConfig
from .ids import ulid
from .wakeups import Key

WORKFLOW_KIND = "workflow"
ACTIVITY_KIND = "activity"
QUERY_KIND = "query"

_UNKNOWN: Any = object()


@dataclass
class Effects:
    """Things to do only after the transaction committed."""

    wakes: list[tuple[Key, str | None]] = field(default_factory=list)
    earliest_due: float | None = None
    # Every run touched in the transaction, so cross-run changes (a child closing tells its
    # parent) share one RunContext per run; the engine saves them all before commit.
    contexts: dict[str, RunContext] = field(default_factory=dict)
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def wake(self, namespace: str, task_queue: str, kind: str, task_type: str | None) -> None:
        self.wakes.append(((namespace, task_queue, kind), task_type))

    def due(self, when: float | None) -> None:
        if when is not None and (self.earliest_due is None or when < self.earliest_due):
            self.earliest_due = when


class RunContext:
    """Mutations of one run within the current transaction."""

    def __init__(
        self,
        tx: Transaction,
        run: RunRow,
        now: float,
        effects: Effects,
        config: EngineConfig,
        *,
        current_task: WorkflowTaskRow | None = None,
        is_new: bool = False,
    ) -> None:
        self.tx = tx
        self.run = run
        self.now = now
        self.effects = effects
        self.config = config
        self.current_task = current_task  # the workflow task being completed, if any
        self.is_new = is_new
        self.events: list[EventRow] = []
        self.changes: dict[str, Any] = {}
        self._open_task: Any = _UNKNOWN
        effects.contexts.setdefault(run.run_id, self)

    # -- run fields ------------------------------------------------------------------------

    def set(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self.run, key, value)
        self.changes.update(changes)

    def next_sequence(self) -> int:
        """Take the next workflow sequence (history-events.md §2)."""
        seq = self.run.last_sequence + 1
        self.set(last_sequence=seq)
        return seq

    # -- history -------------------------------------------------------------------------

    def append(
        self, event_type: str, payload: dict[str, Any], recorded_at: float | None = None
    ) -> EventRow:
        """Write ``event_type`` at the end of the run's history (no buffering)."""
        wait = self.run.open_wait
        if event_type == ev.SIGNAL_RECEIVED and wait and "workflow_sequence" not in payload:
            # Binding hint: the condition wait open when the signal lands in history.
            payload = {**payload, "workflow_sequence": wait["sequence"]}
        elif (
            event_type == ev.CONDITION_WAIT_TIMED_OUT
            and wait
            and (wait.get("condition_wait_id") == payload.get("condition_wait_id"))
        ):
            self.set(open_wait=None)
        seq = self.run.last_event_sequence + 1
        self.set(last_event_sequence=seq)
        task = self.current_task
        row = EventRow(
            run_id=self.run.run_id,
            sequence=seq,
            event_id=ulid(self.now),
            event_type=event_type,
            recorded_at=self.now if recorded_at is None else recorded_at,
            payload=payload,
            workflow_task_id=task.task_id if task is not None else None,
        )
        self.events.append(row)
        return row

    async def deliver(
        self, event_type: str, payload: dict[str, Any], *, wakes: bool, wait_id: str | None = None
    ) -> None:
        """An event from outside the workflow (signal, activity result, timer).

        While the run's workflow task is leased the event waits in the inbox and lands
        after that task's own events (semantics §3.6); otherwise it is appended now and,
        if it ``wakes`` the workflow, a task is made ready unless one already is.
        """
        task = await self.open_task()
        if task is not None and task.status == "leased":
            await self.tx.push_inbox(self.run.run_id, event_type, payload, self.now, wakes, wait_id)
            if wakes and not self.run.task_pending:
                self.set(task_pending=True)
            return
        self.append(event_type, payload)
        if wakes and task is None:
            await self.create_task()

    async def flush_inbox(self) -> bool:
        """Append buffered events; True if any of them (or an earlier one) needs a workflow task."""
        pending = self.run.task_pending
        for row in await self.tx.take_inbox(self.run.run_id):
            self.append(row.event_type, row.payload, row.recorded_at)
            pending = pending or row.wakes
        if self.run.task_pending:
            self.set(task_pending=False)
        if not pending and self.run.is_open:
            # An accepted update waits for its update task (semantics §9).
            pending = await self.tx.next_queued_update(self.run.run_id) is not None
        return pending

    # -- workflow tasks --------------------------------------------------------------------

    async def open_task(self) -> WorkflowTaskRow | None:
        """The run's one delayed/ready/leased workflow task, if any."""
        if self._open_task is _UNKNOWN:
            self._open_task = await self.tx.open_workflow_task(self.run.run_id)
        task: WorkflowTaskRow | None = self._open_task
        return task

    def forget_open_task(self) -> None:
        self._open_task = None

    async def create_task(self, delay: float = 0.0) -> WorkflowTaskRow:
        run = self.run
        visible_at = self.now + delay
        task = WorkflowTaskRow(
            task_id=ulid(self.now),
            namespace=run.namespace,
            run_id=run.run_id,
            workflow_id=run.workflow_id,
            workflow_type=run.workflow_type,
            task_queue=run.task_queue,
            status="delayed" if delay > 0 else "ready",
            attempt=0,
            visible_at=visible_at,
            lease_owner=None,
            lease_expires_at=None,
            poll_request_id=None,
            created_at=self.now,
            finished_at=None,
            outcome=None,
            failure=None,
        )
        await self.tx.insert_workflow_task(task)
        self._open_task = task
        queued = await self.tx.next_queued_update(run.run_id)
        if queued is not None:  # this task becomes the update's task (semantics §9)
            await self.tx.change_update(queued.update_id, {"task_id": task.task_id})
        if delay > 0:
            self.effects.due(visible_at)
        else:
            self.effects.wake(run.namespace, run.task_queue, WORKFLOW_KIND, run.workflow_type)
        return task

    # -- parallel groups -------------------------------------------------------------------

    async def group_settled(self, group_id: str | None) -> bool:
        """True unless other members of the operation's parallel group are unresolved (§6 barrier)."""
        if not group_id:
            return True
        if await self.tx.count_unresolved_in_group(self.run.run_id, group_id):
            return False
        return await self.tx.count_open_children_in_group(self.run.run_id, group_id) == 0

    # -- closing -------------------------------------------------------------------------

    async def close(self, status: str, closed_reason: str, *, output: Any = None) -> None:
        """Close the run: cancel its activities, timers, buffered events and other tasks."""
        run_id = self.run.run_id
        await self.tx.cancel_open_activities(run_id, self.now)
        await self.tx.cancel_pending_timers(run_id)
        await self.tx.drop_inbox(run_id)
        await self.tx.close_open_workflow_tasks(run_id, "cancelled", self.now)
        self._open_task = None
        self.set(
            status=status,
            closed_reason=closed_reason,
            closed_at=self.now,
            deadline_at=None,
            open_wait=None,
            task_pending=False,
        )
        if output is not None:
            self.set(output=output)
        from .closing import after_close  # late: closing imports this module

        await after_close(self)

    # -- persistence -----------------------------------------------------------------------

    async def save(self) -> None:
        """Write the new events and the changed run fields."""
        if self.events:
            self.set(last_progress_at=self.now)
            await self.tx.append_events(self.events)
            self.events = []
        if self.is_new:
            await self.tx.insert_run(self.run)
            self.is_new = False
        elif self.changes:
            await self.tx.update_run(self.run.run_id, self.changes)
        self.changes = {}


def _earliest(*times: float | None) -> float | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


async def create_run(
    tx: Transaction,
    effects: Effects,
    config: EngineConfig,
    now: float,
    *,
    namespace: str,
    workflow_id: str,
    run_number: int,
    workflow_type: str,
    task_queue: str,
    input: Any,
    memo: dict[str, Any] | None,
    search_attributes: dict[str, Any] | None,
    execution_timeout_seconds: int | None,
    run_timeout_seconds: int | None,
    execution_deadline_at: float | None = None,
    business_key: str | None = None,
    build_id: str | None = None,
    priority: int | None = None,
    continued_from_run_id: str | None = None,
    parent: dict[str, Any] | None = None,
    first_task_delay: float = 0.0,
) -> RunContext:
    """A new run with ``WorkflowStarted`` as event 1 and its first workflow task (not yet saved)."""
    run_id = ulid(now)
    if execution_deadline_at is None and execution_timeout_seconds:
        execution_deadline_at = now + execution_timeout_seconds
    run_deadline_at = now + run_timeout_seconds if run_timeout_seconds else None
    run = RunRow(
        run_id=run_id,
        namespace=namespace,
        workflow_id=workflow_id,
        run_number=run_number,
        workflow_type=workflow_type,
        task_queue=task_queue,
        status="pending",
        closed_reason=None,
        input=input,
        output=None,
        memo=memo or {},
        search_attributes=search_attributes or {},
        business_key=business_key,
        build_id=build_id,
        priority=priority,
        started_at=now,
        closed_at=None,
        last_progress_at=now,
        execution_timeout_seconds=execution_timeout_seconds,
        run_timeout_seconds=run_timeout_seconds,
        execution_deadline_at=execution_deadline_at,
        run_deadline_at=run_deadline_at,
        deadline_at=_earliest(execution_deadline_at, run_deadline_at),
        last_sequence=0,
        last_event_sequence=0,
        open_wait=None,
        task_pending=False,
        wft_failures=0,
        last_wft_failure=None,
        continued_from_run_id=continued_from_run_id,
        continued_to_run_id=None,
    )
    ctx = RunContext(tx, run, now, effects, config, is_new=True)
    ctx._open_task = None
    payload: dict[str, Any] = {
        "workflow_type": workflow_type,
        "workflow_id": workflow_id,
        "workflow_instance_id": workflow_id,
        "workflow_run_id": run_id,
        "run_number": run_number,
        "task_queue": task_queue,
        "input": input,
        "timestamp": rfc3339(now),
        "execution_timeout_seconds": execution_timeout_seconds,
        "run_timeout_seconds": run_timeout_seconds,
        "execution_deadline_at": rfc3339(execution_deadline_at),
        "run_deadline_at": rfc3339(run_deadline_at),
        "memo": run.memo,
        "search_attributes": run.search_attributes,
    }
    if business_key is not None:
        payload["business_key"] = business_key
    if continued_from_run_id is not None:
        payload["continued_from_run_id"] = continued_from_run_id
    if parent:
        payload.update(parent)
    ctx.append(ev.WORKFLOW_STARTED, payload)
    await ctx.create_task(first_task_delay)
    effects.due(run.deadline_at)
    return ctx
