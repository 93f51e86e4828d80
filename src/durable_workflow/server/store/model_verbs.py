"""Store verbs of the workflow model (child calls, updates, cancel requests, worker lookups).

``ModelTransaction`` is the protocol part (mixed into ``base.Transaction``);
``SqliteModelVerbs`` the SQLite implementation (mixed into ``SqliteTransaction``). The SQL
is plain and portable so the PostgreSQL back end can reuse it with ``%s`` placeholders.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Protocol

from . import schema
from .rows import CancelRequestRow, ChildCallRow, UpdateRow, WorkerRow

if TYPE_CHECKING:
    from ._mapper import Mapper as _Mapper


class ModelTransaction(Protocol):
    async def insert_child_call(self, row: ChildCallRow) -> None: ...

    async def get_child_call(self, parent_run_id: str, sequence: int) -> ChildCallRow | None: ...

    async def child_call_of(self, namespace: str, child_workflow_id: str) -> ChildCallRow | None: ...

    async def update_child_call(
        self, parent_run_id: str, sequence: int, changes: dict[str, Any]
    ) -> None: ...

    async def open_child_calls(self, parent_run_id: str) -> list[ChildCallRow]: ...

    async def count_open_children_in_group(self, parent_run_id: str, group_id: str) -> int: ...

    async def workers_of_queue(self, namespace: str, task_queue: str) -> list[WorkerRow]: ...

    async def insert_update(self, row: UpdateRow) -> None: ...

    async def get_update(self, update_id: str) -> UpdateRow | None: ...

    async def update_by_request(
        self, namespace: str, workflow_id: str, request_id: str
    ) -> UpdateRow | None: ...

    async def change_update(self, update_id: str, changes: dict[str, Any]) -> None: ...

    async def next_queued_update(self, run_id: str) -> UpdateRow | None: ...

    async def update_of_task(self, task_id: str) -> UpdateRow | None: ...

    async def open_updates(self, run_id: str) -> list[UpdateRow]: ...

    async def get_cancel_request(self, run_id: str) -> CancelRequestRow | None: ...

    async def insert_cancel_request(self, row: CancelRequestRow) -> None: ...


@functools.cache
def _mappers() -> tuple[_Mapper[ChildCallRow], _Mapper[UpdateRow], _Mapper[CancelRequestRow], _Mapper[WorkerRow]]:
    from ._mapper import Mapper as _Mapper

    return (
        _Mapper(schema.CHILD_CALLS, ChildCallRow),
        _Mapper(schema.WORKFLOW_UPDATES, UpdateRow),
        _Mapper(schema.CANCEL_REQUESTS, CancelRequestRow),
        _Mapper(schema.WORKERS, WorkerRow),
    )


class SqliteModelVerbs:
    """SQLite implementation; relies on ``_c``, ``_one``, ``_many`` and ``_update`` of the host."""

    _c: Any
    _one: Any
    _many: Any
    _update: Any

    async def insert_child_call(self, row: ChildCallRow) -> None:
        m = _mappers()[0]
        self._c.execute(m.insert, m.values(row))

    async def get_child_call(self, parent_run_id: str, sequence: int) -> ChildCallRow | None:
        row: ChildCallRow | None = self._one(
            _mappers()[0], "parent_run_id = ? AND sequence = ?", (parent_run_id, sequence)
        )
        return row

    async def child_call_of(self, namespace: str, child_workflow_id: str) -> ChildCallRow | None:
        row: ChildCallRow | None = self._one(
            _mappers()[0],
            "namespace = ? AND child_workflow_id = ? LIMIT 1",
            (namespace, child_workflow_id),
        )
        return row

    async def update_child_call(
        self, parent_run_id: str, sequence: int, changes: dict[str, Any]
    ) -> None:
        self._update(
            _mappers()[0], {"parent_run_id": parent_run_id, "sequence": sequence}, changes
        )

    async def open_child_calls(self, parent_run_id: str) -> list[ChildCallRow]:
        rows: list[ChildCallRow] = self._many(
            _mappers()[0], "parent_run_id = ? AND status = 'open' ORDER BY sequence", (parent_run_id,)
        )
        return rows

    async def count_open_children_in_group(self, parent_run_id: str, group_id: str) -> int:
        row = self._c.execute(
            "SELECT COUNT(*) FROM child_calls WHERE parent_run_id = ? AND group_id = ?"
            " AND status = 'open'",
            (parent_run_id, group_id),
        ).fetchone()
        return int(row[0])

    async def workers_of_queue(self, namespace: str, task_queue: str) -> list[WorkerRow]:
        rows: list[WorkerRow] = self._many(
            _mappers()[3], "namespace = ? AND task_queue = ?", (namespace, task_queue)
        )
        return rows

    async def insert_update(self, row: UpdateRow) -> None:
        m = _mappers()[1]
        self._c.execute(m.insert, m.values(row))

    async def get_update(self, update_id: str) -> UpdateRow | None:
        row: UpdateRow | None = self._one(_mappers()[1], "update_id = ?", (update_id,))
        return row

    async def update_by_request(
        self, namespace: str, workflow_id: str, request_id: str
    ) -> UpdateRow | None:
        row: UpdateRow | None = self._one(
            _mappers()[1],
            "namespace = ? AND workflow_id = ? AND request_id = ? LIMIT 1",
            (namespace, workflow_id, request_id),
        )
        return row

    async def change_update(self, update_id: str, changes: dict[str, Any]) -> None:
        self._update(_mappers()[1], {"update_id": update_id}, changes)

    async def next_queued_update(self, run_id: str) -> UpdateRow | None:
        row: UpdateRow | None = self._one(
            _mappers()[1],
            "run_id = ? AND status = 'accepted' ORDER BY created_at, update_id LIMIT 1",
            (run_id,),
        )
        return row

    async def update_of_task(self, task_id: str) -> UpdateRow | None:
        row: UpdateRow | None = self._one(_mappers()[1], "task_id = ? LIMIT 1", (task_id,))
        return row

    async def open_updates(self, run_id: str) -> list[UpdateRow]:
        rows: list[UpdateRow] = self._many(
            _mappers()[1], "run_id = ? AND status = 'accepted' ORDER BY created_at", (run_id,)
        )
        return rows

    async def get_cancel_request(self, run_id: str) -> CancelRequestRow | None:
        row: CancelRequestRow | None = self._one(_mappers()[2], "run_id = ?", (run_id,))
        return row

    async def insert_cancel_request(self, row: CancelRequestRow) -> None:
        m = _mappers()[2]
        self._c.execute(m.insert, m.values(row))
