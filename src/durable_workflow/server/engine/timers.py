"""Durable timers: firing user timers and condition-wait timeouts."""

from __future__ import annotations

from ...protocol import events as ev
from ..store.rows import TimerRow
from .clock import rfc3339
from .runctx import RunContext


async def fire_timer(ctx: RunContext, timer: TimerRow) -> None:
    """The timer is due: record ``TimerFired`` (and ``ConditionWaitTimedOut`` for a wait's timeout)."""
    await ctx.tx.update_timer(timer.timer_id, {"status": "fired"})
    payload = {**timer.event_payload, "fired_at": rfc3339(ctx.now)}
    if timer.kind == "condition_timeout":
        wait = ctx.run.open_wait
        if not wait or wait.get("condition_wait_id") != timer.condition_wait_id:
            return  # superseded wait: its timer must never fire into history
        wait_id = timer.condition_wait_id
        await ctx.deliver(ev.TIMER_FIRED, payload, wakes=False, wait_id=wait_id)
        await ctx.deliver(
            ev.CONDITION_WAIT_TIMED_OUT,
            {"sequence": timer.sequence, "condition_wait_id": wait_id},
            wakes=True,
            wait_id=wait_id,
        )
        return
    settled = await ctx.group_settled(timer.group_id)
    await ctx.deliver(ev.TIMER_FIRED, payload, wakes=settled)


async def cancel_wait_timer(ctx: RunContext) -> None:
    """Close the run's open condition wait as satisfied (start of a regular task completion, §3.4 step 2)."""
    wait = ctx.run.open_wait
    if not wait:
        return
    wait_id = wait["condition_wait_id"]
    await ctx.tx.drop_inbox(ctx.run.run_id, wait_id)
    ctx.append(
        ev.CONDITION_WAIT_SATISFIED, {"sequence": wait["sequence"], "condition_wait_id": wait_id}
    )
    timer_id = wait.get("timer_id")
    if timer_id:
        timer = await ctx.tx.get_timer(timer_id)
        if timer is not None:
            await ctx.tx.update_timer(timer_id, {"status": "cancelled"})
            ctx.append(ev.TIMER_CANCELLED, dict(timer.event_payload))
    ctx.set(open_wait=None)
