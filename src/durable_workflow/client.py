"""The async :class:`Client`: control-plane calls, worker-plane calls, handles and result types.

Every method is one request (or a short page loop) over a :class:`~durable_workflow._transport.Transport`:
HTTP for ``http(s)://`` URLs, an in-process server for ``sqlite://`` / ``postgresql://``.
Non-2xx answers become exceptions in exactly one place, :func:`errors.error_from_response`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final
from urllib.parse import quote

from durable_workflow import errors, serializer
from durable_workflow._transport import (
    RetrySettings,
    Transport,
    default_retry_settings,
    make_transport,
    send_with_retries,
)
from durable_workflow.external_storage import (
    DEFAULT_EXTERNAL_STORAGE_THRESHOLD_BYTES,
    ExternalPayloadCache,
    ExternalStorageDriver,
    externalize_payloads,
    resolve_payloads,
)
from durable_workflow.metrics import (
    CLIENT_REQUEST_DURATION,
    CLIENT_REQUESTS,
    MetricsRecorder,
    NoopMetrics,
)

# The result dataclasses and handles are documented as living in this module; their code sits
# beside the mixins that return them.
from durable_workflow.operations import (
    BridgeAdapterOutcome,
    NamespaceDescription,
    NamespaceList,
    OperationsClientMixin,
    SearchAttributeList,
    StoragePayloadTestResult,
    StorageTestResult,
    TaskQueueAdmission,
    TaskQueueBuildIdCohort,
    TaskQueueBuildIdRollout,
    TaskQueueBuildIdRolloutState,
    TaskQueueDescription,
    TaskQueueList,
    TaskQueueQueryAdmission,
    TaskQueueTaskAdmission,
    WorkerDescription,
    WorkerList,
    WorkflowCommandResult,
)
from durable_workflow.protocol import events as ev
from durable_workflow.protocol import manifest
from durable_workflow.schedules import (
    ScheduleAction,
    ScheduleBackfillResult,
    ScheduleClientMixin,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleHistoryEvent,
    ScheduleHistoryPage,
    ScheduleList,
    ScheduleSpec,
    ScheduleTriggerResult,
)

__all__ = [
    "CONTROL_PLANE_VERSION",
    "TERMINAL_STATUSES",
    "WORKER_PROTOCOL_VERSION",
    "BridgeAdapterOutcome",
    "Client",
    "NamespaceDescription",
    "NamespaceList",
    "ScheduleAction",
    "ScheduleBackfillResult",
    "ScheduleDescription",
    "ScheduleHandle",
    "ScheduleHistoryEvent",
    "ScheduleHistoryPage",
    "ScheduleList",
    "ScheduleSpec",
    "ScheduleTriggerResult",
    "SearchAttributeList",
    "StoragePayloadTestResult",
    "StorageTestResult",
    "TaskQueueAdmission",
    "TaskQueueBuildIdCohort",
    "TaskQueueBuildIdRollout",
    "TaskQueueBuildIdRolloutState",
    "TaskQueueDescription",
    "TaskQueueList",
    "TaskQueueQueryAdmission",
    "TaskQueueTaskAdmission",
    "WorkerDescription",
    "WorkerList",
    "WorkflowCommandResult",
    "WorkflowExecution",
    "WorkflowHandle",
    "WorkflowList",
    "WorkflowRun",
    "WorkflowRunList",
]

CONTROL_PLANE_VERSION: Final = manifest.CONTROL_PLANE_VERSION
WORKER_PROTOCOL_VERSION: Final = manifest.WORKER_PROTOCOL_VERSION
_SUPPORTED_WORKER_VERSIONS = tuple(sorted(manifest.ACCEPTED_WORKER_PROTOCOL_VERSIONS))
CONTROL_HEADER: Final = manifest.CONTROL_PLANE_HEADER
WORKER_HEADER: Final = manifest.WORKER_PROTOCOL_HEADER

TERMINAL_STATUSES: Final = frozenset({"completed", "failed", "terminated", "canceled", "cancelled"})
_HISTORY_PAGE_SIZE = 1000
_MAX_POLL_SECONDS = 60

# Caller spellings (seed and 2.12.0) -> wire values. allow/terminate_existing are our extensions.
_DUPLICATE_POLICIES: Final = {
    "reject": "fail",
    "fail": "fail",
    "use-existing": "use-existing",
    "use_existing": "use-existing",
    "allow": "allow-duplicate",
    "terminate_existing": "terminate-existing",
}

_CONTROL, _WORKER, _DISCOVERY = "control", "worker", "discovery"


# --------------------------------------------------------------------------- result types


@dataclass
class WorkflowExecution:
    """Current server view of one workflow execution (its newest run)."""

    workflow_id: str
    run_id: str | None
    workflow_type: str
    status: str | None = None
    namespace: str | None = None
    task_queue: str | None = None
    input: Any = None
    output: Any = None
    payload_codec: str | None = None
    memo: dict[str, Any] | None = None
    search_attributes: dict[str, Any] | None = None
    #: The latest failed workflow task (e.g. non-determinism): message, type, attempt, time.
    last_workflow_task_failure: dict[str, Any] | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass
class WorkflowList:
    """One page of workflow visibility results."""

    executions: list[WorkflowExecution]
    next_page_token: str | None = None


@dataclass
class WorkflowRun:
    """One run of a workflow instance (a continue-as-new chain has several)."""

    workflow_id: str
    run_id: str
    workflow_type: str | None = None
    status: str | None = None
    namespace: str | None = None
    task_queue: str | None = None
    run_number: int | None = None
    run_count: int | None = None
    is_current_run: bool | None = None
    status_bucket: str | None = None
    business_key: str | None = None
    compatibility: str | None = None
    payload_codec: str | None = None
    input: Any = None
    output: Any = None
    memo: dict[str, Any] | None = None
    search_attributes: dict[str, Any] | None = None
    actions: dict[str, Any] | None = None
    started_at: str | None = None
    closed_at: str | None = None
    last_progress_at: str | None = None
    closed_reason: str | None = None
    wait_kind: str | None = None
    wait_reason: str | None = None
    execution_timeout_seconds: int | None = None
    run_timeout_seconds: int | None = None
    execution_deadline_at: str | None = None
    run_deadline_at: str | None = None


@dataclass
class WorkflowRunList:
    """All runs of one workflow instance, oldest first."""

    workflow_id: str
    run_count: int
    runs: list[WorkflowRun] = field(default_factory=list)


_RUN_FIELDS = tuple(f.name for f in dataclasses.fields(WorkflowRun))


def _decoded(data: Mapping[str, Any], key: str, workflow_id: str, *, arguments: bool) -> Any:
    """Decode ``<key>_envelope`` when present, else return the plain ``<key>`` projection."""
    env = data.get(f"{key}_envelope")
    if not isinstance(env, dict):
        return data.get(key)
    try:
        if arguments:
            return serializer.decode_arguments(env)
        return serializer.decode_envelope(env)
    except ValueError as exc:
        raise errors.WorkflowPayloadDecodeError(
            f"cannot decode {key} of workflow {workflow_id}: {exc}", workflow_id=workflow_id
        ) from exc


def _dict_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _execution(data: Mapping[str, Any]) -> WorkflowExecution:
    workflow_id = str(data.get("workflow_id", ""))
    return WorkflowExecution(
        workflow_id=workflow_id,
        run_id=data.get("run_id"),
        workflow_type=str(data.get("workflow_type") or ""),
        status=data.get("status"),
        namespace=data.get("namespace"),
        task_queue=data.get("task_queue"),
        input=_decoded(data, "input", workflow_id, arguments=True),
        output=_decoded(data, "output", workflow_id, arguments=False),
        payload_codec=data.get("payload_codec"),
        memo=_dict_or_none(data.get("memo")),
        search_attributes=_dict_or_none(data.get("search_attributes")),
        last_workflow_task_failure=_dict_or_none(data.get("last_workflow_task_failure")),
    )


def _run(data: Mapping[str, Any]) -> WorkflowRun:
    values: dict[str, Any] = {name: data.get(name) for name in _RUN_FIELDS}
    values["workflow_id"] = str(data.get("workflow_id", ""))
    values["run_id"] = str(data.get("run_id", ""))
    for name in ("memo", "search_attributes", "actions"):
        values[name] = _dict_or_none(values[name])
    return WorkflowRun(**values)


def _expect_object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise errors.ServerError(
            200, {"reason": f"invalid_{what}", "message": f"{what} is not an object"}
        )
    return data


def _poll_budget(timeout: float) -> tuple[int, float]:
    """The long-poll ``timeout_seconds`` the server gets, and the HTTP timeout around it."""
    seconds = 0 if timeout < 1 else min(_MAX_POLL_SECONDS, math.ceil(timeout))
    return seconds, max(timeout, seconds + 5.0)


# --------------------------------------------------------------------------- handle


class WorkflowHandle:
    """A workflow id (and optionally a run id) bound to a :class:`Client`."""

    def __init__(
        self, client: Client, workflow_id: str, run_id: str | None = None, workflow_type: str = ""
    ) -> None:
        self.client = client
        self.workflow_id = workflow_id
        self.run_id = run_id
        self.workflow_type = workflow_type

    def __repr__(self) -> str:
        return f"WorkflowHandle(workflow_id={self.workflow_id!r}, run_id={self.run_id!r})"

    async def result(self, *, poll_interval: float = 0.5, timeout: float = 30.0) -> Any:
        """Wait for the workflow to close and return its output. See :meth:`Client.get_result`."""
        return await self.client.get_result(self, poll_interval=poll_interval, timeout=timeout)

    async def describe(self) -> WorkflowExecution:
        """See :meth:`Client.describe_workflow`."""
        return await self.client.describe_workflow(self.workflow_id)

    async def signal(self, signal_name: str, args: list[Any] | None = None) -> dict[str, Any]:
        """See :meth:`Client.signal_workflow`; targets this handle's run when it has one."""
        return await self.client.signal_workflow(
            self.workflow_id, signal_name, args=args, run_id=self.run_id
        )

    async def query(self, query_name: str, args: list[Any] | None = None) -> dict[str, Any]:
        """See :meth:`Client.query_workflow`."""
        return await self.client.query_workflow(self.workflow_id, query_name, args=args)

    async def update(
        self,
        update_name: str,
        args: list[Any] | None = None,
        *,
        wait_for: str | None = None,
        wait_timeout_seconds: int | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """See :meth:`Client.update_workflow`."""
        return await self.client.update_workflow(
            self.workflow_id,
            update_name,
            args=args,
            wait_for=wait_for,
            wait_timeout_seconds=wait_timeout_seconds,
            request_id=request_id,
        )

    async def cancel(self, *, reason: str | None = None) -> None:
        """See :meth:`Client.cancel_workflow`."""
        await self.client.cancel_workflow(self.workflow_id, reason=reason)

    async def terminate(self, *, reason: str | None = None) -> None:
        """See :meth:`Client.terminate_workflow`."""
        await self.client.terminate_workflow(self.workflow_id, reason=reason)


# --------------------------------------------------------------------------- client


def _worker_protocol_version() -> str:
    value = os.environ.get("DURABLE_WORKFLOW_WORKER_PROTOCOL_VERSION", WORKER_PROTOCOL_VERSION)
    if value not in _SUPPORTED_WORKER_VERSIONS:
        raise ValueError(
            f"DURABLE_WORKFLOW_WORKER_PROTOCOL_VERSION must be one of {_SUPPORTED_WORKER_VERSIONS}"
        )
    return value


class Client(ScheduleClientMixin, OperationsClientMixin):
    """Async client for the control plane and the worker plane of a Durable Workflow server.

    ``base_url`` is a server origin without ``/api`` (``http://localhost:8080``) or a database
    URL (``sqlite:///app.db``, ``sqlite:///:memory:``) to run the server in this process.
    Use as ``async with Client(...)`` or call :meth:`aclose`. ``transport`` replaces the
    URL-chosen transport (tests use an in-memory fake).

    ``external_storage`` (see :mod:`durable_workflow.external_storage`) moves payload envelopes
    over ``external_storage_threshold_bytes`` (default: the namespace policy's threshold) to
    that store and fetches references back transparently, for this client and its workers.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        control_token: str | None = None,
        worker_token: str | None = None,
        namespace: str = "default",
        timeout: float = 60.0,
        retry_policy: RetrySettings | None = None,
        metrics: MetricsRecorder | None = None,
        payload_size_limit_bytes: int = serializer.DEFAULT_PAYLOAD_SIZE_LIMIT_BYTES,
        payload_size_warning_threshold_percent: int = serializer.DEFAULT_WARNING_THRESHOLD_PERCENT,
        payload_size_warnings: bool = True,
        transport: Transport | None = None,
        external_storage: ExternalStorageDriver | None = None,
        external_storage_threshold_bytes: int | None = None,
        external_payload_cache: ExternalPayloadCache | None = None,
    ) -> None:
        self.base_url = base_url
        self.namespace = namespace
        self.timeout = timeout
        self.retry_policy: RetrySettings = retry_policy or default_retry_settings()
        self.metrics: MetricsRecorder = metrics or NoopMetrics()
        self._record_metrics = not isinstance(self.metrics, NoopMetrics)
        self.payload_size_limit_bytes = payload_size_limit_bytes
        self.payload_size_warning_threshold_percent = payload_size_warning_threshold_percent
        self.payload_size_warnings = payload_size_warnings
        self._transport: Transport = transport or make_transport(base_url, timeout)
        self.worker_protocol_version = _worker_protocol_version()
        self._cluster_info: dict[str, Any] | None = None
        self._closed = False
        if external_storage_threshold_bytes is not None and external_storage_threshold_bytes <= 0:
            raise ValueError("external_storage_threshold_bytes must be a positive integer")
        self.external_storage = external_storage
        self.external_storage_threshold_bytes = external_storage_threshold_bytes
        self.external_payload_cache = external_payload_cache or (
            ExternalPayloadCache() if external_storage is not None else None
        )

        control = control_token or token
        worker = worker_token or token
        common = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            manifest.NAMESPACE_HEADER: namespace,
        }
        self._headers: dict[str, dict[str, str]] = {
            _CONTROL: {**common, CONTROL_HEADER: CONTROL_PLANE_VERSION, **_bearer(control)},
            _WORKER: {**common, WORKER_HEADER: self.worker_protocol_version, **_bearer(worker)},
            _DISCOVERY: {
                **common,
                **(
                    {WORKER_HEADER: self.worker_protocol_version}
                    if worker_token
                    else {CONTROL_HEADER: CONTROL_PLANE_VERSION}
                ),
                **_bearer(worker_token or control_token or token),
            },
        }

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (or release the embedded server). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self._transport.aclose()

    # ----------------------------------------------------------------- plumbing

    async def _send(
        self,
        plane: str,
        method: str,
        route: str,
        path_params: Mapping[str, str] | None = None,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
        retry: bool = True,
    ) -> tuple[int, Any]:
        path = "/api" + (
            route.format(**{k: quote(v, safe="") for k, v in path_params.items()})
            if path_params
            else route
        )
        if self.external_storage is not None and body is not None:
            body = await self._externalize(body)
        started = time.perf_counter() if self._record_metrics else 0.0
        try:
            status, data = await send_with_retries(
                self._transport,
                self.retry_policy if retry else None,
                method,
                path,
                headers=self._headers[plane],
                body=body,
                params=params,
                timeout=timeout,
            )
        except BaseException as exc:
            if self._record_metrics:
                self._record_request(method, route, plane, "", type(exc).__name__, started)
            raise
        if self._record_metrics:
            outcome = "ok" if status < 400 else "http_error"
            self._record_request(method, route, plane, str(status), outcome, started)
        if self.external_storage is not None and status < 400:
            data = await asyncio.to_thread(self._resolve_references, data)
        return status, data

    # External payloads: the driver API is blocking, so it runs in a thread.

    async def _threshold(self) -> int:
        if self.external_storage_threshold_bytes is None:
            threshold = DEFAULT_EXTERNAL_STORAGE_THRESHOLD_BYTES
            try:
                self.external_storage_threshold_bytes = threshold  # no recursion while we ask
                status, data = await self._send(
                    _CONTROL, "GET", "/namespaces/{name}", {"name": self.namespace}
                )
                policy = data.get("external_payload_storage") if isinstance(data, dict) else None
                value = policy.get("threshold_bytes") if isinstance(policy, dict) else None
                if status < 400 and isinstance(value, int) and value > 0:
                    threshold = value
            finally:
                self.external_storage_threshold_bytes = threshold
        return self.external_storage_threshold_bytes

    async def _externalize(self, body: Any) -> Any:
        if not _has_large_blob(body, 0):
            return body
        threshold = await self._threshold()
        if not _has_large_blob(body, threshold):
            return body
        driver = self.external_storage
        assert driver is not None

        return await asyncio.to_thread(externalize_payloads, body, driver, threshold)

    def _resolve_references(self, value: Any) -> Any:
        return resolve_payloads(value, self.external_storage, cache=self.external_payload_cache)

    def _record_request(
        self, method: str, route: str, plane: str, status: str, outcome: str, started: float
    ) -> None:
        tags = {
            "method": method,
            "route": route,
            "plane": plane,
            "status_code": status,
            "outcome": outcome,
        }
        self.metrics.increment(CLIENT_REQUESTS, 1.0, tags)
        self.metrics.record(CLIENT_REQUEST_DURATION, time.perf_counter() - started, tags)

    async def _call(
        self,
        plane: str,
        method: str,
        route: str,
        path_params: Mapping[str, str] | None = None,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
        context: str | None = None,
        operation: str | None = None,
        retry: bool = True,
    ) -> Any:
        status, data = await self._send(
            plane,
            method,
            route,
            path_params,
            body=body,
            params=params,
            timeout=timeout,
            retry=retry,
        )
        if status >= 400:
            raise errors.error_from_response(
                status, data, context=context, namespace=self.namespace, operation=operation
            )
        return data

    def _envelope(self, value: Any, what: str) -> dict[str, str]:
        env = serializer.envelope(value)
        if self.external_storage is not None:
            return env  # large blobs leave as references; the threshold is checked on send
        serializer.check_payload_size(
            env["blob"],
            what=what,
            limit=self.payload_size_limit_bytes,
            warning_threshold_percent=self.payload_size_warning_threshold_percent,
            warnings=self.payload_size_warnings,
        )
        return env

    def _arguments(self, args: Sequence[Any] | None, what: str) -> dict[str, str]:
        if args is None:
            args = []
        elif isinstance(args, (str, bytes)) or not isinstance(args, Sequence):
            raise TypeError(
                f"{what} must be a list of positional arguments, got {type(args).__name__}"
            )
        return self._envelope(list(args), what)

    # ----------------------------------------------------------------- discovery

    async def health(self) -> dict[str, Any]:
        """Call ``GET /api/health``."""
        data = await self._call(_CONTROL, "GET", "/health")
        return _expect_object(data, "health")

    async def get_cluster_info(self, *, refresh: bool = False) -> dict[str, Any]:
        """Server identity, protocol manifests and capabilities (cached per client)."""
        if self._cluster_info is None or refresh:
            data = await self._call(_DISCOVERY, "GET", "/cluster/info")
            self._cluster_info = _expect_object(data, "cluster_info")
        return self._cluster_info

    # ----------------------------------------------------------------- workflows

    def get_workflow_handle(
        self, workflow_id: str, *, run_id: str | None = None, workflow_type: str = ""
    ) -> WorkflowHandle:
        """Bind a handle to an existing workflow; no request is sent."""
        return WorkflowHandle(self, workflow_id, run_id, workflow_type)

    async def start_workflow(
        self,
        *,
        workflow_type: str,
        task_queue: str,
        workflow_id: str,
        input: Sequence[Any] | None = None,
        execution_timeout_seconds: int = 3600,
        run_timeout_seconds: int = 600,
        duplicate_policy: str | None = None,
        memo: Mapping[str, Any] | None = None,
        search_attributes: Mapping[str, Any] | None = None,
        business_key: str | None = None,
        priority: int | None = None,
        build_id: str | None = None,
    ) -> WorkflowHandle:
        """Start a workflow and return a handle bound to its first run.

        ``input`` is the list of positional arguments for the workflow's ``run``; it is
        Avro-encoded before anything is sent, so a value with no Avro form raises ``ValueError``
        (or ``TypeError`` for a non-list) without contacting the server. ``duplicate_policy``
        accepts ``reject``/``fail``, ``use-existing``, ``allow`` and ``terminate_existing``.
        """
        body: dict[str, Any] = {
            "workflow_id": workflow_id,
            "workflow_type": workflow_type,
            "task_queue": task_queue,
            "input": self._arguments(input, "workflow input"),
            "execution_timeout_seconds": execution_timeout_seconds,
            "run_timeout_seconds": run_timeout_seconds,
        }
        if duplicate_policy is not None:
            wire = _DUPLICATE_POLICIES.get(duplicate_policy)
            if wire is None:
                raise ValueError(
                    f"unknown duplicate_policy {duplicate_policy!r}; "
                    f"use one of {sorted(_DUPLICATE_POLICIES)}"
                )
            body["duplicate_policy"] = wire
        if memo is not None:
            body["memo"] = dict(memo)
        if search_attributes is not None:
            body["search_attributes"] = dict(search_attributes)
        if business_key is not None:
            body["business_key"] = business_key
        if priority is not None:
            body["priority"] = priority
        if build_id is not None:
            body["build_id"] = build_id
        data = await self._call(_CONTROL, "POST", "/workflows", body=body, context=workflow_id)
        data = _expect_object(data, "start_response")
        return WorkflowHandle(
            self,
            str(data.get("workflow_id") or workflow_id),
            data.get("run_id"),
            str(data.get("workflow_type") or workflow_type),
        )

    async def _describe_raw(self, workflow_id: str) -> dict[str, Any]:
        data = await self._call(
            _CONTROL,
            "GET",
            "/workflows/{workflow_id}",
            {"workflow_id": workflow_id},
            context=workflow_id,
        )
        return _expect_object(data, "workflow_description")

    async def describe_workflow(self, workflow_id: str) -> WorkflowExecution:
        """The current run of ``workflow_id``, with input and output decoded."""
        return _execution(await self._describe_raw(workflow_id))

    async def list_workflows(
        self,
        *,
        workflow_type: str | None = None,
        status: str | None = None,
        query: str | None = None,
        page_size: int | None = None,
        next_page_token: str | None = None,
    ) -> WorkflowList:
        """One page of workflows; pass the returned ``next_page_token`` for the next page."""
        params = {
            k: str(v)
            for k, v in (
                ("workflow_type", workflow_type),
                ("status", status),
                ("query", query),
                ("page_size", page_size),
                ("next_page_token", next_page_token),
            )
            if v is not None
        }
        data = _expect_object(
            await self._call(_CONTROL, "GET", "/workflows", params=params), "workflow_list"
        )
        items = data.get("workflows") or []
        return WorkflowList(
            [_execution(item) for item in items if isinstance(item, dict)],
            data.get("next_page_token") or None,
        )

    async def list_workflow_runs(self, workflow_id: str) -> WorkflowRunList:
        """Every run of ``workflow_id`` (continue-as-new chain), oldest first."""
        data = await self._call(
            _CONTROL,
            "GET",
            "/workflows/{workflow_id}/runs",
            {"workflow_id": workflow_id},
            context=workflow_id,
        )
        data = _expect_object(data, "workflow_runs")
        runs = [_run(item) for item in data.get("runs") or [] if isinstance(item, dict)]
        return WorkflowRunList(
            str(data.get("workflow_id") or workflow_id),
            int(data.get("run_count") or len(runs)),
            runs,
        )

    async def describe_workflow_run(self, workflow_id: str, run_id: str) -> WorkflowRun:
        """One run of ``workflow_id``."""
        data = await self._call(
            _CONTROL,
            "GET",
            "/workflows/{workflow_id}/runs/{run_id}",
            {"workflow_id": workflow_id, "run_id": run_id},
            context=workflow_id,
        )
        return _run(_expect_object(data, "workflow_run"))

    async def _history_page(
        self, workflow_id: str, run_id: str, page_size: int | None, token: str | None
    ) -> dict[str, Any]:
        params = {"page_size": str(page_size or _HISTORY_PAGE_SIZE)}
        if token:
            params["next_page_token"] = token
        data = await self._call(
            _CONTROL,
            "GET",
            "/workflows/{workflow_id}/runs/{run_id}/history",
            {"workflow_id": workflow_id, "run_id": run_id},
            params=params,
            context=workflow_id,
        )
        return _expect_object(data, "history")

    async def get_history(
        self,
        workflow_id: str,
        run_id: str,
        *,
        page_size: int | None = None,
        next_page_token: str | None = None,
    ) -> dict[str, Any]:
        """The whole history of one run: ``{"workflow_id", "run_id", "events": [...]}``.

        Pages are fetched until the server reports no next page.
        """
        first = await self._history_page(workflow_id, run_id, page_size, next_page_token)
        events: list[Any] = list(first.get("events") or [])
        seen: set[str] = set()
        token = first.get("next_page_token")
        while token:
            if token in seen:
                raise errors.ServerError(
                    200,
                    {
                        "reason": "history_page_token_repeated",
                        "message": "history page token repeated",
                    },
                )
            seen.add(token)
            page = await self._history_page(workflow_id, run_id, page_size, token)
            events.extend(page.get("events") or [])
            token = page.get("next_page_token")
        return {**first, "events": events, "next_page_token": None}

    async def signal_workflow(
        self,
        workflow_id: str,
        signal_name: str,
        *,
        args: Sequence[Any] | None = None,
        run_id: str | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Record a signal for the workflow (or for one run of it); returns the receipt."""
        body: dict[str, Any] = {"request_id": request_id or f"sdk-python-signal-{uuid.uuid4().hex}"}
        if args is not None:
            body["input"] = self._arguments(args, "signal arguments")
        if run_id:
            route = "/workflows/{workflow_id}/runs/{run_id}/signal/{name}"
            path_params = {"workflow_id": workflow_id, "run_id": run_id, "name": signal_name}
        else:
            route = "/workflows/{workflow_id}/signal/{name}"
            path_params = {"workflow_id": workflow_id, "name": signal_name}
        data = await self._call(
            _CONTROL, "POST", route, path_params, body=body, context=workflow_id, operation="signal"
        )
        receipt = dict(data) if isinstance(data, dict) else {}
        receipt.setdefault("request_id", body["request_id"])
        return receipt

    async def query_workflow(
        self, workflow_id: str, query_name: str, *, args: Sequence[Any] | None = None
    ) -> dict[str, Any]:
        """Run a query on a worker; the response's ``result`` holds the decoded value."""
        body: dict[str, Any] = {}
        if args is not None:
            body["input"] = self._arguments(args, "query arguments")
        data = await self._call(
            _CONTROL,
            "POST",
            "/workflows/{workflow_id}/query/{name}",
            {"workflow_id": workflow_id, "name": query_name},
            body=body,
            context=workflow_id,
            operation="query",
        )
        return _hydrate_result(data)

    async def update_workflow(
        self,
        workflow_id: str,
        update_name: str,
        *,
        args: Sequence[Any] | None = None,
        wait_for: str | None = None,
        wait_timeout_seconds: int | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """Send an update; ``wait_for`` is ``"accepted"`` (server default) or ``"completed"``."""
        body: dict[str, Any] = {"request_id": request_id or f"sdk-python-update-{uuid.uuid4().hex}"}
        if args is not None:
            body["input"] = self._arguments(args, "update arguments")
        if wait_for is not None:
            body["wait_for"] = wait_for
        if wait_timeout_seconds is not None:
            body["wait_timeout_seconds"] = wait_timeout_seconds
        data = await self._call(
            _CONTROL,
            "POST",
            "/workflows/{workflow_id}/update/{name}",
            {"workflow_id": workflow_id, "name": update_name},
            body=body,
            context=workflow_id,
            operation="update",
        )
        result = _hydrate_result(data)
        result.setdefault("request_id", body["request_id"])
        return result

    async def cancel_workflow(self, workflow_id: str, *, reason: str | None = None) -> None:
        """Cancel the current run (it closes immediately as ``cancelled``)."""
        await self._call(
            _CONTROL,
            "POST",
            "/workflows/{workflow_id}/cancel",
            {"workflow_id": workflow_id},
            body={"reason": reason} if reason is not None else {},
            context=workflow_id,
        )

    async def terminate_workflow(self, workflow_id: str, *, reason: str | None = None) -> None:
        """Terminate the current run."""
        await self._call(
            _CONTROL,
            "POST",
            "/workflows/{workflow_id}/terminate",
            {"workflow_id": workflow_id},
            body={"reason": reason} if reason is not None else {},
            context=workflow_id,
        )

    async def wait_for_terminal(
        self, workflow_id: str, *, poll_interval: float = 0.5, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Poll describe until the workflow's status is terminal; return the raw description.

        Polls start at a few milliseconds and grow by half each time up to ``poll_interval``,
        so short workflows are seen closed almost at once without hammering long ones.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = min(0.002, poll_interval)
        while True:
            data = await self._describe_raw(workflow_id)
            if data.get("status") in TERMINAL_STATUSES:
                return data
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"workflow {workflow_id} still {data.get('status')!r} after {timeout}s"
                )
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 1.5, poll_interval)

    async def get_result(
        self, handle: WorkflowHandle, *, poll_interval: float = 0.5, timeout: float = 30.0
    ) -> Any:
        """Wait until the workflow is closed and return its output.

        Raises :class:`~durable_workflow.errors.WorkflowFailed`,
        :class:`~durable_workflow.errors.WorkflowTimedOut`,
        :class:`~durable_workflow.errors.WorkflowCancelled` or
        :class:`~durable_workflow.errors.WorkflowTerminated` for the other endings, and
        ``TimeoutError`` if it is still open after ``timeout`` seconds. A run that continued
        as new is followed to the current run.
        """
        described = await self.wait_for_terminal(
            handle.workflow_id, poll_interval=poll_interval, timeout=timeout
        )
        return await self.result_of(handle, described)

    async def result_of(self, handle: WorkflowHandle, described: Mapping[str, Any]) -> Any:
        """Output of a closed workflow, given its (terminal) description."""
        current_run = described.get("run_id")
        run_id = handle.run_id or current_run
        if (
            run_id == current_run
            and described.get("status") == "completed"
            and isinstance(described.get("output_envelope"), dict)
        ):
            # The description already carries the output: no history read needed.
            return _decoded(described, "output", handle.workflow_id, arguments=False)
        if not run_id:
            return None
        event = await self._result_event(handle.workflow_id, str(run_id))
        if (
            event is not None
            and event.get("event_type") == ev.WORKFLOW_CONTINUED_AS_NEW
            and current_run
            and current_run != run_id
        ):
            event = await self._result_event(handle.workflow_id, str(current_run))
        return _outcome(event)

    async def _result_event(self, workflow_id: str, run_id: str) -> dict[str, Any] | None:
        """The run's closing event (result events and continue-as-new), or None."""
        history = await self.get_history(workflow_id, run_id)
        for event in reversed(history.get("events") or []):
            if isinstance(event, dict) and _event_type(event) in ev.TERMINAL_EVENTS:
                return event
        return None

    # ----------------------------------------------------------------- worker plane

    async def register_worker(
        self,
        *,
        worker_id: str,
        task_queue: str,
        supported_workflow_types: Sequence[str] | None = None,
        supported_activity_types: Sequence[str] | None = None,
        runtime: str = "python",
        sdk_version: str | None = None,
        workflow_definition_fingerprints: Mapping[str, str] | None = None,
        workflow_command_contracts: Mapping[str, Any] | None = None,
        capabilities: Sequence[str] | None = None,
        capability_manifest: Mapping[str, Any] | None = None,
        build_id: str | None = None,
        max_concurrent_workflow_tasks: int | None = None,
        max_concurrent_activity_tasks: int | None = None,
        task_slots: Mapping[str, int] | None = None,
        process_metrics: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``POST /worker/register``. Most code uses :class:`~durable_workflow.Worker` instead."""
        body: dict[str, Any] = {
            "worker_id": worker_id,
            "task_queue": task_queue,
            "runtime": runtime,
            "sdk_version": sdk_version or _sdk_version(),
            "supported_workflow_types": list(supported_workflow_types or []),
            "supported_activity_types": list(supported_activity_types or []),
        }
        optional: dict[str, Any] = {
            "workflow_definition_fingerprints": workflow_definition_fingerprints,
            "workflow_command_contracts": workflow_command_contracts,
            "capabilities": None if capabilities is None else list(capabilities),
            "capability_manifest": capability_manifest,
            "build_id": build_id,
            "max_concurrent_workflow_tasks": max_concurrent_workflow_tasks,
            "max_concurrent_activity_tasks": max_concurrent_activity_tasks,
            "task_slots": task_slots,
            "process_metrics": process_metrics,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        data = await self._call(_WORKER, "POST", "/worker/register", body=body, context=worker_id)
        return data if isinstance(data, dict) else {}

    async def heartbeat_worker(
        self,
        *,
        worker_id: str,
        task_slots: Mapping[str, int] | None = None,
        process_metrics: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``POST /worker/heartbeat``."""
        body: dict[str, Any] = {"worker_id": worker_id}
        if task_slots is not None:
            body["task_slots"] = dict(task_slots)
        if process_metrics is not None:
            body["process_metrics"] = dict(process_metrics)
        data = await self._call(_WORKER, "POST", "/worker/heartbeat", body=body, context=worker_id)
        return data if isinstance(data, dict) else {}

    async def deregister_worker_registration(self, worker_id: str) -> dict[str, Any] | None:
        """``DELETE /worker/registrations/{id}``, sent once. None if it was already gone."""
        status, data = await self._send(
            _WORKER,
            "DELETE",
            "/worker/registrations/{worker_id}",
            {"worker_id": worker_id},
            retry=False,
        )
        if status == 404 and isinstance(data, dict) and data.get("reason") == "worker_not_found":
            return None
        if status >= 400:
            raise errors.error_from_response(
                status, data, context=worker_id, namespace=self.namespace
            )
        if not (
            isinstance(data, dict)
            and data.get("worker_id") == worker_id
            and data.get("outcome") == "deregistered"
            and isinstance(data.get("recovered_workflow_task_count"), int)
        ):
            raise errors.ServerError(
                status,
                {
                    "reason": "invalid_worker_deregistration_response",
                    "message": f"unexpected worker deregistration body {data!r}",
                },
            )
        return data

    async def _poll(
        self,
        route: str,
        fresh_request_id: str,
        worker_id: str,
        task_queue: str,
        timeout: float,
        build_id: str | None,
        poll_request_id: str | None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        seconds, http_timeout = _poll_budget(timeout)
        body: dict[str, Any] = {
            "worker_id": worker_id,
            "task_queue": task_queue,
            # A retried poll reuses its id so the server can hand back the same lease.
            "poll_request_id": poll_request_id or fresh_request_id,
            "timeout_seconds": seconds,
            **(extra or {}),
        }
        if build_id is not None:
            body["build_id"] = build_id
        data = await self._call(
            _WORKER,
            "POST",
            f"/worker/{route}/poll",
            body=body,
            timeout=http_timeout,
            context=task_queue,
        )
        task = data.get("task") if isinstance(data, dict) else None
        return task if isinstance(task, dict) else None

    async def poll_workflow_task(
        self,
        *,
        worker_id: str,
        task_queue: str,
        timeout: float = 35.0,
        build_id: str | None = None,
        history_page_size: int = 500,
        poll_request_id: str | None = None,
    ) -> dict[str, Any] | None:
        """Long-poll for a workflow task; None when the poll ended empty."""
        return await self._poll(
            "workflow-tasks",
            f"wf-poll-{uuid.uuid4().hex}",
            worker_id,
            task_queue,
            timeout,
            build_id,
            poll_request_id,
            {"history_page_size": history_page_size},
        )

    async def workflow_task_history(
        self,
        *,
        task_id: str,
        lease_owner: str,
        workflow_task_attempt: int,
        next_history_page_token: str | None = None,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """Next history page of a leased workflow task (``page_token`` is an alias)."""
        body = {
            "next_history_page_token": next_history_page_token or page_token,
            "lease_owner": lease_owner,
            "workflow_task_attempt": workflow_task_attempt,
        }
        data = await self._call(
            _WORKER,
            "POST",
            "/worker/workflow-tasks/{task_id}/history",
            {"task_id": task_id},
            body=body,
            context=task_id,
        )
        return _expect_object(data, "history_page")

    async def complete_workflow_task(
        self,
        *,
        task_id: str,
        lease_owner: str,
        workflow_task_attempt: int,
        commands: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """Report the commands a workflow task produced."""
        body = {
            "lease_owner": lease_owner,
            "workflow_task_attempt": workflow_task_attempt,
            "commands": commands,
        }
        data = await self._call(
            _WORKER,
            "POST",
            "/worker/workflow-tasks/{task_id}/complete",
            {"task_id": task_id},
            body=body,
            context=task_id,
        )
        return data if isinstance(data, dict) else {}

    async def fail_workflow_task(
        self,
        *,
        task_id: str,
        lease_owner: str,
        workflow_task_attempt: int,
        message: str,
        failure_type: str | None = None,
        stack_trace: str | None = None,
        failure_reason: str | None = None,
    ) -> dict[str, Any]:
        """Report a workflow task failure (the run stays open)."""
        failure: dict[str, Any] = {"message": message}
        if failure_type is not None:
            failure["type"] = failure_type
        if failure_reason is not None:
            failure["reason"] = failure_reason
        if stack_trace is not None:
            failure["stack_trace"] = stack_trace
        body = {
            "lease_owner": lease_owner,
            "workflow_task_attempt": workflow_task_attempt,
            "failure": failure,
        }
        data = await self._call(
            _WORKER,
            "POST",
            "/worker/workflow-tasks/{task_id}/fail",
            {"task_id": task_id},
            body=body,
            context=task_id,
        )
        return data if isinstance(data, dict) else {}

    async def heartbeat_workflow_task(
        self, *, task_id: str, lease_owner: str, workflow_task_attempt: int
    ) -> dict[str, Any]:
        """Extend a workflow task lease."""
        body = {"lease_owner": lease_owner, "workflow_task_attempt": workflow_task_attempt}
        data = await self._call(
            _WORKER,
            "POST",
            "/worker/workflow-tasks/{task_id}/heartbeat",
            {"task_id": task_id},
            body=body,
            context=task_id,
        )
        return data if isinstance(data, dict) else {}

    async def poll_activity_task(
        self,
        *,
        worker_id: str,
        task_queue: str,
        timeout: float = 35.0,
        build_id: str | None = None,
        poll_request_id: str | None = None,
    ) -> dict[str, Any] | None:
        """Long-poll for an activity task; None when the poll ended empty."""
        return await self._poll(
            "activity-tasks",
            f"activity-poll-{uuid.uuid4().hex}",
            worker_id,
            task_queue,
            timeout,
            build_id,
            poll_request_id,
        )

    async def complete_activity_task(
        self,
        *,
        task_id: str,
        activity_attempt_id: str,
        lease_owner: str,
        result: Any,
        codec: str = serializer.AVRO_CODEC,
    ) -> dict[str, Any]:
        """Report an activity attempt's return value (Avro-encoded here)."""
        if codec != serializer.AVRO_CODEC:
            raise ValueError(f"unsupported_payload_codec: {codec!r}")
        body = {
            "activity_attempt_id": activity_attempt_id,
            "lease_owner": lease_owner,
            "result": self._envelope(result, "activity result"),
        }
        data = await self._call(
            _WORKER,
            "POST",
            "/worker/activity-tasks/{task_id}/complete",
            {"task_id": task_id},
            body=body,
            context=task_id,
        )
        return data if isinstance(data, dict) else {}

    async def fail_activity_task(
        self,
        *,
        task_id: str,
        activity_attempt_id: str,
        lease_owner: str,
        message: str,
        failure_type: str | None = None,
        failure_class: str | None = None,
        failure_code: int | None = None,
        stack_trace: str | None = None,
        non_retryable: bool = False,
        details: Any = None,
        codec: str = serializer.AVRO_CODEC,
    ) -> dict[str, Any]:
        """Report a failed activity attempt; ``non_retryable`` skips the remaining retries.

        ``details`` is encoded with ``codec`` (only Avro is written), like a result.
        """
        if codec != serializer.AVRO_CODEC:
            raise ValueError(f"unsupported_payload_codec: {codec!r}")
        failure: dict[str, Any] = {"message": message}
        for key, value in (
            ("type", failure_type),
            ("class", failure_class),
            ("code", failure_code),
            ("stack_trace", stack_trace),
        ):
            if value is not None:
                failure[key] = value
        if non_retryable:
            failure["non_retryable"] = True
        if details is not None:
            failure["details"] = self._envelope(details, "activity failure details")
        body = {
            "activity_attempt_id": activity_attempt_id,
            "lease_owner": lease_owner,
            "failure": failure,
        }
        data = await self._call(
            _WORKER,
            "POST",
            "/worker/activity-tasks/{task_id}/fail",
            {"task_id": task_id},
            body=body,
            context=task_id,
        )
        return data if isinstance(data, dict) else {}

    async def heartbeat_activity_task(
        self,
        *,
        task_id: str,
        activity_attempt_id: str,
        lease_owner: str,
        details: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record activity progress; the answer says whether to stop (``cancel_requested``)."""
        body: dict[str, Any] = {
            "activity_attempt_id": activity_attempt_id,
            "lease_owner": lease_owner,
        }
        if details is not None:
            body["details"] = dict(details)
        data = await self._call(
            _WORKER,
            "POST",
            "/worker/activity-tasks/{task_id}/heartbeat",
            {"task_id": task_id},
            body=body,
            context=task_id,
        )
        return data if isinstance(data, dict) else {}

    async def poll_query_task(
        self,
        *,
        worker_id: str,
        task_queue: str,
        timeout: float = 35.0,
        build_id: str | None = None,
        poll_request_id: str | None = None,
    ) -> dict[str, Any] | None:
        """Long-poll for a query task; None when the poll ended empty."""
        return await self._poll(
            "query-tasks",
            f"query-poll-{uuid.uuid4().hex}",
            worker_id,
            task_queue,
            timeout,
            build_id,
            poll_request_id,
        )

    async def complete_query_task(
        self,
        *,
        query_task_id: str,
        lease_owner: str,
        query_task_attempt: int,
        result: Any,
        result_envelope: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Answer a query task with its result (plain JSON mirror plus the Avro envelope)."""
        body = {
            "lease_owner": lease_owner,
            "query_task_attempt": query_task_attempt,
            "result": _json_mirror(result),
            "result_envelope": dict(result_envelope)
            if result_envelope
            else self._envelope(result, "query result"),
        }
        data = await self._call(
            _WORKER,
            "POST",
            "/worker/query-tasks/{task_id}/complete",
            {"task_id": query_task_id},
            body=body,
            context=query_task_id,
        )
        return data if isinstance(data, dict) else {}

    async def fail_query_task(
        self,
        *,
        query_task_id: str,
        lease_owner: str,
        query_task_attempt: int,
        message: str,
        reason: str = "query_rejected",
        failure_type: str | None = None,
        stack_trace: str | None = None,
    ) -> dict[str, Any]:
        """Report that a query task could not be answered."""
        failure: dict[str, Any] = {"message": message, "reason": reason}
        if failure_type is not None:
            failure["type"] = failure_type
        if stack_trace is not None:
            failure["stack_trace"] = stack_trace
        body = {
            "lease_owner": lease_owner,
            "query_task_attempt": query_task_attempt,
            "failure": failure,
        }
        data = await self._call(
            _WORKER,
            "POST",
            "/worker/query-tasks/{task_id}/fail",
            {"task_id": query_task_id},
            body=body,
            context=query_task_id,
        )
        return data if isinstance(data, dict) else {}


# --------------------------------------------------------------------------- helpers


def _has_large_blob(value: Any, threshold: int) -> bool:
    """Is there an inline envelope blob longer than ``threshold`` anywhere in ``value``?"""
    if isinstance(value, dict):
        blob = value.get("blob")
        if "codec" in value and isinstance(blob, str):
            return len(blob) > threshold
        return any(_has_large_blob(v, threshold) for v in value.values())
    if isinstance(value, list):
        return any(_has_large_blob(v, threshold) for v in value)
    return False


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _sdk_version() -> str:
    try:
        from importlib.metadata import version

        return f"durable-workflow-py/{version('durable-workflow-py')}"
    except Exception:  # not installed as a distribution (e.g. a source checkout)
        return "durable-workflow-py/0"


def _event_type(event: Mapping[str, Any]) -> Any:
    return event.get("event_type") or event.get("type")


def _outcome(event: Mapping[str, Any] | None) -> Any:
    """Turn a run's closing event into its return value or exception."""
    if event is None:
        return None
    kind = _event_type(event)
    raw = event.get("payload")
    payload: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    if kind == ev.WORKFLOW_COMPLETED:
        output = payload.get("output", payload.get("result"))
        if isinstance(output, str) and payload.get("payload_codec") not in (
            None,
            serializer.AVRO_CODEC,
        ):
            raise errors.WorkflowPayloadDecodeError(
                f"unsupported_payload_codec: {payload.get('payload_codec')!r}"
            )
        return serializer.decode_envelope(output)
    text = payload.get("message") or payload.get("reason")
    if kind == ev.WORKFLOW_FAILED:
        raw_exc = payload.get("exception")
        exc: Mapping[str, Any] = raw_exc if isinstance(raw_exc, dict) else {}
        raise errors.WorkflowFailed(
            str(text or exc.get("message") or "workflow failed"),
            payload.get("exception_class") or exc.get("class") or payload.get("exception_type"),
        )
    if kind == ev.WORKFLOW_TIMED_OUT:
        raise errors.WorkflowTimedOut(str(text or "workflow timed out"))
    if kind == ev.WORKFLOW_CANCELLED:
        raise errors.WorkflowCancelled(str(payload.get("reason") or text or "workflow cancelled"))
    if kind == ev.WORKFLOW_TERMINATED:
        raise errors.WorkflowTerminated(str(payload.get("reason") or text or "workflow terminated"))
    return None  # continued as new with no newer run to follow


def _hydrate_result(data: Any) -> dict[str, Any]:
    """Copy of a query/update response with ``result`` decoded from ``result_envelope``."""
    out = dict(data) if isinstance(data, dict) else {}
    env = out.get("result_envelope")
    if out.get("result") is None and isinstance(env, dict) and env.get("blob") is not None:
        out["result"] = serializer.decode_envelope(env)
    return out


def _json_mirror(value: Any) -> Any:
    """``value`` if it survives JSON unchanged, else None (the envelope stays exact)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        items = [_json_mirror(v) for v in value]
        return (
            None
            if any(i is None and v is not None for i, v in zip(items, value, strict=True))
            else items
        )
    if isinstance(value, dict):
        mirrored = {k: _json_mirror(v) for k, v in value.items()}
        if any(mirrored[k] is None and v is not None for k, v in value.items()):
            return None
        return mirrored
    return None
