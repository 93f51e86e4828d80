"""Worker interceptors: wrappers around each task the worker runs.

Each hook takes one context object and ``next``; interceptors run in the order given, the
first one outermost. New context fields can be added without breaking existing hooks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = [
    "ActivityInterceptorContext",
    "PassthroughWorkerInterceptor",
    "QueryTaskInterceptorContext",
    "WorkerInterceptor",
    "WorkflowTaskInterceptorContext",
    "chain",
]


@dataclass
class WorkflowTaskInterceptorContext:
    """A workflow task about to be replayed; ``next`` returns its commands (or None)."""

    worker_id: str
    task_queue: str
    task: Mapping[str, Any]


@dataclass
class ActivityInterceptorContext:
    """An activity attempt about to run; ``next`` returns the activity's result."""

    worker_id: str
    task_queue: str
    task: Mapping[str, Any]
    activity_type: str
    args: list[Any] = field(default_factory=list)


@dataclass
class QueryTaskInterceptorContext:
    """A query task; ``next`` returns the encoded (base64 Avro) query result."""

    worker_id: str
    task_queue: str
    task: Mapping[str, Any]


WorkflowTaskNext = Callable[
    [WorkflowTaskInterceptorContext], Awaitable[list[dict[str, Any]] | None]
]
ActivityNext = Callable[[ActivityInterceptorContext], Awaitable[Any]]
QueryTaskNext = Callable[[QueryTaskInterceptorContext], Awaitable[str]]


@runtime_checkable
class WorkerInterceptor(Protocol):
    """All three hooks; subclass :class:`PassthroughWorkerInterceptor` to implement only some."""

    async def execute_workflow_task(
        self, context: WorkflowTaskInterceptorContext, next: WorkflowTaskNext
    ) -> list[dict[str, Any]] | None: ...

    async def execute_activity(
        self, context: ActivityInterceptorContext, next: ActivityNext
    ) -> Any: ...

    async def execute_query_task(
        self, context: QueryTaskInterceptorContext, next: QueryTaskNext
    ) -> str: ...


class PassthroughWorkerInterceptor:
    """Calls ``next`` in every hook; override the ones you need."""

    async def execute_workflow_task(
        self, context: WorkflowTaskInterceptorContext, next: WorkflowTaskNext
    ) -> list[dict[str, Any]] | None:
        return await next(context)

    async def execute_activity(
        self, context: ActivityInterceptorContext, next: ActivityNext
    ) -> Any:
        return await next(context)

    async def execute_query_task(
        self, context: QueryTaskInterceptorContext, next: QueryTaskNext
    ) -> str:
        return await next(context)


C = TypeVar("C")
R = TypeVar("R")


def chain(
    interceptors: Sequence[Any], hook: str, terminal: Callable[[C], Awaitable[R]]
) -> Callable[[C], Awaitable[R]]:
    """Compose ``hook`` of each interceptor around ``terminal`` once, at worker start."""
    handler = terminal
    for interceptor in reversed(interceptors):
        method = getattr(interceptor, hook, None)
        if method is None:
            continue
        handler = _bind(method, handler)
    return handler


def _bind(
    method: Callable[[C, Callable[[C], Awaitable[R]]], Awaitable[R]],
    inner: Callable[[C], Awaitable[R]],
) -> Callable[[C], Awaitable[R]]:
    async def call(context: C) -> R:
        return await method(context, inner)

    return call
