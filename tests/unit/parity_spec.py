"""The documented public surface, as data: every name seeds 000-004 document, with its signature.

``tests/unit/test_public_api_parity.py`` turns each row into test cases (one per parameter or
field, plus existence, re-export, async-ness and shape), so a failure list reads as a to-do list.

How to read and edit a row
--------------------------
``path`` is ``"module:Attr.sub"``. ``sig`` is the documented signature in Python syntax, copied
from the seed:

* names before ``/`` are positional and their names were not documented (only the position is
  checked); names before ``*`` are positional-or-keyword; names after ``*`` are keyword-only;
* a default is compared with ``==`` (evaluated with ``serializer`` = ``durable_workflow.serializer``);
  ``=...`` means "has a default whose value the seed does not state" (``SDK default``);
* a leading ``async`` means the callable must be a coroutine function, ``sync`` that it must not;
  ``"async"`` alone checks only that (for names a seed lists without a signature).

``strict=False`` is for rows taken from a seed's prose or method *table* (which show call shapes,
not exact signatures): there kinds only need to accept the documented call, a documented required
argument may have a default, and ``=...`` also allows "required".

``owner=N`` marks the whole row as not on this branch yet (owned by issue N), ``missing={...}``
marks single cases (key: a parameter/field name, ``"shape"``, ``"async"`` or
``"export:<module>"``). Both become ``xfail(strict=True)``: when the owner lands the name, the
case XPASSes, which fails the run until the mark is deleted here. ``UNOWNED`` marks documented
names that no issue owns yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Owner for documented names no issue has taken on yet (they need new server routes).
UNOWNED = 0

ISSUE_WORKFLOW_MODEL = 4  # children, continue-as-new, queries, updates, cancellation, WorkflowEnvironment
ISSUE_OPERATIONS = 5  # schedules, namespaces, search attributes, task queues, workers, storage, sync
ISSUE_LITE = 6  # seed 004 decorator API and the `durable` alias package

TOP = "durable_workflow"


@dataclass(frozen=True)
class Row:
    kind: str  # "sig" | "dataclass" | "attrs" | "name" | "error" | "subclass" | "value" | "logger" | "metric"
    path: str
    sig: str | None = None
    strict: bool = True
    exports: tuple[str, ...] = ()
    owner: int | None = None
    missing: dict[str, int] = field(default_factory=dict)
    names: tuple[str, ...] = ()  # attrs: attribute names; subclass: base paths
    expected: object = None  # value: the documented value; error: "base" or "exception"; logger: probe
    seed: str = ""


def sig(path: str, signature: str, **kw: Any) -> Row:
    return Row("sig", path, signature, **kw)


def dc(path: str, signature: str, **kw: Any) -> Row:
    return Row("dataclass", path, signature, **kw)


def attrs(path: str, names: str, **kw: Any) -> Row:
    return Row("attrs", path, names=tuple(names.split()), **kw)


def name(path: str, **kw: Any) -> Row:
    return Row("name", path, **kw)


def error(path: str, *, base_exception: bool = False, **kw: Any) -> Row:
    return Row("error", path, expected="base" if base_exception else "exception", **kw)


def subclass(path: str, *bases: str, **kw: Any) -> Row:
    return Row("subclass", path, names=bases, **kw)


def value(path: str, expected: object, **kw: Any) -> Row:
    return Row("value", path, expected=expected, **kw)


def logger(logger_name: str, probe: str, **kw: Any) -> Row:
    """``probe`` is an expression (run with ``importlib`` available) giving the logger the SDK uses."""
    return Row("logger", logger_name, expected=probe, **kw)


def metric(metric_name: str, **kw: Any) -> Row:
    return Row("metric", metric_name, **kw)


C = "durable_workflow.client"
WF = "durable_workflow.workflow"
ERR = "durable_workflow.errors"
EXT = "durable_workflow.external_storage"
TST = "durable_workflow.testing"
O5 = ISSUE_OPERATIONS

SPEC: list[Row] = [
    # ------------------------------------------------------------------ top level (000, 001)
    name(f"{TOP}:activity"),
    name(f"{TOP}:workflow"),
    name("durable_workflow.metrics:MetricsRecorder", exports=(TOP,)),
    name("durable_workflow.serializer:to_avro_payload_value", exports=(TOP,)),
    # ------------------------------------------------------------------ Client (001 table, 003)
    sig(f"{C}:Client",
        "(base_url, *, token=None, control_token=None, worker_token=None, namespace='default',"
        " timeout=60.0, retry_policy=None, metrics=None, payload_size_limit_bytes=...,"
        " payload_size_warning_threshold_percent=..., payload_size_warnings=True)",
        exports=(TOP,), seed="001 constructor table + 003"),
    name(f"{C}:Client.__aenter__"),
    name(f"{C}:Client.__aexit__"),
    sig(f"{C}:Client.aclose", "async ()"),
    sig(f"{C}:Client.health", "async ()"),
    sig(f"{C}:Client.get_cluster_info", "async ()"),
    sig(f"{C}:Client.get_workflow_handle", "(workflow_id, *, run_id=None, workflow_type='')"),
    sig(f"{C}:Client.start_workflow",
        "async (*, workflow_type, task_queue, workflow_id, input=None,"
        " execution_timeout_seconds=3600, run_timeout_seconds=600, duplicate_policy=None,"
        " memo=None, search_attributes=None, business_key=...)",
        seed="003; business_key from 001"),
    sig(f"{C}:Client.describe_workflow", "async (workflow_id)"),
    sig(f"{C}:Client.list_workflows",
        "async (*, workflow_type=None, status=None, query=None, page_size=None,"
        " next_page_token=None)"),
    sig(f"{C}:Client.list_workflow_runs", "async (workflow_id)", strict=False, seed="001"),
    sig(f"{C}:Client.describe_workflow_run", "async (workflow_id, run_id)", strict=False, seed="001"),
    sig(f"{C}:Client.get_history", "async (workflow_id, run_id)"),
    sig(f"{C}:Client.export_history", "async (workflow_id, run_id)", strict=False),
    sig(f"{C}:Client.signal_workflow", "async (workflow_id, signal_name, *, args=None)"),
    sig(f"{C}:Client.query_workflow", "async (workflow_id, query_name, *, args=None)"),
    sig(f"{C}:Client.update_workflow",
        "async (workflow_id, update_name, *, args=None, wait_for=None,"
        " wait_timeout_seconds=None, request_id=None)"),
    sig(f"{C}:Client.cancel_workflow", "async (workflow_id, *, reason=None)"),
    sig(f"{C}:Client.terminate_workflow", "async (workflow_id, *, reason=None)"),
    sig(f"{C}:Client.repair_workflow", "async (workflow_id)", strict=False),
    sig(f"{C}:Client.archive_workflow", "async (workflow_id, reason=None)", strict=False),
    sig(f"{C}:Client.get_result", "async (handle, *, poll_interval=0.5, timeout=30.0)"),
    # schedules (001, 003)
    sig(f"{C}:Client.get_schedule_handle", "(schedule_id)"),
    sig(f"{C}:Client.create_schedule",
        "async (*, schedule_id=None, spec, action, overlap_policy=None, jitter_seconds=None,"
        " max_runs=None, memo=None, search_attributes=None, paused=False, note=None)"),
    sig(f"{C}:Client.list_schedules", "async ()"),
    sig(f"{C}:Client.describe_schedule", "async (schedule_id)"),
    sig(f"{C}:Client.update_schedule",
        "async (schedule_id, *, spec=None, action=None, overlap_policy=None,"
        " jitter_seconds=None, max_runs=None, memo=None, search_attributes=None, note=None)"),
    sig(f"{C}:Client.pause_schedule", "async (schedule_id, *, note=None)"),
    sig(f"{C}:Client.resume_schedule", "async (schedule_id, *, note=None)"),
    sig(f"{C}:Client.trigger_schedule", "async (schedule_id, *, overlap_policy=None)"),
    sig(f"{C}:Client.delete_schedule", "async (schedule_id)"),
    sig(f"{C}:Client.backfill_schedule",
        "async (schedule_id, *, start_time, end_time, overlap_policy=None)"),
    sig(f"{C}:Client.get_schedule_history", "async (schedule_id, *, limit=None, after_sequence=None)", seed="001"),
    sig(f"{C}:Client.iter_schedule_history", "sync (schedule_id, *, limit=None, after_sequence=None)", seed="001: returns an AsyncIterator, so it is not itself awaited"),
    # namespaces, storage, cluster, task queues, workers, search attributes, maintenance (001)
    sig(f"{C}:Client.list_namespaces", "async ()", strict=False),
    sig(f"{C}:Client.describe_namespace", "async (name)", strict=False),
    sig(f"{C}:Client.create_namespace", "async (name, description=None, retention_days=30)",
        strict=False),
    sig(f"{C}:Client.update_namespace", "async (name, description=None, retention_days=None)",
        strict=False),
    sig(f"{C}:Client.set_namespace_external_storage",
        "async (name, *, driver=..., enabled=True, threshold_bytes=None, config=None)",
        strict=False),
    sig(f"{C}:Client.test_external_storage",
        "async (driver=None, small_payload_bytes=None, large_payload_bytes=None)",
        strict=False),
    sig(f"{C}:Client.list_task_queues", "async ()", strict=False),
    sig(f"{C}:Client.describe_task_queue", "async (name)", strict=False),
    sig(f"{C}:Client.list_task_queue_build_ids", "async (task_queue)", strict=False),
    sig(f"{C}:Client.drain_task_queue_build_id", "async (task_queue, build_id)", strict=False),
    sig(f"{C}:Client.resume_task_queue_build_id", "async (task_queue, build_id)", strict=False),
    sig(f"{C}:Client.list_workers", "async (task_queue=None, status=None)", strict=False),
    sig(f"{C}:Client.describe_worker", "async (worker_id)", strict=False),
    sig(f"{C}:Client.deregister_worker", "async (worker_id)", strict=False),
    sig(f"{C}:Client.list_search_attributes", "async ()", strict=False),
    sig(f"{C}:Client.create_search_attribute", "async (name, attribute_type)", strict=False),
    sig(f"{C}:Client.delete_search_attribute", "async (name)", strict=False),
    sig(f"{C}:Client.repair_status", "async ()", strict=False),
    sig(f"{C}:Client.repair_pass", "async (run_ids=None, instance_id=None)", strict=False),
    sig(f"{C}:Client.retention_status", "async ()", strict=False),
    sig(f"{C}:Client.retention_pass", "async (run_ids=None, limit=None)", strict=False),
    sig(f"{C}:Client.activity_timeout_status", "async ()", strict=False),
    sig(f"{C}:Client.activity_timeout_pass", "async (execution_ids=None, limit=None)",
        strict=False),
    sig(f"{C}:Client.send_webhook_bridge_event",
        "async (adapter, *, action=..., target=..., input=..., idempotency_key=...,"
        " correlation=None)", strict=False),
    # worker plane (003; the query-task trio is only named in 001)
    sig(f"{C}:Client.register_worker",
        "async (*, worker_id, task_queue, supported_workflow_types=None,"
        " supported_activity_types=None, runtime='python', sdk_version=None)"),
    sig(f"{C}:Client.poll_workflow_task", "async (*, worker_id, task_queue, timeout=35.0)"),
    sig(f"{C}:Client.complete_workflow_task",
        "async (*, task_id, lease_owner, workflow_task_attempt, commands)"),
    sig(f"{C}:Client.fail_workflow_task",
        "async (*, task_id, lease_owner, workflow_task_attempt, message, failure_type=None,"
        " stack_trace=None)"),
    # 003 lists page_token as required; 001's example call passes next_history_page_token
    # instead. Both calls work only if each is optional, so the row asks for that.
    sig(f"{C}:Client.workflow_task_history",
        "async (*, task_id, page_token=..., lease_owner, workflow_task_attempt,"
        " next_history_page_token=...)", seed="003 + 001 example"),
    sig(f"{C}:Client.poll_query_task", "async", seed="001 names it, no signature"),
    sig(f"{C}:Client.complete_query_task", "async", seed="001 names it, no signature"),
    sig(f"{C}:Client.fail_query_task", "async", seed="001 names it, no signature"),
    sig(f"{C}:Client.poll_activity_task", "async (*, worker_id, task_queue, timeout=35.0)"),
    sig(f"{C}:Client.complete_activity_task",
        "async (*, task_id, activity_attempt_id, lease_owner, result, codec=serializer.AVRO_CODEC)"),
    sig(f"{C}:Client.fail_activity_task",
        "async (*, task_id, activity_attempt_id, lease_owner, message, failure_type=None,"
        " stack_trace=None, non_retryable=False, details=None, codec=serializer.AVRO_CODEC)"),
    sig(f"{C}:Client.heartbeat_activity_task",
        "async (*, task_id, activity_attempt_id, lease_owner, details=None)"),
    # ------------------------------------------------------------------ handles (001, 003)
    sig(f"{C}:WorkflowHandle", "(client, workflow_id, run_id=None, workflow_type='')"),
    sig(f"{C}:WorkflowHandle.result", "async (*, poll_interval=0.5, timeout=30.0)"),
    sig(f"{C}:WorkflowHandle.describe", "async ()"),
    sig(f"{C}:WorkflowHandle.signal", "async (signal_name, args=None)"),
    sig(f"{C}:WorkflowHandle.query", "async (query_name, args=None)"),
    sig(f"{C}:WorkflowHandle.cancel", "async (*, reason=None)"),
    sig(f"{C}:WorkflowHandle.terminate", "async (*, reason=None)"),
    sig(f"{C}:WorkflowHandle.update",
        "async (update_name, args=None, *, wait_for=None, wait_timeout_seconds=None,"
        " request_id=None)"),
    sig(f"{C}:ScheduleHandle", "(client, schedule_id)"),
    sig(f"{C}:ScheduleHandle.describe", "async ()"),
    sig(f"{C}:ScheduleHandle.update",
        "async (*, spec=None, action=None, overlap_policy=None, jitter_seconds=None,"
        " max_runs=None, memo=None, search_attributes=None, note=None)"),
    sig(f"{C}:ScheduleHandle.pause", "async (*, note=None)"),
    sig(f"{C}:ScheduleHandle.resume", "async (*, note=None)"),
    sig(f"{C}:ScheduleHandle.trigger", "async (*, overlap_policy=None)"),
    sig(f"{C}:ScheduleHandle.delete", "async ()"),
    sig(f"{C}:ScheduleHandle.backfill", "async (*, start_time, end_time, overlap_policy=None)"),
    sig(f"{C}:ScheduleHandle.history", "async (*, limit=None, after_sequence=None)",
        seed="001"),
    sig(f"{C}:ScheduleHandle.iter_history", "sync (*, limit=None, after_sequence=None)",
        seed="001"),
    # ------------------------------------------------------------------ result dataclasses (003)
    dc(f"{C}:WorkflowExecution",
       "(workflow_id, run_id, workflow_type, status=None, namespace=None, task_queue=None,"
       " input=None, output=None, payload_codec=None)", exports=(TOP,)),
    dc(f"{C}:WorkflowList", "(executions, next_page_token=None)", exports=(TOP,)),
    dc(f"{C}:ScheduleSpec", "(cron_expressions=None, intervals=None, timezone=None)",
       exports=(TOP,)),
    dc(f"{C}:ScheduleAction",
       "(workflow_type, task_queue=None, input=None, execution_timeout_seconds=None,"
       " run_timeout_seconds=None)", exports=(TOP,)),
    dc(f"{C}:ScheduleDescription",
       "(schedule_id, status=None, spec=None, action=None, overlap_policy=None, note=None,"
       " memo=None, search_attributes=None, jitter_seconds=None, max_runs=None,"
       " remaining_actions=None, fires_count=0, failures_count=0, next_fire_at=None,"
       " last_fired_at=None, latest_workflow_instance_id=None, paused_at=None, created_at=None,"
       " updated_at=None, info=None)"),
    dc(f"{C}:ScheduleList", "(schedules, next_page_token=None)"),
    dc(f"{C}:ScheduleTriggerResult",
       "(schedule_id, outcome, workflow_id=None, run_id=None, reason=None, buffer_depth=None)"),
    dc(f"{C}:ScheduleBackfillResult",
       "(schedule_id, outcome, fires_attempted=0, results=None)"),
    # named in 001; fields only where 001 names them (order not documented)
    name(f"{C}:WorkflowRun"),
    name(f"{C}:WorkflowRunList"),
    name(f"{C}:WorkflowCommandResult"),
    attrs(f"{C}:NamespaceDescription", "external_payload_storage"),
    name(f"{C}:NamespaceList"),
    name(f"{C}:SearchAttributeList"),
    name(f"{C}:TaskQueueList"),
    name(f"{C}:TaskQueueDescription"),
    name(f"{C}:TaskQueueAdmission"),
    name(f"{C}:TaskQueueTaskAdmission"),
    name(f"{C}:TaskQueueQueryAdmission"),
    attrs(f"{C}:TaskQueueBuildIdCohort", "build_id"),
    name(f"{C}:TaskQueueBuildIdRollout"),
    name(f"{C}:TaskQueueBuildIdRolloutState"),
    name(f"{C}:WorkerList"),
    attrs(f"{C}:WorkerDescription", "runtime sdk_version build_id"),
    name(f"{C}:StorageTestResult"),
    attrs(f"{C}:StoragePayloadTestResult", "wrote read verified latency_ms bytes"),
    attrs(f"{C}:ScheduleHistoryPage", "events has_more next_cursor schedule_id namespace"),
    attrs(f"{C}:ScheduleHistoryEvent",
          "sequence event_type recorded_at workflow_instance_id workflow_run_id payload"),
    name(f"{C}:BridgeAdapterOutcome"),
    # ------------------------------------------------------------------ workflow module (002)
    dc("durable_workflow.retry_policy:ActivityRetryPolicy",
       "(max_attempts=3, initial_interval_seconds=1.0, backoff_coefficient=2.0,"
       " maximum_interval_seconds=None, non_retryable_error_types=list(), backoff_seconds=None)",
       exports=(TOP, WF)),
    dc("durable_workflow.retry_policy:ChildWorkflowRetryPolicy",
       "(max_attempts=3, initial_interval_seconds=1.0, backoff_coefficient=2.0,"
       " maximum_interval_seconds=None, non_retryable_error_types=list(), backoff_seconds=None)",
       exports=(TOP, WF)),
    subclass("durable_workflow.retry_policy:ChildWorkflowRetryPolicy",
             "durable_workflow.retry_policy:ActivityRetryPolicy"),
    name("durable_workflow.retry_policy:TransportRetryPolicy", exports=(TOP,)),
    dc(f"{WF}:ScheduleActivity",
       "(activity_type, arguments, queue=None, retry_policy=None, start_to_close_timeout=None,"
       " schedule_to_start_timeout=None, schedule_to_close_timeout=None, heartbeat_timeout=None)"),
    dc(f"{WF}:StartTimer", "(delay_seconds)"),
    dc(f"{WF}:CompleteWorkflow", "(result)"),
    dc(f"{WF}:FailWorkflow", "(message, exception_type=None, non_retryable=False)"),
    dc(f"{WF}:CompleteUpdate", "(update_id, result)"),
    dc(f"{WF}:FailUpdate",
       "(update_id, message, exception_type=None, exception_class=None, non_retryable=True)"),
    dc(f"{WF}:ContinueAsNew", "(workflow_type=None, arguments=list(), task_queue=None)",
       exports=(TOP,)),
    dc(f"{WF}:RecordSideEffect", "(result)"),
    dc(f"{WF}:StartChildWorkflow",
       "(workflow_type, arguments=list(), task_queue=None, parent_close_policy=None,"
       " retry_policy=None, execution_timeout_seconds=None, run_timeout_seconds=None)"),
    dc(f"{WF}:RecordVersionMarker",
       "(change_id, version, min_supported, max_supported, result_kind='version')"),
    dc(f"{WF}:UpsertSearchAttributes", "(attributes)"),
    dc(f"{WF}:WaitCondition",
       "(predicate, condition_key=None, condition_definition_fingerprint=None,"
       " timeout_seconds=None)"),
    sig(f"{WF}:WorkflowContext", "(*, run_id='', current_time=None)"),
    sig(f"{WF}:WorkflowContext.start_timer", "(seconds)"),
    sig(f"{WF}:WorkflowContext.sleep", "(seconds)"),
    sig(f"{WF}:WorkflowContext.wait_condition", "(predicate, *, key=None, timeout=None)"),
    sig(f"{WF}:WorkflowContext.patched", "(change_id)"),
    sig(f"{WF}:WorkflowContext.deprecate_patch", "(change_id)"),
    sig(f"{WF}:WorkflowContext.random", "()"),
    sig(f"{WF}:WorkflowContext.uuid4", "()"),
    sig(f"{WF}:WorkflowContext.uuid7", "()"),
    sig(f"{WF}:WorkflowContext.now", "()"),
    # the context table of 001 and the samples of 000/001 (call shapes)
    sig(f"{WF}:WorkflowContext.schedule_activity",
        "(activity_type, arguments, /, *, retry_policy=None, start_to_close_timeout=None,"
        " schedule_to_close_timeout=None, heartbeat_timeout=None)", strict=False),
    sig(f"{WF}:WorkflowContext.start_child_workflow",
        "(workflow_type, arguments, /, *, task_queue=None, parent_close_policy=None,"
        " retry_policy=None, execution_timeout_seconds=None, run_timeout_seconds=None)",
        strict=False),
    sig(f"{WF}:WorkflowContext.side_effect", "(fn, /)", strict=False),
    sig(f"{WF}:WorkflowContext.get_version", "(change_id, min, max, /)", strict=False),
    sig(f"{WF}:WorkflowContext.upsert_search_attributes", "(attrs, /)", strict=False),
    sig(f"{WF}:WorkflowContext.continue_as_new", "(*args, workflow_type=...)", strict=False),
    name(f"{WF}:WorkflowContext.logger"),
    sig(f"{WF}:Replayer", "(*, workflows)", exports=(TOP,)),
    sig(f"{WF}:Replayer.replay",
        "(history, start_input=None, *, workflow_type=None, workflow_id=None, run_id='',"
        " payload_codec=None)"),
    attrs(f"{WF}:ReplayOutcome", "commands", exports=(TOP,)),
    sig(f"{WF}:defn", "(*, name)"),
    sig(f"{WF}:signal", "(name)"),
    sig(f"{WF}:query", "(name)"),
    sig(f"{WF}:update", "(name)"),
    sig(f"{WF}:update_validator", "(name)"),
    sig(f"{WF}:registry", "()"),
    sig(f"{WF}:commands_to_server_commands",
        "(commands, task_queue, *, payload_codec=serializer.AVRO_CODEC,"
        " size_warning=serializer.DEFAULT_PAYLOAD_SIZE_WARNING, warning_context=None,"
        " external_storage=None, external_storage_threshold_bytes=None)"),
    sig(f"{WF}:query_state",
        "(workflow_cls, history_events, start_input, query_name, args=None, *, workflow_id=None,"
        " run_id='', payload_codec=None, external_storage=None, external_storage_cache=None)"),
    sig(f"{WF}:apply_update",
        "(workflow_cls, history_events, start_input, update_id, *, workflow_id=None, run_id='',"
        " payload_codec=None, external_storage=None, external_storage_cache=None)"),
    # ------------------------------------------------------------------ activities (001)
    sig("durable_workflow.activity:defn", "(*, name=...)", strict=False),
    sig("durable_workflow.activity:context", "()"),
    attrs("durable_workflow.activity:ActivityContext", "info is_cancelled",
          exports=(TOP,)),
    sig("durable_workflow.activity:ActivityContext.heartbeat", "async (details, /)", strict=False),
    attrs("durable_workflow.activity:ActivityInfo", "attempt_number task_queue", exports=(TOP,)),
    # ------------------------------------------------------------------ worker (001)
    sig("durable_workflow.worker:Worker",
        "(client, *, task_queue, workflows=(), activities=(), worker_id=...,"
        " poll_timeout=35.0, max_concurrent_workflow_tasks=10, max_concurrent_activity_tasks=10,"
        " shutdown_timeout=30.0, metrics=..., interceptors=())",
        strict=False, exports=(TOP,), seed="001 parameter table"),
    sig("durable_workflow.worker:Worker.run", "async ()"),
    sig("durable_workflow.worker:Worker.run_until",
        "async (*, workflow_id, timeout=60.0, poll_interval=0.5)", strict=False),
    sig("durable_workflow.worker:Worker.stop", "async ()"),
    logger("durable_workflow.worker", "importlib.import_module('durable_workflow.worker').log"),
    logger("durable_workflow.workflow.replay",
           "importlib.import_module('durable_workflow.workflow').WorkflowContext().logger.logger"),
    # ------------------------------------------------------------------ interceptors (001)
    name("durable_workflow.interceptors:WorkerInterceptor", exports=(TOP,)),
    name("durable_workflow.interceptors:PassthroughWorkerInterceptor", exports=(TOP,)),
    *[
        sig(f"durable_workflow.interceptors:{cls}.{hook}", "async (context, next)")
        for cls in ("WorkerInterceptor", "PassthroughWorkerInterceptor")
        for hook in ("execute_workflow_task", "execute_activity", "execute_query_task")
    ],
    attrs("durable_workflow.interceptors:ActivityInterceptorContext",
          "worker_id task_queue task activity_type args", exports=(TOP,)),
    attrs("durable_workflow.interceptors:WorkflowTaskInterceptorContext",
          "worker_id task_queue task"),
    attrs("durable_workflow.interceptors:QueryTaskInterceptorContext",
          "worker_id task_queue task"),
    # ------------------------------------------------------------------ metrics (000, 001)
    *[
        sig(f"durable_workflow.metrics:{cls}.increment", "(name, value=1.0, tags=None)")
        for cls in ("MetricsRecorder", "NoopMetrics", "InMemoryMetrics", "PrometheusMetrics")
    ],
    *[
        sig(f"durable_workflow.metrics:{cls}.record", "(name, value, tags=None)")
        for cls in ("MetricsRecorder", "NoopMetrics", "InMemoryMetrics", "PrometheusMetrics")
    ],
    sig("durable_workflow.metrics:InMemoryMetrics", "()", exports=(TOP,)),
    sig("durable_workflow.metrics:PrometheusMetrics", "()", strict=False, exports=(TOP,)),
    metric("durable_workflow_client_requests"),
    metric("durable_workflow_client_request_duration_seconds"),
    metric("durable_workflow_worker_polls"),
    metric("durable_workflow_worker_poll_duration_seconds"),
    metric("durable_workflow_worker_tasks"),
    metric("durable_workflow_worker_task_duration_seconds"),
    # ------------------------------------------------------------------ errors (001 table)
    *[
        error(f"{ERR}:{cls}", exports=(TOP,))
        for cls in (
            "WorkflowNotFound", "WorkflowAlreadyStarted", "WorkflowFailed", "WorkflowTerminated",
            "ChildWorkflowFailed", "QueryFailed", "UpdateRejected", "ScheduleNotFound",
            "ScheduleAlreadyExists", "NamespaceNotFound", "InvalidArgument", "Unauthorized",
            "ServerError", "NonRetryableError", "WorkerNotFound", "SearchAttributeNotFound",
        )
    ],
    error(f"{ERR}:WorkflowCancelled", base_exception=True, exports=(TOP,)),
    error(f"{ERR}:ActivityCancelled", base_exception=True, exports=(TOP,)),
    # ------------------------------------------------------------------ external storage (001)
    name(f"{EXT}:ExternalStorageDriver"),
    sig(f"{EXT}:ExternalStorageDriver.put", "(data, *, sha256=..., codec=...)", strict=False),
    sig(f"{EXT}:ExternalStorageDriver.get", "(uri)", strict=False),
    sig(f"{EXT}:ExternalStorageDriver.delete", "(uri)", strict=False),
    sig(f"{EXT}:LocalFilesystemExternalStorage", "(root, /)", strict=False, exports=(TOP,)),
    name(f"{EXT}:S3ExternalStorage"),
    name(f"{EXT}:GCSExternalStorage"),
    name(f"{EXT}:AzureBlobExternalStorage"),
    attrs(f"{EXT}:ExternalPayloadReference", "uri sha256 size_bytes codec schema from_dict"),
    sig(f"{EXT}:ExternalPayloadCache", "(*, max_entries=..., max_bytes=...)", strict=False,
        exports=(TOP,)),
    sig(f"{EXT}:store_external_payload", "(driver, data, /, *, codec=...)", strict=False),
    sig(f"{EXT}:fetch_external_payload", "(driver, reference, /, *, cache=...)", strict=False),
    sig(f"{EXT}:delete_external_payload", "(driver, reference, /)", strict=False),
    sig(f"{EXT}:external_storage_envelope",
        "(payload, /, *, external_storage=..., threshold_bytes=...)", strict=False,
        exports=(TOP,)),
    sig(f"{EXT}:external_storage_driver_from_policy", "(policy, /, *, s3_client=...)",
        strict=False),
    value(f"{EXT}:EXTERNAL_PAYLOAD_REFERENCE_SCHEMA",
          "durable-workflow.v2.external-payload-reference.v1"),
    error(f"{EXT}:ExternalPayloadIntegrityError"),
    # ------------------------------------------------------------------ testing (001)
    sig(f"{TST}:WorkflowEnvironment", "(*, iteration_limit=1000, continue_as_new_limit=50)",
        strict=False),
    sig(f"{TST}:WorkflowEnvironment.register_activity_result", "(name, result)"),
    sig(f"{TST}:WorkflowEnvironment.register_activity", "(name, fn)"),
    sig(f"{TST}:WorkflowEnvironment.register_child_workflow_result", "(workflow_type, result)"),
    sig(f"{TST}:WorkflowEnvironment.signal", "(name, args=None, run=None)"),
    sig(f"{TST}:WorkflowEnvironment.register_workflow", "(workflow_cls)"),
    sig(f"{TST}:WorkflowEnvironment.execute_workflow", "(workflow_cls, *args, run_id='test-run')"),
    name(f"{TST}:WorkflowEnvironment.run_count"),
    attrs(f"{TST}:WorkflowRunRecord", "input workflow_type history_events terminal_command"),
    sig(f"{TST}:replay_history",
        "(workflow_cls, events, start_input=None, *, run_id='', payload_codec=None)"),
    sig(f"{TST}:replay_history_file",
        "(workflow_cls, path, start_input=None, *, run_id='', payload_codec=None)"),
    # ------------------------------------------------------------------ sync client (001)
    sig("durable_workflow.sync:Client", "(base_url, /, *, token=None)", strict=False),
    sig("durable_workflow.sync:Client.start_workflow",
        "sync (*, workflow_type, task_queue, workflow_id, input=None)", strict=False),
    sig("durable_workflow.sync:Client.describe_workflow", "sync (workflow_id)", strict=False),
    # ------------------------------------------------------------------ seed 004: `durable`
    sig("durable:Workflow", "(name, /)", strict=False),
    sig("durable:Workflow.task", "(fn, /, *, retries=..., backoff=...)", strict=False),
    sig("durable:Workflow.workflow", "(*, id=...)", strict=False),
    name("durable:Store"),
    subclass("durable:SQLiteStore", "durable:Store"),
    sig("durable.backoff:exponential", "(*, base=..., max=...)", strict=False),
    sig("durable.backoff:linear", "(*, start=..., step=...)", strict=False),
    sig("durable.backoff:constant", "(seconds, /)", strict=False),
]
