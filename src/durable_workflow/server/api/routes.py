"""The route table: every (method, path) the server answers, its plane and who may call it."""

from __future__ import annotations

from . import admin, discovery, namespaces, schedules, search
from . import control_plane as cp
from . import messages as msg
from . import worker_plane as wp
from .auth import ADMINS, ANY_ROLE, OPERATORS, WORKER_ONLY
from .router import Route

WF = "/api/workflows/{workflow_id}"
WFT = "/api/worker/workflow-tasks"
ACT = "/api/worker/activity-tasks"
QT = "/api/worker/query-tasks"

ROUTES: tuple[Route, ...] = (
    Route(
        "GET", "/api/cluster/info", discovery.cluster_info, "discovery", ANY_ROLE, namespaced=False
    ),
    Route("GET", "/api/health", discovery.health, "open", None, namespaced=False),
    Route("GET", "/api/ready", discovery.ready, "open", None, namespaced=False),
    # control plane
    Route("POST", "/api/workflows", cp.start_workflow, "control", OPERATORS),
    Route("GET", "/api/workflows", cp.list_workflows, "control", OPERATORS),
    Route("GET", WF, cp.describe_workflow, "control", OPERATORS),
    Route("GET", f"{WF}/runs", cp.list_runs, "control", OPERATORS),
    Route("GET", f"{WF}/runs/{{run_id}}", cp.describe_run, "control", OPERATORS),
    Route("GET", f"{WF}/runs/{{run_id}}/history", cp.history, "control", OPERATORS),
    Route("POST", f"{WF}/signal/{{signal_name}}", cp.signal, "control", OPERATORS),
    Route("POST", f"{WF}/runs/{{run_id}}/signal/{{signal_name}}", cp.signal, "control", OPERATORS),
    Route("POST", f"{WF}/query/{{query_name}}", msg.query, "control", OPERATORS),
    Route("POST", f"{WF}/update/{{update_name}}", msg.update, "control", OPERATORS),
    Route("POST", f"{WF}/cancel", cp.cancel, "control", OPERATORS),
    Route("POST", f"{WF}/terminate", cp.terminate, "control", OPERATORS),
    # control plane: schedules, namespaces, search attributes, task queues, workers, system
    *(
        Route(method, f"/api/schedules{path}", handler, "control", OPERATORS)
        for method, path, handler in (
            ("POST", "", schedules.create_schedule),
            ("GET", "", schedules.list_schedules),
            ("GET", "/{schedule_id}", schedules.describe_schedule),
            ("PUT", "/{schedule_id}", schedules.update_schedule),
            ("DELETE", "/{schedule_id}", schedules.delete_schedule),
            ("POST", "/{schedule_id}/pause", schedules.pause_schedule),
            ("POST", "/{schedule_id}/resume", schedules.resume_schedule),
            ("POST", "/{schedule_id}/trigger", schedules.trigger_schedule),
            ("POST", "/{schedule_id}/backfill", schedules.backfill_schedule),
            ("GET", "/{schedule_id}/history", schedules.schedule_history),
        )
    ),
    Route(
        "GET", "/api/namespaces", namespaces.list_namespaces, "control", OPERATORS, namespaced=False
    ),
    Route(
        "POST", "/api/namespaces", namespaces.create_namespace, "control", ADMINS, namespaced=False
    ),
    Route(
        "GET",
        "/api/namespaces/{name}",
        namespaces.describe_namespace,
        "control",
        OPERATORS,
        namespaced=False,
    ),
    Route(
        "PUT",
        "/api/namespaces/{name}",
        namespaces.update_namespace,
        "control",
        ADMINS,
        namespaced=False,
    ),
    Route(
        "PUT",
        "/api/namespaces/{name}/external-storage",
        namespaces.set_external_storage,
        "control",
        ADMINS,
        namespaced=False,
    ),
    Route("POST", "/api/storage/test", namespaces.storage_test, "control", ADMINS),
    Route("GET", "/api/search-attributes", search.list_search_attributes, "control", OPERATORS),
    Route("POST", "/api/search-attributes", search.create_search_attribute, "control", ADMINS),
    Route(
        "DELETE", "/api/search-attributes/{name}", search.delete_search_attribute, "control", ADMINS
    ),
    Route("GET", "/api/task-queues", admin.list_task_queues, "control", OPERATORS),
    Route("GET", "/api/task-queues/{name}", admin.describe_task_queue, "control", OPERATORS),
    Route(
        "GET", "/api/task-queues/{name}/build-ids", admin.task_queue_build_ids, "control", OPERATORS
    ),
    Route(
        "POST",
        "/api/task-queues/{name}/build-ids/drain",
        admin.drain_build_id,
        "control",
        OPERATORS,
    ),
    Route(
        "POST",
        "/api/task-queues/{name}/build-ids/resume",
        admin.resume_build_id,
        "control",
        OPERATORS,
    ),
    Route(
        "POST",
        "/api/task-queues/{name}/build-ids/promote",
        admin.promote_build_id,
        "control",
        OPERATORS,
    ),
    Route("GET", "/api/workers", admin.list_workers, "control", OPERATORS),
    Route("GET", "/api/workers/{worker_id}", admin.describe_worker, "control", OPERATORS),
    Route("DELETE", "/api/workers/{worker_id}", admin.deregister_worker, "control", OPERATORS),
    Route("GET", "/api/system/repair", admin.repair_status, "control", ADMINS),
    Route("POST", "/api/system/repair/pass", admin.repair_pass, "control", ADMINS),
    Route("GET", "/api/system/retention", admin.retention_status, "control", ADMINS),
    Route("POST", "/api/system/retention/pass", admin.retention_pass, "control", ADMINS),
    Route("GET", "/api/system/activity-timeouts", admin.activity_timeout_status, "control", ADMINS),
    Route(
        "POST", "/api/system/activity-timeouts/pass", admin.activity_timeout_pass, "control", ADMINS
    ),
    Route(
        "GET", f"{WF}/runs/{{run_id}}/history/export", admin.export_history, "control", OPERATORS
    ),
    Route("POST", f"{WF}/repair", admin.repair_workflow, "control", OPERATORS),
    Route("POST", f"{WF}/archive", admin.archive_workflow, "control", OPERATORS),
    Route(
        "POST", "/api/bridge-adapters/webhook/{adapter}", admin.bridge_webhook, "control", OPERATORS
    ),
    # worker plane
    Route("POST", "/api/worker/register", wp.register, "worker", ANY_ROLE),
    Route("POST", "/api/worker/heartbeat", wp.heartbeat, "worker", WORKER_ONLY),
    Route("DELETE", "/api/worker/registrations/{worker_id}", wp.deregister, "worker", WORKER_ONLY),
    Route("POST", f"{WFT}/poll", wp.poll_workflow_task, "worker", WORKER_ONLY),
    Route("POST", f"{WFT}/{{task_id}}/history", wp.workflow_task_history, "worker", WORKER_ONLY),
    Route(
        "POST", f"{WFT}/{{task_id}}/heartbeat", wp.workflow_task_heartbeat, "worker", WORKER_ONLY
    ),
    Route("POST", f"{WFT}/{{task_id}}/complete", wp.complete_workflow_task, "worker", WORKER_ONLY),
    Route("POST", f"{WFT}/{{task_id}}/fail", wp.fail_workflow_task, "worker", WORKER_ONLY),
    Route("POST", f"{ACT}/poll", wp.poll_activity_task, "worker", WORKER_ONLY),
    Route("POST", f"{ACT}/{{task_id}}/complete", wp.complete_activity_task, "worker", WORKER_ONLY),
    Route("POST", f"{ACT}/{{task_id}}/fail", wp.fail_activity_task, "worker", WORKER_ONLY),
    Route(
        "POST", f"{ACT}/{{task_id}}/heartbeat", wp.heartbeat_activity_task, "worker", WORKER_ONLY
    ),
    Route("POST", f"{QT}/poll", msg.poll_query_task, "worker", WORKER_ONLY),
    Route("POST", f"{QT}/{{query_task_id}}/complete", msg.complete_query_task, "worker", WORKER_ONLY),
    Route("POST", f"{QT}/{{query_task_id}}/fail", msg.fail_query_task, "worker", WORKER_ONLY),
)
