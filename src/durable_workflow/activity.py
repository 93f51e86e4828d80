"""Activities: the ``@activity.defn`` decorator and the per-attempt :class:`ActivityContext`.

An activity is a plain function, sync or async. The worker runs async ones on its event loop
and sync ones in a thread pool so they cannot block polling. Inside either kind,
:func:`context` returns the running attempt's context (a contextvar, copied into the thread).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from durable_workflow import errors

__all__ = [
    "ActivityContext",
    "ActivityDefinition",
    "ActivityInfo",
    "ActivityRetryInfo",
    "context",
    "defn",
    "get_definition",
]

F = TypeVar("F", bound=Callable[..., Any])
_ATTR = "__durable_activity__"


@dataclass(frozen=True)
class ActivityDefinition:
    """A registered activity: its language-neutral type name and the function."""

    name: str
    fn: Callable[..., Any]
    is_async: bool


@overload
def defn(fn: F, *, name: str | None = None) -> F: ...


@overload
def defn(fn: None = None, *, name: str | None = None) -> Callable[[F], F]: ...


# Overloads keep the decorated function's type, so user code stays typed under mypy --strict.
def defn(fn: F | None = None, *, name: str | None = None) -> F | Callable[[F], F]:
    """Register a function as an activity named ``name`` (default: the function's name).

    Usable as ``@activity.defn(name="greet")`` or bare ``@activity.defn``; the function is
    returned unchanged, so it can still be called directly in tests.
    """

    def wrap(func: F) -> F:
        type_name = name or getattr(func, "__name__", None)
        if not type_name:
            raise ValueError("activity.defn needs a name for this callable")
        setattr(func, _ATTR, ActivityDefinition(type_name, func, _is_async(func)))
        return func

    return wrap(fn) if fn is not None else wrap


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
    )


def get_definition(fn: Callable[..., Any]) -> ActivityDefinition:
    """The definition of a decorated activity; an undecorated function uses its own name."""
    found = getattr(fn, _ATTR, None)
    if isinstance(found, ActivityDefinition):
        return found
    if isinstance(fn, ActivityDefinition):
        return fn
    type_name = getattr(fn, "__name__", None)
    if not callable(fn) or not type_name:
        raise TypeError(f"{fn!r} is not an activity function")
    return ActivityDefinition(type_name, fn, _is_async(fn))


@dataclass(frozen=True)
class ActivityRetryInfo:
    """The retry budget of the running activity, from the task's retry policy snapshot."""

    attempt_number: int
    policy: Mapping[str, Any] | None = None

    @property
    def policy_provided(self) -> bool:
        return self.policy is not None

    @property
    def max_attempts(self) -> int | None:
        """Configured attempts, or None when unlimited or unknown."""
        if self.policy is None:
            return None
        value = self.policy.get("max_attempts")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def is_unlimited(self) -> bool:
        return self.policy is not None and self.policy.get("max_attempts", 0) is None

    @property
    def is_last_configured_attempt(self) -> bool | None:
        limit = self.max_attempts
        return None if limit is None else self.attempt_number >= limit


@dataclass(frozen=True)
class ActivityInfo:
    """Facts about the running activity attempt."""

    task_id: str
    activity_type: str
    activity_attempt_id: str
    attempt_number: int
    task_queue: str
    worker_id: str
    retry_info: ActivityRetryInfo
    workflow_id: str | None = None
    run_id: str | None = None
    task: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_task(cls, task: Mapping[str, Any], *, worker_id: str, task_queue: str) -> ActivityInfo:
        attempt = task.get("attempt_number")
        attempt_number = attempt if isinstance(attempt, int) and attempt >= 1 else 1
        policy = task.get("retry_policy")
        return cls(
            task_id=str(task["task_id"]),
            activity_type=str(task.get("activity_type") or ""),
            activity_attempt_id=str(
                task.get("activity_attempt_id") or task.get("attempt_id") or ""
            ),
            attempt_number=attempt_number,
            task_queue=str(task.get("task_queue") or task_queue),
            worker_id=worker_id,
            retry_info=ActivityRetryInfo(
                attempt_number, policy if isinstance(policy, dict) else None
            ),
            workflow_id=task.get("workflow_id"),
            run_id=task.get("run_id"),
            task=task,
        )


_Heartbeat = Callable[[dict[str, Any] | None], Awaitable[Mapping[str, Any]]]


class ActivityContext:
    """Per-attempt handle: :attr:`info`, :attr:`is_cancelled` and heartbeats."""

    def __init__(
        self,
        *,
        info: ActivityInfo,
        heartbeat: _Heartbeat,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._info = info
        self._send_heartbeat = heartbeat
        self._loop = loop
        self._cancelled = False
        self._lease_lost_reason: str | None = None

    @property
    def info(self) -> ActivityInfo:
        return self._info

    @property
    def is_cancelled(self) -> bool:
        """True once a heartbeat answer said the activity or its workflow was cancelled."""
        return self._cancelled

    async def heartbeat(self, details: Mapping[str, Any] | None = None) -> None:
        """Report progress and renew the lease.

        Raises :class:`~durable_workflow.errors.ActivityCancelled` when the server asks the
        activity to stop, and :class:`~durable_workflow.errors.ActivityLeaseAuthorityLost`
        when this attempt may no longer report (its lease was taken away).
        """
        payload = None if details is None else _details(details)
        try:
            answer = await self._send_heartbeat(payload)
        except errors.DurableWorkflowError as exc:
            # Fenced-out heartbeats come back as 404/409 whose body says why.
            body = getattr(exc, "body", None)
            if not isinstance(body, dict):
                raise
            answer = body
        if answer.get("cancel_requested") is True:
            self._cancelled = True
            raise errors.ActivityCancelled()
        if answer.get("can_continue") is False or (
            "reason" in answer and answer.get("reason") in _LEASE_LOST
        ):
            self._lease_lost_reason = str(answer.get("reason") or "lease_lost")
            raise errors.ActivityLeaseAuthorityLost(self._info.task_id, self._lease_lost_reason)

    def heartbeat_sync(self, details: Mapping[str, Any] | None = None) -> None:
        """:meth:`heartbeat` for sync activities (they run in a worker thread)."""
        if _on_loop_thread(self._loop):
            raise RuntimeError(
                "heartbeat_sync() blocks; use 'await ctx.heartbeat()' in async activities"
            )
        asyncio.run_coroutine_threadsafe(self.heartbeat(details), self._loop).result()


_LEASE_LOST = frozenset(
    {
        "attempt_not_found",
        "lease_owner_mismatch",
        "task_mismatch",
        "task_not_found",
        "lease_expired",
    }
)


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    thread_id = getattr(loop, "_thread_id", None)
    return thread_id == threading.get_ident()


def _details(details: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(details, Mapping):
        return dict(details)
    return {"value": details}  # the wire wants a JSON object


_current: contextvars.ContextVar[ActivityContext | None] = contextvars.ContextVar(
    "durable_workflow_activity_context", default=None
)


def context() -> ActivityContext:
    """The context of the activity attempt running in this task or thread."""
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError("activity.context() called outside a running activity")
    return ctx


def _set_context(ctx: ActivityContext | None) -> contextvars.Token[ActivityContext | None]:
    return _current.set(ctx)


def _reset_context(token: contextvars.Token[ActivityContext | None]) -> None:
    _current.reset(token)
