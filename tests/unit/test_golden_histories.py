"""Replay the official SDK's golden histories and replay regressions (shared/golden-histories).

Each history was recorded by software outside this project; the workflow classes below are
written to match what each history records. A history expected to be rejected must be.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from durable_workflow import workflow
from durable_workflow.errors import ActivityFailed, ChildWorkflowFailed, WorkflowPayloadDecodeError
from durable_workflow.workflow import (
    CompleteWorkflow,
    Replayer,
    ReplayOutcome,
    ScheduleActivity,
    WorkflowContext,
    commands_to_server_commands,
)

GOLDEN_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "golden-histories"

pytestmark = pytest.mark.skipif(
    not GOLDEN_DIR.is_dir(),
    reason=f"golden histories not found at {GOLDEN_DIR} (../shared next to the repo)",
)

Gen = Generator[Any, Any, Any]


@workflow.defn(name="golden.single-activity")
class SingleActivity:
    def run(self, ctx: WorkflowContext, name: str) -> Gen:
        return (yield ctx.schedule_activity("golden.greet", [name]))


@workflow.defn(name="golden.signal-wait")
class SignalWait:
    def __init__(self) -> None:
        self.approved_by: str | None = None

    @workflow.signal("approve")
    def approve(self, by: str) -> None:
        self.approved_by = by

    def run(self, ctx: WorkflowContext) -> Gen:
        yield ctx.wait_condition(lambda: self.approved_by is not None, key="approval", timeout=30)
        notified = yield ctx.schedule_activity("golden.notify", [self.approved_by])
        return {"approved_by": self.approved_by, "activity_result": notified}


@workflow.defn(name="golden.timeout-wait")
class TimeoutWait:
    def __init__(self) -> None:
        self.approved = False

    def run(self, ctx: WorkflowContext) -> Gen:
        approved = yield ctx.wait_condition(lambda: self.approved, key="approval", timeout=5)
        return "approved" if approved else "timed-out"


@workflow.defn(name="golden.version-marker")
class VersionMarker:
    def run(self, ctx: WorkflowContext) -> Gen:
        version = yield ctx.get_version("golden-version", 1, 2)
        path = "golden.version-new-path" if version >= 2 else "golden.version-old-path"
        return (yield ctx.schedule_activity(path, []))


@workflow.defn(name="golden.saga-compensation")
class SagaCompensation:
    def run(self, ctx: WorkflowContext, order_id: str) -> Gen:
        reservation = yield ctx.schedule_activity("golden.reserve-inventory", [order_id])
        try:
            yield ctx.start_child_workflow("golden.payment", [order_id, reservation])
        except ChildWorkflowFailed as failure:
            yield ctx.schedule_activity(
                "golden.release-inventory", [order_id, reservation, failure.message]
            )
            return "compensated"
        return "paid"


@workflow.defn(name="tests.replay.parallel-metadata-producer")
class ParallelMetadataProducer:
    def run(self, ctx: WorkflowContext) -> Gen:
        return (
            yield [
                ctx.schedule_activity("producer.activity", []),
                ctx.start_child_workflow("producer.child", []),
                ctx.start_timer(1),
            ]
        )


@workflow.defn(name="tests.replay.parallel-result-binding")
class ParallelResultBinding:
    def run(self, ctx: WorkflowContext) -> Gen:
        results = yield [
            ctx.schedule_activity("position-first", []),
            ctx.schedule_activity("position-second", []),
        ]
        return {"results": results}


@workflow.defn(name="tests.replay.update-signal-condition-timer")
class UpdateSignalConditionTimer:
    def __init__(self) -> None:
        self.message: str | None = None
        self.signal_marker: str | None = None
        self.finish_result: Any = None

    @workflow.update("set_message")
    def set_message(self, message: str) -> dict[str, str]:
        self.message = message
        return {"message": message}

    @workflow.signal("condition_ready")
    def condition_ready(self, marker: str) -> None:
        self.signal_marker = marker

    @workflow.signal("finish")
    def finish(self, result: Any) -> None:
        self.finish_result = result

    def run(self, ctx: WorkflowContext) -> Gen:
        yield ctx.sleep(1)
        successful = yield ctx.schedule_activity("successful", [])
        failure_type = None
        try:
            yield ctx.schedule_activity("non-retryable-failure", [])
        except ActivityFailed as failure:
            failure_type = failure.exception_type
        # Never true: the wait must end by its timeout even though update and signal arrive.
        completed = yield ctx.wait_condition(
            lambda: self.message == "never", key="update-and-signal", timeout=1
        )
        after = yield ctx.schedule_activity("after-condition", [])
        yield ctx.wait_condition(lambda: self.finish_result is not None, key="finish", timeout=30)
        return {
            "status": "completed",
            "successful": successful,
            "failure_type": failure_type,
            "message": self.message,
            "signal_marker": self.signal_marker,
            "condition_completed": completed,
            "after_condition": after,
            "result": self.finish_result,
        }


REPLAYER = Replayer(
    workflows=[
        SingleActivity,
        SignalWait,
        TimeoutWait,
        VersionMarker,
        SagaCompensation,
        ParallelMetadataProducer,
        ParallelResultBinding,
        UpdateSignalConditionTimer,
    ]
)


def _golden_cases() -> list[Any]:
    if not GOLDEN_DIR.is_dir():
        return []
    cases = []
    for path in sorted((GOLDEN_DIR / "golden_history").glob("*.json")):
        fixture = json.loads(path.read_text())
        codec = fixture["source"].get("payload_codec")
        for case in fixture["cases"]:
            cases.append(pytest.param(case, codec, id=f"{path.stem}:{case['name']}"))
    return cases


def _regressions() -> list[Any]:
    if not GOLDEN_DIR.is_dir():
        return []
    return [
        pytest.param(json.loads(path.read_text()), id=path.stem)
        for path in sorted((GOLDEN_DIR / "replay_regressions").glob("*.json"))
    ]


def test_every_fixture_file_is_covered() -> None:
    files = sorted(p.name for p in GOLDEN_DIR.glob("*/*.json"))
    assert len(files) == 13


@pytest.mark.parametrize(("case", "codec"), _golden_cases())
def test_golden_history(case: dict[str, Any], codec: str | None) -> None:
    outcome = REPLAYER.replay(
        case["history"],
        case["start_input"],
        workflow_type=case["workflow_type"],
        payload_codec=codec,
    )
    expected = case["expected"]
    assert len(outcome.commands) == 1
    command = outcome.commands[0]
    assert type(command).__name__ == expected["command_type"]
    if isinstance(command, CompleteWorkflow):
        assert command.result == expected["result"]
    else:
        assert isinstance(command, ScheduleActivity)
        assert command.activity_type == expected["activity_type"]
        assert command.arguments == expected["arguments"]


@pytest.mark.parametrize("fixture", _regressions())
def test_replay_regression(fixture: dict[str, Any]) -> None:
    spec = fixture["workflow"]
    expected = fixture["expected"]

    def replay() -> ReplayOutcome:
        return REPLAYER.replay(
            fixture["history"],
            spec.get("input"),
            workflow_type=spec["type"],
            payload_codec=spec.get("payload_codec"),
        )

    if "error" in expected:
        with pytest.raises(WorkflowPayloadDecodeError, match=expected["error"]):
            replay()
        return
    outcome = replay()
    wire = commands_to_server_commands(outcome.commands, "golden-queue")
    if "command_sequence" in expected:
        assert len(wire) == len(expected["command_sequence"])
        for actual, wanted in zip(wire, expected["command_sequence"], strict=True):
            assert {k: actual.get(k) for k in wanted} == wanted
        return
    assert [c["type"] for c in wire] == [expected.get("type", "complete_workflow")]
    command = outcome.commands[0]
    assert isinstance(command, CompleteWorkflow)
    assert command.result == expected["result"]
