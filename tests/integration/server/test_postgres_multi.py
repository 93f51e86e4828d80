"""Several servers (runtimes with their own pools, listeners and sweepers) on ONE PostgreSQL
database, in one process: the races of a multi-server deployment, without process start-up.

The real-process version (3 `dw server start`, SIGKILL) is tests/e2e/test_postgres_scale.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from durable_workflow.protocol import codec
from durable_workflow.server.engine.clock import FakeClock
from durable_workflow.server.runtime import ServerConfig, ServerRuntime

from .test_flows import act_cmd
from .wire import Wire, types_of, wait_for

pytestmark = pytest.mark.postgres

Servers = Callable[..., Awaitable[list[ServerRuntime]]]


@pytest.fixture
async def servers(pg_url: str) -> AsyncIterator[Servers]:
    opened: list[ServerRuntime] = []

    async def open_servers(n: int, **config: Any) -> list[ServerRuntime]:
        for _ in range(n):
            opened.append(await ServerRuntime.open(ServerConfig(db_url=pg_url, **config)))
        return opened[-n:]

    yield open_servers
    for rt in opened:
        await rt.close()


def assert_gap_free(events: list[dict[str, Any]]) -> None:
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))


async def test_two_servers_racing_never_hand_one_task_to_two_workers(servers: Servers) -> None:
    a, b = await servers(2)
    wires = [Wire(a.api), Wire(b.api)]
    n = 100
    for i, w in enumerate(wires):
        await w.register(f"worker-{i}")
    wft_deliveries: Counter[str] = Counter()
    act_deliveries: Counter[str] = Counter()
    done = asyncio.Event()

    async def wft_poller(w: Wire, worker: str) -> None:
        while not done.is_set():
            task = await w.poll_wft(worker, timeout=1)
            if task is None:
                continue
            wft_deliveries[task["task_id"]] += 1
            kinds = types_of(task["history_events"])
            if "ActivityCompleted" in kinds and "SignalReceived" in kinds:
                cmds = [{"type": "complete_workflow", "result": codec.envelope("ok")}]
            elif "ActivityScheduled" in kinds:
                cmds = []  # waits for the other of activity result and signal
            else:
                cmds = [act_cmd()]
            # No command yet: the SDK answers WorkflowTaskWaitingForHistory.
            resp = await (w.complete_wft(task, cmds) if cmds else w.waiting_for_history(task))
            assert resp.status == 200, resp.body

    async def act_poller(w: Wire, worker: str) -> None:
        while not done.is_set():
            act = await w.poll_act(worker, timeout=1)
            if act is None:
                continue
            act_deliveries[act["task_id"]] += 1
            assert (await w.complete_act(act, "done")).status == 200

    pollers = [
        asyncio.create_task(fn(w, f"worker-{i}"))
        for i, w in enumerate(wires)
        for fn in (wft_poller,) * 6 + (act_poller,) * 6
    ]
    try:
        # Start through both servers, and signal every workflow through the *other* server
        # while its tasks are in flight: completions and signals race for the same run.
        runs = {}
        for i in range(n):
            started = await wires[i % 2].start(f"race-{i}")
            runs[f"race-{i}"] = started["run_id"]
        signals = [wires[(i + 1) % 2].signal(f"race-{i}", "poke", ["x"]) for i in range(n)]
        for resp in await asyncio.gather(*signals):
            assert resp.status in (200, 202), resp.body

        async def all_closed() -> bool:
            listed = await wires[0].ok("GET", "/api/workflows", query={"status": "completed",
                                                                      "page_size": "1000"})
            return len(listed["workflows"]) == n

        await wait_for(all_closed, timeout=60)
    finally:
        done.set()
        await asyncio.gather(*pollers)
    print(f"\nworkflow-task deliveries {sum(wft_deliveries.values())} for {len(wft_deliveries)} "
          f"tasks; activity deliveries {sum(act_deliveries.values())} for {len(act_deliveries)}")
    assert max(wft_deliveries.values()) == 1
    assert len(act_deliveries) == n and max(act_deliveries.values()) == 1
    for workflow_id, run_id in runs.items():
        events = await wires[0].history(workflow_id, run_id)
        assert_gap_free(events)
        kinds = types_of(events)
        assert kinds.count("ActivityCompleted") == 1 and kinds.count("SignalReceived") == 1
        assert kinds.count("WorkflowCompleted") == 1 and kinds[-1] == "WorkflowCompleted"


async def test_poll_on_b_wakes_for_a_task_started_through_a(servers: Servers) -> None:
    a, b = await servers(2)
    wa, wb = Wire(a.api), Wire(b.api)
    await wb.register("wb")
    latencies = []
    for i in range(5):
        poll = asyncio.create_task(wb.poll_wft("wb", timeout=10))
        await wait_for(lambda: b.engine.wakeups.parked_count() == 1)
        await wa.start(f"wake-{i}")
        t0 = time.perf_counter()  # A committed (and NOTIFYed) when start returned
        task = await poll
        latencies.append(time.perf_counter() - t0)
        assert task is not None and task["workflow_id"] == f"wake-{i}"
        await wb.complete_wft(task, [{"type": "complete_workflow", "result": codec.envelope(1)}])
    print(f"\ncross-server wake-up latency (start on A committed -> poll on B returns the task): "
          f"min {min(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    # The safety-net re-check is 5 s; anything near it would mean NOTIFY did not arrive.
    assert max(latencies) < 2.5


async def test_timers_fire_exactly_once_with_three_sweepers(servers: Servers) -> None:
    clock = FakeClock()
    rts = await servers(3, clock=clock)
    w = Wire(rts[0].api)
    await w.register("w")
    runs = {}
    for i in range(40):
        runs[f"t-{i}"] = (await w.start(f"t-{i}"))["run_id"]
    for _ in range(40):
        task = await w.poll_wft("w")
        await w.complete_wft(task, [{"type": "start_timer", "delay_seconds": 30}])
    clock.advance(31)  # all three sweepers wake and race for the same 40 timers

    async def fired() -> bool:
        for workflow_id, run_id in runs.items():
            if "TimerFired" not in types_of(await w.history(workflow_id, run_id)):
                return False
        return True

    await wait_for(fired, timeout=20)
    for workflow_id, run_id in runs.items():
        events = await w.history(workflow_id, run_id)
        assert_gap_free(events)
        assert types_of(events).count("TimerFired") == 1


async def test_concurrent_starts_of_one_id_on_two_servers_start_it_once(servers: Servers) -> None:
    a, b = await servers(2)
    wires = [Wire(a.api), Wire(b.api)]
    body = {"workflow_id": "same", "workflow_type": "greeter", "task_queue": "q",
            "input": codec.envelope([]), "execution_timeout_seconds": 60, "run_timeout_seconds": 60}
    replies = await asyncio.gather(*(wires[i % 2].call("POST", "/api/workflows", dict(body))
                                     for i in range(20)))
    statuses = Counter(r.status for r in replies)
    assert statuses[201] == 1 and statuses[409] == 19, statuses


async def test_signal_request_id_is_idempotent_across_servers(servers: Servers) -> None:
    a, b = await servers(2)
    wires = [Wire(a.api), Wire(b.api)]
    run_id = (await wires[0].start("sig"))["run_id"]
    request_id = f"req-{uuid.uuid4().hex}"
    replies = await asyncio.gather(*(wires[i % 2].signal("sig", "go", [1], request_id=request_id)
                                     for i in range(10)))
    assert {r.status for r in replies} <= {200, 202}
    assert len({r.body["command_id"] for r in replies}) == 1
    events = await wires[0].history("sig", run_id)
    assert types_of(events).count("SignalReceived") == 1


async def test_retried_poll_on_another_server_gets_the_same_lease(servers: Servers) -> None:
    a, b = await servers(2)
    wa, wb = Wire(a.api), Wire(b.api)
    await wa.register("w")
    for i in range(3):
        await wa.start(f"p-{i}")
    poll_id = f"wf-poll-{uuid.uuid4().hex}"
    first, second = await asyncio.gather(wa.poll_wft("w", poll_request_id=poll_id),
                                         wb.poll_wft("w", poll_request_id=poll_id))
    assert first["task_id"] == second["task_id"]
