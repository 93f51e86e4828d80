"""Leases, fencing, retries and idempotent reports."""

from __future__ import annotations

import asyncio

from durable_workflow.protocol import codec
from durable_workflow.server.engine.clock import FakeClock
from durable_workflow.server.runtime import ServerRuntime

from .test_flows import act_cmd
from .wire import Wire, types_of


async def test_expired_workflow_lease_is_redelivered_with_next_attempt(
    wire: Wire, clock: FakeClock
) -> None:
    await wire.start("lease-1")
    await wire.register("w1")
    await wire.register("w2")
    task = await wire.poll_wft("w1")
    assert task["workflow_task_attempt"] == 1
    await wire.signal("lease-1", "s", [])  # buffered behind the lease
    clock.advance(61)  # default lease is 60 s
    again = await wire.poll_wft("w2", timeout=5)
    assert again["task_id"] == task["task_id"] and again["workflow_task_attempt"] == 2
    assert types_of(again["history_events"]) == ["WorkflowStarted", "SignalReceived"]
    late = await wire.complete_wft(task, [{"type": "start_timer", "delay_seconds": 1}])
    assert late.status == 409 and late.body["reason"] == "lease_owner_mismatch"


async def test_lease_fences(wire: Wire, clock: FakeClock) -> None:
    await wire.start("fence-1")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    wrong_owner = {**task, "lease_owner": "someone-else"}
    resp = await wire.complete_wft(wrong_owner, [{"type": "start_timer", "delay_seconds": 1}])
    assert resp.status == 409 and resp.body["reason"] == "lease_owner_mismatch"
    wrong_attempt = {**task, "workflow_task_attempt": 7}
    resp = await wire.complete_wft(wrong_attempt, [{"type": "start_timer", "delay_seconds": 1}])
    assert resp.status == 409 and resp.body["reason"] == "workflow_task_attempt_mismatch"
    resp = await wire.complete_wft(
        {**task, "task_id": "nope"}, [{"type": "start_timer", "delay_seconds": 1}]
    )
    assert resp.status == 404 and resp.body["reason"] == "task_not_found"
    clock.advance(60)  # expired but not yet swept: still refused
    resp = await wire.complete_wft(task, [{"type": "start_timer", "delay_seconds": 1}])
    assert resp.status == 409 and resp.body["reason"] == "lease_expired"


async def test_heartbeat_extends_the_workflow_task_lease(wire: Wire, clock: FakeClock) -> None:
    await wire.start("hb-1")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    clock.advance(50)
    body = {"lease_owner": "w1", "workflow_task_attempt": 1}
    hb = await wire.ok(
        "POST", f"/api/worker/workflow-tasks/{task['task_id']}/heartbeat", body, plane="worker"
    )
    assert (
        hb["renewed"] is True
        and hb["task_id"] == task["task_id"]
        and hb["workflow_task_attempt"] == 1
    )
    assert hb["lease_owner"] == "w1" and hb["lease_expires_at"].endswith("Z")
    clock.advance(50)
    resp = await wire.complete_wft(task, [{"type": "start_timer", "delay_seconds": 1}])
    assert resp.status == 200, resp.body


async def test_completion_is_idempotent(wire: Wire) -> None:
    started = await wire.start("idem-1")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    first = await wire.complete_wft(task, [act_cmd()])
    second = await wire.complete_wft(task, [act_cmd()])
    assert first.status == second.status == 200 and first.body == second.body
    history = await wire.history("idem-1", started["run_id"])
    assert types_of(history) == ["WorkflowStarted", "ActivityScheduled"]
    assert await wire.poll_act("w1") is not None and await wire.poll_act("w1") is None


async def test_poll_request_id_retry_returns_the_same_lease(wire: Wire) -> None:
    await wire.start("pr-1")
    await wire.register("w1")
    first = await wire.poll_wft("w1", poll_request_id="wf-poll-abc")
    again = await wire.poll_wft("w1", poll_request_id="wf-poll-abc")
    assert again["task_id"] == first["task_id"] and again["workflow_task_attempt"] == 1


async def test_workflow_task_failure_retries_after_backoff(wire: Wire, clock: FakeClock) -> None:
    started = await wire.start("wff-1")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    resp = await wire.fail_wft(
        task, {"message": "non-determinism", "type": "NonDeterministicReplayError"}
    )
    assert (
        resp.status == 200
        and resp.body["outcome"] == "failed"
        and resp.body["retry_after_seconds"] == 1
    )
    assert await wire.poll_wft("w1") is None
    desc = await wire.describe("wff-1")
    assert (
        desc["status"] == "waiting"
        and desc["last_workflow_task_failure"]["message"] == "non-determinism"
    )
    clock.advance(1)
    task = await wire.poll_wft("w1", timeout=5)
    assert types_of(task["history_events"]) == ["WorkflowStarted"]  # failures never write history
    resp = await wire.fail_wft(task, {"message": "again"})
    assert resp.body["retry_after_seconds"] == 2
    assert types_of(await wire.history("wff-1", started["run_id"])) == ["WorkflowStarted"]


async def test_activity_retry_policy_and_terminal_failure(wire: Wire, clock: FakeClock) -> None:
    started = await wire.start("retry-1")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    policy = {
        "max_attempts": 3,
        "backoff_seconds": [5, 10],
        "non_retryable_error_types": ["KeyError"],
    }
    await wire.complete_wft(task, [act_cmd(retry_policy=policy)])
    act = await wire.poll_act("w1")
    resp = await wire.fail_act(act)
    assert resp.body["outcome"] == "retry_scheduled" and resp.body["retry_after_seconds"] == 5
    assert await wire.poll_wft("w1") is None  # a retried attempt does not wake the workflow
    assert await wire.poll_act("w1") is None
    clock.advance(5)
    act2 = await wire.poll_act("w1", timeout=5)
    assert act2["attempt_number"] == 2 and act2["activity_attempt_id"] != act["activity_attempt_id"]
    stale = await wire.complete_act(act, "late")
    assert stale.status == 409 and stale.body["reason"] == "activity_attempt_mismatch"
    resp = await wire.fail_act(act2, type="KeyError", **{"class": "builtins.KeyError"})
    assert resp.body["outcome"] == "failed"
    history = await wire.history("retry-1", started["run_id"])
    assert types_of(history) == ["WorkflowStarted", "ActivityScheduled", "ActivityFailed"]
    failed = history[-1]["payload"]
    assert failed["sequence"] == 1 and failed["exception_type"] == "KeyError"
    assert (
        failed["exception_class"] == "builtins.KeyError"
        and failed["failure_category"] == "activity"
    )
    assert await wire.poll_wft("w1") is not None


async def test_activity_without_policy_gets_one_attempt(wire: Wire) -> None:
    started = await wire.start("retry-2")
    await wire.register("w1")
    await wire.complete_wft(await wire.poll_wft("w1"), [act_cmd()])
    resp = await wire.fail_act(await wire.poll_act("w1"))
    assert resp.body["outcome"] == "failed"
    assert types_of(await wire.history("retry-2", started["run_id"]))[-1] == "ActivityFailed"


async def test_activity_lease_expiry_redelivers_then_times_out(
    wire: Wire, clock: FakeClock
) -> None:
    started = await wire.start("act-lease")
    await wire.register("w1")
    await wire.complete_wft(
        await wire.poll_wft("w1"),
        [
            act_cmd(
                start_to_close_timeout=10, retry_policy={"max_attempts": 2, "backoff_seconds": [0]}
            )
        ],
    )
    first = await wire.poll_act("w1")
    clock.advance(10)  # worker died: start-to-close passes without a report
    second = await wire.poll_act("w1", timeout=5)
    assert second["attempt_number"] == 2
    clock.advance(10)
    task = await wire.poll_wft("w1", timeout=5)
    timed_out = task["history_events"][-1]
    assert (
        timed_out["event_type"] == "ActivityTimedOut"
        and timed_out["payload"]["timeout_kind"] == "start_to_close"
    )
    assert first["task_id"] == second["task_id"]
    assert (
        types_of(await wire.history("act-lease", started["run_id"])).count("ActivityTimedOut") == 1
    )


async def test_activity_heartbeat_and_cancellation_on_terminate(
    wire: Wire, clock: FakeClock
) -> None:
    await wire.start("act-hb")
    await wire.register("w1")
    await wire.complete_wft(await wire.poll_wft("w1"), [act_cmd(heartbeat_timeout=5)])
    act = await wire.poll_act("w1")
    body = {
        "activity_attempt_id": act["activity_attempt_id"],
        "lease_owner": "w1",
        "details": {"p": 1},
    }
    path = f"/api/worker/activity-tasks/{act['task_id']}/heartbeat"
    for _ in range(3):
        clock.advance(4)
        hb = await wire.ok("POST", path, body, plane="worker")
        assert hb["can_continue"] is True and hb["cancel_requested"] is False
    await wire.ok("POST", "/api/workflows/act-hb/terminate", {"reason": "stop"})
    hb = await wire.ok("POST", path, body, plane="worker")
    assert (
        hb["cancel_requested"] is True
        and hb["can_continue"] is False
        and hb["reason"] == "run_terminated"
    )
    late = await wire.complete_act(act, "x")
    assert late.status == 200 and late.body["outcome"] == "ignored"


async def test_deregister_releases_leased_workflow_tasks(wire: Wire) -> None:
    await wire.start("dereg-1")
    await wire.register("w1")
    await wire.register("w2")
    task = await wire.poll_wft("w1")
    body = await wire.ok("DELETE", "/api/worker/registrations/w1", plane="worker")
    assert body == {
        "worker_id": "w1",
        "outcome": "deregistered",
        "recovered_workflow_task_count": 1,
    }
    again = await wire.poll_wft("w2")
    assert again["task_id"] == task["task_id"] and again["workflow_task_attempt"] == 2
    resp = await wire.call("DELETE", "/api/worker/registrations/w1", plane="worker")
    assert resp.status == 404 and resp.body["reason"] == "worker_not_found"


async def test_deregistered_worker_parked_poll_leases_nothing(
    wire: Wire, runtime: ServerRuntime
) -> None:
    await wire.register("w1")
    parked = asyncio.create_task(wire.poll_wft("w1", timeout=30))
    await asyncio.sleep(0.05)
    await wire.ok("DELETE", "/api/worker/registrations/w1", plane="worker")
    assert await asyncio.wait_for(parked, 5) is None
    await wire.start("after-dereg")
    await wire.register("w2")
    assert (await wire.poll_wft("w2"))["workflow_id"] == "after-dereg"


async def test_tasks_only_go_to_workers_supporting_the_type(wire: Wire) -> None:
    await wire.start("route-1", workflow_type="billing")
    await wire.register("w-greeter", workflows=["greeter"])
    await wire.register("w-billing", workflows=["billing"])
    assert await wire.poll_wft("w-greeter") is None
    assert (await wire.poll_wft("w-billing"))["workflow_type"] == "billing"


async def test_unknown_worker_is_registered_implicitly_on_poll(wire: Wire) -> None:
    await wire.start("implicit-1")
    task = await wire.poll_wft("never-registered")
    assert task is not None and task["lease_owner"] == "never-registered"


async def test_long_poll_is_woken_by_a_new_task(wire: Wire, runtime: ServerRuntime) -> None:
    await wire.register("w1")
    loop = asyncio.get_running_loop()
    began = loop.time()
    poll = asyncio.create_task(wire.poll_wft("w1", timeout=30))
    await asyncio.sleep(0.05)
    assert runtime.engine.wakeups.parked_count() == 1
    await wire.start("wake-1")
    task = await asyncio.wait_for(poll, 5)
    assert task["workflow_id"] == "wake-1" and loop.time() - began < 5
    assert runtime.engine.wakeups.parked_count() == 0


async def test_long_poll_times_out_empty_and_close_releases_parked_polls(
    wire: Wire, runtime: ServerRuntime
) -> None:
    await wire.register("w1")
    assert await wire.poll_wft("w1", timeout=1) is None
    polls = [asyncio.create_task(wire.poll_act("w1", timeout=60)) for _ in range(3)]
    polls.append(
        asyncio.create_task(
            wire.ok(
                "POST",
                "/api/worker/query-tasks/poll",
                {
                    "worker_id": "w1",
                    "task_queue": "q",
                    "poll_request_id": "query-poll-1",
                    "timeout_seconds": 60,
                },
                plane="worker",
            )
        )
    )
    await asyncio.sleep(0.05)
    await runtime.close()
    results = await asyncio.wait_for(asyncio.gather(*polls), 5)
    assert results[:3] == [None, None, None] and results[3] == {
        "task": None,
        "poll_status": "empty",
    }


async def test_activity_result_envelope_is_stored_verbatim(wire: Wire) -> None:
    await wire.start("verbatim-1")
    await wire.register("w1")
    await wire.complete_wft(await wire.poll_wft("w1"), [act_cmd()])
    act = await wire.poll_act("w1")
    await wire.complete_act(act, {"k": [1, 2.5, None, b"\x00"]})
    task = await wire.poll_wft("w1")
    assert codec.decode_envelope(task["history_events"][-1]["payload"]["result"]) == {
        "k": [1, 2.5, None, b"\x00"]
    }
