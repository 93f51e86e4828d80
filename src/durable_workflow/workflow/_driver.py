"""The replay driver: runs ``run`` against an indexed history and collects the task's commands.

One ``_Run`` per workflow task. Each yielded value is resolved against history
(history-events.md §3): recorded results are sent back (or thrown, for failures),
recorded-but-pending operations stop the task, and new code produces new commands.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Generator
from typing import Any, Final

from ..errors import (
    ActivityFailed,
    ChildWorkflowCancelled,
    ChildWorkflowFailed,
    ChildWorkflowTerminated,
    NonDeterministicReplayError,
    NonRetryableError,
    WorkflowCancelled,
)
from ..protocol import codec
from ..protocol import events as ev
from . import _history as h
from ._commands import (
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
from ._context import WorkflowContext
from ._definition import WorkflowDefinition
from ._parallel import GROUP_KEYS, Leaf, flatten, leaf_metadata, outermost
from ._payloads import PayloadReader

__all__ = ["CATCHABLE", "HandlerFailed", "Run", "failure_command", "qualified_name"]

#: What workflow code may raise and still become ``fail_workflow`` (cancellation included).
CATCHABLE: Final = (Exception, WorkflowCancelled)
_MAX_MESSAGE_CHARS: Final = 62 * 1024
_DEFAULT_VERSION: Final = -1

_SEND, _THROW, _STOP = 0, 1, 2
_Step = tuple[int, Any]

_ACTIVITY_FAILURES: Final = frozenset(
    {ev.ACTIVITY_FAILED, ev.ACTIVITY_TIMED_OUT, ev.ACTIVITY_CANCELLED}
)
_CHILD_FAILURES: Final[dict[str, type[ChildWorkflowFailed]]] = {
    ev.CHILD_RUN_FAILED: ChildWorkflowFailed,
    ev.CHILD_RUN_CANCELLED: ChildWorkflowCancelled,
    ev.CHILD_RUN_TERMINATED: ChildWorkflowTerminated,
}
_KIND_OF: Final[dict[type, str]] = {
    ScheduleActivity: h.ACTIVITY,
    StartTimer: h.TIMER,
    StartChildWorkflow: h.CHILD,
    RecordSideEffect: h.SIDE_EFFECT,
    RecordVersionMarker: h.VERSION,
    UpsertSearchAttributes: h.SEARCH_ATTRIBUTES,
}


def _flatten(tree: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in tree:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _reshape(tree: list[Any], values: Any) -> list[Any]:
    """Give flat leaf values the nesting of the yielded lists."""
    return [_reshape(item, values) if isinstance(item, list) else next(values) for item in tree]


class HandlerFailed(Exception):
    """A signal/update handler or a wait predicate raised: the workflow fails with ``error``."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def qualified_name(cls: type) -> str:
    """``module.QualName`` of an exception class."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _trim(message: str) -> str:
    return (
        message if len(message) <= _MAX_MESSAGE_CHARS else message[: _MAX_MESSAGE_CHARS - 3] + "..."
    )


def failure_command(exc: BaseException) -> FailWorkflow:
    """The ``fail_workflow`` command for an exception that escaped ``run``."""
    if isinstance(exc, ActivityFailed):
        exc_type = exc.exception_type or type(exc).__name__
        exc_class = exc.exception_class or qualified_name(type(exc))
        detail: dict[str, Any] = {
            "type": exc_type,
            "class": exc_class,
            "message": _trim(exc.message),
        }
        if exc.activity_type is not None:
            detail["activity_type"] = exc.activity_type
        if exc.activity_attempt_id is not None:
            detail["activity_attempt_id"] = exc.activity_attempt_id
        return FailWorkflow(
            _trim(exc.message),
            exc_type,
            exception_class=exc_class,
            exception=detail,
            failed_step_sequence=exc.step_sequence,
            failed_activity_execution_id=exc.activity_execution_id,
        )
    message = str(exc) or type(exc).__name__
    return FailWorkflow(
        _trim(message),
        type(exc).__name__,
        non_retryable=isinstance(exc, NonRetryableError),
        exception_class=qualified_name(type(exc)),
    )


def _describe(command: object) -> str:
    if isinstance(command, ScheduleActivity):
        return f"activity {command.activity_type!r}"
    if isinstance(command, StartTimer):
        return f"timer of {command.delay_seconds}s"
    if isinstance(command, StartChildWorkflow):
        return f"child workflow {command.workflow_type!r}"
    if isinstance(command, RecordSideEffect):
        return "side effect"
    if isinstance(command, RecordVersionMarker):
        return f"version marker {command.change_id!r}"
    if isinstance(command, UpsertSearchAttributes):
        return "search attribute upsert"
    if isinstance(command, WaitCondition):
        return f"wait_condition(key={command.condition_key!r})"
    if isinstance(command, list):
        return f"parallel group of {len(flatten(command))}"
    return str(command)


def _first(payload: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = payload.get(key)
        if value is not None:
            return value
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _recorded_activity_type(payload: dict[str, Any]) -> Any:
    nested = payload.get("activity")
    return _first(payload, "activity_type", "activity_name") or (
        nested.get("activity_type") if isinstance(nested, dict) else None
    )


def _path_entries(path: list[Any]) -> list[dict[str, Any]]:
    return [{k: e.get(k) for k in GROUP_KEYS} if isinstance(e, dict) else {} for e in path]


class Run:
    """Replays one workflow task."""

    def __init__(
        self,
        definition: WorkflowDefinition,
        history: h.History,
        reader: PayloadReader,
        ctx: WorkflowContext,
        start_input: list[Any],
        *,
        readonly: bool = False,
    ) -> None:
        self.definition = definition
        self.history = history
        self.reader = reader
        self.ctx = ctx
        self.start_input = start_input
        self.readonly = readonly  # queries/updates: rebuild state, never run new code
        self.instance: Any = None
        self.commands: list[Command] = []
        self.finished = False
        self.gen: Generator[Any, Any, Any] | None = None
        self.cursor = 0  # next result
        self.pcursor = 0  # next pending operation
        self.wcursor = 0  # next recorded wait
        self.rcursor = 0  # next positional receiver
        self.next_sequence = history.max_sequence + 1
        self.cancel_delivered = False

    # -- main loop ------------------------------------------------------------------------

    def execute(self) -> list[Command]:
        """Run the workflow until it blocks or ends; returns the task's commands."""
        self.instance = self.definition.cls()
        self._sync_replaying()
        try:
            out = self.instance.run(self.ctx, *self.start_input)
        except CATCHABLE as exc:
            return self._fail(exc)
        if not inspect.isgenerator(out):
            return self._finish(out)
        gen: Generator[Any, Any, Any] = out
        self.gen = gen
        action: int = _SEND
        value: Any = None
        try:
            while True:
                try:
                    yielded = gen.throw(value) if action == _THROW else gen.send(value)
                except StopIteration as stop:
                    return self._finish(stop.value)
                except CATCHABLE as exc:
                    return self._fail(exc)
                try:
                    cancelled = self._cancellation_due()
                    if cancelled is not None:
                        self._consume_cancelled_yield(yielded)
                        action, value = _THROW, cancelled
                    else:
                        action, value = self._resolve(yielded)
                except HandlerFailed as failed:
                    return self._fail(failed.error)
                if action == _STOP:
                    return self.commands
                self._sync_replaying()
        finally:
            self.ctx._replaying = True  # keep clean-up code in finally blocks quiet
            # RuntimeError: the generator yielded from its finally block; nothing more to do.
            with contextlib.suppress(RuntimeError):
                gen.close()

    def _cancellation_due(self) -> WorkflowCancelled | None:
        """A cooperative cancel recorded before the next result is raised at this yield."""
        request = self.history.cancel_request
        if request is None or self.cancel_delivered or self.cursor < request[0]:
            return None
        self.cancel_delivered = True
        reason = request[2].get("reason")
        return WorkflowCancelled(
            f"workflow cancelled: {reason}" if reason else "workflow cancelled"
        )

    def _consume_cancelled_yield(self, yielded: Any) -> None:
        """Skip the recorded operations of the yield the cancellation interrupts.

        Only operations recorded before the cancel request (sequence <= its mark) belong to
        that yield; a command it would newly emit is never emitted. So every replay makes the
        same decision at the same yield.
        """
        request = self.history.cancel_request
        assert request is not None
        limit = request[1]
        hist = self.history
        leaves = _flatten(yielded) if isinstance(yielded, list) else [yielded]
        for leaf in leaves:
            if isinstance(leaf, WaitCondition):
                if (
                    self.wcursor < len(hist.waits)
                    and (hist.waits[self.wcursor].sequence or 0) <= limit
                ):
                    self.wcursor += 1
                continue
            candidates: list[tuple[int, str]] = []
            if self.cursor < len(hist.results):
                seq = hist.results[self.cursor].op.sequence
                if seq is not None and seq <= limit:
                    candidates.append((seq, "result"))
            if self.pcursor < len(hist.pending):
                seq = hist.pending[self.pcursor].sequence
                if seq is not None and seq <= limit:
                    candidates.append((seq, "pending"))
            if not candidates:
                continue
            if min(candidates)[1] == "result":
                self.cursor += 1
            else:
                self.pcursor += 1

    def apply_remaining_receivers(self) -> None:
        """Apply receivers the code never reached (queries and updates see the latest state)."""
        for receiver in self.history.positional[self.rcursor :]:
            self._apply(receiver)
        self.rcursor = len(self.history.positional)
        for wait in self.history.waits[self.wcursor :]:
            for receiver in wait.receivers:
                self._apply(receiver)

    def _sync_replaying(self) -> None:
        self.ctx._replaying = self.readonly or self._recorded_left()

    def _recorded_left(self) -> bool:
        hist = self.history
        return (
            self.cursor < len(hist.results)
            or self.pcursor < len(hist.pending)
            or self.wcursor < len(hist.waits)
        )

    def _finish(self, value: Any) -> list[Command]:
        self._check_leftovers()
        try:
            # Receivers recorded after the last result still land before the result is sent
            # (the returned value may alias the state they mutate).
            self._apply_due(len(self.history.results))
        except HandlerFailed as failed:
            return self._fail(failed.error)
        self.finished = True
        self.commands.append(value if isinstance(value, ContinueAsNew) else CompleteWorkflow(value))
        return self.commands

    def _fail(self, exc: BaseException) -> list[Command]:
        self._check_leftovers()
        self.finished = True
        self.commands.append(failure_command(exc))
        return self.commands

    def _resolve(self, yielded: Any) -> _Step:
        if isinstance(yielded, list):
            return self._group(yielded)
        if isinstance(yielded, (ScheduleActivity, StartTimer, StartChildWorkflow)):
            return self._single(yielded)
        if isinstance(yielded, WaitCondition):
            return self._wait(yielded)
        if isinstance(yielded, RecordSideEffect):
            return self._side_effect(yielded)
        if isinstance(yielded, RecordVersionMarker):
            return self._version(yielded)
        if isinstance(yielded, UpsertSearchAttributes):
            return self._search_attributes(yielded)
        return _THROW, TypeError(
            f"workflow yielded {type(yielded).__name__}; yield a command built by ctx "
            "(return ctx.continue_as_new(...) instead of yielding it)"
        )

    # -- receivers ------------------------------------------------------------------------

    def _apply_due(self, limit: int) -> None:
        """Apply positional receivers recorded before result ``limit`` (called at each yield)."""
        positional = self.history.positional
        while self.rcursor < len(positional) and positional[self.rcursor].results_before <= limit:
            receiver = positional[self.rcursor]
            self.rcursor += 1
            self._apply(receiver)

    def _apply(self, receiver: h.Receiver) -> None:
        if receiver.applied:
            return
        receiver.applied = True
        table = self.definition.updates if receiver.is_update else self.definition.signals
        method = table.get(receiver.name)
        if method is None:
            if receiver.is_update:
                raise HandlerFailed(
                    LookupError(
                        f"workflow {self.definition.name!r} has no update {receiver.name!r}"
                    )
                )
            return  # signals without a handler are ignored
        kind = "update" if receiver.is_update else "signal"
        raw = _first(receiver.payload, "value", "input", "arguments")
        args = self.reader.decode_args(raw, receiver.payload, f"{kind} {receiver.name!r}")
        try:
            getattr(self.instance, method)(*args)
        except CATCHABLE as exc:
            raise HandlerFailed(exc) from exc

    # -- errors ---------------------------------------------------------------------------

    def _location(self) -> str:
        gen: Any = self.gen
        # The yield may sit in a sub-generator reached through ``yield from``.
        while gen is not None and getattr(gen, "gi_yieldfrom", None) is not None:
            inner = gen.gi_yieldfrom
            if getattr(inner, "gi_frame", None) is None:
                break
            gen = inner
        frame = getattr(gen, "gi_frame", None)
        if frame is None:
            return ""
        return f"{frame.f_code.co_filename}:{frame.f_lineno}"

    def _mismatch(
        self, sequence: int | None, yielded: str, recorded: list[str], detail: str
    ) -> NonDeterministicReplayError:
        where = self._location()
        text = f"{detail}; yielded at {where}" if where else detail
        return NonDeterministicReplayError(
            sequence if sequence is not None else self.next_sequence, yielded, recorded, text
        )

    def _mismatch_with_next(self, yielded: str) -> NonDeterministicReplayError:
        hist = self.history
        if self.cursor < len(hist.results):
            op = hist.results[self.cursor].op
            return self._mismatch(
                op.sequence,
                yielded,
                [t for t, _ in op.events],
                "history recorded a different step here",
            )
        if self.pcursor < len(hist.pending):
            op = hist.pending[self.pcursor]
            return self._mismatch(
                op.sequence,
                yielded,
                [t for t, _ in op.events],
                "history recorded a different step here",
            )
        wait = hist.waits[self.wcursor]
        return self._mismatch(
            wait.sequence,
            yielded,
            [ev.CONDITION_WAIT_OPENED],
            f"history opened condition wait {wait.key!r} here",
        )

    def _check_leftovers(self) -> None:
        if self._recorded_left():
            raise self._mismatch_with_next("workflow completion")

    def _check_wait_order(self, sequence: int | None, yielded: str) -> None:
        waits = self.history.waits
        if sequence is None or self.wcursor >= len(waits):
            return
        wait = waits[self.wcursor]
        if wait.sequence is not None and wait.sequence < sequence:
            raise self._mismatch(
                wait.sequence,
                yielded,
                [ev.CONDITION_WAIT_OPENED],
                f"history opened condition wait {wait.key!r} here",
            )

    def _check_shape(
        self, command: Leaf | Any, op: h.Op, expected_path: list[dict[str, Any]] | None
    ) -> None:
        kind = _KIND_OF[type(command)]
        recorded = [t for t, _ in op.events]

        def fail(detail: str) -> NonDeterministicReplayError:
            return self._mismatch(op.sequence, _describe(command), recorded, detail)

        for event_type, payload in op.events:
            recorded_kind = h.recorded_kind(event_type)
            if recorded_kind != kind:
                raise fail(
                    f"history recorded a {recorded_kind} step, the workflow yielded a {kind} step"
                )
            if payload.get("cancellation_scope_id") not in (None, "root"):
                raise fail("history recorded a cancellation scope this workflow does not open")
            path = payload.get("parallel_group_path")
            if expected_path is None and (path or payload.get("parallel_group_id") is not None):
                raise fail(
                    "history recorded a parallel group member, the workflow yielded a single command"
                )
            if (
                expected_path is not None
                and isinstance(path, list)
                and path
                and _path_entries(path) != expected_path
            ):
                raise fail(f"recorded parallel_group_path {path!r} differs from {expected_path!r}")
            if isinstance(command, ScheduleActivity):
                self._check_activity(command, payload, fail)
            elif isinstance(command, StartTimer):
                delay = payload.get("delay_seconds")
                if delay is not None and _int(delay) != command.delay_seconds:
                    raise fail(
                        f"recorded delay_seconds {delay!r}, the workflow asked for {command.delay_seconds}"
                    )
                if payload.get("cancellation_cleanup"):
                    raise fail("history recorded a cancellation clean-up timer")
            elif isinstance(command, StartChildWorkflow):
                self._check_child(command, payload, fail)
            elif isinstance(command, RecordVersionMarker):
                change_id = payload.get("change_id")
                if change_id != command.change_id:
                    raise fail(
                        f"recorded change_id {change_id!r}, the workflow asked for {command.change_id!r}"
                    )

    @staticmethod
    def _check_activity(command: ScheduleActivity, payload: dict[str, Any], fail: Any) -> None:
        recorded_type = _recorded_activity_type(payload)
        if recorded_type is not None and recorded_type != command.activity_type:
            raise fail(
                f"recorded activity_type {recorded_type!r}, the workflow scheduled {command.activity_type!r}"
            )
        if payload.get("execution_mode") == "local" or payload.get("local_activity") is True:
            raise fail("history recorded a local activity, the workflow scheduled a remote one")
        nested = payload.get("activity")
        policy = payload.get("cancellation_policy") or (
            nested.get("cancellation_policy") if isinstance(nested, dict) else None
        )
        if policy not in (None, "try_cancel"):
            raise fail(f"recorded cancellation_policy {policy!r}, the workflow uses 'try_cancel'")
        if payload.get("cancellation_cleanup"):
            raise fail("history recorded a cancellation clean-up activity")

    @staticmethod
    def _check_child(command: StartChildWorkflow, payload: dict[str, Any], fail: Any) -> None:
        recorded_type = _first(payload, "workflow_type", "child_workflow_type")
        if recorded_type is not None and recorded_type != command.workflow_type:
            raise fail(
                f"recorded child workflow_type {recorded_type!r}, the workflow started {command.workflow_type!r}"
            )
        close_policy = payload.get("parent_close_policy")
        if close_policy is not None and close_policy != (command.parent_close_policy or "abandon"):
            raise fail(
                f"recorded parent_close_policy {close_policy!r}, the workflow asks for "
                f"{command.parent_close_policy or 'abandon'!r}"
            )
        if payload.get("cancellation_policy") not in (None, "abandon"):
            raise fail(
                f"recorded cancellation_policy {payload.get('cancellation_policy')!r}, the workflow uses 'abandon'"
            )

    # -- values ---------------------------------------------------------------------------

    def _value(self, result: h.Result) -> _Step:
        event_type, payload = result.event_type, result.payload
        if event_type in (ev.ACTIVITY_COMPLETED, ev.CHILD_RUN_COMPLETED, ev.SIDE_EFFECT_RECORDED):
            raw = payload.get("result")
            if raw is None:
                raw = payload.get("output")
            return _SEND, self.reader.decode(
                raw, payload, f"{event_type} (sequence {result.op.sequence})"
            )
        if event_type in _ACTIVITY_FAILURES:
            return _THROW, self._activity_failure(event_type, payload, result.op.sequence)
        child_error = _CHILD_FAILURES.get(event_type)
        if child_error is not None:
            return _THROW, self._child_failure(child_error, event_type, payload)
        return _SEND, None  # timers, search attributes, memo

    @staticmethod
    def _activity_failure(
        event_type: str, payload: dict[str, Any], sequence: int | None
    ) -> ActivityFailed:
        exc = payload.get("exception")
        info: dict[str, Any] = exc if isinstance(exc, dict) else {}
        activity_type = _recorded_activity_type(payload)
        message = (
            payload.get("message")
            or info.get("message")
            or payload.get("closed_reason")
            or f"activity {activity_type or ''} {event_type}".replace("  ", " ")
        )
        non_retryable = payload.get("non_retryable")
        return ActivityFailed(
            str(message),
            activity_type=activity_type,
            step_sequence=sequence if sequence is not None and sequence > 0 else None,
            activity_execution_id=payload.get("activity_execution_id"),
            activity_attempt_id=payload.get("activity_attempt_id"),
            failure_id=payload.get("failure_id"),
            failure_category=payload.get("failure_category"),
            exception_type=_first(payload, "exception_type") or info.get("type"),
            exception_class=_first(payload, "exception_class") or info.get("class"),
            non_retryable=bool(
                non_retryable if non_retryable is not None else info.get("non_retryable")
            ),
            code=payload.get("code", info.get("code")),
            exception_payload=exc,
            activity=payload.get("activity"),
        )

    @staticmethod
    def _child_failure(
        error: type[ChildWorkflowFailed], event_type: str, payload: dict[str, Any]
    ) -> ChildWorkflowFailed:
        exc = payload.get("exception")
        info: dict[str, Any] = exc if isinstance(exc, dict) else {}
        message = str(
            payload.get("message") or info.get("message") or f"child workflow {event_type}"
        )
        exception_class = (
            payload.get("exception_class")
            or info.get("class")
            or payload.get("exception_type")
            or info.get("type")
        )
        run_id = payload.get("child_workflow_run_id")
        child_type = _first(payload, "child_workflow_type", "workflow_type")
        if error is ChildWorkflowFailed:
            return ChildWorkflowFailed(message, exception_class, "failed", run_id, child_type)
        return error(message, exception_class, run_id, child_type)  # type: ignore[arg-type]

    # -- operations -----------------------------------------------------------------------

    def _emit(self, command: Command, sequences: int = 1) -> None:
        self.commands.append(command)
        self.next_sequence += sequences

    def _single(self, command: ScheduleActivity | StartTimer | StartChildWorkflow) -> _Step:
        self._apply_due(self.cursor)
        hist = self.history
        if self.cursor < len(hist.results):
            result = hist.results[self.cursor]
            self._check_wait_order(result.op.sequence, _describe(command))
            self._check_shape(command, result.op, None)
            self.cursor += 1
            return self._value(result)
        if self.pcursor < len(hist.pending):
            op = hist.pending[self.pcursor]
            self._check_shape(command, op, None)
            self.pcursor += 1
            return _STOP, None  # already scheduled: wait for its resolution
        if self.wcursor < len(hist.waits):
            raise self._mismatch_with_next(_describe(command))
        if not self.readonly:
            self._emit(command)
        return _STOP, None

    def _side_effect(self, command: RecordSideEffect) -> _Step:
        self._apply_due(self.cursor)
        hist = self.history
        if self.cursor < len(hist.results):
            result = hist.results[self.cursor]
            self._check_wait_order(result.op.sequence, "side effect")
            self._check_shape(command, result.op, None)
            self.cursor += 1
            return self._value(result)
        if self._recorded_left():
            raise self._mismatch_with_next("side effect")
        if self.readonly:
            return _STOP, None  # never run a side effect outside a real workflow task
        try:
            value = command.fn() if command.fn is not None else command.result
            # Hand the code exactly what later replays will decode.
            value = codec.decode(codec.encode(value))
        except CATCHABLE as exc:
            return _THROW, exc
        self._emit(RecordSideEffect(value))
        return _SEND, value

    @staticmethod
    def _version_value(command: RecordVersionMarker, version: int) -> Any:
        if command.result_kind == "patched":
            return version >= 1
        if command.result_kind == "deprecated":
            return None
        return version

    def _version(self, command: RecordVersionMarker) -> _Step:
        self._apply_due(self.cursor)
        hist = self.history
        if self.cursor < len(hist.results):
            result = hist.results[self.cursor]
            if result.kind == h.VERSION and result.payload.get("change_id") == command.change_id:
                self._check_wait_order(result.op.sequence, _describe(command))
                self._check_shape(command, result.op, None)
                version = self._recorded_version(command, result)
                self.cursor += 1
                return _SEND, self._version_value(command, version)
        if self._recorded_left():
            # History went past this point before the marker existed: the legacy branch.
            if command.min_supported > _DEFAULT_VERSION:
                raise self._mismatch_with_next(_describe(command)) from None
            return _SEND, self._version_value(command, _DEFAULT_VERSION)
        if not self.readonly:
            self._emit(
                RecordVersionMarker(
                    command.change_id,
                    command.max_supported,
                    command.min_supported,
                    command.max_supported,
                    command.result_kind,
                )
            )
        return _SEND, self._version_value(command, command.max_supported)

    def _recorded_version(self, command: RecordVersionMarker, result: h.Result) -> int:
        payload = result.payload
        version, low, high = (
            _int(payload.get(k)) for k in ("version", "min_supported", "max_supported")
        )
        recorded = [t for t, _ in result.op.events]
        if version is None or low is None or high is None or not low <= version <= high:
            raise self._mismatch(
                result.op.sequence,
                _describe(command),
                recorded,
                f"malformed version marker payload {payload!r}",
            )
        if not command.min_supported <= version <= command.max_supported:
            raise self._mismatch(
                result.op.sequence,
                _describe(command),
                recorded,
                f"recorded version {version} is outside the supported range "
                f"{command.min_supported}..{command.max_supported}",
            )
        return version

    def _search_attributes(self, command: UpsertSearchAttributes) -> _Step:
        self._apply_due(self.cursor)
        hist = self.history
        if self.cursor < len(hist.results):
            result = hist.results[self.cursor]
            self._check_wait_order(result.op.sequence, _describe(command))
            self._check_shape(command, result.op, None)
            self.cursor += 1
            return _SEND, None
        if self._recorded_left():
            raise self._mismatch_with_next(_describe(command))
        if not self.readonly:
            self._emit(command)
        return _SEND, None

    # -- condition waits ------------------------------------------------------------------

    def _holds(self, command: WaitCondition) -> bool:
        try:
            return bool(command.predicate())
        except CATCHABLE as exc:
            raise HandlerFailed(exc) from exc

    @staticmethod
    def _same_wait(command: WaitCondition, wait: h.Wait) -> bool:
        fingerprint = wait.fingerprint
        return wait.key == command.condition_key and (
            not fingerprint or fingerprint == command.condition_definition_fingerprint
        )

    def _check_wait_identity(self, command: WaitCondition, wait: h.Wait) -> None:
        recorded = [ev.CONDITION_WAIT_OPENED]
        if wait.key is not None and wait.key != command.condition_key:
            raise self._mismatch(
                wait.sequence,
                _describe(command),
                recorded,
                f"recorded condition_key {wait.key!r} differs",
            )
        fingerprint = wait.fingerprint
        if (
            isinstance(fingerprint, str)
            and fingerprint
            and fingerprint != command.condition_definition_fingerprint
        ):
            raise self._mismatch(
                wait.sequence,
                _describe(command),
                recorded,
                f"condition_fingerprint_changed: recorded {fingerprint!r}, "
                f"the predicate now hashes to {command.condition_definition_fingerprint!r}",
            )
        hist = self.history
        if wait.sequence is not None:
            if self.cursor < len(hist.results):
                op = hist.results[self.cursor].op
                if op.sequence is not None and op.sequence < wait.sequence:
                    raise self._mismatch_with_next(_describe(command))
            elif self.pcursor < len(hist.pending):
                op = hist.pending[self.pcursor]
                if op.sequence is not None and op.sequence < wait.sequence:
                    raise self._mismatch_with_next(_describe(command))

    def _skip_due_wait(self, command: WaitCondition) -> None:
        """Drop a recorded wait the code no longer needs because its predicate already holds.

        That happens when a receiver was recorded *before* the wait was opened (a server that
        does not buffer events during a task): the task that opened the wait had not seen it.
        """
        hist = self.history
        if self.wcursor >= len(hist.waits):
            return
        wait = hist.waits[self.wcursor]
        if wait.sequence is None or not self._same_wait(command, wait):
            return
        if self.cursor < len(hist.results):
            following = hist.results[self.cursor].op.sequence
        elif self.pcursor < len(hist.pending):
            following = hist.pending[self.pcursor].sequence
        else:
            following = None
        if following is None or wait.sequence < following:
            self.wcursor += 1
            for receiver in wait.receivers:
                self._apply(receiver)

    def _wait(self, command: WaitCondition) -> _Step:
        self._apply_due(self.cursor)
        if self._holds(command):
            self._skip_due_wait(command)
            return _SEND, True
        waits = self.history.waits
        paired = False
        while self.wcursor < len(waits):
            wait = waits[self.wcursor]
            self._check_wait_identity(command, wait)
            self.wcursor += 1
            paired = True
            for receiver in wait.receivers:
                self._apply(receiver)
            if wait.outcome == "timed_out":
                return _SEND, False  # a timeout wins even if the predicate now holds
            following = waits[self.wcursor] if self.wcursor < len(waits) else None
            if (
                following is not None
                and self._same_wait(command, following)
                and not self._holds(command)
            ):
                continue  # this wait was re-opened: carry on with the re-opened record
            if wait.outcome == "satisfied" or self._holds(command):
                return _SEND, True
            break
        if not paired and self._recorded_left():
            raise self._mismatch_with_next(_describe(command))
        if not self.readonly:
            self._emit(command)  # open (or re-open) the wait and block on it
        return _STOP, None

    # -- parallel groups ------------------------------------------------------------------

    def _group(self, tree: list[Any]) -> _Step:
        try:
            leaves = flatten(tree)
        except TypeError as exc:
            return _THROW, exc
        size = len(leaves)
        hist = self.history
        if size == 0:
            self._apply_due(self.cursor)
            return _SEND, []
        taken: list[h.Result] = []
        group_id: Any = None
        index = self.cursor
        while len(taken) < size and index < len(hist.results):
            result = hist.results[index]
            entry = outermost(result.payload)
            rid = entry.get("parallel_group_id") if entry else None
            if taken and rid != group_id:
                break
            group_id = rid
            taken.append(result)
            index += 1
        self._apply_due(self.cursor)
        if len(taken) == size:
            return self._resolved_group(tree, leaves, taken)
        if index < len(hist.results):
            raise self._mismatch_with_next(_describe(tree))
        pending: list[h.Op] = []
        pindex = self.pcursor
        while len(taken) + len(pending) < size and pindex < len(hist.pending):
            op = hist.pending[pindex]
            entry = self._op_group(op)
            rid = entry.get("parallel_group_id") if entry else None
            if (taken or pending) and rid != group_id:
                break
            group_id = rid
            pending.append(op)
            pindex += 1
        if not taken and not pending:
            if self.wcursor < len(hist.waits):
                raise self._mismatch_with_next(_describe(tree))
            if not self.readonly:
                self._emit_group(tree, leaves, self.next_sequence, new=True)
            return _STOP, None
        members = [r.op for r in taken] + pending
        base = self._recorded_base(members)
        expected = leaf_metadata(tree, leaves, base)
        for position, op in enumerate(members):
            slot = self._member_index(op, base, position, size)
            self._check_shape(leaves[slot], op, expected[slot]["parallel_group_path"])
        self.cursor += len(taken)
        self.pcursor = pindex
        if not self.readonly:
            self._emit_group(
                tree, leaves, base, new=False
            )  # re-send every member until all resolve
        return _STOP, None

    def _resolved_group(self, tree: list[Any], leaves: list[Leaf], taken: list[h.Result]) -> _Step:
        size = len(leaves)
        base = self._recorded_base([r.op for r in taken])
        slots = [self._member_index(r.op, base, i, size) for i, r in enumerate(taken)]
        ordered = list(taken)
        if sorted(slots) == list(range(size)) and self._metadata_consistent(taken):
            for slot, result in zip(slots, taken, strict=True):
                ordered[slot] = result
        expected = leaf_metadata(tree, leaves, base)
        for slot, result in enumerate(ordered):
            self._check_wait_order(result.op.sequence, _describe(tree))
            self._check_shape(leaves[slot], result.op, expected[slot]["parallel_group_path"])
        self.cursor += size
        values: list[Any] = []
        failure: Any = None
        for result in ordered:
            action, value = self._value(result)
            if action == _THROW and failure is None:
                failure = value
            values.append(value)
        if failure is not None:
            return _THROW, failure  # the first failing member in yield order
        return _SEND, _reshape(tree, iter(values))

    @staticmethod
    def _op_group(op: h.Op) -> dict[str, Any] | None:
        for _, payload in op.events:
            entry = outermost(payload)
            if entry is not None:
                return entry
        return None

    def _recorded_base(self, members: list[h.Op]) -> int:
        for op in members:
            entry = self._op_group(op)
            base = _int(entry.get("parallel_group_base_sequence")) if entry else None
            if base is not None:
                return base
        sequences = [op.sequence for op in members if op.sequence is not None]
        return min(sequences) if sequences else self.next_sequence

    def _member_index(self, op: h.Op, base: int, position: int, size: int) -> int:
        entry = self._op_group(op)
        slot = _int(entry.get("parallel_group_index")) if entry else None
        if slot is None and op.sequence is not None and entry is None:
            slot = op.sequence - base
        return slot if slot is not None and 0 <= slot < size else min(position, size - 1)

    @staticmethod
    def _metadata_consistent(taken: list[h.Result]) -> bool:
        """Reordering is only trusted when ``base + index == sequence`` on every path entry."""
        for result in taken:
            payload = result.payload
            sequence = result.op.sequence
            path = payload.get("parallel_group_path")
            entries = path if isinstance(path, list) and path else [payload]
            for entry in entries:
                if not isinstance(entry, dict):
                    return False
                base = _int(entry.get("parallel_group_base_sequence"))
                index = _int(entry.get("parallel_group_index"))
                if base is None or index is None:
                    return False
                if sequence is not None and base + index != sequence:
                    return False
        return True

    def _emit_group(self, tree: list[Any], leaves: list[Leaf], base: int, *, new: bool) -> None:
        for leaf, meta in zip(leaves, leaf_metadata(tree, leaves, base), strict=True):
            copy: Leaf
            if isinstance(leaf, ScheduleActivity):
                copy = ScheduleActivity(
                    leaf.activity_type,
                    leaf.arguments,
                    leaf.queue,
                    leaf.retry_policy,
                    leaf.start_to_close_timeout,
                    leaf.schedule_to_start_timeout,
                    leaf.schedule_to_close_timeout,
                    leaf.heartbeat_timeout,
                    parallel_group=meta,
                )
            elif isinstance(leaf, StartTimer):
                copy = StartTimer(leaf.delay_seconds, parallel_group=meta)
            else:
                copy = StartChildWorkflow(
                    leaf.workflow_type,
                    leaf.arguments,
                    leaf.task_queue,
                    leaf.parent_close_policy,
                    leaf.retry_policy,
                    leaf.execution_timeout_seconds,
                    leaf.run_timeout_seconds,
                    parallel_group=meta,
                )
            self.commands.append(copy)
        if new:
            self.next_sequence += len(leaves)
