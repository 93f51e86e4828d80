"""The control plane beyond workflows: namespaces, search attributes, task queues and build-id
cohorts, the worker roster, maintenance passes (repair, retention, activity timeouts),
history export, repair/archive of one workflow, and the bridge webhook.

One :class:`ControlPlane` per engine (``attach_control_plane``); every operation is one store
transaction through the engine's ``_txn``, like the engine's own methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...protocol import codec
from ..store.control_rows import (
    BridgeEventRow,
    BuildIdCohortRow,
    NamespaceSettingsRow,
    RunArchiveRow,
    SearchAttributeRow,
)
from ..store.rows import NamespaceRow, RunRow, WorkerRow
from .clock import rfc3339
from .errors import (
    AlreadyStarted,
    Conflict,
    InvalidArgument,
    NamespaceNotFound,
    NotFound,
    RunNotActive,
)
from .leases import release_workflow_task
from .paging import event_dict
from .runctx import ACTIVITY_KIND, WORKFLOW_KIND
from .schedules import ScheduleService
from .visibility import ATTRIBUTE_TYPES, SYSTEM_ATTRIBUTES

if TYPE_CHECKING:
    from .service import Engine

__all__ = ["ControlPlane", "SearchAttributeNotFound", "attach_control_plane", "control_plane"]

STORAGE_DRIVERS = ("local", "s3", "gcs", "azure")
DEFAULT_EXTERNAL_THRESHOLD = 256 * 1024
REFERENCE_SCHEMA = "durable-workflow.v2.external-payload-reference.v1"
DEFAULT_HEARTBEAT_SECONDS = 60
STALE_FACTOR = 3
REPAIR_REDISPATCH_AFTER = 30.0
SCAN_LIMIT = 500
_DRAIN_REFRESH_SECONDS = 5.0


class SearchAttributeNotFound(NotFound):
    reason = "search_attribute_not_found"


def attach_control_plane(engine: Engine) -> ControlPlane:
    """Create the engine's control plane and hook schedule firing into its sweeper."""
    plane = ControlPlane(engine)
    engine.control = plane  # type: ignore[attr-defined]
    engine.extra_sweeps.append(plane.schedules.sweep)
    return plane


def control_plane(engine: Engine) -> ControlPlane:
    plane = getattr(engine, "control", None)
    return plane if isinstance(plane, ControlPlane) else attach_control_plane(engine)


def namespace_view(row: NamespaceRow, settings: NamespaceSettingsRow | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": row.name,
        "description": row.description,
        "retention_days": row.retention_days,
        "status": row.status,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
    }
    if settings is not None and settings.external_storage is not None:
        out["external_payload_storage"] = settings.external_storage
    return out


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ControlPlane:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.schedules = ScheduleService(engine)
        self._draining: set[tuple[str, str, str]] = set()
        self._drain_loaded_at = -1e18
        self._drain_changed = asyncio.Event()

    @property
    def _txn(self) -> Any:
        return self.engine._txn

    # -- namespaces ----------------------------------------------------------------------

    async def namespace_exists(self, name: str) -> bool:
        """Cached, with a database read on a miss: a namespace created by another process works."""
        if self.engine.has_namespace(name):
            return True
        async with self._txn() as (tx, _, _now):
            row = await tx.get_namespace(name)
        if row is None or row.status != "active":
            return False
        self.engine._namespaces.add(name)
        return True

    async def _namespace(self, tx: Any, name: str) -> NamespaceRow:
        row = await tx.get_namespace(name)
        if row is None:
            raise NamespaceNotFound(f"Namespace {name!r} does not exist.", namespace=name)
        return row  # type: ignore[no-any-return]

    async def list_namespaces(self) -> list[dict[str, Any]]:
        async with self._txn() as (tx, _, _now):
            rows = await tx.list_namespaces()
            return [namespace_view(r, await tx.get_namespace_settings(r.name)) for r in rows]

    async def describe_namespace(self, name: str) -> dict[str, Any]:
        async with self._txn() as (tx, _, _now):
            row = await self._namespace(tx, name)
            return namespace_view(row, await tx.get_namespace_settings(name))

    async def create_namespace(
        self, name: str, description: str | None, retention_days: int
    ) -> dict[str, Any]:
        async with self._txn() as (tx, _, now):
            if await tx.get_namespace(name) is not None:
                raise InvalidArgument(
                    f"Namespace {name!r} already exists.",
                    {"name": [f"namespace {name!r} already exists"]},
                    reason="namespace_already_exists",
                )
            row = NamespaceRow(name, description, retention_days, "active", now, now)
            await tx.insert_namespace(row)
        self.engine._namespaces.add(name)
        return namespace_view(row, None)

    async def update_namespace(self, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        async with self._txn() as (tx, _, now):
            row = await self._namespace(tx, name)
            if changes:
                changes["updated_at"] = now
                await tx.update_namespace(name, changes)
                for k, v in changes.items():
                    setattr(row, k, v)
            return namespace_view(row, await tx.get_namespace_settings(name))

    async def set_external_storage(
        self,
        name: str,
        *,
        driver: str,
        enabled: bool,
        threshold_bytes: int | None,
        config: dict[str, Any] | None,
    ) -> dict[str, Any]:
        problems = _storage_policy_problems(driver, config or {}) if enabled else {}
        if problems:
            first = next(iter(problems.items()))
            raise InvalidArgument(
                f"Invalid external storage policy: {first[0]} {first[1][0]}", problems
            )
        policy = {
            "driver": driver,
            "enabled": enabled,
            "threshold_bytes": threshold_bytes or DEFAULT_EXTERNAL_THRESHOLD,
            "config": config or {},
            "mode": "client_managed",
            "status": "configured" if enabled else "disabled",
            "integrity_required": True,
            "reference": REFERENCE_SCHEMA,
        }
        async with self._txn() as (tx, _, now):
            row = await self._namespace(tx, name)
            settings = NamespaceSettingsRow(name, policy, now)
            await tx.upsert_namespace_settings(settings)
            return namespace_view(row, settings)

    async def storage_test(
        self, ns: str, driver: str | None, small: int, large: int
    ) -> dict[str, Any]:
        """Round-trip a small and a large payload through the namespace's bound driver."""
        async with self._txn() as (tx, _, _now):
            settings = await tx.get_namespace_settings(ns)
        policy = settings.external_storage if settings else None
        if not policy or not policy.get("enabled"):
            raise InvalidArgument(
                f"Namespace {ns!r} has no enabled external storage policy.",
                {"driver": ["no external storage policy is bound to this namespace"]},
                reason="external_storage_not_configured",
            )
        if driver is not None and driver != policy.get("driver"):
            raise InvalidArgument(
                f"driver {driver!r} is not the namespace's bound driver {policy.get('driver')!r}",
                {"driver": [f"must be {policy.get('driver')!r}"]},
            )
        drv = str(policy.get("driver"))
        results = {
            "small_payload": await asyncio.to_thread(_probe, drv, policy, small),
            "large_payload": await asyncio.to_thread(_probe, drv, policy, large),
        }
        ok = all(r["status"] == "passed" for r in results.values())
        return {"status": "passed" if ok else "failed", "namespace": ns, "driver": drv, **results}

    # -- search attributes -------------------------------------------------------------------

    async def search_attribute_types(self, ns: str) -> dict[str, str]:
        async with self._txn() as (tx, _, _now):
            return {r.name: r.type for r in await tx.list_search_attributes(ns)}

    async def list_search_attributes(self, ns: str) -> dict[str, Any]:
        custom = await self.search_attribute_types(ns)
        return {
            "namespace": ns,
            "system_attributes": {k: v[0] for k, v in SYSTEM_ATTRIBUTES.items()},
            "custom_attributes": custom,
        }

    async def create_search_attribute(self, ns: str, name: str, type_: str) -> dict[str, Any]:
        if type_ not in ATTRIBUTE_TYPES:
            raise InvalidArgument(
                f"Unsupported search attribute type {type_!r}; use one of {', '.join(ATTRIBUTE_TYPES)}.",
                {"type": [f"must be one of {', '.join(ATTRIBUTE_TYPES)}"]},
                reason="unsupported_search_attribute_type",
            )
        if name in SYSTEM_ATTRIBUTES:
            raise InvalidArgument(
                f"{name!r} is a system search attribute.",
                {"name": ["clashes with a system search attribute"]},
            )
        async with self._txn() as (tx, _, now):
            existing = {r.name for r in await tx.list_search_attributes(ns)}
            if name in existing:
                raise InvalidArgument(
                    f"Search attribute {name!r} already exists.",
                    {"name": [f"search attribute {name!r} already exists"]},
                    reason="search_attribute_already_exists",
                )
            await tx.insert_search_attribute(SearchAttributeRow(ns, name, type_, now))
        return {"name": name, "type": type_, "namespace": ns, "outcome": "created"}

    async def delete_search_attribute(self, ns: str, name: str) -> dict[str, Any]:
        if name in SYSTEM_ATTRIBUTES:
            raise InvalidArgument(
                f"{name!r} is a system search attribute and cannot be deleted.",
                {"name": ["is a system search attribute"]},
            )
        async with self._txn() as (tx, _, _now):
            if not await tx.delete_search_attribute(ns, name):
                raise SearchAttributeNotFound(f"Search attribute {name!r} not found.", name=name)
        return {"name": name, "namespace": ns, "outcome": "deleted"}

    # -- workers -------------------------------------------------------------------------

    @staticmethod
    def _heartbeat_interval(row: WorkerRow) -> int:
        value = (row.details or {}).get("heartbeat_interval_seconds")
        return value if isinstance(value, int) and value > 0 else DEFAULT_HEARTBEAT_SECONDS

    def worker_view(self, row: WorkerRow, now: float) -> dict[str, Any]:
        details = row.details or {}
        interval = self._heartbeat_interval(row)
        last = row.last_heartbeat_at or row.updated_at
        stale = now - last > STALE_FACTOR * interval
        cohort = (row.namespace, row.task_queue or "", row.build_id or "")
        status = "stale" if stale else ("draining" if cohort in self._draining else "active")
        return {
            "worker_id": row.worker_id,
            "namespace": row.namespace,
            "task_queue": row.task_queue,
            "runtime": row.runtime,
            "sdk_version": row.sdk_version,
            "build_id": row.build_id,
            "status": status,
            "max_concurrent_workflow_tasks": details.get("max_concurrent_workflow_tasks"),
            "max_concurrent_activity_tasks": details.get("max_concurrent_activity_tasks"),
            "supported_workflow_types": row.supported_workflow_types or [],
            "supported_activity_types": row.supported_activity_types or [],
            "last_heartbeat_at": rfc3339(row.last_heartbeat_at),
            "registered_at": rfc3339(row.registered_at),
            "updated_at": rfc3339(row.updated_at),
            "task_slots": details.get("task_slots") or {},
            "process_metrics": details.get("process_metrics") or {},
            "heartbeat_interval_seconds": interval,
        }

    async def list_workers(
        self, ns: str, task_queue: str | None, status: str | None
    ) -> dict[str, Any]:
        async with self._txn() as (tx, _, now):
            rows = await tx.list_workers(ns, task_queue)
        views = [self.worker_view(r, now) for r in rows]
        if status is not None:
            views = [v for v in views if v["status"] == status]
        return {
            "namespace": ns,
            "workers": views,
            "stale_after_seconds": STALE_FACTOR * DEFAULT_HEARTBEAT_SECONDS,
        }

    async def describe_worker(self, ns: str, worker_id: str) -> dict[str, Any]:
        async with self._txn() as (tx, _, now):
            row = await tx.get_worker(ns, worker_id)
        if row is None:
            from .errors import WorkerNotFound

            raise WorkerNotFound(f"Worker {worker_id!r} is not registered.", worker_id=worker_id)
        return self.worker_view(row, now)

    # -- task queues and build ids ---------------------------------------------------------

    async def list_task_queues(self, ns: str) -> dict[str, Any]:
        async with self._txn() as (tx, _, _now):
            names = await tx.task_queue_names(ns)
        return {
            "namespace": ns,
            "task_queues": [await self._queue_view(ns, n, False) for n in names],
        }

    async def describe_task_queue(self, ns: str, name: str) -> dict[str, Any]:
        return await self._queue_view(ns, name, True)

    async def _queue_view(self, ns: str, name: str, detailed: bool) -> dict[str, Any]:
        async with self._txn() as (tx, _, now):
            counts = await tx.task_queue_counts(ns, name)
            workers = await tx.list_workers(ns, name)
            leases = await tx.leased_tasks_on_queue(ns, name, 100) if detailed else ([], [])
        views = [self.worker_view(w, now) for w in workers]
        active = [v for v in views if v["status"] != "stale"]
        wakeups = self.engine.wakeups

        def kind(prefix: str, capacity_key: str) -> dict[str, Any]:
            capacity = sum(int(v.get(capacity_key) or 0) for v in active)
            leased = counts.get(f"{prefix}_leased", 0)
            return {
                "status": "accepting" if active else "no_workers",
                "ready_count": counts.get(f"{prefix}_ready", 0),
                "leased_count": leased,
                "delayed_count": counts.get(f"{prefix}_delayed", 0),
                "worker_capacity": capacity,
                "remaining_capacity": max(0, capacity - leased),
            }

        wf, act = (
            kind("workflow", "max_concurrent_workflow_tasks"),
            kind("activity", "max_concurrent_activity_tasks"),
        )
        out: dict[str, Any] = {
            "name": name,
            "namespace": ns,
            "stats": {
                "approximate_backlog_count": wf["ready_count"] + act["ready_count"],
                "workflow_tasks": {
                    k: wf[k] for k in ("ready_count", "leased_count", "delayed_count")
                },
                "activity_tasks": {
                    k: act[k] for k in ("ready_count", "leased_count", "delayed_count")
                },
                "pollers": {
                    "active_count": len(active),
                    "stale_count": len(views) - len(active),
                    "parked_polls": sum(
                        wakeups.parked_count((ns, name, k)) for k in (WORKFLOW_KIND, ACTIVITY_KIND)
                    ),
                },
            },
            "admission": {
                "workflow_tasks": wf,
                "activity_tasks": act,
                "query_tasks": {"status": "accepting" if active else "no_workers"},
            },
            "pollers": [
                {
                    "worker_id": v["worker_id"],
                    "build_id": v["build_id"],
                    "status": v["status"],
                    "last_heartbeat_at": v["last_heartbeat_at"],
                }
                for v in views
            ],
        }
        if detailed:
            wfts, acts = leases
            out["current_leases"] = [
                {
                    "task_kind": "workflow",
                    "task_id": t.task_id,
                    "workflow_id": t.workflow_id,
                    "run_id": t.run_id,
                    "lease_owner": t.lease_owner,
                    "lease_expires_at": rfc3339(t.lease_expires_at),
                }
                for t in wfts
            ] + [
                {
                    "task_kind": "activity",
                    "task_id": a.task_id,
                    "activity_type": a.activity_type,
                    "workflow_id": a.workflow_id,
                    "run_id": a.run_id,
                    "lease_owner": a.lease_owner,
                    "lease_expires_at": rfc3339(a.lease_expires_at),
                }
                for a in acts
            ]
        return out

    async def build_ids(self, ns: str, task_queue: str) -> dict[str, Any]:
        async with self._txn() as (tx, _, now):
            workers = await tx.list_workers(ns, task_queue)
            cohorts = {c.build_id: c for c in await tx.list_cohorts(ns, task_queue)}
        groups: dict[str, list[WorkerRow]] = {}
        for w in workers:
            groups.setdefault(w.build_id or "", []).append(w)
        out = []
        for build_id in sorted(set(groups) | set(cohorts)):
            members = groups.get(build_id, [])
            views = [self.worker_view(w, now) for w in members]
            stale = sum(1 for v in views if v["status"] == "stale")
            live = len(views) - stale
            cohort = cohorts.get(build_id)
            draining = cohort is not None and cohort.drain_intent == "draining"
            status = "draining" if draining else ("active" if live else "stale_only")
            heartbeats = [w.last_heartbeat_at for w in members if w.last_heartbeat_at]
            out.append(
                {
                    "build_id": build_id or None,
                    "rollout_status": status,
                    "active_worker_count": 0 if draining else live,
                    "draining_worker_count": live if draining else 0,
                    "stale_worker_count": stale,
                    "total_worker_count": len(views),
                    "runtimes": sorted({w.runtime for w in members if w.runtime}),
                    "sdk_versions": sorted({w.sdk_version for w in members if w.sdk_version}),
                    "last_heartbeat_at": rfc3339(max(heartbeats)) if heartbeats else None,
                    "first_seen_at": rfc3339(min(w.registered_at for w in members))
                    if members
                    else None,
                    "drain_intent": cohort.drain_intent if cohort else "active",
                    "drained_at": rfc3339(cohort.drained_at) if cohort else None,
                    "promoted_at": rfc3339(cohort.promoted_at) if cohort else None,
                    "rolled_back_at": None,
                    "new_start_selected": False,
                    "workflow_definition_fingerprint_count": 0,
                    "workflow_definition_fingerprint_conflicts": [],
                }
            )
        return {
            "namespace": ns,
            "task_queue": task_queue,
            "stale_after_seconds": STALE_FACTOR * DEFAULT_HEARTBEAT_SECONDS,
            "build_ids": out,
        }

    async def set_drain(
        self, ns: str, task_queue: str, build_id: str | None, intent: str
    ) -> dict[str, Any]:
        """Drain (no new tasks for the cohort's workers) or resume; idempotent."""
        key = build_id or ""
        async with self._txn() as (tx, _, now):
            old = await tx.get_cohort(ns, task_queue, key)
            row = old or BuildIdCohortRow(ns, task_queue, key, "active", None, None, now)
            if intent == "promote":
                row.promoted_at = now
                row.drain_intent = "active"
            elif row.drain_intent != intent:
                row.drain_intent = intent
                row.drained_at = now if intent == "draining" else row.drained_at
            row.updated_at = now
            await tx.upsert_cohort(row)
        if row.drain_intent == "draining":
            self._draining.add((ns, task_queue, key))
            # Polls already parked would still receive the next task: answer them empty now;
            # the workers' next polls are held by hold_if_draining.
            async with self._txn() as (tx, _, _now):
                members = [
                    w for w in await tx.list_workers(ns, task_queue) if (w.build_id or "") == key
                ]
            for w in members:
                self.engine.wakeups.dismiss(ns, w.worker_id)
        else:
            self._draining.discard((ns, task_queue, key))
        self._drain_changed.set()
        self._drain_changed = asyncio.Event()
        return {
            "namespace": ns,
            "task_queue": task_queue,
            "build_id": build_id,
            "drain_intent": row.drain_intent,
            "drained_at": rfc3339(row.drained_at),
            "promoted_at": rfc3339(row.promoted_at),
            "rolled_back_at": None,
            "new_start_selected": intent == "promote",
        }

    async def _refresh_drains(self) -> None:
        """Re-read draining cohorts now and then, so a drain set through another process holds."""
        now = time.monotonic()
        if now - self._drain_loaded_at < _DRAIN_REFRESH_SECONDS:
            return
        self._drain_loaded_at = now
        async with self._txn() as (tx, _, _now):
            rows = await tx.draining_cohorts()
        self._draining = {(c.namespace, c.task_queue, c.build_id) for c in rows}

    async def hold_if_draining(self, ns: str, worker_id: str, task_queue: str, wait: float) -> bool:
        """True (after holding the poll up to ``wait`` s or until a resume) if the worker's
        build-id cohort is draining: it finishes in-flight work but gets no new tasks."""
        await self._refresh_drains()
        if not self._draining:
            return False
        async with self._txn() as (tx, _, _now):
            worker = await tx.get_worker(ns, worker_id)
        build = (worker.build_id if worker else None) or ""
        if (ns, task_queue, build) not in self._draining:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drain_changed.wait(), timeout=wait)
        return True

    # -- workflows: export, repair, archive ------------------------------------------------

    async def export_history(self, ns: str, workflow_id: str, run_id: str) -> dict[str, Any]:
        async with self._txn() as (tx, _, now):
            _wf, run = await self.engine._run_of(tx, ns, workflow_id, run_id)
            events = []
            after = 0
            while True:
                page = await tx.read_events(run.run_id, after, 1000)
                events.extend(page)
                if len(page) < 1000:
                    break
                after = page[-1].sequence
        history = []
        for e in events:
            d = event_dict(e)
            history.append(
                {
                    "sequence": e.sequence,
                    "type": e.event_type,
                    "event_type": e.event_type,
                    "recorded_at": d.get("timestamp"),
                    "payload": e.payload,
                }
            )
        return {
            "schema": "durable-workflow.v2.history-export",
            "schema_version": 1,
            "workflow": {
                "instance_id": run.workflow_id,
                "workflow_id": run.workflow_id,
                "run_id": run.run_id,
                "namespace": ns,
                "workflow_type": run.workflow_type,
                "task_queue": run.task_queue,
                "status": run.status,
                "run_number": run.run_number,
                "started_at": rfc3339(run.started_at),
                "closed_at": rfc3339(run.closed_at),
                "last_history_sequence": events[-1].sequence if events else 0,
            },
            "history_events": history,
            "payloads": {"codec": codec.AVRO_CODEC},
            "commands": [],
            "signals": [],
            "updates": [],
            "tasks": [],
            "activities": [],
            "timers": [],
            "failures": [],
            "links": {
                "continued_from_run_id": run.continued_from_run_id,
                "continued_to_run_id": run.continued_to_run_id,
            },
            "redaction": {},
            "codec_schemas": {},
            "payload_manifest": {},
            "exported_at": rfc3339(now),
        }

    async def repair_workflow(self, ns: str, workflow_id: str) -> dict[str, Any]:
        async with self._txn() as (tx, effects, now):
            _wf, run = await self.engine._instance(tx, ns, workflow_id)
            if not run.is_open:
                raise RunNotActive(
                    f"Workflow {workflow_id!r} run {run.run_id} is {run.status}; nothing to repair.",
                    workflow_id=workflow_id,
                    run_id=run.run_id,
                )
            outcome = await self._repair_run(tx, effects, run, now)
        return {
            "workflow_id": workflow_id,
            "run_id": run.run_id,
            "outcome": outcome,
            "command_status": "accepted",
            "command_id": f"repair-{run.run_id}-{int(now * 1000)}",
        }

    async def _repair_run(self, tx: Any, effects: Any, run: RunRow, now: float) -> str:
        ctx = self.engine._ctx(tx, run, now, effects)
        task = await ctx.open_task()
        if task is not None:
            if task.status == "leased" and (task.lease_expires_at or 0) <= now:
                await release_workflow_task(ctx, task)
                await ctx.save()
                return "repair_dispatched"
            if task.status == "ready":
                effects.wake(task.namespace, task.task_queue, WORKFLOW_KIND, task.workflow_type)
            return "repair_not_needed"
        stranded = await tx.open_runs_without_task(run.namespace, now + 1, SCAN_LIMIT)
        if any(r.run_id == run.run_id for r in stranded):
            await ctx.create_task()
            await ctx.save()
            return "repair_dispatched"
        return "repair_not_needed"

    async def archive_workflow(
        self, ns: str, workflow_id: str, reason: str | None
    ) -> dict[str, Any]:
        async with self._txn() as (tx, _, now):
            _wf, run = await self.engine._instance(tx, ns, workflow_id)
            if run.is_open:
                raise RunNotActive(
                    f"Workflow {workflow_id!r} is still {run.status}; only closed runs can be archived.",
                    workflow_id=workflow_id,
                    run_id=run.run_id,
                )
            if await tx.get_archive(run.run_id) is not None:
                outcome = "archive_not_needed"
            else:
                await tx.insert_archive(RunArchiveRow(run.run_id, ns, workflow_id, reason, now))
                outcome = "archived"
        return {
            "workflow_id": workflow_id,
            "run_id": run.run_id,
            "outcome": outcome,
            "command_status": "accepted",
            "command_id": f"archive-{run.run_id}",
        }

    # -- maintenance passes --------------------------------------------------------------

    async def repair_status(self, ns: str) -> dict[str, Any]:
        async with self._txn() as (tx, _, now):
            stale = await tx.stale_ready_workflow_tasks(
                ns, now - REPAIR_REDISPATCH_AFTER, SCAN_LIMIT
            )
            expired = await tx.expired_leases_in(ns, now, SCAN_LIMIT)
            missing = await tx.open_runs_without_task(ns, now + 1, SCAN_LIMIT)
        existing = stale + expired
        return {
            "namespace": ns,
            "policy": {
                "redispatch_after_seconds": int(REPAIR_REDISPATCH_AFTER),
                "loop_throttle_seconds": 0,
                "scan_limit": SCAN_LIMIT,
                "scan_strategy": "oldest_first",
                "failure_backoff_max_seconds": 60,
            },
            "candidates": {
                "total_candidates": len(existing) + len(missing),
                "existing_task_candidates": len(existing),
                "missing_task_candidates": len(missing),
                "scan_pressure": len(existing) >= SCAN_LIMIT or len(missing) >= SCAN_LIMIT,
                "oldest_task_candidate_created_at": rfc3339(
                    min((t.created_at for t in existing), default=None)
                ),
                "oldest_missing_run_started_at": rfc3339(
                    min((r.started_at for r in missing), default=None)
                ),
                "missing_run_ids": [r.run_id for r in missing],
                "scopes": [{"namespace": ns}],
            },
        }

    async def repair_pass(
        self, ns: str, run_ids: list[str] | None, instance_id: str | None
    ) -> dict[str, Any]:
        def wanted(run_id: str, workflow_id: str) -> bool:
            return (run_ids is None or run_id in run_ids) and (
                instance_id is None or workflow_id == instance_id
            )

        async with self._txn() as (tx, effects, now):
            stale = await tx.stale_ready_workflow_tasks(
                ns, now - REPAIR_REDISPATCH_AFTER, SCAN_LIMIT
            )
            expired = await tx.expired_leases_in(ns, now, SCAN_LIMIT)
            missing = await tx.open_runs_without_task(ns, now + 1, SCAN_LIMIT)
            existing = [t for t in stale + expired if wanted(t.run_id, t.workflow_id)]
            missing = [r for r in missing if wanted(r.run_id, r.workflow_id)]
            existing_failures: list[dict[str, Any]] = []
            missing_failures: list[dict[str, Any]] = []
            repaired_existing = repaired_missing = 0
            for task in existing:
                run = await tx.get_run(task.run_id)
                if run is None or not run.is_open:
                    existing_failures.append({"task_id": task.task_id, "reason": "run_closed"})
                    continue
                if task.status == "leased":
                    ctx = self.engine._ctx(tx, run, now, effects)
                    await release_workflow_task(ctx, task)
                    await ctx.save()
                else:
                    effects.wake(task.namespace, task.task_queue, WORKFLOW_KIND, task.workflow_type)
                repaired_existing += 1
            for run in missing:
                ctx = self.engine._ctx(tx, run, now, effects)
                await ctx.create_task()
                await ctx.save()
                repaired_missing += 1
        return {
            "namespace": ns,
            "throttled": False,
            "selected_existing_task_candidates": len(existing),
            "selected_missing_task_candidates": len(missing),
            "repaired_existing_tasks": repaired_existing,
            "repaired_missing_tasks": repaired_missing,
            "dispatched_tasks": repaired_existing + repaired_missing,
            "existing_task_failures": existing_failures,
            "missing_run_failures": missing_failures,
        }

    async def _retention(self, tx: Any, ns: str, now: float) -> tuple[int, float]:
        row = await self._namespace(tx, ns)
        days = row.retention_days if row.retention_days is not None else 30
        return days, now - days * 86400

    async def retention_status(self, ns: str) -> dict[str, Any]:
        async with self._txn() as (tx, _, now):
            days, cutoff = await self._retention(tx, ns, now)
            runs = await tx.expired_closed_runs(ns, cutoff, SCAN_LIMIT)
        return {
            "namespace": ns,
            "retention_days": days,
            "cutoff": rfc3339(cutoff),
            "expired_run_count": len(runs),
            "expired_run_ids": [r.run_id for r in runs],
            "scan_limit": SCAN_LIMIT,
            "scan_pressure": len(runs) >= SCAN_LIMIT,
        }

    async def retention_pass(
        self, ns: str, run_ids: list[str] | None, limit: int | None
    ) -> dict[str, Any]:
        """Delete closed runs older than the namespace retention (with their whole history)."""
        results: list[dict[str, Any]] = []
        async with self._txn() as (tx, _, now):
            days, cutoff = await self._retention(tx, ns, now)
            cap = limit or SCAN_LIMIT
            if run_ids is None:
                targets: list[tuple[str, RunRow | None]] = [
                    (r.run_id, r) for r in await tx.expired_closed_runs(ns, cutoff, cap)
                ]
            else:
                targets = [(rid, await tx.get_run(rid)) for rid in run_ids[:cap]]
            for run_id, run in targets:
                if run is None or run.namespace != ns:
                    results.append(
                        {"run_id": run_id, "outcome": "skipped", "reason": "run_not_found"}
                    )
                    continue
                if run.is_open or run.closed_at is None:
                    results.append({"run_id": run_id, "outcome": "skipped", "reason": "run_open"})
                    continue
                if run.closed_at >= cutoff:
                    results.append(
                        {"run_id": run_id, "outcome": "skipped", "reason": "within_retention"}
                    )
                    continue
                wf = await tx.get_workflow(ns, run.workflow_id)
                deleted = await tx.delete_run(run.run_id)
                if wf is not None and wf.current_run_id == run.run_id:
                    await tx.delete_workflow(ns, run.workflow_id)
                results.append(
                    {
                        "run_id": run_id,
                        "workflow_id": run.workflow_id,
                        "outcome": "pruned",
                        "history_events_deleted": deleted,
                    }
                )
        pruned = sum(1 for r in results if r["outcome"] == "pruned")
        return {
            "namespace": ns,
            "retention_days": days,
            "cutoff": rfc3339(cutoff),
            "processed": len(results),
            "pruned": pruned,
            "skipped": len(results) - pruned,
            "failed": 0,
            "results": results,
        }

    async def activity_timeout_status(self, ns: str) -> dict[str, Any]:
        async with self._txn() as (tx, _, now):
            acts = await tx.overdue_activities(ns, now, None, SCAN_LIMIT)
        return {
            "namespace": ns,
            "expired_count": len(acts),
            "expired_execution_ids": [a.task_id for a in acts],
            "scan_limit": SCAN_LIMIT,
            "scan_pressure": len(acts) >= SCAN_LIMIT,
        }

    async def activity_timeout_pass(
        self, ns: str, execution_ids: list[str] | None, limit: int | None
    ) -> dict[str, Any]:
        """Enforce overdue activity deadlines now (the sweeper's own steps, run on demand)."""
        async with self._txn() as (tx, _, now):
            before = await tx.overdue_activities(ns, now, execution_ids, limit or SCAN_LIMIT)
        if before:
            await self.engine._sweep_activity_leases(self.engine.config.sweep_batch)
            await self.engine._sweep_activity_deadlines(self.engine.config.sweep_batch)
        results = []
        async with self._txn() as (tx, _, _now):
            for act in before:
                after = await tx.get_activity(act.task_id)
                changed = after is not None and (
                    after.status != act.status
                    or after.attempt_number != act.attempt_number
                    or after.deadline_at != act.deadline_at
                )
                entry: dict[str, Any] = {
                    "execution_id": act.task_id,
                    "outcome": "enforced" if changed else "skipped",
                }
                if changed and after is not None:
                    entry["has_retry"] = after.status in ("ready", "delayed")
                else:
                    entry["reason"] = "not_overdue"
                results.append(entry)
        enforced = sum(1 for r in results if r["outcome"] == "enforced")
        return {
            "namespace": ns,
            "processed": len(results),
            "enforced": enforced,
            "skipped": len(results) - enforced,
            "failed": 0,
            "results": results,
        }

    # -- bridge webhook --------------------------------------------------------------------

    async def bridge_event(
        self,
        ns: str,
        adapter: str,
        *,
        action: str,
        idempotency_key: str,
        target: dict[str, Any],
        input: Any,
        correlation: dict[str, Any] | None,
    ) -> tuple[int, dict[str, Any]]:
        """Start or signal a workflow from a webhook, once per ``idempotency_key``."""
        fingerprint = _sha(
            json.dumps([action, target, input], sort_keys=True, default=str).encode()
        )
        base: dict[str, Any] = {
            "schema": "durable-workflow.v2.bridge-adapter-outcome.contract",
            "version": 1,
            "adapter": adapter,
            "action": action,
            "idempotency_key": idempotency_key,
            "target": target,
            "correlation": correlation,
        }
        async with self._txn() as (tx, _, _now):
            seen = await tx.get_bridge_event(ns, adapter, idempotency_key)
        if seen is not None:
            if seen.fingerprint != fingerprint:
                return 422, {
                    **base,
                    "accepted": False,
                    "outcome": "rejected",
                    "reason": "idempotency_key_conflict",
                    "message": "idempotency_key was already used for a different event",
                }
            return 200, {**seen.outcome, "outcome": "duplicate", "duplicate": True}
        args = [] if input is None else [input]
        try:
            encoded = codec.envelope(args)
        except codec.PayloadEncodeError as exc:
            return 422, {
                **base,
                "accepted": False,
                "outcome": "rejected",
                "reason": "invalid_input",
                "message": str(exc),
            }
        try:
            if action == "start_workflow":
                wtype, queue = target.get("workflow_type"), target.get("task_queue")
                if (
                    not isinstance(wtype, str)
                    or not isinstance(queue, str)
                    or not wtype
                    or not queue
                ):
                    return 422, {
                        **base,
                        "accepted": False,
                        "outcome": "rejected",
                        "reason": "invalid_target",
                        "message": "target needs workflow_type and task_queue strings",
                    }
                wid = target.get("workflow_id") or f"bridge:{adapter}:{idempotency_key}"
                result = await self.engine.start_workflow(
                    ns,
                    workflow_id=str(wid),
                    workflow_type=wtype,
                    task_queue=queue,
                    input=encoded,
                    duplicate_policy="fail",
                    business_key=target.get("business_key"),
                )
                outcome = {
                    **base,
                    "accepted": True,
                    "outcome": "accepted",
                    "reason": None,
                    "workflow_id": result.run.workflow_id,
                    "run_id": result.run.run_id,
                    "workflow_type": wtype,
                    "control_plane_outcome": result.outcome,
                }
            elif action == "signal_workflow":
                wid, name = target.get("workflow_id"), target.get("signal_name")
                if not isinstance(wid, str) or not isinstance(name, str) or not wid or not name:
                    return 422, {
                        **base,
                        "accepted": False,
                        "outcome": "rejected",
                        "reason": "invalid_target",
                        "message": "target needs workflow_id and signal_name strings",
                    }
                receipt = await self.engine.signal(
                    ns, wid, name, input=encoded, request_id=f"bridge-{adapter}-{idempotency_key}"
                )
                outcome = {
                    **base,
                    "accepted": True,
                    "outcome": "accepted",
                    "reason": None,
                    "workflow_id": wid,
                    "run_id": receipt.get("run_id"),
                    "workflow_type": None,
                    "control_plane_outcome": receipt.get("outcome"),
                }
            else:
                return 422, {
                    **base,
                    "accepted": False,
                    "outcome": "rejected",
                    "reason": "unsupported_action",
                    "message": f"action {action!r} is not supported by this server",
                }
        except (AlreadyStarted, NotFound, Conflict) as exc:
            return 422, {
                **base,
                "accepted": False,
                "outcome": "rejected",
                "reason": exc.reason,
                "message": exc.message,
            }
        async with self._txn() as (tx, _, now):
            await tx.insert_bridge_event(
                BridgeEventRow(ns, adapter, idempotency_key, fingerprint, outcome, now)
            )
        return 202, outcome


def _storage_policy_problems(driver: str, config: dict[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if driver not in STORAGE_DRIVERS:
        problems["driver"] = [f"must be one of {', '.join(STORAGE_DRIVERS)}"]
    elif driver == "local" and not isinstance(config.get("root") or config.get("uri"), str):
        problems["config.root"] = ["is required for the local driver (a directory path)"]
    elif driver in ("s3", "gcs") and not isinstance(config.get("bucket"), str):
        problems["config.bucket"] = [f"is required for the {driver} driver"]
    elif driver == "azure" and not isinstance(config.get("container"), str):
        problems["config.container"] = ["is required for the azure driver"]
    return problems


def _probe(driver: str, policy: dict[str, Any], size: int) -> dict[str, Any]:
    """Write, read back, verify and delete ``size`` bytes through the server's view of the driver."""
    if driver != "local":
        return {
            "status": "skipped",
            "bytes": size,
            "sha256": None,
            "reference_uri": None,
            "reason": f"the {driver} driver is client-managed; the server holds no {driver} client",
        }
    config = policy.get("config") or {}
    root = Path(str(config.get("root") or config.get("uri") or "").removeprefix("file://"))
    data = os.urandom(size)
    digest = _sha(data)
    path = root / str(config.get("prefix") or "") / "storage-test" / f"{digest}.bin"
    started = time.perf_counter()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        back = path.read_bytes()
        path.unlink()
    except OSError as exc:
        return {
            "status": "failed",
            "bytes": size,
            "sha256": digest,
            "reference_uri": None,
            "wrote": False,
            "read": False,
            "verified": False,
            "reason": str(exc),
        }
    ok = _sha(back) == digest and len(back) == size
    return {
        "status": "passed" if ok else "failed",
        "bytes": size,
        "sha256": digest,
        "reference_uri": path.resolve().as_uri(),
        "wrote": True,
        "read": True,
        "verified": ok,
        "latency_ms": round((time.perf_counter() - started) * 1000, 3),
    }
