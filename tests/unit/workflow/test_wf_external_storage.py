"""Externally stored payloads in the workflow runtime: written by commands_to_server_commands,
read back (verified) by query_state and apply_update."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from durable_workflow import workflow
from durable_workflow.errors import ExternalPayloadIntegrityError
from durable_workflow.external_storage import (
    LocalFilesystemExternalStorage,
    externalize_envelope,
    is_external_reference_envelope,
)
from durable_workflow.protocol import codec
from durable_workflow.workflow import (
    CompleteUpdate,
    RecordSideEffect,
    ScheduleActivity,
    apply_update,
    commands_to_server_commands,
    query_state,
)

from .wf_events import HistoryBuilder

BIG = "x" * 10_000


@workflow.defn(name="ext-report")
class Report:
    def __init__(self) -> None:
        self.text = ""

    @workflow.query("length")
    def length(self) -> int:
        return len(self.text)

    @workflow.update("append")
    def append(self, more: str) -> int:
        self.text += more
        return len(self.text)

    def run(self, ctx: Any) -> Any:
        self.text = yield ctx.schedule_activity("render", [])
        yield ctx.start_timer(60)
        return self.text


@pytest.fixture
def storage(tmp_path: Path) -> LocalFilesystemExternalStorage:
    return LocalFilesystemExternalStorage(str(tmp_path / "payloads"))


def test_large_payloads_leave_as_references_small_ones_stay_inline(
    storage: LocalFilesystemExternalStorage,
) -> None:
    commands = [
        ScheduleActivity("render", [BIG]),
        ScheduleActivity("render", ["small"]),
        RecordSideEffect(BIG),
        RecordSideEffect("tiny"),
    ]
    wire = commands_to_server_commands(
        commands, "q", external_storage=storage, external_storage_threshold_bytes=1024
    )
    assert is_external_reference_envelope(wire[0]["arguments"])
    assert wire[1]["arguments"] == codec.envelope(["small"])
    assert is_external_reference_envelope(wire[2]["result"])  # a bare blob became a reference
    assert wire[3]["result"] == codec.encode("tiny")  # still the protocol's bare blob
    # Without a driver nothing changes.
    assert commands_to_server_commands(commands, "q")[0]["arguments"] == codec.envelope([BIG])


def _history_with_stored_result(storage: LocalFilesystemExternalStorage) -> list[dict[str, Any]]:
    history = HistoryBuilder("ext-report").activity(1, "render", BIG)
    history.add("TimerScheduled", sequence=2, delay_seconds=60, timer_id="tm-2")
    completed = history.events[2]["payload"]
    completed["result"] = externalize_envelope(completed["result"], storage, 1024)
    assert is_external_reference_envelope(completed["result"])
    return history.events


def test_query_and_update_read_externally_stored_history(
    storage: LocalFilesystemExternalStorage,
) -> None:
    events = _history_with_stored_result(storage)
    assert query_state(Report, events, [], "length", external_storage=storage) == len(BIG)

    events.append(
        {
            "sequence": len(events) + 1,
            "event_type": "UpdateAccepted",
            "payload": {
                "update_id": "u-1",
                "update_name": "append",
                "arguments": codec.envelope(["!"]),
            },
        }
    )
    outcome = apply_update(Report, events, [], "u-1", external_storage=storage)
    assert isinstance(outcome, CompleteUpdate)
    assert outcome.result == len(BIG) + 1


def test_a_tampered_stored_payload_is_refused(
    storage: LocalFilesystemExternalStorage, tmp_path: Path
) -> None:
    events = _history_with_stored_result(storage)
    for stored in (tmp_path / "payloads").rglob("*"):
        if stored.is_file():
            stored.write_bytes(stored.read_bytes()[:-4] + b"AAAA")
    with pytest.raises(ExternalPayloadIntegrityError):
        query_state(Report, events, [], "length", external_storage=storage)
