"""Cancel and terminate: the immediate close of semantics §13, and our cooperative cancel.

Cooperative cancellation is offered only to workflows whose task queue has a worker that
registered the ``dw_cooperative_cancellation`` capability (our SDK's Worker). Such a cancel
writes ``CancelRequested`` and wakes the workflow instead of closing it; the replayer raises
``WorkflowCancelled`` into the workflow at its current yield; clean-up may schedule more
work; a ``fail_workflow`` carrying ``WorkflowCancelled`` then closes the run as cancelled.
The official 2.12.0 SDK never registers that capability, so it keeps the immediate close
(the cluster info does not advertise the official ``cooperative_cancellation`` protocol).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...protocol import events as ev
from ..store.base import Transaction
from ..store.rows import CancelRequestRow, RunRow
from .runctx import RunContext

COOPERATIVE_CAPABILITY = "dw_cooperative_cancellation"


async def close_by_command(ctx: RunContext, kind: str, reason: str | None) -> None:
    """Close the run now as cancelled (``kind == "cancel"``) or terminated."""
    if kind == "cancel":
        ctx.append(ev.CANCEL_REQUESTED, {"reason": reason})
        ctx.append(ev.WORKFLOW_CANCELLED, {"reason": reason, "closed_reason": "cancelled"})
        await ctx.close("cancelled", "cancelled")
    else:
        ctx.append(ev.TERMINATE_REQUESTED, {"reason": reason})
        ctx.append(ev.WORKFLOW_TERMINATED, {"reason": reason, "closed_reason": "terminated"})
        await ctx.close("terminated", "terminated")


async def cooperative_possible(tx: Transaction, run: RunRow) -> bool:
    """True when a worker of the run's queue negotiated cooperative cancellation for its type."""
    for worker in await tx.workers_of_queue(run.namespace, run.task_queue):
        types = worker.supported_workflow_types
        if COOPERATIVE_CAPABILITY in (worker.capabilities or []) and (
            types is None or run.workflow_type in types
        ):
            return True
    return False


async def request_cancel(ctx: RunContext, reason: str | None) -> bool:
    """Record a cooperative cancel request and wake the workflow; False if one already exists."""
    run = ctx.run
    if await ctx.tx.get_cancel_request(run.run_id) is not None:
        return False
    await ctx.tx.insert_cancel_request(CancelRequestRow(run.run_id, reason, ctx.now))
    # Running activities learn through their heartbeat (cancel_requested); timers stop.
    await ctx.tx.cancel_open_activities(run.run_id, ctx.now)
    await ctx.tx.cancel_pending_timers(run.run_id)
    await ctx.deliver(
        ev.CANCEL_REQUESTED, {"reason": reason, "cooperative": True}, wakes=True
    )
    return True


async def closes_as_cancelled(ctx: RunContext, cmd: Mapping[str, Any]) -> bool:
    """A ``fail_workflow`` that lets ``WorkflowCancelled`` escape after a cooperative cancel
    closes the run as cancelled; returns True when it did."""
    if cmd.get("exception_type") != "WorkflowCancelled":
        return False
    request = await ctx.tx.get_cancel_request(ctx.run.run_id)
    if request is None:
        return False
    ctx.append(
        ev.WORKFLOW_CANCELLED,
        {
            "reason": request.reason,
            "message": cmd.get("message"),
            "closed_reason": "cancelled",
            "cooperative": True,
        },
    )
    await ctx.close("cancelled", "cancelled")
    return True
