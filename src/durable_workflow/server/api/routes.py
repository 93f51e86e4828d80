"""The route table: every (method, path) the server answers, its plane and who may call it."""

from __future__ import annotations

from . import control_plane as cp
from . import discovery
from . import messages as msg
from . import worker_plane as wp
from .auth import ANY_ROLE, OPERATORS, WORKER_ONLY
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
