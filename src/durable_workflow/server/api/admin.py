"""Operator and admin handlers: task queues and build ids (control-plane.md §5), the worker
roster (§6), system maintenance (§7), history export / repair / archive of one workflow
(§1.6, §1.11) and the bridge webhook (§9)."""

from __future__ import annotations

from typing import Any

from ..engine.control import control_plane
from .call import Call
from .validation import BodyReader


async def list_task_queues(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).list_task_queues(call.namespace)


async def describe_task_queue(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).describe_task_queue(
        call.namespace, call.params["name"]
    )


async def task_queue_build_ids(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).build_ids(call.namespace, call.params["name"])


def _build_id(call: Call) -> str | None:
    r = call.reader(("build_id",))
    build_id = r.string("build_id")
    r.finish()
    return build_id


async def drain_build_id(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).set_drain(
        call.namespace, call.params["name"], _build_id(call), "draining"
    )


async def resume_build_id(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).set_drain(
        call.namespace, call.params["name"], _build_id(call), "active"
    )


async def promote_build_id(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).set_drain(
        call.namespace, call.params["name"], _build_id(call), "promote"
    )


async def list_workers(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).list_workers(
        call.namespace, call.query("task_queue"), call.query("status")
    )


async def describe_worker(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).describe_worker(
        call.namespace, call.params["worker_id"]
    )


async def deregister_worker(call: Call) -> tuple[int, Any]:
    worker_id = call.params["worker_id"]
    recovered = await call.engine.deregister_worker(call.namespace, worker_id)
    return 200, {
        "worker_id": worker_id,
        "namespace": call.namespace,
        "outcome": "deregistered",
        "recovered_workflow_task_count": recovered,
    }


# -- system maintenance ----------------------------------------------------------------------


def _ids_and_limit(call: Call, ids_field: str) -> tuple[BodyReader, list[str] | None, int | None]:
    r = call.reader((ids_field, "limit", "instance_id"))
    ids = r.str_list(ids_field)
    limit = r.integer("limit", minimum=1, maximum=10_000)
    return r, ids, limit


async def repair_status(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).repair_status(call.namespace)


async def repair_pass(call: Call) -> tuple[int, Any]:
    r, ids, _limit = _ids_and_limit(call, "run_ids")
    instance_id = r.string("instance_id")
    r.finish()
    return 200, await control_plane(call.engine).repair_pass(call.namespace, ids, instance_id)


async def retention_status(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).retention_status(call.namespace)


async def retention_pass(call: Call) -> tuple[int, Any]:
    r, ids, limit = _ids_and_limit(call, "run_ids")
    r.finish()
    return 200, await control_plane(call.engine).retention_pass(call.namespace, ids, limit)


async def activity_timeout_status(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).activity_timeout_status(call.namespace)


async def activity_timeout_pass(call: Call) -> tuple[int, Any]:
    r, ids, limit = _ids_and_limit(call, "execution_ids")
    r.finish()
    return 200, await control_plane(call.engine).activity_timeout_pass(call.namespace, ids, limit)


# -- one workflow ----------------------------------------------------------------------------


async def export_history(call: Call) -> tuple[int, Any]:
    return 200, await control_plane(call.engine).export_history(
        call.namespace, call.params["workflow_id"], call.params["run_id"]
    )


async def repair_workflow(call: Call) -> tuple[int, Any]:
    call.reader(()).finish()
    return 200, await control_plane(call.engine).repair_workflow(
        call.namespace, call.params["workflow_id"]
    )


async def archive_workflow(call: Call) -> tuple[int, Any]:
    r = call.reader(("reason",))
    reason = r.string("reason", max_length=4096)
    r.finish()
    return 200, await control_plane(call.engine).archive_workflow(
        call.namespace, call.params["workflow_id"], reason
    )


# -- bridge webhook ----------------------------------------------------------------------------


async def bridge_webhook(call: Call) -> tuple[int, Any]:
    r = call.reader(("action", "idempotency_key", "target", "input", "correlation"))
    action = r.string("action", required=True)
    key = r.string("idempotency_key", required=True)
    target = r.obj("target", required=True)
    correlation = r.obj("correlation")
    r.finish()
    assert action and key and target is not None
    return await control_plane(call.engine).bridge_event(
        call.namespace,
        call.params["adapter"],
        action=action,
        idempotency_key=key,
        target=target,
        input=r.any("input"),
        correlation=correlation,
    )
