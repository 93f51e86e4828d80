"""PostgreSQL dialect of the control-plane store verbs (``control_verbs.ControlVerbs``).

Locking, on top of ``postgres.py``'s rules:

* ``get_schedule`` locks the schedule row (the engine rewrites the row it read: fires,
  pauses, event sequence numbers). Lock order is schedule → run (a fire starts a workflow).
* ``due_schedules`` claims with ``FOR UPDATE SKIP LOCKED``, so two sweepers never work on one
  schedule at once; ``claim_schedule_fire`` (``UPDATE … WHERE next_fire_at = :read``) remains
  the guarantee that each fire time starts one workflow.
* ``delete_run`` locks the run first (run → item order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._verbs import PostgresHooks
from .control_verbs import ControlVerbs
from .visibility_sql import PostgresVisibility

__all__ = ["PostgresControlVerbs", "compile_visibility"]


class PostgresControlVerbs(ControlVerbs, PostgresHooks):
    """Mixed into ``PostgresTransaction``."""

    _LOCK = " FOR UPDATE"
    _SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"

    def _json_field(self, column: str, key: str) -> tuple[str, Any]:
        return f"({column}::jsonb ->> ?)", key

    def _any_of(self, column: str, values: Sequence[str]) -> tuple[str, Any]:
        return f"{column} = ANY(?)", list(values)

    async def delete_run(self, run_id: str) -> int:
        await self._v_lock_run(run_id)
        return await super().delete_run(run_id)


_VISIBILITY = PostgresVisibility()


def compile_visibility(node: Any) -> tuple[str, list[Any]]:
    """PostgreSQL predicate over ``runs r`` (``?`` placeholders) for a typed query tree."""
    return _VISIBILITY.compile(node)
