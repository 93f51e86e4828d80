"""Parallel fan-out, condition waits, signal/update receivers, update tasks and queries."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from durable_workflow import workflow
from durable_workflow.errors import ActivityFailed, NonDeterministicReplayError, QueryFailed
from durable_workflow.protocol import codec
from durable_workflow.workflow import (
    CompleteUpdate,
    CompleteWorkflow,
    FailUpdate,
    FailWorkflow,
    WaitCondition,
    WorkflowContext,
    apply_update,
    query_state,
    replay,
    run_workflow_task,
)

from .wf_events import HistoryBuilder, group_meta

Gen = Generator[Any, Any, Any]


def task(
    cls: type, events: list[dict[str, Any]], update_id: str | None = None
) -> list[dict[str, Any]]:
    return run_workflow_task(
        cls,
        history_events=events,
        start_input=[],
        workflow_id="wf-1",
        run_id="run-1",
        workflow_type=workflow.get_definition(cls).name,
        task_queue="q",
        update_id=update_id,
    )


@workflow.defn(name="p.fanout")
class FanOut:
    def run(self, ctx: WorkflowContext) -> Gen:
        first = yield ctx.schedule_activity("prep", [])
        try:
            results = yield [
                ctx.schedule_activity("a", [first]),
                ctx.start_timer(2),
                ctx.schedule_activity("b", []),
            ]
        except ActivityFailed as failure:
            return f"failed:{failure.activity_type}"
        return results


def mixed(index: int) -> dict[str, Any]:
    return group_meta("parallel-calls", "mixed", 2, 3, index)


def fanout_history() -> HistoryBuilder:
    h = HistoryBuilder("p.fanout").activity(1, "prep", "P")
    h.add("ActivityScheduled", sequence=2, activity_type="a", **mixed(0))
    h.add("TimerScheduled", sequence=3, delay_seconds=2, **mixed(1))
    h.add("ActivityScheduled", sequence=4, activity_type="b", **mixed(2))
    return h


def test_group_metadata_and_full_re_emission() -> None:
    h = HistoryBuilder("p.fanout").activity(1, "prep", "P")
    emitted = task(FanOut, h.events)
    assert [c["type"] for c in emitted] == ["schedule_activity", "start_timer", "schedule_activity"]
    for index, command in enumerate(emitted):
        assert {k: v for k, v in command.items() if k.startswith("parallel_group")} == mixed(index)
    h = fanout_history()
    assert task(FanOut, h.events) == emitted
    h.add(
        "ActivityCompleted", sequence=4, activity_type="b", result=codec.envelope("B"), **mixed(2)
    )
    h.add("TimerFired", sequence=3, delay_seconds=2, **mixed(1))
    assert task(FanOut, h.events) == emitted  # still one member missing: re-send all three
    h.add(
        "ActivityCompleted", sequence=2, activity_type="a", result=codec.envelope("A"), **mixed(0)
    )
    assert replay(FanOut, h.events).commands == [CompleteWorkflow(["A", None, "B"])]


def test_out_of_order_results_without_metadata_are_non_deterministic() -> None:
    h = HistoryBuilder("p.fanout").activity(1, "prep", "P")
    h.add("ActivityScheduled", sequence=2, activity_type="a")
    h.add("TimerScheduled", sequence=3, delay_seconds=2)
    h.add("ActivityScheduled", sequence=4, activity_type="b")
    h.add("ActivityCompleted", sequence=4, activity_type="b", result=codec.envelope("B"))
    h.add("TimerFired", sequence=3, delay_seconds=2)
    h.add("ActivityCompleted", sequence=2, activity_type="a", result=codec.envelope("A"))
    with pytest.raises(NonDeterministicReplayError):
        replay(FanOut, h.events)


def test_member_failure_is_raised_after_every_member_resolves() -> None:
    h = fanout_history()
    h.add("ActivityFailed", sequence=4, activity_type="b", message="no", **mixed(2))
    h.add("TimerFired", sequence=3, delay_seconds=2, **mixed(1))
    h.add(
        "ActivityCompleted", sequence=2, activity_type="a", result=codec.envelope("A"), **mixed(0)
    )
    assert replay(FanOut, h.events).commands == [CompleteWorkflow("failed:b")]


def test_new_group_base_counts_commands_emitted_earlier_in_the_task() -> None:
    @workflow.defn(name="p.base")
    class Base:
        def run(self, ctx: WorkflowContext) -> Gen:
            yield ctx.schedule_activity("first", [])
            yield ctx.side_effect(lambda: 1)
            yield ctx.upsert_search_attributes({"a": 1})
            return (yield [[ctx.schedule_activity("x", [])], ctx.start_timer(1)])

    # Sequence gaps are tolerated; the next free number is max(recorded) + emitted + 1.
    commands = task(Base, HistoryBuilder("p.base").activity(5, "first", None).events)
    assert [c["type"] for c in commands] == [
        "record_side_effect",
        "upsert_search_attributes",
        "schedule_activity",
        "start_timer",
    ]
    assert commands[2]["parallel_group_id"] == "parallel-activities:8:1"
    assert commands[2]["parallel_group_path"][0]["parallel_group_id"] == "parallel-calls:8:2"
    assert commands[3]["parallel_group_id"] == "parallel-calls:8:2"
    assert commands[3]["parallel_group_index"] == 1


def test_empty_group_resolves_immediately() -> None:
    @workflow.defn(name="p.empty")
    class Empty:
        def run(self, ctx: WorkflowContext) -> Gen:
            return (yield [])

    assert replay(Empty, HistoryBuilder("p.empty").events).commands == [CompleteWorkflow([])]


@workflow.defn(name="p.waiter")
class Waiter:
    def __init__(self) -> None:
        self.items: list[str] = []

    @workflow.signal("add")
    def add(self, item: str) -> None:
        self.items.append(item)

    @workflow.signal("explode")
    def explode(self) -> None:
        raise RuntimeError("signal handler failed")

    @workflow.update("add_many")
    def add_many(self, *items: str) -> int:
        self.items.extend(items)
        return len(self.items)

    @workflow.update_validator("add_many")
    def check(self, *items: str) -> None:
        if "forbidden" in items:
            raise ValueError("forbidden item")

    @workflow.query("items")
    def list_items(self) -> list[str]:
        return list(self.items)

    def run(self, ctx: WorkflowContext) -> Gen:
        got = yield ctx.wait_condition(lambda: len(self.items) >= 2, key="two", timeout=10)
        return [got, list(self.items)]


FP = WaitCondition(lambda: None).condition_definition_fingerprint


def opened(seq: int, wait_id: str, fingerprint: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "sequence": seq,
        "condition_wait_id": wait_id,
        "condition_key": "two",
        "timeout_seconds": 10,
    }
    if fingerprint:
        payload["condition_definition_fingerprint"] = fingerprint
    return payload


def test_wait_true_at_yield_records_nothing() -> None:
    h = HistoryBuilder("p.waiter").signal("add", "x").signal("add", "y")
    assert replay(Waiter, h.events).commands == [CompleteWorkflow([True, ["x", "y"]])]


def test_wait_opens_reopens_and_resolves() -> None:
    h = HistoryBuilder("p.waiter").signal("add", "x")
    [command] = task(Waiter, h.events)
    assert command["type"] == "open_condition_wait" and command["timeout_seconds"] == 10
    fingerprint = command["condition_definition_fingerprint"]
    h.add("ConditionWaitOpened", **opened(1, "cw-1", fingerprint))
    h.add(
        "TimerScheduled",
        sequence=1,
        timer_kind="condition_timeout",
        condition_wait_id="cw-1",
        delay_seconds=10,
    )
    assert task(Waiter, h.events) == [command]  # woken with nothing new: re-open
    h.signal("add", "y", workflow_sequence=1)
    assert replay(Waiter, h.events).commands == [CompleteWorkflow([True, ["x", "y"]])]

    timed_out = HistoryBuilder("p.waiter")
    timed_out.add("ConditionWaitOpened", **opened(1, "cw-1"))
    timed_out.signal("add", "late-1", workflow_sequence=1).signal(
        "add", "late-2", workflow_sequence=1
    )
    timed_out.add(
        "TimerFired", sequence=1, timer_kind="condition_timeout", condition_wait_id="cw-1"
    )
    timed_out.add("ConditionWaitTimedOut", sequence=1, condition_wait_id="cw-1")
    # The timeout wins even though the bound signals made the predicate true.
    assert replay(Waiter, timed_out.events).commands == [
        CompleteWorkflow([False, ["late-1", "late-2"]])
    ]


def test_wait_identity_is_checked() -> None:
    h = HistoryBuilder("p.waiter")
    h.add("ConditionWaitOpened", **opened(1, "cw-1", "sha256:" + "0" * 64))
    with pytest.raises(NonDeterministicReplayError, match="condition_fingerprint_changed"):
        replay(Waiter, h.events)
    h = HistoryBuilder("p.waiter")
    h.add("ConditionWaitOpened", sequence=1, condition_wait_id="cw-1", condition_key="other")
    with pytest.raises(NonDeterministicReplayError, match="condition_key"):
        replay(Waiter, h.events)


def test_signal_handler_failure_and_unknown_receivers() -> None:
    h = HistoryBuilder("p.waiter").signal("unknown-signal").signal("explode")
    [failed] = replay(Waiter, h.events).commands
    assert isinstance(failed, FailWorkflow) and failed.message == "signal handler failed"
    h = HistoryBuilder("p.waiter").add(
        "UpdateApplied", update_name="nope", arguments=codec.envelope([])
    )
    [failed] = replay(Waiter, h.events).commands
    assert isinstance(failed, FailWorkflow) and "nope" in failed.message


def test_update_tasks_answer_with_one_update_command() -> None:
    h = HistoryBuilder("p.waiter").signal("add", "x")
    h.add("ConditionWaitOpened", **opened(1, "cw-1"))
    h.add(
        "UpdateAccepted",
        update_id="u-1",
        update_name="add_many",
        arguments=codec.envelope(["y", "z"]),
    )
    h.add(
        "UpdateAccepted",
        update_id="u-2",
        update_name="add_many",
        arguments=codec.envelope(["forbidden"]),
    )
    h.add("UpdateAccepted", update_id="u-3", update_name="missing", arguments=codec.envelope([]))
    assert task(Waiter, h.events, update_id="u-1") == [
        {"type": "complete_update", "update_id": "u-1", "result": codec.envelope(3)}
    ]
    [rejected] = task(Waiter, h.events, update_id="u-2")
    assert rejected["type"] == "fail_update" and rejected["message"] == "forbidden item"
    assert rejected["exception_type"] == "ValueError" and rejected["non_retryable"] is True
    assert task(Waiter, h.events, update_id="u-3")[0]["type"] == "fail_update"
    assert "not present" in task(Waiter, h.events, update_id="u-9")[0]["message"]
    assert isinstance(apply_update(Waiter, h.events, [], "u-1"), CompleteUpdate)
    assert isinstance(apply_update(Waiter, h.events, [], "u-2"), FailUpdate)

    # Once applied, the update is a receiver: the next regular task re-runs it at the wait.
    h.add(
        "UpdateApplied",
        update_id="u-1",
        update_name="add_many",
        arguments=codec.envelope(["y", "z"]),
        sequence=1,
    )
    h.add(
        "UpdateCompleted",
        update_id="u-1",
        update_name="add_many",
        result=codec.envelope(3),
        sequence=1,
    )
    assert replay(Waiter, h.events).commands == [CompleteWorkflow([True, ["x", "y", "z"]])]


def test_query_state_reads_replayed_state() -> None:
    h = HistoryBuilder("p.waiter").signal("add", "x")
    h.add("ConditionWaitOpened", **opened(1, "cw-1"))
    h.signal("add", "y", workflow_sequence=1)
    assert query_state(Waiter, h.events, [], "items") == ["x", "y"]
    with pytest.raises(QueryFailed):
        query_state(Waiter, h.events, [], "nope")


def test_legacy_condition_timer_without_metadata() -> None:
    @workflow.defn(name="p.legacy-timer")
    class LegacyTimer:
        def run(self, ctx: WorkflowContext) -> Gen:
            ok = yield ctx.wait_condition(lambda: False, key="k", timeout=7)
            after = yield ctx.schedule_activity("after", [])
            return [ok, after]

    h = HistoryBuilder("p.legacy-timer")
    h.add(
        "ConditionWaitOpened",
        sequence=3,
        condition_wait_id="cw",
        condition_key="k",
        timeout_seconds=7,
    )
    h.add("TimerScheduled", sequence=4, timer_id="t-4", delay_seconds=7)
    h.add("TimerFired", sequence=4, timer_id="t-4", delay_seconds=7)
    h.activity(5, "after", "A")
    assert replay(LegacyTimer, h.events).commands == [CompleteWorkflow([False, "A"])]


def test_wait_opened_after_an_unbuffered_signal_is_skipped() -> None:
    # A server that did not buffer wrote the signal before the wait the task opened without it.
    h = HistoryBuilder("p.waiter").signal("add", "x").signal("add", "y")
    h.add("ConditionWaitOpened", **opened(1, "cw-1"))
    assert replay(Waiter, h.events).commands == [CompleteWorkflow([True, ["x", "y"]])]
