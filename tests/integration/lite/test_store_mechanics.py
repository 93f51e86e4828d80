"""Store mechanics under the lite API: SQLITE_BUSY is retried, group commit isolates failures."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from durable_workflow.lite import SQLiteStore
from durable_workflow.server.store.base import Transaction
from durable_workflow.server.store.rows import LiteRunFilter
from durable_workflow.server.store.sqlite import SqliteStore


async def test_begin_immediate_retries_while_another_connection_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "busy.db")
    store = await SqliteStore.open(path)
    # No in-SQLite waiting: every BEGIN IMMEDIATE against the held lock fails at once,
    # so only the store's own retry loop can get this transaction through.
    store._conn.execute("PRAGMA busy_timeout=0")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def read() -> int:
        async with store.transaction() as tx:
            return len(await tx.list_lite_runs(LiteRunFilter(), 0, 10))

    waiting = asyncio.create_task(read())
    await asyncio.sleep(0.2)
    assert not waiting.done()  # still retrying, no error surfaced
    other.execute("COMMIT")
    assert await asyncio.wait_for(waiting, 5) == 0
    other.close()
    await store.close()


async def test_group_commit_isolates_a_failing_operation(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "group.db")
    shared = await store._shared()
    seen: list[int] = []
    transactions = 0
    real = shared.store.transaction

    def counting():  # type: ignore[no-untyped-def]
        nonlocal transactions
        transactions += 1
        return real()

    shared.store.transaction = counting  # type: ignore[method-assign]

    def op(n: int):  # type: ignore[no-untyped-def]
        async def run(tx: Transaction) -> int:
            seen.append(n)
            if n == 1:
                raise RuntimeError("op 1 is broken")
            return n

        return run

    results = await asyncio.gather(*(shared.run(op(n)) for n in range(3)), return_exceptions=True)
    assert results[0] == 0 and results[2] == 2
    assert isinstance(results[1], RuntimeError)
    # One batch transaction (rolled back by op 1), then each operation alone.
    assert transactions == 4 and seen == [0, 1, 0, 1, 2]

    transactions = 0
    assert await asyncio.gather(*(shared.run(op(n)) for n in (0, 2, 3))) == [0, 2, 3]
    assert transactions == 1  # operations waiting together share one transaction
    await store.close()
