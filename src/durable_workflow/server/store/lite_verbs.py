"""Store verbs of the lite decorator API (``durable_workflow.lite``): runs and step checkpoints.

``LiteTransaction`` is the protocol part (mixed into ``base.Transaction``); ``SqliteLiteVerbs``
the SQLite implementation (mixed into ``SqliteTransaction``). The SQL is portable: PostgreSQL
can reuse it with ``%s`` placeholders, adding ``FOR UPDATE`` in ``get_lite_run_for_update``.
The verbs decide nothing: who may take a lease is decided in ``lite/store.py``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Protocol

from . import schema
from .rows import LiteRunFilter, LiteRunRow, LiteStepRow

if TYPE_CHECKING:
    from ._mapper import Mapper as _Mapper


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
def _mappers() -> tuple[_Mapper[LiteRunRow], _Mapper[LiteStepRow], str]:
    from ._mapper import Mapper as _Mapper

    runs = _Mapper(schema.LITE_RUNS, LiteRunRow)
    steps = _Mapper(schema.LITE_STEPS, LiteStepRow)
    keys = ("app", "run_id", "step_key")
    upsert = f"{steps.insert} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET " + ", ".join(
        f"{n} = excluded.{n}" for n in steps.names if n not in keys
    )
    return runs, steps, upsert


class SqliteLiteVerbs:
    """SQLite implementation; relies on ``_c``, ``_one``, ``_many`` and ``_update`` of the host."""

    _c: Any
    _one: Any
    _many: Any
    _update: Any

    async def get_lite_run_for_update(self, app: str, run_id: str) -> LiteRunRow | None:
        # BEGIN IMMEDIATE already holds the database's write lock: a plain read is locked.
        row: LiteRunRow | None = self._one(_mappers()[0], "app = ? AND run_id = ?", (app, run_id))
        return row

    async def insert_lite_run(self, row: LiteRunRow) -> bool:
        m = _mappers()[0]
        cur = self._c.execute(f"{m.insert} ON CONFLICT (app, run_id) DO NOTHING", m.values(row))
        return bool(cur.rowcount > 0)

    async def update_lite_run(self, app: str, run_id: str, changes: dict[str, Any]) -> None:
        self._update(_mappers()[0], {"app": app, "run_id": run_id}, changes)

    async def update_owned_lite_run(
        self, app: str, run_id: str, owner: str, changes: dict[str, Any]
    ) -> bool:
        m = _mappers()[0]
        sets = ", ".join(f"{k} = ?" for k in changes)
        args = [m.encode(k, v) for k, v in changes.items()] + [app, run_id, owner]
        cur = self._c.execute(
            f"UPDATE lite_runs SET {sets} WHERE app = ? AND run_id = ? AND lease_owner = ?", args
        )
        return bool(cur.rowcount > 0)

    async def upsert_lite_step(self, row: LiteStepRow) -> None:
        _, m, upsert = _mappers()
        self._c.execute(upsert, m.values(row))

    async def lite_steps_of(self, app: str, run_id: str) -> list[LiteStepRow]:
        rows: list[LiteStepRow] = self._many(
            _mappers()[1], "app = ? AND run_id = ? ORDER BY updated_at, step_key", (app, run_id)
        )
        return rows

    async def list_lite_runs(self, flt: LiteRunFilter, offset: int, limit: int) -> list[LiteRunRow]:
        m = _mappers()[0]
        where: list[str] = []
        args: list[Any] = []
        for column in ("app", "run_id", "status"):
            value = getattr(flt, column)
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        sql = m.select
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC, app, run_id LIMIT ? OFFSET ?"
        rows: list[LiteRunRow] = m.rows(self._c.execute(sql, [*args, limit, offset]))
        return rows
