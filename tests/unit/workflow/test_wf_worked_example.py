"""The worked example of history-events.md §6 replays to completion, task by task."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from durable_workflow import workflow
from durable_workflow.protocol import codec
from durable_workflow.workflow import WorkflowContext, run_workflow_task
from durable_workflow.workflow._context import predicate_fingerprint

from .wf_events import HistoryBuilder, group_meta


@workflow.defn(name="demo")
class Demo:
    def __init__(self) -> None:
        self.approved = False
        self.bumps = 0

    @workflow.signal("approve")
    def approve(self, by: str) -> None:
        self.approved = True

    @workflow.update("bump")
    def bump(self) -> int:
        self.bumps += 1
        return self.bumps

    def approved_now(self) -> bool:
        return self.approved

    def run(self, ctx: WorkflowContext, name: str) -> Generator[Any, Any, Any]:
        greeting = yield ctx.schedule_activity("greet", [name])
        token = yield ctx.side_effect(lambda: "tok-1")
        yield ctx.sleep(1)
        yield ctx.wait_condition(self.approved_now, key="approval", timeout=30)
        a, b = yield [ctx.schedule_activity("a", []), ctx.schedule_activity("b", [])]
        return {"greeting": greeting, "token": token, "a": a, "b": b, "bumps": self.bumps}


FINGERPRINT = predicate_fingerprint(Demo().approved_now)


def task(events: list[dict[str, Any]], update_id: str | None = None) -> list[dict[str, Any]]:
    return run_workflow_task(
        Demo,
        history_events=events,
        start_input=["Ada"],
        workflow_id="wf-1",
        run_id="run-1",
        workflow_type="demo",
        task_queue="q",
        update_id=update_id,
    )


def wait_opened(seq: int, wait_id: str) -> dict[str, Any]:
    return {
        "sequence": seq,
        "condition_wait_id": wait_id,
        "condition_key": "approval",
        "condition_definition_fingerprint": FINGERPRINT,
        "timeout_seconds": 30,
    }


def cond_timer(seq: int, wait_id: str) -> dict[str, Any]:
    return {
        "sequence": seq,
        "timer_id": f"tm-{seq}",
        "delay_seconds": 30,
        "timer_kind": "condition_timeout",
        "condition_wait_id": wait_id,
    }


def test_worked_example_task_by_task() -> None:
    h = HistoryBuilder("demo", args=["Ada"])
    assert [c["type"] for c in task(h.events)] == ["schedule_activity"]

    h.activity(1, "greet", "hello Ada")
    commands = task(h.events)
    assert [c["type"] for c in commands] == ["record_side_effect", "start_timer"]
    assert commands[0]["result"] == codec.encode("tok-1")  # a bare blob
    assert commands[1]["delay_seconds"] == 1

    h.add("SideEffectRecorded", sequence=2, result=commands[0]["result"])
    h.add("TimerScheduled", sequence=3, timer_id="tm-3", delay_seconds=1)
    assert task(h.events) == []  # timer pending: waiting for history

    h.add("TimerFired", sequence=3, timer_id="tm-3", delay_seconds=1)
    commands = task(h.events)
    assert commands == [
        {
            "type": "open_condition_wait",
            "condition_key": "approval",
            "condition_definition_fingerprint": FINGERPRINT,
            "timeout_seconds": 30,
        }
    ]

    h.add("ConditionWaitOpened", **wait_opened(4, "cw-1"))
    h.add("TimerScheduled", **cond_timer(4, "cw-1"))
    h.add("UpdateAccepted", update_id="upd-1", update_name="bump", arguments=codec.envelope([]))
    commands = task(h.events, update_id="upd-1")
    assert commands == [
        {"type": "complete_update", "update_id": "upd-1", "result": codec.envelope(1)}
    ]

    h.add(
        "UpdateApplied",
        update_id="upd-1",
        update_name="bump",
        arguments=codec.envelope([]),
        sequence=4,
    )
    h.add(
        "UpdateCompleted",
        update_id="upd-1",
        update_name="bump",
        result=codec.envelope(1),
        sequence=4,
    )
    # The follow-up regular task re-opens the wait: the update did not satisfy it.
    assert [c["type"] for c in task(h.events)] == ["open_condition_wait"]

    h.add("ConditionWaitSatisfied", sequence=4, condition_wait_id="cw-1")
    h.add("TimerCancelled", **cond_timer(4, "cw-1"))
    h.add("ConditionWaitOpened", **wait_opened(5, "cw-2"))
    h.add("TimerScheduled", **cond_timer(5, "cw-2"))
    h.signal("approve", "bob", workflow_sequence=5)
    commands = task(h.events)
    assert [c["activity_type"] for c in commands] == ["a", "b"]
    assert [c["parallel_group_id"] for c in commands] == ["parallel-activities:6:2"] * 2
    assert (
        commands[1]["parallel_group_path"]
        == group_meta("parallel-activities", "activity", 6, 2, 1)["parallel_group_path"]
    )

    h.add("ConditionWaitSatisfied", sequence=5, condition_wait_id="cw-2")
    h.add("TimerCancelled", **cond_timer(5, "cw-2"))
    h.add(
        "ActivityScheduled",
        sequence=6,
        activity_type="a",
        **group_meta("parallel-activities", "activity", 6, 2, 0),
    )
    h.add(
        "ActivityScheduled",
        sequence=7,
        activity_type="b",
        **group_meta("parallel-activities", "activity", 6, 2, 1),
    )
    # Nothing resolved yet: the group is re-sent in full with identical metadata.
    assert task(h.events) == commands

    h.add(
        "ActivityCompleted",
        sequence=7,
        activity_type="b",
        result=codec.envelope("B"),
        **group_meta("parallel-activities", "activity", 6, 2, 1),
    )
    assert task(h.events) == commands

    h.add(
        "ActivityCompleted",
        sequence=6,
        activity_type="a",
        result=codec.envelope("A"),
        **group_meta("parallel-activities", "activity", 6, 2, 0),
    )
    commands = task(h.events)
    assert len(commands) == 1 and commands[0]["type"] == "complete_workflow"
    assert codec.decode_envelope(commands[0]["result"]) == {
        "greeting": "hello Ada",
        "token": "tok-1",
        "a": "A",
        "b": "B",
        "bumps": 1,
    }

    # The closed history (with WorkflowCompleted) still replays to the same command.
    h.add("WorkflowCompleted", output=commands[0]["result"], payload_codec="avro")
    assert task(h.events) == commands
