"""Operator surface of :class:`~durable_workflow.Client` (mixed in from :class:`OperationsClientMixin`):
namespaces and their external-storage policy, search attributes, task queues and build-id
rollout, the worker roster, system maintenance, history export, repair/archive and the bridge
webhook. Wire shapes: control-plane.md §1.6, §1.11, §3-§9.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from durable_workflow import errors

__all__ = [
    "BridgeAdapterOutcome",
    "ExternalPayloadStoragePolicy",
    "NamespaceDescription",
    "NamespaceList",
    "OperationsClientMixin",
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
]

SEARCH_ATTRIBUTE_TYPES = ("keyword", "text", "int", "double", "bool", "datetime", "keyword_list")
_CONTROL = "control"
T = TypeVar("T")


def _pick(cls: type[T], data: Any, **override: Any) -> T:
    """Build dataclass ``cls`` from the keys of ``data`` it knows; the whole dict goes to ``raw``."""
    d = data if isinstance(data, Mapping) else {}
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {k: v for k, v in d.items() if k in names}
    if "raw" in names:
        kwargs["raw"] = dict(d)
    kwargs.update(override)
    return cls(**kwargs)


def _obj(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise errors.ServerError(200, data)
    return data


# --------------------------------------------------------------------------- namespaces


@dataclass(frozen=True)
class ExternalPayloadStoragePolicy:
    """A namespace's external payload storage policy (parsed strictly: wrong types raise)."""

    driver: str | None = None
    enabled: bool | None = None
    threshold_bytes: int | None = None
    config: dict[str, Any] | None = None
    prefix: str | None = None
    reference: str | None = None
    mode: str | None = None
    status: str | None = None
    integrity_required: bool | None = None

    @classmethod
    def from_wire(cls, data: Any) -> ExternalPayloadStoragePolicy:
        if not isinstance(data, Mapping):
            raise ValueError("external_payload_storage must be an object")
        checks: dict[str, tuple[type, ...]] = {
            "driver": (str,),
            "enabled": (bool,),
            "threshold_bytes": (int,),
            "config": (dict,),
            "prefix": (str,),
            "reference": (str,),
            "mode": (str,),
            "status": (str,),
            "integrity_required": (bool,),
        }
        for key, types in checks.items():
            value = data.get(key)
            if value is None:
                continue
            bad_threshold = key == "threshold_bytes" and (
                isinstance(value, bool) or not isinstance(value, int) or value <= 0
            )
            if not isinstance(value, types) or bad_threshold:
                raise ValueError(f"external_payload_storage.{key} has the wrong type: {value!r}")
        return cls(**{k: data.get(k) for k in checks})


@dataclass
class NamespaceDescription:
    """One namespace."""

    name: str
    description: str | None = None
    retention_days: int | None = None
    status: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    deleted: dict[str, int] | None = None
    external_payload_storage: ExternalPayloadStoragePolicy | None = None

    @classmethod
    def from_wire(cls, data: Any) -> NamespaceDescription:
        d = _obj(data, "namespace")
        policy = d.get("external_payload_storage")
        return cls(
            name=str(d.get("name", "")),
            description=d.get("description"),
            retention_days=d.get("retention_days"),
            status=d.get("status"),
            created_at=d.get("created_at"),
            updated_at=d.get("updated_at"),
            deleted=d.get("deleted") if isinstance(d.get("deleted"), dict) else None,
            external_payload_storage=None
            if policy is None
            else ExternalPayloadStoragePolicy.from_wire(policy),
        )


@dataclass
class NamespaceList:
    namespaces: list[NamespaceDescription]


@dataclass
class StoragePayloadTestResult:
    """One payload of a storage round trip."""

    status: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    reference_uri: str | None = None
    wrote: bool | None = None
    read: bool | None = None
    verified: bool | None = None
    latency_ms: float | None = None
    reason: str | None = None


@dataclass
class StorageTestResult:
    """Outcome of ``POST /storage/test``."""

    status: str
    namespace: str | None = None
    driver: str | None = None
    small_payload: StoragePayloadTestResult | None = None
    large_payload: StoragePayloadTestResult | None = None


# --------------------------------------------------------------------------- search attributes


@dataclass
class SearchAttributeList:
    """System (engine-defined) and custom attribute definitions: name -> type."""

    system_attributes: dict[str, str] = field(default_factory=dict)
    custom_attributes: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- task queues


@dataclass
class TaskQueueTaskAdmission:
    status: str | None = None
    ready_count: int | None = None
    leased_count: int | None = None
    worker_capacity: int | None = None
    remaining_capacity: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskQueueQueryAdmission:
    status: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskQueueAdmission:
    workflow_tasks: TaskQueueTaskAdmission | None = None
    activity_tasks: TaskQueueTaskAdmission | None = None
    query_tasks: TaskQueueQueryAdmission | None = None


@dataclass
class TaskQueueDescription:
    """One task queue: backlog, admission (capacity), pollers and current leases."""

    name: str
    namespace: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    admission: TaskQueueAdmission | None = None
    pollers: list[dict[str, Any]] = field(default_factory=list)
    current_leases: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_wire(cls, data: Any) -> TaskQueueDescription:
        d = data if isinstance(data, Mapping) else {}
        adm = d.get("admission") if isinstance(d.get("admission"), Mapping) else None
        admission = None
        if adm is not None:
            admission = TaskQueueAdmission(
                _pick(TaskQueueTaskAdmission, adm.get("workflow_tasks"))
                if adm.get("workflow_tasks") is not None
                else None,
                _pick(TaskQueueTaskAdmission, adm.get("activity_tasks"))
                if adm.get("activity_tasks") is not None
                else None,
                _pick(TaskQueueQueryAdmission, adm.get("query_tasks"))
                if adm.get("query_tasks") is not None
                else None,
            )
        return cls(
            str(d.get("name", "")),
            d.get("namespace"),
            dict(d.get("stats") or {}),
            admission,
            list(d.get("pollers") or []),
            list(d.get("current_leases") or []),
        )


@dataclass
class TaskQueueList:
    namespace: str | None
    task_queues: list[TaskQueueDescription]


@dataclass
class TaskQueueBuildIdCohort:
    """Workers of one build id on a queue (``build_id`` None: unversioned)."""

    build_id: str | None = None
    rollout_status: str | None = None
    active_worker_count: int = 0
    draining_worker_count: int = 0
    stale_worker_count: int = 0
    total_worker_count: int = 0
    runtimes: list[str] = field(default_factory=list)
    sdk_versions: list[str] = field(default_factory=list)
    last_heartbeat_at: str | None = None
    first_seen_at: str | None = None
    drain_intent: str | None = None
    drained_at: str | None = None
    promoted_at: str | None = None
    rolled_back_at: str | None = None
    new_start_selected: bool | None = None
    workflow_definition_fingerprint_count: int | None = None
    workflow_definition_fingerprint_conflicts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TaskQueueBuildIdRollout:
    namespace: str | None
    task_queue: str
    stale_after_seconds: int | None
    build_ids: list[TaskQueueBuildIdCohort]


@dataclass
class TaskQueueBuildIdRolloutState:
    """A cohort's drain state after drain / resume / promote."""

    namespace: str | None = None
    task_queue: str | None = None
    build_id: str | None = None
    drain_intent: str | None = None
    drained_at: str | None = None
    promoted_at: str | None = None
    rolled_back_at: str | None = None
    new_start_selected: bool | None = None
    deployment: Any = None


# --------------------------------------------------------------------------- workers


@dataclass
class WorkerDescription:
    """A registered worker as the server sees it."""

    worker_id: str
    task_queue: str | None = None
    runtime: str | None = None
    namespace: str | None = None
    sdk_version: str | None = None
    build_id: str | None = None
    status: str | None = None
    max_concurrent_workflow_tasks: int | None = None
    max_concurrent_activity_tasks: int | None = None
    supported_workflow_types: list[str] = field(default_factory=list)
    supported_activity_types: list[str] = field(default_factory=list)
    last_heartbeat_at: str | None = None
    registered_at: str | None = None
    updated_at: str | None = None
    task_slots: dict[str, Any] = field(default_factory=dict)
    process_metrics: dict[str, Any] = field(default_factory=dict)
    heartbeat_interval_seconds: int | None = None


@dataclass
class WorkerList:
    namespace: str | None
    workers: list[WorkerDescription]
    stale_after_seconds: int | None = None


# --------------------------------------------------------------------------- workflows, bridge


@dataclass
class WorkflowCommandResult:
    """Receipt of repair / archive (and similar workflow commands)."""

    workflow_id: str
    outcome: str | None = None
    command_status: str | None = None
    command_id: str | None = None
    run_id: str | None = None


@dataclass
class BridgeAdapterOutcome:
    """Machine-readable outcome of a bridge webhook event (accepted, rejected or duplicate)."""

    accepted: bool
    outcome: str | None = None
    schema: str | None = None
    version: int | None = None
    adapter: str | None = None
    action: str | None = None
    idempotency_key: str | None = None
    reason: str | None = None
    target: dict[str, Any] | None = None
    correlation: dict[str, Any] | None = None
    workflow_id: str | None = None
    run_id: str | None = None
    workflow_type: str | None = None
    control_plane_outcome: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


class OperationsClientMixin:
    """Operator methods of :class:`~durable_workflow.Client`."""

    if TYPE_CHECKING:
        namespace: str

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
        ) -> Any: ...

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
        ) -> tuple[int, Any]: ...

    # -- namespaces ------------------------------------------------------------------------

    async def list_namespaces(self) -> NamespaceList:
        """Every namespace of the server."""
        data = _obj(await self._call(_CONTROL, "GET", "/namespaces"), "namespaces")
        return NamespaceList(
            [NamespaceDescription.from_wire(n) for n in data.get("namespaces") or []]
        )

    async def describe_namespace(self, name: str) -> NamespaceDescription:
        """One namespace; :class:`~durable_workflow.errors.NamespaceNotFound` if unknown."""
        try:
            data = await self._call(_CONTROL, "GET", "/namespaces/{n}", {"n": name}, context=name)
        except errors.NamespaceNotFound:
            raise errors.NamespaceNotFound(name) from None
        return NamespaceDescription.from_wire(data)

    async def create_namespace(
        self, name: str, description: str | None = None, retention_days: int = 30
    ) -> NamespaceDescription:
        """Create a namespace; usable through ``X-Namespace`` at once. Admin role."""
        body = {"name": name, "description": description, "retention_days": retention_days}
        data = await self._call(_CONTROL, "POST", "/namespaces", body=body, context=name)
        return NamespaceDescription.from_wire(data)

    async def update_namespace(
        self, name: str, description: str | None = None, retention_days: int | None = None
    ) -> NamespaceDescription:
        """Change description and/or retention; only provided fields are sent."""
        body: dict[str, Any] = {}
        if description is not None:
            body["description"] = description
        if retention_days is not None:
            body["retention_days"] = retention_days
        data = await self._call(
            _CONTROL, "PUT", "/namespaces/{n}", {"n": name}, body=body, context=name
        )
        return NamespaceDescription.from_wire(data)

    async def set_namespace_external_storage(
        self,
        name: str | None = None,
        *,
        driver: str,
        enabled: bool = True,
        threshold_bytes: int | None = None,
        config: Mapping[str, Any] | None = None,
        namespace: str | None = None,
    ) -> NamespaceDescription:
        """Bind an external payload storage policy to a namespace (``namespace=`` is deprecated)."""
        if namespace is not None:
            warnings.warn(
                "set_namespace_external_storage(namespace=...) is deprecated; pass the name first",
                DeprecationWarning,
                stacklevel=2,
            )
            name = name or namespace
        if not name:
            raise TypeError("set_namespace_external_storage() needs the namespace name")
        body: dict[str, Any] = {"driver": driver, "enabled": enabled}
        if threshold_bytes is not None:
            body["threshold_bytes"] = threshold_bytes
        if config is not None:
            body["config"] = dict(config)
        data = await self._call(
            _CONTROL,
            "PUT",
            "/namespaces/{n}/external-storage",
            {"n": name},
            body=body,
            context=name,
        )
        return NamespaceDescription.from_wire(data)

    async def test_external_storage(
        self,
        driver: str | None = None,
        small_payload_bytes: int | None = None,
        large_payload_bytes: int | None = None,
    ) -> StorageTestResult:
        """Round-trip a small and a large payload through this namespace's storage driver."""
        body = {
            k: v
            for k, v in (
                ("driver", driver),
                ("small_payload_bytes", small_payload_bytes),
                ("large_payload_bytes", large_payload_bytes),
            )
            if v is not None
        }
        d = _obj(await self._call(_CONTROL, "POST", "/storage/test", body=body), "storage_test")
        return StorageTestResult(
            str(d.get("status") or ""),
            d.get("namespace"),
            d.get("driver"),
            _pick(StoragePayloadTestResult, d.get("small_payload")),
            _pick(StoragePayloadTestResult, d.get("large_payload")),
        )

    # -- search attributes -------------------------------------------------------------------

    async def list_search_attributes(self) -> SearchAttributeList:
        """System and custom search attributes of this namespace."""
        d = _obj(await self._call(_CONTROL, "GET", "/search-attributes"), "search_attributes")
        return SearchAttributeList(
            dict(d.get("system_attributes") or {}), dict(d.get("custom_attributes") or {})
        )

    async def create_search_attribute(self, name: str, attribute_type: str) -> dict[str, Any]:
        """Define a custom attribute of one of the seven types (keyword, text, int, double,
        bool, datetime, keyword_list)."""
        body = {"name": name, "type": attribute_type}
        return _obj(
            await self._call(_CONTROL, "POST", "/search-attributes", body=body, context=name),
            "search_attribute",
        )

    async def delete_search_attribute(self, name: str) -> dict[str, Any]:
        """Remove a custom attribute; ``SearchAttributeNotFound`` if unknown."""
        return _obj(
            await self._call(
                _CONTROL, "DELETE", "/search-attributes/{n}", {"n": name}, context=name
            ),
            "search_attribute",
        )

    # -- task queues -------------------------------------------------------------------------

    async def list_task_queues(self) -> TaskQueueList:
        """Task queues with workers or work in this namespace."""
        d = _obj(await self._call(_CONTROL, "GET", "/task-queues"), "task_queues")
        return TaskQueueList(
            d.get("namespace"),
            [TaskQueueDescription.from_wire(q) for q in d.get("task_queues") or []],
        )

    async def describe_task_queue(self, name: str) -> TaskQueueDescription:
        """Capacity, backlog, pollers and current leases of one queue."""
        data = await self._call(_CONTROL, "GET", "/task-queues/{n}", {"n": name}, context=name)
        return TaskQueueDescription.from_wire(data)

    async def list_task_queue_build_ids(self, task_queue: str) -> TaskQueueBuildIdRollout:
        """Per-build-id worker cohorts of a queue (unversioned workers under ``build_id=None``)."""
        d = _obj(
            await self._call(
                _CONTROL,
                "GET",
                "/task-queues/{n}/build-ids",
                {"n": task_queue},
                context=task_queue,
            ),
            "build_ids",
        )
        return TaskQueueBuildIdRollout(
            d.get("namespace"),
            str(d.get("task_queue") or task_queue),
            d.get("stale_after_seconds"),
            [_pick(TaskQueueBuildIdCohort, c) for c in d.get("build_ids") or []],
        )

    async def _cohort(
        self, task_queue: str, build_id: str | None, verb: str
    ) -> TaskQueueBuildIdRolloutState:
        data = await self._call(
            _CONTROL,
            "POST",
            "/task-queues/{n}/build-ids/" + verb,
            {"n": task_queue},
            body={"build_id": build_id},
            context=task_queue,
        )
        return _pick(TaskQueueBuildIdRolloutState, data)

    async def drain_task_queue_build_id(
        self, task_queue: str, build_id: str | None
    ) -> TaskQueueBuildIdRolloutState:
        """The cohort's workers finish in-flight work but get no new tasks. Idempotent."""
        return await self._cohort(task_queue, build_id, "drain")

    async def resume_task_queue_build_id(
        self, task_queue: str, build_id: str | None
    ) -> TaskQueueBuildIdRolloutState:
        """Undo a drain. Idempotent."""
        return await self._cohort(task_queue, build_id, "resume")

    async def promote_task_queue_build_id(
        self, task_queue: str, build_id: str | None
    ) -> TaskQueueBuildIdRolloutState:
        """Mark the cohort as selected for new starts (and not draining)."""
        return await self._cohort(task_queue, build_id, "promote")

    # -- workers ---------------------------------------------------------------------------

    async def list_workers(
        self, task_queue: str | None = None, status: str | None = None
    ) -> WorkerList:
        """Registered workers, optionally of one queue and/or one status (active, stale, draining)."""
        params = {k: v for k, v in (("task_queue", task_queue), ("status", status)) if v}
        d = _obj(await self._call(_CONTROL, "GET", "/workers", params=params), "workers")
        return WorkerList(
            d.get("namespace"),
            [_pick(WorkerDescription, w) for w in d.get("workers") or []],
            d.get("stale_after_seconds"),
        )

    async def describe_worker(self, worker_id: str) -> WorkerDescription:
        """One worker; :class:`~durable_workflow.errors.WorkerNotFound` if unknown."""
        data = await self._call(
            _CONTROL, "GET", "/workers/{w}", {"w": worker_id}, context=worker_id
        )
        return _pick(WorkerDescription, data)

    async def deregister_worker(self, worker_id: str) -> dict[str, Any]:
        """Remove a worker from the roster; its leased workflow tasks are offered again."""
        return _obj(
            await self._call(
                _CONTROL, "DELETE", "/workers/{w}", {"w": worker_id}, context=worker_id
            ),
            "deregister",
        )

    # -- system maintenance (admin) --------------------------------------------------------

    async def repair_status(self) -> dict[str, Any]:
        """Stuck-task candidates and the repair policy."""
        return _obj(await self._call(_CONTROL, "GET", "/system/repair"), "repair")

    async def repair_pass(
        self, run_ids: Sequence[str] | None = None, instance_id: str | None = None
    ) -> dict[str, Any]:
        """Re-dispatch stuck workflow tasks (all, or the given runs / instance)."""
        body: dict[str, Any] = {}
        if run_ids:
            body["run_ids"] = list(run_ids)
        if instance_id is not None:
            body["instance_id"] = instance_id
        return _obj(await self._call(_CONTROL, "POST", "/system/repair/pass", body=body), "repair")

    async def retention_status(self) -> dict[str, Any]:
        """Retention window, cutoff and the closed runs eligible for pruning."""
        return _obj(await self._call(_CONTROL, "GET", "/system/retention"), "retention")

    async def retention_pass(
        self, run_ids: Sequence[str] | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        """Delete closed runs older than the namespace retention."""
        body: dict[str, Any] = {}
        if run_ids:
            body["run_ids"] = list(run_ids)
        if limit is not None:
            body["limit"] = limit
        return _obj(
            await self._call(_CONTROL, "POST", "/system/retention/pass", body=body), "retention"
        )

    async def activity_timeout_status(self) -> dict[str, Any]:
        """Activities past a deadline that the server has not enforced yet."""
        return _obj(
            await self._call(_CONTROL, "GET", "/system/activity-timeouts"), "activity_timeouts"
        )

    async def activity_timeout_pass(
        self, execution_ids: Sequence[str] | None = None, limit: int | None = None
    ) -> dict[str, Any]:
        """Enforce overdue activity deadlines now."""
        body: dict[str, Any] = {}
        if execution_ids:
            body["execution_ids"] = list(execution_ids)
        if limit is not None:
            body["limit"] = limit
        return _obj(
            await self._call(_CONTROL, "POST", "/system/activity-timeouts/pass", body=body),
            "activity_timeouts",
        )

    # -- workflows -------------------------------------------------------------------------

    async def export_history(self, workflow_id: str, run_id: str) -> dict[str, Any]:
        """The run's history export bundle (replayable with ``replay_history``)."""
        return _obj(
            await self._call(
                _CONTROL,
                "GET",
                "/workflows/{w}/runs/{r}/history/export",
                {"w": workflow_id, "r": run_id},
                context=workflow_id,
            ),
            "history_export",
        )

    async def repair_workflow(self, workflow_id: str) -> WorkflowCommandResult:
        """Re-dispatch the current run's workflow task if it is stuck."""
        data = await self._call(
            _CONTROL,
            "POST",
            "/workflows/{w}/repair",
            {"w": workflow_id},
            body={},
            context=workflow_id,
        )
        return _pick(
            WorkflowCommandResult,
            data,
            workflow_id=str((data or {}).get("workflow_id") or workflow_id),
        )

    async def archive_workflow(
        self, workflow_id: str, reason: str | None = None
    ) -> WorkflowCommandResult:
        """Mark the closed current run archived."""
        body = {} if reason is None else {"reason": reason}
        data = await self._call(
            _CONTROL,
            "POST",
            "/workflows/{w}/archive",
            {"w": workflow_id},
            body=body,
            context=workflow_id,
        )
        return _pick(
            WorkflowCommandResult,
            data,
            workflow_id=str((data or {}).get("workflow_id") or workflow_id),
        )

    # -- bridge --------------------------------------------------------------------------

    async def send_webhook_bridge_event(
        self,
        adapter: str,
        *,
        action: str,
        target: Mapping[str, Any],
        input: Mapping[str, Any] | None = None,
        idempotency_key: str,
        correlation: Mapping[str, Any] | None = None,
    ) -> BridgeAdapterOutcome:
        """Start or signal a workflow from a webhook-shaped event, once per ``idempotency_key``.

        A 422 answer is a normal *rejected* outcome, not an exception.
        """
        body: dict[str, Any] = {
            "action": action,
            "idempotency_key": idempotency_key,
            "target": dict(target),
        }
        if input is not None:
            body["input"] = dict(input)
        if correlation is not None:
            body["correlation"] = dict(correlation)
        status, data = await self._send(
            _CONTROL, "POST", "/bridge-adapters/webhook/{a}", {"a": adapter}, body=body
        )
        if status >= 400 and status != 422:
            raise errors.error_from_response(
                status, data, context=adapter, namespace=self.namespace
            )
        if not isinstance(data, dict) or not data:
            raise errors.ServerError(status, {"reason": "invalid_bridge_outcome", "body": data})
        return _pick(BridgeAdapterOutcome, data, accepted=bool(data.get("accepted")))
