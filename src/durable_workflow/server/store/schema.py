"""Every table of the server, declared once; DDL is generated per dialect from here.

Times are float epoch seconds (UTC). ``json`` columns hold JSON documents; the store
encodes and decodes them so the engine only sees Python values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

ColumnType = Literal["text", "int", "real", "json", "bool", "serial"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = True


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False
    where: str | None = None  # partial index predicate, same SQL in both dialects


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    indexes: tuple[Index, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def json_columns(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns if c.type == "json")

    @property
    def bool_columns(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns if c.type == "bool")


def _c(name: str, type_: ColumnType = "text", nullable: bool = True) -> Column:
    return Column(name, type_, nullable)


SCHEMA_VERSION: Final = 4

SCHEMA_VERSION_TABLE: Final = Table("schema_version", (_c("version", "int", False),), ("version",))

NAMESPACES: Final = Table(
    "namespaces",
    (
        _c("name", nullable=False),
        _c("description"),
        _c("retention_days", "int"),
        _c("status", nullable=False),
        _c("created_at", "real", False),
        _c("updated_at", "real", False),
    ),
    ("name",),
)

WORKFLOWS: Final = Table(
    "workflows",
    (
        _c("namespace", nullable=False),
        _c("workflow_id", nullable=False),
        _c("current_run_id", nullable=False),
        _c("run_count", "int", False),
        _c("created_at", "real", False),
        _c("updated_at", "real", False),
    ),
    ("namespace", "workflow_id"),
)

RUNS: Final = Table(
    "runs",
    (
        _c("run_id", nullable=False),
        _c("namespace", nullable=False),
        _c("workflow_id", nullable=False),
        _c("run_number", "int", False),
        _c("workflow_type", nullable=False),
        _c("task_queue", nullable=False),
        _c("status", nullable=False),
        _c("closed_reason"),
        _c("input", "json"),
        _c("output", "json"),
        _c("memo", "json"),
        _c("search_attributes", "json"),
        _c("business_key"),
        _c("build_id"),
        _c("priority", "int"),
        _c("started_at", "real", False),
        _c("closed_at", "real"),
        _c("last_progress_at", "real"),
        _c("execution_timeout_seconds", "int"),
        _c("run_timeout_seconds", "int"),
        _c("execution_deadline_at", "real"),
        _c("run_deadline_at", "real"),
        _c("deadline_at", "real"),  # earliest open deadline; NULL once closed
        _c("last_sequence", "int", False),  # workflow-sequence counter (history-events.md §2)
        _c("last_event_sequence", "int", False),
        _c("open_wait", "json"),
        _c("task_pending", "bool", False),  # a waking event was buffered while the task was leased
        _c("wft_failures", "int", False),
        _c("last_wft_failure", "json"),
        _c("continued_from_run_id"),
        _c("continued_to_run_id"),
    ),
    ("run_id",),
    (
        Index("runs_instance", ("namespace", "workflow_id", "run_number"), unique=True),
        Index("runs_deadline", ("deadline_at",), where="deadline_at IS NOT NULL"),
        Index("runs_list", ("namespace", "started_at")),
    ),
)

HISTORY_EVENTS: Final = Table(
    "history_events",
    (
        _c("run_id", nullable=False),
        _c("sequence", "int", False),
        _c("event_id", nullable=False),
        _c("event_type", nullable=False),
        _c("recorded_at", "real", False),
        _c("payload", "json", False),
        _c("workflow_task_id"),
    ),
    ("run_id", "sequence"),
)

RUN_INBOX: Final = Table(
    "run_inbox",
    (
        _c("id", "serial", False),
        _c("run_id", nullable=False),
        _c("event_type", nullable=False),
        _c("payload", "json", False),
        _c("recorded_at", "real", False),
        _c("wakes", "bool", False),
        _c(
            "wait_id"
        ),  # condition wait the event belongs to; dropped if that wait is satisfied first
    ),
    ("id",),
    (Index("run_inbox_run", ("run_id", "id")),),
)

WORKFLOW_TASKS: Final = Table(
    "workflow_tasks",
    (
        _c("task_id", nullable=False),
        _c("namespace", nullable=False),
        _c("run_id", nullable=False),
        _c("workflow_id", nullable=False),
        _c("workflow_type", nullable=False),
        _c("task_queue", nullable=False),
        _c("status", nullable=False),  # delayed | ready | leased | completed | failed | cancelled
        _c("attempt", "int", False),
        _c("visible_at", "real", False),
        _c("lease_owner"),
        _c("lease_expires_at", "real"),
        _c("poll_request_id"),
        _c("created_at", "real", False),
        _c("finished_at", "real"),
        _c("outcome", "json"),
        _c("failure", "json"),
    ),
    ("task_id",),
    (
        Index("wft_queue", ("namespace", "task_queue", "status", "visible_at")),
        Index("wft_lease", ("status", "lease_expires_at")),
        Index("wft_delayed", ("status", "visible_at")),
        Index("wft_run", ("run_id", "status")),
        Index("wft_poll", ("poll_request_id",), where="poll_request_id IS NOT NULL"),
        Index("wft_owner", ("namespace", "lease_owner", "status")),
    ),
)

ACTIVITY_TASKS: Final = Table(
    "activity_tasks",
    (
        _c("task_id", nullable=False),
        _c("namespace", nullable=False),
        _c("run_id", nullable=False),
        _c("workflow_id", nullable=False),
        _c("workflow_type", nullable=False),
        _c("sequence", "int", False),
        _c("activity_type", nullable=False),
        _c("task_queue", nullable=False),
        _c(
            "status", nullable=False
        ),  # delayed | ready | leased | completed | failed | timed_out | cancelled
        _c("arguments", "json"),
        _c("retry_policy", "json"),
        _c("start_to_close_timeout", "int"),
        _c("schedule_to_start_timeout", "int"),
        _c("schedule_to_close_timeout", "int"),
        _c("heartbeat_timeout", "int"),
        _c("attempt_number", "int", False),
        _c("attempt_id"),
        _c("lease_owner"),
        _c("lease_expires_at", "real"),
        _c("attempt_started_at", "real"),
        _c("visible_at", "real", False),
        _c("scheduled_at", "real", False),
        _c("first_scheduled_at", "real", False),
        _c(
            "deadline_at", "real"
        ),  # schedule_to_start / schedule_to_close, whichever is earlier and applies
        _c("last_heartbeat_at", "real"),
        _c("heartbeat_details", "json"),
        _c("group_id"),  # outermost parallel group, for the barrier
        _c("group_meta", "json"),
        _c("poll_request_id"),
        _c("last_failure", "json"),
        _c("finished_at", "real"),
    ),
    ("task_id",),
    (
        Index("act_queue", ("namespace", "task_queue", "status", "visible_at")),
        Index("act_lease", ("status", "lease_expires_at")),
        Index("act_delayed", ("status", "visible_at")),
        Index("act_deadline", ("deadline_at",), where="deadline_at IS NOT NULL"),
        Index("act_run", ("run_id", "status")),
        Index("act_group", ("run_id", "group_id"), where="group_id IS NOT NULL"),
        Index("act_poll", ("poll_request_id",), where="poll_request_id IS NOT NULL"),
    ),
)

TIMERS: Final = Table(
    "timers",
    (
        _c("timer_id", nullable=False),
        _c("namespace", nullable=False),
        _c("run_id", nullable=False),
        _c("sequence", "int", False),
        _c("kind", nullable=False),  # user | condition_timeout
        _c("status", nullable=False),  # pending | fired | cancelled
        _c("fire_at", "real", False),
        _c("condition_wait_id"),
        _c("group_id"),
        _c(
            "event_payload", "json", False
        ),  # TimerScheduled payload, repeated on TimerFired/Cancelled
        _c("created_at", "real", False),
    ),
    ("timer_id",),
    (
        Index("timers_due", ("status", "fire_at")),
        Index("timers_run", ("run_id", "status")),
        Index("timers_group", ("run_id", "group_id"), where="group_id IS NOT NULL"),
    ),
)

WORKERS: Final = Table(
    "workers",
    (
        _c("namespace", nullable=False),
        _c("worker_id", nullable=False),
        _c("task_queue"),
        _c("runtime"),
        _c("sdk_version"),
        _c("build_id"),
        _c(
            "supported_workflow_types", "json"
        ),  # NULL = unknown (implicit registration): accept any
        _c("supported_activity_types", "json"),
        _c("workflow_command_contracts", "json"),
        _c("capabilities", "json"),
        _c("details", "json"),  # everything else the worker told us (slots, metrics, limits)
        _c("registered_at", "real", False),
        _c("updated_at", "real", False),
        _c("last_heartbeat_at", "real"),
    ),
    ("namespace", "worker_id"),
)

# -- lite API (seed 004): durable async functions run in the caller's process, no server --

LITE_RUNS: Final = Table(
    "lite_runs",
    (
        _c("app", nullable=False),  # Workflow("my-app"): several apps may share one database
        _c("run_id", nullable=False),  # the resolved id template, e.g. "pipeline-users"
        _c("workflow_name", nullable=False),
        _c("status", nullable=False),  # running | completed | failed
        _c("lease_owner"),  # NULL when no process is executing the run
        _c("lease_expires_at", "real"),
        _c("result", "json"),
        _c("error"),
        _c("created_at", "real", False),
        _c("updated_at", "real", False),
    ),
    ("app", "run_id"),
    (
        Index("lite_runs_list", ("app", "created_at")),
        Index("lite_runs_by_id", ("run_id",)),
    ),
)

LITE_STEPS: Final = Table(
    "lite_steps",
    (
        _c("app", nullable=False),
        _c("run_id", nullable=False),
        _c("step_key", nullable=False),  # task name, "name#2" for a repeat, "name[step_id]"
        _c("status", nullable=False),  # completed | failed
        _c("result", "json"),
        _c("attempts", "int", False),
        _c("error"),
        _c("updated_at", "real", False),
    ),
    ("app", "run_id", "step_key"),
)

SIGNAL_REQUESTS: Final = Table(
    "signal_requests",
    (
        _c("namespace", nullable=False),
        _c("workflow_id", nullable=False),
        _c("request_id", nullable=False),
        _c("fingerprint", nullable=False),
        _c("receipt", "json", False),
        _c("created_at", "real", False),
    ),
    ("namespace", "workflow_id", "request_id"),
)

# -- version 2 (m0002_workflow_model): children, updates, cooperative cancel requests ------

CHILD_CALLS: Final = Table(
    "child_calls",
    (
        _c("parent_run_id", nullable=False),
        _c("sequence", "int", False),  # the parent's workflow sequence of the call
        _c("namespace", nullable=False),
        _c("parent_workflow_id", nullable=False),
        _c("child_workflow_id", nullable=False),
        _c("child_run_id", nullable=False),  # the child's current run
        _c("child_workflow_type", nullable=False),
        _c("task_queue", nullable=False),
        _c("status", nullable=False),  # open | completed | failed | cancelled | terminated
        _c("parent_close_policy", nullable=False),
        _c("retry_policy", "json"),
        _c("attempt", "int", False),
        _c("input", "json"),
        _c("execution_timeout_seconds", "int"),
        _c("run_timeout_seconds", "int"),
        _c("group_id"),
        _c("event_meta", "json", False),  # keys echoed on every child event in the parent
        _c("created_at", "real", False),
        _c("closed_at", "real"),
    ),
    ("parent_run_id", "sequence"),
    (
        Index("child_calls_child", ("namespace", "child_workflow_id")),
        Index("child_calls_parent", ("parent_run_id", "status")),
        Index("child_calls_group", ("parent_run_id", "group_id"), where="group_id IS NOT NULL"),
    ),
)

WORKFLOW_UPDATES: Final = Table(
    "workflow_updates",
    (
        _c("update_id", nullable=False),
        _c("namespace", nullable=False),
        _c("workflow_id", nullable=False),
        _c("run_id", nullable=False),
        _c("update_name", nullable=False),
        _c("arguments", "json"),
        _c("request_id"),
        _c("fingerprint"),
        _c("status", nullable=False),  # accepted | completed | failed
        _c("task_id"),  # the update task (workflow task) that carries it
        _c("result", "json"),
        _c("failure", "json"),
        _c("created_at", "real", False),
        _c("closed_at", "real"),
    ),
    ("update_id",),
    (
        Index("updates_request", ("namespace", "workflow_id", "request_id")),
        Index("updates_run", ("run_id", "status", "created_at")),
        Index("updates_task", ("task_id",), where="task_id IS NOT NULL"),
    ),
)

CANCEL_REQUESTS: Final = Table(
    "cancel_requests",
    (
        _c("run_id", nullable=False),
        _c("reason"),
        _c("requested_at", "real", False),
    ),
    ("run_id",),
)


# -- control plane (migration 3): schedules, search attributes, namespace settings, ... ----

SCHEDULES: Final = Table(
    "schedules",
    (
        _c("namespace", nullable=False),
        _c("schedule_id", nullable=False),
        _c("status", nullable=False),  # active | paused | deleted
        _c("spec", "json", False),
        _c("action", "json", False),
        _c("overlap_policy", nullable=False),
        _c("jitter_seconds", "int", False),
        _c("max_runs", "int"),
        _c("remaining_actions", "int"),
        _c("memo", "json"),
        _c("search_attributes", "json"),
        _c("note"),
        _c("next_nominal_at", "real"),  # next occurrence of the spec, before jitter
        _c("next_fire_at", "real"),  # when the sweeper fires it (nominal + jitter); the claim key
        _c("buffer", "json", False),  # nominal fire times waiting for the running workflow
        _c("fires_count", "int", False),
        _c("failures_count", "int", False),
        _c("skipped_count", "int", False),
        _c("last_skip_reason"),
        _c("last_fired_at", "real"),
        _c("latest_workflow_instance_id"),
        _c("latest_run_id"),
        _c("last_sequence", "int", False),  # audit-history counter
        _c("paused_at", "real"),
        _c("created_at", "real", False),
        _c("updated_at", "real", False),
        _c("deleted_at", "real"),
        _c("due_at", "real"),  # earliest time the sweeper must look at it; NULL = never
    ),
    ("namespace", "schedule_id"),
    (
        Index("schedules_due", ("due_at",), where="due_at IS NOT NULL"),
        Index("schedules_list", ("namespace", "status", "schedule_id")),
    ),
)

SCHEDULE_EVENTS: Final = Table(
    "schedule_events",
    (
        _c("namespace", nullable=False),
        _c("schedule_id", nullable=False),
        _c("sequence", "int", False),
        _c("event_type", nullable=False),
        _c("recorded_at", "real", False),
        _c("workflow_instance_id"),
        _c("workflow_run_id"),
        _c("payload", "json", False),
    ),
    ("namespace", "schedule_id", "sequence"),
)

SEARCH_ATTRIBUTES: Final = Table(
    "search_attributes",
    (
        _c("namespace", nullable=False),
        _c("name", nullable=False),
        _c("type", nullable=False),
        _c("created_at", "real", False),
    ),
    ("namespace", "name"),
)

NAMESPACE_SETTINGS: Final = Table(
    "namespace_settings",
    (
        _c("namespace", nullable=False),
        _c("external_storage", "json"),  # the namespace's external payload storage policy
        _c("updated_at", "real", False),
    ),
    ("namespace",),
)

BUILD_ID_COHORTS: Final = Table(
    "build_id_cohorts",
    (
        _c("namespace", nullable=False),
        _c("task_queue", nullable=False),
        _c("build_id", nullable=False),  # "" = the unversioned cohort
        _c("drain_intent", nullable=False),  # active | draining
        _c("drained_at", "real"),
        _c("promoted_at", "real"),
        _c("updated_at", "real", False),
    ),
    ("namespace", "task_queue", "build_id"),
)

RUN_ARCHIVES: Final = Table(
    "run_archives",
    (
        _c("run_id", nullable=False),
        _c("namespace", nullable=False),
        _c("workflow_id", nullable=False),
        _c("reason"),
        _c("archived_at", "real", False),
    ),
    ("run_id",),
)

BRIDGE_EVENTS: Final = Table(
    "bridge_events",
    (
        _c("namespace", nullable=False),
        _c("adapter", nullable=False),
        _c("idempotency_key", nullable=False),
        _c("fingerprint", nullable=False),
        _c("outcome", "json", False),
        _c("created_at", "real", False),
    ),
    ("namespace", "adapter", "idempotency_key"),
)

CONTROL_PLANE_TABLES: Final[tuple[Table, ...]] = (
    SCHEDULES,
    SCHEDULE_EVENTS,
    SEARCH_ATTRIBUTES,
    NAMESPACE_SETTINGS,
    BUILD_ID_COHORTS,
    RUN_ARCHIVES,
    BRIDGE_EVENTS,
)

TABLES: Final[tuple[Table, ...]] = (
    SCHEMA_VERSION_TABLE,
    NAMESPACES,
    WORKFLOWS,
    RUNS,
    HISTORY_EVENTS,
    RUN_INBOX,
    WORKFLOW_TASKS,
    ACTIVITY_TASKS,
    TIMERS,
    WORKERS,
    LITE_RUNS,
    LITE_STEPS,
    SIGNAL_REQUESTS,
    CHILD_CALLS,
    WORKFLOW_UPDATES,
    CANCEL_REQUESTS,
    *CONTROL_PLANE_TABLES,
)

_SQLITE_TYPES: Final = {
    "text": "TEXT",
    "int": "INTEGER",
    "real": "REAL",
    "json": "TEXT",
    "bool": "INTEGER",
    "serial": "INTEGER",
}
_POSTGRES_TYPES: Final = {
    "text": "TEXT",
    "int": "BIGINT",
    "real": "DOUBLE PRECISION",
    "json": "TEXT",  # exact JSON text, as in SQLite: see _mapper.py
    "bool": "BOOLEAN",
    "serial": "BIGSERIAL",
}


def table_ddl(table: Table, dialect: str) -> list[str]:
    """``CREATE TABLE`` plus its ``CREATE INDEX`` statements for one dialect."""
    types = {"sqlite": _SQLITE_TYPES, "postgres": _POSTGRES_TYPES}[dialect]
    cols = []
    for col in table.columns:
        if col.type == "serial" and dialect == "sqlite" and table.primary_key == (col.name,):
            cols.append(f"{col.name} INTEGER PRIMARY KEY AUTOINCREMENT")
            continue
        cols.append(f"{col.name} {types[col.type]}{'' if col.nullable else ' NOT NULL'}")
    if not (dialect == "sqlite" and any(c.type == "serial" for c in table.columns)):
        cols.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
    stmts = [f"CREATE TABLE {table.name} ({', '.join(cols)})"]
    for idx in table.indexes:
        unique = "UNIQUE " if idx.unique else ""
        where = f" WHERE {idx.where}" if idx.where else ""
        stmts.append(
            f"CREATE {unique}INDEX {idx.name} ON {table.name} ({', '.join(idx.columns)}){where}"
        )
    return stmts
