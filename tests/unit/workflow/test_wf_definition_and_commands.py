"""Decorators, registry, command dataclasses, their wire form and retry policies."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from durable_workflow import workflow
from durable_workflow.protocol import codec
from durable_workflow.retry_policy import (
    ActivityRetryPolicy,
    ChildWorkflowRetryPolicy,
    TransportRetryPolicy,
)
from durable_workflow.workflow import (
    CompleteUpdate,
    CompleteWorkflow,
    ContinueAsNew,
    FailUpdate,
    FailWorkflow,
    RecordSideEffect,
    RecordVersionMarker,
    ScheduleActivity,
    StartChildWorkflow,
    StartTimer,
    UpsertSearchAttributes,
    WaitCondition,
    WorkflowContext,
    commands_to_server_commands,
)


@workflow.defn(name="defs.approval")
class ApprovalWorkflow:
    def __init__(self) -> None:
        self.approved = False

    @workflow.signal("approve")
    def approve(self, by: str) -> None:
        self.approved = True

    @workflow.query("status")
    def status(self) -> dict[str, bool]:
        return {"approved": self.approved}

    @workflow.update("set_approval")
    def set_approval(self, approved: bool) -> dict[str, bool]:
        self.approved = approved
        return {"approved": self.approved}

    @set_approval.validator  # type: ignore[attr-defined]
    def validate_set_approval(self, approved: bool) -> None:
        if not isinstance(approved, bool):
            raise ValueError("approved must be boolean")

    @workflow.update_validator("other")
    def validate_other(self) -> None:
        pass

    def run(self, ctx: WorkflowContext) -> Generator[Any, Any, Any]:
        yield ctx.wait_condition(lambda: self.approved)


def test_definition_tables_are_built_at_decoration() -> None:
    definition = workflow.get_definition(ApprovalWorkflow)
    assert definition.name == "defs.approval"
    assert definition.cls is ApprovalWorkflow
    assert dict(definition.signals) == {"approve": "approve"}
    assert dict(definition.queries) == {"status": "status"}
    assert dict(definition.updates) == {"set_approval": "set_approval"}
    assert dict(definition.update_validators) == {
        "set_approval": "validate_set_approval",
        "other": "validate_other",
    }


def test_registry_is_a_copy() -> None:
    reg = workflow.registry()
    assert reg["defs.approval"] is ApprovalWorkflow
    reg.clear()
    assert "defs.approval" in workflow.registry()


def test_undecorated_and_invalid_definitions() -> None:
    class Plain:
        def run(self, ctx: WorkflowContext) -> None:
            pass

    with pytest.raises(TypeError):
        workflow.get_definition(Plain)

    class Sub(ApprovalWorkflow):
        pass

    with pytest.raises(TypeError):
        workflow.get_definition(Sub)  # a subclass is not silently registered

    with pytest.raises(ValueError):
        workflow.defn(name="")
    with pytest.raises(ValueError):
        workflow.signal("")
    with pytest.raises(TypeError):

        @workflow.defn(name="defs.no-run")
        class NoRun:
            pass


def test_command_dataclass_signatures_match_the_reference() -> None:
    assert ScheduleActivity("a", [1]) == ScheduleActivity(
        "a", [1], None, None, None, None, None, None
    )
    assert StartTimer(5).delay_seconds == 5
    assert FailWorkflow("m") == FailWorkflow("m", None, False)
    assert FailUpdate("u", "m").non_retryable is True
    assert ContinueAsNew() == ContinueAsNew(None, [], None)
    assert StartChildWorkflow("c") == StartChildWorkflow("c", [], None, None, None, None, None)
    assert RecordVersionMarker("c", 1, 0, 1).result_kind == "version"
    assert WaitCondition(bool).timeout_seconds is None
    # Bookkeeping fields stay out of equality and repr.
    assert StartTimer(1, parallel_group={"parallel_group_index": 0}) == StartTimer(1)
    assert "parallel_group" not in repr(StartTimer(1))


def test_wire_shapes() -> None:
    commands = [
        ScheduleActivity(
            "charge",
            [1, "x"],
            retry_policy=ActivityRetryPolicy(
                max_attempts=4, initial_interval_seconds=1.5, maximum_interval_seconds=3
            ),
            start_to_close_timeout=10,
        ),
        ScheduleActivity(
            "other", [], queue="elsewhere", retry_policy={"max_attempts": 2, "custom": True}
        ),
        StartTimer(7),
        StartChildWorkflow(
            "kid", [1], parent_close_policy="terminate", execution_timeout_seconds=5
        ),
        RecordSideEffect({"k": 1}),
        RecordVersionMarker("chg", 1, -1, 1),
        UpsertSearchAttributes({"a": 1}),
        WaitCondition(bool, "k", "sha256:ab", 3),
        CompleteUpdate("u-1", {"ok": True}),
        FailUpdate("u-2", "bad", "ValueError", "builtins.ValueError"),
    ]
    wire = commands_to_server_commands(commands, "main-q")
    assert wire[0] == {
        "type": "schedule_activity",
        "activity_type": "charge",
        "queue": "main-q",
        "arguments": codec.envelope([1, "x"]),
        "retry_policy": {
            "max_attempts": 4,
            "backoff_seconds": [2, 3, 3],
            "non_retryable_error_types": [],
        },
        "start_to_close_timeout": 10,
    }
    assert wire[1]["queue"] == "elsewhere"
    assert wire[1]["retry_policy"] == {"max_attempts": 2, "custom": True}
    assert wire[2] == {"type": "start_timer", "delay_seconds": 7}
    assert wire[3] == {
        "type": "start_child_workflow",
        "workflow_type": "kid",
        "queue": "main-q",
        "arguments": codec.envelope([1]),
        "parent_close_policy": "terminate",
        "execution_timeout_seconds": 5,
    }
    assert wire[4] == {"type": "record_side_effect", "result": codec.encode({"k": 1})}
    assert wire[5] == {
        "type": "record_version_marker",
        "change_id": "chg",
        "version": 1,
        "min_supported": -1,
        "max_supported": 1,
    }
    assert wire[6] == {"type": "upsert_search_attributes", "attributes": {"a": 1}}
    assert wire[7] == {
        "type": "open_condition_wait",
        "condition_key": "k",
        "condition_definition_fingerprint": "sha256:ab",
        "timeout_seconds": 3,
    }
    assert wire[8] == {
        "type": "complete_update",
        "update_id": "u-1",
        "result": codec.envelope({"ok": True}),
    }
    assert wire[9] == {
        "type": "fail_update",
        "update_id": "u-2",
        "message": "bad",
        "exception_type": "ValueError",
        "exception_class": "builtins.ValueError",
        "non_retryable": True,
    }


def test_terminal_wire_shapes() -> None:
    complete, fail, fail_activity, can, can_typed = commands_to_server_commands(
        [
            CompleteWorkflow(None),
            FailWorkflow("boom", "RuntimeError", exception_class="builtins.RuntimeError"),
            FailWorkflow("x", "E", failed_step_sequence=3, failed_activity_execution_id="ae"),
            ContinueAsNew(arguments=[1]),
            ContinueAsNew("other", [], "q2"),
        ],
        "q",
    )
    assert complete == {"type": "complete_workflow", "result": codec.envelope(None)}
    assert fail == {
        "type": "fail_workflow",
        "message": "boom",
        "exception_type": "RuntimeError",
        "exception_class": "builtins.RuntimeError",
    }
    assert fail_activity["failed_step_sequence"] == 3
    assert fail_activity["failed_activity_execution_id"] == "ae"
    assert can == {"type": "continue_as_new", "queue": "q", "arguments": codec.envelope([1])}
    assert can_typed == {
        "type": "continue_as_new",
        "queue": "q2",
        "arguments": codec.envelope([]),
        "workflow_type": "other",
    }
    with pytest.raises(ValueError, match="unsupported_payload_codec"):
        commands_to_server_commands([], "q", payload_codec="json")


def test_retry_policies() -> None:
    assert ActivityRetryPolicy().to_dict() == {
        "max_attempts": 3,
        "backoff_seconds": [1, 2],
        "non_retryable_error_types": [],
    }
    policy = ChildWorkflowRetryPolicy(
        max_attempts=5,
        initial_interval_seconds=2,
        backoff_coefficient=3,
        non_retryable_error_types=["E"],
    )
    assert policy.to_dict() == {
        "max_attempts": 5,
        "backoff_seconds": [2, 6, 18, 54],
        "non_retryable_error_types": ["E"],
    }
    assert ActivityRetryPolicy(max_attempts=4, backoff_seconds=[0.5, 7]).to_dict()[
        "backoff_seconds"
    ] == [1, 7, 7]
    assert ActivityRetryPolicy(max_attempts=1).to_dict()["backoff_seconds"] == []
    with pytest.raises(ValueError):
        ActivityRetryPolicy(max_attempts=0)
    transport = TransportRetryPolicy()
    assert (
        transport.max_attempts,
        transport.initial_backoff_seconds,
        transport.max_backoff_seconds,
        transport.jitter,
    ) == (
        3,
        0.1,
        5.0,
        0.25,
    )
    assert transport.backoff(0) == pytest.approx(0.1)
    assert transport.backoff(10) == pytest.approx(5.0)
    assert transport.backoff(0, rand=0.0) == pytest.approx(0.075)


def test_context_builds_commands() -> None:
    ctx = WorkflowContext(run_id="r")
    assert ctx.sleep(1.2) == StartTimer(2)
    assert ctx.start_timer(0) == StartTimer(0)
    with pytest.raises(ValueError):
        ctx.sleep(-1)
    with pytest.raises(ValueError):
        ctx.schedule_activity("a", heartbeat_timeout=10, start_to_close_timeout=5)
    with pytest.raises(ValueError):
        ctx.schedule_activity("a", start_to_close_timeout=10, schedule_to_close_timeout=5)
    wait = ctx.wait_condition(lambda: True, key="k", timeout=2.5)
    assert wait.timeout_seconds == 3 and wait.condition_key == "k"
    assert wait.condition_definition_fingerprint is not None
    assert wait.condition_definition_fingerprint.startswith("sha256:")
    assert ctx.patched("p") == RecordVersionMarker("p", 1, -1, 1, "patched")
    assert ctx.get_version("v", 1, 3) == RecordVersionMarker("v", 3, 1, 3)
    assert ctx.continue_as_new(1, 2, workflow_type="t") == ContinueAsNew("t", [1, 2], None)
    child = ctx.start_child_workflow("kid", task_queue="q", run_timeout_seconds=1.5)
    assert child == StartChildWorkflow("kid", [], "q", None, None, None, 2)
