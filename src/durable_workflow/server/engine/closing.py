"""What happens to other records when a run closes: its parent learns, its children follow
their parent-close policy, its pending updates fail. Called by ``RunContext.close``.
"""

from __future__ import annotations

from ..store.rows import RunRow
from .runctx import RunContext


async def context_for(ctx: RunContext, run_id: str) -> RunContext | None:
    """The transaction's one RunContext of ``run_id`` (created and registered if needed)."""
    existing = ctx.effects.contexts.get(run_id)
    if existing is not None:
        return existing
    run: RunRow | None = await ctx.tx.get_run(run_id)
    if run is None:
        return None
    return RunContext(ctx.tx, run, ctx.now, ctx.effects, ctx.config)


async def after_close(ctx: RunContext) -> None:
    from . import children, updates  # late: both import runctx

    await updates.fail_open_updates(ctx)
    await children.apply_parent_close_policy(ctx)
    await children.notify_parent(ctx)
