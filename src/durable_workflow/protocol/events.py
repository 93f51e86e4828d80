"""History event types: the one catalogue used by the engine (writer) and the replayer (reader).

Each constant is the wire ``event_type``. The groupings below drive both sides:
the engine decides which events wake a workflow, the replayer decides which
events resolve a yielded command.
"""

from __future__ import annotations

from typing import Final

# Run lifecycle
WORKFLOW_STARTED: Final = "WorkflowStarted"
WORKFLOW_COMPLETED: Final = "WorkflowCompleted"
WORKFLOW_FAILED: Final = "WorkflowFailed"
WORKFLOW_TIMED_OUT: Final = "WorkflowTimedOut"
WORKFLOW_CANCELLED: Final = "WorkflowCancelled"
WORKFLOW_TERMINATED: Final = "WorkflowTerminated"
WORKFLOW_CONTINUED_AS_NEW: Final = "WorkflowContinuedAsNew"
CANCEL_REQUESTED: Final = "CancelRequested"
TERMINATE_REQUESTED: Final = "TerminateRequested"

# Activities
ACTIVITY_SCHEDULED: Final = "ActivityScheduled"
ACTIVITY_STARTED: Final = "ActivityStarted"
ACTIVITY_COMPLETED: Final = "ActivityCompleted"
ACTIVITY_FAILED: Final = "ActivityFailed"
ACTIVITY_TIMED_OUT: Final = "ActivityTimedOut"
ACTIVITY_CANCELLED: Final = "ActivityCancelled"
ACTIVITY_RETRY_SCHEDULED: Final = "ActivityRetryScheduled"
ACTIVITY_HEARTBEAT_RECORDED: Final = "ActivityHeartbeatRecorded"

# Timers
TIMER_SCHEDULED: Final = "TimerScheduled"
TIMER_FIRED: Final = "TimerFired"
TIMER_CANCELLED: Final = "TimerCancelled"

# Child workflows
CHILD_WORKFLOW_SCHEDULED: Final = "ChildWorkflowScheduled"
CHILD_RUN_STARTED: Final = "ChildRunStarted"
CHILD_RUN_COMPLETED: Final = "ChildRunCompleted"
CHILD_RUN_FAILED: Final = "ChildRunFailed"
CHILD_RUN_CANCELLED: Final = "ChildRunCancelled"
CHILD_RUN_TERMINATED: Final = "ChildRunTerminated"

# Markers and metadata
SIDE_EFFECT_RECORDED: Final = "SideEffectRecorded"
VERSION_MARKER_RECORDED: Final = "VersionMarkerRecorded"
SEARCH_ATTRIBUTES_UPSERTED: Final = "SearchAttributesUpserted"
MEMO_UPSERTED: Final = "MemoUpserted"

# Condition waits
CONDITION_WAIT_OPENED: Final = "ConditionWaitOpened"
CONDITION_WAIT_SATISFIED: Final = "ConditionWaitSatisfied"
CONDITION_WAIT_TIMED_OUT: Final = "ConditionWaitTimedOut"

# Messages
SIGNAL_RECEIVED: Final = "SignalReceived"
UPDATE_ACCEPTED: Final = "UpdateAccepted"
UPDATE_APPLIED: Final = "UpdateApplied"
UPDATE_COMPLETED: Final = "UpdateCompleted"
UPDATE_REJECTED: Final = "UpdateRejected"

#: Events that close a run; ``get_result`` looks for the first five.
RESULT_EVENTS: Final = frozenset(
    {WORKFLOW_COMPLETED, WORKFLOW_FAILED, WORKFLOW_TIMED_OUT, WORKFLOW_CANCELLED, WORKFLOW_TERMINATED}
)
TERMINAL_EVENTS: Final = RESULT_EVENTS | {WORKFLOW_CONTINUED_AS_NEW}

#: Events that give a yielded command its value, consumed in history order by the replayer.
RESOLUTION_EVENTS: Final = frozenset(
    {
        ACTIVITY_COMPLETED,
        ACTIVITY_FAILED,
        ACTIVITY_TIMED_OUT,
        ACTIVITY_CANCELLED,
        TIMER_FIRED,
        CHILD_RUN_COMPLETED,
        CHILD_RUN_FAILED,
        CHILD_RUN_CANCELLED,
        CHILD_RUN_TERMINATED,
        SIDE_EFFECT_RECORDED,
        VERSION_MARKER_RECORDED,
        MEMO_UPSERTED,
        SEARCH_ATTRIBUTES_UPSERTED,
    }
)

#: Events that mark an operation as scheduled but not yet resolved.
PENDING_EVENTS: Final = frozenset(
    {ACTIVITY_SCHEDULED, ACTIVITY_STARTED, TIMER_SCHEDULED, CHILD_WORKFLOW_SCHEDULED, CHILD_RUN_STARTED}
)

ACTIVITY_TERMINAL_EVENTS: Final = frozenset(
    {ACTIVITY_COMPLETED, ACTIVITY_FAILED, ACTIVITY_TIMED_OUT, ACTIVITY_CANCELLED}
)
CHILD_TERMINAL_EVENTS: Final = frozenset(
    {CHILD_RUN_COMPLETED, CHILD_RUN_FAILED, CHILD_RUN_CANCELLED, CHILD_RUN_TERMINATED}
)

#: Timer kinds that belong to a wait and never consume a workflow sequence.
INTERNAL_TIMER_KINDS: Final = frozenset({"condition_timeout", "signal_timeout"})

#: Keys copied from a parallel-group member command onto each event of its operation.
PARALLEL_GROUP_KEYS: Final = (
    "parallel_group_id",
    "parallel_group_kind",
    "parallel_group_base_sequence",
    "parallel_group_size",
    "parallel_group_index",
    "parallel_group_path",
)


def is_internal_timer(payload: dict[str, object]) -> bool:
    """True for timers owned by a condition/signal wait (they are never results)."""
    return (
        payload.get("timer_kind") in INTERNAL_TIMER_KINDS
        or bool(payload.get("condition_wait_id"))
        or bool(payload.get("signal_wait_id"))
    )


def workflow_sequence(payload: dict[str, object]) -> int | None:
    """The authored position of an operation (``sequence`` or ``workflow_sequence``)."""
    raw = payload.get("sequence", payload.get("workflow_sequence"))
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    return None
