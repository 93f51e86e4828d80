"""Workflow-sequence assignment and command validation (history-events.md §2)."""

from __future__ import annotations

import pytest

from durable_workflow.protocol import codec
from durable_workflow.protocol import commands as cmds
from durable_workflow.server.engine.transitions import (
    APPLY,
    UPDATE_ONLY,
    outermost_group_id,
    sequence_for,
    validate_commands,
)


def member(base: int, index: int) -> dict[str, object]:
    return {
        "type": "start_timer",
        "delay_seconds": 1,
        "parallel_group_base_sequence": base,
        "parallel_group_index": index,
        "parallel_group_id": f"parallel-timers:{base}:2",
    }


def test_plain_commands_take_the_next_number() -> None:
    assert sequence_for(0, {"type": "start_timer"}) == 1
    assert sequence_for(41, {"type": "schedule_activity"}) == 42


def test_group_members_take_base_plus_index() -> None:
    assert sequence_for(3, member(4, 0)) == 4
    assert sequence_for(4, member(4, 1)) == 5


def test_reemitted_members_are_skipped() -> None:
    assert sequence_for(5, member(4, 0)) is None
    assert sequence_for(5, member(4, 1)) is None


def test_a_gap_is_rejected() -> None:
    with pytest.raises(ValueError, match="next workflow sequence of this run is 4"):
        sequence_for(3, member(6, 0))


def test_outermost_group_wins() -> None:
    cmd = {
        "parallel_group_id": "inner",
        "parallel_group_path": [{"parallel_group_id": "outer"}, {"parallel_group_id": "inner"}],
    }
    assert outermost_group_id(cmd) == "outer"
    assert outermost_group_id({"parallel_group_id": "only"}) == "only"
    assert outermost_group_id({}) is None


def test_every_command_has_a_handler_or_is_explicitly_pending() -> None:
    assert set(cmds.SPECS) == set(APPLY) | UPDATE_ONLY


def test_validation_names_index_and_field() -> None:
    errors = validate_commands(
        [
            {"type": "start_timer", "delay_seconds": -1},
            {
                "type": "record_version_marker",
                "change_id": "c",
                "version": 5,
                "min_supported": 0,
                "max_supported": 1,
            },
            {"type": "upsert_memo", "entries": codec.envelope([1])},
            {"type": "record_side_effect", "result": "{not avro}"},
            {"type": "schedule_activity", "activity_type": "a", "retry_policy": [1]},
            {"type": "open_condition_wait", "timeout_seconds": 1.5},
            member(1, -1),
        ]
    )
    assert set(errors) == {
        "commands.0.delay_seconds",
        "commands.1.version",
        "commands.2.entries",
        "commands.3.result",
        "commands.4.retry_policy",
        "commands.5.timeout_seconds",
        "commands.6.parallel_group_index",
    }


def test_valid_list_has_no_errors() -> None:
    assert (
        validate_commands(
            [
                {
                    "type": "schedule_activity",
                    "activity_type": "a",
                    "arguments": codec.envelope([]),
                    "queue": "q",
                    "retry_policy": {"max_attempts": 3, "backoff_seconds": [1, 2]},
                    "start_to_close_timeout": 5,
                },
                {"type": "record_side_effect", "result": codec.encode(1)},
                {"type": "complete_workflow", "result": codec.envelope(None)},
            ]
        )
        == {}
    )
