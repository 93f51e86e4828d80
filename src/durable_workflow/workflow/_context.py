"""``WorkflowContext``: the deterministic helper surface passed to ``run``.

Every method only *builds* a command; nothing happens until workflow code yields it and the
replayer resolves it against history. Clock, randomness and UUIDs derive from history
(the run id and the ``WorkflowStarted`` time), so every replay sees the same values.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random as _random
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..retry_policy import ActivityRetryPolicy, ChildWorkflowRetryPolicy
from ._commands import (
    ContinueAsNew,
    RecordSideEffect,
    RecordVersionMarker,
    ScheduleActivity,
    StartChildWorkflow,
    StartTimer,
    UpsertSearchAttributes,
    WaitCondition,
)

__all__ = ["WorkflowContext", "predicate_fingerprint"]

REPLAY_LOGGER_NAME = "durable_workflow.workflow.replay"

if TYPE_CHECKING:
    _AdapterBase = logging.LoggerAdapter[logging.Logger]
else:
    _AdapterBase = logging.LoggerAdapter


class _ReplayAwareLogger(_AdapterBase):
    """Drops records while the workflow re-executes code whose effects history already holds."""

    def __init__(self, logger: logging.Logger, ctx: WorkflowContext) -> None:
        super().__init__(logger, {})
        self._ctx = ctx

    def isEnabledFor(self, level: int) -> bool:
        return not self._ctx.is_replaying and self.logger.isEnabledFor(level)


_FINGERPRINT_DOMAIN = b"durable-workflow-python.wait-condition.v1\0"
_FINGERPRINT_CODE_FIELDS = (
    "co_argcount",
    "co_posonlyargcount",
    "co_kwonlyargcount",
    "co_code",
    "co_consts",
    "co_names",
    "co_varnames",
    "co_freevars",
)


def predicate_fingerprint(predicate: Callable[[], Any]) -> str:
    """``sha256:`` digest identifying a ``wait_condition`` predicate across replays.

    The digest covers a domain tag, the predicate's module and qualified name, and the
    repr of a fixed tuple of its code attributes. That definition is part of recorded
    history (``ConditionWaitOpened.condition_definition_fingerprint``), so it must equal
    what other Python SDK workers record for the same predicate, or their histories
    would not replay here.
    """
    digest = hashlib.sha256(_FINGERPRINT_DOMAIN)
    for part in (getattr(predicate, "__module__", ""), getattr(predicate, "__qualname__", "")):
        digest.update(f"{part}\0".encode())
    code = getattr(predicate, "__code__", None)
    if code is None:
        digest.update(repr(predicate).encode())
    else:
        digest.update(repr(tuple(getattr(code, name) for name in _FINGERPRINT_CODE_FIELDS)).encode())
    return f"sha256:{digest.hexdigest()}"


def _whole_seconds(seconds: float, what: str) -> int:
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not math.isfinite(seconds)
    ):
        raise ValueError(f"{what} must be a finite number of seconds, got {seconds!r}")
    if seconds < 0:
        raise ValueError(f"{what} must not be negative, got {seconds!r}")
    return math.ceil(seconds)


def _timeout(value: float | None, what: str) -> int | None:
    if value is None:
        return None
    whole = _whole_seconds(value, what)
    if whole < 1:
        raise ValueError(f"{what} must be at least 1 second, got {value!r}")
    return whole


class WorkflowContext:
    """Replay-safe helpers for workflow code (``ctx`` in ``run(self, ctx, *args)``)."""

    def __init__(
        self,
        *,
        run_id: str = "",
        current_time: datetime | None = None,
        workflow_id: str = "",
        workflow_type: str = "",
        task_queue: str = "",
    ) -> None:
        self._run_id = run_id
        self._workflow_id = workflow_id
        self._workflow_type = workflow_type
        self._task_queue = task_queue
        self._current_time = current_time
        self._rng: _random.Random | None = None
        # The replayer flips this as it moves from recorded history to new code.
        self._replaying = False
        self._logger = _ReplayAwareLogger(logging.getLogger(REPLAY_LOGGER_NAME), self)

    # -- identity -------------------------------------------------------------------------

    @property
    def workflow_id(self) -> str:
        """The workflow (instance) id."""
        return self._workflow_id

    @property
    def run_id(self) -> str:
        """The id of this run."""
        return self._run_id

    @property
    def workflow_type(self) -> str:
        """The registered type name of this workflow."""
        return self._workflow_type

    @property
    def task_queue(self) -> str:
        """The task queue this run's workflow tasks are polled from."""
        return self._task_queue

    @property
    def is_replaying(self) -> bool:
        """True while the code re-executes steps history already recorded."""
        return self._replaying

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger that stays silent while replaying recorded history."""
        return self._logger

    # -- durable commands ---------------------------------------------------------------------

    def schedule_activity(
        self,
        activity_type: str,
        arguments: Sequence[Any] | None = None,
        *,
        queue: str | None = None,
        retry_policy: ActivityRetryPolicy | Mapping[str, Any] | None = None,
        start_to_close_timeout: float | None = None,
        schedule_to_start_timeout: float | None = None,
        schedule_to_close_timeout: float | None = None,
        heartbeat_timeout: float | None = None,
    ) -> ScheduleActivity:
        """Run activity ``activity_type``; the yield resolves to its result or raises ``ActivityFailed``."""
        if not isinstance(activity_type, str) or not activity_type:
            raise ValueError("activity_type must be a non-empty string")
        stc = _timeout(start_to_close_timeout, "start_to_close_timeout")
        sts = _timeout(schedule_to_start_timeout, "schedule_to_start_timeout")
        scl = _timeout(schedule_to_close_timeout, "schedule_to_close_timeout")
        hb = _timeout(heartbeat_timeout, "heartbeat_timeout")
        if hb is not None and stc is not None and hb > stc:
            raise ValueError("heartbeat_timeout must not exceed start_to_close_timeout")
        if scl is not None and stc is not None and stc > scl:
            raise ValueError("start_to_close_timeout must not exceed schedule_to_close_timeout")
        if scl is not None and sts is not None and sts > scl:
            raise ValueError("schedule_to_start_timeout must not exceed schedule_to_close_timeout")
        return ScheduleActivity(
            activity_type,
            list(arguments) if arguments is not None else [],
            queue=queue,
            retry_policy=retry_policy,
            start_to_close_timeout=stc,
            schedule_to_start_timeout=sts,
            schedule_to_close_timeout=scl,
            heartbeat_timeout=hb,
        )

    def start_timer(self, seconds: float) -> StartTimer:
        """A durable timer; the yield resolves to ``None`` after ``seconds`` (rounded up)."""
        return StartTimer(_whole_seconds(seconds, "timer seconds"))

    def sleep(self, seconds: float) -> StartTimer:
        """Durable sleep: ``start_timer`` rounding ``seconds`` up to whole seconds."""
        return StartTimer(_whole_seconds(seconds, "sleep seconds"))

    def wait_condition(
        self, predicate: Callable[[], Any], *, key: str | None = None, timeout: float | None = None
    ) -> WaitCondition:
        """Yield until ``predicate()`` is truthy (``True``) or ``timeout`` seconds pass (``False``)."""
        if not callable(predicate):
            raise TypeError("wait_condition predicate must be callable")
        return WaitCondition(
            predicate,
            condition_key=key,
            condition_definition_fingerprint=predicate_fingerprint(predicate),
            timeout_seconds=None
            if timeout is None
            else _whole_seconds(timeout, "wait_condition timeout"),
        )

    def side_effect(self, fn: Callable[[], Any]) -> RecordSideEffect:
        """Run ``fn`` once and record its value; replays resolve to the recorded value."""
        if not callable(fn):
            raise TypeError("side_effect expects a callable")
        return RecordSideEffect(None, fn=fn)

    def get_version(
        self, change_id: str, min_supported: int, max_supported: int
    ) -> RecordVersionMarker:
        """Resolve the code version for ``change_id``: ``max_supported`` for new runs, the recorded one otherwise.

        Runs that passed this point before the marker existed resolve ``-1``.
        """
        if not isinstance(change_id, str) or not change_id:
            raise ValueError("change_id must be a non-empty string")
        if min_supported > max_supported:
            raise ValueError("min_supported must not exceed max_supported")
        return RecordVersionMarker(change_id, max_supported, min_supported, max_supported)

    def patched(self, change_id: str) -> RecordVersionMarker:
        """``True`` for runs that reached this point with the patch, ``False`` for older runs."""
        return RecordVersionMarker(change_id, 1, -1, 1, result_kind="patched")

    def deprecate_patch(self, change_id: str) -> RecordVersionMarker:
        """Keep the ``change_id`` marker consistent after the unpatched branch was removed."""
        return RecordVersionMarker(change_id, 1, -1, 1, result_kind="deprecated")

    def upsert_search_attributes(self, attrs: Mapping[str, Any]) -> UpsertSearchAttributes:
        """Merge ``attrs`` (plain JSON values) into the run's search attributes."""
        return UpsertSearchAttributes(dict(attrs))

    def start_child_workflow(
        self,
        workflow_type: str,
        arguments: Sequence[Any] | None = None,
        *,
        task_queue: str | None = None,
        parent_close_policy: str | None = None,
        retry_policy: ChildWorkflowRetryPolicy | Mapping[str, Any] | None = None,
        execution_timeout_seconds: float | None = None,
        run_timeout_seconds: float | None = None,
    ) -> StartChildWorkflow:
        """Start a child workflow; the yield resolves to its result or raises ``ChildWorkflowFailed``."""
        if not isinstance(workflow_type, str) or not workflow_type:
            raise ValueError("workflow_type must be a non-empty string")
        return StartChildWorkflow(
            workflow_type,
            list(arguments) if arguments is not None else [],
            task_queue=task_queue,
            parent_close_policy=parent_close_policy,
            retry_policy=retry_policy,
            execution_timeout_seconds=_timeout(
                execution_timeout_seconds, "execution_timeout_seconds"
            ),
            run_timeout_seconds=_timeout(run_timeout_seconds, "run_timeout_seconds"),
        )

    def continue_as_new(
        self, *args: Any, workflow_type: str | None = None, task_queue: str | None = None
    ) -> ContinueAsNew:
        """Build the value to *return* from ``run`` to restart with ``args`` and fresh history."""
        return ContinueAsNew(
            workflow_type=workflow_type, arguments=list(args), task_queue=task_queue
        )

    # -- deterministic values -------------------------------------------------------------

    def now(self) -> datetime:
        """The run's clock: when ``WorkflowStarted`` was recorded (timezone-aware)."""
        if self._current_time is None:
            raise RuntimeError(
                "history has no WorkflowStarted timestamp, so ctx.now() is not deterministic"
            )
        return self._current_time

    def random(self) -> _random.Random:
        """A ``random.Random`` seeded from the run id (the same sequence on every replay)."""
        if self._rng is None:
            self._rng = _random.Random(f"durable-workflow:{self._run_id}")
        return self._rng

    def uuid4(self) -> uuid.UUID:
        """A deterministic version-4 UUID drawn from :meth:`random`."""
        return uuid.UUID(int=self.random().getrandbits(128), version=4)

    def uuid7(self) -> uuid.UUID:
        """A deterministic version-7 UUID: :meth:`now` milliseconds plus bits from :meth:`random`."""
        millis = int(self.now().timestamp() * 1000) & ((1 << 48) - 1)
        rand = self.random().getrandbits(74)
        rand_a, rand_b = rand >> 62, rand & ((1 << 62) - 1)
        value = (millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
        return uuid.UUID(int=value)
