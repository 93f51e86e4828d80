"""Workflow commands: the dataclasses workflow code yields, and their wire form (worker-plane.md §5)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import serializer
from ..protocol import codec
from ..protocol import commands as wire
from ..retry_policy import ActivityRetryPolicy, ChildWorkflowRetryPolicy, retry_policy_to_wire

if TYPE_CHECKING:
    from ..external_storage import ExternalStorageDriver

__all__ = [
    "DEFAULT_PAYLOAD_SIZE_WARNING",
    "Command",
    "CompleteUpdate",
    "CompleteWorkflow",
    "ContinueAsNew",
    "FailUpdate",
    "FailWorkflow",
    "RecordSideEffect",
    "RecordVersionMarker",
    "ScheduleActivity",
    "StartChildWorkflow",
    "StartTimer",
    "UpsertSearchAttributes",
    "WaitCondition",
    "command_to_wire",
    "commands_to_server_commands",
]

_log = logging.getLogger("durable_workflow.workflow")

# Warn when one encoded blob reaches 80 % of the default 2 MiB payload limit; seed 002 documents
# the default as ``serializer.DEFAULT_PAYLOAD_SIZE_WARNING``, so it is defined there.
DEFAULT_PAYLOAD_SIZE_WARNING = serializer.DEFAULT_PAYLOAD_SIZE_WARNING

RetryPolicyLike = ActivityRetryPolicy | Mapping[str, Any] | None


@dataclass
class ScheduleActivity:
    """Command requesting an activity task. Timeouts are whole seconds of activity budget."""

    activity_type: str
    arguments: list[Any]
    queue: str | None = None
    retry_policy: RetryPolicyLike = None
    start_to_close_timeout: int | None = None
    schedule_to_start_timeout: int | None = None
    schedule_to_close_timeout: int | None = None
    heartbeat_timeout: int | None = None
    parallel_group: dict[str, Any] | None = field(
        default=None, repr=False, compare=False, kw_only=True
    )


@dataclass
class StartTimer:
    """Command requesting a durable timer of ``delay_seconds`` whole seconds."""

    delay_seconds: int
    parallel_group: dict[str, Any] | None = field(
        default=None, repr=False, compare=False, kw_only=True
    )


@dataclass
class CompleteWorkflow:
    """Command completing the workflow with ``result``."""

    result: Any


@dataclass
class FailWorkflow:
    """Command failing the workflow with diagnostic metadata."""

    message: str
    exception_type: str | None = None
    non_retryable: bool = False
    exception_class: str | None = None
    exception: dict[str, Any] | None = None
    failed_step_sequence: int | None = None
    failed_activity_execution_id: str | None = None


@dataclass
class CompleteUpdate:
    """Worker command completing an accepted update with ``result``."""

    update_id: str
    result: Any


@dataclass
class FailUpdate:
    """Worker command failing an accepted update."""

    update_id: str
    message: str
    exception_type: str | None = None
    exception_class: str | None = None
    non_retryable: bool = True


@dataclass
class ContinueAsNew:
    """Return this from ``run`` to close the run and start a fresh one with ``arguments``."""

    workflow_type: str | None = None
    arguments: list[Any] = field(default_factory=list)
    task_queue: str | None = None


@dataclass
class RecordSideEffect:
    """Command recording the value of a non-deterministic function (run once, then replayed)."""

    result: Any
    fn: Callable[[], Any] | None = field(default=None, repr=False, compare=False, kw_only=True)


@dataclass
class StartChildWorkflow:
    """Command requesting a child workflow run."""

    workflow_type: str
    arguments: list[Any] = field(default_factory=list)
    task_queue: str | None = None
    parent_close_policy: str | None = None
    retry_policy: ChildWorkflowRetryPolicy | Mapping[str, Any] | None = None
    execution_timeout_seconds: int | None = None
    run_timeout_seconds: int | None = None
    parallel_group: dict[str, Any] | None = field(
        default=None, repr=False, compare=False, kw_only=True
    )


@dataclass
class RecordVersionMarker:
    """Command recording a code-version marker.

    ``result_kind`` says what the yield resolves to: ``"version"`` (the int),
    ``"patched"`` (a bool) or ``"deprecated"`` (``None``).
    """

    change_id: str
    version: int
    min_supported: int
    max_supported: int
    result_kind: str = "version"


@dataclass
class UpsertSearchAttributes:
    """Command merging ``attributes`` (plain JSON) into the run's search attributes."""

    attributes: dict[str, Any]


@dataclass
class WaitCondition:
    """Yield until ``predicate()`` is truthy; resolves ``False`` if ``timeout_seconds`` pass first."""

    predicate: Callable[[], Any]
    condition_key: str | None = None
    condition_definition_fingerprint: str | None = None
    timeout_seconds: int | None = None


# Fields declared with kw_only=True hold replayer bookkeeping (parallel-group metadata, the
# side-effect function): they stay out of equality, repr and the positional signature.
Command = (
    ScheduleActivity
    | StartTimer
    | StartChildWorkflow
    | RecordSideEffect
    | RecordVersionMarker
    | UpsertSearchAttributes
    | WaitCondition
    | CompleteUpdate
    | FailUpdate
    | CompleteWorkflow
    | FailWorkflow
    | ContinueAsNew
)


class _Encoder:
    """Encodes payloads and warns once per oversized blob."""

    def __init__(self, size_warning: int | None, context: str | None) -> None:
        self.size_warning = size_warning
        self.context = context

    def blob(self, value: Any, what: str) -> str:
        text = codec.encode(value)
        if self.size_warning is not None and len(text) >= self.size_warning:
            _log.warning(
                "payload %s is %d bytes encoded (warning threshold %d)%s",
                what,
                len(text),
                self.size_warning,
                f" [{self.context}]" if self.context else "",
            )
        return text

    def envelope(self, value: Any, what: str) -> dict[str, str]:
        return {"codec": codec.AVRO_CODEC, "blob": self.blob(value, what)}


def _whole_seconds(value: float | None) -> int | None:
    return None if value is None else math.ceil(value)


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def _args(arguments: Sequence[Any] | None) -> list[Any]:
    return list(arguments) if arguments is not None else []


def command_to_wire(
    command: Command, task_queue: str, encoder: _Encoder | None = None
) -> dict[str, Any]:
    """One command as its wire dict."""
    enc = encoder or _Encoder(DEFAULT_PAYLOAD_SIZE_WARNING, None)
    out: dict[str, Any]
    if isinstance(command, ScheduleActivity):
        out = {
            "type": wire.SCHEDULE_ACTIVITY,
            "activity_type": command.activity_type,
            "queue": command.queue or task_queue,
            "arguments": enc.envelope(
                _args(command.arguments), f"activity {command.activity_type} arguments"
            ),
        }
        _put(out, "retry_policy", retry_policy_to_wire(command.retry_policy))
        _put(out, "start_to_close_timeout", _whole_seconds(command.start_to_close_timeout))
        _put(out, "schedule_to_start_timeout", _whole_seconds(command.schedule_to_start_timeout))
        _put(out, "schedule_to_close_timeout", _whole_seconds(command.schedule_to_close_timeout))
        _put(out, "heartbeat_timeout", _whole_seconds(command.heartbeat_timeout))
        if command.parallel_group:
            out.update(command.parallel_group)
    elif isinstance(command, StartTimer):
        out = {"type": wire.START_TIMER, "delay_seconds": command.delay_seconds}
        if command.parallel_group:
            out.update(command.parallel_group)
    elif isinstance(command, StartChildWorkflow):
        out = {
            "type": wire.START_CHILD_WORKFLOW,
            "workflow_type": command.workflow_type,
            "queue": command.task_queue or task_queue,
            "arguments": enc.envelope(
                _args(command.arguments), f"child {command.workflow_type} arguments"
            ),
        }
        _put(out, "parent_close_policy", command.parent_close_policy)
        _put(out, "retry_policy", retry_policy_to_wire(command.retry_policy))
        _put(out, "execution_timeout_seconds", _whole_seconds(command.execution_timeout_seconds))
        _put(out, "run_timeout_seconds", _whole_seconds(command.run_timeout_seconds))
        if command.parallel_group:
            out.update(command.parallel_group)
    elif isinstance(command, RecordSideEffect):
        # A bare blob, not an envelope: that is what the server stores verbatim.
        out = {
            "type": wire.RECORD_SIDE_EFFECT,
            "result": enc.blob(command.result, "side effect result"),
        }
    elif isinstance(command, RecordVersionMarker):
        out = {
            "type": wire.RECORD_VERSION_MARKER,
            "change_id": command.change_id,
            "version": command.version,
            "min_supported": command.min_supported,
            "max_supported": command.max_supported,
        }
    elif isinstance(command, UpsertSearchAttributes):
        out = {"type": wire.UPSERT_SEARCH_ATTRIBUTES, "attributes": dict(command.attributes)}
    elif isinstance(command, WaitCondition):
        out = {"type": wire.OPEN_CONDITION_WAIT}
        _put(out, "condition_key", command.condition_key)
        _put(out, "condition_definition_fingerprint", command.condition_definition_fingerprint)
        _put(out, "timeout_seconds", _whole_seconds(command.timeout_seconds))
    elif isinstance(command, CompleteUpdate):
        out = {
            "type": wire.COMPLETE_UPDATE,
            "update_id": command.update_id,
            "result": enc.envelope(command.result, "update result"),
        }
    elif isinstance(command, FailUpdate):
        out = {"type": wire.FAIL_UPDATE, "update_id": command.update_id, "message": command.message}
        _put(out, "exception_type", command.exception_type)
        _put(out, "exception_class", command.exception_class)
        out["non_retryable"] = True
    elif isinstance(command, CompleteWorkflow):
        out = {
            "type": wire.COMPLETE_WORKFLOW,
            "result": enc.envelope(command.result, "workflow result"),
        }
    elif isinstance(command, FailWorkflow):
        out = {"type": wire.FAIL_WORKFLOW, "message": command.message}
        _put(out, "exception_type", command.exception_type)
        _put(out, "exception_class", command.exception_class)
        _put(out, "exception", command.exception)
        if command.non_retryable:
            out["non_retryable"] = True
        if (
            command.failed_step_sequence is not None
            and command.failed_activity_execution_id is not None
        ):
            out["failed_step_sequence"] = command.failed_step_sequence
            out["failed_activity_execution_id"] = command.failed_activity_execution_id
    elif isinstance(command, ContinueAsNew):
        out = {
            "type": wire.CONTINUE_AS_NEW,
            "queue": command.task_queue or task_queue,
            "arguments": enc.envelope(_args(command.arguments), "continue-as-new arguments"),
        }
        _put(out, "workflow_type", command.workflow_type)
    else:
        raise TypeError(f"not a workflow command: {command!r}")
    return out


def commands_to_server_commands(
    commands: Sequence[Command],
    task_queue: str,
    *,
    payload_codec: str = codec.AVRO_CODEC,
    size_warning: int | None = DEFAULT_PAYLOAD_SIZE_WARNING,
    warning_context: str | None = None,
    external_storage: ExternalStorageDriver | None = None,
    external_storage_threshold_bytes: int | None = None,
) -> list[dict[str, Any]]:
    """Convert workflow commands to the server wire shape (``queue`` defaults to ``task_queue``).

    With ``external_storage``, every payload larger than ``external_storage_threshold_bytes``
    (default 256 KiB) is written through the driver and sent as a reference envelope.
    """
    if payload_codec != codec.AVRO_CODEC:
        raise ValueError(
            f"unsupported_payload_codec: {payload_codec!r} (the SDK writes only 'avro')"
        )
    encoder = _Encoder(size_warning, warning_context)
    out = [command_to_wire(c, task_queue, encoder) for c in commands]
    if external_storage is None:
        return out
    from .. import external_storage as ext

    threshold = external_storage_threshold_bytes or ext.DEFAULT_EXTERNAL_STORAGE_THRESHOLD_BYTES
    for command in out:
        result = command.get("result")
        # A side effect's result is a bare blob on the wire; once stored it travels as a
        # reference envelope instead (payloads.md 4.2 and 6.1).
        if command["type"] == wire.RECORD_SIDE_EFFECT and isinstance(result, str):
            stored = ext.externalize_envelope(
                {"codec": codec.AVRO_CODEC, "blob": result}, external_storage, threshold
            )
            if "external_storage" in stored:
                command["result"] = stored
    return [ext.externalize_payloads(c, external_storage, threshold) for c in out]
