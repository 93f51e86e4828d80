"""Test tools: replay captured histories, and run workflows in process against mocks.

Both go through :mod:`durable_workflow.workflow.replay`, the path the worker uses, so a
workflow that passes here replays the same way under a real worker.

``WorkflowEnvironment`` plays the server: after each replay it applies the commands by
appending the history events the server would write (activities and children resolve at
once from registered mocks, timers fire at once), then replays again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from os import PathLike
from typing import Any

from .errors import NonRetryableError, WorkflowFailed
from .protocol import codec
from .protocol import events as ev
from .workflow._commands import (
    Command,
    CompleteWorkflow,
    ContinueAsNew,
    FailWorkflow,
    RecordSideEffect,
    RecordVersionMarker,
    ScheduleActivity,
    StartChildWorkflow,
    StartTimer,
    UpsertSearchAttributes,
    WaitCondition,
)
from .workflow._definition import get_definition
from .workflow._driver import qualified_name
from .workflow.replay import ReplayOutcome, _events_of, replay

__all__ = ["WorkflowEnvironment", "WorkflowRunRecord", "replay_history", "replay_history_file"]


def replay_history(
    workflow_cls: type,
    events: Iterable[dict[str, Any]] | Mapping[str, Any],
    start_input: list[Any] | None = None,
    *,
    run_id: str = "",
    payload_codec: str | None = None,
) -> ReplayOutcome:
    """Replay a captured history against current code; raises ``NonDeterministicReplayError`` on divergence."""
    return replay(
        workflow_cls, _events_of(events), start_input, run_id=run_id, payload_codec=payload_codec
    )


def replay_history_file(
    workflow_cls: type,
    path: str | PathLike[str],
    start_input: list[Any] | None = None,
    *,
    run_id: str = "",
    payload_codec: str | None = None,
) -> ReplayOutcome:
    """Load a JSON history (an event list, or an object with ``events``) and replay it."""
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    return replay_history(
        workflow_cls, document, start_input, run_id=run_id, payload_codec=payload_codec
    )


@dataclass
class WorkflowRunRecord:
    """One run of an ``execute_workflow`` chain."""

    run_id: str
    workflow_type: str
    input: list[Any]
    history_events: list[dict[str, Any]] = field(default_factory=list)
    terminal_command: Command | None = None


@dataclass
class _Signal:
    name: str
    args: list[Any]
    run: int | None


def _roundtrip(value: Any) -> Any:
    # What a real worker or client would see after the value crossed the wire.
    return codec.decode(codec.encode(value))


class _SimulatedRun:
    """The server side of one run: its history and workflow-sequence counter."""

    def __init__(self, env: WorkflowEnvironment, record: WorkflowRunRecord, number: int) -> None:
        self.env = env
        self.record = record
        self.number = number
        self.sequence = 0
        self.open_wait: dict[str, Any] | None = None
        self.waits_opened = 0
        started = env.start_time or datetime.now(UTC)
        self.add(
            ev.WORKFLOW_STARTED,
            workflow_type=record.workflow_type,
            workflow_id=env.workflow_id,
            input=codec.envelope(record.input),
            timestamp=started.isoformat(),
        )

    def add(self, event_type: str, **payload: Any) -> None:
        events = self.record.history_events
        events.append({"sequence": len(events) + 1, "event_type": event_type, "payload": payload})

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def deliver_signals(self) -> bool:
        delivered = False
        for signal in list(self.env._signals):
            if signal.run is None or signal.run == self.number:
                self.env._signals.remove(signal)
                hint = {"workflow_sequence": self.open_wait["sequence"]} if self.open_wait else {}
                self.add(
                    ev.SIGNAL_RECEIVED,
                    signal_name=signal.name,
                    arguments=codec.envelope(signal.args),
                    **hint,
                )
                delivered = True
        return delivered

    def close_open_wait(self, outcome: str) -> None:
        wait = self.open_wait
        if wait is None:
            return
        self.open_wait = None
        ids = {"sequence": wait["sequence"], "condition_wait_id": wait["condition_wait_id"]}
        timer = {
            **ids,
            "timer_kind": "condition_timeout",
            "delay_seconds": wait.get("timeout_seconds"),
        }
        if outcome == "timed_out":
            self.add(ev.TIMER_FIRED, **timer)
            self.add(ev.CONDITION_WAIT_TIMED_OUT, **ids)
        else:
            self.add(ev.CONDITION_WAIT_SATISFIED, **ids)
            if wait.get("timeout_seconds") is not None:
                self.add(ev.TIMER_CANCELLED, **timer)

    def apply(self, command: Command) -> None:
        meta = getattr(command, "parallel_group", None) or {}
        if (
            meta
            and meta["parallel_group_base_sequence"] + meta["parallel_group_index"] <= self.sequence
        ):
            return  # a re-sent member of a group that is already scheduled
        if isinstance(command, ScheduleActivity):
            self._activity(command, meta)
        elif isinstance(command, StartTimer):
            seq = self.next_sequence()
            self.add(ev.TIMER_SCHEDULED, sequence=seq, delay_seconds=command.delay_seconds, **meta)
            self.add(ev.TIMER_FIRED, sequence=seq, delay_seconds=command.delay_seconds, **meta)
        elif isinstance(command, StartChildWorkflow):
            self._child(command, meta)
        elif isinstance(command, RecordSideEffect):
            self.add(
                ev.SIDE_EFFECT_RECORDED,
                sequence=self.next_sequence(),
                result=codec.encode(command.result),
            )
        elif isinstance(command, RecordVersionMarker):
            self.add(
                ev.VERSION_MARKER_RECORDED,
                sequence=self.next_sequence(),
                change_id=command.change_id,
                version=command.version,
                min_supported=command.min_supported,
                max_supported=command.max_supported,
            )
        elif isinstance(command, UpsertSearchAttributes):
            self.add(
                ev.SEARCH_ATTRIBUTES_UPSERTED,
                sequence=self.next_sequence(),
                attributes=command.attributes,
            )
        elif isinstance(command, WaitCondition):
            self.waits_opened += 1
            wait: dict[str, Any] = {
                "sequence": self.next_sequence(),
                "condition_wait_id": f"{self.record.run_id}:cw-{self.waits_opened}",
                "condition_key": command.condition_key,
                "condition_definition_fingerprint": command.condition_definition_fingerprint,
                "timeout_seconds": command.timeout_seconds,
            }
            self.add(ev.CONDITION_WAIT_OPENED, **wait)
            if command.timeout_seconds is not None:
                self.add(
                    ev.TIMER_SCHEDULED,
                    sequence=wait["sequence"],
                    condition_wait_id=wait["condition_wait_id"],
                    timer_kind="condition_timeout",
                    delay_seconds=command.timeout_seconds,
                )
            self.open_wait = wait

    def _activity(self, command: ScheduleActivity, meta: dict[str, Any]) -> None:
        name = command.activity_type
        if name not in self.env._activities:
            raise KeyError(
                f"no mock registered for activity {name!r}; use register_activity(_result)"
            )
        seq = self.next_sequence()
        base = {"sequence": seq, "activity_type": name, **meta}
        self.add(ev.ACTIVITY_SCHEDULED, **base)
        mock = self.env._activities[name]
        try:
            value = mock(*_roundtrip(list(command.arguments)))
        except Exception as exc:
            self.add(
                ev.ACTIVITY_FAILED,
                **base,
                message=str(exc) or type(exc).__name__,
                exception_type=type(exc).__name__,
                exception_class=qualified_name(type(exc)),
                non_retryable=isinstance(exc, NonRetryableError),
                activity_execution_id=f"{self.record.run_id}:activity-{seq}",
            )
            return
        self.add(ev.ACTIVITY_COMPLETED, **base, result=codec.envelope(value))

    def _child(self, command: StartChildWorkflow, meta: dict[str, Any]) -> None:
        name = command.workflow_type
        if name not in self.env._children:
            raise KeyError(
                f"no result registered for child workflow {name!r}; use register_child_workflow_result"
            )
        seq = self.next_sequence()
        base: dict[str, Any] = {"sequence": seq, "workflow_type": name, **meta}
        if command.parent_close_policy is not None:
            base["parent_close_policy"] = command.parent_close_policy
        self.add(ev.CHILD_WORKFLOW_SCHEDULED, **base)
        self.add(ev.CHILD_RUN_COMPLETED, **base, result=codec.envelope(self.env._children[name]))


class WorkflowEnvironment:
    """Drive workflows to completion in process, against registered mocks, with no wall-clock waits."""

    def __init__(
        self,
        *,
        iteration_limit: int = 1000,
        continue_as_new_limit: int = 50,
        task_queue: str = "test-queue",
        workflow_id: str = "test-workflow",
        start_time: datetime | None = None,
    ) -> None:
        self.iteration_limit = iteration_limit
        self.continue_as_new_limit = continue_as_new_limit
        self.task_queue = task_queue
        self.workflow_id = workflow_id
        self.start_time = start_time
        self._activities: dict[str, Callable[..., Any]] = {}
        self._children: dict[str, Any] = {}
        self._workflows: dict[str, type] = {}
        self._signals: list[_Signal] = []
        self.runs: list[WorkflowRunRecord] = []

    @property
    def run_count(self) -> int:
        """How many runs the last ``execute_workflow`` chain had."""
        return len(self.runs)

    def register_activity_result(self, name: str, result: Any) -> None:
        """Every call of activity ``name`` returns ``result``."""
        self._activities[name] = lambda *_args: result

    def register_activity(self, name: str, fn: Callable[..., Any]) -> None:
        """Every call of activity ``name`` runs ``fn(*arguments)``; raising fails the activity."""
        self._activities[name] = fn

    def register_child_workflow_result(self, workflow_type: str, result: Any) -> None:
        """Child workflows of type ``workflow_type`` complete with ``result``."""
        self._children[workflow_type] = result

    def register_workflow(self, workflow_cls: type) -> None:
        """Make ``workflow_cls`` reachable by name (for ``continue_as_new(workflow_type=...)``)."""
        self._workflows[get_definition(workflow_cls).name] = workflow_cls

    def signal(self, name: str, args: list[Any] | None = None, run: int | None = None) -> None:
        """Queue signal ``name`` for the next replay (of run number ``run``, 1-based, if given)."""
        self._signals.append(_Signal(name, list(args or []), run))

    def execute_workflow(self, workflow_cls: type, *args: Any, run_id: str = "test-run") -> Any:
        """Run ``workflow_cls`` (following continue-as-new) and return the final result.

        Raises ``WorkflowFailed`` if the workflow fails, ``KeyError`` for a missing mock and
        ``RuntimeError`` when a limit is exceeded or the workflow can never progress.
        """
        self.register_workflow(workflow_cls)
        self.runs = []
        cls, arguments = workflow_cls, list(args)
        while True:
            number = len(self.runs) + 1
            if number > self.continue_as_new_limit:
                raise RuntimeError(
                    f"continue-as-new chain exceeded continue_as_new_limit={self.continue_as_new_limit}"
                )
            record = WorkflowRunRecord(
                run_id if number == 1 else f"{run_id}-{number}",
                get_definition(cls).name,
                _roundtrip(arguments),
            )
            self.runs.append(record)
            terminal = self._drive(cls, _SimulatedRun(self, record, number))
            record.terminal_command = terminal
            if isinstance(terminal, CompleteWorkflow):
                return _roundtrip(terminal.result)
            if isinstance(terminal, FailWorkflow):
                raise WorkflowFailed(terminal.message, terminal.exception_class)
            assert isinstance(terminal, ContinueAsNew)
            next_type = terminal.workflow_type or record.workflow_type
            if next_type not in self._workflows:
                raise KeyError(
                    f"continue_as_new to unregistered workflow type {next_type!r}; use register_workflow"
                )
            cls, arguments = self._workflows[next_type], list(terminal.arguments)

    def _drive(self, cls: type, run: _SimulatedRun) -> Command:
        record = run.record
        for _ in range(self.iteration_limit):
            delivered = run.deliver_signals()
            if run.open_wait is not None and not delivered:
                if run.open_wait.get("timeout_seconds") is None:
                    raise RuntimeError(
                        f"workflow {record.workflow_type!r} waits on a condition with no timeout "
                        "and no queued signal can satisfy it"
                    )
                run.close_open_wait("timed_out")
            commands = replay(
                cls,
                record.history_events,
                record.input,
                workflow_id=self.workflow_id,
                run_id=record.run_id,
            ).commands
            # A regular task completion closes a wait that is still open (semantics.md §3.4).
            run.close_open_wait("satisfied")
            if not commands:
                raise RuntimeError(
                    f"workflow {record.workflow_type!r} is blocked with nothing left to resolve"
                )
            for command in commands:
                if isinstance(command, CompleteWorkflow):
                    run.add(
                        ev.WORKFLOW_COMPLETED,
                        output=codec.envelope(command.result),
                        payload_codec="avro",
                    )
                    return command
                if isinstance(command, FailWorkflow):
                    run.add(
                        ev.WORKFLOW_FAILED,
                        message=command.message,
                        exception_class=command.exception_class,
                    )
                    return command
                if isinstance(command, ContinueAsNew):
                    run.add(ev.WORKFLOW_CONTINUED_AS_NEW)
                    return command
                run.apply(command)
        raise RuntimeError(
            f"workflow {record.workflow_type!r} did not finish within iteration_limit={self.iteration_limit}"
        )
