"""Issue point 9 extras: free timers in the harness, and the non-determinism report of a
reordered workflow (sequence, recorded command, yielded command, source line)."""

from __future__ import annotations

import time

import pytest

from durable_workflow import workflow
from durable_workflow.errors import NonDeterministicReplayError
from durable_workflow.testing import WorkflowEnvironment, replay_history

THIRTY_DAYS = 30 * 24 * 3600


@workflow.defn(name="month-long")
class MonthLong:
    def __init__(self) -> None:
        self.approved_by: str | None = None

    @workflow.signal("approve")
    def approve(self, by: str) -> None:
        self.approved_by = by

    def run(self, ctx):  # type: ignore[no-untyped-def]
        yield ctx.sleep(THIRTY_DAYS)
        yield ctx.wait_condition(lambda: self.approved_by is not None)
        return {"approved_by": self.approved_by, "slept_until": ctx.now().isoformat()}


def test_thirty_day_sleep_then_signal_costs_no_wall_time() -> None:
    env = WorkflowEnvironment()
    env.signal("approve", ["ada"])
    started = time.perf_counter()
    result = env.execute_workflow(MonthLong)
    print(f"30-day sleep + signal took {time.perf_counter() - started:.4f} s of wall time")
    assert result["approved_by"] == "ada"
    kinds = [e["event_type"] for e in env.runs[0].history_events]
    assert "TimerFired" in kinds and "SignalReceived" in kinds
    fired = next(e for e in env.runs[0].history_events if e["event_type"] == "TimerFired")
    assert fired["payload"]["delay_seconds"] == THIRTY_DAYS


@workflow.defn(name="ordered")
class Ordered:
    def run(self, ctx):  # type: ignore[no-untyped-def]
        charged = yield ctx.schedule_activity("charge", [])
        shipped = yield ctx.schedule_activity("ship", [])
        return [charged, shipped]


@workflow.defn(name="ordered")
class Reordered:
    def run(self, ctx):  # type: ignore[no-untyped-def]
        shipped = yield ctx.schedule_activity("ship", [])  # swapped: a non-deterministic change
        charged = yield ctx.schedule_activity("charge", [])
        return [charged, shipped]


def test_reordered_activities_name_all_four_facts() -> None:
    env = WorkflowEnvironment()
    env.register_activity_result("charge", "charged")
    env.register_activity_result("ship", "shipped")
    assert env.execute_workflow(Ordered) == ["charged", "shipped"]
    history = env.runs[0].history_events

    replay_history(Ordered, history, [])  # the unchanged code still replays
    with pytest.raises(NonDeterministicReplayError) as info:
        replay_history(Reordered, history, [])
    err = info.value
    message = str(err)
    assert err.workflow_sequence == 1 and "workflow sequence 1" in message  # where
    assert "ActivityScheduled" in err.recorded_event_types and "'charge'" in message  # recorded
    assert "'ship'" in message  # what the code yielded instead
    assert f"{__file__}:" in message and "test_wf_model_harness.py:" in message  # source line
