"""Workflow authoring: decorators, the context, commands and the replayer.

A workflow is a class registered with :func:`defn` whose ``run(self, ctx, *args)`` is a
generator yielding commands built by :class:`WorkflowContext`. The replayer drives it against
the run's history on every workflow task; yield a list of commands to run them in parallel.
"""

from ..retry_policy import ActivityRetryPolicy, ChildWorkflowRetryPolicy, TransportRetryPolicy
from ._commands import (
    Command,
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
    commands_to_server_commands,
)
from ._context import WorkflowContext
from ._definition import (
    WorkflowDefinition,
    defn,
    get_definition,
    query,
    registry,
    signal,
    update,
    update_validator,
)
from .replay import Replayer, ReplayOutcome, apply_update, query_state, replay, run_workflow_task

__all__ = [
    "ActivityRetryPolicy",
    "ChildWorkflowRetryPolicy",
    "Command",
    "CompleteUpdate",
    "CompleteWorkflow",
    "ContinueAsNew",
    "FailUpdate",
    "FailWorkflow",
    "RecordSideEffect",
    "RecordVersionMarker",
    "ReplayOutcome",
    "Replayer",
    "ScheduleActivity",
    "StartChildWorkflow",
    "StartTimer",
    "TransportRetryPolicy",
    "UpsertSearchAttributes",
    "WaitCondition",
    "WorkflowContext",
    "WorkflowDefinition",
    "apply_update",
    "commands_to_server_commands",
    "defn",
    "get_definition",
    "query",
    "query_state",
    "registry",
    "replay",
    "run_workflow_task",
    "signal",
    "update",
    "update_validator",
]
