"""Full flows through ``Api.dispatch`` with SDK-shaped requests: start -> tasks -> completion."""

from __future__ import annotations

from typing import Any

from durable_workflow.protocol import codec
from durable_workflow.server.engine.clock import FakeClock
from durable_workflow.server.runtime import ServerRuntime

from .wire import Wire, types_of, wait_for


def act_cmd(
    activity_type: str = "greet", args: list[Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "schedule_activity",
        "activity_type": activity_type,
        "arguments": codec.envelope(args or []),
        "queue": "q",
        **extra,
    }


async def test_activity_flow_to_completion(wire: Wire) -> None:
    started = await wire.start("order-1", args=["Ada"])
    assert started["outcome"] == "started_new" and started["workflow_type"] == "greeter"
    run_id = started["run_id"]
    await wire.register("w1")

    task = await wire.poll_wft("w1")
    assert task["workflow_task_attempt"] == 1 and task["payload_codec"] == "avro"
    assert task["run_id"] == run_id and codec.decode_envelope(task["arguments"]) == ["Ada"]
    assert types_of(task["history_events"]) == ["WorkflowStarted"]
    assert task["history_events"][0]["payload"]["timestamp"].endswith("Z")
    resp = await wire.complete_wft(task, [act_cmd(args=["Ada"])])
    assert resp.status == 200 and resp.body["outcome"] == "completed", resp.body

    act = await wire.poll_act("w1")
    assert act["activity_type"] == "greet" and act["attempt_number"] == 1
    assert codec.decode_envelope(act["arguments"]) == ["Ada"]
    assert (await wire.complete_act(act, "hello Ada")).status == 200

    task2 = await wire.poll_wft("w1")
    events = task2["history_events"]
    assert types_of(events) == ["WorkflowStarted", "ActivityScheduled", "ActivityCompleted"]
    assert [e["sequence"] for e in events] == [1, 2, 3]
    assert events[1]["payload"]["sequence"] == 1 and events[2]["payload"]["sequence"] == 1
    assert codec.decode_envelope(events[2]["payload"]["result"]) == "hello Ada"

    resp = await wire.complete_wft(
        task2, [{"type": "complete_workflow", "result": codec.envelope("hello Ada")}]
    )
    assert resp.status == 200, resp.body
    desc = await wire.describe("order-1")
    assert desc["status"] == "completed" and desc["closed_reason"] == "completed"
    assert codec.decode_envelope(desc["output_envelope"]) == "hello Ada"
    history = await wire.history("order-1", run_id)
    assert types_of(history)[-1] == "WorkflowCompleted"
    assert codec.decode_envelope(history[-1]["payload"]["output"]) == "hello Ada"


async def test_timer_fires_with_fake_clock(wire: Wire, clock: FakeClock) -> None:
    started = await wire.start("timer-1")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    assert (
        await wire.complete_wft(task, [{"type": "start_timer", "delay_seconds": 30}])
    ).status == 200
    assert await wire.poll_wft("w1") is None
    clock.advance(29)
    assert await wire.poll_wft("w1") is None
    clock.advance(1)
    task = await wire.poll_wft("w1", timeout=5)  # woken by the sweeper, not by re-polling
    assert task is not None
    events = task["history_events"]
    assert types_of(events) == ["WorkflowStarted", "TimerScheduled", "TimerFired"]
    scheduled, fired = events[1]["payload"], events[2]["payload"]
    assert scheduled["sequence"] == fired["sequence"] == 1
    assert scheduled["delay_seconds"] == 30 and fired["timer_id"] == scheduled["timer_id"]
    assert started["run_id"] == task["run_id"]


async def test_zero_delay_timer_fires_at_once(wire: Wire) -> None:
    await wire.start("timer-0")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    await wire.complete_wft(task, [{"type": "start_timer", "delay_seconds": 0}])
    task = await wire.poll_wft("w1", timeout=5)
    assert types_of(task["history_events"])[-1] == "TimerFired"


async def test_signal_while_leased_is_buffered_until_the_task_ends(wire: Wire) -> None:
    started = await wire.start("sig-1")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    resp = await wire.signal("sig-1", "approve", ["yes"], run_id=started["run_id"])
    assert resp.status == 202 and resp.body["outcome"] == "signal_received"
    # The worker's commands land first; the buffered signal follows and asks for a new task.
    await wire.complete_wft(task, [{"type": "start_timer", "delay_seconds": 300}])
    task2 = await wire.poll_wft("w1")
    events = task2["history_events"]
    assert types_of(events) == ["WorkflowStarted", "TimerScheduled", "SignalReceived"]
    assert events[2]["payload"]["signal_name"] == "approve"
    assert codec.decode_envelope(events[2]["payload"]["input"]) == ["yes"]


async def test_signal_when_idle_creates_exactly_one_task(wire: Wire) -> None:
    await wire.start("sig-2")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    await wire.complete_wft(task, [{"type": "start_timer", "delay_seconds": 300}])
    for i in range(3):
        assert (await wire.signal("sig-2", "s", [i])).status == 202
    task = await wire.poll_wft("w1")
    assert types_of(task["history_events"]).count("SignalReceived") == 3
    assert await wire.poll_wft("w1") is None


async def test_waiting_for_history_is_a_successful_no_op(wire: Wire) -> None:
    await wire.start("wfh-1")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    await wire.complete_wft(task, [act_cmd()])
    await wire.signal("wfh-1", "ping", [])
    task = await wire.poll_wft("w1")
    resp = await wire.waiting_for_history(task)
    assert (
        resp.status == 200
        and resp.body["outcome"] == "waiting_for_history"
        and resp.body["next_task_id"] is None
    )
    assert await wire.poll_wft("w1") is None  # no retry task
    desc = await wire.describe("wfh-1")
    assert desc["status"] == "waiting" and desc["last_workflow_task_failure"] is None
    # A signal during the leased task produces a follow-up task after the no-op.
    act = await wire.poll_act("w1")
    await wire.signal("wfh-1", "ping", [])
    task = await wire.poll_wft("w1")
    await wire.complete_act(act, 1)  # buffered: the task is leased
    resp = await wire.waiting_for_history(task)
    assert resp.body["next_task_id"] is not None
    task = await wire.poll_wft("w1")
    assert types_of(task["history_events"])[-1] == "ActivityCompleted"


def group(kind: str, base: int, size: int, index: int) -> dict[str, Any]:
    entry = {
        "parallel_group_id": f"parallel-{kind}:{base}:{size}",
        "parallel_group_kind": kind.rstrip("s"),
        "parallel_group_base_sequence": base,
        "parallel_group_size": size,
        "parallel_group_index": index,
    }
    return {**entry, "parallel_group_path": [dict(entry)]}


async def test_parallel_group_barrier_and_reemission_dedupe(wire: Wire) -> None:
    started = await wire.start("par-1")
    await wire.register("w1", activities=["a", "b"])
    task = await wire.poll_wft("w1")
    members = [
        act_cmd("a", **group("activities", 1, 2, 0)),
        act_cmd("b", **group("activities", 1, 2, 1)),
    ]
    assert (await wire.complete_wft(task, members)).status == 200
    a, b = await wire.poll_act("w1"), await wire.poll_act("w1")
    assert {a["activity_type"], b["activity_type"]} == {"a", "b"}
    b_task = b if b["activity_type"] == "b" else a
    a_task = a if b_task is b else b
    await wire.complete_act(b_task, "B")
    assert await wire.poll_wft("w1") is None  # barrier: "a" is unresolved
    # A signal still wakes the workflow mid-group; the SDK re-emits the whole group.
    await wire.signal("par-1", "poke", [])
    task = await wire.poll_wft("w1")
    assert (await wire.complete_wft(task, members)).status == 200
    assert await wire.poll_act("w1") is None  # re-emitted members created nothing
    await wire.complete_act(a_task, "A")
    task = await wire.poll_wft("w1")
    events = task["history_events"]
    assert types_of(events) == [
        "WorkflowStarted",
        "ActivityScheduled",
        "ActivityScheduled",
        "ActivityCompleted",
        "SignalReceived",
        "ActivityCompleted",
    ]
    completed = [e["payload"] for e in events if e["event_type"] == "ActivityCompleted"]
    assert [(p["sequence"], p["parallel_group_index"]) for p in completed] == [(2, 1), (1, 0)]
    assert all(
        p["parallel_group_path"][0]["parallel_group_id"] == "parallel-activities:1:2"
        for p in completed
    )
    # The counter continues after the group.
    await wire.complete_wft(
        task,
        [
            {"type": "record_side_effect", "result": codec.encode(7)},
            {"type": "complete_workflow", "result": codec.envelope(None)},
        ],
    )
    history = await wire.history("par-1", started["run_id"])
    side = next(e for e in history if e["event_type"] == "SideEffectRecorded")
    assert side["payload"]["sequence"] == 3


async def test_parallel_member_with_wrong_base_is_rejected(
    wire: Wire, runtime: ServerRuntime
) -> None:
    await wire.start("par-2")
    await wire.register("w1", activities=["a", "b"])
    task = await wire.poll_wft("w1")
    resp = await wire.complete_wft(task, [act_cmd("a", **group("activities", 5, 2, 0))])
    assert resp.status == 422 and resp.body["reason"] == "invalid_commands"
    assert "commands.0.parallel_group_base_sequence" in resp.body["errors"]
    history = await wire.history("par-2", task["run_id"])
    assert types_of(history) == ["WorkflowStarted"]


async def test_parallel_timers_barrier(wire: Wire, clock: FakeClock) -> None:
    await wire.start("par-t")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    timers = [
        {"type": "start_timer", "delay_seconds": 10, **group("timers", 1, 2, 0)},
        {"type": "start_timer", "delay_seconds": 20, **group("timers", 1, 2, 1)},
    ]
    await wire.complete_wft(task, timers)
    clock.advance(10)
    await wait_for(lambda: _fired_count(wire, "par-t", task["run_id"], 1))
    assert await wire.poll_wft("w1") is None
    clock.advance(10)
    task = await wire.poll_wft("w1", timeout=5)
    assert types_of(task["history_events"]).count("TimerFired") == 2


async def _fired_count(wire: Wire, wid: str, run_id: str, n: int) -> bool:
    return types_of(await wire.history(wid, run_id)).count("TimerFired") == n


async def test_condition_wait_satisfied_reopened_and_timed_out(
    wire: Wire, clock: FakeClock
) -> None:
    await wire.start("cw-1")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    wait = {
        "type": "open_condition_wait",
        "condition_key": "approval",
        "timeout_seconds": 30,
        "condition_definition_fingerprint": "sha256:ab",
    }
    await wire.complete_wft(task, [wait])
    await wire.signal("cw-1", "approve", [])
    task = await wire.poll_wft("w1")
    events = task["history_events"]
    assert types_of(events) == [
        "WorkflowStarted",
        "ConditionWaitOpened",
        "TimerScheduled",
        "SignalReceived",
    ]
    opened, timer, sig = (e["payload"] for e in events[1:])
    assert (
        timer["timer_kind"] == "condition_timeout" and timer["sequence"] == opened["sequence"] == 1
    )
    assert (
        timer["condition_wait_id"] == opened["condition_wait_id"] and sig["workflow_sequence"] == 1
    )
    # Predicate still false: the worker re-opens; the old wait is satisfied and its timer cancelled.
    await wire.complete_wft(task, [wait])
    clock.advance(31)  # both timers are due; the superseded one must never fire
    task = await wire.poll_wft("w1", timeout=5)
    events = task["history_events"]
    assert types_of(events)[4:] == [
        "ConditionWaitSatisfied",
        "TimerCancelled",
        "ConditionWaitOpened",
        "TimerScheduled",
        "TimerFired",
        "ConditionWaitTimedOut",
    ]
    first_wait, second_wait = (
        events[1]["payload"]["condition_wait_id"],
        events[6]["payload"]["condition_wait_id"],
    )
    assert events[4]["payload"]["condition_wait_id"] == first_wait  # satisfied: the old wait
    assert (
        events[8]["payload"]["condition_wait_id"] == second_wait
    )  # only the re-opened wait's timer fires
    assert [e["payload"]["sequence"] for e in events[6:]] == [2, 2, 2, 2]


async def test_condition_wait_times_out(wire: Wire, clock: FakeClock) -> None:
    await wire.start("cw-2")
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    await wire.complete_wft(
        task, [{"type": "open_condition_wait", "condition_key": "k", "timeout_seconds": 5}]
    )
    clock.advance(5)
    task = await wire.poll_wft("w1", timeout=5)
    events = task["history_events"]
    assert types_of(events)[-2:] == ["TimerFired", "ConditionWaitTimedOut"]
    assert events[-1]["payload"]["sequence"] == 1
    # The next regular completion does not "satisfy" a wait that already timed out.
    await wire.complete_wft(task, [{"type": "complete_workflow", "result": codec.envelope(False)}])
    history = await wire.history("cw-2", task["run_id"])
    assert "ConditionWaitSatisfied" not in types_of(history)


async def test_markers_memo_search_attributes_and_local_activity(wire: Wire) -> None:
    started = await wire.start("mk-1", memo={"a": 1})
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    cmds = [
        {"type": "record_side_effect", "result": codec.encode("r")},
        {
            "type": "record_version_marker",
            "change_id": "c1",
            "version": 1,
            "min_supported": -1,
            "max_supported": 1,
        },
        {"type": "upsert_search_attributes", "attributes": {"Customer": "ada"}},
        {"type": "upsert_memo", "entries": codec.envelope({"z": 2, "a": None})},
        {
            "type": "record_local_activity",
            "activity_type": "fmt",
            "execution_mode": "local",
            "arguments": codec.envelope([]),
            "outcome": "completed",
            "attempts": [],
            "result": codec.envelope("ok"),
        },
        {
            "type": "record_local_activity",
            "activity_type": "bad",
            "execution_mode": "local",
            "arguments": codec.envelope([]),
            "outcome": "failed",
            "attempts": [],
            "message": "nope",
            "exception_type": "ValueError",
            "non_retryable": True,
        },
        {
            "type": "fail_workflow",
            "message": "broke",
            "exception_type": "RuntimeError",
            "exception_class": "builtins.RuntimeError",
        },
    ]
    resp = await wire.complete_wft(task, cmds)
    assert resp.status == 200, resp.body
    history = await wire.history("mk-1", started["run_id"])
    seqs = {(e["event_type"], e["payload"].get("sequence")) for e in history}
    assert ("SideEffectRecorded", 1) in seqs and ("VersionMarkerRecorded", 2) in seqs
    assert ("SearchAttributesUpserted", 3) in seqs and ("MemoUpserted", 4) in seqs
    assert ("ActivityCompleted", 5) in seqs and ("ActivityFailed", 6) in seqs
    memo_event = next(e for e in history if e["event_type"] == "MemoUpserted")["payload"]
    assert set(memo_event["merged"]) == {"codec", "blob"} and codec.decode_envelope(
        memo_event["merged"]
    ) == {"z": 2}
    failed = history[-1]
    assert (
        failed["event_type"] == "WorkflowFailed"
        and failed["payload"]["failure_category"] == "application"
    )
    desc = await wire.describe("mk-1")
    assert desc["status"] == "failed" and desc["memo"] == {"z": 2}
    assert desc["search_attributes"] == {"Customer": "ada"}


async def test_continue_as_new_starts_the_next_run(wire: Wire) -> None:
    first = await wire.start("can-1", args=[1])
    await wire.register("w1")
    task = await wire.poll_wft("w1")
    resp = await wire.complete_wft(
        task, [{"type": "continue_as_new", "arguments": codec.envelope([2]), "queue": "q"}]
    )
    assert resp.status == 200
    desc = await wire.describe("can-1")
    assert (
        desc["run_id"] != first["run_id"]
        and desc["run_number"] == 2
        and desc["status"] == "pending"
    )
    old = await wire.ok("GET", f"/api/workflows/can-1/runs/{first['run_id']}")
    assert (
        old["status"] == "completed"
        and old["closed_reason"] == "continued"
        and not old["is_current_run"]
    )
    task = await wire.poll_wft("w1")
    assert task["run_id"] == desc["run_id"] and codec.decode_envelope(task["arguments"]) == [2]
    assert task["history_events"][0]["payload"]["continued_from_run_id"] == first["run_id"]
    runs = await wire.ok("GET", "/api/workflows/can-1/runs")
    assert runs["run_count"] == 2 and [r["run_number"] for r in runs["runs"]] == [1, 2]
    # The old run refuses run-targeted signals.
    resp = await wire.signal("can-1", "s", [], run_id=first["run_id"])
    assert resp.status == 409 and resp.body["reason"] == "historical_run_command_rejected"
