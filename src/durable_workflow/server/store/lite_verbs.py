"""Store verbs of the lite decorator API (``durable_workflow.lite``): runs and step checkpoints.

``LiteTransaction`` is the protocol part (mixed into ``base.Transaction``); ``LiteVerbs`` the
implementation shared by both dialects (``_verbs.py``): ``SqliteLiteVerbs`` here,
``postgres_lite.PostgresLiteVerbs`` adding ``FOR UPDATE`` in ``get_lite_run_for_update``.
The verbs decide nothing: who may take a lease is decided in ``lite/store.py``.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

from . import schema
from ._mapper import Mapper
from ._verbs import Dialect, SqliteHooks, VerbHooks
from .rows import LiteRunFilter, LiteRunRow, LiteStepRow


class LiteTransaction(Protocol):
    async def get_lite_run_for_update(self, app: str, run_id: str) -> LiteRunRow | None:
        """The run, locked until the transaction ends (PostgreSQL: ``FOR UPDATE``)."""
        ...

    async def insert_lite_run(self, row: LiteRunRow) -> bool:
        """Insert unless ``(app, run_id)`` exists; ``False`` when it did (nothing written)."""
        ...

    async def update_lite_run(self, app: str, run_id: str, changes: dict[str, Any]) -> None: ...

    async def update_owned_lite_run(
        self, app: str, run_id: str, owner: str, changes: dict[str, Any]
    ) -> bool:
        """Apply ``changes`` only while ``owner`` holds the run's lease; ``False`` otherwise."""
        ...

    async def upsert_lite_step(self, row: LiteStepRow) -> None: ...

    async def lite_steps_of(self, app: str, run_id: str) -> list[LiteStepRow]:
        """The run's steps in the order they were last written."""
        ...

    async def list_lite_runs(self, flt: LiteRunFilter, offset: int, limit: int) -> list[LiteRunRow]:
        """Newest first."""
        ...


@functools.cache
def _maps(d: Dialect) -> tuple[Mapper[LiteRunRow], Mapper[LiteStepRow], str]:
    runs = d.mapper(schema.LITE_RUNS, LiteRunRow)
    steps = d.mapper(schema.LITE_STEPS, LiteStepRow)
    keys = ("app", "run_id", "step_key")
    upsert = f"{steps.insert} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET " + ", ".join(
        f"{n} = excluded.{n}" for n in steps.names if n not in keys
    )
    return runs, steps, upsert


class LiteVerbs(VerbHooks):
    """The verbs, once for both dialects (``?`` placeholders; see ``_verbs.py``)."""

    _FOR_UPDATE = ""  # PostgreSQL: " FOR UPDATE"

    async def get_lite_run_for_update(self, app: str, run_id: str) -> LiteRunRow | None:
        # SQLite: BEGIN IMMEDIATE already holds the database's write lock, a plain read is locked.
        return await self._v_one(
            _maps(self._d)[0], "app = ? AND run_id = ?" + self._FOR_UPDATE, (app, run_id)
        )

    async def insert_lite_run(self, row: LiteRunRow) -> bool:
        written = await self._v_insert(
            _maps(self._d)[0], row, " ON CONFLICT (app, run_id) DO NOTHING"
        )
        return written > 0

    async def update_lite_run(self, app: str, run_id: str, changes: dict[str, Any]) -> None:
        await self._v_update(_maps(self._d)[0], {"app": app, "run_id": run_id}, changes)

    async def update_owned_lite_run(
        self, app: str, run_id: str, owner: str, changes: dict[str, Any]
    ) -> bool:
        key = {"app": app, "run_id": run_id, "lease_owner": owner}
        return await self._v_update(_maps(self._d)[0], key, changes) > 0

    async def upsert_lite_step(self, row: LiteStepRow) -> None:
        _, m, upsert = _maps(self._d)
        await self._v_exec(upsert, m.values(row))

    async def lite_steps_of(self, app: str, run_id: str) -> list[LiteStepRow]:
        return await self._v_many(
            _maps(self._d)[1], "app = ? AND run_id = ? ORDER BY updated_at, step_key", (app, run_id)
        )

    async def list_lite_runs(self, flt: LiteRunFilter, offset: int, limit: int) -> list[LiteRunRow]:
        where = ["TRUE"]
        args: list[Any] = []
        for column in ("app", "run_id", "status"):
            value = getattr(flt, column)
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        return await self._v_many(
            _maps(self._d)[0],
            " AND ".join(where) + " ORDER BY created_at DESC, app, run_id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )


class SqliteLiteVerbs(LiteVerbs, SqliteHooks):
    """SQLite implementation (mixed into ``SqliteTransaction``)."""
