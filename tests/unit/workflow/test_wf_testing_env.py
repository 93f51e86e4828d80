"""Seed 001's testing examples, run as written, plus the harness's loud failures."""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from durable_workflow import workflow
from durable_workflow.errors import ActivityFailed, NonDeterministicReplayError, WorkflowFailed
from durable_workflow.testing import WorkflowEnvironment, replay_history, replay_history_file
from durable_workflow.workflow import CompleteWorkflow, WorkflowContext

Gen = Generator[Any, Any, Any]


@workflow.defn(name="greeter")
class Greeter:
    def run(self, ctx, name: str):  # type: ignore[no-untyped-def]
        greeting = yield ctx.schedule_activity("greet", [name])
        return greeting


def test_greeter_returns_activity_result() -> None:
    env = WorkflowEnvironment()
    env.register_activity_result("greet", "hello, world")

    result = env.execute_workflow(Greeter, "world")

    assert result == "hello, world"


def test_callable_mock_captures_arguments() -> None:
    captured: list[str] = []

    def record_greet(name: str) -> str:
        captured.append(name)
        return f"greeted:{name}"

    env = WorkflowEnvironment()
    env.register_activity("greet", record_greet)

    assert env.execute_workflow(Greeter, "alice") == "greeted:alice"
    assert captured == ["alice"]


@workflow.defn(name="approval")
class Approval:
    def __init__(self) -> None:
        self.approved_by: str | None = None

    @workflow.signal("approve")
    def on_approve(self, by: str) -> None:
        self.approved_by = by

    def run(self, ctx):  # type: ignore[no-untyped-def]
        yield ctx.schedule_activity("wait", [])
        return {"approved_by": self.approved_by}


def test_signal_is_delivered_before_run_returns() -> None:
    env = WorkflowEnvironment()
    env.register_activity_result("wait", None)
    env.signal("approve", ["alice"])

    result = env.execute_workflow(Approval)

    assert result == {"approved_by": "alice"}


@workflow.defn(name="countdown")
class Countdown:
    def run(self, ctx, counter: int):  # type: ignore[no-untyped-def]
        yield ctx.schedule_activity("emit", [counter])
        if counter > 0:
            return ctx.continue_as_new(counter - 1)
        return {"final_counter": counter}


def test_chain_returns_final_run_result() -> None:
    env = WorkflowEnvironment()
    env.register_activity_result("emit", None)

    result = env.execute_workflow(Countdown, 3)

    assert result == {"final_counter": 0}
    assert env.run_count == 4
    assert [r.input for r in env.runs] == [[3], [2], [1], [0]]


@workflow.defn(name="stage-one")
class StageOne:
    def run(self, ctx):  # type: ignore[no-untyped-def]
        yield ctx.schedule_activity("stage_one", [])
        return ctx.continue_as_new(workflow_type="stage-two")


@workflow.defn(name="stage-two")
class StageTwo:
    def run(self, ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.schedule_activity("stage_two", []))


def test_chain_can_switch_workflow_type() -> None:
    env = WorkflowEnvironment()
    env.register_workflow(StageTwo)
    env.register_activity_result("stage_one", None)
    env.register_activity_result("stage_two", "done")

    assert env.execute_workflow(StageOne) == "done"
    assert [r.workflow_type for r in env.runs] == ["stage-one", "stage-two"]


@workflow.defn(name="failing")
class Failing:
    def run(self, ctx):  # type: ignore[no-untyped-def]
        yield ctx.schedule_activity("step", [])
        raise RuntimeError("boom")


def test_workflow_failure_surfaces_as_workflow_failed() -> None:
    env = WorkflowEnvironment()
    env.register_activity_result("step", None)

    with pytest.raises(WorkflowFailed) as exc_info:
        env.execute_workflow(Failing)

    assert "boom" in str(exc_info.value)


# -- beyond the seed examples -----------------------------------------------------------


@workflow.defn(name="env.everything")
class Everything:
    def __init__(self) -> None:
        self.ready = False

    @workflow.signal("ready")
    def on_ready(self) -> None:
        self.ready = True

    def run(self, ctx: WorkflowContext, n: int) -> Gen:
        yield ctx.sleep(3600)  # costs no wall time
        token = yield ctx.side_effect(lambda: "tok")
        version = yield ctx.get_version("change", 1, 2)
        yield ctx.upsert_search_attributes({"stage": "fanout"})
        doubled = yield [ctx.schedule_activity("double", [i]) for i in range(n)]
        child = yield ctx.start_child_workflow("kid", [n])
        timed_out = not (yield ctx.wait_condition(lambda: self.ready, key="never", timeout=5))
        ready = yield ctx.wait_condition(lambda: self.ready, key="ready", timeout=60)
        try:
            yield ctx.schedule_activity("explode", [])
        except ActivityFailed as failure:
            error = failure.exception_type
        return [token, version, doubled, child, timed_out, ready, error]


def test_environment_runs_every_command_kind() -> None:
    env = WorkflowEnvironment()
    env.register_activity("double", lambda i: i * 2)
    env.register_child_workflow_result("kid", "child-done")

    def explode() -> None:
        raise ValueError("kaboom")

    env.register_activity("explode", explode)
    env.signal("ready", [], run=1)
    # The signal is delivered before the first replay, so the 5 s wait is already satisfied...
    result = env.execute_workflow(Everything, 3)
    assert result == ["tok", 2, [0, 2, 4], "child-done", False, True, "ValueError"]

    # ...and without it the first wait times out and the second blocks until its timeout.
    env = WorkflowEnvironment()
    env.register_activity("double", lambda i: i * 2)
    env.register_child_workflow_result("kid", "child-done")
    env.register_activity("explode", explode)
    result = env.execute_workflow(Everything, 2)
    assert result == ["tok", 2, [0, 2], "child-done", True, False, "ValueError"]

    history = env.runs[0].history_events
    # The recorded chain replays cleanly with the production replayer.
    outcome = replay_history(Everything, history, [2], run_id="test-run")
    assert isinstance(outcome.commands[0], CompleteWorkflow)


def test_missing_mocks_and_limits_fail_loudly() -> None:
    env = WorkflowEnvironment()
    with pytest.raises(KeyError, match="greet"):
        env.execute_workflow(Greeter, "x")

    @workflow.defn(name="env.child-missing")
    class ChildMissing:
        def run(self, ctx: WorkflowContext) -> Gen:
            return (yield ctx.start_child_workflow("ghost", []))

    with pytest.raises(KeyError, match="ghost"):
        WorkflowEnvironment().execute_workflow(ChildMissing)

    @workflow.defn(name="env.forever")
    class Forever:
        def run(self, ctx: WorkflowContext) -> Gen:
            while True:
                yield ctx.sleep(1)

    with pytest.raises(RuntimeError, match="iteration_limit=5"):
        WorkflowEnvironment(iteration_limit=5).execute_workflow(Forever)

    @workflow.defn(name="env.loop")
    class Loop:
        def run(self, ctx: WorkflowContext) -> Any:
            return ctx.continue_as_new()

    with pytest.raises(RuntimeError, match="continue_as_new_limit=3"):
        WorkflowEnvironment(continue_as_new_limit=3).execute_workflow(Loop)

    @workflow.defn(name="env.stuck")
    class Stuck:
        def run(self, ctx: WorkflowContext) -> Gen:
            yield ctx.wait_condition(lambda: False)

    with pytest.raises(RuntimeError, match="no timeout"):
        WorkflowEnvironment().execute_workflow(Stuck)


def test_signal_targets_a_run_of_the_chain() -> None:
    @workflow.defn(name="env.chain-signal")
    class ChainSignal:
        def __init__(self) -> None:
            self.got: list[str] = []

        @workflow.signal("note")
        def note(self, text: str) -> None:
            self.got.append(text)

        def run(self, ctx: WorkflowContext, left: int) -> Gen:
            yield ctx.sleep(1)
            if left:
                return ctx.continue_as_new(left - 1)
            return self.got

    env = WorkflowEnvironment()
    env.signal("note", ["for-run-2"], run=2)
    assert env.execute_workflow(ChainSignal, 1) == ["for-run-2"]
    env = WorkflowEnvironment()
    env.signal("note", ["for-run-2"], run=2)
    assert env.execute_workflow(ChainSignal, 0) == []  # run 2 never happens
    env = WorkflowEnvironment()
    env.signal("note", ["last"], run=2)
    env.signal("note", ["first"], run=1)
    assert env.execute_workflow(ChainSignal, 1) == ["last"]


def test_replay_history_and_file(tmp_path: Path) -> None:
    env = WorkflowEnvironment()
    env.register_activity_result("greet", "hi")
    env.execute_workflow(Greeter, "Ada")
    events = env.runs[0].history_events

    outcome = replay_history(Greeter, events)  # input inferred from WorkflowStarted
    assert outcome.commands == [CompleteWorkflow("hi")]

    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(events))
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"events": events}))
    assert replay_history_file(Greeter, listed).commands == [CompleteWorkflow("hi")]
    assert replay_history_file(Greeter, wrapped, ["Ada"]).commands == [CompleteWorkflow("hi")]

    @workflow.defn(name="greeter-changed")
    class GreeterChanged:
        def run(self, ctx: WorkflowContext, name: str) -> Gen:
            return (yield ctx.schedule_activity("welcome", [name]))

    with pytest.raises(NonDeterministicReplayError, match="'greet'"):
        replay_history(GreeterChanged, events)
