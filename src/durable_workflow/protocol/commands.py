"""Workflow-task commands on the wire: names, whether each consumes a workflow sequence,
and which fields each requires. The server validates completions against this table;
the SDK builds its wire commands from the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SCHEDULE_ACTIVITY: Final = "schedule_activity"
RECORD_LOCAL_ACTIVITY: Final = "record_local_activity"
START_TIMER: Final = "start_timer"
START_CHILD_WORKFLOW: Final = "start_child_workflow"
RECORD_SIDE_EFFECT: Final = "record_side_effect"
RECORD_VERSION_MARKER: Final = "record_version_marker"
UPSERT_SEARCH_ATTRIBUTES: Final = "upsert_search_attributes"
UPSERT_MEMO: Final = "upsert_memo"
OPEN_CONDITION_WAIT: Final = "open_condition_wait"
COMPLETE_UPDATE: Final = "complete_update"
FAIL_UPDATE: Final = "fail_update"
COMPLETE_WORKFLOW: Final = "complete_workflow"
FAIL_WORKFLOW: Final = "fail_workflow"
CONTINUE_AS_NEW: Final = "continue_as_new"


@dataclass(frozen=True, slots=True)
class CommandSpec:
    type: str
    consumes_sequence: bool
    terminal: bool
    required: tuple[str, ...] = ()
    envelopes: tuple[str, ...] = ()  # fields that carry {"codec","blob"} envelopes


SPECS: Final[dict[str, CommandSpec]] = {
    s.type: s
    for s in (
        CommandSpec(SCHEDULE_ACTIVITY, True, False, ("activity_type",), ("arguments",)),
        CommandSpec(RECORD_LOCAL_ACTIVITY, True, False, ("activity_type", "outcome"), ("arguments", "result")),
        CommandSpec(START_TIMER, True, False, ("delay_seconds",)),
        CommandSpec(START_CHILD_WORKFLOW, True, False, ("workflow_type",), ("arguments",)),
        CommandSpec(RECORD_SIDE_EFFECT, True, False, ()),
        CommandSpec(RECORD_VERSION_MARKER, True, False, ("change_id", "version", "min_supported", "max_supported")),
        CommandSpec(UPSERT_SEARCH_ATTRIBUTES, True, False, ("attributes",)),
        CommandSpec(UPSERT_MEMO, True, False, ("entries",), ("entries",)),
        CommandSpec(OPEN_CONDITION_WAIT, True, False, ()),
        CommandSpec(COMPLETE_UPDATE, False, False, ("update_id",), ("result",)),
        CommandSpec(FAIL_UPDATE, False, False, ("update_id", "message")),
        CommandSpec(COMPLETE_WORKFLOW, False, True, (), ("result",)),
        CommandSpec(FAIL_WORKFLOW, False, True, ("message",)),
        CommandSpec(CONTINUE_AS_NEW, False, True, (), ("arguments",)),
    )
}

TERMINAL_COMMANDS: Final = frozenset(t for t, s in SPECS.items() if s.terminal)
