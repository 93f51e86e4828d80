"""Store verbs of the workflow model (child calls, updates, cancel requests, worker lookups).

``ModelTransaction`` is the protocol part (mixed into ``base.Transaction``);
``ModelVerbs`` the implementation shared by both dialects (``_verbs.py``), mixed into
``SqliteTransaction`` as ``SqliteModelVerbs`` and into ``PostgresTransaction`` as
``postgres_model.PostgresModelVerbs``.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

from . import schema
from ._mapper import Mapper
from ._verbs import Dialect, SqliteHooks, VerbHooks
from .rows import CancelRequestRow, ChildCallRow, UpdateRow, WorkerRow


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


_Maps = tuple[Mapper[ChildCallRow], Mapper[UpdateRow], Mapper[CancelRequestRow], Mapper[WorkerRow]]


@functools.cache
def _maps(d: Dialect) -> _Maps:
    return (
        d.mapper(schema.CHILD_CALLS, ChildCallRow),
        d.mapper(schema.WORKFLOW_UPDATES, UpdateRow),
        d.mapper(schema.CANCEL_REQUESTS, CancelRequestRow),
        d.mapper(schema.WORKERS, WorkerRow),
    )


class ModelVerbs(VerbHooks):
    """The verbs, once for both dialects (``?`` placeholders; see ``_verbs.py``)."""

    async def insert_child_call(self, row: ChildCallRow) -> None:
        await self._v_insert(_maps(self._d)[0], row)

    async def get_child_call(self, parent_run_id: str, sequence: int) -> ChildCallRow | None:
        return await self._v_one(
            _maps(self._d)[0], "parent_run_id = ? AND sequence = ?", (parent_run_id, sequence)
        )

    async def child_call_of(self, namespace: str, child_workflow_id: str) -> ChildCallRow | None:
        return await self._v_one(
            _maps(self._d)[0],
            "namespace = ? AND child_workflow_id = ? LIMIT 1",
            (namespace, child_workflow_id),
        )

    async def update_child_call(
        self, parent_run_id: str, sequence: int, changes: dict[str, Any]
    ) -> None:
        key = {"parent_run_id": parent_run_id, "sequence": sequence}
        await self._v_update(_maps(self._d)[0], key, changes)

    async def open_child_calls(self, parent_run_id: str) -> list[ChildCallRow]:
        return await self._v_many(
            _maps(self._d)[0],
            "parent_run_id = ? AND status = 'open' ORDER BY sequence",
            (parent_run_id,),
        )

    async def count_open_children_in_group(self, parent_run_id: str, group_id: str) -> int:
        rows = await self._v_rows(
            "SELECT COUNT(*) FROM child_calls WHERE parent_run_id = ? AND group_id = ?"
            " AND status = 'open'",
            (parent_run_id, group_id),
        )
        return int(rows[0][0])

    async def workers_of_queue(self, namespace: str, task_queue: str) -> list[WorkerRow]:
        return await self._v_many(
            _maps(self._d)[3], "namespace = ? AND task_queue = ?", (namespace, task_queue)
        )

    async def insert_update(self, row: UpdateRow) -> None:
        await self._v_insert(_maps(self._d)[1], row)

    async def get_update(self, update_id: str) -> UpdateRow | None:
        return await self._v_one(_maps(self._d)[1], "update_id = ?", (update_id,))

    async def update_by_request(
        self, namespace: str, workflow_id: str, request_id: str
    ) -> UpdateRow | None:
        return await self._v_one(
            _maps(self._d)[1],
            "namespace = ? AND workflow_id = ? AND request_id = ? LIMIT 1",
            (namespace, workflow_id, request_id),
        )

    async def change_update(self, update_id: str, changes: dict[str, Any]) -> None:
        await self._v_update(_maps(self._d)[1], {"update_id": update_id}, changes)

    async def next_queued_update(self, run_id: str) -> UpdateRow | None:
        return await self._v_one(
            _maps(self._d)[1],
            "run_id = ? AND status = 'accepted' ORDER BY created_at, update_id LIMIT 1",
            (run_id,),
        )

    async def update_of_task(self, task_id: str) -> UpdateRow | None:
        return await self._v_one(_maps(self._d)[1], "task_id = ? LIMIT 1", (task_id,))

    async def open_updates(self, run_id: str) -> list[UpdateRow]:
        return await self._v_many(
            _maps(self._d)[1], "run_id = ? AND status = 'accepted' ORDER BY created_at", (run_id,)
        )

    async def get_cancel_request(self, run_id: str) -> CancelRequestRow | None:
        return await self._v_one(_maps(self._d)[2], "run_id = ?", (run_id,))

    async def insert_cancel_request(self, row: CancelRequestRow) -> None:
        await self._v_insert(_maps(self._d)[2], row)


class SqliteModelVerbs(ModelVerbs, SqliteHooks):
    """SQLite implementation (mixed into ``SqliteTransaction``)."""
