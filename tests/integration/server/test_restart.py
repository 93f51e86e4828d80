"""Everything due lives in the database: a reopened server picks up timers and expired leases."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from durable_workflow.server.engine.clock import FakeClock, RealClock
from durable_workflow.server.runtime import ServerConfig, ServerRuntime
from durable_workflow.server.store import StoreVersionError, open_store

from .wire import Wire, types_of


async def test_timer_and_lease_survive_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    clock = FakeClock()
    rt = await ServerRuntime.open(ServerConfig(db_url=url, clock=clock))
    wire = Wire(rt.api)
    await wire.start("rs-timer")
    await wire.start("rs-lease")
    await wire.register("w1")
    timer_task = await wire.poll_wft("w1")
    assert timer_task["workflow_id"] == "rs-timer"
    await wire.complete_wft(timer_task, [{"type": "start_timer", "delay_seconds": 30}])
    leased = await wire.poll_wft("w1")  # the worker "crashes" holding this lease
    assert leased["workflow_id"] == "rs-lease"
    await rt.close()

    later = FakeClock(clock.now() + 120)  # both the timer and the 60 s lease fell due while down
    rt2 = await ServerRuntime.open(ServerConfig(db_url=url, clock=later))
    try:
        wire2 = Wire(rt2.api)
        got = {}
        for _ in range(2):
            task = await wire2.poll_wft(
                "w2", timeout=5
            )  # unknown worker after restart: registered implicitly
            got[task["workflow_id"]] = task
        assert types_of(got["rs-timer"]["history_events"])[-1] == "TimerFired"
        assert got["rs-lease"]["task_id"] == leased["task_id"]
        assert got["rs-lease"]["workflow_task_attempt"] == 2
    finally:
        await rt2.close()


async def test_real_clock_timer_fires_after_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'real.db'}"
    rt = await ServerRuntime.open(ServerConfig(db_url=url))
    wire = Wire(rt.api)
    await wire.start("rt-1")
    await wire.register("w1")
    await wire.complete_wft(
        await wire.poll_wft("w1"), [{"type": "start_timer", "delay_seconds": 1}]
    )
    await rt.close()
    rt2 = await ServerRuntime.open(ServerConfig(db_url=url, clock=RealClock()))
    try:
        task = await Wire(rt2.api).poll_wft("w1", timeout=5)
        assert task is not None and types_of(task["history_events"])[-1] == "TimerFired"
    finally:
        await rt2.close()


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    store = await open_store(f"sqlite:///{path}")
    await store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_version SET version = 999")
    with pytest.raises(StoreVersionError, match="schema version 999"):
        await open_store(f"sqlite:///{path}")


async def test_store_urls() -> None:
    store = await open_store("sqlite:///:memory:")
    await store.close()
    for url, match in (
        ("mysql://x/y", "unsupported database URL scheme"),
        ("nonsense", "must look like"),
        ("postgresql://", "names no server or database"),
    ):
        with pytest.raises(ValueError, match=match):
            await open_store(url)


async def test_thousand_parked_polls_and_ready(tmp_path: Path) -> None:
    rt = await ServerRuntime.open(
        ServerConfig(db_url=f"sqlite:///{tmp_path / 'many.db'}", clock=FakeClock())
    )
    wire = Wire(rt.api)
    try:
        await wire.register("w1")
        polls = [asyncio.create_task(wire.poll_wft("w1", timeout=30)) for _ in range(1000)]
        while rt.engine.wakeups.parked_count() < 1000:
            await asyncio.sleep(0.01)
        ready = await asyncio.wait_for(wire.call("GET", "/api/ready", headers={}), 2)
        assert ready.status == 200 and ready.body["status"] == "ready"
        await wire.start("one-task")  # wakes exactly one parked poll
        done, _ = await asyncio.wait(polls, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        assert len(done) == 1 and next(iter(done)).result()["workflow_id"] == "one-task"
        assert rt.engine.wakeups.parked_count() == 999
    finally:
        await rt.close()
    results = await asyncio.wait_for(asyncio.gather(*polls), 5)
    assert sum(r is not None for r in results) == 1
