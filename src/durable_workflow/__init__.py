"""Durable Workflow for Python: durable execution engine, server and SDK.

Quick start::

    from durable_workflow import Client, Worker, activity, workflow

    async with Client("sqlite:///app.db") as client:  # or "http://localhost:8080"
        ...

Workflow-side names (``workflow``, ``Replayer``, retry policies, ...) are resolved on first
access, so ``import durable_workflow`` stays cheap and never loads the server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from durable_workflow import activity
from durable_workflow.activity import ActivityContext, ActivityInfo, ActivityRetryInfo
from durable_workflow.client import (
    Client,
    WorkflowExecution,
    WorkflowHandle,
    WorkflowList,
    WorkflowRun,
    WorkflowRunList,
)
from durable_workflow.errors import (
    ActivityCancelled,
    ActivityFailed,
    ActivityLeaseAuthorityLost,
    ChildWorkflowCancelled,
    ChildWorkflowFailed,
    ChildWorkflowTerminated,
    DurableWorkflowError,
    InvalidArgument,
    NamespaceNotFound,
    NonDeterministicReplayError,
    NonRetryableError,
    QueryFailed,
    RuntimeCapabilityUnsupported,
    RuntimeDiscoveryUnavailable,
    ScheduleAlreadyExists,
    ScheduleNotFound,
    SearchAttributeNotFound,
    ServerError,
    SignalFailed,
    Unauthorized,
    UpdateFailed,
    UpdateRejected,
    WorkerNotFound,
    WorkflowAlreadyStarted,
    WorkflowCancelled,
    WorkflowFailed,
    WorkflowNotFound,
    WorkflowTerminated,
    WorkflowTimedOut,
)
from durable_workflow.interceptors import (
    ActivityInterceptorContext,
    PassthroughWorkerInterceptor,
    QueryTaskInterceptorContext,
    WorkerInterceptor,
    WorkflowTaskInterceptorContext,
)
from durable_workflow.metrics import (
    InMemoryMetrics,
    MetricsRecorder,
    NoopMetrics,
    PrometheusMetrics,
)
from durable_workflow.serializer import to_avro_payload_value
from durable_workflow.worker import Worker

if TYPE_CHECKING:
    from durable_workflow import workflow
    from durable_workflow.retry_policy import (
        ActivityRetryPolicy,
        ChildWorkflowRetryPolicy,
        TransportRetryPolicy,
    )
    from durable_workflow.workflow import ContinueAsNew, Replayer, ReplayOutcome, WorkflowContext

__all__ = [
    "ActivityCancelled",
    "ActivityContext",
    "ActivityFailed",
    "ActivityInfo",
    "ActivityInterceptorContext",
    "ActivityLeaseAuthorityLost",
    "ActivityRetryInfo",
    "ActivityRetryPolicy",
    "ChildWorkflowCancelled",
    "ChildWorkflowFailed",
    "ChildWorkflowRetryPolicy",
    "ChildWorkflowTerminated",
    "Client",
    "ContinueAsNew",
    "DurableWorkflowError",
    "InMemoryMetrics",
    "InvalidArgument",
    "MetricsRecorder",
    "NamespaceNotFound",
    "NonDeterministicReplayError",
    "NonRetryableError",
    "NoopMetrics",
    "PassthroughWorkerInterceptor",
    "PrometheusMetrics",
    "QueryFailed",
    "QueryTaskInterceptorContext",
    "ReplayOutcome",
    "Replayer",
    "RuntimeCapabilityUnsupported",
    "RuntimeDiscoveryUnavailable",
    "ScheduleAlreadyExists",
    "ScheduleNotFound",
    "SearchAttributeNotFound",
    "ServerError",
    "SignalFailed",
    "TransportRetryPolicy",
    "Unauthorized",
    "UpdateFailed",
    "UpdateRejected",
    "Worker",
    "WorkerInterceptor",
    "WorkerNotFound",
    "WorkflowAlreadyStarted",
    "WorkflowCancelled",
    "WorkflowContext",
    "WorkflowExecution",
    "WorkflowFailed",
    "WorkflowHandle",
    "WorkflowList",
    "WorkflowNotFound",
    "WorkflowRun",
    "WorkflowRunList",
    "WorkflowTaskInterceptorContext",
    "WorkflowTerminated",
    "WorkflowTimedOut",
    "activity",
    "to_avro_payload_value",
    "workflow",
]

# name -> modules to look in, first hit wins (the workflow side is written alongside this file).
_LAZY: dict[str, tuple[str, ...]] = {
    "workflow": (),
    "ActivityRetryPolicy": ("durable_workflow.retry_policy",),
    "ChildWorkflowRetryPolicy": ("durable_workflow.retry_policy",),
    "TransportRetryPolicy": ("durable_workflow.retry_policy",),
    "Replayer": ("durable_workflow.workflow",),
    "ReplayOutcome": ("durable_workflow.workflow",),
    "ContinueAsNew": ("durable_workflow.workflow",),
    "WorkflowContext": ("durable_workflow.workflow",),
}


def __getattr__(name: str) -> Any:
    modules = _LAZY.get(name)
    if modules is None:
        raise AttributeError(f"module 'durable_workflow' has no attribute {name!r}")
    if name == "workflow":
        value: Any = importlib.import_module("durable_workflow.workflow")
    else:
        for module_name in modules:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            if hasattr(module, name):
                value = getattr(module, name)
                break
        else:
            raise AttributeError(f"durable_workflow.{name} is not available in this build")
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value
