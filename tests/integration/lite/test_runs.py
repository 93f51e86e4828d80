"""Runs on a real SQLite file: resume, retries, failures, leases, listing, concurrency."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import pytest

from durable_workflow.lite import (
    LeaseLostError,
    RunConflictError,
    SerializationError,
    Workflow,
    current_run,
)
from durable_workflow.lite.backoff import linear
from tests.integration.lite.conftest import RecordingSleep


async def test_failed_run_resumes_from_the_failed_step(make_wf: Any, sleep: RecordingSleep) -> None:
    wf: Workflow = make_wf()
    calls: list[str] = []
    broken = True

    @wf.task
    async def first(x: int) -> int:
        calls.append("first")
        return x + 1

    @wf.task(retries=2, backoff=linear(start=1, step=1))
    async def second(x: int) -> int:
        calls.append("second")
        if broken:
            raise ValueError("downstream is down")
        return x * 10

    @wf.workflow(id="calc-{x}")
    async def calc(x: int) -> int:
        return await second(await first(x))

    with pytest.raises(ValueError, match="downstream is down"):
        await calc(1)
    assert calls == ["first", "second", "second", "second"]
    assert sleep.delays == [1, 2]
    run = await wf.get_run("calc-1")
    assert run is not None and run.status == "failed" and "downstream is down" in (run.error or "")
    assert [(s.status, s.attempts) for s in run.steps] == [("completed", 1), ("failed", 3)]
    assert run.lease_owner is None

    broken = False
    assert await calc(1) == 20
    assert calls[-1:] == ["second"] and calls.count("first") == 1
    run = await wf.get_run("calc-1")
    assert run is not None and (run.status, run.result, run.error) == ("completed", 20, None)
    assert [(s.status, s.attempts) for s in run.steps] == [("completed", 1), ("completed", 1)]


async def test_completed_run_returns_stored_result_without_executing(make_wf: Any) -> None:
    wf: Workflow = make_wf()
    executions = 0

    @wf.workflow(id="once-{n}")
    async def once(n: int) -> dict[str, Any]:
        nonlocal executions
        executions += 1
        return {"n": n, "t": (1, 2)}

    first = await once(3)
    again = await once(n=3)
    assert first == again == {"n": 3, "t": [1, 2]}  # the same JSON value both times
    assert executions == 1


async def test_repeated_calls_without_step_id_are_separate_steps(make_wf: Any) -> None:
    wf: Workflow = make_wf()
    seen: list[int] = []

    @wf.task
    async def inc(x: int) -> int:
        seen.append(x)
        return x + 1

    @wf.workflow(id="chain")
    async def chain() -> int:
        x = 0
        for _ in range(3):
            x = await inc(x)
        assert current_run() is not None and current_run().run_id == "chain"  # type: ignore[union-attr]
        return x

    assert await chain() == 3
    run = await wf.get_run("chain")
    assert run is not None
    assert [s.key for s in run.steps] == [inc.name, f"{inc.name}#2", f"{inc.name}#3"]
    assert current_run() is None


async def test_one_transaction_per_claim_step_and_finish(make_wf: Any) -> None:
    wf: Workflow = make_wf()

    @wf.task
    async def step(n: int) -> int:
        return n

    @wf.workflow(id="count-{n}")
    async def ten(n: int) -> int:
        for i in range(10):
            await step(i, step_id=i)
        return n

    await ten(0)  # opens and migrates the database
    shared = await wf.store._shared()  # type: ignore[attr-defined]
    store = shared.store
    commits = 0
    real = shared.store.transaction

    def counting() -> Any:
        nonlocal commits
        commits += 1
        return real()

    shared.store.transaction = counting
    await ten(1)
    assert commits == 12  # claim + 10 checkpoints + finish
    assert store is (await wf.store._shared()).store  # type: ignore[attr-defined]


async def test_non_json_results_fail_clearly(make_wf: Any) -> None:
    wf: Workflow = make_wf()

    @wf.task
    async def leak() -> object:
        return object()

    @wf.workflow(id="leaky")
    async def leaky() -> None:
        await leak()

    @wf.workflow(id="bad-result")
    async def bad_result() -> object:
        return {1, 2}

    with pytest.raises(SerializationError, match=r"task '.*leak' in run 'leaky' returned a object"):
        await leaky()
    with pytest.raises(SerializationError, match=r"workflow '.*bad_result' in run 'bad-result'"):
        await bad_result()
    run = await wf.get_run("bad-result")
    assert run is not None and run.status == "failed" and "SerializationError" in (run.error or "")


async def test_run_ids_cannot_be_shared_by_two_workflows(make_wf: Any) -> None:
    wf: Workflow = make_wf()

    @wf.workflow(id="job-{n}")
    async def a(n: int) -> int:
        return n

    @wf.workflow(id="job-{n}")
    async def b(n: int) -> int:
        return -n

    assert await a(1) == 1
    with pytest.raises(RunConflictError, match="belongs to workflow") as info:
        await b(1)
    assert info.value.existing_workflow == a.name


async def test_apps_in_one_database_are_separate(make_wf: Any) -> None:
    one, two = make_wf("one"), make_wf("two")
    for wf, value in ((one, 1), (two, 2)):

        @wf.workflow(id="same-id")
        async def run(v: int = value) -> int:
            return v

        assert await run() == value
    assert [r.result for r in await one.list_runs()] == [1]
    assert [r.result for r in await two.list_runs()] == [2]
    assert len(await one.store.list_runs()) == 2  # app=None: every app


async def test_same_run_called_twice_at_once_executes_once(make_wf: Any) -> None:
    wf: Workflow = make_wf(poll_interval=0.02)
    executed = 0

    @wf.task
    async def slow() -> str:
        nonlocal executed
        executed += 1
        await asyncio.sleep(0.1)
        return "done"

    @wf.workflow(id="single")
    async def single() -> str:
        return await slow()

    assert await asyncio.gather(single(), single(), single()) == ["done"] * 3
    assert executed == 1


async def test_cancelled_run_is_released_and_resumes(make_wf: Any) -> None:
    wf: Workflow = make_wf()
    gate = asyncio.Event()
    calls: list[str] = []

    @wf.task
    async def a() -> str:
        calls.append("a")
        return "a"

    @wf.task
    async def b() -> str:
        calls.append("b")
        await gate.wait()
        return "b"

    @wf.workflow(id="cancel-me")
    async def run() -> list[str]:
        return [await a(), await b()]

    task = asyncio.create_task(run())
    while calls != ["a", "b"]:
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    info = await wf.get_run("cancel-me")
    assert info is not None and info.status == "running" and info.lease_owner is None
    gate.set()
    started = time.monotonic()
    assert await run() == ["a", "b"]
    assert time.monotonic() - started < 1  # no lease to wait out
    assert calls == ["a", "b", "b"]


async def test_expired_lease_of_another_host_is_taken_over(make_wf: Any) -> None:
    wf: Workflow = make_wf(poll_interval=0.02)

    @wf.workflow(id="orphan")
    async def orphan() -> str:
        return "mine now"

    # Another machine claimed the run with a short lease, then vanished.
    claim = await wf.store.claim_run("app", "orphan", orphan.name, "elsewhere|ns|1|t", 0.3, lambda _: False)
    assert claim.acquired
    started = time.monotonic()
    assert await orphan() == "mine now"
    assert 0.25 < time.monotonic() - started < 2


async def test_live_lease_holder_is_waited_for_and_its_result_returned(make_wf: Any) -> None:
    wf: Workflow = make_wf(poll_interval=0.02)
    owner = "elsewhere|ns|1|t"

    @wf.workflow(id="theirs")
    async def theirs() -> str:
        raise AssertionError("must not execute: the other process completes it")

    assert (await wf.store.claim_run("app", "theirs", theirs.name, owner, 30, lambda _: False)).acquired

    async def other_process_finishes() -> None:
        await asyncio.sleep(0.1)
        assert await wf.store.finish_run("app", "theirs", owner, "completed", "their result", None)

    finisher = asyncio.create_task(other_process_finishes())
    assert await theirs() == "their result"
    await finisher


async def test_losing_the_lease_stops_the_run(make_wf: Any) -> None:
    wf: Workflow = make_wf()
    after: list[str] = []

    @wf.task
    async def stolen() -> str:
        # Another process takes the run over while this step runs (our lease "expired").
        claim = await wf.store.claim_run("app", "victim", victim.name, "thief|ns|1|t", 30, lambda _: True)
        assert claim.acquired
        return "x"

    @wf.task
    async def never() -> None:
        after.append("never")

    @wf.workflow(id="victim")
    async def victim() -> None:
        await stolen()
        await never()

    with pytest.raises(LeaseLostError, match="taken over by another process") as info:
        await victim()
    assert info.value.run_id == "victim" and after == []
    run = await wf.get_run("victim")
    assert run is not None and run.lease_owner == "thief|ns|1|t" and run.steps == ()


async def test_leases_are_renewed_while_the_run_executes(make_wf: Any) -> None:
    wf: Workflow = make_wf(lease_seconds=0.3)
    expiries: list[float] = []

    @wf.workflow(id="long")
    async def long() -> str:
        for _ in range(4):
            await asyncio.sleep(0.15)
            run = await wf.get_run("long")
            assert run is not None and run.lease_expires_at is not None
            expiries.append(run.lease_expires_at)
        return "ok"

    assert await long() == "ok"
    assert expiries == sorted(expiries) and expiries[-1] > expiries[0]
    assert expiries[-1] > time.time() - 0.01  # never lapsed while running


async def test_retry_schedule_with_custom_backoff_and_bad_delay(make_wf: Any, sleep: RecordingSleep) -> None:
    wf: Workflow = make_wf()
    fails = 2

    @wf.task(retries=2, backoff=lambda n: n / 10)
    async def custom() -> str:
        nonlocal fails
        if fails:
            fails -= 1
            raise OSError("flaky")
        return "ok"

    @wf.task(retries=1, backoff=lambda n: -1)
    async def negative() -> None:
        raise OSError("always")

    @wf.workflow(id="custom")
    async def run_custom() -> str:
        return await custom()

    @wf.workflow(id="negative")
    async def run_negative() -> None:
        await negative()

    assert await run_custom() == "ok"
    assert sleep.delays == [0.1, 0.2]
    from durable_workflow.lite import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="returned -1 for retry 1"):
        await run_negative()


async def test_step_id_must_be_str_or_int_inside_a_workflow(make_wf: Any) -> None:
    wf: Workflow = make_wf()

    @wf.task
    async def t() -> None: ...

    @wf.workflow(id="sid")
    async def w() -> None:
        await t(step_id=1.5)  # type: ignore[arg-type]

    from durable_workflow.lite import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match=r"step_id of task .* must be a str or int"):
        await w()


async def test_list_runs_filters_and_pages(make_wf: Any) -> None:
    wf: Workflow = make_wf()

    @wf.task
    async def echo(n: int) -> int:
        return n

    @wf.workflow(id="r-{n}")
    async def r(n: int) -> int:
        if n == 2:
            raise RuntimeError("two")
        return await echo(n)

    for n in range(4):
        with contextlib.suppress(RuntimeError):
            await r(n)
    runs = await wf.list_runs()
    assert [x.run_id for x in runs] == ["r-3", "r-2", "r-1", "r-0"]
    assert [x.status for x in await wf.list_runs(status="failed")] == ["failed"]
    assert [x.run_id for x in await wf.list_runs(limit=2, offset=1)] == ["r-2", "r-1"]
    assert runs[0].steps[0].result == 3 and runs[0].created_at <= runs[0].updated_at
    assert await wf.get_run("nope") is None


async def test_one_connection_per_database_per_loop(make_wf: Any, tmp_path: Path) -> None:
    one, two = make_wf("a"), make_wf("b")
    assert await one.store._shared() is await two.store._shared()  # type: ignore[attr-defined]
    other = Workflow("c", db=tmp_path / "other.db")
    assert await other.store._shared() is not await one.store._shared()  # type: ignore[attr-defined]
