"""Replay: workflow history in, the next workflow-task commands out.

The worker (``run_workflow_task``) and the test tools (``Replayer``, ``replay``,
``durable_workflow.testing``) share this one path, so a history that replays in a test
replays the same way under a real worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import QueryFailed, UpdateRejected
from ..protocol.codec import PayloadEncodeError
from ._commands import (
    Command,
    CompleteUpdate,
    FailUpdate,
    FailWorkflow,
    command_to_wire,
    commands_to_server_commands,
)
from ._context import WorkflowContext
from ._definition import get_definition
from ._driver import CATCHABLE, HandlerFailed, Run, qualified_name
from ._history import History, index_history
from ._payloads import PayloadReader

if TYPE_CHECKING:
    from ..external_storage import ExternalPayloadCache, ExternalStorageDriver

__all__ = [
    "ReplayOutcome",
    "Replayer",
    "apply_update",
    "query_state",
    "replay",
    "run_workflow_task",
    "validate_update",
]


@dataclass
class ReplayOutcome:
    """The commands a replayed workflow would send next."""

    commands: list[Command] = field(default_factory=list)

    def to_server_commands(self, task_queue: str) -> list[dict[str, Any]]:
        """The commands in wire form (``queue`` defaults to ``task_queue``)."""
        return commands_to_server_commands(self.commands, task_queue)


def _clock(history: History) -> datetime | None:
    started = history.started or {}
    raw = started.get("timestamp") or history.started_recorded_at
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _start_input(history: History, reader: PayloadReader) -> list[Any]:
    started = history.started or {}
    for key in ("input_envelope", "input", "arguments"):
        if started.get(key) is not None:
            return reader.decode_args(started[key], started, "WorkflowStarted input")
    return []


def _prepare(
    workflow_cls: type,
    history_events: Iterable[dict[str, Any]],
    start_input: list[Any] | None,
    *,
    workflow_id: str | None,
    run_id: str,
    workflow_type: str | None,
    task_queue: str,
    payload_codec: str | None,
    readonly: bool,
) -> Run:
    definition = get_definition(workflow_cls)
    events = history_events if isinstance(history_events, list) else list(history_events)
    history = index_history(events)
    reader = PayloadReader(payload_codec)
    if history.started is not None:
        reader.check_tag(history.started, "WorkflowStarted")
    if start_input is None:
        start_input = _start_input(history, reader)
    started = history.started or {}
    ctx = WorkflowContext(
        run_id=run_id,
        current_time=_clock(history),
        workflow_id=workflow_id or str(started.get("workflow_id") or ""),
        workflow_type=workflow_type or definition.name,
        task_queue=task_queue,
    )
    return Run(definition, history, reader, ctx, list(start_input), readonly=readonly)


def replay(
    workflow_cls: type,
    history_events: Iterable[dict[str, Any]],
    start_input: list[Any] | None = None,
    *,
    workflow_id: str | None = None,
    run_id: str = "",
    payload_codec: str | None = None,
) -> ReplayOutcome:
    """Replay ``history_events`` against ``workflow_cls``; raises ``NonDeterministicReplayError`` on divergence.

    ``start_input`` defaults to the input recorded on ``WorkflowStarted``.
    """
    run = _prepare(
        workflow_cls,
        history_events,
        start_input,
        workflow_id=workflow_id,
        run_id=run_id,
        workflow_type=None,
        task_queue="",
        payload_codec=payload_codec,
        readonly=False,
    )
    return ReplayOutcome(run.execute())


def run_workflow_task(
    workflow_cls: type,
    *,
    history_events: list[dict[str, Any]],
    start_input: list[Any],
    workflow_id: str,
    run_id: str,
    workflow_type: str,
    task_queue: str,
    update_id: str | None = None,
    payload_codec: str | None = None,
) -> list[dict[str, Any]]:
    """The wire commands for one workflow task (empty: blocked on already-scheduled work).

    With ``update_id`` the task is an update task: the answer is exactly one
    ``complete_update`` or ``fail_update``.
    """
    run = _prepare(
        workflow_cls,
        history_events,
        start_input,
        workflow_id=workflow_id,
        run_id=run_id,
        workflow_type=workflow_type,
        task_queue=task_queue,
        payload_codec=payload_codec,
        readonly=update_id is not None,
    )
    if update_id is not None:
        command: Command = _apply_update(run, update_id)
        try:
            return [command_to_wire(command, task_queue)]
        except PayloadEncodeError as exc:
            return [command_to_wire(_update_failure(update_id, exc), task_queue)]
    commands = run.execute()
    try:
        return commands_to_server_commands(commands, task_queue)
    except PayloadEncodeError as exc:
        failure = FailWorkflow(
            f"workflow produced a payload that cannot be encoded: {exc}",
            type(exc).__name__,
            exception_class=qualified_name(type(exc)),
        )
        return [command_to_wire(failure, task_queue)]


def _update_failure(update_id: str, exc: BaseException) -> FailUpdate:
    return FailUpdate(
        update_id, str(exc) or type(exc).__name__, type(exc).__name__, qualified_name(type(exc))
    )


def _apply_update(run: Run, update_id: str) -> CompleteUpdate | FailUpdate:
    run.execute()
    accepted = run.history.accepted_updates.get(update_id)
    if accepted is None:
        return FailUpdate(
            update_id, f"accepted update {update_id!r} was not present in the workflow history"
        )
    name = accepted.get("update_name")
    definition = run.definition
    method = definition.updates.get(name) if isinstance(name, str) else None
    if method is None or not isinstance(name, str):
        return FailUpdate(
            update_id, f"workflow {definition.name!r} has no update {name!r}", "UnknownUpdate", None
        )
    try:
        run.apply_remaining_receivers()
        raw = accepted.get("arguments")
        if raw is None:
            raw = accepted.get("input")
        args = run.reader.decode_args(raw, accepted, f"update {name!r}")
        validator = definition.update_validators.get(name)
        if validator is not None:
            getattr(run.instance, validator)(*args)
        result = getattr(run.instance, method)(*args)
    except HandlerFailed as failed:
        return _update_failure(update_id, failed.error)
    except CATCHABLE as exc:
        return _update_failure(update_id, exc)
    return CompleteUpdate(update_id, result)


def _inline_payloads(
    history_events: Iterable[dict[str, Any]],
    driver: ExternalStorageDriver | None,
    cache: ExternalPayloadCache | None,
) -> list[dict[str, Any]]:
    """History with externally stored payloads fetched back inline (verified), once, up front."""
    events = list(history_events)
    if driver is None:
        return events
    from ..external_storage import resolve_payloads

    resolved: list[dict[str, Any]] = resolve_payloads(events, driver, cache=cache)
    return resolved


def apply_update(
    workflow_cls: type,
    history_events: Iterable[dict[str, Any]],
    start_input: list[Any] | None,
    update_id: str,
    *,
    workflow_id: str | None = None,
    run_id: str = "",
    payload_codec: str | None = None,
    external_storage: ExternalStorageDriver | None = None,
    external_storage_cache: ExternalPayloadCache | None = None,
) -> CompleteUpdate | FailUpdate:
    """Rebuild the workflow's state from history and run the accepted update ``update_id``."""
    history_events = _inline_payloads(history_events, external_storage, external_storage_cache)
    run = _prepare(
        workflow_cls,
        history_events,
        start_input,
        workflow_id=workflow_id,
        run_id=run_id,
        workflow_type=None,
        task_queue="",
        payload_codec=payload_codec,
        readonly=True,
    )
    return _apply_update(run, update_id)


def query_state(
    workflow_cls: type,
    history_events: Iterable[dict[str, Any]],
    start_input: list[Any] | None,
    query_name: str,
    args: list[Any] | None = None,
    *,
    workflow_id: str | None = None,
    run_id: str = "",
    payload_codec: str | None = None,
    external_storage: ExternalStorageDriver | None = None,
    external_storage_cache: ExternalPayloadCache | None = None,
) -> Any:
    """Replay to the current state and call query ``query_name``; failures raise ``QueryFailed``."""
    history_events = _inline_payloads(history_events, external_storage, external_storage_cache)
    run = _prepare(
        workflow_cls,
        history_events,
        start_input,
        workflow_id=workflow_id,
        run_id=run_id,
        workflow_type=None,
        task_queue="",
        payload_codec=payload_codec,
        readonly=True,
    )
    method = run.definition.queries.get(query_name)
    if method is None:
        raise QueryFailed(
            f"workflow {run.definition.name!r} has no query {query_name!r}",
            "rejected_unknown_query",
        )
    try:
        run.execute()
        run.apply_remaining_receivers()
        return getattr(run.instance, method)(*(args or []))
    except HandlerFailed as failed:
        raise QueryFailed(
            f"query {query_name!r} failed: {failed.error}", "query_failed"
        ) from failed.error
    except CATCHABLE as exc:
        raise QueryFailed(f"query {query_name!r} failed: {exc}", "query_failed") from exc


def validate_update(
    workflow_cls: type,
    history_events: Iterable[dict[str, Any]],
    start_input: list[Any] | None,
    update_name: str,
    args: list[Any] | None = None,
    *,
    workflow_id: str | None = None,
    run_id: str = "",
    payload_codec: str | None = None,
) -> None:
    """Replay to the current state and run ``update_name``'s validator (if any).

    Raises ``UpdateRejected`` when the workflow has no such update or the validator raises;
    nothing is recorded either way (the update is not accepted yet).
    """
    run = _prepare(
        workflow_cls,
        history_events,
        start_input,
        workflow_id=workflow_id,
        run_id=run_id,
        workflow_type=None,
        task_queue="",
        payload_codec=payload_codec,
        readonly=True,
    )
    definition = run.definition
    if update_name not in definition.updates:
        raise UpdateRejected(
            f"workflow {definition.name!r} has no update {update_name!r}", "UnknownUpdate"
        )
    validator = definition.update_validators.get(update_name)
    if validator is None:
        return
    run.execute()
    run.apply_remaining_receivers()
    try:
        getattr(run.instance, validator)(*(args or []))
    except HandlerFailed as failed:
        raise UpdateRejected(str(failed.error), type(failed.error).__name__) from failed.error
    except CATCHABLE as exc:
        raise UpdateRejected(
            f"update {update_name!r} rejected by its validator: {exc}", type(exc).__name__
        ) from exc


def _events_of(history: Iterable[dict[str, Any]] | Mapping[str, Any]) -> list[dict[str, Any]]:
    if isinstance(history, Mapping):
        for key in ("events", "history_events", "history"):
            value = history.get(key)
            if isinstance(value, list):
                return value
        raise ValueError("history mapping has no 'events', 'history_events' or 'history' list")
    return list(history)


class Replayer:
    """Replay captured histories of several registered workflow types without a server."""

    def __init__(self, *, workflows: Iterable[type]) -> None:
        classes = list(workflows)
        if not classes:
            raise ValueError("Replayer needs at least one workflow class")
        self._by_name: dict[str, type] = {}
        for cls in classes:
            name = get_definition(cls).name
            if name in self._by_name:
                raise ValueError(f"workflow type {name!r} is registered twice")
            self._by_name[name] = cls

    def replay(
        self,
        history: Iterable[dict[str, Any]] | Mapping[str, Any],
        start_input: list[Any] | None = None,
        *,
        workflow_type: str | None = None,
        workflow_id: str | None = None,
        run_id: str = "",
        payload_codec: str | None = None,
    ) -> ReplayOutcome:
        """Replay one history; the type and input default to what ``WorkflowStarted`` recorded."""
        events = _events_of(history)
        name = workflow_type or self._started_type(events)
        if name is None:
            if len(self._by_name) != 1:
                raise ValueError(
                    "several workflows are registered: pass workflow_type or include WorkflowStarted"
                )
            name = next(iter(self._by_name))
        cls = self._by_name.get(name)
        if cls is None:
            raise ValueError(f"workflow type {name!r} is not registered with this Replayer")
        return replay(
            cls,
            events,
            start_input,
            workflow_id=workflow_id,
            run_id=run_id,
            payload_codec=payload_codec,
        )

    @staticmethod
    def _started_type(events: list[dict[str, Any]]) -> str | None:
        for event in events:
            if (event.get("event_type") or event.get("type")) == "WorkflowStarted":
                payload = event.get("payload") or {}
                value = payload.get("workflow_type")
                return value if isinstance(value, str) and value else None
        return None
