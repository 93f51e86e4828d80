"""Replay semantics (history-events.md §3): results, pending work, failures, markers, divergence."""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Generator
from datetime import UTC, datetime
from typing import Any

import pytest

from durable_workflow import workflow
from durable_workflow.errors import (
    ActivityFailed,
    ChildWorkflowCancelled,
    ChildWorkflowFailed,
    NonDeterministicReplayError,
    WorkflowPayloadDecodeError,
)
from durable_workflow.protocol import codec
from durable_workflow.workflow import (
    CompleteWorkflow,
    FailWorkflow,
    RecordSideEffect,
    RecordVersionMarker,
    Replayer,
    ScheduleActivity,
    WorkflowContext,
    replay,
    run_workflow_task,
)

from .wf_events import STARTED_AT, HistoryBuilder

Gen = Generator[Any, Any, Any]


def task(
    cls: type, events: list[dict[str, Any]], start_input: list[Any] | None = None
) -> list[dict[str, Any]]:
    return run_workflow_task(
        cls,
        history_events=events,
        start_input=start_input or [],
        workflow_id="wf-1",
        run_id="run-1",
        workflow_type=workflow.get_definition(cls).name,
        task_queue="q",
    )


@workflow.defn(name="r.single")
class Single:
    def run(self, ctx: WorkflowContext, name: str) -> Gen:
        result = yield ctx.schedule_activity("greet", [name])  # YIELD-LINE
        return result


YIELD_LINE = next(
    i
    for i, line in enumerate(inspect.getsource(inspect.getmodule(Single)).splitlines(), 1)
    if "YIELD-LINE" in line
)  # type: ignore[arg-type]


def test_first_task_pending_and_completion() -> None:
    h = HistoryBuilder("r.single", args=["Ada"])
    assert task(Single, h.events, ["Ada"]) == [
        {
            "type": "schedule_activity",
            "activity_type": "greet",
            "queue": "q",
            "arguments": codec.envelope(["Ada"]),
        }
    ]
    h.add("ActivityScheduled", sequence=1, activity_type="greet")
    h.add("ActivityStarted", sequence=1, activity_type="greet")
    assert task(Single, h.events, ["Ada"]) == []
    h.add("ActivityCompleted", sequence=1, activity_type="greet", result=codec.envelope("hi"))
    assert task(Single, h.events, ["Ada"]) == [
        {"type": "complete_workflow", "result": codec.envelope("hi")}
    ]


def test_non_determinism_names_sequence_yield_history_and_location() -> None:
    h = HistoryBuilder("r.single").activity(4, "welcome", "hi")
    with pytest.raises(NonDeterministicReplayError) as info:
        task(Single, h.events, ["Ada"])
    err = info.value
    text = str(err)
    assert err.workflow_sequence == 4
    assert err.expected_shape == "activity 'greet'"
    assert err.recorded_event_types == ["ActivityScheduled", "ActivityCompleted"]
    assert "'welcome'" in text
    assert f"{__file__}:{YIELD_LINE}" in text


def test_kind_mismatch_and_timer_delay_mismatch() -> None:
    h = HistoryBuilder("r.single").timer(1, 5)
    with pytest.raises(NonDeterministicReplayError, match="timer step"):
        task(Single, h.events, ["Ada"])

    @workflow.defn(name="r.sleeper")
    class Sleeper:
        def run(self, ctx: WorkflowContext) -> Gen:
            yield ctx.sleep(10)

    with pytest.raises(NonDeterministicReplayError, match="delay_seconds"):
        task(Sleeper, HistoryBuilder("r.sleeper").timer(1, 5).events)


def test_leftover_recorded_operations_fail_completion() -> None:
    h = HistoryBuilder("r.single").activity(1, "greet", "hi").activity(2, "extra", "x")
    with pytest.raises(NonDeterministicReplayError, match="workflow completion") as info:
        task(Single, h.events, ["Ada"])
    assert info.value.workflow_sequence == 2


@workflow.defn(name="r.failures")
class Failures:
    def run(self, ctx: WorkflowContext, catch: bool) -> Gen:
        try:
            yield ctx.schedule_activity("charge", [])
        except ActivityFailed as failure:
            if not catch:
                raise
            return {
                k: getattr(failure, k)
                for k in (
                    "message",
                    "activity_type",
                    "step_sequence",
                    "activity_execution_id",
                    "activity_attempt_id",
                    "failure_id",
                    "failure_category",
                    "exception_type",
                    "exception_class",
                    "non_retryable",
                    "code",
                )
            }
        return "unreachable"


def _failed_history(event_type: str = "ActivityFailed") -> HistoryBuilder:
    h = HistoryBuilder("r.failures")
    h.add("ActivityScheduled", sequence=1, activity_type="charge")
    return h.add(
        event_type,
        sequence=1,
        activity_type="charge",
        message="card declined",
        exception_type="CardDeclined",
        exception_class="billing.CardDeclined",
        non_retryable=True,
        code="E42",
        activity_execution_id="ae-1",
        activity_attempt_id="at-1",
        failure_id="f-1",
        failure_category="application",
    )


def test_activity_failure_is_thrown_into_the_workflow() -> None:
    outcome = replay(Failures, _failed_history().events, [True])
    assert outcome.commands == [
        CompleteWorkflow(
            {
                "message": "card declined",
                "activity_type": "charge",
                "step_sequence": 1,
                "activity_execution_id": "ae-1",
                "activity_attempt_id": "at-1",
                "failure_id": "f-1",
                "failure_category": "application",
                "exception_type": "CardDeclined",
                "exception_class": "billing.CardDeclined",
                "non_retryable": True,
                "code": "E42",
            }
        )
    ]
    timed_out = replay(Failures, _failed_history("ActivityTimedOut").events, [True]).commands[0]
    assert (
        isinstance(timed_out, CompleteWorkflow)
        and timed_out.result["exception_type"] == "CardDeclined"
    )


def test_uncaught_activity_failure_fails_the_workflow() -> None:
    assert task(Failures, _failed_history().events, [False]) == [
        {
            "type": "fail_workflow",
            "message": "card declined",
            "exception_type": "CardDeclined",
            "exception_class": "billing.CardDeclined",
            "exception": {
                "type": "CardDeclined",
                "class": "billing.CardDeclined",
                "message": "card declined",
                "activity_type": "charge",
                "activity_attempt_id": "at-1",
            },
            "failed_step_sequence": 1,
            "failed_activity_execution_id": "ae-1",
        }
    ]


class PlanError(Exception):
    pass


def test_exceptions_and_plain_returns() -> None:
    @workflow.defn(name="r.raises")
    class Raises:
        def run(self, ctx: WorkflowContext) -> Gen:
            yield ctx.side_effect(lambda: 1)
            raise PlanError("bad plan")

    assert task(Raises, HistoryBuilder("r.raises").events)[-1] == {
        "type": "fail_workflow",
        "message": "bad plan",
        "exception_type": "PlanError",
        "exception_class": f"{__name__}.PlanError",
    }

    @workflow.defn(name="r.plain")
    class Plain:
        def run(self, ctx: WorkflowContext, x: int) -> int:
            return x + 1

    assert replay(Plain, HistoryBuilder("r.plain", args=[41]).events).commands == [
        CompleteWorkflow(42)
    ]

    @workflow.defn(name="r.bad-yield")
    class BadYield:
        def run(self, ctx: WorkflowContext) -> Gen:
            yield ctx.continue_as_new()

    failed = replay(BadYield, HistoryBuilder("r.bad-yield").events).commands[0]
    assert isinstance(failed, FailWorkflow) and failed.exception_type == "TypeError"

    @workflow.defn(name="r.unencodable")
    class Unencodable:
        def run(self, ctx: WorkflowContext) -> Any:
            return object()

    [command] = task(Unencodable, HistoryBuilder("r.unencodable").events)
    assert command["type"] == "fail_workflow" and command["exception_type"] == "PayloadEncodeError"


def test_child_failures_and_continue_as_new() -> None:
    @workflow.defn(name="r.parent")
    class Parent:
        def run(self, ctx: WorkflowContext) -> Any:
            try:
                yield ctx.start_child_workflow("kid", [1], parent_close_policy="terminate")
            except ChildWorkflowFailed as failure:
                return ctx.continue_as_new(
                    type(failure).__name__,
                    failure.message,
                    failure.exception_class,
                    failure.child_workflow_run_id,
                )

    h = HistoryBuilder("r.parent")
    h.add(
        "ChildWorkflowScheduled", sequence=1, workflow_type="kid", parent_close_policy="terminate"
    )
    h.add("ChildRunStarted", sequence=1, workflow_type="kid", parent_close_policy="terminate")
    assert task(Parent, h.events) == []
    h.add(
        "ChildRunCancelled",
        sequence=1,
        child_workflow_run_id="run-k",
        exception={"message": "stop", "class": "X"},
    )
    assert task(Parent, h.events) == [
        {
            "type": "continue_as_new",
            "queue": "q",
            "arguments": codec.envelope(["ChildWorkflowCancelled", "stop", "X", "run-k"]),
        }
    ]
    assert issubclass(ChildWorkflowCancelled, ChildWorkflowFailed)

    wrong_policy = HistoryBuilder("r.parent")
    wrong_policy.add("ChildWorkflowScheduled", sequence=1, workflow_type="kid")
    wrong_policy.add(
        "ChildRunCompleted", sequence=1, workflow_type="kid", parent_close_policy="abandon"
    )
    with pytest.raises(NonDeterministicReplayError, match="parent_close_policy"):
        task(Parent, wrong_policy.events)


def test_side_effect_runs_once_then_replays() -> None:
    calls: list[int] = []

    @workflow.defn(name="r.side-effect")
    class SideEffect:
        def run(self, ctx: WorkflowContext) -> Gen:
            value = yield ctx.side_effect(lambda: calls.append(1) or (7, "x"))
            yield ctx.sleep(1)
            return value

    h = HistoryBuilder("r.side-effect")
    first = replay(SideEffect, h.events).commands
    assert calls == [1]
    assert isinstance(first[0], RecordSideEffect) and first[0].result == [
        7,
        "x",
    ]  # what replays decode
    h.add("SideEffectRecorded", sequence=1, result=codec.encode([7, "x"])).timer(2, 1)
    assert replay(SideEffect, h.events).commands == [CompleteWorkflow([7, "x"])]
    assert calls == [1]


@workflow.defn(name="r.versions")
class Versions:
    def run(self, ctx: WorkflowContext) -> Gen:
        version = yield ctx.get_version("algo", -1, 2)
        patched = yield ctx.patched("fix")
        yield ctx.deprecate_patch("old")
        yield ctx.upsert_search_attributes({"v": version})
        result = yield ctx.schedule_activity("work", [version, patched])
        return result


def test_version_markers_new_replayed_and_legacy() -> None:
    h = HistoryBuilder("r.versions")
    commands = task(Versions, h.events)
    assert [c["type"] for c in commands] == [
        "record_version_marker",
        "record_version_marker",
        "record_version_marker",
        "upsert_search_attributes",
        "schedule_activity",
    ]
    assert commands[0] == {
        "type": "record_version_marker",
        "change_id": "algo",
        "version": 2,
        "min_supported": -1,
        "max_supported": 2,
    }
    assert commands[1]["version"] == 1 and commands[1]["min_supported"] == -1
    assert codec.decode_envelope(commands[4]["arguments"]) == [2, True]

    h.add(
        "VersionMarkerRecorded",
        sequence=1,
        change_id="algo",
        version=1,
        min_supported=-1,
        max_supported=1,
    )
    h.add(
        "VersionMarkerRecorded",
        sequence=2,
        change_id="fix",
        version=1,
        min_supported=-1,
        max_supported=1,
    )
    h.add(
        "VersionMarkerRecorded",
        sequence=3,
        change_id="old",
        version=1,
        min_supported=-1,
        max_supported=1,
    )
    h.add("SearchAttributesUpserted", sequence=4, attributes={"v": 1})
    h.activity(5, "work", "done")
    assert replay(Versions, h.events).commands == [CompleteWorkflow("done")]

    legacy = HistoryBuilder("r.versions").activity(1, "work", "old-done")
    # The run passed these points before the markers existed: -1 / False, and nothing is recorded.
    with pytest.raises(NonDeterministicReplayError, match="search attribute upsert"):
        replay(Versions, legacy.events)

    @workflow.defn(name="r.versions-legacy")
    class Legacy:
        def run(self, ctx: WorkflowContext) -> Gen:
            version = yield ctx.get_version("algo", -1, 2)
            patched = yield ctx.patched("fix")
            result = yield ctx.schedule_activity("work", [version, patched])
            strict = yield ctx.get_version("later", 1, 1)
            return [result, version, patched, strict]

    legacy = HistoryBuilder("r.versions-legacy").activity(1, "work", "old-done")
    outcome = replay(Legacy, legacy.events).commands
    # The code after the recorded activity is new: it records its marker, then completes.
    assert outcome == [
        RecordVersionMarker("later", 1, 1, 1),
        CompleteWorkflow(["old-done", -1, False, 1]),
    ]

    @workflow.defn(name="r.versions-strict")
    class Strict:
        def run(self, ctx: WorkflowContext) -> Gen:
            yield ctx.get_version("algo", 2, 3)
            yield ctx.schedule_activity("work", [])

    with pytest.raises(NonDeterministicReplayError):
        replay(Strict, HistoryBuilder("r.versions-strict").activity(1, "work", None).events)
    out_of_range = HistoryBuilder("r.versions-strict")
    out_of_range.add(
        "VersionMarkerRecorded",
        sequence=1,
        change_id="algo",
        version=1,
        min_supported=1,
        max_supported=1,
    )
    with pytest.raises(NonDeterministicReplayError, match="outside the supported range"):
        replay(Strict, out_of_range.events)


def test_context_clock_randomness_and_ids() -> None:
    seen: list[Any] = []

    @workflow.defn(name="r.determinism")
    class Determinism:
        def run(self, ctx: WorkflowContext) -> Gen:
            seen.append(
                (
                    ctx.now(),
                    ctx.random().random(),
                    ctx.uuid4(),
                    ctx.uuid7(),
                    ctx.workflow_id,
                    ctx.run_id,
                )
            )
            yield ctx.sleep(1)

    h = HistoryBuilder("r.determinism")
    replay(Determinism, h.events, run_id="run-a")
    replay(Determinism, h.timer(1, 1).events, run_id="run-a")
    replay(Determinism, h.events, run_id="run-b")
    first, again, other = seen
    assert first == again
    assert first[1:4] != other[1:4]
    assert first[0] == datetime.fromisoformat(STARTED_AT) and first[0].tzinfo is not None
    assert first[0].tzinfo == UTC or first[0].utcoffset() is not None
    assert isinstance(first[2], uuid.UUID) and first[2].version == 4
    assert first[3].version == 7
    assert int(first[3].hex[:12], 16) == int(first[0].timestamp() * 1000)
    assert first[4:] == ("wf-1", "run-a")


def test_logger_is_silent_while_replaying(caplog: pytest.LogCaptureFixture) -> None:
    @workflow.defn(name="r.logging")
    class Logging:
        def run(self, ctx: WorkflowContext) -> Gen:
            ctx.logger.info("before")
            yield ctx.sleep(1)
            ctx.logger.info("after")
            yield ctx.sleep(2)

    h = HistoryBuilder("r.logging")
    with caplog.at_level(logging.INFO, logger="durable_workflow.workflow.replay"):
        replay(Logging, h.events)
        assert [r.getMessage() for r in caplog.records] == ["before"]
        caplog.clear()
        replay(Logging, h.timer(1, 1).events)
        assert [r.getMessage() for r in caplog.records] == ["after"]
    assert caplog.records[0].name == "durable_workflow.workflow.replay"


def test_json_payloads_of_old_histories_decode_on_read() -> None:
    h = HistoryBuilder("r.single")
    h.add("ActivityScheduled", sequence=1, activity_type="greet")
    h.add("ActivityCompleted", sequence=1, activity_type="greet", result='{"a": [1, 2]}')
    assert replay(Single, h.events, ["x"]).commands == [CompleteWorkflow({"a": [1, 2]})]
    assert replay(Single, h.events, ["x"], payload_codec="json").commands == [
        CompleteWorkflow({"a": [1, 2]})
    ]
    with pytest.raises(WorkflowPayloadDecodeError, match="invalid_payload_framing"):
        replay(Single, h.events, ["x"], payload_codec="avro")

    tagged = HistoryBuilder("r.single")
    tagged.add("ActivityCompleted", sequence=1, result={"codec": "json", "blob": '"hello"'})
    assert replay(Single, tagged.events, ["x"]).commands == [CompleteWorkflow("hello")]
    with pytest.raises(WorkflowPayloadDecodeError, match="unsupported_payload_codec"):
        replay(Single, tagged.events, ["x"], payload_codec="avro")
    odd = HistoryBuilder("r.single")
    odd.add("ActivityCompleted", sequence=1, result="abc", payload_codec="protobuf")
    with pytest.raises(WorkflowPayloadDecodeError, match="unsupported_payload_codec"):
        replay(Single, odd.events, ["x"])


def test_replayer_class() -> None:
    with pytest.raises(ValueError):
        Replayer(workflows=[])
    with pytest.raises(ValueError):
        Replayer(workflows=[Single, Single])
    replayer = Replayer(workflows=[Single, Failures])
    h = HistoryBuilder("r.single", args=["Ada"]).activity(1, "greet", "hi")
    assert replayer.replay(h.events).commands == [CompleteWorkflow("hi")]
    assert replayer.replay({"history_events": h.events}).commands == [CompleteWorkflow("hi")]
    renamed = [{"type": e["event_type"], "payload": e["payload"]} for e in h.events]
    assert replayer.replay({"events": renamed}).commands == [CompleteWorkflow("hi")]
    without_start = h.events[1:]
    with pytest.raises(ValueError, match="workflow_type"):
        replayer.replay(without_start, ["Ada"])
    assert replayer.replay(without_start, ["Ada"], workflow_type="r.single").commands == [
        CompleteWorkflow("hi")
    ]
    with pytest.raises(ValueError, match="not registered"):
        replayer.replay(h.events, workflow_type="nope")
    only = Replayer(workflows=[Single])
    assert only.replay(without_start, ["Ada"]).commands == [CompleteWorkflow("hi")]
    pending = only.replay(HistoryBuilder("r.single").events, ["Ada"])
    assert pending.commands == [ScheduleActivity("greet", ["Ada"])]
    assert pending.to_server_commands("q")[0]["queue"] == "q"
